//! The workflows registered by `workflow!` in this binary, collected with `inventory`.

use std::collections::BTreeMap;

use crate::__private::Registration;
use crate::text::did_you_mean;
use crate::workflow_model::WorkflowSpec;

/// Every registered workflow, sorted by name (ties by declaring path).
pub fn workflows() -> Vec<WorkflowSpec> {
    let mut specs: Vec<WorkflowSpec> = inventory::iter::<Registration>
        .into_iter()
        .map(|registration| (registration.spec)())
        .collect();
    specs.sort_by(|left, right| (left.name, left.rust_path).cmp(&(right.name, right.rust_path)));
    specs
}

/// The registered workflow with this name.
pub fn find(name: &str) -> Result<WorkflowSpec, UnknownWorkflow> {
    let specs = workflows();
    if let Some(spec) = specs.iter().find(|spec| spec.name == name) {
        return Ok(spec.clone());
    }
    let hint = match did_you_mean(name, specs.iter().map(|spec| spec.name)) {
        hint if !hint.is_empty() => hint,
        _ if specs.is_empty() => "; this binary registers no workflows".to_owned(),
        _ => "; `list` shows the registered workflows".to_owned(),
    };
    Err(UnknownWorkflow {
        name: name.to_owned(),
        hint,
    })
}

/// A workflow name that no registered workflow has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown workflow `{name}`{hint}")]
pub struct UnknownWorkflow {
    /// The name asked for.
    pub name: String,
    /// A suggestion or where to look.
    pub hint: String,
}

/// Checks the registry as a whole and returns one line per problem (empty when all is well):
/// two workflows with one name, graphs that cannot be ordered, and defaults that `--param`
/// could not give back (so an exported run could not pass them on the command line).
pub fn validate(specs: &[WorkflowSpec]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for spec in specs {
        by_name.entry(spec.name).or_default().push(spec.rust_path);
    }
    for (name, paths) in &by_name {
        if paths.len() > 1 {
            problems.push(format!(
                "workflow name `{name}` is declared {} times: {}",
                paths.len(),
                crate::text::backticked(paths)
            ));
        }
    }
    for spec in specs {
        if let Err(error) = spec.stages() {
            problems.push(format!("workflow `{}`: {error}", spec.name));
        }
        for param in &spec.params {
            let Some(default) = &param.default else {
                continue;
            };
            let text = match default {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            match (param.parse)(&text) {
                Ok(parsed) if &parsed == default => {}
                Ok(parsed) => problems.push(format!(
                    "workflow `{}`: the default of parameter `{}` is {default}, but `--param {}={text}` gives {parsed}",
                    spec.name, param.name, param.name
                )),
                Err(reason) => problems.push(format!(
                    "workflow `{}`: the default of parameter `{}` cannot be given back as `--param {}={text}`: {reason}",
                    spec.name, param.name, param.name
                )),
            }
        }
    }
    problems
}
