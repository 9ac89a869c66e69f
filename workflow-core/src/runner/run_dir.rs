//! One node of a run that another engine schedules: Airflow, Argo Workflows or Step Functions
//! start `<bin> exec-task <workflow> <node> --run-dir DIR` for each node, and the nodes of one
//! run hand each other their outputs through `DIR`, a directory on storage every worker sees.
//!
//! In `DIR`, node `n` leaves `n.json`; one element of a fanned-out node leaves
//! `n.parts/<index>.json`, and a node that reads a fanned-out node's output gathers the parts
//! in order (every one of them must be there). Parameters are resolved the way `run` resolves
//! them, so each node of a run sees the same values; on a scheduled run the partition
//! parameter comes from the time the engine says the schedule fired (`--scheduled-at`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::plan::{Plan, PlanOptions};
use crate::{NodeSpec, Source, WorkflowSpec};

/// The exit status of `exec-task --run-dir` for a node whose branch arm was not taken, so
/// that an engine can mark it skipped (Airflow's `skip_on_exit_code`).
pub const EXIT_SKIPPED: u8 = 99;

/// What one node of a run is asked to do.
#[derive(Debug, Clone)]
pub struct RunDir<'a> {
    spec: &'a WorkflowSpec,
    dir: PathBuf,
    params: BTreeMap<String, Value>,
}

/// Why a node could not be run from a run directory (as opposed to the task failing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RunDirError(String);

/// What running a node did.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// The task succeeded and its output is in this file.
    Wrote(PathBuf),
    /// The node's branch arm was not taken; nothing ran.
    Skipped(String),
    /// The task failed: why, and whether trying again could help.
    Failed(super::engine::AttemptError),
}

impl<'a> RunDir<'a> {
    /// Resolves the run's parameters: `given` as `--param` gives them, defaults for the rest,
    /// and the partition parameter from `scheduled_at` when it is not given (or given empty).
    pub fn open(
        spec: &'a WorkflowSpec,
        dir: &Path,
        given: &[(String, String)],
        scheduled_at: Option<DateTime<Utc>>,
    ) -> Result<RunDir<'a>, RunDirError> {
        let mut given: Vec<(String, String)> = given.to_vec();
        if let Some(partition) = &spec.operations.partition {
            let empty = given
                .iter()
                .position(|(name, value)| *name == partition.param && value.is_empty());
            if let Some(position) = empty {
                given.remove(position);
            }
            let named = given.iter().any(|(name, _)| *name == partition.param);
            if let (false, Some(fire)) = (named, scheduled_at) {
                let timezone = spec
                    .operations
                    .schedule
                    .as_ref()
                    .map_or("UTC", |schedule| schedule.timezone.as_str());
                let parse = spec.param(&partition.param).map(|param| param.parse);
                let key = partition.key_for_fire(fire, timezone).text_for(parse);
                given.push((partition.param.clone(), key));
            }
        }
        let plan = Plan::build(spec, &given, &PlanOptions::at(DateTime::<Utc>::MIN_UTC))
            .map_err(|error| RunDirError(error.to_string()))?;
        Ok(RunDir {
            spec,
            dir: dir.to_owned(),
            params: plan
                .params
                .into_iter()
                .map(|param| (param.name, param.value))
                .collect(),
        })
    }

    fn node(&self, name: &str) -> Result<&'a NodeSpec, RunDirError> {
        self.spec.node(name).ok_or_else(|| {
            RunDirError(format!(
                "workflow `{}` has no node `{name}`{}",
                self.spec.name,
                crate::text::did_you_mean(name, self.spec.nodes.iter().map(|node| node.name))
            ))
        })
    }

    fn output_path(&self, node: &str) -> PathBuf {
        self.dir.join(format!("{node}.json"))
    }

    fn part_path(&self, node: &str, element: usize) -> PathBuf {
        self.dir
            .join(format!("{node}.parts"))
            .join(format!("{element}.json"))
    }

    /// The value of one input source, reading upstream outputs from the run directory.
    fn value(&self, source: &Source, depth: usize) -> Result<Value, RunDirError> {
        match source {
            Source::Param(name) => self.params.get(*name).cloned().ok_or_else(|| {
                RunDirError(format!(
                    "workflow `{}` has no parameter `{name}`",
                    self.spec.name
                ))
            }),
            Source::Value(value) => Ok(value.clone()),
            Source::Secret(name) => self
                .spec
                .secrets
                .iter()
                .find(|secret| secret.name == *name)
                .and_then(|secret| serde_json::to_value(secret).ok())
                .ok_or_else(|| RunDirError(format!("no secret `{name}` is declared"))),
            Source::Node(name) => {
                for producer in self.spec.producers(name) {
                    if let Some(value) = self.output(producer, depth)? {
                        return Ok(value);
                    }
                }
                Err(RunDirError(format!(
                    "the output of `{name}` is not in `{}`: its node has not succeeded in this run",
                    self.dir.display()
                )))
            }
        }
    }

    /// A node's output, if it has one in the run directory: its file, or all its parts.
    fn output(&self, name: &str, depth: usize) -> Result<Option<Value>, RunDirError> {
        let path = self.output_path(name);
        if path.exists() {
            return read_json(&path).map(Some);
        }
        let node = self.node(name)?;
        if node.map.is_none() || !self.dir.join(format!("{name}.parts")).is_dir() {
            return Ok(None);
        }
        let count = self.element_count(node, depth + 1)?;
        let mut parts = Vec::with_capacity(count);
        for element in 0..count {
            let path = self.part_path(name, element);
            if !path.exists() {
                return Err(RunDirError(format!(
                    "element {element} of `{name}` is missing (`{}`): not every element of the fan-out has succeeded",
                    path.display()
                )));
            }
            parts.push(read_json(&path)?);
        }
        Ok(Some(Value::Array(parts)))
    }

    fn inputs(&self, node: &NodeSpec, depth: usize) -> Result<Vec<Value>, RunDirError> {
        if depth > self.spec.nodes.len() {
            return Err(RunDirError(
                "the run directory's fan-outs refer to each other in a loop".to_owned(),
            ));
        }
        node.inputs
            .iter()
            .map(|source| self.value(source, depth))
            .collect()
    }

    fn element_count(&self, node: &NodeSpec, depth: usize) -> Result<usize, RunDirError> {
        let Some(map) = node.map else {
            return Err(RunDirError(format!(
                "node `{}` does not fan out; run it without --element",
                node.name
            )));
        };
        let inputs = self.inputs(node, depth)?;
        match inputs.get(map.input) {
            Some(Value::Array(elements)) => Ok(elements.len()),
            _ => Err(RunDirError(format!(
                "input #{} of node `{}` should be a list to run once per element",
                map.input + 1,
                node.name
            ))),
        }
    }

    /// How many elements a fanned-out node runs over in this run.
    pub fn elements(&self, node: &str) -> Result<usize, RunDirError> {
        self.element_count(self.node(node)?, 0)
    }

    /// Which arm of branch `branch` this run takes: its index, or `None` when no arm is.
    pub fn decide(&self, branch: usize) -> Result<Option<usize>, RunDirError> {
        let spec_branch = self.spec.branches.get(branch).ok_or_else(|| {
            RunDirError(format!(
                "workflow `{}` has {} branches; there is no branch {branch}",
                self.spec.name,
                self.spec.branches.len()
            ))
        })?;
        let value = self.value(&spec_branch.on, 0)?;
        (spec_branch.select)(&value)
            .map_err(|error| RunDirError(format!("cannot decide branch {branch}: {error}")))
    }

    /// Runs `node` (or one element of it) and writes its output into the run directory.
    pub fn run(&self, node: &str, element: Option<usize>) -> Result<Done, RunDirError> {
        let node = self.node(node)?;
        if let Some(condition) = node.condition {
            let taken = self.decide(condition.branch)?;
            if taken != Some(condition.arm) {
                let arm = self
                    .spec
                    .branches
                    .get(condition.branch)
                    .and_then(|branch| branch.arms.get(condition.arm))
                    .map_or("?", |arm| arm.label);
                return Ok(Done::Skipped(format!(
                    "node `{}` is skipped: its branch took another arm than `{arm}`",
                    node.name
                )));
            }
        }
        let mut inputs = self.inputs(node, 0)?;
        let (result, path) = match (element, node.map) {
            (None, map) => (
                super::engine::call_node(node.call, map, inputs),
                self.output_path(node.name),
            ),
            (Some(element), Some(map)) => {
                let slot = inputs.get_mut(map.input);
                let one = match slot {
                    Some(Value::Array(elements)) => match elements.get(element) {
                        Some(value) => value.clone(),
                        None => {
                            return Err(RunDirError(format!(
                                "node `{}` runs over {} elements; there is no element {element}",
                                node.name,
                                elements.len()
                            )));
                        }
                    },
                    _ => {
                        return Err(RunDirError(format!(
                            "input #{} of node `{}` should be a list to run once per element",
                            map.input + 1,
                            node.name
                        )));
                    }
                };
                if let Some(slot) = inputs.get_mut(map.input) {
                    *slot = one;
                }
                (
                    super::engine::call_node(node.call, None, inputs),
                    self.part_path(node.name, element),
                )
            }
            (Some(_), None) => {
                return Err(RunDirError(format!(
                    "node `{}` does not fan out; run it without --element",
                    node.name
                )));
            }
        };
        match result {
            Ok(value) => {
                write_json_atomically(&path, &value)?;
                Ok(Done::Wrote(path))
            }
            Err(message) => Ok(Done::Failed(message)),
        }
    }
}

fn read_json(path: &Path) -> Result<Value, RunDirError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| RunDirError(format!("cannot read `{}`: {error}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|error| RunDirError(format!("`{}` is not JSON: {error}", path.display())))
}

/// Writes `value` beside `path` and renames it into place, so a reader never sees half a file.
pub(crate) fn write_json_atomically(path: &Path, value: &Value) -> Result<(), RunDirError> {
    let failure = |error: std::io::Error| {
        RunDirError(format!(
            "cannot write the output to `{}`: {error}",
            path.display()
        ))
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failure)?;
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(format!(".{}.partial", std::process::id()));
    let partial = PathBuf::from(partial);
    let text = serde_json::to_string(value).map_err(|error| RunDirError(error.to_string()))?;
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(failure)
}

/// Reads `--params-json` (an object of parameter names to JSON values) as `name=value` pairs
/// whose text `spec`'s parameters parse back into exactly that value
/// ([`crate::plan::param_text_for`]). `null` means "not given" (the default, or the
/// partition the schedule fired for), but for a parameter that has neither, whose value it
/// is (an `Option` fixed to `None`).
pub fn params_from_json(
    spec: &WorkflowSpec,
    text: &str,
) -> Result<Vec<(String, String)>, RunDirError> {
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            return Err(RunDirError(
                "--params-json must be a JSON object of parameter names to values".to_owned(),
            ));
        }
        Err(error) => {
            return Err(RunDirError(format!("--params-json is not JSON: {error}")));
        }
    };
    let partition = spec
        .operations
        .partition
        .as_ref()
        .map(|partition| partition.param.as_str());
    Ok(object
        .into_iter()
        .filter_map(|(name, value)| {
            let declared = spec.param(&name);
            if value.is_null()
                && (partition == Some(name.as_str())
                    || declared.is_none_or(|param| param.default.is_some()))
            {
                return None;
            }
            let text = match declared {
                Some(param) => crate::plan::param_text_for(param, &value),
                None => crate::plan::param_text(&value),
            };
            Some((name, text))
        })
        .collect())
}
