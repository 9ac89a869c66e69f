//! Executes a plan on this machine: nodes run on a bounded pool of worker threads as their
//! dependencies allow, bounded by a parallelism and by pool slots; failed attempts are retried
//! with the node's delay and backoff; an attempt that overruns its timeout is abandoned and
//! marked timed out; a panic fails only its attempt. Every transition is written to the
//! [`RunStore`] as it happens (each scheduler step in one transaction), so a run killed at
//! any point resumes without redoing the nodes that succeeded.
//!
//! The run is indexed once, from the spec and the plan, into a graph of node indices (inputs,
//! producers of merged names, branches, pools); the scheduler decides transitions on it
//! (transitions), and a step's transitions are then written and told as events together.
//! Names are used only at the edges: the store and the events.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use serde_json::Value;

use super::store::{Cause, NodeRecord, RunStore, Status, StoreError, Write};
use crate::FailureKind;
use crate::operations::FailureAction;
use crate::plan::Plan;
use crate::workflow_model::{NodeSpec, Source, WorkflowSpec};

/// How a run is executed.
#[derive(Clone)]
pub struct Options {
    /// How many nodes run at once.
    pub parallelism: usize,
    /// Where each attempt runs.
    pub isolation: Isolation,
    /// The time retries, timeouts and the run's deadline are measured in.
    pub clock: Clock,
    /// Runs attempts in place of the tasks (the test harness's stubs and injected failures);
    /// used with [`Isolation::Thread`] only.
    pub intercept: Option<Arc<dyn Intercept>>,
    /// Why a new run starts (`tick`), recorded with it.
    pub cause: Option<Cause>,
    /// Set from outside (a signal) to stop the run: nothing new starts, running attempts are
    /// stopped, the run ends `cancelled`.
    pub stop: Option<Arc<Stop>>,
    /// The largest output a node may produce, in bytes of JSON; a larger one fails the
    /// attempt (pass a reference to the data instead). [`DEFAULT_MAX_OUTPUT`] by default.
    pub max_output: usize,
    /// Whether the engine records the run's end itself (`true` by default). The lifecycle
    /// records it together with the run's notices, in one transaction, so that a process
    /// killed in between never leaves an ended run whose notices were never written.
    pub record_end: bool,
    /// Where each attempt's log is written, and what it masks; `None` keeps no logs (the
    /// test harness, a sub-workflow inside its caller's attempt).
    pub logs: Option<super::attempt_log::LogSettings>,
    /// With no `logs`: the log every attempt writes to (a sub-workflow's nodes write to the
    /// log of the attempt that runs the sub-workflow).
    pub inherit_log: Option<Arc<super::attempt_log::AttemptLog>>,
}

/// The largest node output kept by default: 64 MiB of JSON.
pub const DEFAULT_MAX_OUTPUT: usize = 64 << 20;

/// A request to stop a run, with why (e.g. `stopped by SIGTERM`). A stop made
/// [`within`](Stop::within) another is requested when that one is too: an attempt's stop
/// within its run's, so what the attempt runs sees a signal to the run at once.
#[derive(Debug, Default)]
pub struct Stop {
    requested: AtomicBool,
    reason: Mutex<String>,
    parent: Option<Arc<Stop>>,
}

impl Stop {
    /// A stop that is also requested whenever `parent` is.
    pub fn within(parent: Option<Arc<Stop>>) -> Stop {
        Stop {
            parent,
            ..Stop::default()
        }
    }

    /// Asks the run to stop, saying why (the first reason given is kept).
    pub fn request(&self, reason: &str) {
        let mut kept = self
            .reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.is_empty() {
            *kept = reason.to_owned();
        }
        self.requested.store(true, Ordering::SeqCst);
    }

    /// Whether it (or the stop it is within) was asked to stop.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
            || self
                .parent
                .as_ref()
                .is_some_and(|parent| parent.is_requested())
    }

    /// Why it was asked to stop (or the stop it is within), if it was.
    pub fn requested(&self) -> Option<String> {
        if self.requested.load(Ordering::SeqCst) {
            return Some(
                self.reason
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone(),
            );
        }
        self.parent.as_ref().and_then(|parent| parent.requested())
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Options")
            .field("parallelism", &self.parallelism)
            .field("isolation", &self.isolation)
            .field("clock", &self.clock)
            .field("intercept", &self.intercept.is_some())
            .field("cause", &self.cause)
            .field("stop", &self.stop)
            .field("max_output", &self.max_output)
            .field("record_end", &self.record_end)
            .finish()
    }
}

/// The time a run is measured in.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The machine's clock: a retry's delay is waited for.
    #[default]
    Real,
    /// A virtual clock that jumps to the next thing due (an attempt's end, a retry, a
    /// deadline) as soon as nothing else can happen, so hours of retries take no time.
    Virtual(VirtualClock),
}

/// A clock that moves only when told to, or when a run on it has nothing to do but wait.
/// Clones share one time.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl VirtualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> VirtualClock {
        VirtualClock {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// The time it shows.
    pub fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves it forward by `duration`.
    pub fn advance(&self, duration: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
    }

    /// Sets it to `time`, if that is later than what it shows.
    pub fn advance_to(&self, time: DateTime<Utc>) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if time > *now {
            *now = time;
        }
    }
}

impl Clock {
    /// The wall-clock time now.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::Real => Utc::now(),
            Clock::Virtual(clock) => clock.now(),
        }
    }
}

/// One attempt handed to an [`Intercept`].
pub struct AttemptCall<'a> {
    /// The node.
    pub node: &'a str,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// The node's fan-out, if it has one.
    pub map: Option<crate::MapSpec>,
    /// The node's own task.
    pub task: fn(Vec<Value>) -> Result<Value, crate::TaskError>,
}

impl AttemptCall<'_> {
    /// Runs `call` as the node would run its task: once, or once per element of its mapped
    /// input; a panic is an error.
    pub fn run_with(
        &self,
        call: &(dyn Fn(Vec<Value>) -> Result<Value, crate::TaskError> + Sync),
        inputs: Vec<Value>,
    ) -> Result<Value, AttemptError> {
        call_node_with(call, self.map, inputs)
    }

    /// Runs the node's own task.
    pub fn run(&self, inputs: Vec<Value>) -> Result<Value, AttemptError> {
        call_node(self.task, self.map, inputs)
    }
}

/// What an intercepted attempt did.
#[derive(Debug, Clone)]
pub struct Attempted {
    /// Its output, or why it failed.
    pub result: Result<Value, AttemptError>,
    /// How long it took on a [`Clock::Virtual`] (an attempt longer than its node's timeout
    /// times out); ignored on the real clock.
    pub took: Duration,
}

/// Why an attempt failed, and whether trying again could help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptError {
    /// What went wrong.
    pub message: String,
    /// Whether the node may try again.
    pub kind: FailureKind,
}

impl AttemptError {
    /// A failure that is retried while the node has retries left.
    pub fn retryable(message: impl Into<String>) -> AttemptError {
        AttemptError {
            message: message.into(),
            kind: FailureKind::Retryable,
        }
    }
}

impl From<String> for AttemptError {
    fn from(message: String) -> AttemptError {
        AttemptError::retryable(message)
    }
}

impl From<&str> for AttemptError {
    fn from(message: &str) -> AttemptError {
        AttemptError::retryable(message)
    }
}

impl From<crate::TaskError> for AttemptError {
    fn from(error: crate::TaskError) -> AttemptError {
        AttemptError {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

impl std::fmt::Display for AttemptError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.message)
    }
}

/// Runs attempts in place of the nodes' tasks.
pub trait Intercept: Send + Sync {
    /// Carries out `call` on `inputs`.
    fn attempt(&self, call: &AttemptCall<'_>, inputs: Vec<Value>) -> Attempted;
}

/// Where each attempt runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Isolation {
    /// On a thread of this process (an attempt past its timeout is abandoned).
    #[default]
    Thread,
    /// In its own process, `PROGRAM exec-task WORKFLOW NODE --inputs ... --output ...`, as
    /// other engines run nodes (an attempt past its timeout is killed).
    Process(std::path::PathBuf),
}

impl Default for Options {
    /// As many nodes at once as the machine has cores, on threads.
    fn default() -> Self {
        Options {
            parallelism: std::thread::available_parallelism().map_or(1, usize::from),
            isolation: Isolation::Thread,
            clock: Clock::Real,
            intercept: None,
            cause: None,
            stop: None,
            max_output: DEFAULT_MAX_OUTPUT,
            record_end: true,
            logs: None,
            inherit_log: None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Every node that had to run succeeded.
    Succeeded,
    /// A node failed or timed out.
    Failed,
    /// A node failed and the workflow's policy paused it.
    Paused,
    /// Stopped from outside (a signal, a replacing run) before it ended.
    Cancelled,
}

impl RunStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Paused => "paused",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// What happened to a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The run's id in the store.
    pub run: i64,
    /// How it ended.
    pub status: RunStatus,
    /// Every node's final state (without outputs: see [`RunStore::outputs`]).
    pub nodes: Vec<NodeRecord>,
    /// Why it was cancelled, when it was.
    pub reason: Option<String>,
    /// Attempts left running on threads (timed out or stopped with `Isolation::Thread`):
    /// they cannot be stopped and may act until the process exits.
    pub abandoned: usize,
}

/// Something worth telling while a run goes on.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An attempt started.
    Started {
        /// The node.
        node: String,
        /// Its attempt number, from 1.
        attempt: u32,
    },
    /// An attempt failed and the node will be tried again.
    Retrying {
        /// The node.
        node: String,
        /// The attempt that failed, from 1.
        attempt: u32,
        /// Why it failed.
        message: String,
        /// How long until the next attempt.
        delay: Duration,
    },
    /// A node reached its final status.
    Finished {
        /// The node.
        node: String,
        /// Its status.
        status: Status,
        /// Why it failed or was skipped.
        message: Option<String>,
    },
}

/// Why a run could not be carried out at all (a failing node is an [`Outcome`], not this).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The state file.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A run to resume that belongs to another workflow or has already finished.
    #[error("{0}")]
    CannotResume(String),
}

/// How an attempt ended: its output with its JSON text, or why it failed.
type AttemptResult = Result<(Value, String), AttemptError>;

/// A point in a run's time: how long after the run started.
type Moment = Duration;

/// Measures a run's time on its clock.
struct Timer {
    origin: Instant,
    clock: Clock,
    virtual_origin: DateTime<Utc>,
}

impl Timer {
    fn new(clock: &Clock) -> Timer {
        Timer {
            origin: Instant::now(),
            clock: clock.clone(),
            virtual_origin: clock.now(),
        }
    }

    fn is_virtual(&self) -> bool {
        matches!(self.clock, Clock::Virtual(_))
    }

    fn now(&self) -> Moment {
        match &self.clock {
            Clock::Real => self.origin.elapsed(),
            Clock::Virtual(clock) => (clock.now() - self.virtual_origin)
                .to_std()
                .unwrap_or_default(),
        }
    }

    /// Waits until `moment`: sleeps on the real clock, moves the virtual one.
    fn wait_until(&self, moment: Moment) {
        match &self.clock {
            Clock::Real => std::thread::sleep(moment.saturating_sub(self.origin.elapsed())),
            Clock::Virtual(clock) => clock.advance_to(
                self.virtual_origin
                    + chrono::Duration::from_std(moment).unwrap_or(chrono::Duration::MAX),
            ),
        }
    }
}

/// A node's scheduling state.
struct NodeState {
    status: Status,
    attempts: u32,
    /// The running attempt's token, deadline and start.
    running: Option<(u64, Option<Moment>, Moment)>,
    /// The running attempt's stop, requested when the engine gives up on it.
    abandon: Option<Arc<Stop>>,
    /// The running attempt's log, once it has one.
    log: Option<LogSlot>,
}

/// An attempt's log, set by the worker that opens it, read by the engine when it gives up.
type LogSlot = Arc<std::sync::OnceLock<Arc<super::attempt_log::AttemptLog>>>;

impl NodeState {
    /// Gives up on the running attempt: it does not start if it has not, and the worker
    /// running it retires when it returns. Its log says so at once.
    fn give_up(&mut self, why: &str) {
        if let Some(stop) = self.abandon.take() {
            stop.request(why);
        }
        if let Some(log) = self.log.take().and_then(|slot| slot.get().cloned()) {
            log.line("runner", &format!("given up: {why}"));
        }
    }
}

#[derive(Clone)]
struct Attempt {
    position: usize,
    token: u64,
    /// The largest output accepted, in bytes.
    max_output: usize,
    /// When a process attempt is killed, on the real clock.
    deadline: Option<Instant>,
    /// Set when the run is over its deadline: a process attempt is killed.
    cancel: Arc<AtomicBool>,
    /// Requested when the engine gives up on this attempt (timed out, stopped): not started
    /// if it has not started yet, its worker retires when it returns, and what it runs on
    /// this thread (a fan-out's elements, a sub-workflow, a command) stops starting work.
    abandoned: Arc<Stop>,
    /// Where its log goes: the logs directory and masks, and the run's id.
    logs: Option<(super::attempt_log::LogSettings, i64)>,
    /// With no `logs`, the log it writes to: its caller's attempt's.
    inherited_log: Option<Arc<super::attempt_log::AttemptLog>>,
    /// Its log, once opened: for the engine to write to when it gives up on the attempt.
    log: LogSlot,
    /// The secret values its failure message is masked with.
    masks: Arc<[String]>,
}

struct Finished {
    node: usize,
    token: u64,
    result: Result<Value, AttemptError>,
    /// The attempt's process was killed at its deadline.
    timed_out: bool,
    /// How long it took on a virtual clock.
    took: Duration,
}

/// Where a node's input (or a branch's decider) comes from, resolved once per run.
enum Input<'a> {
    /// A parameter's value or a constant written in the workflow.
    Value(&'a Value),
    /// A secret's reference (never its value).
    Secret(Value),
    /// The output of the first of these nodes that has one: one node, or each node that
    /// produces a merged name. The name is the one written in the workflow.
    Node(&'static str, Vec<usize>),
    /// A parameter the plan does not give, or a secret the workflow does not declare.
    Missing,
}

impl Input<'_> {
    /// The value it has now, if it has one.
    fn value(&self, outputs: &[Option<Value>]) -> Option<Value> {
        match self {
            Input::Value(value) => Some((*value).clone()),
            Input::Secret(value) => Some(value.clone()),
            Input::Node(_, producers) => producers
                .iter()
                .find_map(|producer| outputs[*producer].clone()),
            Input::Missing => None,
        }
    }
}

/// A run's graph, built once from the spec and the plan: nodes are indices in plan order,
/// and every lookup the run makes is by index. Names are kept for the store and the events
/// only.
struct Graph<'a> {
    spec: &'a WorkflowSpec,
    names: Vec<&'a str>,
    /// Each node's declaration in this binary (none for a node of a plan made by another
    /// version of the workflow).
    nodes: Vec<Option<&'a NodeSpec>>,
    upstream: Vec<Vec<usize>>,
    downstream: Vec<Vec<usize>>,
    /// Each node's inputs, in its task's order.
    inputs: Vec<Vec<Input<'a>>>,
    /// Per branch of the spec, what decides it.
    deciders: Vec<Input<'a>>,
    /// Each node's pool, as an index into `pool_slots`.
    pools: Vec<Option<usize>>,
    /// Each pool's slots.
    pool_slots: Vec<u32>,
}

impl<'a> Graph<'a> {
    fn new(spec: &'a WorkflowSpec, plan: &'a Plan) -> Graph<'a> {
        let names: Vec<&str> = plan.nodes.iter().map(|node| node.id.as_str()).collect();
        let index: HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(position, name)| (*name, position))
            .collect();
        let declared: HashMap<&str, &NodeSpec> =
            spec.nodes.iter().map(|node| (node.name, node)).collect();
        let merged: HashMap<&str, &crate::workflow_model::Merge> = spec
            .merges
            .iter()
            .map(|merge| (merge.name.as_str(), merge))
            .collect();
        let params: HashMap<&str, &Value> = plan
            .params
            .iter()
            .map(|param| (param.name.as_str(), &param.value))
            .collect();
        let resolve = |source: &'a Source| -> Input<'a> {
            match source {
                Source::Param(name) => params
                    .get(name)
                    .map_or(Input::Missing, |value| Input::Value(value)),
                Source::Value(value) => Input::Value(value),
                Source::Secret(name) => spec
                    .secrets
                    .iter()
                    .find(|secret| secret.name == *name)
                    .and_then(|secret| serde_json::to_value(secret).ok())
                    .map_or(Input::Missing, Input::Secret),
                Source::Node(name) => {
                    let producers = match merged.get(name) {
                        Some(merge) => merge
                            .nodes
                            .iter()
                            .filter_map(|producer| index.get(producer.as_str()).copied())
                            .collect(),
                        None => index.get(name).copied().into_iter().collect(),
                    };
                    Input::Node(name, producers)
                }
            }
        };
        let nodes: Vec<Option<&NodeSpec>> = names
            .iter()
            .map(|name| declared.get(name).copied())
            .collect();
        let inputs = nodes
            .iter()
            .map(|node| {
                node.map_or_else(Vec::new, |node| node.inputs.iter().map(resolve).collect())
            })
            .collect();
        let deciders = spec
            .branches
            .iter()
            .map(|branch| resolve(&branch.on))
            .collect();
        let mut upstream: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
        let mut downstream: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
        for edge in &plan.edges {
            if let (Some(&from), Some(&to)) =
                (index.get(edge.from.as_str()), index.get(edge.to.as_str()))
            {
                upstream[to].push(from);
                downstream[from].push(to);
            }
        }
        let mut pool_index: HashMap<&str, usize> = HashMap::new();
        let mut pool_slots: Vec<u32> = Vec::new();
        for pool in &plan.operations.pools {
            pool_index.insert(pool.name.as_str(), pool_slots.len());
            pool_slots.push(pool.slots);
        }
        let pools = plan
            .nodes
            .iter()
            .map(|node| {
                let pool = node.policy.pool.as_deref()?;
                // A pool the plan does not size does not limit.
                Some(*pool_index.entry(pool).or_insert_with(|| {
                    pool_slots.push(u32::MAX);
                    pool_slots.len() - 1
                }))
            })
            .collect();
        Graph {
            spec,
            names,
            nodes,
            upstream,
            downstream,
            inputs,
            deciders,
            pools,
            pool_slots,
        }
    }

    fn len(&self) -> usize {
        self.names.len()
    }

    /// Why `node`, whose upstream nodes are all final, must not run: its branch took another
    /// arm, or a value it needs was not produced.
    fn why_skip(
        &self,
        node: usize,
        outputs: &[Option<Value>],
        decisions: &mut [Option<Option<usize>>],
    ) -> Option<String> {
        let declared = self.nodes[node]?;
        if let Some(condition) = declared.condition {
            let branch = self.spec.branches.get(condition.branch)?;
            let decision = match decisions[condition.branch] {
                Some(decision) => decision,
                None => {
                    let value = self.deciders[condition.branch].value(outputs)?;
                    let decision = match (branch.select)(&value) {
                        Ok(decision) => decision,
                        Err(error) => return Some(format!("cannot decide the branch: {error}")),
                    };
                    decisions[condition.branch] = Some(decision);
                    decision
                }
            };
            if decision != Some(condition.arm) {
                let arm = branch.arms.get(condition.arm).map_or("?", |arm| arm.label);
                return Some(format!("its branch took another arm than `{arm}`"));
            }
        }
        for input in &self.inputs[node] {
            if let Input::Node(name, _) = input
                && input.value(outputs).is_none()
            {
                return Some(format!("it needs `{name}`, which did not run"));
            }
        }
        None
    }
}

/// One transition of a node, decided by the scheduler; [`record`] turns a step's transitions
/// into the store's writes (one transaction) and the events.
enum Transition {
    /// Its upstream nodes are final and it may run: it waits for a worker or a pool slot.
    Ready(usize),
    /// Resumed: back to scheduled.
    Reset(usize),
    /// An attempt started.
    Started { node: usize, attempt: u32 },
    /// An attempt succeeded, with the output as JSON text.
    Succeeded {
        node: usize,
        attempt: u32,
        text: String,
    },
    /// An attempt failed or timed out; the node is tried again after `delay`.
    Retrying {
        node: usize,
        attempt: u32,
        status: Status,
        reason: String,
        delay: Duration,
    },
    /// An attempt failed or timed out, and so did the node: the attempt's reason and the
    /// node's message.
    Failed {
        node: usize,
        attempt: u32,
        status: Status,
        reason: String,
        message: String,
    },
    /// The node reached `status` (skipped, paused) without running.
    Unrun {
        node: usize,
        status: Status,
        message: String,
    },
}

/// Records one step: its transitions as writes in one transaction, then as events. A node
/// made ready and started in the same step is written once, as running.
fn record(
    store: &mut dyn RunStore,
    run: i64,
    graph: &Graph<'_>,
    step: &mut Vec<Transition>,
    events: &mut dyn FnMut(Event),
) -> Result<(), StoreError> {
    if step.is_empty() {
        return Ok(());
    }
    let started: std::collections::HashSet<usize> = step
        .iter()
        .filter_map(|transition| match transition {
            Transition::Started { node, .. } => Some(*node),
            _ => None,
        })
        .collect();
    let mut writes: Vec<Write<'_>> = Vec::with_capacity(step.len() * 2);
    let node_write = |node: usize, status, output, message| Write::Node {
        node: graph.names[node],
        status,
        output,
        message,
    };
    let attempt_end = |node: usize, attempt, status, message| Write::AttemptEnded {
        node: graph.names[node],
        attempt,
        status,
        message,
    };
    for transition in step.iter() {
        match transition {
            Transition::Ready(node) => {
                if !started.contains(node) {
                    writes.push(node_write(*node, Status::Ready, None, None));
                }
            }
            Transition::Reset(node) => {
                writes.push(node_write(*node, Status::Scheduled, None, None))
            }
            Transition::Started { node, attempt } => writes.push(Write::AttemptStarted {
                node: graph.names[*node],
                attempt: *attempt,
            }),
            Transition::Succeeded {
                node,
                attempt,
                text,
            } => writes.extend([
                attempt_end(*node, *attempt, Status::Succeeded, None),
                node_write(*node, Status::Succeeded, Some(text), None),
            ]),
            Transition::Retrying {
                node,
                attempt,
                status,
                reason,
                ..
            } => writes.extend([
                attempt_end(*node, *attempt, *status, Some(reason)),
                node_write(*node, Status::Ready, None, Some(reason)),
            ]),
            Transition::Failed {
                node,
                attempt,
                status,
                reason,
                message,
            } => writes.extend([
                attempt_end(*node, *attempt, *status, Some(reason)),
                node_write(*node, *status, None, Some(message)),
            ]),
            Transition::Unrun {
                node,
                status,
                message,
            } => writes.push(node_write(*node, *status, None, Some(message))),
        }
    }
    store.record(run, &writes)?;
    drop(writes);
    for transition in step.drain(..) {
        let event = match transition {
            Transition::Ready(_) | Transition::Reset(_) => continue,
            Transition::Started { node, attempt } => Event::Started {
                node: graph.names[node].to_owned(),
                attempt,
            },
            Transition::Succeeded { node, .. } => Event::Finished {
                node: graph.names[node].to_owned(),
                status: Status::Succeeded,
                message: None,
            },
            Transition::Retrying {
                node,
                attempt,
                reason,
                delay,
                ..
            } => Event::Retrying {
                node: graph.names[node].to_owned(),
                attempt,
                message: reason,
                delay,
            },
            Transition::Failed {
                node,
                status,
                message,
                ..
            }
            | Transition::Unrun {
                node,
                status,
                message,
            } => Event::Finished {
                node: graph.names[node].to_owned(),
                status,
                message: Some(message),
            },
        };
        events(event);
    }
    Ok(())
}

thread_local! {
    /// The stop of the attempt this thread runs (thread isolation), if any.
    static CURRENT_ATTEMPT: std::cell::RefCell<Option<Arc<Stop>>> =
        const { std::cell::RefCell::new(None) };
}

/// The stop of the attempt running on this thread: requested when the engine gives up on it
/// (a timeout, the run's deadline, a signal). A sub-workflow run inside the attempt stops
/// with it, a fan-out starts no more elements, and a command is killed.
pub(crate) fn current_attempt() -> Option<Arc<Stop>> {
    CURRENT_ATTEMPT.with(|current| current.borrow().clone())
}

/// Marks this thread as running an attempt while it lives.
struct CurrentAttempt(Option<Arc<Stop>>);

impl CurrentAttempt {
    fn enter(stop: Arc<Stop>) -> CurrentAttempt {
        CurrentAttempt(CURRENT_ATTEMPT.with(|current| current.replace(Some(stop))))
    }
}

impl Drop for CurrentAttempt {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT_ATTEMPT.with(|current| *current.borrow_mut() = previous);
    }
}

/// A job for a worker: one attempt, which reports its end on the run's channel. It returns
/// whether the attempt was abandoned while it ran: its worker has been replaced, and retires.
/// An attempt abandoned before it started does not run, and its worker goes on.
type Job = Box<dyn FnOnce() -> bool + Send>;

/// A bounded set of worker threads carrying out a run's attempts, started as they are first
/// needed. A worker held by an attempt the engine gave up on (timed out on a thread, which
/// cannot be stopped) is replaced at once, and retires when that attempt returns; so the run
/// always has its size of workers free for its attempts, however many hang.
struct Workers {
    sender: mpsc::Sender<Job>,
    receiver: Arc<Mutex<mpsc::Receiver<Job>>>,
    started: usize,
    size: usize,
}

impl Workers {
    fn new(size: usize) -> Workers {
        let (sender, receiver) = mpsc::channel::<Job>();
        Workers {
            sender,
            receiver: Arc::new(Mutex::new(receiver)),
            started: 0,
            size,
        }
    }

    /// Hands `job` to a free worker (starting one while fewer than the run's size exist).
    fn submit(&mut self, job: Job) {
        if self.started < self.size {
            self.spawn();
        }
        if self.started == 0 {
            job();
        } else if let Err(mpsc::SendError(job)) = self.sender.send(job) {
            job();
        }
    }

    /// Starts a worker in place of one held by an abandoned attempt.
    fn replace(&mut self) {
        self.spawn();
    }

    fn spawn(&mut self) {
        let receiver = self.receiver.clone();
        let worker = move || {
            loop {
                let job = receive(
                    || {
                        receiver
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .try_recv()
                    },
                    |timeout| {
                        let receiver = receiver
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        match timeout {
                            Some(timeout) => receiver.recv_timeout(timeout).ok(),
                            None => receiver.recv().ok(),
                        }
                    },
                    None,
                );
                let Some(job) = job else { break };
                if job() {
                    // Replaced while its attempt ran.
                    break;
                }
            }
        };
        // Without any thread, jobs still run: on the thread that submits them.
        if std::thread::Builder::new()
            .name("workflow-worker".to_owned())
            .spawn(worker)
            .is_ok()
        {
            self.started += 1;
        }
    }
}

/// How long a thread looks for a message before it sleeps: long enough to catch the end of a
/// quick attempt (or the next one) without the cost of being woken, short enough to cost
/// nothing next to a real task.
const SPIN: Duration = Duration::from_micros(50);

/// The next message: looked for with `try_receive` for up to [`SPIN`] (or `timeout`, if
/// shorter), giving the processor away between looks, then waited for with `wait` for the
/// rest of `timeout` (or for as long as it takes). `None` when the channel is closed or the
/// time is up.
fn receive<T>(
    try_receive: impl Fn() -> Result<T, mpsc::TryRecvError>,
    wait: impl FnOnce(Option<Duration>) -> Option<T>,
    timeout: Option<Duration>,
) -> Option<T> {
    let start = Instant::now();
    let spin = timeout.map_or(SPIN, |timeout| timeout.min(SPIN));
    loop {
        match try_receive() {
            Ok(message) => return Some(message),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        if start.elapsed() >= spin {
            break;
        }
        std::thread::yield_now();
    }
    wait(timeout.map(|timeout| timeout.saturating_sub(start.elapsed())))
}

/// The scheduling state of a run. Every queue is kept so that each event touches only the
/// nodes it concerns, which keeps a run of thousands of nodes linear in its nodes and edges.
struct Scheduler {
    states: Vec<NodeState>,
    /// Upstream nodes not final yet.
    waiting_on: Vec<usize>,
    /// Nodes whose upstream nodes are all final, to be made ready or skipped.
    to_decide: std::collections::VecDeque<usize>,
    /// Nodes that may start now, in plan order.
    ready: std::collections::BTreeSet<usize>,
    /// Nodes waiting for a retry's delay.
    delayed: std::collections::BTreeSet<(Moment, usize)>,
}

impl Scheduler {
    /// Records that `node` will not change any more, and lets the nodes waiting on it be
    /// decided once nothing else holds them.
    fn finalize(&mut self, graph: &Graph<'_>, node: usize, status: Status) {
        self.states[node].status = status;
        for &next in &graph.downstream[node] {
            self.waiting_on[next] -= 1;
            if self.waiting_on[next] == 0 && self.states[next].status == Status::Scheduled {
                self.to_decide.push_back(next);
            }
        }
    }
}

/// Runs `plan` (made from `spec`) to completion as run `run`, recorded in `store` with every
/// node scheduled ([`Store::start_run`](super::store::Store::start_run), or
/// [`MemoryStore::start_run`](super::memory::MemoryStore::start_run)); with `resume`,
/// continues it, keeping the outputs of the nodes that had succeeded. The caller holds the
/// run's lock (see [`super::lifecycle`], which admits runs).
///
/// The run's graph is indexed once; attempts run on a bounded pool of `parallelism` worker
/// threads (each process attempt is waited for by one); each scheduler step — the attempts
/// that ended, the nodes decided, the attempts started — is recorded in one transaction
/// before any of its attempts is handed to a worker and before the engine waits, so what a
/// killed run had recorded is exactly what had happened, and no attempt runs unrecorded.
pub fn execute(
    spec: &WorkflowSpec,
    plan: &Plan,
    store: &mut dyn RunStore,
    run: i64,
    resume: bool,
    options: &Options,
    events: &mut dyn FnMut(Event),
) -> Result<Outcome, RunError> {
    // A new run's id may have been used by a state file that was deleted or restored from
    // an older copy: what its logs directory holds is not this run's.
    if !resume && let Some(settings) = &options.logs {
        let _ = std::fs::remove_dir_all(super::attempt_log::run_dir(&settings.dir, run));
    }
    let graph = Graph::new(spec, plan);
    let mut scheduler = Scheduler {
        states: (0..graph.len())
            .map(|_| NodeState {
                status: Status::Scheduled,
                attempts: 0,
                running: None,
                abandon: None,
                log: None,
            })
            .collect(),
        waiting_on: graph.upstream.iter().map(Vec::len).collect(),
        to_decide: std::collections::VecDeque::new(),
        ready: std::collections::BTreeSet::new(),
        delayed: std::collections::BTreeSet::new(),
    };
    let mut outputs: Vec<Option<Value>> = vec![None; graph.len()];
    // The transitions of the step going on, recorded together.
    let mut step: Vec<Transition> = Vec::new();
    if resume {
        let workflow = store.workflow_of(run)?;
        if workflow != plan.workflow {
            return Err(RunError::CannotResume(format!(
                "run {run} is a run of workflow `{workflow}`, not `{}`",
                plan.workflow
            )));
        }
        let index: HashMap<&str, usize> = graph
            .names
            .iter()
            .enumerate()
            .map(|(position, name)| (*name, position))
            .collect();
        let mut stored: HashMap<String, Value> = store.outputs(run)?.into_iter().collect();
        // Every node that succeeded is marked before any is finalized, so that finalizing
        // one never queues another that has succeeded too.
        let mut succeeded = Vec::new();
        for node in store.nodes(run)? {
            let Some(&position) = index.get(node.node.as_str()) else {
                continue;
            };
            scheduler.states[position].attempts = node.attempts;
            match (node.status, stored.remove(&node.node)) {
                (Status::Succeeded, Some(output)) => {
                    outputs[position] = Some(output);
                    scheduler.states[position].status = Status::Succeeded;
                    succeeded.push(position);
                }
                _ => step.push(Transition::Reset(position)),
            }
        }
        for position in succeeded {
            scheduler.finalize(&graph, position, Status::Succeeded);
        }
    }
    let mut queued = vec![false; graph.len()];
    for &position in &scheduler.to_decide {
        queued[position] = true;
    }
    for (position, waiting) in scheduler.waiting_on.iter().enumerate() {
        if *waiting == 0
            && scheduler.states[position].status == Status::Scheduled
            && !queued[position]
        {
            scheduler.to_decide.push_back(position);
        }
    }
    drop(queued);

    let mut pool_use: Vec<u32> = vec![0; graph.pool_slots.len()];
    let mut decisions: Vec<Option<Option<usize>>> = vec![None; spec.branches.len()];
    let (sender, receiver) = mpsc::channel::<Finished>();
    let parallelism = options.parallelism.max(1);
    let mut workers = Workers::new(parallelism);
    let mut next_token = 0u64;
    // The nodes with an attempt in flight.
    let mut in_flight: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
    let mut stopping = false;
    let timer = Timer::new(&options.clock);
    // The whole run's deadline; a resumed run gets its full time again.
    let run_deadline: Option<Moment> = plan.operations.timeout_secs.map(Duration::from_secs);
    let mut run_timed_out = false;
    // Why the run was stopped from outside, once it was.
    let mut stopped: Option<String> = None;
    // Attempts on threads given up on (timed out, stopped) that may still be running.
    let mut abandoned = 0usize;
    let on_threads = matches!(options.isolation, Isolation::Thread) && !timer.is_virtual();
    let cancel = Arc::new(AtomicBool::new(false));
    // On a virtual clock, attempts that have reported, with their virtual end.
    let mut arrived: Vec<(Moment, Finished)> = Vec::new();
    let intercept = match options.isolation {
        Isolation::Thread => options.intercept.clone(),
        Isolation::Process(_) => None,
    };
    // Attempts that ended since the last step: the node, its result and status.
    let mut ended: Vec<(usize, AttemptResult, Status)> = Vec::new();
    // The attempts the step started, handed to workers once it is recorded.
    let mut jobs: Vec<Job> = Vec::new();

    loop {
        if stopped.is_none()
            && let Some(reason) = options.stop.as_ref().and_then(|stop| stop.requested())
        {
            // Nothing new starts; attempts in flight are cut (process attempts are killed by
            // the threads that wait for them) and recorded as failed with the reason: the one
            // a replacing run recorded before it signalled, else the signal.
            let recorded = store.stop_reason(run).ok().flatten();
            stopped = Some(recorded.unwrap_or(reason));
            stopping = true;
            cancel.store(true, Ordering::SeqCst);
        }
        // The attempts that ended.
        for (position, result, status) in ended.drain(..) {
            if !in_flight.remove(&position) {
                continue;
            }
            arrived.retain(|(_, done)| done.node != position);
            if let Some(pool) = graph.pools[position] {
                pool_use[pool] = pool_use[pool].saturating_sub(1);
            }
            scheduler.states[position].running = None;
            scheduler.states[position].abandon = None;
            let attempt = scheduler.states[position].attempts;
            match result {
                Ok((output, text)) => {
                    outputs[position] = Some(output);
                    step.push(Transition::Succeeded {
                        node: position,
                        attempt,
                        text,
                    });
                    scheduler.finalize(&graph, position, Status::Succeeded);
                }
                Err(error) => match plan.nodes[position].policy.delay_before_retry(attempt) {
                    Some(delay) if !stopping && error.kind.is_retryable() => {
                        let reason = error.message;
                        let delay = Duration::from_secs(delay);
                        scheduler.states[position].status = Status::Ready;
                        scheduler.delayed.insert((timer.now() + delay, position));
                        step.push(Transition::Retrying {
                            node: position,
                            attempt,
                            status,
                            reason,
                            delay,
                        });
                    }
                    retry => {
                        // A failure that trying again cannot fix says why its retries went
                        // unused.
                        let unused = match error.kind {
                            FailureKind::Permanent if retry.is_some() => {
                                " (a permanent failure: not retried)"
                            }
                            FailureKind::BadInput if retry.is_some() => {
                                " (a bad input: not retried)"
                            }
                            _ => "",
                        };
                        let reason = error.message;
                        step.push(Transition::Failed {
                            node: position,
                            attempt,
                            status,
                            message: format!("attempt {attempt}: {reason}{unused}"),
                            reason,
                        });
                        scheduler.finalize(&graph, position, status);
                        if plan.operations.on_failure != FailureAction::Continue {
                            stopping = true;
                        }
                    }
                },
            }
        }
        if let Some(reason) = &stopped {
            for position in std::mem::take(&mut in_flight) {
                if on_threads {
                    abandoned += 1;
                }
                // Not started if it is still waiting for a worker.
                scheduler.states[position].give_up(reason);
                let attempt = scheduler.states[position].attempts;
                scheduler.states[position].running = None;
                step.push(Transition::Failed {
                    node: position,
                    attempt,
                    status: Status::Failed,
                    reason: reason.clone(),
                    message: format!("attempt {attempt}: {reason} while it ran"),
                });
                scheduler.finalize(&graph, position, Status::Failed);
            }
            record(store, run, &graph, &mut step, events)?;
            break;
        }
        // Decide the nodes whose upstream nodes are all final: ready, or skipped.
        while !stopping && let Some(position) = scheduler.to_decide.pop_front() {
            if scheduler.states[position].status != Status::Scheduled {
                continue;
            }
            let skip = if graph.nodes[position].is_none() {
                Some(format!(
                    "node `{}` is not in this binary's workflow",
                    graph.names[position]
                ))
            } else {
                let failed = graph.upstream[position].iter().find(|dep| {
                    matches!(
                        scheduler.states[**dep].status,
                        Status::Failed | Status::TimedOut
                    )
                });
                match failed {
                    Some(dep) => Some(format!("upstream node `{}` failed", graph.names[*dep])),
                    None => graph.why_skip(position, &outputs, &mut decisions),
                }
            };
            match skip {
                Some(message) => {
                    step.push(Transition::Unrun {
                        node: position,
                        status: Status::Skipped,
                        message,
                    });
                    scheduler.finalize(&graph, position, Status::Skipped);
                }
                None => {
                    scheduler.states[position].status = Status::Ready;
                    scheduler.ready.insert(position);
                    step.push(Transition::Ready(position));
                }
            }
        }

        // Retries whose delay has passed may start again.
        let now = timer.now();
        while let Some(&(due, position)) = scheduler.delayed.first() {
            if due > now {
                break;
            }
            scheduler.delayed.pop_first();
            scheduler.ready.insert(position);
        }

        // Start ready nodes while there are workers and pool slots for them.
        let mut starting = Vec::new();
        if !stopping {
            for &position in &scheduler.ready {
                if in_flight.len() + starting.len() >= parallelism {
                    break;
                }
                if let Some(pool) = graph.pools[position] {
                    if pool_use[pool] >= graph.pool_slots[pool] {
                        continue;
                    }
                    pool_use[pool] += 1;
                }
                starting.push(position);
            }
        }
        for position in starting {
            scheduler.ready.remove(&position);
            let Some(node) = graph.nodes[position] else {
                continue;
            };
            let Some(inputs) = graph.inputs[position]
                .iter()
                .map(|input| input.value(&outputs))
                .collect::<Option<Vec<Value>>>()
            else {
                if let Some(pool) = graph.pools[position] {
                    pool_use[pool] = pool_use[pool].saturating_sub(1);
                }
                step.push(Transition::Unrun {
                    node: position,
                    status: Status::Skipped,
                    message: "an input has no value".to_owned(),
                });
                scheduler.finalize(&graph, position, Status::Skipped);
                continue;
            };
            next_token += 1;
            let state = &mut scheduler.states[position];
            state.attempts += 1;
            state.status = Status::Running;
            let timeout = plan.nodes[position]
                .policy
                .timeout_secs
                .map(Duration::from_secs);
            let started_at = timer.now();
            // A process is killed by the thread that waits for it, which then reports the
            // timeout; the engine's own check is a backstop, a little later.
            let backstop = match options.isolation {
                Isolation::Thread => timeout.map(|timeout| started_at + timeout),
                Isolation::Process(_) => {
                    timeout.map(|timeout| started_at + timeout + Duration::from_secs(5))
                }
            };
            state.running = Some((next_token, backstop, started_at));
            step.push(Transition::Started {
                node: position,
                attempt: state.attempts,
            });
            let attempt = Attempt {
                position,
                token: next_token,
                max_output: options.max_output,
                deadline: timeout.map(|timeout| Instant::now() + timeout),
                cancel: cancel.clone(),
                abandoned: Arc::new(Stop::within(options.stop.clone())),
                logs: options.logs.clone().map(|settings| (settings, run)),
                inherited_log: options.inherit_log.clone(),
                log: LogSlot::default(),
                masks: options.logs.as_ref().map_or_else(
                    || {
                        options
                            .inherit_log
                            .as_ref()
                            .map_or_else(|| Arc::from(Vec::new()), |log| log.masks())
                    },
                    |settings| settings.masks.clone(),
                ),
            };
            state.abandon = Some(attempt.abandoned.clone());
            state.log = Some(attempt.log.clone());
            jobs.push(match &options.isolation {
                Isolation::Thread => attempt_job(
                    node,
                    state.attempts,
                    inputs,
                    attempt,
                    intercept.clone(),
                    sender.clone(),
                ),
                Isolation::Process(program) => process_job(
                    program,
                    &plan.workflow,
                    node,
                    state.attempts,
                    inputs,
                    attempt,
                    sender.clone(),
                ),
            });
            in_flight.insert(position);
        }

        // The step is recorded before its attempts start and before the engine waits.
        record(store, run, &graph, &mut step, events)?;
        for job in jobs.drain(..) {
            workers.submit(job);
        }
        if stopping && in_flight.is_empty() {
            break;
        }
        if in_flight.is_empty() {
            // Nothing runs and nothing could start: wait for a retry, or the run is over.
            match scheduler.delayed.first() {
                Some(&(due, _)) if !stopping => {
                    let mut until = run_deadline.map_or(due, |deadline| deadline.min(due));
                    if options.stop.is_some() && !timer.is_virtual() {
                        until = until.min(timer.now() + Duration::from_millis(100));
                    }
                    timer.wait_until(until);
                    if run_deadline.is_some_and(|deadline| timer.now() >= deadline) {
                        run_timed_out = true;
                        stopping = true;
                    }
                }
                _ if !scheduler.to_decide.is_empty() && !stopping => {}
                _ => break,
            }
            continue;
        }

        // Wait for an attempt to finish, a deadline to pass, or a retry to become due.
        let deadlines = in_flight.iter().filter_map(|&position| {
            scheduler.states[position]
                .running
                .and_then(|(_, deadline, _)| deadline)
        });
        // A run that may be stopped from outside looks at least every 100 ms.
        let poll = options
            .stop
            .as_ref()
            .map(|_| timer.now() + Duration::from_millis(100))
            .filter(|_| !timer.is_virtual());
        let wake = deadlines
            .chain(scheduler.delayed.first().map(|(due, _)| *due))
            .chain(run_deadline)
            .chain(poll)
            .min();
        let mut messages: Vec<Finished> = Vec::new();
        if timer.is_virtual() {
            // Every attempt in flight reports (its real time is short), then the clock jumps
            // to whichever comes first: an attempt's virtual end, a deadline or a retry.
            while arrived.len() < in_flight.len() {
                let Ok(done) = receiver.recv() else { break };
                let started = scheduler.states[done.node]
                    .running
                    .filter(|(token, _, _)| *token == done.token)
                    .map(|(_, _, started)| started);
                if let Some(started) = started {
                    arrived.push((started + done.took, done));
                }
            }
            let first = arrived
                .iter()
                .enumerate()
                .min_by_key(|(_, (end, _))| *end)
                .map(|(index, (end, _))| (index, *end));
            let until = match (first, wake) {
                (Some((_, end)), Some(wake)) => end.min(wake),
                (Some((_, end)), None) => end,
                (None, Some(wake)) => wake,
                (None, None) => timer.now(),
            };
            timer.wait_until(until);
            if let Some((index, end)) = first
                && end <= until
                && wake.is_none_or(|wake| end < wake)
            {
                messages.push(arrived.swap_remove(index).1);
            }
        } else {
            let first = receive(
                || receiver.try_recv(),
                |timeout| match timeout {
                    Some(timeout) => receiver.recv_timeout(timeout).ok(),
                    None => receiver.recv().ok(),
                },
                wake.map(|until| until.saturating_sub(timer.now())),
            );
            // Every attempt that has ended by now is taken in this step.
            messages.extend(first);
            if !messages.is_empty() {
                messages.extend(receiver.try_iter());
            }
        }
        let now = timer.now();
        if !run_timed_out && run_deadline.is_some_and(|deadline| now >= deadline) {
            run_timed_out = true;
            stopping = true;
            cancel.store(true, Ordering::SeqCst);
        }
        for done in messages {
            // A report from an attempt given up on already is too late.
            if scheduler.states[done.node]
                .running
                .is_none_or(|(token, _, _)| token != done.token)
            {
                continue;
            }
            let result = done.result.and_then(|value| {
                encode_output(value, options.max_output).map_err(AttemptError::from)
            });
            let status = match (&result, done.timed_out) {
                (Ok(_), _) => Status::Succeeded,
                (Err(_), true) => Status::TimedOut,
                (Err(_), false) => Status::Failed,
            };
            ended.push((done.node, result, status));
        }
        for &position in &in_flight {
            if ended.iter().any(|(done, _, _)| *done == position) {
                continue;
            }
            if let Some((_, Some(deadline), _)) = scheduler.states[position].running
                && deadline <= now
            {
                if on_threads {
                    abandoned += 1;
                }
                let seconds = plan.nodes[position].policy.timeout_secs.unwrap_or(0);
                let why = format!(
                    "timed out after {}",
                    crate::text::duration(Duration::from_secs(seconds))
                );
                scheduler.states[position].give_up(&why);
                workers.replace();
                ended.push((position, Err(why.into()), Status::TimedOut));
            } else if run_timed_out {
                if on_threads {
                    abandoned += 1;
                }
                scheduler.states[position].give_up(&run_timeout_message(plan));
                workers.replace();
                ended.push((
                    position,
                    Err(run_timeout_message(plan).into()),
                    Status::TimedOut,
                ));
            }
        }
    }
    drop(workers);

    // What never ran: skipped after a stop, or paused with the workflow.
    let failed = run_timed_out
        || scheduler
            .states
            .iter()
            .any(|state| matches!(state.status, Status::Failed | Status::TimedOut));
    let pause = failed && stopped.is_none() && plan.operations.on_failure == FailureAction::Pause;
    let leftover = if pause {
        Status::Paused
    } else {
        Status::Skipped
    };
    for position in 0..graph.len() {
        if !scheduler.states[position].status.is_final() {
            let message = if let Some(reason) = &stopped {
                format!("not run: {reason}")
            } else if run_timed_out {
                format!("not run: {}", run_timeout_message(plan))
            } else {
                "not run: the run stopped after a failure".to_owned()
            };
            scheduler.states[position].status = leftover;
            step.push(Transition::Unrun {
                node: position,
                status: leftover,
                message,
            });
        }
    }
    record(store, run, &graph, &mut step, events)?;
    let status = match (&stopped, failed, pause) {
        (Some(_), _, _) => RunStatus::Cancelled,
        (None, false, _) => RunStatus::Succeeded,
        (None, true, true) => RunStatus::Paused,
        (None, true, false) => RunStatus::Failed,
    };
    if pause {
        let failing: Vec<&str> = graph
            .names
            .iter()
            .zip(&scheduler.states)
            .filter(|(_, state)| matches!(state.status, Status::Failed | Status::TimedOut))
            .map(|(name, _)| *name)
            .collect();
        let reason = if failing.is_empty() {
            format!("run {run}: {}", run_timeout_message(plan))
        } else {
            format!("run {run}: node {} failed", failing.join(", "))
        };
        store.pause(&plan.workflow, &reason)?;
    }
    if options.record_end {
        store.finish_run(run, status.as_str(), stopped.as_deref())?;
    }
    Ok(Outcome {
        run,
        status,
        nodes: store.nodes(run)?,
        reason: stopped,
        abandoned,
    })
}

/// A node's output as JSON text, or why it is refused: larger than `limit` bytes.
fn encode_output(value: Value, limit: usize) -> Result<(Value, String), String> {
    let text = value.to_string();
    if text.len() > limit {
        return Err(output_too_large(text.len() as u64, limit));
    }
    Ok((value, text))
}

/// Why an output is refused.
fn output_too_large(size: u64, limit: usize) -> String {
    format!(
        "its output is {} of JSON, more than the {} a run keeps (--max-output); \
         write the data to a file or object store and return its path or key instead",
        bytes(size),
        bytes(limit as u64)
    )
}

/// A size as people read it: `47.7 MiB`, `64 MiB`, `512 KiB`, `900 B`.
fn bytes(size: u64) -> String {
    let units = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in units {
        if size >= unit {
            let value = size as f64 / unit as f64;
            return if size.is_multiple_of(unit) {
                format!("{} {name}", size / unit)
            } else {
                format!("{value:.1} {name}")
            };
        }
    }
    format!("{size} B")
}

/// What a node cut short by the run's deadline is told.
fn run_timeout_message(plan: &Plan) -> String {
    let seconds = plan.operations.timeout_secs.unwrap_or(0);
    format!(
        "the run timed out after {}",
        crate::text::duration(Duration::from_secs(seconds))
    )
}

/// One attempt on a worker thread, through `intercept` if there is one; a panic becomes that
/// attempt's failure.
fn attempt_job(
    node: &NodeSpec,
    number: u32,
    inputs: Vec<Value>,
    attempt: Attempt,
    intercept: Option<Arc<dyn Intercept>>,
    sender: mpsc::Sender<Finished>,
) -> Job {
    let call = node.call;
    let map = node.map;
    let name = node.name;
    Box::new(move || {
        // Given up on before it started: it never runs, and its worker goes on.
        if attempt.abandoned.is_requested() {
            return false;
        }
        let _current = CurrentAttempt::enter(attempt.abandoned.clone());
        let log = attempt.open_log(name, number, "on a thread of the runner");
        let _log = super::attempt_log::Current::enter(log.clone());
        let (result, took) = match intercept {
            None => (call_node(call, map, inputs), Duration::ZERO),
            Some(intercept) => {
                let call = AttemptCall {
                    node: name,
                    attempt: number,
                    map,
                    task: call,
                };
                match catch_unwind(AssertUnwindSafe(|| intercept.attempt(&call, inputs))) {
                    Ok(attempted) => (attempted.result, attempted.took),
                    Err(panic) => (Err(panic_message(&*panic).into()), Duration::ZERO),
                }
            }
        };
        let result = end_log(log.as_deref(), &attempt, result);
        let _ = sender.send(Finished {
            node: attempt.position,
            token: attempt.token,
            result,
            timed_out: false,
            took,
        });
        attempt.abandoned.is_requested()
    })
}

/// One attempt as `program exec-task`, waited for by a worker thread that kills it at its
/// deadline.
#[allow(clippy::too_many_arguments)]
fn process_job(
    program: &std::path::Path,
    workflow: &str,
    node: &NodeSpec,
    number: u32,
    inputs: Vec<Value>,
    attempt: Attempt,
    sender: mpsc::Sender<Finished>,
) -> Job {
    let program = program.to_owned();
    let workflow = workflow.to_owned();
    let name = node.name;
    let by_name: serde_json::Map<String, Value> = node
        .task
        .inputs
        .iter()
        .map(|input| input.name.to_owned())
        .zip(inputs)
        .collect();
    Box::new(move || {
        // Given up on before it started: it never runs, and its worker goes on.
        if attempt.abandoned.is_requested() {
            return false;
        }
        let log = attempt.open_log(name, number, "in a process of its own");
        let (result, timed_out) = match run_process(
            &program,
            &workflow,
            name,
            &Value::Object(by_name),
            &attempt,
            log.as_ref(),
        ) {
            Err(ProcessEnd::TimedOut(message)) => (Err(message.into()), true),
            Err(ProcessEnd::Failed(error)) => (Err(error), false),
            Ok(value) => (Ok(value), false),
        };
        let result = end_log(log.as_deref(), &attempt, result);
        let _ = sender.send(Finished {
            node: attempt.position,
            token: attempt.token,
            result,
            timed_out,
            took: Duration::ZERO,
        });
        attempt.abandoned.is_requested()
    })
}

/// How much of an attempt process's standard error is kept: its last 64 KiB.
const STDERR_TAIL: usize = 64 << 10;

/// Kills an attempt's process and everything in its process group.
pub(crate) fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(group) = i32::try_from(child.id())
        && group > 0
    {
        // SAFETY: `kill` has no memory effects; the group is the child's own (see
        // `prepare_child`).
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
    let _ = child.kill();
}

/// How an attempt's process failed.
enum ProcessEnd {
    TimedOut(String),
    Failed(AttemptError),
}

impl Attempt {
    /// Opens this attempt's log, if the run keeps logs, and says that it started and where.
    /// A log that cannot be created is reported once and the attempt runs without one.
    fn open_log(
        &self,
        node: &str,
        number: u32,
        place: &str,
    ) -> Option<Arc<super::attempt_log::AttemptLog>> {
        let log = self.open_log_inner(node, number, place)?;
        let _ = self.log.set(log.clone());
        Some(log)
    }

    fn open_log_inner(
        &self,
        node: &str,
        number: u32,
        place: &str,
    ) -> Option<Arc<super::attempt_log::AttemptLog>> {
        let Some((settings, run)) = self.logs.as_ref() else {
            let log = self.inherited_log.clone()?;
            log.line(
                "runner",
                &format!("attempt {number} of node `{node}` of a sub-workflow started"),
            );
            return Some(log);
        };
        match super::attempt_log::AttemptLog::create(settings, *run, node, number) {
            Ok(log) => {
                log.line(
                    "runner",
                    &format!("attempt {number} of node `{node}` started, {place}"),
                );
                Some(log)
            }
            Err(error) => {
                tracing::warn!(
                    "no log for attempt {number} of node `{node}`: cannot write in `{}`: {error}",
                    settings.dir.display()
                );
                None
            }
        }
    }
}

/// The longest failure message a run records (and its log, status and notices repeat).
const LONGEST_MESSAGE: usize = 16 << 10;

/// Masks the workflow's secrets in an attempt's failure message, which the run records and
/// notices repeat, cuts it to [`LONGEST_MESSAGE`], and ends the attempt's log with how it
/// ended; an attempt the engine gave up on says that it ended later and was not used.
fn end_log(
    log: Option<&super::attempt_log::AttemptLog>,
    attempt: &Attempt,
    result: Result<Value, AttemptError>,
) -> Result<Value, AttemptError> {
    let result = result.map_err(|mut error| {
        error.message = super::attempt_log::mask(&attempt.masks, &error.message);
        if error.message.len() > LONGEST_MESSAGE {
            let cut = super::attempt_log::floor_char_boundary(&error.message, LONGEST_MESSAGE);
            let more = error.message.len() - cut;
            error.message.truncate(cut);
            error.message.push_str(&format!("… ({more} more bytes)"));
        }
        error
    });
    let Some(log) = log else {
        return result;
    };
    let how = match &result {
        Ok(_) => "succeeded".to_owned(),
        Err(error) => {
            let kind = match error.kind {
                FailureKind::Retryable => "failed",
                FailureKind::Permanent => "failed permanently",
                FailureKind::BadInput => "failed on a bad input",
            };
            format!("{kind}: {}", error.message)
        }
    };
    match attempt.abandoned.requested() {
        Some(why) => log.line(
            "runner",
            &format!("it ended after the run gave up on it ({why}), and was not used: {how}"),
        ),
        None => log.line("runner", &how),
    }
    result
}

fn run_process(
    program: &std::path::Path,
    workflow: &str,
    name: &str,
    inputs: &Value,
    attempt: &Attempt,
    log: Option<&Arc<super::attempt_log::AttemptLog>>,
) -> Result<Value, ProcessEnd> {
    let directory = std::env::temp_dir().join(format!(
        "workflow-attempt-{}-{}",
        std::process::id(),
        attempt.token
    ));
    std::fs::create_dir_all(&directory).map_err(|error| {
        ProcessEnd::Failed(format!("cannot prepare the attempt: {error}").into())
    })?;
    let cleanup = |result: Result<Value, ProcessEnd>| {
        let _ = std::fs::remove_dir_all(&directory);
        result
    };
    let input_path = directory.join("inputs.json");
    let output_path = directory.join("output.json");
    if let Err(error) = std::fs::write(&input_path, inputs.to_string()) {
        return cleanup(Err(ProcessEnd::Failed(
            format!("cannot write the inputs: {error}").into(),
        )));
    }
    let mut command = std::process::Command::new(program);
    command
        .arg("exec-task")
        .arg(workflow)
        .arg(name)
        .arg("--inputs")
        .arg(&input_path)
        .arg("--output")
        .arg(&output_path)
        .stdin(std::process::Stdio::null())
        .stdout(if log.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stderr(std::process::Stdio::piped());
    if log.is_some() {
        // Its lines are marked with their source, for this runner to write to the log.
        command.env(super::attempt_log::TO_PARENT_VARIABLE, "1");
    }
    // The attempt holds the run's lock with it, has a process group of its own, and on Linux
    // dies with the thread that waits for it.
    super::lock::prepare_child(&mut command);
    let child = command.spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            return cleanup(Err(ProcessEnd::Failed(
                format!("cannot start `{}`: {error}", program.display()).into(),
            )));
        }
    };
    super::lock::register_child(child.id());
    let pid = child.id();
    let cleanup = |result: Result<Value, ProcessEnd>| {
        super::lock::unregister_child(pid);
        cleanup(result)
    };
    // Read standard error while the process runs, so a talkative task cannot fill the pipe
    // and block; only its end is kept, and every line goes to the attempt's log.
    let stdout_reader = match (child.stdout.take(), log) {
        (Some(pipe), Some(log)) => Some(log.capture("stdout", pipe)),
        _ => None,
    };
    let stderr_log = log.cloned();
    let stderr_reader = child.stderr.take().map(|pipe| {
        std::thread::spawn(move || match stderr_log {
            None => crate::command::read_tail(pipe, STDERR_TAIL),
            Some(log) => {
                let mut tail = crate::command::TailBuffer::new(STDERR_TAIL);
                let mut stream = log.stream("stderr");
                super::attempt_log::for_each_line(pipe, |line, complete| {
                    // A marked line (the process's task output) is one piece; others may
                    // come in parts, masked together.
                    if complete && line.first() == Some(&0x1e) {
                        log.line_from_process(&String::from_utf8_lossy(line));
                        return;
                    }
                    stream.piece(line, complete);
                    tail.push(line);
                    if complete {
                        tail.push(b"\n");
                    }
                });
                stream.finish();
                tail.finish()
            }
        })
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None)
                if attempt.cancel.load(Ordering::SeqCst)
                    || attempt
                        .deadline
                        .is_some_and(|deadline| Instant::now() >= deadline) =>
            {
                kill_group(&mut child);
                let _ = child.wait();
                return cleanup(Err(ProcessEnd::TimedOut(
                    "timed out; its process was killed".to_owned(),
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(error) => {
                return cleanup(Err(ProcessEnd::Failed(
                    format!("cannot wait for the attempt's process: {error}").into(),
                )));
            }
        }
    };
    let stderr = stderr_reader
        .and_then(|reader| reader.join().ok())
        .map(|tail| tail.text)
        .unwrap_or_default();
    if let Some(reader) = stdout_reader {
        let _ = reader.join();
    }
    if !status.success() {
        let reason = stderr
            .trim()
            .lines()
            .last()
            .unwrap_or("no message")
            .to_owned();
        let prefix = format!("node `{name}` of workflow `{workflow}` failed: ");
        // `exec-task` tells by its exit status whether trying again could help.
        return cleanup(Err(ProcessEnd::Failed(AttemptError {
            message: reason.strip_prefix(&prefix).unwrap_or(&reason).to_owned(),
            kind: FailureKind::from_exit_code(status.code()),
        })));
    }
    if let Ok(metadata) = std::fs::metadata(&output_path)
        && metadata.len() > attempt.max_output as u64
    {
        return cleanup(Err(ProcessEnd::Failed(
            output_too_large(metadata.len(), attempt.max_output).into(),
        )));
    }
    let result = std::fs::read_to_string(&output_path)
        .map_err(|error| format!("the attempt wrote no output: {error}"))
        .and_then(|text| {
            serde_json::from_str(&text)
                .map_err(|error| format!("the attempt's output is not JSON: {error}"))
        })
        .map_err(|message| ProcessEnd::Failed(message.into()));
    cleanup(result)
}

/// Runs a node's task on its inputs (JSON), once, or once per element of the mapped input on
/// threads, at most `max_parallel` at once. A panic is an error.
pub fn call_node(
    call: fn(Vec<Value>) -> Result<Value, crate::TaskError>,
    map: Option<crate::MapSpec>,
    inputs: Vec<Value>,
) -> Result<Value, AttemptError> {
    call_node_with(&call, map, inputs)
}

/// [`call_node`] with any function in place of the task's.
fn call_node_with(
    call: &(dyn Fn(Vec<Value>) -> Result<Value, crate::TaskError> + Sync),
    map: Option<crate::MapSpec>,
    inputs: Vec<Value>,
) -> Result<Value, AttemptError> {
    let Some(map) = map else {
        return call_contained(call, inputs);
    };
    let elements = match inputs.get(map.input) {
        Some(Value::Array(elements)) => elements.clone(),
        _ => {
            return Err(AttemptError {
                kind: FailureKind::BadInput,
                message: format!(
                    "input #{} should be a list to run once per element",
                    map.input + 1
                ),
            });
        }
    };
    let width = map
        .max_parallel
        .map_or(elements.len(), |limit| limit as usize)
        .max(1);
    let mut results = Vec::with_capacity(elements.len());
    let attempt = current_attempt();
    let log = super::attempt_log::current();
    for chunk in elements.chunks(width) {
        // Given up on: no more elements start.
        if let Some(reason) = attempt.as_ref().and_then(|stop| stop.requested()) {
            return Err(format!("{reason}; no more elements started").into());
        }
        let chunk_results: Vec<Result<Value, AttemptError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|element| {
                    let mut one = inputs.clone();
                    one[map.input] = element.clone();
                    let attempt = attempt.clone();
                    let log = log.clone();
                    scope.spawn(move || {
                        let _current = attempt.map(CurrentAttempt::enter);
                        let _log = super::attempt_log::Current::enter(log);
                        call_contained(call, one)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap_or_else(|_| Err("panicked".into())))
                .collect()
        });
        for result in chunk_results {
            results.push(result?);
        }
    }
    Ok(Value::Array(results))
}

fn call_contained(
    call: &(dyn Fn(Vec<Value>) -> Result<Value, crate::TaskError> + Sync),
    inputs: Vec<Value>,
) -> Result<Value, AttemptError> {
    match catch_unwind(AssertUnwindSafe(|| call(inputs))) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.into()),
        Err(panic) => Err(panic_message(&*panic).into()),
    }
}

/// How a caught panic is reported.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    format!("panicked: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job that says it started, waits for `release`, then says it ran.
    fn job(
        release: mpsc::Receiver<()>,
        ran: mpsc::Sender<String>,
        name: &'static str,
        abandoned: Arc<AtomicBool>,
    ) -> Job {
        Box::new(move || {
            if abandoned.load(Ordering::SeqCst) {
                return false;
            }
            let _ = ran.send(format!("{name} started"));
            let _ = release.recv();
            let _ = ran.send(format!("{name} ran"));
            abandoned.load(Ordering::SeqCst)
        })
    }

    fn next(done: &mpsc::Receiver<String>) -> String {
        done.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| "nothing within 10 s".to_owned())
    }

    // An attempt's stop is requested with its run's: what the attempt runs (a sub-workflow,
    // a fan-out, a command) sees a signal to the run at once, not when the engine next looks.
    #[test]
    fn a_stop_within_another_is_requested_with_it() {
        let run = Arc::new(Stop::default());
        let attempt = Stop::within(Some(run.clone()));
        assert!(!attempt.is_requested());
        run.request("stopped by SIGTERM");
        assert!(attempt.is_requested());
        assert_eq!(attempt.requested().as_deref(), Some("stopped by SIGTERM"));
        let own = Stop::within(Some(Arc::new(Stop::default())));
        own.request("timed out after 1s");
        assert_eq!(own.requested().as_deref(), Some("timed out after 1s"));
    }

    // A worker held by an abandoned attempt is replaced: with one worker and two hung
    // attempts given up on in turn, a third still runs at once; the replaced workers retire
    // when their attempts return, and a job given up on before it started never runs.
    #[test]
    fn hung_attempts_never_starve_the_workers() {
        let mut workers = Workers::new(1);
        let (ran, done) = mpsc::channel();
        let mut releases = Vec::new();
        for name in ["hung 1", "hung 2"] {
            let (release, wait) = mpsc::channel();
            let flag = Arc::new(AtomicBool::new(false));
            workers.submit(job(wait, ran.clone(), name, flag.clone()));
            assert_eq!(next(&done), format!("{name} started"));
            // Given up on while it runs, as the engine does at a timeout.
            flag.store(true, Ordering::SeqCst);
            workers.replace();
            releases.push(release);
        }
        let (release, wait) = mpsc::channel();
        let fresh = || Arc::new(AtomicBool::new(false));
        workers.submit(job(wait, ran.clone(), "third", fresh()));
        assert_eq!(next(&done), "third started");
        release.send(()).unwrap();
        assert_eq!(next(&done), "third ran");

        // Given up on while still queued: never runs.
        let (_never, wait) = mpsc::channel();
        workers.submit(job(
            wait,
            ran.clone(),
            "stale",
            Arc::new(AtomicBool::new(true)),
        ));
        let (release, wait) = mpsc::channel();
        workers.submit(job(wait, ran.clone(), "fourth", fresh()));
        assert_eq!(next(&done), "fourth started");
        release.send(()).unwrap();
        assert_eq!(next(&done), "fourth ran");

        // The hung ones return, late; their workers retire, and the run's worker goes on.
        for release in releases {
            release.send(()).unwrap();
        }
        let mut late = vec![next(&done), next(&done)];
        late.sort_unstable();
        assert_eq!(late, ["hung 1 ran", "hung 2 ran"]);
        let (release, wait) = mpsc::channel();
        workers.submit(job(wait, ran, "fifth", fresh()));
        assert_eq!(next(&done), "fifth started");
        release.send(()).unwrap();
        assert_eq!(next(&done), "fifth ran");
        assert!(done.try_recv().is_err(), "the stale job never ran");
    }
}
