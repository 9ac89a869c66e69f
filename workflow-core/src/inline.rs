//! Runs a workflow's spec in this process, one node at a time in stage order: how a
//! sub-workflow runs when it is a node of another workflow. Branches take the arm their value
//! selects, and fanned-out nodes run once per element.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::TaskError;
use crate::workflow_model::{Source, WorkflowSpec};

/// Runs `spec` with one JSON value per parameter, in declaration order, and returns the
/// value named `output` (a node or a name merged from a branch's arms).
///
/// A node that fails fails the run, with the node's name in the error.
pub fn run(spec: &WorkflowSpec, params: Vec<Value>, output: &str) -> Result<Value, TaskError> {
    if params.len() != spec.params.len() {
        return Err(TaskError::new(format!(
            "workflow `{}` takes {} parameters, got {}",
            spec.name,
            spec.params.len(),
            params.len()
        )));
    }
    let params: BTreeMap<&str, Value> = spec
        .params
        .iter()
        .map(|param| param.name)
        .zip(params)
        .collect();
    let stages = spec
        .stages()
        .map_err(|error| TaskError::new(format!("workflow `{}`: {error}", spec.name)))?;
    let mut outputs: BTreeMap<&str, Value> = BTreeMap::new();
    let mut decisions: BTreeMap<usize, Option<usize>> = BTreeMap::new();
    let lookup = |source: &Source, outputs: &BTreeMap<&str, Value>| -> Result<Value, TaskError> {
        match source {
            Source::Param(name) => params
                .get(name)
                .cloned()
                .ok_or_else(|| TaskError::new(format!("no parameter `{name}`"))),
            Source::Value(value) => Ok(value.clone()),
            Source::Secret(name) => {
                let secret = spec
                    .secrets
                    .iter()
                    .find(|secret| secret.name == *name)
                    .ok_or_else(|| TaskError::new(format!("no secret `{name}`")))?;
                serde_json::to_value(secret).map_err(|error| TaskError::new(error.to_string()))
            }
            Source::Node(name) => spec
                .producers(name)
                .into_iter()
                .find_map(|producer| outputs.get(producer).cloned())
                .ok_or_else(|| {
                    TaskError::new(format!("node `{name}` produced no value in this run"))
                }),
        }
    };
    for name in stages.into_iter().flatten() {
        let Some(node) = spec.node(name) else {
            continue;
        };
        if let Some(condition) = node.condition {
            let decision = match decisions.get(&condition.branch) {
                Some(decision) => *decision,
                None => {
                    let branch = spec.branches.get(condition.branch).ok_or_else(|| {
                        TaskError::new(format!("node `{name}` names a missing branch"))
                    })?;
                    let value = lookup(&branch.on, &outputs)?;
                    let decision = (branch.select)(&value)?;
                    decisions.insert(condition.branch, decision);
                    decision
                }
            };
            if decision != Some(condition.arm) {
                continue;
            }
        }
        let inputs = node
            .inputs
            .iter()
            .map(|source| lookup(source, &outputs))
            .collect::<Result<Vec<_>, _>>()?;
        let failed = |error: TaskError| {
            TaskError::new(format!(
                "node `{name}` of workflow `{}` failed: {error}",
                spec.name
            ))
        };
        let output = match node.map {
            None => (node.call)(inputs).map_err(failed)?,
            Some(map) => {
                let Some(Value::Array(elements)) = inputs.get(map.input) else {
                    return Err(TaskError::new(format!(
                        "node `{name}` maps over an input that is not a list"
                    )));
                };
                let mut results = Vec::with_capacity(elements.len());
                for element in elements {
                    let mut one = inputs.clone();
                    one[map.input] = element.clone();
                    results.push((node.call)(one).map_err(failed)?);
                }
                Value::Array(results)
            }
        };
        outputs.insert(name, output);
    }
    spec.producers(output)
        .into_iter()
        .find_map(|producer| outputs.get(producer).cloned())
        .ok_or_else(|| {
            TaskError::new(format!(
                "workflow `{}` produced no `{output}` in this run",
                spec.name
            ))
        })
}
