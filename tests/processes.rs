//! The runner across processes: a run killed with SIGKILL resumes without redoing what it had
//! finished, a second run of a workflow that forbids overlap is refused while the first one's
//! process lives, and a paused workflow does not run.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const FIXTURE: &str = env!("CARGO_BIN_EXE_runner-fixture");

/// A directory of the test's own, removed when dropped.
fn directory(name: &str) -> workflow_tests::Scratch {
    workflow_tests::Scratch::new(&format!("workflow-processes-{name}"))
}

fn command(dir: &Path, arguments: &[&str]) -> Command {
    let mut command = Command::new(FIXTURE);
    command
        .args(arguments)
        .arg("--state")
        .arg(dir.join("state.sqlite"));
    command
}

fn start_run(dir: &Path) -> Child {
    let param = format!("dir={}", dir.display());
    command(dir, &["run", "marks", "-p", &param])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn finish(dir: &Path, arguments: &[&str]) -> Output {
    command(dir, arguments).output().unwrap()
}

fn log(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until the slow node is running, which means `first` has succeeded and been recorded.
fn wait_until_slow_runs(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !log(dir).iter().any(|line| line == "slow started") {
        assert!(
            Instant::now() < deadline,
            "the run never reached its slow node: {:?}",
            log(dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_killed_run_resumes_without_redoing_finished_nodes() {
    let dir = directory("kill");
    let mut child = start_run(&dir);
    wait_until_slow_runs(&dir);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();

    let status = finish(&dir, &["status", "marks"]);
    let status = text(&status.stdout);
    assert!(
        status.starts_with("run 1 of marks: interrupted"),
        "{status}"
    );
    assert!(
        status.contains("first") && status.contains("succeeded"),
        "{status}"
    );

    std::fs::write(dir.join("release"), "").unwrap();
    let resumed = finish(&dir, &["run", "marks", "--resume", "1"]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert_eq!(
        text(&resumed.stdout),
        "run 1 of marks succeeded: 3 succeeded\n"
    );
    assert_eq!(
        log(&dir),
        ["first", "slow started", "slow started", "slow", "last"],
        "first ran once"
    );
    // The attempt the killed runner left running is recorded as interrupted, in its log's
    // header too; the resumed run's attempt has a log of its own.
    let logs = text(&finish(&dir, &["logs", "marks", "--node", "slow"]).stdout);
    assert!(
        logs.contains("== run 1, node `slow`, attempt 1: interrupted,"),
        "{logs}"
    );
    assert!(
        logs.contains("== run 1, node `slow`, attempt 2: succeeded,"),
        "{logs}"
    );
    assert!(!logs.contains(": running,"), "{logs}");
}

#[test]
fn a_second_run_is_refused_while_the_first_is_alive() {
    let dir = directory("overlap");
    let mut child = start_run(&dir);
    wait_until_slow_runs(&dir);
    let param = format!("dir={}", dir.display());
    let second = finish(&dir, &["run", "marks", "-p", &param]);
    assert_eq!(second.status.code(), Some(2));
    let message = text(&second.stderr);
    assert_eq!(
        message,
        format!(
            "error: workflow `marks` is already running (run 1, process {} on {}); it never runs twice at once\n",
            child.id(),
            workflow_core::runner::store::host()
        )
    );

    std::fs::write(dir.join("release"), "").unwrap();
    assert!(child.wait().unwrap().success());
    let third = finish(&dir, &["run", "marks", "-p", &param]);
    assert!(
        third.status.success(),
        "once the first run ended, a new one starts: {}",
        text(&third.stderr)
    );
}

#[test]
fn a_paused_workflow_does_not_run_until_resumed() {
    let dir = directory("pause");
    std::fs::write(dir.join("release"), "").unwrap();
    assert!(finish(&dir, &["pause", "marks"]).status.success());
    let param = format!("dir={}", dir.display());
    let refused = finish(&dir, &["run", "marks", "-p", &param]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        text(&refused.stderr),
        "error: workflow `marks` is paused (paused by hand); `resume marks` lets it run again\n"
    );
    assert!(log(&dir).is_empty());
    assert_eq!(
        text(&finish(&dir, &["resume", "marks"]).stdout),
        "workflow `marks` is resumed\n"
    );
    assert!(
        finish(&dir, &["run", "marks", "-p", &param])
            .status
            .success()
    );
    assert_eq!(log(&dir), ["first", "slow started", "slow", "last"]);
}

/// Each node's status and output in run 1 of a state file.
fn outputs(state: &Path) -> Vec<(String, String, Option<serde_json::Value>)> {
    let store = workflow_core::runner::store::Store::open(state).unwrap();
    let outputs = store.outputs(1).unwrap();
    store
        .nodes(1)
        .unwrap()
        .into_iter()
        .map(|node| {
            let output = outputs
                .iter()
                .find(|(name, _)| *name == node.node)
                .map(|(_, value)| value.clone());
            (node.node, node.status.as_str().to_owned(), output)
        })
        .collect()
}

#[test]
fn process_isolation_gives_the_same_outputs_as_threads() {
    let threads = directory("isolation-threads");
    let processes = directory("isolation-processes");
    for (dir, mode) in [(&threads, "thread"), (&processes, "process")] {
        let output = finish(
            dir,
            &["run", "arith", "-p", "values=4,5,6", "--isolation", mode],
        );
        assert!(output.status.success(), "{mode}: {}", text(&output.stderr));
    }
    let by_threads = outputs(&threads.join("state.sqlite"));
    assert_eq!(by_threads, outputs(&processes.join("state.sqlite")));
    let text_node = by_threads
        .iter()
        .find(|(node, _, _)| node == "text")
        .unwrap();
    assert_eq!(text_node.2, Some(serde_json::json!("sum: 145")));
    assert!(
        by_threads
            .iter()
            .any(|(node, status, _)| node == "sum.false" && status == "skipped")
    );
}

/// A task printing with `println!`/`eprintln!` from a runner thread finishes, under either
/// isolation, whatever its output is connected to.
#[test]
fn tasks_that_print_finish_under_either_isolation() {
    for mode in ["thread", "process"] {
        for (label, to_null) in [("piped", false), ("to-null", true)] {
            let dir = directory(&format!("loud-{mode}-{label}"));
            let mut command = command(&dir, &["run", "loud_nodes", "--isolation", mode]);
            if to_null {
                command.stdout(Stdio::null()).stderr(Stdio::null());
            } else {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
            let mut child = command.spawn().unwrap();
            // Read the pipes while waiting, so a full pipe cannot be what stops the run.
            let readers: Vec<_> = [
                child
                    .stdout
                    .take()
                    .map(|pipe| Box::new(pipe) as Box<dyn std::io::Read + Send>),
                child
                    .stderr
                    .take()
                    .map(|pipe| Box::new(pipe) as Box<dyn std::io::Read + Send>),
            ]
            .into_iter()
            .flatten()
            .map(|mut pipe| {
                std::thread::spawn(move || {
                    let mut text = String::new();
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
                    text
                })
            })
            .collect();
            let started = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break Some(status);
                }
                if started.elapsed() > Duration::from_secs(60) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            let texts: Vec<String> = readers
                .into_iter()
                .map(|reader| reader.join().unwrap())
                .collect();
            let status = status.unwrap_or_else(|| panic!("{mode}, {label}: the run hung"));
            assert!(status.success(), "{mode}, {label}: {texts:?}");
            // On a thread, what a task prints goes where the runner's own output goes.
            if !to_null && mode == "thread" {
                assert_eq!(texts[0].matches("stdout line 199").count(), 2, "{mode}");
                assert_eq!(texts[1].matches("stderr line 199").count(), 2, "{mode}");
            }
            let nodes = outputs(&dir.join("state.sqlite"));
            assert_eq!(nodes.len(), 2);
            assert!(nodes.iter().all(|(_, status, output)| status == "succeeded"
                && *output == Some(serde_json::json!(200))));
        }
    }
}

#[test]
fn a_process_past_its_timeout_is_killed() {
    let dir = directory("isolation-timeout");
    let started = Instant::now();
    let output = finish(&dir, &["run", "sleepy", "--isolation", "process"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the 30-second task was not left to finish"
    );
    let nodes = outputs(&dir.join("state.sqlite"));
    assert_eq!(nodes[0].1, "timed_out");
    let store = workflow_core::runner::store::Store::open(&dir.join("state.sqlite")).unwrap();
    let message = store.nodes(1).unwrap()[0]
        .message
        .clone()
        .unwrap_or_default();
    assert_eq!(message, "attempt 1: timed out; its process was killed");
}

#[test]
fn a_queued_second_run_waits_for_the_first() {
    let dir = directory("queue");
    let param = format!("dir={}", dir.display());
    let spawn = || {
        command(&dir, &["run", "queued", "-p", &param])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = spawn();
    wait_until_slow_runs(&dir);
    let mut second = spawn();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second run waits while the first is active"
    );
    assert_eq!(
        log(&dir),
        ["first", "slow started"],
        "and has not started any node"
    );
    std::fs::write(dir.join("release"), "").unwrap();
    assert!(first.wait().unwrap().success());
    assert!(second.wait().unwrap().success());
    assert_eq!(
        log(&dir),
        [
            "first",
            "slow started",
            "slow",
            "last",
            "first",
            "slow started",
            "slow",
            "last"
        ]
    );
}

#[test]
fn a_run_whose_process_died_does_not_block_a_new_one() {
    let dir = directory("dead");
    let mut child = start_run(&dir);
    wait_until_slow_runs(&dir);
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::write(dir.join("release"), "").unwrap();
    let param = format!("dir={}", dir.display());
    let fresh = finish(&dir, &["run", "marks", "-p", &param]);
    assert!(fresh.status.success(), "{}", text(&fresh.stderr));
    assert_eq!(
        text(&fresh.stdout),
        "run 2 of marks succeeded: 3 succeeded\n"
    );
}

fn tick(dir: &Path, workflow: &str, now: &str) -> Output {
    let param = format!("dir={}", dir.display());
    finish(dir, &["tick", workflow, "-p", &param, "--now", now])
}

fn said(output: &Output) -> String {
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}

#[test]
fn tick_starts_when_due_never_while_running_and_re_runs_a_failure_at_once() {
    let dir = directory("tick");
    let param = format!("dir={}", dir.display());
    // A run started by hand is live: a tick at a fire time waits for it.
    let mut child = command(&dir, &["run", "ticking", "-p", &param])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_slow_runs(&dir);
    let busy = tick(&dir, "ticking", "2026-11-21T10:02:00Z");
    assert_eq!(busy.status.code(), Some(0), "{}", said(&busy));
    assert!(
        said(&busy).contains(
            "ticking: due (scheduled for 2026-11-21T10:00:00+00:00), but run 1 is still running"
        ),
        "{}",
        said(&busy)
    );
    std::fs::write(dir.join("release"), "").unwrap();
    assert!(child.wait().unwrap().success());

    // The fire time at 10:00 has not been run for: the next tick runs it, once.
    let ran = tick(&dir, "ticking", "2026-11-21T10:04:00Z");
    assert_eq!(ran.status.code(), Some(0), "{}", said(&ran));
    assert!(
        said(&ran).contains("ticking: due: scheduled for 2026-11-21T10:00:00+00:00"),
        "{}",
        said(&ran)
    );
    let again = tick(&dir, "ticking", "2026-11-21T10:05:00Z");
    assert!(
        said(&again).contains("not due: the next fire time is 2026-11-21T11:00:00+00:00"),
        "{}",
        said(&again)
    );
    // Three fire times missed: `catch_up = "latest"` runs the latest one only.
    let late = tick(&dir, "ticking", "2026-11-21T13:30:00Z");
    assert!(
        said(&late).contains("due: scheduled for 2026-11-21T13:00:00+00:00"),
        "{}",
        said(&late)
    );

    // A failure: the next tick re-runs the failed run at once, keeping what succeeded.
    std::fs::write(dir.join("fail"), "").unwrap();
    let failed = tick(&dir, "ticking", "2026-11-21T14:01:00Z");
    assert_eq!(failed.status.code(), Some(1), "{}", said(&failed));
    std::fs::remove_file(dir.join("fail")).unwrap();
    let firsts_before = log(&dir).iter().filter(|line| *line == "first").count();
    let rerun = tick(&dir, "ticking", "2026-11-21T14:06:00Z");
    assert_eq!(rerun.status.code(), Some(0), "{}", said(&rerun));
    assert!(
        said(&rerun).contains("run 4 failed; re-running it at once"),
        "{}",
        said(&rerun)
    );
    assert_eq!(
        log(&dir).iter().filter(|line| *line == "first").count(),
        firsts_before,
        "the resumed run redid a node that had succeeded"
    );
    let history = finish(&dir, &["history", "ticking"]);
    assert!(
        text(&history.stdout).contains("scheduled for 2026-11-21T14:00:00+00:00"),
        "{}",
        text(&history.stdout)
    );

    // Paused: a tick never starts it.
    assert!(finish(&dir, &["pause", "ticking"]).status.success());
    let paused = tick(&dir, "ticking", "2026-11-21T15:01:00Z");
    assert_eq!(paused.status.code(), Some(0));
    assert!(
        said(&paused).contains("ticking: paused"),
        "{}",
        said(&paused)
    );

    // An upstream success starts the downstream workflow once.
    let downstream = tick(&dir, "downstream", "2026-11-21T15:02:00Z");
    assert!(
        said(&downstream).contains("due: workflow `ticking` succeeded (run 4)"),
        "{}",
        said(&downstream)
    );
    let again = tick(&dir, "downstream", "2026-11-21T15:03:00Z");
    assert!(
        said(&again).contains("not due: waiting for workflow `ticking` to succeed again"),
        "{}",
        said(&again)
    );
}

#[test]
fn tick_runs_for_new_files_once() {
    let dir = directory("inbox");
    let inbox = Path::new("/tmp/workflow-fixture-inbox");
    let _ = std::fs::remove_dir_all(inbox);
    std::fs::create_dir_all(inbox).unwrap();
    let now = "2026-11-21T10:00:00Z";
    let nothing = tick(&dir, "inbox", now);
    assert!(
        said(&nothing).contains(
            "not due: waiting for a new file matching `/tmp/workflow-fixture-inbox/*.csv`"
        ),
        "{}",
        said(&nothing)
    );
    std::fs::write(inbox.join("a.csv"), "x").unwrap();
    std::fs::write(inbox.join("b.txt"), "x").unwrap();
    let ran = tick(&dir, "inbox", now);
    assert!(
        said(&ran).contains("due: 1 new file(s) match"),
        "{}",
        said(&ran)
    );
    assert!(said(&tick(&dir, "inbox", now)).contains("inbox: not due"));
    // A newer file starts another run.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(inbox.join("c.csv"), "x").unwrap();
    assert!(said(&tick(&dir, "inbox", now)).contains("due: 1 new file(s) match"));
    assert_eq!(log(&dir).iter().filter(|line| *line == "inbox").count(), 2);
    let _ = std::fs::remove_dir_all(inbox);
}

#[test]
fn a_second_tick_while_one_runs_does_nothing() {
    let dir = directory("tick-lock");
    let param = format!("dir={}", dir.display());
    let mut first = command(
        &dir,
        &[
            "tick",
            "ticking",
            "-p",
            &param,
            "--now",
            "2026-11-21T10:01:00Z",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    wait_until_slow_runs(&dir);
    let second = tick(&dir, "ticking", "2026-11-21T10:02:00Z");
    assert_eq!(second.status.code(), Some(0));
    assert!(
        said(&second).contains("another tick is deciding or running it; nothing to do"),
        "{}",
        said(&second)
    );
    std::fs::write(dir.join("release"), "").unwrap();
    assert!(first.wait().unwrap().success());
}

#[test]
fn overlap_replace_stops_the_active_run() {
    let dir = directory("replace");
    let param = format!("dir={}", dir.display());
    let mut old = command(&dir, &["run", "replaceable", "-p", &param])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_slow_runs(&dir);
    let new = command(&dir, &["run", "replaceable", "-p", &param])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The old run's process ends (by SIGTERM) before the new run's slow node waits.
    let status = old.wait().unwrap();
    assert!(!status.success());
    std::fs::write(dir.join("release"), "").unwrap();
    let new = new.wait_with_output().unwrap();
    assert!(new.status.success(), "{}", said(&new));
    assert!(
        said(&new).contains("stopping run 1 (process"),
        "{}",
        said(&new)
    );
    let history = text(&finish(&dir, &["history", "replaceable"]).stdout);
    assert!(history.contains("cancelled"), "{history}");
    let status = text(&finish(&dir, &["status", "replaceable", "--run", "1"]).stdout);
    assert!(
        status.starts_with("run 1 of replaceable: cancelled"),
        "{status}"
    );
    assert!(
        status.contains("\nwhy: replaced by a newer run (process "),
        "{status}"
    );
    assert!(
        status.contains("attempt 1: replaced by a newer run (process "),
        "the slow node names why it was cut: {status}"
    );
}

#[test]
fn progress_is_log_lines_off_a_terminal_and_a_bar_on_one() {
    let dir = directory("progress");
    let logged = finish(&dir, &["run", "arith"]);
    assert!(logged.status.success());
    let lines = text(&logged.stderr);
    for expected in [
        "INFO started workflow=arith node=tripled attempt=1",
        "INFO succeeded workflow=arith node=text",
    ] {
        assert!(lines.contains(expected), "{expected:?} not in {lines}");
    }
    let failed = finish(&dir, &["run", "sleepy"]);
    assert!(
        text(&failed.stderr).contains(
            "WARN timed_out workflow=sleepy node=late reason=\"attempt 1: timed out after 1s\""
        ),
        "{}",
        text(&failed.stderr)
    );
    // On a terminal (util-linux `script` gives the run one), a bar counts the nodes instead.
    let state = dir.join("state.sqlite");
    let terminal = Command::new("script")
        .args(["-qec"])
        .arg(format!("{FIXTURE} run arith --state {}", state.display()))
        .arg("/dev/null")
        .env("TERM", "xterm")
        .output()
        .expect("`script` (util-linux) runs");
    let screen = text(&terminal.stdout);
    assert!(terminal.status.success(), "{screen}");
    assert!(screen.contains("4/4"), "{screen}");
    assert!(
        screen.contains("sum.false: skipped (its branch took another arm than `false`)"),
        "{screen}"
    );
    assert!(!screen.contains("INFO started"), "{screen}");
}

/// The ledger's lines, for `quick_chains`.
fn ledger_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

// A run killed with SIGKILL at any point of its life has recorded every attempt it started
// (a step is recorded before its attempts are handed to workers), loses no node it recorded
// as succeeded, and its resumption runs those nodes never again. Killed at five points, from
// its first steps to its last.
#[test]
fn a_run_killed_at_any_step_recorded_every_attempt_it_started() {
    for (round, kill_after) in [3usize, 20, 41, 67, 96].into_iter().enumerate() {
        let dir = directory(&format!("quick-{round}"));
        let param = format!("dir={}", dir.display());
        let mut child = command(&dir, &["run", "quick_chains", "-p", &param])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while ledger_lines(&dir).len() < kill_after {
            assert!(Instant::now() < deadline, "the run never got going");
            std::thread::sleep(Duration::from_micros(200));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let executed = ledger_lines(&dir);

        let state = rusqlite::Connection::open(dir.join("state.sqlite")).unwrap();
        let attempts: Vec<String> = state
            .prepare("SELECT node FROM attempts WHERE run_id = 1")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let succeeded: Vec<String> = state
            .prepare("SELECT node FROM nodes WHERE run_id = 1 AND status = 'succeeded' AND output IS NOT NULL")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        drop(state);
        for line in &executed {
            if let Some(node) = line.strip_prefix("start ") {
                assert!(
                    attempts.iter().any(|attempt| attempt == node),
                    "round {round}: `{node}` ran without a recorded attempt; recorded {attempts:?}"
                );
            }
        }
        for node in &succeeded {
            assert!(
                executed.contains(node),
                "round {round}: `{node}` is recorded as succeeded but never finished"
            );
        }

        let resumed = finish(&dir, &["run", "quick_chains", "--resume", "1"]);
        assert!(
            resumed.status.success(),
            "round {round}: {}",
            text(&resumed.stderr)
        );
        assert_eq!(
            text(&resumed.stdout),
            "run 1 of quick_chains succeeded: 50 succeeded\n",
            "round {round}"
        );
        let all = ledger_lines(&dir);
        for chain in ["a", "b"] {
            for index in 1..=25 {
                let node = format!("{chain}{index}");
                let started = all
                    .iter()
                    .filter(|line| **line == format!("start {node}"))
                    .count();
                let recorded = succeeded.contains(&node);
                if recorded {
                    assert_eq!(
                        started, 1,
                        "round {round}: `{node}` had succeeded and ran again"
                    );
                } else {
                    assert!(
                        (1..=2).contains(&started),
                        "round {round}: `{node}` started {started} times"
                    );
                }
            }
        }
    }
}

// A permanent failure is not retried under either isolation: `exec-task` tells it by exiting
// 3, and the runner reads that exit status.
#[test]
fn a_permanent_failure_is_not_retried_in_its_own_process() {
    for isolation in ["thread", "process"] {
        let dir = directory(&format!("permanent-{isolation}"));
        let param = format!("dir={}", dir.display());
        let run = finish(
            &dir,
            &["run", "unfixable", "-p", &param, "--isolation", isolation],
        );
        assert_eq!(run.status.code(), Some(1), "{isolation}");
        assert_eq!(log(&dir), ["tried"], "{isolation}: one attempt");
        let status = text(&finish(&dir, &["status", "unfixable"]).stdout);
        assert!(
            status.contains(
                "attempt 1: the file `config.toml` is missing (a permanent failure: not retried)"
            ),
            "{isolation}: {status}"
        );
    }
    let dir = directory("permanent-exec");
    std::fs::write(
        dir.join("inputs.json"),
        format!(
            "{{\"dir\": {}}}",
            serde_json::Value::from(dir.display().to_string())
        ),
    )
    .unwrap();
    let exec = Command::new(FIXTURE)
        .args(["exec-task", "unfixable", "attempt", "--inputs"])
        .arg(dir.join("inputs.json"))
        .arg("--output")
        .arg(dir.join("output.json"))
        .output()
        .unwrap();
    assert_eq!(exec.status.code(), Some(3));
    assert_eq!(
        text(&exec.stderr),
        "node `attempt` of workflow `unfixable` failed: the file `config.toml` is missing\n"
    );
}

// Small mistakes on the command line are said, not ignored: no node could ever run with
// `--parallelism 0`; a log level that is not one is warned about; a run of another workflow
// is not resumed under this one's name.
#[test]
fn command_line_mistakes_are_said() {
    let dir = directory("mistakes");
    let param = format!("dir={}", dir.display());
    let zero = finish(&dir, &["run", "marks", "-p", &param, "--parallelism", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        text(&zero.stderr).starts_with(
            "error: invalid value '0' for '--parallelism <N>': at least one node must be able to run: give 1 or more"
        ),
        "{}",
        text(&zero.stderr)
    );
    assert!(log(&dir).is_empty(), "nothing ran");

    std::fs::write(dir.join("release"), "").unwrap();
    let garbage = command(&dir, &["run", "marks", "-p", &param])
        .env("WORKFLOW_LOG", "loud")
        .output()
        .unwrap();
    assert!(garbage.status.success(), "{}", text(&garbage.stderr));
    assert!(
        text(&garbage.stderr).starts_with(
            "warning: WORKFLOW_LOG=loud is not a log level (trace, debug, info, warn or error); logging at info\n"
        ),
        "{}",
        text(&garbage.stderr)
    );
    let upper = command(&dir, &["status", "marks"])
        .env("WORKFLOW_LOG", "DEBUG")
        .output()
        .unwrap();
    assert!(
        !text(&upper.stderr).contains("warning"),
        "{}",
        text(&upper.stderr)
    );

    let other = finish(&dir, &["run", "quick_chains", "--resume", "1"]);
    assert_eq!(other.status.code(), Some(2));
    assert_eq!(
        text(&other.stderr),
        "error: run 1 is a run of workflow `marks`, not `quick_chains`; resume it with `run marks --resume 1`\n"
    );
}

const CHATTY_TOKEN: &str = "tok-SECRET-4711";

fn chatty_run(dir: &Path, isolation: &str) -> Output {
    let param = format!("dir={}", dir.display());
    command(
        dir,
        &["run", "chatty_node", "-p", &param, "--isolation", isolation],
    )
    .env("WORKFLOW_TEST_CHATTY_TOKEN", CHATTY_TOKEN)
    .output()
    .unwrap()
}

/// The lines of `logs` output without their timestamps; headers as they are.
fn log_lines(output: &Output) -> Vec<String> {
    text(&output.stdout)
        .lines()
        .map(|line| match line.split_once(' ') {
            Some((stamp, rest)) if chrono::DateTime::parse_from_rfc3339(stamp).is_ok() => {
                rest.to_owned()
            }
            _ => line.to_owned(),
        })
        .collect()
}

#[test]
fn each_attempt_has_its_log_in_order_with_secrets_masked() {
    for isolation in ["process", "thread"] {
        let dir = directory(&format!("chatty-{isolation}"));
        let run = chatty_run(&dir, isolation);
        assert!(run.status.success(), "{isolation}: {}", said(&run));
        let logs = finish(&dir, &["logs", "chatty_node"]);
        assert!(logs.status.success(), "{}", said(&logs));
        let lines = log_lines(&logs);
        let all = lines.join("\n");
        assert!(
            !all.contains(CHATTY_TOKEN),
            "{isolation}: the secret is in the log:\n{all}"
        );
        let headers: Vec<&String> = lines
            .iter()
            .filter(|line| line.starts_with("== "))
            .collect();
        assert_eq!(headers.len(), 3, "{isolation}:\n{all}");
        for (index, status) in ["failed", "failed", "succeeded"].iter().enumerate() {
            let attempt = index + 1;
            assert!(
                headers[index].starts_with(&format!(
                    "== run 1, node `talk`, attempt {attempt}: {status}, started "
                )),
                "{isolation}: {}",
                headers[index]
            );
            // This attempt's part of the output.
            let start = lines
                .iter()
                .position(|line| line == headers[index])
                .unwrap();
            let end = headers.get(index + 1).map_or(lines.len(), |next| {
                lines.iter().position(|line| line == *next).unwrap()
            });
            let part = &lines[start + 1..end];
            let place = if isolation == "thread" {
                "on a thread of the runner"
            } else {
                "in a process of its own"
            };
            assert_eq!(
                part.first().map(String::as_str),
                Some(format!("runner: attempt {attempt} of node `talk` started, {place}").as_str()),
                "{isolation}: {part:#?}"
            );
            let has = |wanted: &str| part.iter().any(|line| line == wanted);
            assert!(
                has(&format!(
                    "log: INFO attempt {attempt} event with *** attempt={attempt}"
                )),
                "{isolation}: {part:#?}"
            );
            assert!(
                has(&format!("stdout: command says {attempt}")),
                "{isolation}: {part:#?}"
            );
            assert!(has("stderr: command complains"), "{isolation}: {part:#?}");
            if isolation == "process" {
                // Its own prints, in order, with the secret masked.
                let printed: Vec<&String> = part
                    .iter()
                    .filter(|line| line.starts_with(&format!("stdout: attempt {attempt} line")))
                    .collect();
                let expected: Vec<String> = (1..=10)
                    .map(|line| {
                        if line == 5 {
                            format!("stdout: attempt {attempt} line 5 token=***")
                        } else {
                            format!("stdout: attempt {attempt} line {line}")
                        }
                    })
                    .collect();
                assert_eq!(printed, expected.iter().collect::<Vec<_>>(), "{part:#?}");
                assert!(
                    has(&format!("stderr: attempt {attempt} to stderr")),
                    "{part:#?}"
                );
            }
            let end_line = part.last().unwrap();
            if attempt < 3 {
                assert_eq!(
                    *end_line,
                    format!("runner: failed: attempt {attempt} failed with ***"),
                    "{isolation}"
                );
            } else {
                assert_eq!(end_line, "runner: succeeded", "{isolation}");
            }
        }
        // One attempt, and the run's state holds no secret either.
        let second = finish(
            &dir,
            &["logs", "chatty_node", "--node", "talk", "--attempt", "2"],
        );
        let second = log_lines(&second);
        assert_eq!(
            second.iter().filter(|line| line.starts_with("== ")).count(),
            1,
            "{second:#?}"
        );
        assert!(second[0].contains("attempt 2: failed"), "{second:#?}");
        let status = finish(&dir, &["status", "chatty_node"]);
        assert!(
            !text(&status.stdout).contains(CHATTY_TOKEN),
            "{}",
            said(&status)
        );
        assert!(text(&status.stdout).contains("logs: "), "{}", said(&status));
        // Mistakes are said, with exit 2.
        let wrong = finish(&dir, &["logs", "chatty_node", "--node", "tlak"]);
        assert_eq!(wrong.status.code(), Some(2));
        assert!(
            text(&wrong.stderr).contains("has no node `tlak` (did you mean `talk`?)"),
            "{}",
            said(&wrong)
        );
        let wrong = finish(&dir, &["logs", "chatty_node", "--run", "9"]);
        assert_eq!(wrong.status.code(), Some(2), "{}", said(&wrong));
    }
}

#[test]
fn prune_removes_old_runs_and_their_logs_but_keeps_the_latest() {
    let dir = directory("prune");
    for _ in 0..2 {
        let _ = std::fs::remove_file(dir.join("attempts"));
        let run = chatty_run(&dir, "thread");
        assert!(run.status.success(), "{}", said(&run));
    }
    let logs = dir.join("state.sqlite.logs");
    assert!(logs.join("run-1").is_dir() && logs.join("run-2").is_dir());
    let nothing = finish(&dir, &["prune", "--older-than", "1h"]);
    assert_eq!(
        text(&nothing.stdout),
        "no run to remove\n",
        "{}",
        said(&nothing)
    );
    std::thread::sleep(Duration::from_millis(1100));
    let dry = finish(&dir, &["prune", "--older-than", "1s", "--dry-run"]);
    assert_eq!(
        text(&dry.stdout),
        "would remove 1 run and its logs: 1\n",
        "{}",
        said(&dry)
    );
    assert!(logs.join("run-1").is_dir());
    let pruned = finish(&dir, &["prune", "--older-than", "1s"]);
    assert_eq!(
        text(&pruned.stdout),
        "removed 1 run and its logs: 1\n",
        "{}",
        said(&pruned)
    );
    assert!(!logs.join("run-1").exists());
    assert!(logs.join("run-2").is_dir());
    let gone = finish(&dir, &["logs", "chatty_node", "--run", "1"]);
    assert_eq!(gone.status.code(), Some(2), "{}", said(&gone));
    let history = finish(&dir, &["history", "chatty_node"]);
    assert_eq!(
        text(&history.stdout).lines().count(),
        1,
        "{}",
        said(&history)
    );
    let bad = finish(&dir, &["prune", "--older-than", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("`soon` is not an age such as 30d, 12h or 2w"),
        "{}",
        said(&bad)
    );
}

#[test]
fn a_timed_out_thread_attempt_says_so_in_its_log() {
    let dir = directory("given-up");
    let run = finish(&dir, &["run", "sleepy"]);
    assert_eq!(run.status.code(), Some(1), "{}", said(&run));
    let logs = log_lines(&finish(&dir, &["logs", "sleepy"]));
    assert!(
        logs.iter()
            .any(|line| line == "runner: given up: timed out after 1s"),
        "{logs:#?}"
    );
}

#[test]
fn logs_of_a_new_state_file_are_its_own_and_mistakes_are_said() {
    let dir = directory("logs-mistakes");
    for _ in 0..2 {
        let run = finish(&dir, &["run", "labelled"]);
        assert!(run.status.success(), "{}", said(&run));
        // A state file made anew (deleted, or restored from an older copy) numbers its
        // runs from 1 again: the logs of its run 1 are only its own.
        let logs = text(&finish(&dir, &["logs", "labelled"]).stdout);
        assert_eq!(logs.matches("started, on a thread").count(), 1, "{logs}");
        std::fs::remove_file(dir.join("state.sqlite")).unwrap();
    }
    // Commands that read runs say a missing state file and make none (a mistyped path must
    // not become a new, empty state file).
    for command in ["logs", "status", "history"] {
        let missing = finish(&dir, &[command, "labelled"]);
        assert_eq!(missing.status.code(), Some(2), "{}", said(&missing));
        assert!(
            text(&missing.stderr).contains("no state file at"),
            "{command}: {}",
            said(&missing)
        );
        assert!(
            !dir.join("state.sqlite").exists(),
            "`{command}` made a state file"
        );
    }
    let run = finish(&dir, &["run", "labelled"]);
    assert!(run.status.success(), "{}", said(&run));
    let nothing = finish(&dir, &["logs", "labelled", "--attempt", "9"]);
    assert_eq!(nothing.status.code(), Some(2), "{}", said(&nothing));
    assert!(
        text(&nothing.stderr).contains("no node has an attempt 9"),
        "{}",
        said(&nothing)
    );
    let overflow = finish(&dir, &["prune", "--older-than", "1000000y"]);
    assert_eq!(overflow.status.code(), Some(2), "{}", said(&overflow));
}

#[test]
fn prune_keeps_the_runs_tick_decides_by() {
    let dir = directory("prune-tick");
    std::fs::write(dir.join("release"), "").unwrap();
    let param = format!("dir={}", dir.display());
    let upstream = finish(&dir, &["run", "ticking", "-p", &param]);
    assert!(upstream.status.success(), "{}", said(&upstream));
    let first = finish(&dir, &["tick", "downstream", "-p", &param]);
    assert!(
        text(&first.stdout).contains("succeeded (run 1)"),
        "{}",
        said(&first)
    );
    // A later run by hand is the workflow's latest; the run the trigger started for is not.
    let by_hand = finish(&dir, &["run", "downstream", "-p", &param]);
    assert!(by_hand.status.success(), "{}", said(&by_hand));
    std::thread::sleep(Duration::from_millis(1100));
    let pruned = finish(&dir, &["prune", "--older-than", "1s"]);
    assert!(pruned.status.success(), "{}", said(&pruned));
    let again = finish(&dir, &["tick", "downstream", "-p", &param]);
    assert!(
        text(&again.stdout).starts_with("downstream: not due"),
        "the trigger fired again after prune: {}",
        said(&again)
    );
}

#[test]
fn a_run_resumed_by_a_changed_workflow_says_what_changed() {
    let dir = directory("changed");
    std::fs::write(dir.join("fail"), "").unwrap();
    let param = format!("dir={}", dir.display());
    let failed = finish(&dir, &["run", "evolving", "-p", &param]);
    assert_eq!(failed.status.code(), Some(1), "{}", said(&failed));
    let history = text(&finish(&dir, &["history", "evolving"]).stdout);
    let status = text(&finish(&dir, &["status", "evolving"]).stdout);
    let fingerprint = status
        .lines()
        .find_map(|line| line.strip_prefix("plan: sha256:"))
        .unwrap_or_else(|| panic!("{status}"))
        .to_owned();
    assert_eq!(fingerprint.len(), 64);
    assert!(
        history.contains(&format!("plan {}", &fingerprint[..12])),
        "{history}"
    );
    // Resumed by the same binary: nothing to say.
    let same = finish(&dir, &["run", "evolving", "--resume", "1"]);
    assert!(
        !text(&same.stderr).contains("changed since"),
        "{}",
        said(&same)
    );
    // Resumed by the next version: it says what changed, and goes on with its plan.
    std::fs::remove_file(dir.join("fail")).unwrap();
    let changed = Command::new(env!("CARGO_BIN_EXE_runner-fixture-changed"))
        .args(["run", "evolving", "--resume", "1", "--state"])
        .arg(dir.join("state.sqlite"))
        .output()
        .unwrap();
    assert!(changed.status.success(), "{}", said(&changed));
    let stderr = text(&changed.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: workflow `evolving` changed since run 1 started (plan {} → ",
            &fingerprint[..12]
        )) && stderr
            .contains("): node `announced` added; the run goes on with the plan it started with"),
        "{stderr}"
    );
}

/// `binary ARGUMENTS PATH`, waited for.
fn with_path(binary: &str, arguments: &[&str], path: impl AsRef<Path>) -> Output {
    Command::new(binary)
        .args(arguments)
        .arg(path.as_ref())
        .output()
        .unwrap()
}

/// Asserts that a command was refused as bad input (exit 2), saying `reason`.
fn refused_with(output: &Output, reason: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", said(output));
    assert!(text(&output.stderr).contains(reason), "{}", said(output));
}

#[test]
fn diff_gates_a_change_before_it_ships() {
    let dir = directory("diff");
    let baseline = dir.join("evolving.plan.json");
    let param = format!("dir={}", dir.display());
    let saved = with_path(
        FIXTURE,
        &["plan", "evolving", "-p", &param, "--out"],
        &baseline,
    );
    assert!(saved.status.success(), "{}", said(&saved));
    assert!(saved.stdout.is_empty(), "{}", said(&saved));
    // The same source: nothing changed, exit 0.
    let same = with_path(
        FIXTURE,
        &["diff", "evolving", "-p", &param, "--against"],
        &baseline,
    );
    assert_eq!(same.status.code(), Some(0), "{}", said(&same));
    assert!(
        text(&same.stdout).starts_with("workflow `evolving`: no change (plan "),
        "{}",
        said(&same)
    );
    // The next version: what it adds, exit 1; as JSON for tools too.
    let changed = with_path(
        env!("CARGO_BIN_EXE_runner-fixture-changed"),
        &["diff", "evolving", "-p", &param, "--against"],
        &baseline,
    );
    assert_eq!(changed.status.code(), Some(1), "{}", said(&changed));
    let shown = text(&changed.stdout);
    assert!(shown.contains("graph:\n  + node `announced` (task `announce`)\n  + edge `checked` → `announced` (data, input `checked`)\n"), "{shown}");
    let json = with_path(
        env!("CARGO_BIN_EXE_runner-fixture-changed"),
        &[
            "diff",
            "evolving",
            "-p",
            &param,
            "--format",
            "json",
            "--against",
        ],
        &baseline,
    );
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["graph"][0]["change"], "added");
    assert_ne!(value["before"], value["after"]);
    // Bad input: exit 2 with what is wrong.
    std::fs::write(dir.join("broken.json"), "{").unwrap();
    let broken = with_path(
        FIXTURE,
        &["diff", "evolving", "--against"],
        dir.join("broken.json"),
    );
    refused_with(&broken, "is not a plan");
    let other = with_path(FIXTURE, &["diff", "labelled", "--against"], &baseline);
    refused_with(&other, "is a plan of workflow `evolving`, not `labelled`");
    // Two plan files.
    let plans = Command::new(FIXTURE)
        .args(["diff", "--plans"])
        .arg(&baseline)
        .arg(&baseline)
        .output()
        .unwrap();
    assert_eq!(plans.status.code(), Some(0), "{}", said(&plans));
}

/// `diff --against-export DIR`: an export directory carries its plan; the same binary finds
/// nothing to change, the next version says what changes in the plan and in each file (with a
/// unified diff), a file edited by hand after the export shows, and a directory without an
/// export, another workflow's export or a manifest naming files outside it are refused.
#[test]
fn diff_against_an_export_directory_says_what_the_deployed_files_become() {
    let dir = directory("diff-export");
    let exported = dir.join("systemd");
    let param = format!("dir={}", dir.display());
    let export = with_path(
        FIXTURE,
        &[
            "export", "evolving", "--target", "systemd", "-p", &param, "--out",
        ],
        &exported,
    );
    assert!(export.status.success(), "{}", said(&export));
    assert!(exported.join("evolving.export.json").is_file());
    let diff = |binary: &str, extra: &[&str]| {
        Command::new(binary)
            .args(["diff", "evolving", "--against-export"])
            .arg(&exported)
            .args(extra)
            .output()
            .unwrap()
    };
    let same = diff(FIXTURE, &[]);
    assert_eq!(same.status.code(), Some(0), "{}", said(&same));
    assert!(text(&same.stdout).starts_with("workflow `evolving`: no change"));
    let changed = diff(env!("CARGO_BIN_EXE_runner-fixture-changed"), &["--exports"]);
    assert_eq!(changed.status.code(), Some(1), "{}", said(&changed));
    let shown = text(&changed.stdout);
    assert!(
        shown.contains("  + node `announced` (task `announce`)\n"),
        "{shown}"
    );
    assert!(
        shown.contains("exports:\n  ~ systemd: changes evolving.service (+"),
        "{shown}"
    );
    assert!(
        shown.contains("\n--- a/evolving.service\n+++ b/evolving.service\n"),
        "{shown}"
    );
    assert!(shown.contains("\n-# Plan fingerprint: sha256:"), "{shown}");
    assert!(shown.contains("\n--- a/evolving.export.json\n"), "{shown}");
    // JSON for tools: the file's diff is there too.
    let json = diff(
        env!("CARGO_BIN_EXE_runner-fixture-changed"),
        &["--format", "json", "--exports"],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["exports"][0]["target"], "systemd");
    assert_eq!(value["exports"][0]["status"], "changed");
    assert!(
        value["exports"][0]["files"][0]["diff"]
            .as_str()
            .unwrap()
            .starts_with("--- a/evolving.service\n")
    );
    // The diffs applied inside the directory (hand edits: a line ending in CR LF, a last line
    // without a newline, a CR inside a line): the directory is then the next version's
    // export, manifest and all.
    let install = exported.join("evolving.INSTALL.md");
    let crlf = std::fs::read_to_string(&install)
        .unwrap()
        .replacen('\n', "\r\n", 1)
        + "a last line without a newline";
    std::fs::write(&install, crlf).unwrap();
    // A lone CR inside a line: part of the line, as patch reads it.
    let service_file = exported.join("evolving.service");
    let lone_cr = std::fs::read_to_string(&service_file)
        .unwrap()
        .replacen("Wants", "Wa\rnts", 1);
    std::fs::write(&service_file, lone_cr).unwrap();
    let patch = diff(env!("CARGO_BIN_EXE_runner-fixture-changed"), &["--exports"]);
    let unified: String = text(&patch.stdout)
        .split_once("\n\n")
        .map(|(_, diffs)| diffs.to_owned())
        .unwrap();
    std::fs::write(dir.join("next.patch"), unified).unwrap();
    let applied = Command::new("git")
        .args(["apply", "-p1"])
        .arg(dir.join("next.patch"))
        .current_dir(&exported)
        .output()
        .unwrap();
    assert!(applied.status.success(), "{}", said(&applied));
    let now_same = diff(env!("CARGO_BIN_EXE_runner-fixture-changed"), &[]);
    assert_eq!(now_same.status.code(), Some(0), "{}", said(&now_same));
    let fresh = dir.join("fresh");
    let export = with_path(
        env!("CARGO_BIN_EXE_runner-fixture-changed"),
        &[
            "export", "evolving", "--target", "systemd", "-p", &param, "--out",
        ],
        &fresh,
    );
    assert!(export.status.success(), "{}", said(&export));
    for file in std::fs::read_dir(&fresh).unwrap() {
        let file = file.unwrap().path();
        let name = file.file_name().unwrap();
        assert_eq!(
            std::fs::read(&file).unwrap(),
            std::fs::read(exported.join(name)).unwrap(),
            "{}",
            name.to_string_lossy()
        );
    }
    // Back to the first version's files, for what follows.
    std::fs::remove_dir_all(&exported).unwrap();
    let export = with_path(
        FIXTURE,
        &[
            "export", "evolving", "--target", "systemd", "-p", &param, "--out",
        ],
        &exported,
    );
    assert!(export.status.success(), "{}", said(&export));
    // The deployed file edited by hand: the same source now changes it back.
    let service = exported.join("evolving.service");
    let edited = std::fs::read_to_string(&service).unwrap() + "# edited by hand\n";
    std::fs::write(&service, edited).unwrap();
    let drifted = diff(FIXTURE, &[]);
    assert_eq!(drifted.status.code(), Some(1), "{}", said(&drifted));
    assert!(
        text(&drifted.stdout).contains(
            "(the same version)\nexports:\n  ~ systemd: changes evolving.service (+0 -1)\n"
        ),
        "{}",
        said(&drifted)
    );
    // Refusals, exit 2, nothing written.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let none = with_path(FIXTURE, &["diff", "evolving", "--against-export"], &empty);
    refused_with(&none, "holds no export of workflow `evolving`");
    let other = with_path(
        FIXTURE,
        &["diff", "labelled", "--against-export"],
        &exported,
    );
    assert_eq!(other.status.code(), Some(2), "{}", said(&other));
    let manifest = exported.join("evolving.export.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    value["files"][0] = serde_json::Value::from("../../etc/passwd");
    std::fs::write(&manifest, value.to_string()).unwrap();
    let outside = diff(FIXTURE, &[]);
    refused_with(&outside, "names a file outside its directory");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

/// What `diff` cannot compare honestly is refused with exit 2 and a reason: a plan of another
/// format version, a schedule zone no one knows, a node name the plan lacks, a FIFO (which
/// would block), a symbolic link or a non-UTF-8 file where an export wrote a file. A manifest
/// given to `--against` compares as its directory; the values a baseline was planned with are
/// planned again; a closed pipe keeps the exit status.
#[cfg(unix)]
#[test]
fn diff_refuses_what_it_cannot_compare_and_reuses_the_baselines_values() {
    let dir = directory("diff-refusals");
    let param = format!("dir={}", dir.display());
    let baseline = dir.join("evolving.plan.json");
    let saved = with_path(
        FIXTURE,
        &["plan", "evolving", "-p", &param, "--out"],
        &baseline,
    );
    assert!(saved.status.success(), "{}", said(&saved));
    let diff_against = |file: &Path| with_path(FIXTURE, &["diff", "evolving", "--against"], file);
    // The baseline's own `dir`, not given again: the same plan.
    let same = diff_against(&baseline);
    assert_eq!(same.status.code(), Some(0), "{}", said(&same));
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    let refused = |edit: &dyn Fn(&mut serde_json::Value), reason: &str| {
        let mut edited = plan.clone();
        edit(&mut edited);
        let file = dir.join("edited.json");
        std::fs::write(&file, edited.to_string()).unwrap();
        let output = diff_against(&file);
        assert_eq!(output.status.code(), Some(2), "{reason}: {}", said(&output));
        assert!(text(&output.stderr).contains(reason), "{}", said(&output));
    };
    refused(
        &|plan| plan["version"] = 999.into(),
        "a plan of format version 999, and this binary reads version 3",
    );
    refused(
        &|plan| {
            plan["edges"] = serde_json::json!([{"from": "ghost", "to": "checked", "kind": "order", "input": null}])
        },
        "it names a node `ghost` it does not have",
    );
    refused(
        &|plan| plan["operations"]["schedule"] = serde_json::json!({"cron": "0 1 * * *", "timezone": "Mars/Base", "catch_up": {"mode": "skip"}}),
        "the schedule's time zone `Mars/Base` is not an IANA zone",
    );
    refused(
        &|plan| plan["params"] = serde_json::json!([]),
        "node `checked` reads a parameter `dir` the plan does not declare",
    );
    refused(
        &|plan| plan["workflow"] = "evolving\u{1b}[2J".into(),
        "is not one a workflow declares",
    );
    let folder = diff_against(&dir);
    refused_with(&folder, "is a directory");
    // A pipe, as `--against <(git show base:plan.json)` gives it.
    let piped = Command::new(FIXTURE)
        .args(["diff", "evolving", "--against", "/dev/stdin"])
        .stdin(std::fs::File::open(&baseline).unwrap())
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(0), "{}", said(&piped));
    // An export directory: a link where a file was written, then a file that is not text.
    let exported = dir.join("argo");
    let export = with_path(
        FIXTURE,
        &[
            "export", "evolving", "--target", "argo", "-p", &param, "--out",
        ],
        &exported,
    );
    assert!(export.status.success(), "{}", said(&export));
    let manifest = exported.join("evolving.export.json");
    let as_directory = diff_against(&manifest);
    assert_eq!(
        as_directory.status.code(),
        Some(0),
        "{}",
        said(&as_directory)
    );
    let workflow_file = exported.join("evolving.workflow.yaml");
    std::fs::remove_file(&workflow_file).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &workflow_file).unwrap();
    let linked = diff_against(&manifest);
    refused_with(&linked, "is a symbolic link");
    assert!(!text(&linked.stdout).contains("root:"), "{}", said(&linked));
    std::fs::remove_file(&workflow_file).unwrap();
    std::fs::write(&workflow_file, b"\xff\xfe").unwrap();
    let binary = diff_against(&manifest);
    assert_eq!(binary.status.code(), Some(1), "{}", said(&binary));
    assert!(
        text(&binary.stdout).contains("changes evolving.workflow.yaml (+"),
        "{}",
        said(&binary)
    );
    // Gone: the change writes it again.
    std::fs::remove_file(&workflow_file).unwrap();
    let gone = diff_against(&manifest);
    assert_eq!(gone.status.code(), Some(1), "{}", said(&gone));
    assert!(
        text(&gone.stdout).contains("evolving.workflow.yaml (new)"),
        "{}",
        said(&gone)
    );
    // A reader that stops after the first line: the status is still the answer (1).
    let mut piped = Command::new(env!("CARGO_BIN_EXE_runner-fixture-changed"))
        .args(["diff", "evolving", "--exports", "--against"])
        .arg(&baseline)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(piped.stdout.take());
    assert_eq!(piped.wait().unwrap().code(), Some(1));
}

/// Two workflows exported into one directory (an Airflow DAG folder) keep their own files,
/// install notes included: each compares with its own export and finds nothing changed.
#[test]
fn workflows_exported_into_one_directory_keep_their_own_files() {
    let dir = directory("diff-shared");
    let dags = dir.join("dags");
    for workflow in ["labelled", "arith"] {
        let export = with_path(
            FIXTURE,
            &["export", workflow, "--target", "airflow", "--out"],
            &dags,
        );
        assert!(export.status.success(), "{}", said(&export));
    }
    for workflow in ["labelled", "arith"] {
        assert!(dags.join(format!("{workflow}.README.md")).is_file());
        let same = with_path(FIXTURE, &["diff", workflow, "--against-export"], &dags);
        assert_eq!(same.status.code(), Some(0), "{workflow}: {}", said(&same));
    }
}

/// A change inside a sub-workflow is a change of every workflow that runs it: the parent's
/// fingerprint moves and `diff` of the parent names the node and the sub-workflow.
#[test]
fn a_change_inside_a_sub_workflow_changes_its_parent() {
    let dir = directory("diff-nesting");
    let baseline = dir.join("nesting.plan.json");
    let saved = with_path(FIXTURE, &["plan", "nesting", "--out"], &baseline);
    assert!(saved.status.success(), "{}", said(&saved));
    let same = with_path(FIXTURE, &["diff", "nesting", "--against"], &baseline);
    assert_eq!(same.status.code(), Some(0), "{}", said(&same));
    let changed = with_path(
        env!("CARGO_BIN_EXE_runner-fixture-changed"),
        &["diff", "nesting", "--against"],
        &baseline,
    );
    assert_eq!(changed.status.code(), Some(1), "{}", said(&changed));
    let shown = text(&changed.stdout);
    assert!(
        shown.contains("graph:\n  ~ node `got`: workflow `inner_step` changed (plan "),
        "{shown}"
    );
    let fingerprint = |binary: &str| {
        let plan = Command::new(binary)
            .args(["plan", "nesting", "--format", "json"])
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&plan.stdout).unwrap()["fingerprint"].clone()
    };
    assert_ne!(
        fingerprint(FIXTURE),
        fingerprint(env!("CARGO_BIN_EXE_runner-fixture-changed"))
    );
}

/// A baseline saved by `plan --out` for a partitioned workflow holds the partition of the day
/// it was saved; a diff made later compares against that partition, so nothing shows as changed.
#[test]
fn a_baseline_saved_earlier_does_not_differ_by_its_partition() {
    let dir = directory("diff-partition");
    let baseline = dir.join("hours.plan.json");
    let saved = with_path(
        FIXTURE,
        &[
            "plan",
            "prague_hours",
            "--now",
            "2026-11-28T10:30:00Z",
            "--out",
        ],
        &baseline,
    );
    assert!(saved.status.success(), "{}", said(&saved));
    let later = with_path(
        FIXTURE,
        &[
            "diff",
            "prague_hours",
            "--now",
            "2026-11-30T08:00:00Z",
            "--against",
        ],
        &baseline,
    );
    assert_eq!(later.status.code(), Some(0), "{}", said(&later));
    // Given explicitly, another partition is a change of the parameter's value.
    let other = with_path(
        FIXTURE,
        &[
            "diff",
            "prague_hours",
            "-p",
            "hour=2026-11-30T07:00:00Z",
            "--against",
        ],
        &baseline,
    );
    assert_eq!(other.status.code(), Some(1), "{}", said(&other));
    assert!(
        text(&other.stdout).contains("parameters:\n  ~ `hour`: value 2026-11-28T09:00:00Z (the partition when planned) → 2026-11-30T07:00:00Z\n"),
        "{}",
        said(&other)
    );
}

#[cfg(unix)]
#[test]
fn logs_are_found_through_a_symbolic_link_to_the_state_file() {
    let dir = directory("linked-state");
    let run = finish(&dir, &["run", "labelled"]);
    assert!(run.status.success(), "{}", said(&run));
    let link = dir.join("link.sqlite");
    std::os::unix::fs::symlink(dir.join("state.sqlite"), &link).unwrap();
    let through_link = Command::new(FIXTURE)
        .args(["run", "labelled", "--state"])
        .arg(&link)
        .output()
        .unwrap();
    assert!(through_link.status.success(), "{}", said(&through_link));
    for state in [dir.join("state.sqlite"), link.clone()] {
        let logs = Command::new(FIXTURE)
            .args(["logs", "labelled", "--run", "2", "--state"])
            .arg(&state)
            .output()
            .unwrap();
        let shown = text(&logs.stdout);
        assert!(
            shown.contains("runner: succeeded"),
            "{}: {}",
            state.display(),
            said(&logs)
        );
    }
    assert!(!dir.join("link.sqlite.logs").exists());
}
