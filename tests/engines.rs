//! The failure path on every engine, run or read with the engine's own code: a failed node
//! fails the run, notifies and pauses as the workflow declares, and nothing starts that the
//! plan would not start.
//!
//! Airflow runs for real (the virtual environment `.ci/export-tools` makes), with e-mail going
//! to an SMTP relay this test starts on loopback.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use workflow_tests::engines::{Airflow, text};
use workflow_tests::smtp_relay;

const FIXTURE: &str = env!("CARGO_BIN_EXE_runner-fixture");

/// Exports `workflow` with `dir` fixed, into `out`, for `target`.
fn export(workflow: &str, target: &str, out: &Path, dir: Option<&Path>, extra: &[&str]) {
    let mut command = Command::new(FIXTURE);
    command
        .args(["export", workflow, "--target", target, "--out"])
        .arg(out)
        .args(["--start-date", "2026-11-01", "--binary", FIXTURE])
        .args(extra);
    if let Some(dir) = dir {
        command.arg("-p").arg(format!("dir={}", dir.display()));
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "export: {}", text(&output));
}

/// The lines the fixture's tasks wrote to `dir/log`.
fn logged(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Airflow with the fixture's failure-path DAGs exported into it and registered, each with a
/// directory of its own (but `sleepy`, which takes none), and not paused at creation (so a
/// pause is the workflow's doing).
fn airflow_with(workflows: &[&str], environment: &[(&str, &str)]) -> Airflow {
    let mut environment = environment.to_vec();
    environment.push(("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False"));
    let airflow = Airflow::new(&environment);
    for workflow in workflows {
        let dir = airflow.home().join(workflow);
        std::fs::create_dir_all(&dir).unwrap();
        let runs = airflow.runs();
        export(
            workflow,
            "airflow",
            &airflow.dags(),
            (*workflow != "sleepy").then_some(dir.as_path()),
            &["--run-root", runs.to_str().unwrap()],
        );
    }
    airflow.checked(&["dags", "reserialize"]);
    airflow
}

/// `airflow dags test DAG DATE` with e-mail going to `smtp` (a loopback port), if any.
fn dags_test(airflow: &Airflow, dag: &str, date: &str, smtp: Option<u16>) -> Output {
    let mut command = airflow.command(&["dags", "test", dag, date]);
    if let Some(port) = smtp {
        command.env("WORKFLOW_SMTP", format!("127.0.0.1:{port}"));
    }
    command.output().unwrap()
}

/// The newest run of `dag`: its id and state.
fn newest_run(airflow: &Airflow, dag: &str) -> (String, String) {
    airflow.runs_of(dag).into_iter().next().expect("a run")
}

/// A middle node fails with `on_failure(pause, notify = ...)` (`airflow dags test`): the run
/// fails, the node after it and an independent node that could only start later do not start,
/// and the failure callback e-mails the administrator, also as Airflow 3's DAG processor runs
/// it (database closed, no task instance in its context). The pause itself is the scheduler's
/// doing: `airflow_the_scheduler_pauses_a_failed_dag_until_someone_resumes_it`.
#[test]
fn airflow_a_failure_fails_the_run_and_e_mails_the_administrator() {
    let airflow = airflow_with(&["pausing"], &[]);
    let dir = airflow.home().join("pausing");
    // `airflow dags test` runs one task at a time, `z` after `checked`: `slow` need not wait.
    std::fs::write(dir.join("release"), "").unwrap();
    std::fs::write(dir.join("fail"), "").unwrap();
    let (port, mail) = smtp_relay();

    let output = dags_test(&airflow, "pausing", "2026-11-30T00:00:00+00:00", Some(port));
    let log = text(&output);
    assert!(!output.status.success(), "the failed run exits 0:\n{log}");
    assert!(log.contains("DagRun failed"), "{log}");
    let (run_id, state) = newest_run(&airflow, "pausing");
    assert_eq!(state, "failed");
    let states = airflow.task_states("pausing", &run_id);
    assert_eq!(states["checked"], "failed", "{states:?}");
    assert_eq!(states["after"], "upstream_failed", "{states:?}");
    assert_eq!(
        states["workflow_succeeded"], "upstream_failed",
        "{states:?}"
    );
    // `z` can only start after `checked` failed: the stop keeps it from starting.
    assert_eq!(states["z"], "skipped", "{states:?}");
    let ran = logged(&dir);
    assert!(ran.contains(&"check failed".to_owned()), "{ran:?}");
    assert!(!ran.contains(&"after".to_owned()), "{ran:?}");
    assert!(!ran.contains(&"z".to_owned()), "{ran:?}");

    let (envelope, message) = mail
        .recv_timeout(Duration::from_secs(60))
        .expect("the failure notice reaches the SMTP relay");
    assert!(
        envelope
            .iter()
            .any(|line| line.contains("<etl-admin@example.com>")),
        "{envelope:?}"
    );
    let message = workflow_tests::quoted_printable(&message);
    assert!(message.contains("pausing"), "{message}");
    assert!(message.contains(&run_id), "{message}");

    // The same callback as Airflow 3's DAG processor runs it, with the database closed to it
    // and no task instance in its context.
    let (port, mail) = smtp_relay();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("exports/airflow-dag-callback.py");
    let output = airflow
        .python()
        .arg(&script)
        .arg(airflow.dags().join("pausing.py"))
        .arg(&run_id)
        .env("WORKFLOW_SMTP", format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let (_, message) = mail
        .recv_timeout(Duration::from_secs(60))
        .expect("the DAG processor's notice reaches the SMTP relay");
    assert!(
        workflow_tests::quoted_printable(&message).contains(&run_id),
        "{message}"
    );

    // With the cause fixed, a run succeeds: every node ran.
    std::fs::remove_file(dir.join("fail")).unwrap();
    std::fs::remove_file(dir.join("log")).unwrap();
    let output = dags_test(&airflow, "pausing", "2026-12-01T00:00:00+00:00", None);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(newest_run(&airflow, "pausing").1, "success");
    let mut ran = logged(&dir);
    ran.sort();
    assert_eq!(
        ran,
        ["a", "after", "check", "slow", "slow started", "x", "z"]
    );
}

/// The state of the run `run_id` of `dag`.
#[cfg(unix)]
fn run_state(airflow: &Airflow, dag: &str, run_id: &str) -> String {
    airflow
        .runs_of(dag)
        .into_iter()
        .find(|(id, _)| id == run_id)
        .map(|(_, state)| state)
        .unwrap_or_default()
}

/// Triggers a run of `dag` as a person or an asset event does (no logical date) and returns
/// its id.
#[cfg(unix)]
fn trigger(airflow: &Airflow, dag: &str) -> String {
    let before: Vec<String> = airflow.runs_of(dag).into_iter().map(|(id, _)| id).collect();
    airflow.checked(&["dags", "trigger", dag]);
    airflow
        .runs_of(dag)
        .into_iter()
        .map(|(id, _)| id)
        .find(|id| !before.contains(id))
        .expect("the triggered run")
}

/// Seed 000's promise for step 2 on a real Airflow (API server, scheduler, DAG processor):
/// after a successful run, a run fails; the scheduler pauses the DAG, the DAG processor's
/// callback e-mails the administrator, a run started while paused is never started, and
/// resuming starts it. The runs have no logical date, as those an asset event starts.
#[cfg(unix)]
#[test]
fn airflow_the_scheduler_pauses_a_failed_dag_until_someone_resumes_it() {
    let (port, mail) = smtp_relay();
    let relay = format!("127.0.0.1:{port}");
    let airflow = airflow_with(&["pausing"], &[("WORKFLOW_SMTP", &relay)]);
    let dir = airflow.home().join("pausing");
    std::fs::write(dir.join("release"), "").unwrap();
    let services = airflow.start();
    let limit = Duration::from_secs(180);

    let first = trigger(&airflow, "pausing");
    workflow_tests::engines::wait_for(limit, "the first run ends", || {
        matches!(
            run_state(&airflow, "pausing", &first).as_str(),
            "success" | "failed"
        )
    });
    assert_eq!(
        run_state(&airflow, "pausing", &first),
        "success",
        "{}",
        airflow.task_logs("pausing", &first)
    );

    std::fs::write(dir.join("fail"), "").unwrap();
    std::fs::remove_file(dir.join("log")).unwrap();
    std::fs::remove_file(dir.join("release")).unwrap();
    let failing = trigger(&airflow, "pausing");
    // `slow` is released once `checked` has failed: `z` would start after the failure.
    workflow_tests::engines::wait_for(limit, "`checked` fails", || {
        airflow
            .task_states("pausing", &failing)
            .get("checked")
            .is_some_and(|state| state == "failed")
    });
    std::fs::write(dir.join("release"), "").unwrap();
    workflow_tests::engines::wait_for(limit, "the failing run ends", || {
        matches!(
            run_state(&airflow, "pausing", &failing).as_str(),
            "success" | "failed"
        )
    });
    assert_eq!(run_state(&airflow, "pausing", &failing), "failed");
    workflow_tests::engines::wait_for(Duration::from_secs(30), "the DAG is paused", || {
        airflow.is_paused("pausing")
    });
    let (_, message) = mail
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| {
            panic!(
                "no notice from the DAG processor:\n{}",
                airflow.service_log("dag-processor")
            )
        });
    assert!(
        workflow_tests::quoted_printable(&message).contains(&failing),
        "{message}"
    );
    assert!(
        !logged(&dir).contains(&"z".to_owned()),
        "{:?}",
        logged(&dir)
    );
    let states = airflow.task_states("pausing", &failing);
    assert_eq!(states["z"], "skipped", "{states:?}");
    assert_eq!(states["after"], "upstream_failed", "{states:?}");

    // Paused: a run started now waits, however long.
    std::fs::remove_file(dir.join("fail")).unwrap();
    std::fs::remove_file(dir.join("log")).unwrap();
    let waiting = trigger(&airflow, "pausing");
    std::thread::sleep(Duration::from_secs(15));
    assert_eq!(run_state(&airflow, "pausing", &waiting), "queued");
    assert!(logged(&dir).is_empty(), "{:?}", logged(&dir));

    // Resumed by a person: the waiting run starts and succeeds.
    airflow.checked(&["dags", "unpause", "pausing"]);
    workflow_tests::engines::wait_for(limit, "the resumed run ends", || {
        matches!(
            run_state(&airflow, "pausing", &waiting).as_str(),
            "success" | "failed"
        )
    });
    assert_eq!(run_state(&airflow, "pausing", &waiting), "success");
    assert!(!airflow.is_paused("pausing"));
    drop(services);
}

/// `on_failure(continue)`: the independent chain runs to its end, the failed node's downstream
/// does not, the run still fails and the notice goes out, and nothing is paused. A node whose
/// retries are exhausted, one that fails permanently (its retries unused), and one that
/// overruns its timeout, fail their runs too.
#[test]
fn airflow_continue_runs_independent_nodes_and_still_fails_the_run() {
    let airflow = airflow_with(&["continuing", "retried", "sleepy", "unfixable"], &[]);
    let dir = airflow.home().join("continuing");
    std::fs::write(dir.join("release"), "").unwrap();
    std::fs::write(dir.join("fail"), "").unwrap();
    let (port, mail) = smtp_relay();
    let output = dags_test(
        &airflow,
        "continuing",
        "2026-11-30T00:00:00+00:00",
        Some(port),
    );
    assert!(!output.status.success(), "{}", text(&output));
    let (run_id, state) = newest_run(&airflow, "continuing");
    assert_eq!(state, "failed");
    let states = airflow.task_states("continuing", &run_id);
    assert_eq!(states["checked"], "failed", "{states:?}");
    assert_eq!(states["after"], "upstream_failed", "{states:?}");
    assert_eq!(states["z"], "success", "{states:?}");
    assert_eq!(
        states["workflow_succeeded"], "upstream_failed",
        "{states:?}"
    );
    let ran = logged(&dir);
    assert!(ran.contains(&"z".to_owned()), "{ran:?}");
    assert!(!ran.contains(&"after".to_owned()), "{ran:?}");
    let (_, message) = mail
        .recv_timeout(Duration::from_secs(60))
        .expect("the failure notice reaches the SMTP relay");
    assert!(
        workflow_tests::quoted_printable(&message).contains("continuing"),
        "{message}"
    );
    assert!(!airflow.is_paused("continuing"));

    // Retries exhausted: two attempts, then the run fails and the last node never starts.
    let dir = airflow.home().join("retried");
    std::fs::write(dir.join("fail"), "").unwrap();
    let output = dags_test(&airflow, "retried", "2026-11-30T00:00:00+00:00", None);
    assert!(!output.status.success(), "{}", text(&output));
    assert_eq!(newest_run(&airflow, "retried").1, "failed");
    assert_eq!(logged(&dir), ["check_twice failed", "check_twice failed"]);

    // A permanent failure (exit 3) uses none of its two retries: one attempt.
    let dir = airflow.home().join("unfixable");
    let output = dags_test(&airflow, "unfixable", "2026-11-30T00:00:00+00:00", None);
    assert!(!output.status.success(), "{}", text(&output));
    let (run_id, state) = newest_run(&airflow, "unfixable");
    assert_eq!(state, "failed");
    assert_eq!(
        airflow.task_states("unfixable", &run_id)["attempt"],
        "failed"
    );
    assert_eq!(logged(&dir), ["tried"], "{}", text(&output));

    // A node that overruns its one-second timeout fails the run.
    let started = std::time::Instant::now();
    let output = dags_test(&airflow, "sleepy", "2026-11-30T00:00:00+00:00", None);
    assert!(!output.status.success(), "{}", text(&output));
    let (run_id, state) = newest_run(&airflow, "sleepy");
    assert_eq!(state, "failed");
    assert_eq!(airflow.task_states("sleepy", &run_id)["late"], "failed");
    // The node sleeps 600 s: ending in half that, however slow Airflow starts, is the
    // timeout's doing.
    assert!(
        started.elapsed() < Duration::from_secs(300),
        "the timeout did not end the node"
    );
}

// Step Functions: what the exported state machines do on the failure path, read from the
// machines themselves (every state, in every branch and map).

/// Every map of states in a machine: the machine's own, each Parallel branch's and each Map's
/// item processor's, with where it is (for messages).
fn state_maps<'a>(
    at: String,
    states: &'a serde_json::Map<String, serde_json::Value>,
    start: &'a str,
    out: &mut Vec<(
        String,
        &'a serde_json::Map<String, serde_json::Value>,
        &'a str,
    )>,
) {
    out.push((at.clone(), states, start));
    for (name, state) in states {
        if let Some(branches) = state["Branches"].as_array() {
            for branch in branches {
                state_maps(
                    format!("{at} / {name}"),
                    branch["States"].as_object().unwrap(),
                    branch["StartAt"].as_str().unwrap(),
                    out,
                );
            }
        }
        if let Some(processor) = state.get("ItemProcessor") {
            state_maps(
                format!("{at} / {name}"),
                processor["States"].as_object().unwrap(),
                processor["StartAt"].as_str().unwrap(),
                out,
            );
        }
    }
}

/// Where a state can go next: `Next`, `Default`, each Choice rule's and each Catch's `Next`.
fn successors(state: &serde_json::Value) -> Vec<String> {
    let mut next = Vec::new();
    for key in ["Next", "Default"] {
        if let Some(name) = state[key].as_str() {
            next.push(name.to_owned());
        }
    }
    for list in ["Choices", "Catch"] {
        for rule in state[list].as_array().into_iter().flatten() {
            if let Some(name) = rule["Next"].as_str() {
                next.push(name.to_owned());
            }
        }
    }
    next
}

/// The variables a Choice rule (with its `And`/`Or`/`Not`) compares with a number bound.
fn bounded_variables(rule: &serde_json::Value, out: &mut Vec<String>) {
    for nested in ["And", "Or"] {
        for inner in rule[nested].as_array().into_iter().flatten() {
            bounded_variables(inner, out);
        }
    }
    if let Some(variable) = rule["Variable"].as_str()
        && (rule.get("NumericGreaterThanEquals").is_some()
            || rule.get("NumericGreaterThan").is_some())
    {
        out.push(variable.to_owned());
    }
}

/// A cycle through `title` among the states that are not `counters`, by depth-first search.
fn uncounted_cycle<'m>(
    title: &'m str,
    states: &'m serde_json::Map<String, serde_json::Value>,
    counters: &std::collections::BTreeSet<&String>,
    on_path: &mut Vec<&'m str>,
    done: &mut std::collections::BTreeSet<&'m str>,
) -> Option<Vec<String>> {
    if done.contains(title) {
        return None;
    }
    if let Some(at) = on_path.iter().position(|other| *other == title) {
        return Some(on_path[at..].iter().map(|name| name.to_string()).collect());
    }
    on_path.push(title);
    let (key, state) = states.get_key_value(title).unwrap();
    for next in successors(state) {
        let (next, _) = states.get_key_value(next.as_str()).unwrap();
        if counters.contains(next) {
            continue;
        }
        if let Some(cycle) = uncounted_cycle(next, states, counters, on_path, done) {
            return Some(cycle);
        }
    }
    on_path.pop();
    done.insert(key);
    None
}

/// Checks the failure paths of one exported state machine; `name` for messages.
fn check_state_machine(name: &str, machine: &serde_json::Value) {
    let mut maps = Vec::new();
    state_maps(
        name.to_owned(),
        machine["States"].as_object().unwrap(),
        machine["StartAt"].as_str().unwrap(),
        &mut maps,
    );
    let mut sends = 0;
    for (at, states, start) in &maps {
        for (title, state) in states.iter() {
            let here = format!("{at} / {title}");
            let resource = state["Resource"].as_str().unwrap_or("");
            // Every AWS API call is retried with backoff, a bounded number of times.
            if resource.starts_with("arn:aws:states:::aws-sdk:")
                || resource == "arn:aws:states:::sns:publish"
            {
                let retried = state["Retry"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|retry| {
                        retry["ErrorEquals"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|error| error == "States.TaskFailed")
                            && retry["MaxAttempts"]
                                .as_u64()
                                .is_some_and(|n| (1..=10).contains(&n))
                            && retry["BackoffRate"].as_f64().is_some_and(|rate| rate > 1.0)
                    });
                assert!(retried, "{here}: an API call without a bounded retry");
            }
            // A command goes to exactly one instance, the one this branch picked among the
            // pool's online instances, after a failure when there is none.
            if resource.ends_with("ssm:sendCommand") {
                sends += 1;
                let parameters = &state["Parameters"];
                assert!(parameters.get("Targets").is_none(), "{here}: sent by tag");
                assert_eq!(
                    parameters["InstanceIds.$"], "States.Array($.target.instance)",
                    "{here}"
                );
                let find = &states[*start];
                assert!(
                    find["Resource"]
                        .as_str()
                        .unwrap()
                        .ends_with("ssm:describeInstanceInformation"),
                    "{here}: the branch does not start by listing the pool's instances"
                );
                let filters = find["Parameters"]["Filters"].to_string();
                assert!(filters.contains("\"PingStatus\"") && filters.contains("\"Online\""));
                let online = &states[find["Next"].as_str().unwrap()];
                let none = online["Choices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|rule| rule["Variable"] == "$.pool.count" && rule["NumericEquals"] == 0)
                    .unwrap_or_else(|| panic!("{here}: no check for an empty pool"));
                let fail = &states[none["Next"].as_str().unwrap()];
                assert_eq!(fail["Type"], "Fail", "{here}");
                assert_eq!(fail["Error"], "Workflow.NoInstance", "{here}");
                let pick = &states[online["Default"].as_str().unwrap()];
                assert!(
                    pick["Parameters"]["instance.$"]
                        .as_str()
                        .unwrap()
                        .starts_with(
                            "States.ArrayGetItem($.pool.ids, States.MathRandom(0, $.pool.count))"
                        ),
                    "{here}"
                );
                assert_eq!(pick["Next"].as_str(), Some(title.as_str()), "{here}");
            }
        }
        // Every state can reach an end.
        let terminal = |state: &serde_json::Value| {
            matches!(state["Type"].as_str(), Some("Succeed" | "Fail")) || state["End"] == true
        };
        for title in states.keys() {
            let mut seen = std::collections::BTreeSet::new();
            let mut stack = vec![title.clone()];
            let mut ends = false;
            while let Some(current) = stack.pop() {
                if !seen.insert(current.clone()) {
                    continue;
                }
                let state = &states[&current];
                if terminal(state) {
                    ends = true;
                    break;
                }
                stack.extend(successors(state));
            }
            assert!(ends, "{at} / {title}: no path to an end");
        }
        // Every loop is counted: it goes through a Pass that adds one to a counter which a
        // Choice of the same map compares with a bound, leaving for a state that ends. With
        // those Pass states taken out, no cycle may remain.
        let mut bounded = Vec::new();
        for state in states.values() {
            for rule in state["Choices"].as_array().into_iter().flatten() {
                bounded_variables(rule, &mut bounded);
            }
        }
        let counters: std::collections::BTreeSet<&String> = states
            .iter()
            .filter(|(_, state)| {
                state["Type"] == "Pass"
                    && bounded.iter().any(|variable| {
                        let (parent, field) = variable.rsplit_once('.').unwrap();
                        state["ResultPath"] == parent
                            && state["Parameters"][format!("{field}.$")]
                                == format!("States.MathAdd({variable}, 1)").as_str()
                    })
            })
            .map(|(title, _)| title)
            .collect();
        let mut done = std::collections::BTreeSet::new();
        for title in states.keys() {
            if counters.contains(title) {
                continue;
            }
            if let Some(cycle) =
                uncounted_cycle(title, states, &counters, &mut Vec::new(), &mut done)
            {
                panic!("{at}: the loop {cycle:?} has no bound");
            }
        }
    }
    assert!(sends > 0, "{name}: no command sent");
    // A failed stage ends in the failure path: notices, pause, a failed execution.
    for (title, state) in machine["States"].as_object().unwrap() {
        if title.starts_with("Stage ") && state["Type"] == "Parallel" {
            assert!(
                state["Catch"].to_string().contains("\"Run failed\""),
                "{name} / {title}: a failure does not reach `Run failed`"
            );
        }
    }
}

/// Every exported state machine (the seeds' golden files and the fixture's workflows, which
/// add fan-out, branches, retries and a queue) sends each command to one instance it picked,
/// fails at once when the pool has none, retries AWS API errors, and has no unbounded loop;
/// asl-validator accepts the fixture's.
#[test]
fn step_functions_send_each_node_to_one_instance_and_every_loop_ends() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workflow-examples/tests/golden/export/step-functions");
    let mut checked = 0;
    for seed in std::fs::read_dir(&golden).unwrap() {
        let seed = seed.unwrap().path();
        for file in std::fs::read_dir(&seed).unwrap() {
            let file = file.unwrap().path();
            if file.to_string_lossy().ends_with(".asl.json") {
                let machine =
                    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
                check_state_machine(&file.display().to_string(), &machine);
                checked += 1;
            }
        }
    }
    assert!(checked >= 4, "{checked} golden machines");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("data");
    for workflow in ["arith", "retried", "queued", "ticking", "pausing"] {
        let target = out.path().join(workflow);
        let fixed = (workflow != "arith").then_some(dir.as_path());
        export(
            workflow,
            "step-functions",
            &target,
            fixed,
            &["--allow-lossy"],
        );
        let file = target.join(format!("{workflow}.asl.json"));
        let machine = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        check_state_machine(workflow, &machine);
        let validated =
            Command::new(workflow_tests::engines::tools().join("node_modules/.bin/asl-validator"))
                .arg("--json-path")
                .arg(&file)
                .output()
                .unwrap();
        assert!(
            validated.status.success(),
            "{workflow}: {}",
            text(&validated)
        );
    }
}

/// The value at a JSONPath of the simple form `$.a.b[0].c` in `input`.
fn at_path<'v>(input: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    let mut value = input;
    for part in path.strip_prefix("$.")?.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        value = value.get(key)?;
        if let Some(index) = index {
            value = value.get(index)?;
        }
    }
    Some(value)
}

/// Whether a Choice rule of Amazon States Language holds for `input` (the operators the
/// exported machines use).
fn rule_holds(rule: &serde_json::Value, input: &serde_json::Value) -> bool {
    if let Some(all) = rule["And"].as_array() {
        return all.iter().all(|rule| rule_holds(rule, input));
    }
    if let Some(any) = rule["Or"].as_array() {
        return any.iter().any(|rule| rule_holds(rule, input));
    }
    let value = at_path(input, rule["Variable"].as_str().unwrap());
    if let Some(present) = rule["IsPresent"].as_bool() {
        return value.is_some() == present;
    }
    let Some(value) = value else { return false };
    if let Some(expected) = rule.get("StringEquals") {
        return value == expected;
    }
    let number = value.as_f64().unwrap_or(f64::NAN);
    if let Some(expected) = rule["NumericEquals"].as_f64() {
        return number == expected;
    }
    if let Some(limit) = rule["NumericGreaterThanEquals"].as_f64() {
        return number >= limit;
    }
    if let Some(limit) = rule["NumericLessThan"].as_f64() {
        return number < limit;
    }
    panic!("an operator this check does not know: {rule}");
}

/// A permanent failure is not retried by the exported engines: the Step Functions node sends
/// an SSM result with exit code 3 (or 2) to a failure its Retry leaves alone, and 1 to the one
/// it retries; Argo's retry strategy carries the expression that refuses exits 2 and 3.
#[test]
fn exported_engines_do_not_retry_a_permanent_failure() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("data");
    export(
        "unfixable",
        "step-functions",
        out.path(),
        Some(&dir),
        &["--allow-lossy"],
    );
    let machine: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("unfixable.asl.json")).unwrap(),
    )
    .unwrap();
    let mut maps = Vec::new();
    state_maps(
        "machine".to_owned(),
        machine["States"].as_object().unwrap(),
        machine["StartAt"].as_str().unwrap(),
        &mut maps,
    );
    let mut nodes = Vec::new();
    for (_, states, _) in maps {
        for (title, state) in states {
            if title == "attempt" && state["Type"] == "Parallel" {
                nodes.push(state.clone());
            }
        }
    }
    assert_eq!(nodes.len(), 1, "one node state");
    let node = &nodes[0];
    let inner = node["Branches"][0]["States"].as_object().unwrap();
    let decide = &inner["attempt: finished?"];
    let next_for = |status: &str, code: i64| -> String {
        let poll = serde_json::json!({
            "poll": {"invocations": [{"Status": status, "StatusDetails": status, "CommandPlugins": [{"ResponseCode": code}]}]},
            "target": {"polls": 1},
        });
        decide["Choices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|rule| rule_holds(rule, &poll))
            .map_or_else(
                || decide["Default"].as_str().unwrap().to_owned(),
                |rule| rule["Next"].as_str().unwrap().to_owned(),
            )
    };
    let error_of = |state: &str| inner[state]["Error"].as_str().unwrap().to_owned();
    let retried: Vec<&str> = node["Retry"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|retry| retry["ErrorEquals"].as_array().unwrap())
        .map(|error| error.as_str().unwrap())
        .collect();
    for code in [2, 3] {
        let error = error_of(&next_for("Failed", code));
        assert_eq!(error, "Workflow.NodeFailedPermanently");
        assert!(!retried.contains(&error.as_str()), "{retried:?}");
    }
    let error = error_of(&next_for("Failed", 1));
    assert_eq!(error, "Workflow.NodeFailed");
    assert!(retried.contains(&error.as_str()), "{retried:?}");
    assert_eq!(next_for("Success", 0), "attempt: done");

    export("unfixable", "argo", out.path(), Some(&dir), &[]);
    let documents = yaml_documents(&out.path().join("unfixable.workflow.yaml"));
    let templates = documents[0]["spec"]["templates"].as_array().unwrap();
    let attempt = templates
        .iter()
        .find(|template| template["retryStrategy"].is_object())
        .expect("a template with retries");
    assert_eq!(attempt["retryStrategy"]["limit"], "2");
    assert_eq!(
        attempt["retryStrategy"]["expression"],
        "lastRetry.exitCode != \"2\" && lastRetry.exitCode != \"3\""
    );
}

/// The check above fails where it should: a machine that sends by tag, retries no API error,
/// or polls without counting is refused.
#[test]
fn the_state_machine_check_refuses_each_kind_of_fault() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workflow-examples/tests/golden/export/step-functions/step2/step2.asl.json");
    let machine: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let node = |machine: &mut serde_json::Value| -> serde_json::Value {
        machine["States"]["Stage 1"]["Branches"][0]["States"]["loaded"]["Branches"][0]["States"]
            .take()
    };
    type Mutation = fn(&mut serde_json::Value);
    let mutations: [(&str, Mutation); 4] = [
        ("sent by tag", |states| {
            let send = &mut states["loaded: send"]["Parameters"];
            send.as_object_mut().unwrap().remove("InstanceIds.$");
            send["Targets"] =
                serde_json::json!([{"Key": "tag:workflow-pool", "Values": ["server-b"]}]);
        }),
        ("without a bounded retry", |states| {
            states["loaded: poll"]
                .as_object_mut()
                .unwrap()
                .remove("Retry");
        }),
        ("has no bound", |states| {
            states["loaded: wait"]["Next"] = "loaded: poll".into();
        }),
        ("no check for an empty pool", |states| {
            states["loaded: instance online?"]["Choices"] = serde_json::json!([]);
        }),
    ];
    check_state_machine("step2", &machine);
    for (fault, mutate) in mutations {
        let mut broken = machine.clone();
        let mut states = node(&mut broken);
        assert!(
            states.get("loaded: send").is_some(),
            "the golden machine moved"
        );
        mutate(&mut states);
        broken["States"]["Stage 1"]["Branches"][0]["States"]["loaded"]["Branches"][0]["States"] =
            states;
        let refused =
            std::panic::catch_unwind(|| check_state_machine("step2", &broken)).expect_err(fault);
        let message = refused
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            message.contains(fault),
            "{fault}: refused for another reason: {message}"
        );
    }
}

// Argo Workflows: the exported manifests, read as Argo's controller reads them.

/// The YAML documents of a file, as JSON (PyYAML from the validators' environment).
fn yaml_documents(file: &Path) -> Vec<serde_json::Value> {
    let output = Command::new(workflow_tests::engines::tools().join("validators/bin/python"))
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// An exit handler step's `when` for a workflow that ended with `status`: Argo substitutes
/// `{{workflow.status}}` and evaluates the comparison (`A == B` or `A != B` of bare words).
fn when_holds(condition: &str, status: &str) -> bool {
    let condition = condition.replace("{{workflow.status}}", status);
    if let Some((left, right)) = condition.split_once("!=") {
        left.trim() != right.trim()
    } else if let Some((left, right)) = condition.split_once("==") {
        left.trim() == right.trim()
    } else {
        panic!("unexpected condition {condition}")
    }
}

/// `on_failure(pause)` on Argo: a failed or errored run's exit handler suspends its own
/// CronWorkflow (what `argo cron suspend` sets) and sends the notice with the failed steps; a
/// successful one does neither; `argo cron resume` (a merge patch of `spec.suspend: false`)
/// brings back exactly the schedule that was exported, with no `stopStrategy` that would stop
/// it again. The manifests pass Argo's schema.
#[test]
fn argo_a_failure_suspends_the_cron_workflow_and_resume_restores_it() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("data");
    export(
        "hourly_pausing",
        "argo",
        out.path(),
        Some(&dir),
        &["--allow-lossy"],
    );
    let cron_file = out.path().join("hourly_pausing.cronworkflow.yaml");
    let validated = Command::new(workflow_tests::engines::tools().join("validators/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("exports/validate-argo.py"))
        .arg(&cron_file)
        .arg(out.path().join("hourly_pausing.workflow.yaml"))
        .output()
        .unwrap();
    assert!(validated.status.success(), "{}", text(&validated));
    let cron = yaml_documents(&cron_file).remove(0);
    assert_eq!(cron["kind"], "CronWorkflow");
    let spec = &cron["spec"];
    assert!(spec.get("stopStrategy").is_none(), "{spec}");
    assert_ne!(spec["suspend"], true);
    let workflow = &spec["workflowSpec"];
    // `stop`: Argo's DAG fail-fast (the default) starts no new task after a failure.
    assert_ne!(workflow["templates"][0]["dag"]["failFast"], false);
    let handler_name = workflow["onExit"].as_str().unwrap();
    let templates = workflow["templates"].as_array().unwrap();
    let template = |name: &str| {
        templates
            .iter()
            .find(|template| template["name"] == name)
            .unwrap_or_else(|| panic!("no template {name}"))
    };
    let handler = template(handler_name);
    let runs = |status: &str| -> Vec<String> {
        handler["steps"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|group| group.as_array().unwrap())
            .filter(|step| when_holds(step["when"].as_str().unwrap(), status))
            .map(|step| step["template"].as_str().unwrap().to_owned())
            .collect()
    };
    // One group: the notice and the pause run side by side, neither waiting on the other,
    // each retried.
    assert_eq!(handler["steps"].as_array().unwrap().len(), 1, "{handler}");
    for step in ["pause-schedule", "notify-failed"] {
        assert_eq!(template(step)["retryStrategy"]["limit"], "3", "{step}");
    }
    assert_eq!(runs("Failed"), ["pause-schedule", "notify-failed"]);
    assert_eq!(runs("Error"), ["pause-schedule", "notify-failed"]);
    assert!(runs("Succeeded").is_empty());
    let notice = template("notify-failed")["container"]["args"].to_string();
    assert!(notice.contains("{{workflow.failures}}"), "{notice}");

    let resource = &template("pause-schedule")["resource"];
    assert_eq!(resource["action"], "patch");
    assert_eq!(resource["mergeStrategy"], "merge");
    let patch_file = out.path().join("patch.yaml");
    std::fs::write(&patch_file, resource["manifest"].as_str().unwrap()).unwrap();
    let patch = yaml_documents(&patch_file).remove(0);
    assert_eq!(patch["apiVersion"], cron["apiVersion"]);
    assert_eq!(patch["kind"], "CronWorkflow");
    assert_eq!(patch["metadata"]["name"], cron["metadata"]["name"]);
    assert_eq!(
        patch["metadata"]["namespace"],
        cron["metadata"]["namespace"]
    );
    // RFC 7386 merge patches: the failure's, then `argo cron resume`'s.
    fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
        if let (Some(target), Some(patch)) = (target.as_object_mut(), patch.as_object()) {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else if value.is_object() && target.get(key).is_some_and(|v| v.is_object()) {
                    merge(target.get_mut(key).unwrap(), value);
                } else {
                    target.insert(key.clone(), value.clone());
                }
            }
        }
    }
    let mut live = cron.clone();
    merge(&mut live, &serde_json::json!({"spec": patch["spec"]}));
    assert_eq!(
        live["spec"]["suspend"], true,
        "the failure does not suspend it"
    );
    merge(&mut live, &serde_json::json!({"spec": {"suspend": false}}));
    live["spec"].as_object_mut().unwrap().remove("suspend");
    assert_eq!(
        live, cron,
        "resuming does not restore the exported schedule"
    );
}

/// systemd: a hung run cannot hold the timer's service for good. Without `#[timeout]`, the
/// service's `TimeoutStartSec` is what the run's nodes may take (48 hours an attempt for a
/// node without a timeout, as on Step Functions) plus ten minutes, and systemd reads it so.
#[test]
fn systemd_a_hung_run_without_a_timeout_is_stopped_at_a_ceiling() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("data");
    // `ticking`: three nodes one after the other, none with a timeout or retries.
    export(
        "ticking",
        "systemd",
        out.path(),
        Some(&dir),
        &["--user", "root"],
    );
    let service = std::fs::read_to_string(out.path().join("ticking.service")).unwrap();
    let timeout = service
        .lines()
        .find_map(|line| line.strip_prefix("TimeoutStartSec="))
        .expect("a TimeoutStartSec line");
    let parsed = Command::new("systemd-analyze")
        .args(["timespan", timeout])
        .output()
        .unwrap();
    assert!(parsed.status.success(), "{}", text(&parsed));
    let microseconds: u64 = String::from_utf8_lossy(&parsed.stdout)
        .lines()
        .find_map(|line| line.trim().strip_prefix("μs: "))
        .expect("systemd-analyze prints μs")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(microseconds, (3 * 48 * 3600 + 600) * 1_000_000, "{timeout}");
    // `retried`: one retry a second after the first attempt, then a last node.
    export(
        "retried",
        "systemd",
        out.path(),
        Some(&dir),
        &["--user", "root"],
    );
    let service = std::fs::read_to_string(out.path().join("retried.service")).unwrap();
    assert!(
        service.contains(&format!("TimeoutStartSec={}\n", "6d10m1s")),
        "{service}"
    );
}
