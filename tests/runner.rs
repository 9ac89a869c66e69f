//! The local runner, in process: parallelism, retries, timeouts, contained panics, branches,
//! fan-out, failure policies, and resuming a failed run without redoing what succeeded.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use workflow_core::plan::Plan;
use workflow_core::prelude::*;
use workflow_core::runner::engine::{self, Event, Options, RunStatus};
use workflow_core::runner::lifecycle::{Delivery, Lifecycle};
use workflow_core::runner::store::{Status, Store};

/// A store in a directory of the test's own, both removed when dropped.
fn store(name: &str) -> workflow_tests::ScratchStore {
    workflow_tests::ScratchStore::new(&format!("workflow-runner-{name}"))
}

fn run(
    spec: &workflow_core::WorkflowSpec,
    params: &[(&str, &str)],
    store: &mut Store,
    resume: Option<i64>,
    parallelism: usize,
) -> (engine::Outcome, Vec<Event>) {
    let given: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    let mut events = Vec::new();
    let finished = with_lifecycle(spec, store, parallelism, |lifecycle| match resume {
        Some(run) => lifecycle.run_resume(run, &mut |event| events.push(event)),
        None => {
            let plan = Plan::build(spec, &given, &Default::default()).unwrap();
            lifecycle.run_new(plan, None, &mut |event| events.push(event))
        }
    })
    .unwrap();
    // Outputs are read apart from the run's record, as `status` never loads them.
    let mut outcome = finished.outcome;
    let outputs = store.outputs(outcome.run).unwrap();
    for node in &mut outcome.nodes {
        node.output = outputs
            .iter()
            .find(|(name, _)| *name == node.node)
            .map(|(_, value)| value.clone());
    }
    (outcome, events)
}

/// Runs `act` on the shipped lifecycle over `store` (notices recorded, not sent).
fn with_lifecycle<T>(
    spec: &workflow_core::WorkflowSpec,
    store: &mut Store,
    parallelism: usize,
    act: impl FnOnce(&mut Lifecycle<'_>) -> T,
) -> T {
    let owned = std::mem::replace(
        store,
        Store::open(std::path::Path::new(":memory:")).unwrap(),
    );
    let mut lifecycle = Lifecycle::new(spec, owned);
    lifecycle.delivery = Delivery::Record;
    lifecycle.options = Options {
        parallelism,
        ..Options::default()
    };
    let result = act(&mut lifecycle);
    *store = lifecycle.store;
    result
}

fn status_of(outcome: &engine::Outcome, node: &str) -> (Status, u32, Option<String>) {
    let record = outcome
        .nodes
        .iter()
        .find(|record| record.node == node)
        .unwrap_or_else(|| panic!("no node {node}"));
    (record.status, record.attempts, record.message.clone())
}

// Parallelism: two independent nodes overlap when two may run at once.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static MOST: AtomicUsize = AtomicUsize::new(0);

#[task]
fn busy(label: String) -> String {
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    MOST.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(300));
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    label
}

workflow! {
    /// Two independent nodes.
    pair() {
        left = busy("left");
        right = busy("right");
    }
}

#[test]
fn independent_nodes_run_in_parallel_up_to_the_bound() {
    let mut state = store("parallel");
    MOST.store(0, Ordering::SeqCst);
    let (outcome, _) = run(&pair::spec(), &[], &mut state, None, 2);
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert_eq!(
        MOST.load(Ordering::SeqCst),
        2,
        "both nodes were running at once"
    );
    MOST.store(0, Ordering::SeqCst);
    let (outcome, _) = run(&pair::spec(), &[], &mut state, None, 1);
    assert_eq!(outcome.status, RunStatus::Succeeded);
    assert_eq!(
        MOST.load(Ordering::SeqCst),
        1,
        "one at a time with --parallelism 1"
    );
}

// Retries, panics and timeouts, with the run going on past failures.
static FLAKY_CALLS: AtomicUsize = AtomicUsize::new(0);

#[task(retries = 2)]
fn flaky() -> Result<u32, TaskError> {
    match FLAKY_CALLS.fetch_add(1, Ordering::SeqCst) {
        0 | 1 => Err(TaskError::new("connection reset")),
        _ => Ok(7),
    }
}

#[task]
fn explode(value: u32) -> u32 {
    if value > 0 {
        panic!("boom at {value}");
    }
    value
}

#[task(timeout = "1s")]
fn stuck() -> u32 {
    std::thread::sleep(std::time::Duration::from_secs(30));
    0
}

#[task]
fn after_all(value: u32) -> u32 {
    value + 1
}

workflow! {
    /// Failures of every kind, with independent work going on.
    #[on_failure(continue)]
    troubled() {
        steady = flaky();
        blown = explode(steady);
        hung = stuck();
        downstream = after_all(blown);
        fine = after_all(steady);
    }
}

#[test]
fn retries_panics_and_timeouts_fail_only_their_node() {
    let mut state = store("troubled");
    let (outcome, events) = run(&troubled::spec(), &[], &mut state, None, 4);
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(status_of(&outcome, "steady"), (Status::Succeeded, 3, None));
    let (status, attempts, message) = status_of(&outcome, "blown");
    assert_eq!((status, attempts), (Status::Failed, 1));
    assert_eq!(message.as_deref(), Some("attempt 1: panicked: boom at 7"));
    let (status, _, message) = status_of(&outcome, "hung");
    assert_eq!(status, Status::TimedOut);
    assert_eq!(message.as_deref(), Some("attempt 1: timed out after 1s"));
    assert_eq!(status_of(&outcome, "downstream").0, Status::Skipped);
    assert_eq!(status_of(&outcome, "fine").0, Status::Succeeded);
    assert!(events.contains(&Event::Started {
        node: "steady".into(),
        attempt: 3
    }));
}

workflow! {
    /// Three attempts that hang past their timeout, then a chain, with one worker.
    #[on_failure(continue)]
    starving() {
        first = stuck();
        second = stuck();
        third = stuck();
        a = after_all(1);
        b = after_all(a);
        c = after_all(b);
    }
}

// Hung attempts on threads never starve the run: with parallelism 1, each of three attempts
// that hang for 30 s times out after 1 s, its worker is replaced, and the chain after them
// runs at once. (Each hung thread is abandoned; the run does not wait for it.)
#[test]
fn hung_attempts_do_not_starve_a_run_of_one_worker() {
    let mut state = store("starving");
    let started = std::time::Instant::now();
    let (outcome, _) = run(&starving::spec(), &[], &mut state, None, 1);
    let took = started.elapsed();
    assert_eq!(outcome.status, RunStatus::Failed);
    for hung in ["first", "second", "third"] {
        assert_eq!(status_of(&outcome, hung).0, Status::TimedOut, "{hung}");
    }
    for step in ["a", "b", "c"] {
        assert_eq!(status_of(&outcome, step).0, Status::Succeeded, "{step}");
    }
    assert_eq!(outcome.abandoned, 3);
    assert!(
        took < std::time::Duration::from_secs(15),
        "three timeouts of 1 s and a chain took {took:?}"
    );
}

// Failure policies: stop and pause.
#[task]
fn fail_now() -> Result<u32, TaskError> {
    Err(TaskError::new("disk full"))
}

#[task]
fn slow_ok() -> u32 {
    std::thread::sleep(std::time::Duration::from_millis(200));
    1
}

workflow! {
    /// Pauses itself on failure.
    #[on_failure(pause, notify = "etl-admin@example.com")]
    pausing() {
        broken = fail_now();
        other = slow_ok();
        later = after_all(other).after(broken);
    }
}

#[test]
fn pause_policy_pauses_the_workflow() {
    let mut state = store("pausing");
    let (outcome, _) = run(&pausing::spec(), &[], &mut state, None, 1);
    assert_eq!(outcome.status, RunStatus::Paused);
    assert_eq!(status_of(&outcome, "broken").0, Status::Failed);
    assert_eq!(status_of(&outcome, "later").0, Status::Paused);
    assert_eq!(
        state.paused("pausing").unwrap().as_deref(),
        Some(&*format!("run {}: node broken failed", outcome.run))
    );
}

// Branches and fan-out in the runner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Size {
    Small,
    Large,
}

#[task]
fn measure(items: Vec<u32>) -> Size {
    if items.len() > 2 {
        Size::Large
    } else {
        Size::Small
    }
}

#[task]
fn square(item: u32) -> u32 {
    item * item
}

#[task]
fn sum(items: Vec<u32>) -> u32 {
    items.iter().sum()
}

workflow! {
    /// Squares each item, then sums big batches only.
    shaped(items: Vec<u32>) {
        squares = square(each(items)).max_parallel(2);
        size = measure(items);
        match size {
            Size::Large => { total = sum(squares); }
            Size::Small => { total = sum(items); }
        }
        reported = after_all(total);
    }
}

#[test]
fn branches_and_fan_out_run_as_planned() {
    let mut state = store("shaped");
    let (outcome, _) = run(&shaped::spec(), &[("items", "1,2,3")], &mut state, None, 4);
    assert_eq!(outcome.status, RunStatus::Succeeded);
    let output = |node: &str| {
        outcome
            .nodes
            .iter()
            .find(|record| record.node == node)
            .unwrap()
            .output
            .clone()
    };
    assert_eq!(output("squares"), Some(serde_json::json!([1, 4, 9])));
    assert_eq!(output("total.Large"), Some(serde_json::json!(14)));
    assert_eq!(status_of(&outcome, "total.Small").0, Status::Skipped);
    assert_eq!(output("reported"), Some(serde_json::json!(15)));
}

// Resume: a failed run continues without redoing what succeeded.
static EXTRACTS: AtomicUsize = AtomicUsize::new(0);
static LOAD_WORKS: AtomicBool = AtomicBool::new(false);

#[task]
fn extract_once() -> Vec<u32> {
    EXTRACTS.fetch_add(1, Ordering::SeqCst);
    vec![1, 2]
}

#[task]
fn load_when_fixed(rows: Vec<u32>) -> Result<usize, TaskError> {
    if LOAD_WORKS.load(Ordering::SeqCst) {
        Ok(rows.len())
    } else {
        Err(TaskError::new("warehouse unreachable"))
    }
}

workflow! {
    /// Extract, then load.
    resumable() {
        rows = extract_once();
        loaded = load_when_fixed(rows);
    }
}

#[test]
fn resume_keeps_what_succeeded() {
    let mut state = store("resumable");
    let (first, _) = run(&resumable::spec(), &[], &mut state, None, 2);
    assert_eq!(first.status, RunStatus::Failed);
    assert_eq!(EXTRACTS.load(Ordering::SeqCst), 1);
    LOAD_WORKS.store(true, Ordering::SeqCst);
    let (second, _) = run(&resumable::spec(), &[], &mut state, Some(first.run), 2);
    assert_eq!(second.run, first.run);
    assert_eq!(second.status, RunStatus::Succeeded);
    assert_eq!(
        EXTRACTS.load(Ordering::SeqCst),
        1,
        "the extract was not run again"
    );
    assert_eq!(status_of(&second, "loaded"), (Status::Succeeded, 2, None));
    let error = with_lifecycle(&resumable::spec(), &mut state, 2, |lifecycle| {
        lifecycle.run_resume(first.run, &mut |_| {})
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "run {} of `resumable` already succeeded; there is nothing to resume",
            first.run
        )
    );
}

// A sub-workflow runs through the engine: its nodes' retries apply, and its failure is the
// outer node's failure, naming the inner node.
static INNER_CALLS: AtomicUsize = AtomicUsize::new(0);

#[task(retries = 1)]
fn inner_step(seed: u32) -> Result<u32, TaskError> {
    INNER_CALLS.fetch_add(1, Ordering::SeqCst);
    if seed == 0 {
        Err(TaskError::new("seed must not be zero"))
    } else {
        Ok(seed * 10)
    }
}

workflow! {
    /// One retried step.
    inner(seed: u32) -> u32 {
        value = inner_step(seed);
        return value;
    }
}

workflow! {
    /// Uses `inner`.
    #[on_failure(continue)]
    outer(good: u32 = 4, bad: u32 = 0) {
        fine = inner(good);
        broken = inner(bad);
    }
}

#[test]
fn sub_workflows_run_through_the_engine() {
    let mut state = store("outer");
    let (outcome, _) = run(&outer::spec(), &[], &mut state, None, 2);
    assert_eq!(outcome.status, RunStatus::Failed);
    let fine = outcome
        .nodes
        .iter()
        .find(|record| record.node == "fine")
        .unwrap();
    assert_eq!(fine.output, Some(serde_json::json!(40)));
    let (status, _, message) = status_of(&outcome, "broken");
    assert_eq!(status, Status::Failed);
    assert_eq!(
        message.as_deref(),
        Some("attempt 1: workflow `inner` failed: `value`: attempt 2: seed must not be zero")
    );
    assert_eq!(
        INNER_CALLS.load(Ordering::SeqCst),
        3,
        "one call for `fine`, two attempts for `broken`"
    );
}

// A sub-workflow cut by its own deadline while a node waits for a retry says why.
#[task(retries = 1, retry_delay = "5s")]
fn refused() -> Result<u32, TaskError> {
    Err(TaskError::new("refused"))
}

workflow! {
    /// Out of time before its retry.
    #[timeout = "1s"]
    impatient() -> u32 {
        value = refused();
        return value;
    }
}

workflow! {
    /// Uses `impatient`.
    calls_impatient() {
        late = impatient();
    }
}

#[test]
fn a_sub_workflow_out_of_time_says_so() {
    let mut state = store("impatient");
    let (outcome, _) = run(&calls_impatient::spec(), &[], &mut state, None, 1);
    assert_eq!(outcome.status, RunStatus::Failed);
    let (_, _, message) = status_of(&outcome, "late");
    assert_eq!(
        message.as_deref(),
        Some("attempt 1: workflow `impatient` failed: not run: the run timed out after 1s")
    );
}

// A sub-workflow's arguments reach it as its caller's nodes produced them: checked at each
// parameter's type, never read back from text (an `Option<String>` of `"null"` stays
// `Some("null")`, a text with quotes keeps them).
#[task]
fn awkward_texts() -> (Option<String>, String) {
    (Some("null".to_owned()), "\"quoted\" \\ [1, 2]".to_owned())
}

#[task]
fn first_text(pair: (Option<String>, String)) -> Option<String> {
    pair.0
}

#[task]
fn second_text(pair: (Option<String>, String)) -> String {
    pair.1
}

#[task]
fn both_texts(maybe: Option<String>, text: String) -> (Option<String>, String) {
    (maybe, text)
}

workflow! {
    /// Gives its two texts back.
    echo_texts(maybe: Option<String>, text: String) -> (Option<String>, String) {
        echoed = both_texts(maybe, text);
        return echoed;
    }
}

workflow! {
    /// Passes awkward texts through `echo_texts`.
    passes_texts() {
        pair = awkward_texts();
        maybe = first_text(pair);
        text = second_text(pair);
        echoed = echo_texts(maybe, text);
    }
}

#[test]
fn sub_workflow_arguments_keep_their_values_exactly() {
    let mut state = store("texts");
    let (outcome, _) = run(&passes_texts::spec(), &[], &mut state, None, 2);
    assert_eq!(outcome.status, RunStatus::Succeeded);
    let echoed = outcome
        .nodes
        .iter()
        .find(|record| record.node == "echoed")
        .unwrap();
    assert_eq!(
        echoed.output,
        Some(serde_json::json!(["null", "\"quoted\" \\ [1, 2]"]))
    );
}

// What an attempt on a thread runs stops with it when the engine gives up on it: a
// sub-workflow starts no more nodes, a fan-out no more elements, a command is killed. Each
// records when its steps start; none starts after its attempt timed out.
static STEPS_STARTED: std::sync::Mutex<Vec<(String, std::time::Instant)>> =
    std::sync::Mutex::new(Vec::new());

fn started_step(label: &str) {
    STEPS_STARTED
        .lock()
        .unwrap()
        .push((label.to_owned(), std::time::Instant::now()));
}

/// Records its start, then works 300 ms.
#[task]
fn slow_step(label: String) -> String {
    started_step(&label);
    std::thread::sleep(std::time::Duration::from_millis(300));
    label
}

workflow! {
    /// Ten slow steps in a row.
    slow_chain() -> String {
        c1 = slow_step("chain 1");
        c2 = slow_step("chain 2").after(c1);
        c3 = slow_step("chain 3").after(c2);
        c4 = slow_step("chain 4").after(c3);
        c5 = slow_step("chain 5").after(c4);
        c6 = slow_step("chain 6").after(c5);
        c7 = slow_step("chain 7").after(c6);
        c8 = slow_step("chain 8").after(c7);
        c9 = slow_step("chain 9").after(c8);
        c10 = slow_step("chain 10").after(c9);
        return c10;
    }
}

/// Ten labels.
#[task]
fn ten_labels() -> Vec<String> {
    (1..=10).map(|index| format!("element {index}")).collect()
}

/// Records its start, then works 300 ms; may take a second.
#[task(timeout = "1s")]
fn slow_element(label: String) -> String {
    started_step(&label);
    std::thread::sleep(std::time::Duration::from_millis(300));
    label
}

workflow! {
    /// A sub-workflow and a fan-out, each far longer than the 1 s they are given.
    #[timeout = "1s"]
    #[on_failure(continue)]
    given_up() {
        chain = slow_chain();
        labels = ten_labels();
        elements = slow_element(each(labels)).max_parallel(1);
    }
}

#[test]
fn what_an_abandoned_attempt_runs_starts_nothing_more() {
    let mut state = store("given-up");
    let (outcome, _) = run(&given_up::spec(), &[], &mut state, None, 2);
    let ended = std::time::Instant::now();
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(status_of(&outcome, "chain").0, Status::TimedOut);
    assert_eq!(status_of(&outcome, "elements").0, Status::TimedOut);
    // The abandoned threads go on with what they had started, and start nothing more.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let started = STEPS_STARTED.lock().unwrap().clone();
    let late: Vec<&String> = started
        .iter()
        .filter(|(_, at)| *at > ended)
        .map(|(label, _)| label)
        .collect();
    assert!(late.is_empty(), "started after the run ended: {late:?}");
    assert!(started.len() < 12, "{started:?}");
}

/// Writes its process id to `pid_file`, then sleeps 30 s; may take a second.
#[task(command, timeout = "1s")]
fn sleep_long(pid_file: String) -> workflow_core::command::Command {
    workflow_core::command::Command::new("sh")
        .arg("-c")
        .arg("echo $$ > \"$1\"; exec sleep 30")
        .arg("sh")
        .arg(pid_file)
}

workflow! {
    /// A command far longer than its timeout.
    overlong(pid_file: String) {
        slept = sleep_long(pid_file);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_command_is_killed_when_its_attempt_times_out_on_a_thread() {
    let mut state = store("overlong");
    let directory = tempfile::tempdir().unwrap();
    let pid_file = directory.path().join("pid");
    let (outcome, _) = run(
        &overlong::spec(),
        &[("pid_file", pid_file.to_str().unwrap())],
        &mut state,
        None,
        1,
    );
    assert_eq!(status_of(&outcome, "slept").0, Status::TimedOut);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let process = std::path::Path::new("/proc").join(pid.trim());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while process.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the command (process {}) outlived its attempt",
            pid.trim()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

workflow! {
    /// Parameters whose values are easily misread as text.
    misreadable(maybe: Option<String>, text: String, count: u32, nothing: Option<u32>) {
        echoed = both_texts(maybe, text);
    }
}

// A value turned into `--param` text (as exports and engines' run specs do) reads back as
// exactly that value, whatever its type.
#[test]
fn parameter_values_survive_the_trip_through_text() {
    use serde_json::json;
    let spec = misreadable::spec();
    let param = |name: &str| spec.param(name).unwrap();
    let cases = [
        ("maybe", json!("null"), "\"null\""),
        ("maybe", json!("plain"), "plain"),
        ("maybe", json!(null), "null"),
        ("text", json!("null"), "null"),
        ("text", json!("\"quoted\""), "\"quoted\""),
        ("count", json!(7), "7"),
        ("nothing", json!(null), "null"),
    ];
    for (name, value, text) in cases {
        let written = workflow_core::plan::param_text_for(param(name), &value);
        assert_eq!(written, text, "{name} = {value}");
        assert_eq!((param(name).parse)(&written), Ok(value), "{name}");
    }
    // A string for a number, as an engine's form may give it: its text, for the parser.
    assert_eq!(
        workflow_core::plan::param_text_for(param("count"), &json!("7")),
        "7"
    );
    // `null` for a parameter with no default is its value (`None`), not "not given".
    let given = workflow_core::runner::run_dir::params_from_json(
        &spec,
        r#"{"maybe": "null", "text": "t", "count": 1, "nothing": null}"#,
    )
    .unwrap();
    assert_eq!(
        given,
        [
            ("maybe".to_owned(), "\"null\"".to_owned()),
            ("text".to_owned(), "t".to_owned()),
            ("count".to_owned(), "1".to_owned()),
            ("nothing".to_owned(), "null".to_owned()),
        ]
    );
}
