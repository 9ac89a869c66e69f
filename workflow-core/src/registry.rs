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
        _ if specs.is_empty() => format!("; {NO_WORKFLOWS}"),
        _ => "; `list` shows the registered workflows".to_owned(),
    };
    Err(UnknownWorkflow {
        name: name.to_owned(),
        hint,
    })
}

/// Why a binary can register no workflows, and what to do: the usual cause is a library
/// crate that declares them and a binary that never uses anything of it, so the linker leaves
/// the library (and its registrations) out.
pub const NO_WORKFLOWS: &str = "this binary registers no workflows: declare them with `workflow!` in the binary's crate, or name the library crate that declares them in `workflow_core::main!(that_library);` (a library the binary never names is not linked, and its workflows with it)";

/// A workflow name that no registered workflow has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown workflow `{name}`{hint}")]
pub struct UnknownWorkflow {
    /// The name asked for.
    pub name: String,
    /// A suggestion or where to look.
    pub hint: String,
}

/// The problems of the registry that no single `workflow!` can see at build time and that make
/// the binary unsafe to run at all: two workflows with one name (a run or a state file could
/// mean either), triggers naming a workflow the binary does not register, and workflows that
/// trigger each other in a cycle. The CLI refuses every command but `validate` while there is
/// one, naming it. Empty when all is well.
pub fn startup_problems(specs: &[WorkflowSpec]) -> Vec<String> {
    let mut problems = duplicate_names(specs);
    problems.extend(trigger_problems(specs));
    problems
}

/// Two or more workflows with one name, with their Rust paths.
fn duplicate_names(specs: &[WorkflowSpec]) -> Vec<String> {
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for spec in specs {
        by_name.entry(spec.name).or_default().push(spec.rust_path);
    }
    by_name
        .iter()
        .filter(|(_, paths)| paths.len() > 1)
        .map(|(name, paths)| {
            format!(
                "workflow name `{name}` is declared {} times: {}",
                paths.len(),
                crate::text::backticked(paths)
            )
        })
        .collect()
}

/// Checks the registry as a whole and returns one line per problem (empty when all is well):
/// no workflow at all ([`NO_WORKFLOWS`]), two workflows with one name, graphs that cannot be
/// ordered, and defaults that `--param` could not give back (so an exported run could not
/// pass them on the command line).
pub fn validate(specs: &[WorkflowSpec]) -> Vec<String> {
    if specs.is_empty() {
        return vec![NO_WORKFLOWS.to_owned()];
    }
    let mut problems = startup_problems(specs);
    for spec in specs {
        if let Err(error) = spec.stages() {
            problems.push(format!("workflow `{}`: {error}", spec.name));
        }
        for param in &spec.params {
            let Some(default) = &param.default else {
                continue;
            };
            let text = crate::plan::param_text(default);
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

/// Panics, listing every problem [`validate`] finds in this binary's registry (or saying that
/// it registers no workflow at all); returns when there is none. Meant for a test, so that
/// `cargo test` fails on what no single `workflow!` can see at build time:
///
/// ```no_run
/// #[test]
/// fn registered_workflows_are_valid() {
///     workflow_core::registry::assert_valid();
/// }
/// ```
///
/// [`main!`](crate::main) generates this test for a binary crate; a library crate that
/// declares workflows adds it to its own tests.
///
/// # Panics
///
/// When the registry has a problem, with one line per problem.
#[track_caller]
pub fn assert_valid() {
    if let Err(message) = check(&workflows()) {
        panic!("{message}");
    }
}

/// What [`assert_valid`] reports for `specs`: `Err` with one line per problem.
pub(crate) fn check(specs: &[WorkflowSpec]) -> Result<(), String> {
    let problems = validate(specs);
    if specs.is_empty() {
        return Err(NO_WORKFLOWS.to_owned());
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "the registered workflows have {} problem{}:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in problems {
        message.push_str("\n  - ");
        message.push_str(&problem);
    }
    Err(message)
}

/// Triggers naming workflows this binary does not register, and workflows that trigger each
/// other in a cycle (which would run forever), with the cycle's path.
fn trigger_problems(specs: &[WorkflowSpec]) -> Vec<String> {
    use crate::operations::Trigger;
    let mut problems = Vec::new();
    let names: Vec<&str> = specs.iter().map(|spec| spec.name).collect();
    // Edges from the upstream workflow to the one it triggers.
    let mut triggers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for spec in specs {
        for trigger in &spec.operations.triggers {
            let Trigger::AfterWorkflow { workflow, .. } = trigger else {
                continue;
            };
            if names.contains(&workflow.as_str()) {
                triggers
                    .entry(workflow.as_str())
                    .or_default()
                    .push(spec.name);
            } else {
                problems.push(format!("workflow `{}` is triggered by workflow `{workflow}`, which this binary does not register", spec.name));
            }
        }
    }
    // Depth-first search from each workflow in name order; report each cycle once, from its
    // smallest name.
    let mut reported: Vec<Vec<&str>> = Vec::new();
    let mut starts = names.clone();
    starts.sort_unstable();
    for start in starts {
        let mut path = vec![start];
        let mut next_index = vec![0usize];
        while let (Some(&node), Some(index)) = (path.last(), next_index.last_mut()) {
            let downstream = triggers.get(node).map(Vec::as_slice).unwrap_or(&[]);
            let Some(&next) = downstream.get(*index) else {
                path.pop();
                next_index.pop();
                continue;
            };
            *index += 1;
            if next == start {
                let mut cycle = path.clone();
                cycle.sort_unstable();
                cycle.dedup();
                if path.iter().all(|name| *name >= start) && !reported.contains(&cycle) {
                    reported.push(cycle);
                    let shown: Vec<String> = path
                        .iter()
                        .chain([&start])
                        .map(|name| format!("`{name}`"))
                        .collect();
                    problems.push(format!(
                        "workflows trigger each other in a cycle: {}",
                        shown.join(" -> ")
                    ));
                }
            } else if !path.contains(&next) {
                path.push(next);
                next_index.push(0);
            }
        }
    }
    problems
}
