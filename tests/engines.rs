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

/// Wait until `done` holds, polling every half second, for at most `limit`.
fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The state of the run `run_id` of `dag`.
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
    wait_for(limit, "the first run ends", || {
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
    wait_for(limit, "`checked` fails", || {
        airflow
            .task_states("pausing", &failing)
            .get("checked")
            .is_some_and(|state| state == "failed")
    });
    std::fs::write(dir.join("release"), "").unwrap();
    wait_for(limit, "the failing run ends", || {
        matches!(
            run_state(&airflow, "pausing", &failing).as_str(),
            "success" | "failed"
        )
    });
    assert_eq!(run_state(&airflow, "pausing", &failing), "failed");
    wait_for(Duration::from_secs(30), "the DAG is paused", || {
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
    wait_for(limit, "the resumed run ends", || {
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
/// retries are exhausted, and one that overruns its timeout, fail their runs too.
#[test]
fn airflow_continue_runs_independent_nodes_and_still_fails_the_run() {
    let airflow = airflow_with(&["continuing", "retried", "sleepy"], &[]);
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

    // A node that overruns its one-second timeout fails the run.
    let started = std::time::Instant::now();
    let output = dags_test(&airflow, "sleepy", "2026-11-30T00:00:00+00:00", None);
    assert!(!output.status.success(), "{}", text(&output));
    let (run_id, state) = newest_run(&airflow, "sleepy");
    assert_eq!(state, "failed");
    assert_eq!(airflow.task_states("sleepy", &run_id)["late"], "failed");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the timeout did not end the node"
    );
}
