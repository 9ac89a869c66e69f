//! The plan: a versioned, deterministic JSON document describing one run of a workflow.
//!
//! Exporters and runners read the plan, never the macros. The same workflow and parameters
//! always give the same bytes: every list has a defined order and no map has hash order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::operations::{Operations, ScheduleError};
use crate::{Backoff, TaskPolicy};

use crate::text::{backticked, did_you_mean};
use crate::workflow_model::{Edge, SpecError, WorkflowSpec};

/// The version of the plan's shape. It changes whenever a field is added, removed or changes
/// meaning, so that readers can refuse a plan they do not understand.
pub const PLAN_VERSION: u32 = 3;

/// One run of a workflow, resolved: parameters have values and nodes are ordered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_VERSION`] when this plan was written.
    pub version: u32,
    /// The workflow's name.
    pub workflow: String,
    /// The workflow's doc comment.
    pub doc: String,
    /// Where the workflow is declared.
    pub rust_path: String,
    /// The parameters with their resolved values, in declaration order.
    pub params: Vec<PlanParam>,
    /// The nodes in execution order: by stage, then declaration order.
    pub nodes: Vec<PlanNode>,
    /// Every data and ordering edge.
    pub edges: Vec<Edge>,
    /// Node names grouped by stage; nodes in one stage may run in parallel.
    pub stages: Vec<Vec<String>>,
    /// Schedule, overlap, pools, run timeout, failure policy and notifications.
    pub operations: Operations,
    /// Where each secret is read from at run time. Never a value.
    pub secrets: Vec<crate::Secret>,
    /// The workflow's branches.
    pub branches: Vec<PlanBranch>,
    /// Names produced in every arm of a branch, and the node of each arm that produces them.
    pub merges: Vec<crate::Merge>,
    /// What the workflow returns when it is a node of another.
    pub returns: Option<crate::Returns>,
    /// The schedule's next fire times after [`PlanOptions::now`] (empty without a schedule).
    pub next_runs: Vec<DateTime<Utc>>,
    /// A stable hash of what the plan makes a run do: `sha256:` and 64 hex digits (see
    /// [`Plan::fingerprint_of`] for what counts). Empty in plans written before it existed.
    #[serde(default)]
    pub fingerprint: String,
}

/// What a plan is made relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// The moment the schedule's next fire times are counted from.
    pub now: DateTime<Utc>,
    /// How many fire times to list.
    pub next_runs: usize,
}

impl PlanOptions {
    /// Fire times counted from `now` (truncated to whole seconds), five of them.
    pub fn at(now: DateTime<Utc>) -> Self {
        PlanOptions {
            now: whole_seconds(now),
            next_runs: 5,
        }
    }
}

impl Default for PlanOptions {
    /// Fire times counted from the current time (whole seconds), five of them.
    fn default() -> Self {
        PlanOptions::at(Utc::now())
    }
}

/// `time` without its fraction of a second: plans made in the same second are the same bytes.
pub fn whole_seconds(time: DateTime<Utc>) -> DateTime<Utc> {
    chrono::Timelike::with_nanosecond(&time, 0).unwrap_or(time)
}

/// A parameter and its value for this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanParam {
    /// The parameter's name.
    pub name: String,
    /// Its Rust type as written.
    #[serde(rename = "type")]
    pub ty: String,
    /// The value, as JSON.
    pub value: Value,
    /// Whether the value was given or is the default.
    pub source: ValueSource,
    /// The declared default, as JSON (absent when the parameter has none). Part of the
    /// workflow's version, unlike `value`, which is this run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// Where a parameter's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueSource {
    /// Given on the command line.
    Given,
    /// The parameter's default.
    Default,
    /// Neither given nor defaulted: supplied when each run starts. Only in plans made for an
    /// export, where the engine passes it (or the schedule sets it, for a partition).
    Unset,
    /// The partition parameter, not given: the partition of the latest fire time at or before
    /// the plan's `now` (`plan --now`), as the schedule would set it. Only in plans shown by
    /// `plan`.
    Partition,
}

/// A node of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanNode {
    /// The node's name.
    pub id: String,
    /// The task's name.
    pub task: String,
    /// The task function's path.
    pub task_path: String,
    /// The task's doc comment.
    pub description: String,
    /// The inputs in the task's order.
    pub inputs: Vec<PlanInput>,
    /// The Rust type the node produces.
    pub output: String,
    /// A Rust function, an external program, or a sub-workflow.
    pub kind: crate::TaskKind,
    /// Set when the node runs its task once per element of one input.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub map: Option<PlanMap>,
    /// Set when the node runs only in one arm of a branch.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub condition: Option<PlanCondition>,
    /// Retries, timeout, placement.
    pub policy: Policy,
    /// Nodes it waits for without taking their data.
    pub after: Vec<String>,
    /// The stage it belongs to, from 0.
    pub stage: usize,
    /// For a sub-workflow node, the fingerprint of the workflow it runs (its version): a
    /// change inside the sub-workflow is a change of this plan too.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub workflow_fingerprint: Option<String>,
}

/// The fingerprint of the registered workflow `name`, as a node of another runs it (no
/// values given), or `None` if this binary does not register it. Nested sub-workflows are
/// followed to a depth of 32 (a nesting `workflow!` and the registry's checks keep finite).
fn sub_workflow_fingerprint(name: &str) -> Option<String> {
    thread_local! {
        static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    let depth = DEPTH.with(std::cell::Cell::get);
    if depth >= 32 {
        return None;
    }
    let spec = crate::registry::find(name).ok()?;
    DEPTH.with(|cell| cell.set(depth + 1));
    let options = PlanOptions {
        now: DateTime::<Utc>::UNIX_EPOCH,
        next_runs: 0,
    };
    let plan = Plan::build_for_export(&spec, &[], &options);
    DEPTH.with(|cell| cell.set(depth));
    plan.ok().map(|plan| plan.fingerprint)
}

/// The arm of a branch a node belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCondition {
    /// The branch's index in [`Plan::branches`].
    pub branch: usize,
    /// The arm's label: `true`, `false`, or the pattern.
    pub arm: String,
}

/// A branch: the value it decides on and its arms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanBranch {
    /// A parameter or a node's output.
    pub on: InputSource,
    /// The arms, in order; the first whose pattern matches is taken.
    pub arms: Vec<PlanArm>,
}

/// One arm of a branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanArm {
    /// `true`, `false`, or the `match` pattern as written.
    pub label: String,
    /// The value that selects the arm, when one value does.
    pub value: Option<Value>,
    /// The nodes that run when the arm is taken.
    pub nodes: Vec<String>,
}

/// How a node fans out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanMap {
    /// The input that holds the collection; the task runs once per element.
    pub input: String,
    /// How many elements run at once; `None` for no bound.
    pub max_parallel: Option<u32>,
}

/// One input of a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    /// The task's parameter name.
    pub name: String,
    /// Its Rust type.
    #[serde(rename = "type")]
    pub ty: String,
    /// Where the value comes from.
    pub from: InputSource,
}

/// Where a node input's value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputSource {
    /// A parameter, by name.
    Param(String),
    /// Another node's output, by node name.
    Node(String),
    /// A constant from the workflow's source.
    Value(Value),
    /// A secret, by name; its source is in [`Plan::secrets`].
    Secret(String),
}

/// A node's retry, timeout, placement and resource policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Retries after a failed attempt.
    pub retries: u32,
    /// Seconds before the first retry; `None` retries at once.
    pub retry_delay_secs: Option<u64>,
    /// How the wait grows from one retry to the next.
    pub backoff: Backoff,
    /// The longest wait between attempts, in seconds, for exponential backoff.
    pub max_retry_delay_secs: Option<u64>,
    /// Seconds one attempt may take.
    pub timeout_secs: Option<u64>,
    /// Pool the node runs in.
    pub pool: Option<String>,
    /// CPU the node needs, in thousandths of a core.
    pub cpu_millis: Option<u32>,
    /// Memory the node needs, in bytes.
    pub memory_bytes: Option<u64>,
}

impl From<&TaskPolicy> for Policy {
    fn from(policy: &TaskPolicy) -> Self {
        Policy {
            retries: policy.retries,
            retry_delay_secs: policy.retry_delay.map(|delay| delay.as_secs()),
            backoff: policy.backoff,
            max_retry_delay_secs: policy.max_retry_delay.map(|delay| delay.as_secs()),
            timeout_secs: policy.timeout.map(|timeout| timeout.as_secs()),
            pool: policy.pool.map(str::to_owned),
            cpu_millis: policy.cpu_millis,
            memory_bytes: policy.memory_bytes,
        }
    }
}

impl Policy {
    /// How long to wait before retry number `retry` (1 for the first retry), or `None` when
    /// the policy allows no such retry.
    ///
    /// ```
    /// use workflow_core::Backoff;
    /// use workflow_core::plan::Policy;
    ///
    /// let policy = Policy {
    ///     retries: 5, retry_delay_secs: Some(30), backoff: Backoff::Exponential,
    ///     max_retry_delay_secs: Some(100), timeout_secs: None, pool: None,
    ///     cpu_millis: None, memory_bytes: None,
    /// };
    /// let waits: Vec<u64> = (1..=6).filter_map(|retry| policy.delay_before_retry(retry)).collect();
    /// assert_eq!(waits, [30, 60, 100, 100, 100]);
    /// ```
    pub fn delay_before_retry(&self, retry: u32) -> Option<u64> {
        if retry == 0 || retry > self.retries {
            return None;
        }
        let base = self.retry_delay_secs.unwrap_or(0);
        let delay = match self.backoff {
            Backoff::Fixed => base,
            Backoff::Exponential => {
                base.saturating_mul(1u64.checked_shl(retry - 1).unwrap_or(u64::MAX))
            }
        };
        Some(match self.max_retry_delay_secs {
            Some(cap) => delay.min(cap),
            None => delay,
        })
    }
}

/// Why a plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// `--param` names a parameter the workflow does not declare.
    #[error("workflow `{workflow}` has no parameter `{name}`{hint}")]
    UnknownParam {
        /// The workflow.
        workflow: String,
        /// The name given.
        name: String,
        /// " (did you mean ...?)" or the list of parameters.
        hint: String,
    },
    /// A required parameter was not given.
    #[error(
        "workflow `{workflow}` needs parameter {}: pass --param {}=<{ty}>",
        backticked(std::slice::from_ref(name)),
        name
    )]
    MissingParam {
        /// The workflow.
        workflow: String,
        /// The parameter.
        name: String,
        /// Its type.
        ty: String,
    },
    /// The same parameter was given twice.
    #[error("parameter `{name}` is given more than once")]
    RepeatedParam {
        /// The parameter.
        name: String,
    },
    /// A value does not parse as the parameter's type.
    #[error("invalid value `{value}` for parameter `{name}` of type `{ty}`: {reason}")]
    InvalidValue {
        /// The parameter.
        name: String,
        /// Its type.
        ty: String,
        /// The text given.
        value: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A `--param` argument without `=`.
    #[error("malformed parameter `{0}`: write it as name=value")]
    Malformed(String),
    /// The spec cannot be ordered.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The schedule cannot be evaluated.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
}

fn input_source(source: &crate::Source) -> InputSource {
    match source {
        crate::Source::Param(name) => InputSource::Param((*name).to_owned()),
        crate::Source::Node(name) => InputSource::Node((*name).to_owned()),
        crate::Source::Value(value) => InputSource::Value(value.clone()),
        crate::Source::Secret(name) => InputSource::Secret((*name).to_owned()),
    }
}

/// A parameter's value as given: `--param` text, or JSON.
enum Given<'a> {
    Text(&'a str),
    Json(&'a Value),
}

fn texts(given: &[(String, String)]) -> Vec<(String, Given<'_>)> {
    given
        .iter()
        .map(|(name, text)| (name.clone(), Given::Text(text)))
        .collect()
}

/// A parameter's value as the `--param name=TEXT` text that parses back into it: a JSON string
/// as its text (a `String` or `PathBuf` parameter takes text verbatim, and a date or an enum
/// variant reads it unquoted), any other value as JSON. The registry's check of defaults
/// (`validate`) holds every parameter's default to this round trip.
pub fn param_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The `--param` text that `param` reads back as `value` (JSON): the text of a string when
/// that reads back as it (always for `String` and `PathBuf`), else the value's JSON (so an
/// `Option<String>` of `"null"` is written `"null"`, quoted, not `null`, which is `None`). A
/// value not of the parameter's type (a string `"5"` for a `u32`, as an engine may pass it)
/// is written as its own text, for the parameter's parser to judge.
pub fn param_text_for(param: &crate::ParamSpec, value: &Value) -> String {
    let checked = (param.check)(value).ok();
    let target = checked.as_ref().unwrap_or(value);
    let own = value.as_str().map(str::to_owned);
    let json = value.to_string();
    for candidate in own.iter().chain(std::iter::once(&json)) {
        if (param.parse)(candidate).ok().as_ref() == Some(target) {
            return candidate.clone();
        }
    }
    own.unwrap_or(json)
}

/// Splits `name=value` command-line arguments.
pub fn parse_assignments(arguments: &[String]) -> Result<Vec<(String, String)>, PlanError> {
    arguments
        .iter()
        .map(|argument| match argument.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_owned(), value.to_owned()))
            }
            _ => Err(PlanError::Malformed(argument.clone())),
        })
        .collect()
}

impl Plan {
    /// Resolves `given` parameter values (`name`, text) against `spec` and orders its nodes.
    ///
    /// ```
    /// use workflow_core::prelude::*;
    /// use workflow_core::plan::Plan;
    ///
    /// #[task]
    /// fn count(limit: u32) -> u64 { u64::from(limit) * 2 }
    ///
    /// workflow! {
    ///     /// Counts.
    ///     counting(limit: u32 = 10) {
    ///         total = count(limit);
    ///     }
    /// }
    ///
    /// let given = [("limit".to_string(), "7".to_string())];
    /// let plan = Plan::build(&counting::spec(), &given, &Default::default()).unwrap();
    /// assert_eq!(plan.params[0].value, 7);
    /// assert_eq!(plan.stages, vec![vec!["total".to_string()]]);
    /// ```
    pub fn build(
        spec: &WorkflowSpec,
        given: &[(String, String)],
        options: &PlanOptions,
    ) -> Result<Plan, PlanError> {
        Plan::resolve(spec, &texts(given), options, false)
    }

    /// As [`Plan::build`], with each given value as JSON (a sub-workflow's arguments, as its
    /// caller's nodes produced them): each is checked against its parameter's type, never
    /// read back from text, so a `String` parameter is never given a number and an
    /// `Option<String>` keeps `Some("null")`.
    ///
    /// # Errors
    ///
    /// As [`Plan::build`]; a value not of its parameter's type is
    /// [`PlanError::InvalidValue`].
    pub fn build_from_values(
        spec: &WorkflowSpec,
        given: &[(String, Value)],
        options: &PlanOptions,
    ) -> Result<Plan, PlanError> {
        let given: Vec<(String, Given<'_>)> = given
            .iter()
            .map(|(name, value)| (name.clone(), Given::Json(value)))
            .collect();
        Plan::resolve(spec, &given, options, false)
    }

    /// As [`Plan::build`], but a required parameter that is not given is left without a value
    /// (`null`, [`ValueSource::Unset`]) instead of being an error: the plan an exporter reads,
    /// whose engine supplies such values when a run starts.
    pub fn build_for_export(
        spec: &WorkflowSpec,
        given: &[(String, String)],
        options: &PlanOptions,
    ) -> Result<Plan, PlanError> {
        Plan::resolve(spec, &texts(given), options, true)
    }

    fn resolve(
        spec: &WorkflowSpec,
        given: &[(String, Given<'_>)],
        options: &PlanOptions,
        unset_allowed: bool,
    ) -> Result<Plan, PlanError> {
        for (position, (name, _)) in given.iter().enumerate() {
            if spec.param(name).is_none() {
                let hint = match did_you_mean(name, spec.params.iter().map(|param| param.name)) {
                    hint if !hint.is_empty() => hint,
                    _ if spec.params.is_empty() => "; it takes no parameters".to_owned(),
                    _ => format!(
                        "; its parameters are {}",
                        backticked(
                            &spec
                                .params
                                .iter()
                                .map(|param| param.name)
                                .collect::<Vec<_>>()
                        )
                    ),
                };
                return Err(PlanError::UnknownParam {
                    workflow: spec.name.to_owned(),
                    name: name.clone(),
                    hint,
                });
            }
            if given[..position].iter().any(|(earlier, _)| earlier == name) {
                return Err(PlanError::RepeatedParam { name: name.clone() });
            }
        }
        let mut params = Vec::with_capacity(spec.params.len());
        for param in &spec.params {
            let (value, source) = match given.iter().find(|(name, _)| name == param.name) {
                Some((_, given)) => {
                    let value = match given {
                        Given::Text(text) => (param.parse)(text),
                        Given::Json(value) => (param.check)(value),
                    }
                    .map_err(|reason| PlanError::InvalidValue {
                        name: param.name.to_owned(),
                        ty: param.ty.to_owned(),
                        value: match given {
                            Given::Text(text) => (*text).to_owned(),
                            Given::Json(value) => value.to_string(),
                        },
                        reason,
                    })?;
                    (value, ValueSource::Given)
                }
                None => match &param.default {
                    Some(value) => (value.clone(), ValueSource::Default),
                    None if unset_allowed => (Value::Null, ValueSource::Unset),
                    None => {
                        return Err(PlanError::MissingParam {
                            workflow: spec.name.to_owned(),
                            name: param.name.to_owned(),
                            ty: param.ty.to_owned(),
                        });
                    }
                },
            };
            params.push(PlanParam {
                name: param.name.to_owned(),
                ty: param.ty.to_owned(),
                value,
                source,
                default: param.default.clone(),
            });
        }
        let stages = spec.stages()?;
        // Nodes by name, once: looking each one up in the list made building quadratic.
        let by_name: std::collections::HashMap<&str, &crate::NodeSpec> =
            spec.nodes.iter().map(|node| (node.name, node)).collect();
        let mut nodes = Vec::with_capacity(spec.nodes.len());
        for (stage, names) in stages.iter().enumerate() {
            for name in names {
                let Some(&node) = by_name.get(name) else {
                    continue;
                };
                let inputs = node
                    .task
                    .inputs
                    .iter()
                    .zip(&node.inputs)
                    .map(|(input, source)| PlanInput {
                        name: input.name.to_owned(),
                        ty: input.ty.to_owned(),
                        from: input_source(source),
                    })
                    .collect();
                nodes.push(PlanNode {
                    id: node.name.to_owned(),
                    task: node.task.name.to_owned(),
                    task_path: node.task.rust_path.to_owned(),
                    description: node.task.description.to_owned(),
                    inputs,
                    output: match node.map {
                        Some(_) => format!("Vec<{}>", node.task.output),
                        None => node.task.output.to_owned(),
                    },
                    kind: node.task.kind,
                    condition: node.condition.and_then(|condition| {
                        let arm = spec
                            .branches
                            .get(condition.branch)?
                            .arms
                            .get(condition.arm)?;
                        Some(PlanCondition {
                            branch: condition.branch,
                            arm: arm.label.to_owned(),
                        })
                    }),
                    map: node.map.map(|map| PlanMap {
                        input: node
                            .task
                            .inputs
                            .get(map.input)
                            .map_or_else(String::new, |input| input.name.to_owned()),
                        max_parallel: map.max_parallel,
                    }),
                    policy: Policy::from(&node.task.policy),
                    after: node.after.iter().map(|name| (*name).to_owned()).collect(),
                    stage,
                    workflow_fingerprint: matches!(node.task.kind, crate::TaskKind::Workflow)
                        .then(|| sub_workflow_fingerprint(node.task.name))
                        .flatten(),
                });
            }
        }
        let next_runs = match &spec.operations.schedule {
            Some(schedule) => schedule.next_fire_times(options.now, options.next_runs)?,
            None => Vec::new(),
        };
        Ok(Plan {
            version: PLAN_VERSION,
            workflow: spec.name.to_owned(),
            doc: spec.doc.to_owned(),
            rust_path: spec.rust_path.to_owned(),
            params,
            nodes,
            edges: spec.edges(),
            stages: stages
                .into_iter()
                .map(|stage| stage.into_iter().map(str::to_owned).collect())
                .collect(),
            operations: spec.operations.clone(),
            secrets: spec.secrets.clone(),
            branches: spec
                .branches
                .iter()
                .enumerate()
                .map(|(index, branch)| PlanBranch {
                    on: input_source(&branch.on),
                    arms: branch
                        .arms
                        .iter()
                        .enumerate()
                        .map(|(arm, spec_arm)| PlanArm {
                            label: spec_arm.label.to_owned(),
                            value: spec_arm.value.clone(),
                            nodes: spec
                                .nodes
                                .iter()
                                .filter(|node| {
                                    node.condition == Some(crate::Condition { branch: index, arm })
                                })
                                .map(|node| node.name.to_owned())
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
            merges: spec.merges.clone(),
            returns: spec.returns.clone(),
            next_runs,
            fingerprint: String::new(),
        }
        .with_fingerprint())
    }

    fn with_fingerprint(mut self) -> Plan {
        self.fingerprint = self.fingerprint_of();
        self
    }

    /// The plan's fingerprint: the version of the workflow it plans. SHA-256 of the plan's
    /// JSON (compact, fields in the order the plan has them) with what is not part of the
    /// version left out. Counted: the workflow's name, each parameter's name, type and
    /// declared default, the nodes (task, inputs with their types and sources, output type,
    /// kind, fan-out, arm, policy, `after`), edges, stages, operations (schedule, overlap,
    /// pools, run timeout, failure policy, notices, triggers, partition), secrets (names and
    /// where they are read from, never values), branches, merges and what the workflow
    /// returns. Not counted: the plan format's version, doc comments, Rust paths (moving code
    /// is not a change), the values a run is given and where they came from (the command
    /// line, the schedule's partition, an engine: they say which data a run processes, not
    /// which version runs; the run records them beside the fingerprint) and the next fire
    /// times (they depend on when the plan is made). So every run of one version, an export
    /// of it and a plan of it made anywhere, at any time, carry the same fingerprint.
    pub fn fingerprint_of(&self) -> String {
        use sha2::Digest;
        let value = serde_json::to_value(self).unwrap_or_default();
        let digest = sha2::Sha256::digest(Plan::counted(&value).to_string().as_bytes());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("sha256:{hex}")
    }

    /// The counted part of a plan's JSON ([`Plan::fingerprint_of`]), its fields in their
    /// order (a field left out moves none of the others).
    pub(crate) fn counted(plan: &Value) -> Value {
        fn keep(value: &Value, left_out: &[&str]) -> Value {
            match value.as_object() {
                Some(object) => Value::Object(
                    object
                        .iter()
                        .filter(|(key, _)| !left_out.contains(&key.as_str()))
                        .map(|(key, value)| (key.clone(), value.clone()))
                        .collect(),
                ),
                None => value.clone(),
            }
        }
        let mut counted = keep(
            plan,
            &["version", "doc", "rust_path", "next_runs", "fingerprint"],
        );
        for (key, left_out) in [
            ("nodes", &["description", "task_path"][..]),
            ("params", &["value", "source"][..]),
        ] {
            if let Some(items) = counted.get_mut(key).and_then(Value::as_array_mut) {
                for item in items.iter_mut() {
                    *item = keep(item, left_out);
                }
            }
        }
        counted
    }

    /// What differs between `self` (an earlier plan of the workflow) and `now`, one phrase
    /// each, counted fields only (see [`Plan::fingerprint_of`]): nodes added, removed or
    /// changed, parameters, edges, operations, secrets, branches. Empty when the fingerprints
    /// agree.
    pub fn changes_to(&self, now: &Plan) -> Vec<String> {
        if self.fingerprint == now.fingerprint && !self.fingerprint.is_empty() {
            return Vec::new();
        }
        let counted = |node: &PlanNode| {
            let mut value = serde_json::to_value(node).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.remove("description");
                object.remove("task_path");
            }
            value
        };
        let mut changes = Vec::new();
        for node in &now.nodes {
            match self.nodes.iter().find(|old| old.id == node.id) {
                None => changes.push(format!("node `{}` added", node.id)),
                Some(old) if counted(old) != counted(node) => {
                    changes.push(format!("node `{}` changed", node.id));
                }
                Some(_) => {}
            }
        }
        for node in &self.nodes {
            if !now.nodes.iter().any(|new| new.id == node.id) {
                changes.push(format!("node `{}` removed", node.id));
            }
        }
        fn differs<T: Serialize>(a: &T, b: &T) -> bool {
            serde_json::to_value(a).ok() != serde_json::to_value(b).ok()
        }
        fn declared(plan: &Plan) -> Vec<(&String, &String, &Option<Value>)> {
            plan.params
                .iter()
                .map(|param| (&param.name, &param.ty, &param.default))
                .collect()
        }
        if declared(self) != declared(now) {
            changes.push("parameters changed".to_owned());
        }
        // Edges between nodes both plans have (a node added or removed brings its own).
        let common = |plan: &Plan| -> Vec<Value> {
            plan.edges
                .iter()
                .filter(|edge| {
                    [&edge.from, &edge.to].iter().all(|end| {
                        self.nodes.iter().any(|node| node.id == **end)
                            && now.nodes.iter().any(|node| node.id == **end)
                    })
                })
                .map(|edge| serde_json::to_value(edge).unwrap_or_default())
                .collect()
        };
        if common(self) != common(now) {
            changes.push("edges changed".to_owned());
        }
        if differs(&self.operations, &now.operations) {
            changes.push("operations changed (schedule, overlap, pools, timeout, failure policy, notices or triggers)".to_owned());
        }
        if differs(&self.secrets, &now.secrets) {
            changes.push("secrets changed".to_owned());
        }
        if differs(&self.branches, &now.branches) || differs(&self.merges, &now.merges) {
            changes.push("branches changed".to_owned());
        }
        if changes.is_empty() {
            changes.push("the plan changed".to_owned());
        }
        changes
    }

    /// The first 12 hex digits of the fingerprint, as `history` and `status` show it (empty
    /// for a plan written before fingerprints).
    pub fn short_fingerprint(fingerprint: &str) -> &str {
        let hex = fingerprint.strip_prefix("sha256:").unwrap_or(fingerprint);
        &hex[..hex.len().min(12)]
    }

    /// The plan as pretty-printed JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}
