//! Executes a plan on this machine: nodes run on threads as their dependencies allow, bounded
//! by a parallelism and by pool slots; failed attempts are retried with the node's delay and
//! backoff; an attempt that overruns its timeout is abandoned and marked timed out; a panic
//! fails only its attempt. Every transition is written to the [`Store`] as it happens, so a
//! run killed at any point resumes without redoing the nodes that succeeded.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::store::{NodeRecord, Status, Store, StoreError};
use crate::operations::FailureAction;
use crate::plan::Plan;
use crate::workflow_model::{NodeSpec, Source, WorkflowSpec};

/// How a run is executed.
#[derive(Debug, Clone)]
pub struct Options {
    /// How many nodes run at once.
    pub parallelism: usize,
    /// Where each attempt runs.
    pub isolation: Isolation,
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
}

impl RunStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Paused => "paused",
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
    /// Every node's final state.
    pub nodes: Vec<NodeRecord>,
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

struct NodeState {
    status: Status,
    attempts: u32,
    /// The running attempt's token and deadline.
    running: Option<(u64, Option<Instant>)>,
}

#[derive(Clone, Copy)]
struct Attempt {
    position: usize,
    token: u64,
    deadline: Option<Instant>,
}

struct Finished {
    node: usize,
    token: u64,
    result: Result<Value, String>,
    /// The attempt's process was killed at its deadline.
    timed_out: bool,
}

/// The scheduling state of a run. Nodes are indices in plan order; every queue is kept so
/// that each event touches only the nodes it concerns, which keeps a run of thousands of
/// nodes linear in its nodes and edges.
struct Scheduler<'a> {
    names: Vec<&'a str>,
    states: Vec<NodeState>,
    downstream: Vec<Vec<usize>>,
    upstream: Vec<Vec<usize>>,
    /// Upstream nodes not final yet.
    waiting_on: Vec<usize>,
    /// Nodes whose upstream nodes are all final, to be made ready or skipped.
    to_decide: std::collections::VecDeque<usize>,
    /// Nodes that may start now, in plan order.
    ready: std::collections::BTreeSet<usize>,
    /// Nodes waiting for a retry's delay.
    delayed: std::collections::BTreeSet<(Instant, usize)>,
}

impl Scheduler<'_> {
    /// Records that `node` will not change any more, and lets the nodes waiting on it be
    /// decided once nothing else holds them.
    fn finalize(&mut self, node: usize, status: Status) {
        self.states[node].status = status;
        for index in 0..self.downstream[node].len() {
            let next = self.downstream[node][index];
            self.waiting_on[next] -= 1;
            if self.waiting_on[next] == 0 && self.states[next].status == Status::Scheduled {
                self.to_decide.push_back(next);
            }
        }
    }
}

/// Runs `plan` (made from `spec`) to completion and records it in `store`; with `resume`,
/// continues that run, keeping the outputs of the nodes that had succeeded.
pub fn execute(
    spec: &WorkflowSpec,
    plan: &Plan,
    store: &mut Store,
    resume: Option<i64>,
    options: &Options,
    events: &mut dyn FnMut(Event),
) -> Result<Outcome, RunError> {
    let names: Vec<&str> = plan.nodes.iter().map(|node| node.id.as_str()).collect();
    let index: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(position, name)| (*name, position))
        .collect();
    let spec_nodes: Vec<Option<&NodeSpec>> = names.iter().map(|name| spec.node(name)).collect();
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
    let mut scheduler = Scheduler {
        names: names.clone(),
        states: names
            .iter()
            .map(|_| NodeState {
                status: Status::Scheduled,
                attempts: 0,
                running: None,
            })
            .collect(),
        waiting_on: upstream.iter().map(Vec::len).collect(),
        downstream,
        upstream,
        to_decide: std::collections::VecDeque::new(),
        ready: std::collections::BTreeSet::new(),
        delayed: std::collections::BTreeSet::new(),
    };
    let mut outputs: BTreeMap<String, Value> = BTreeMap::new();
    let run = match resume {
        None => store.start_run(&plan.workflow, &plan.to_json(), &names)?,
        Some(run) => {
            let record = store.run(run)?;
            if record.workflow != plan.workflow {
                return Err(RunError::CannotResume(format!(
                    "run {run} is a run of workflow `{}`, not `{}`",
                    record.workflow, plan.workflow
                )));
            }
            if record.status == "succeeded" {
                return Err(RunError::CannotResume(format!(
                    "run {run} already succeeded; there is nothing to resume"
                )));
            }
            store.claim_run(run)?;
            for node in store.nodes(run)? {
                let Some(&position) = index.get(node.node.as_str()) else {
                    continue;
                };
                scheduler.states[position].attempts = node.attempts;
                match (node.status, node.output) {
                    (Status::Succeeded, Some(output)) => {
                        outputs.insert(node.node.clone(), output);
                        scheduler.finalize(position, Status::Succeeded);
                    }
                    _ => store.set_node(run, &node.node, Status::Scheduled, None, None)?,
                }
            }
            run
        }
    };
    for (position, waiting) in scheduler.waiting_on.iter().enumerate() {
        if *waiting == 0
            && scheduler.states[position].status == Status::Scheduled
            && !scheduler.to_decide.contains(&position)
        {
            scheduler.to_decide.push_back(position);
        }
    }

    let params: BTreeMap<&str, &Value> = plan
        .params
        .iter()
        .map(|param| (param.name.as_str(), &param.value))
        .collect();
    let pool_slots: BTreeMap<&str, u32> = plan
        .operations
        .pools
        .iter()
        .map(|pool| (pool.name.as_str(), pool.slots))
        .collect();
    let mut pool_use: BTreeMap<String, u32> = BTreeMap::new();
    let mut decisions: BTreeMap<usize, Option<usize>> = BTreeMap::new();
    let (sender, receiver) = mpsc::channel::<Finished>();
    let mut next_token = 0u64;
    // The nodes with an attempt in flight.
    let mut in_flight: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
    let mut stopping = false;
    let parallelism = options.parallelism.max(1);

    // Each step's transitions are committed together, and always before the engine waits, so
    // what a killed run had recorded is exactly what had happened.
    loop {
        store.begin()?;
        // Decide the nodes whose upstream nodes are all final: ready, or skipped.
        while let Some(position) = scheduler.to_decide.pop_front() {
            if stopping {
                break;
            }
            let name = scheduler.names[position];
            let skip = match spec_nodes[position] {
                None => Some(format!("node `{name}` is not in this binary's workflow")),
                Some(node) => {
                    let failed = scheduler.upstream[position].iter().find(|dep| {
                        matches!(
                            scheduler.states[**dep].status,
                            Status::Failed | Status::TimedOut
                        )
                    });
                    match failed {
                        Some(dep) => {
                            Some(format!("upstream node `{}` failed", scheduler.names[*dep]))
                        }
                        None => why_skip(spec, node, &outputs, &params, &mut decisions),
                    }
                }
            };
            match skip {
                Some(message) => {
                    store.set_node(run, name, Status::Skipped, None, Some(&message))?;
                    events(Event::Finished {
                        node: name.to_owned(),
                        status: Status::Skipped,
                        message: Some(message),
                    });
                    scheduler.finalize(position, Status::Skipped);
                }
                None => {
                    scheduler.states[position].status = Status::Ready;
                    store.set_node(run, name, Status::Ready, None, None)?;
                    scheduler.ready.insert(position);
                }
            }
        }

        // Retries whose delay has passed may start again.
        let now = Instant::now();
        while let Some(&(due, position)) = scheduler.delayed.first() {
            if due > now {
                break;
            }
            scheduler.delayed.pop_first();
            scheduler.ready.insert(position);
        }

        // Start ready nodes while there are threads and pool slots for them.
        let mut started = Vec::new();
        if !stopping {
            for &position in &scheduler.ready {
                if in_flight.len() + started.len() >= parallelism {
                    break;
                }
                let plan_node = &plan.nodes[position];
                if let Some(pool) = &plan_node.policy.pool {
                    let slots = pool_slots.get(pool.as_str()).copied().unwrap_or(u32::MAX);
                    let used = pool_use.entry(pool.clone()).or_default();
                    if *used >= slots {
                        continue;
                    }
                    *used += 1;
                }
                started.push(position);
            }
        }
        for position in started {
            scheduler.ready.remove(&position);
            let name = scheduler.names[position];
            let Some(node) = spec_nodes[position] else {
                continue;
            };
            let Some(inputs) = node
                .inputs
                .iter()
                .map(|source| input_value(spec, source, &outputs, &params))
                .collect::<Option<Vec<Value>>>()
            else {
                let message = "an input has no value".to_owned();
                store.set_node(run, name, Status::Skipped, None, Some(&message))?;
                scheduler.finalize(position, Status::Skipped);
                continue;
            };
            next_token += 1;
            let state = &mut scheduler.states[position];
            state.attempts += 1;
            state.status = Status::Running;
            let deadline = plan.nodes[position]
                .policy
                .timeout_secs
                .map(|seconds| Instant::now() + Duration::from_secs(seconds));
            // A process is killed by the thread that waits for it, which then reports the
            // timeout; the engine's own check is a backstop, a little later.
            let backstop = match options.isolation {
                Isolation::Thread => deadline,
                Isolation::Process(_) => deadline.map(|deadline| deadline + Duration::from_secs(5)),
            };
            state.running = Some((next_token, backstop));
            store.start_attempt(run, name, state.attempts)?;
            events(Event::Started {
                node: name.to_owned(),
                attempt: state.attempts,
            });
            let attempt = Attempt {
                position,
                token: next_token,
                deadline,
            };
            match &options.isolation {
                Isolation::Thread => spawn_attempt(node, inputs, attempt, sender.clone()),
                Isolation::Process(program) => spawn_process(
                    program,
                    &plan.workflow,
                    name,
                    node,
                    inputs,
                    attempt,
                    sender.clone(),
                ),
            }
            in_flight.insert(position);
        }

        store.commit()?;
        if in_flight.is_empty() {
            // Nothing runs and nothing could start: wait for a retry, or the run is over.
            match scheduler.delayed.first() {
                Some(&(due, _)) if !stopping => {
                    std::thread::sleep(due.saturating_duration_since(Instant::now()))
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
                .and_then(|(_, deadline)| deadline)
        });
        let wake = deadlines
            .chain(scheduler.delayed.first().map(|(due, _)| *due))
            .min();
        let message = match wake {
            Some(until) => receiver
                .recv_timeout(until.saturating_duration_since(Instant::now()))
                .ok(),
            None => receiver.recv().ok(),
        };
        store.begin()?;
        let mut ended: Vec<(usize, Result<Value, String>, Status)> = Vec::new();
        if let Some(done) = message
            && scheduler.states[done.node]
                .running
                .is_some_and(|(token, _)| token == done.token)
        {
            let status = match (&done.result, done.timed_out) {
                (Ok(_), _) => Status::Succeeded,
                (Err(_), true) => Status::TimedOut,
                (Err(_), false) => Status::Failed,
            };
            ended.push((done.node, done.result, status));
        }
        let now = Instant::now();
        for &position in &in_flight {
            if let Some((_, Some(deadline))) = scheduler.states[position].running
                && deadline <= now
                && !ended.iter().any(|(done, _, _)| *done == position)
            {
                let seconds = plan.nodes[position].policy.timeout_secs.unwrap_or(0);
                ended.push((
                    position,
                    Err(format!(
                        "timed out after {}",
                        crate::text::duration(Duration::from_secs(seconds))
                    )),
                    Status::TimedOut,
                ));
            }
        }
        for (position, result, status) in ended {
            in_flight.remove(&position);
            let plan_node = &plan.nodes[position];
            let name = scheduler.names[position];
            if let Some(pool) = &plan_node.policy.pool
                && let Some(used) = pool_use.get_mut(pool)
            {
                *used = used.saturating_sub(1);
            }
            scheduler.states[position].running = None;
            let attempt = scheduler.states[position].attempts;
            match result {
                Ok(output) => {
                    store.end_attempt(run, name, attempt, Status::Succeeded, None)?;
                    store.set_node(run, name, Status::Succeeded, Some(&output), None)?;
                    outputs.insert(name.to_owned(), output);
                    events(Event::Finished {
                        node: name.to_owned(),
                        status: Status::Succeeded,
                        message: None,
                    });
                    scheduler.finalize(position, Status::Succeeded);
                }
                Err(message) => {
                    store.end_attempt(run, name, attempt, status, Some(&message))?;
                    match plan_node.policy.delay_before_retry(attempt) {
                        Some(delay) if !stopping => {
                            scheduler.states[position].status = Status::Ready;
                            store.set_node(run, name, Status::Ready, None, Some(&message))?;
                            scheduler
                                .delayed
                                .insert((Instant::now() + Duration::from_secs(delay), position));
                        }
                        _ => {
                            let message = format!("attempt {attempt}: {message}");
                            store.set_node(run, name, status, None, Some(&message))?;
                            events(Event::Finished {
                                node: name.to_owned(),
                                status,
                                message: Some(message),
                            });
                            scheduler.finalize(position, status);
                            if plan.operations.on_failure != FailureAction::Continue {
                                stopping = true;
                            }
                        }
                    }
                }
            }
        }
        store.commit()?;
        if stopping && in_flight.is_empty() {
            break;
        }
    }

    // What never ran: skipped after a stop, or paused with the workflow.
    let failed = scheduler
        .states
        .iter()
        .any(|state| matches!(state.status, Status::Failed | Status::TimedOut));
    let pause = failed && plan.operations.on_failure == FailureAction::Pause;
    let leftover = if pause {
        Status::Paused
    } else {
        Status::Skipped
    };
    for (position, name) in names.iter().enumerate() {
        if !scheduler.states[position].status.is_final() {
            let message = "not run: the run stopped after a failure".to_owned();
            scheduler.states[position].status = leftover;
            store.set_node(run, name, leftover, None, Some(&message))?;
            events(Event::Finished {
                node: (*name).to_owned(),
                status: leftover,
                message: Some(message),
            });
        }
    }
    let status = match (failed, pause) {
        (false, _) => RunStatus::Succeeded,
        (true, true) => RunStatus::Paused,
        (true, false) => RunStatus::Failed,
    };
    if pause {
        let failing: Vec<&str> = names
            .iter()
            .zip(&scheduler.states)
            .filter(|(_, state)| matches!(state.status, Status::Failed | Status::TimedOut))
            .map(|(name, _)| *name)
            .collect();
        store.pause(
            &plan.workflow,
            &format!("run {run}: node {} failed", failing.join(", ")),
        )?;
    }
    store.finish_run(run, status.as_str())?;
    Ok(Outcome {
        run,
        status,
        nodes: store.nodes(run)?,
    })
}

/// Why a node whose upstream nodes are final must not run: its branch arm was not taken, or
/// a value it needs was not produced.
fn why_skip(
    spec: &WorkflowSpec,
    node: &NodeSpec,
    outputs: &BTreeMap<String, Value>,
    params: &BTreeMap<&str, &Value>,
    decisions: &mut BTreeMap<usize, Option<usize>>,
) -> Option<String> {
    if let Some(condition) = node.condition {
        let branch = spec.branches.get(condition.branch)?;
        let decision = match decisions.get(&condition.branch) {
            Some(decision) => *decision,
            None => {
                let value = input_value(spec, &branch.on, outputs, params)?;
                let decision = match (branch.select)(&value) {
                    Ok(decision) => decision,
                    Err(error) => return Some(format!("cannot decide the branch: {error}")),
                };
                decisions.insert(condition.branch, decision);
                decision
            }
        };
        if decision != Some(condition.arm) {
            let arm = branch.arms.get(condition.arm).map_or("?", |arm| arm.label);
            return Some(format!("its branch took another arm than `{arm}`"));
        }
    }
    for source in &node.inputs {
        if input_value(spec, source, outputs, params).is_none()
            && let Source::Node(name) = source
        {
            return Some(format!("it needs `{name}`, which did not run"));
        }
    }
    None
}

/// The value a source has now, if it has one.
fn input_value(
    spec: &WorkflowSpec,
    source: &Source,
    outputs: &BTreeMap<String, Value>,
    params: &BTreeMap<&str, &Value>,
) -> Option<Value> {
    match source {
        Source::Param(name) => params.get(name).map(|value| (*value).clone()),
        Source::Value(value) => Some(value.clone()),
        Source::Secret(name) => spec
            .secrets
            .iter()
            .find(|secret| secret.name == *name)
            .and_then(|secret| serde_json::to_value(secret).ok()),
        Source::Node(name) => spec
            .producers(name)
            .into_iter()
            .find_map(|producer| outputs.get(producer).cloned()),
    }
}

/// Runs one attempt on its own thread; a panic becomes that attempt's failure.
fn spawn_attempt(
    node: &NodeSpec,
    inputs: Vec<Value>,
    attempt: Attempt,
    sender: mpsc::Sender<Finished>,
) {
    let call = node.call;
    let map = node.map;
    std::thread::spawn(move || {
        let result = call_node(call, map, inputs);
        let _ = sender.send(Finished {
            node: attempt.position,
            token: attempt.token,
            result,
            timed_out: false,
        });
    });
}

/// Runs one attempt as `program exec-task`, from a thread that waits for it and kills it at
/// its deadline.
fn spawn_process(
    program: &std::path::Path,
    workflow: &str,
    name: &str,
    node: &NodeSpec,
    inputs: Vec<Value>,
    attempt: Attempt,
    sender: mpsc::Sender<Finished>,
) {
    let program = program.to_owned();
    let workflow = workflow.to_owned();
    let name = name.to_owned();
    let by_name: serde_json::Map<String, Value> = node
        .task
        .inputs
        .iter()
        .map(|input| input.name.to_owned())
        .zip(inputs)
        .collect();
    std::thread::spawn(move || {
        let (result, timed_out) =
            match run_process(&program, &workflow, &name, &Value::Object(by_name), attempt) {
                Err(ProcessEnd::TimedOut(message)) => (Err(message), true),
                Err(ProcessEnd::Failed(message)) => (Err(message), false),
                Ok(value) => (Ok(value), false),
            };
        let _ = sender.send(Finished {
            node: attempt.position,
            token: attempt.token,
            result,
            timed_out,
        });
    });
}

/// How an attempt's process failed.
enum ProcessEnd {
    TimedOut(String),
    Failed(String),
}

fn run_process(
    program: &std::path::Path,
    workflow: &str,
    name: &str,
    inputs: &Value,
    attempt: Attempt,
) -> Result<Value, ProcessEnd> {
    let directory = std::env::temp_dir().join(format!(
        "workflow-attempt-{}-{}",
        std::process::id(),
        attempt.token
    ));
    std::fs::create_dir_all(&directory)
        .map_err(|error| ProcessEnd::Failed(format!("cannot prepare the attempt: {error}")))?;
    let cleanup = |result: Result<Value, ProcessEnd>| {
        let _ = std::fs::remove_dir_all(&directory);
        result
    };
    let input_path = directory.join("inputs.json");
    let output_path = directory.join("output.json");
    if let Err(error) = std::fs::write(&input_path, inputs.to_string()) {
        return cleanup(Err(ProcessEnd::Failed(format!(
            "cannot write the inputs: {error}"
        ))));
    }
    let child = std::process::Command::new(program)
        .arg("exec-task")
        .arg(workflow)
        .arg(name)
        .arg("--inputs")
        .arg(&input_path)
        .arg("--output")
        .arg(&output_path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            return cleanup(Err(ProcessEnd::Failed(format!(
                "cannot start `{}`: {error}",
                program.display()
            ))));
        }
    };
    // Read standard error while the process runs, so a talkative task cannot fill the pipe
    // and block.
    let stderr_reader = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
            text
        })
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None)
                if attempt
                    .deadline
                    .is_some_and(|deadline| Instant::now() >= deadline) =>
            {
                let _ = child.kill();
                let _ = child.wait();
                return cleanup(Err(ProcessEnd::TimedOut(
                    "timed out; its process was killed".to_owned(),
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(error) => {
                return cleanup(Err(ProcessEnd::Failed(format!(
                    "cannot wait for the attempt's process: {error}"
                ))));
            }
        }
    };
    let stderr = stderr_reader
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default();
    if !status.success() {
        let reason = stderr
            .trim()
            .lines()
            .last()
            .unwrap_or("no message")
            .to_owned();
        let prefix = format!("node `{name}` of workflow `{workflow}` failed: ");
        return cleanup(Err(ProcessEnd::Failed(
            reason.strip_prefix(&prefix).unwrap_or(&reason).to_owned(),
        )));
    }
    let result = std::fs::read_to_string(&output_path)
        .map_err(|error| format!("the attempt wrote no output: {error}"))
        .and_then(|text| {
            serde_json::from_str(&text)
                .map_err(|error| format!("the attempt's output is not JSON: {error}"))
        })
        .map_err(ProcessEnd::Failed);
    cleanup(result)
}

/// Runs a node's task on its inputs (JSON), once, or once per element of the mapped input on
/// threads, at most `max_parallel` at once. A panic is an error.
pub fn call_node(
    call: fn(Vec<Value>) -> Result<Value, crate::TaskError>,
    map: Option<crate::MapSpec>,
    inputs: Vec<Value>,
) -> Result<Value, String> {
    let Some(map) = map else {
        return call_contained(call, inputs);
    };
    let elements = match inputs.get(map.input) {
        Some(Value::Array(elements)) => elements.clone(),
        _ => {
            return Err(format!(
                "input #{} should be a list to run once per element",
                map.input + 1
            ));
        }
    };
    let width = map
        .max_parallel
        .map_or(elements.len(), |limit| limit as usize)
        .max(1);
    let mut results = Vec::with_capacity(elements.len());
    for chunk in elements.chunks(width) {
        let chunk_results: Vec<Result<Value, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|element| {
                    let mut one = inputs.clone();
                    one[map.input] = element.clone();
                    scope.spawn(move || call_contained(call, one))
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap_or_else(|_| Err("panicked".to_owned())))
                .collect()
        });
        for result in chunk_results {
            results.push(result?);
        }
    }
    Ok(Value::Array(results))
}

fn call_contained(
    call: fn(Vec<Value>) -> Result<Value, crate::TaskError>,
    inputs: Vec<Value>,
) -> Result<Value, String> {
    match catch_unwind(AssertUnwindSafe(|| call(inputs))) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.to_string()),
        Err(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            Err(format!("panicked: {text}"))
        }
    }
}
