//! The run lifecycle's promises, tried as an operator would break them: starts racing in
//! every pairing, a recorded pid that now belongs to another process, another process holding
//! the state file, SIGTERM mid-run, and a task that prints or returns a lot.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FIXTURE: &str = env!("CARGO_BIN_EXE_runner-fixture");

/// A fresh directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let directory =
            std::env::temp_dir().join(format!("workflow-lifecycle-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        Scratch(directory)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn command(dir: &Path, arguments: &[&str]) -> Command {
    let mut command = Command::new(FIXTURE);
    command
        .args(arguments)
        .arg("--state")
        .arg(dir.join("state.sqlite"))
        .env_remove("WORKFLOW_SMTP")
        .env("WORKFLOW_LOG", "warn");
    command
}

fn finish(dir: &Path, arguments: &[&str]) -> Output {
    command(dir, arguments).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn said(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until a run's slow node has started (its first node is recorded by then).
fn wait_until_slow(dir: &Path) {
    wait_for("the slow node", || {
        lines(&dir.join("log")).contains(&"slow started".to_owned())
    });
}

// ---------------------------------------------------------------------------------------------
// Racing starts.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Start {
    Run,
    Tick,
    Resume,
}

/// What one racing start did, as its exit status and output say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Did {
    /// It carried out a run to success.
    Ran,
    /// It was refused (exit 2) because a run was live, or the run it would resume had just
    /// been done by another start.
    Refused,
    /// A tick that found a live run or another tick, and did nothing (exit 0).
    Waited,
    /// A run stopped by a newer one (`replace`): cancelled, exit 143.
    Replaced,
}

fn classify(start: Start, output: &Output) -> Did {
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    match output.status.code() {
        Some(0) if stdout.contains(" succeeded: ") => Did::Ran,
        Some(0)
            if start == Start::Tick
                && (stdout.contains("is still running")
                    || stdout.contains("is running")
                    || stdout.contains("another tick is deciding")) =>
        {
            Did::Waited
        }
        Some(2)
            if stderr.contains("already running")
                || stderr.contains("is running")
                || stderr.contains("already succeeded") =>
        {
            Did::Refused
        }
        Some(143) if stdout.contains("cancelled (replaced by a newer run") => Did::Replaced,
        _ => panic!("{start:?} did something unexpected: {}", said(output)),
    }
}

/// Checks the ledger of a round: every execution ran alone (no `OVERLAP`, and with
/// `complete`, each `start` followed by its own `end` before the next `start`); returns how
/// many executions started.
fn check_ledger(ledger: &[String], complete: bool, round: &str) -> usize {
    assert!(
        !ledger.iter().any(|line| line.starts_with("OVERLAP")),
        "{round}: two executions at once: {ledger:?}"
    );
    let mut open: Option<&str> = None;
    let mut starts = 0;
    for line in ledger {
        if let Some(pid) = line.strip_prefix("start ") {
            if complete {
                assert_eq!(
                    open, None,
                    "{round}: a start before the last end: {ledger:?}"
                );
            }
            open = Some(pid);
            starts += 1;
        } else if let Some(pid) = line.strip_prefix("end ") {
            assert_eq!(
                open,
                Some(pid),
                "{round}: an end of another start: {ledger:?}"
            );
            open = None;
        }
    }
    if complete {
        assert_eq!(open, None, "{round}: an execution never ended: {ledger:?}");
    }
    starts
}

/// One round: a fresh state (with a failed run 1 when a start resumes it), the starts
/// released at once, and what each did.
fn race(workflow: &str, starts: &[Start], round: &str) -> (Vec<(Start, Did)>, Vec<String>) {
    race_with(workflow, starts, round, false)
}

/// [`race`]; with `sabotage`, the workflow's admission lock file is removed over and over
/// while the starts race (a careless cleanup of `<state>.locks/`).
fn race_with(
    workflow: &str,
    starts: &[Start],
    round: &str,
    sabotage: bool,
) -> (Vec<(Start, Did)>, Vec<String>) {
    let scratch = Scratch::new(&format!("race-{workflow}-{round}"));
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    if starts.contains(&Start::Resume) {
        std::fs::write(dir.join("fail"), "").unwrap();
        let failed = finish(dir, &["run", workflow, "-p", &param]);
        assert_eq!(failed.status.code(), Some(1), "{}", said(&failed));
        std::fs::remove_file(dir.join("fail")).unwrap();
    }
    let barrier = dir.join("go");
    let children: Vec<(Start, Child)> = starts
        .iter()
        .map(|start| {
            let arguments: Vec<&str> = match start {
                Start::Run => vec!["run", workflow, "-p", &param],
                Start::Tick => vec!["tick", workflow, "-p", &param],
                Start::Resume => vec!["run", workflow, "--resume", "1"],
            };
            let child = command(dir, &arguments)
                .env("WORKFLOW_TEST_BARRIER", &barrier)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (*start, child)
        })
        .collect();
    let saboteur = sabotage.then(|| {
        let admit = dir.join(format!("state.sqlite.locks/{workflow}.admit"));
        let done = dir.join("ledger.done");
        std::thread::spawn(move || {
            while !done.exists() {
                let _ = std::fs::remove_file(&admit);
                std::thread::yield_now();
            }
        })
    });
    std::fs::write(&barrier, "").unwrap();
    let mut did = Vec::new();
    for (start, child) in children {
        let output = child.wait_with_output().unwrap();
        did.push((start, classify(start, &output)));
    }
    if let Some(saboteur) = saboteur {
        std::fs::write(dir.join("ledger.done"), "").unwrap();
        saboteur.join().unwrap();
    }
    (did, lines(&dir.join("ledger")))
}

const PAIRINGS: &[[Start; 2]] = &[
    [Start::Run, Start::Run],
    [Start::Run, Start::Tick],
    [Start::Run, Start::Resume],
    [Start::Tick, Start::Tick],
    [Start::Tick, Start::Resume],
    [Start::Resume, Start::Resume],
];

/// Several processes, each kind at least once.
const CROWDS: &[&[Start]] = &[
    &[Start::Run, Start::Tick, Start::Resume, Start::Run],
    &[
        Start::Run,
        Start::Run,
        Start::Tick,
        Start::Tick,
        Start::Resume,
        Start::Resume,
        Start::Run,
        Start::Tick,
    ],
];

const ROUNDS: usize = 20;

/// `overlap = "forbid"`: in every pairing and in crowds of 4 and 8, never two executions at
/// once; each start either ran, was refused with exit 2, or (a tick) waited; one ran.
#[test]
fn racing_starts_never_overlap_when_overlap_is_forbidden() {
    let mut tally: BTreeMap<String, BTreeMap<Did, usize>> = BTreeMap::new();
    let groups: Vec<&[Start]> = PAIRINGS
        .iter()
        .map(|pair| &pair[..])
        .chain(CROWDS.iter().copied())
        .collect();
    for starts in groups {
        let rounds = if starts.len() > 2 { 5 } else { ROUNDS };
        for round in 0..rounds {
            let name = format!("{starts:?}#{round}");
            let (did, ledger) = race("ledger_forbid", starts, &format!("forbid-{round}"));
            let executions = check_ledger(&ledger, true, &name);
            let ran = did.iter().filter(|(_, did)| *did == Did::Ran).count();
            assert_eq!(
                executions, ran,
                "{name}: every execution is a start that ran"
            );
            assert!(ran >= 1, "{name}: nothing ran: {did:?}");
            assert!(
                !did.iter().any(|(_, did)| *did == Did::Replaced),
                "{name}: {did:?}"
            );
            for (_, what) in did {
                *tally
                    .entry(format!("{starts:?}"))
                    .or_default()
                    .entry(what)
                    .or_default() += 1;
            }
        }
    }
    eprintln!("forbid: {tally:#?}");
}

/// The admission lock file removed over and over while six starts race: a lock is only
/// taken on the file its name leads to, so still never two executions at once.
#[test]
fn racing_starts_never_overlap_while_the_admission_lock_file_is_removed() {
    let starts = [Start::Run; 6];
    for round in 0..8 {
        let name = format!("sabotage#{round}");
        let (did, ledger) = race_with("ledger_forbid", &starts, &format!("sabotage-{round}"), true);
        let executions = check_ledger(&ledger, true, &name);
        let ran = did.iter().filter(|(_, did)| *did == Did::Ran).count();
        assert_eq!(executions, ran, "{name}: {did:?}");
    }
}

/// `overlap = "queue"`: every `run` runs, one at a time; a tick finding a live run waits.
#[test]
fn racing_starts_run_one_at_a_time_when_queued() {
    let groups: &[&[Start]] = &[
        &[Start::Run, Start::Run],
        &[Start::Run, Start::Tick],
        &[Start::Run, Start::Resume],
        &[Start::Run, Start::Run, Start::Run, Start::Run],
    ];
    for starts in groups {
        let rounds = if starts.len() > 2 { 5 } else { ROUNDS };
        for round in 0..rounds {
            let name = format!("{starts:?}#{round}");
            let (did, ledger) = race("ledger_queue", starts, &format!("queue-{round}"));
            let executions = check_ledger(&ledger, true, &name);
            for (start, what) in &did {
                if *start == Start::Run {
                    assert_eq!(*what, Did::Ran, "{name}: a queued run always runs: {did:?}");
                }
            }
            let ran = did.iter().filter(|(_, did)| *did == Did::Ran).count();
            assert_eq!(executions, ran, "{name}: {did:?} {ledger:?}");
        }
    }
}

/// `overlap = "replace"`: the newer start stops the older one, which records itself
/// cancelled; still never two executions at once.
#[test]
fn racing_starts_replace_each_other_without_overlap() {
    let groups: &[&[Start]] = &[
        &[Start::Run, Start::Run],
        &[Start::Run, Start::Tick],
        &[Start::Run, Start::Run, Start::Run],
    ];
    for starts in groups {
        let rounds = if starts.len() > 2 { 5 } else { ROUNDS };
        for round in 0..rounds {
            let name = format!("{starts:?}#{round}");
            let (did, ledger) = race("ledger_replace", starts, &format!("replace-{round}"));
            let executions = check_ledger(&ledger, false, &name);
            let ran = did.iter().filter(|(_, did)| *did == Did::Ran).count();
            let replaced = did.iter().filter(|(_, did)| *did == Did::Replaced).count();
            assert!(ran >= 1, "{name}: the newest always finishes: {did:?}");
            assert!(executions <= ran + replaced, "{name}: {did:?} {ledger:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Liveness is a lock, not a pid.

/// A run killed with SIGKILL whose recorded pid now belongs to another live process (here:
/// pid 1, as after a reboot): neither `run` nor `tick` is blocked by it, and `status` calls
/// it interrupted.
#[test]
fn a_recorded_pid_that_is_reused_blocks_nothing() {
    let scratch = Scratch::new("pid-reuse");
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    let mut child = command(dir, &["run", "ticking", "-p", &param])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_slow(dir);
    child.kill().unwrap();
    child.wait().unwrap();
    // The killed run "is still running" in process 1, which is alive.
    let database = rusqlite::Connection::open(dir.join("state.sqlite")).unwrap();
    database
        .execute("UPDATE runs SET pid = 1 WHERE id = 1", [])
        .unwrap();
    drop(database);
    let status = text(&finish(dir, &["status", "ticking"]).stdout);
    assert!(
        status.starts_with("run 1 of ticking: interrupted"),
        "{status}"
    );
    std::fs::write(dir.join("release"), "").unwrap();
    let run = finish(dir, &["run", "ticking", "-p", &param]);
    assert!(run.status.success(), "{}", said(&run));
    // A minute after a fire time: due.
    let tick = finish(
        dir,
        &[
            "tick",
            "ticking",
            "-p",
            &param,
            "--now",
            "2026-11-29T10:01:00Z",
        ],
    );
    assert!(tick.status.success(), "{}", said(&tick));
    assert_eq!(
        text(&tick.stdout).lines().next(),
        Some("ticking: due: scheduled for 2026-11-29T10:00:00+00:00"),
        "{}",
        said(&tick)
    );
    let history = text(&finish(dir, &["history", "ticking"]).stdout);
    let rows: Vec<&str> = history.lines().collect();
    assert_eq!(rows.len(), 3, "{history}");
    assert!(
        rows[0].contains("succeeded")
            && rows[0].contains(&param)
            && rows[0].ends_with("(scheduled for 2026-11-29T10:00:00+00:00)"),
        "the tick's run, its parameter and why it started: {history}"
    );
    assert!(
        rows[1].contains(&param) && rows[1].ends_with("(started by hand)"),
        "{history}"
    );
    assert!(rows[2].contains("interrupted"), "{history}");
}

/// Without `--state` or `$WORKFLOW_STATE`, runs started from two directories share one state
/// file in the user's state directory, so they are kept apart.
#[test]
fn the_default_state_file_is_one_per_user() {
    let scratch = Scratch::new("default-state");
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    let home = dir.join("state-home");
    let places = [dir.join("a"), dir.join("b")];
    for place in &places {
        std::fs::create_dir_all(place).unwrap();
    }
    let start = |place: &Path| {
        Command::new(FIXTURE)
            .args(["run", "marks", "-p", &param])
            .current_dir(place)
            .env_remove("WORKFLOW_STATE")
            .env("XDG_STATE_HOME", &home)
            .env("WORKFLOW_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = start(&places[0]);
    wait_until_slow(dir);
    let second = start(&places[1]).wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(2), "{}", said(&second));
    assert!(
        text(&second.stderr).contains("workflow `marks` is already running (run 1, process"),
        "{}",
        said(&second)
    );
    std::fs::write(dir.join("release"), "").unwrap();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", said(&first));
    assert!(home.join("workflow-core/state.sqlite").exists());
    for place in &places {
        assert_eq!(
            std::fs::read_dir(place).unwrap().count(),
            0,
            "nothing written here"
        );
    }
}

/// A notice that cannot be delivered is kept, listed by `status`, and delivered by a later
/// `tick` once its next try has come.
#[test]
fn an_undelivered_notice_is_kept_and_delivered_later() {
    let scratch = Scratch::new("kept-notice");
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = command(dir, &["run", "guarded", "-p", &param])
        .env("WORKFLOW_SMTP", format!("127.0.0.1:{closed}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_slow(dir);
    terminate(&child);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(143), "{}", said(&output));
    assert!(
        text(&output.stderr).contains(
            "cannot deliver the notice of run 1 of `guarded` to etl-admin@example.com (email)"
        ),
        "{}",
        said(&output)
    );
    let status = text(&finish(dir, &["status", "guarded"]).stdout);
    assert!(
        status.contains(
            "undelivered notice of run 1 to etl-admin@example.com (email), 1 tries, last: "
        ),
        "{status}"
    );
    // The next try is a minute after the first: as if that minute had passed, and with the
    // relay up, the next tick delivers it.
    let database = rusqlite::Connection::open(dir.join("state.sqlite")).unwrap();
    database
        .execute(
            "UPDATE notices SET next_try = '2000-01-01T00:00:00.000Z' WHERE run_id = 1",
            [],
        )
        .unwrap();
    drop(database);
    let (port, received) = workflow_tests::smtp_relay();
    std::fs::write(dir.join("release"), "").unwrap();
    let tick = command(dir, &["tick", "guarded", "-p", &param])
        .env("WORKFLOW_SMTP", format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(tick.status.success(), "{}", said(&tick));
    let message = received_message(&received, "the kept notice is delivered");
    assert!(
        message.contains("Subject: [guarded] run 1 cancelled on "),
        "{message}"
    );
    let status = text(&finish(dir, &["status", "guarded", "--run", "1"]).stdout);
    assert!(!status.contains("undelivered"), "{status}");
}

// ---------------------------------------------------------------------------------------------
// A busy state file.

/// Another process holds the state file with `BEGIN EXCLUSIVE` for 15 s while the run goes
/// on: the run waits its bookkeeping out and succeeds.
#[test]
fn a_run_waits_out_a_state_file_held_by_another_process() {
    let scratch = Scratch::new("busy");
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    let child = command(dir, &["run", "marks", "-p", &param])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_slow(dir);
    let database = rusqlite::Connection::open(dir.join("state.sqlite")).unwrap();
    database.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let held_at = Instant::now();
    // The slow node ends now; recording that has to wait for the file.
    std::fs::write(dir.join("release"), "").unwrap();
    std::thread::sleep(Duration::from_secs(15));
    database.execute_batch("COMMIT").unwrap();
    drop(database);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", said(&output));
    assert!(held_at.elapsed() >= Duration::from_secs(15));
    assert_eq!(
        text(&output.stdout),
        "run 1 of marks succeeded: 3 succeeded\n"
    );
    assert!(
        text(&output.stderr).contains("the state file is locked by another process; waiting"),
        "{}",
        said(&output)
    );
    assert_eq!(
        lines(&dir.join("log")),
        ["first", "slow started", "slow", "last"]
    );
}

// ---------------------------------------------------------------------------------------------
// Signals.

/// A relay on loopback that accepts a connection and never answers.
fn silent_smtp_relay() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((_stream, _)) = listener.accept() {
            std::thread::sleep(Duration::from_secs(60));
        }
    });
    port
}

/// The message the relay received (quoted-printable decoded), waiting at most 20 s.
fn received_message(received: &mpsc::Receiver<(Vec<String>, String)>, what: &str) -> String {
    let (_, message) = received
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what}"));
    workflow_tests::quoted_printable(&message)
}

fn terminate(child: &Child) {
    // SAFETY: `kill` has no memory effects.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
}

/// SIGTERM while a node runs, on a thread and in its own process: the run stops, is recorded
/// `cancelled` with the signal as its reason, the administrator gets the failure e-mail, the
/// process exits 143, and nothing of the run goes on afterwards.
#[test]
fn sigterm_cancels_the_run_records_why_and_notifies() {
    for isolation in ["thread", "process"] {
        let scratch = Scratch::new(&format!("sigterm-{isolation}"));
        let dir = scratch.path();
        let param = format!("dir={}", dir.display());
        let (port, received) = workflow_tests::smtp_relay();
        let child = command(
            dir,
            &["run", "guarded", "-p", &param, "--isolation", isolation],
        )
        .env("WORKFLOW_SMTP", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        wait_until_slow(dir);
        terminate(&child);
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(143),
            "{isolation}: {}",
            said(&output)
        );
        assert_eq!(
            text(&output.stdout),
            "run 1 of guarded cancelled (stopped by SIGTERM): 1 failed, 1 skipped, 1 succeeded\n",
            "{isolation}"
        );
        let status = text(&finish(dir, &["status", "guarded"]).stdout);
        assert!(
            status.starts_with("run 1 of guarded: cancelled")
                && status.contains("\nwhy: stopped by SIGTERM\n"),
            "{isolation}: {status}"
        );
        assert!(
            status.contains("attempt 1: stopped by SIGTERM while it ran"),
            "{isolation}: {status}"
        );
        let message = received_message(&received, "the notice reaches the relay");
        assert!(
            message.contains("Subject: [guarded] run 1 cancelled on "),
            "{isolation}: {message}"
        );
        assert!(
            message.contains("stopped by SIGTERM"),
            "{isolation}: {message}"
        );
        assert!(
            message.contains("--resume 1"),
            "{isolation}: the e-mail says how to carry on: {message}"
        );
        assert!(
            message.contains(&format!("  dir = {}\r\n", dir.display())),
            "{isolation}: the e-mail names the run's parameters: {message}"
        );
        // Nothing of the run goes on: releasing the slow node now changes nothing.
        std::fs::write(dir.join("release"), "").unwrap();
        std::thread::sleep(Duration::from_millis(700));
        assert_eq!(
            lines(&dir.join("log")),
            ["first", "slow started"],
            "{isolation}: the attempt was stopped with the run"
        );
        // And the run can be carried on by hand.
        let resumed = finish(dir, &["run", "guarded", "--resume", "1"]);
        assert!(resumed.status.success(), "{isolation}: {}", said(&resumed));
    }
}

/// A second SIGTERM ends the process at once, even while a notice is stuck on a relay that
/// never answers; the run is already recorded and the notice is kept for a later try.
#[test]
fn a_second_signal_stops_at_once() {
    let scratch = Scratch::new("second-signal");
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    let port = silent_smtp_relay();
    let child = command(dir, &["run", "guarded", "-p", &param])
        .env("WORKFLOW_SMTP", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_slow(dir);
    terminate(&child);
    // Until the run is recorded, then the notice hangs on the silent relay.
    wait_for("the run recorded cancelled", || {
        text(&finish(dir, &["status", "guarded"]).stdout).starts_with("run 1 of guarded: cancelled")
    });
    std::thread::sleep(Duration::from_millis(300));
    // Its attempt was on a thread that cannot be stopped: until the process has exited, the
    // run is still live, and nothing new is admitted.
    let param = format!("dir={}", dir.display());
    let meanwhile = finish(dir, &["run", "guarded", "-p", &param]);
    assert_eq!(meanwhile.status.code(), Some(2), "{}", said(&meanwhile));
    assert!(
        text(&meanwhile.stderr).contains("workflow `guarded` is already running (run 1, "),
        "{}",
        said(&meanwhile)
    );
    let second = Instant::now();
    terminate(&child);
    let output = child.wait_with_output().unwrap();
    assert!(
        second.elapsed() < Duration::from_secs(5),
        "{}",
        said(&output)
    );
    assert_eq!(output.status.code(), Some(143), "{}", said(&output));
    let status = text(&finish(dir, &["status", "guarded"]).stdout);
    assert!(
        status.contains("undelivered notice of run 1 to etl-admin@example.com (email)"),
        "{status}"
    );
}

// ---------------------------------------------------------------------------------------------
// Bounded memory.

/// Runs `arguments` and returns its output and its peak resident memory in MiB, as the
/// process itself read it from `/proc/self/status` (`VmHWM`) before exiting.
#[cfg(target_os = "linux")]
fn peak_memory(dir: &Path, arguments: &[&str]) -> (Output, f64) {
    let report = dir.join("peak");
    let _ = std::fs::remove_file(&report);
    let output = command(dir, arguments)
        .env("WORKFLOW_TEST_PEAK_FILE", &report)
        .output()
        .unwrap();
    let line = std::fs::read_to_string(&report).expect("the process reported its peak");
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|number| number.parse().ok())
        .expect("VmHWM: <n> kB");
    (output, kib / 1024.0)
}

/// A command printing 100 MB keeps a bounded tail; a 50 MB output is stored, and `status`
/// and `history` never load it; an output above `--max-output` fails its attempt.
#[cfg(target_os = "linux")]
#[test]
fn large_prints_and_outputs_stay_bounded() {
    let scratch = Scratch::new("memory");
    let dir = scratch.path();
    let (loud, loud_peak) = peak_memory(dir, &["run", "loud"]);
    assert!(loud.status.success(), "{}", said(&loud));
    let (large, large_peak) = peak_memory(dir, &["run", "large"]);
    assert!(large.status.success(), "{}", said(&large));
    let (status, status_peak) = peak_memory(dir, &["status", "large"]);
    assert!(status.status.success(), "{}", said(&status));
    let (history, history_peak) = peak_memory(dir, &["history", "large"]);
    assert!(history.status.success(), "{}", said(&history));
    eprintln!(
        "peak memory: run printing 100 MB {loud_peak:.1} MiB; run with a 50 MB output \
         {large_peak:.1} MiB; status {status_peak:.1} MiB; history {history_peak:.1} MiB"
    );
    assert!(loud_peak < 120.0, "printing 100 MB took {loud_peak:.1} MiB");
    assert!(status_peak < 40.0, "status took {status_peak:.1} MiB");
    assert!(history_peak < 40.0, "history took {history_peak:.1} MiB");
    // The task saw the last 8 MiB of what was printed, and how much was dropped.
    let store = workflow_core::runner::store::Store::open(&dir.join("state.sqlite")).unwrap();
    let outputs = store.outputs(1).unwrap();
    let sizes = &outputs.iter().find(|(node, _)| node == "sizes").unwrap().1;
    assert_eq!(
        sizes,
        &serde_json::json!([8 << 20, 100_000_000 - (8 << 20)])
    );
    drop(store);

    let refused = finish(dir, &["run", "large", "--max-output", "10MiB"]);
    assert_eq!(refused.status.code(), Some(1), "{}", said(&refused));
    let status = text(&finish(dir, &["status", "large"]).stdout);
    assert!(
        status.contains(
            "attempt 1: its output is 47.7 MiB of JSON, more than the 10 MiB a run keeps (--max-output)"
        ),
        "{status}"
    );
}

// ---------------------------------------------------------------------------------------------
// What a run leaves behind.

fn background_pid(dir: &Path) -> i32 {
    let mut text = String::new();
    wait_for("the background process", || {
        text = std::fs::read_to_string(dir.join("bg.pid")).unwrap_or_default();
        text.trim().parse::<i32>().is_ok()
    });
    text.trim().parse().unwrap()
}

fn exists(pid: i32) -> bool {
    // A process that ended but is not reaped yet (a zombie) counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        .unwrap_or(false)
}

fn kill_pid(pid: i32) {
    // SAFETY: `kill` has no memory effects.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// SIGTERM stops what a command task started in the background too, on a thread and in an
/// attempt process.
#[test]
fn sigterm_stops_a_commands_background_children() {
    for isolation in ["thread", "process"] {
        let scratch = Scratch::new(&format!("background-{isolation}"));
        let dir = scratch.path();
        let param = format!("dir={}", dir.display());
        let child = command(
            dir,
            &["run", "sleeper", "-p", &param, "--isolation", isolation],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let background = background_pid(dir);
        terminate(&child);
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(143),
            "{isolation}: {}",
            said(&output)
        );
        wait_for("the background process to be stopped", || {
            !exists(background)
        });
    }
}

/// A runner killed with SIGKILL whose command left a process running: the run stays live
/// (that process may still be doing its work), a second start says so and names how to stop
/// it; `replace` stops it.
#[test]
fn what_a_killed_run_left_running_keeps_it_live_and_is_named() {
    let scratch = Scratch::new("leftover");
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    let mut child = command(dir, &["run", "sleeper", "-p", &param])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let background = background_pid(dir);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        exists(background),
        "the background process outlives the runner"
    );
    let second = finish(dir, &["run", "sleeper", "-p", &param]);
    assert_eq!(second.status.code(), Some(2), "{}", said(&second));
    let message = text(&second.stderr);
    assert!(
        message.contains(&format!("process {}", child.id()))
            && message.contains("which has ended; processes it started still hold the run's lock; to stop them: `kill -- -"),
        "{message}"
    );
    kill_pid(background);

    let scratch = Scratch::new("leftover-replace");
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    let mut child = command(dir, &["run", "replaced_sleeper", "-p", &param])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let background = background_pid(dir);
    std::fs::remove_file(dir.join("bg.pid")).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let started = Instant::now();
    let newer = command(dir, &["run", "replaced_sleeper", "-p", &param])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let newer_background = background_pid(dir);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the leftover was stopped at once, not waited for"
    );
    assert!(!exists(background), "the leftover of run 1 was stopped");
    terminate(&newer);
    let newer = newer.wait_with_output().unwrap();
    assert_eq!(newer.status.code(), Some(143), "{}", said(&newer));
    wait_for("run 2's background process to be stopped", || {
        !exists(newer_background)
    });
    let status = text(&finish(dir, &["status", "replaced_sleeper", "--run", "1"]).stdout);
    assert!(
        status.starts_with("run 1 of replaced_sleeper: cancelled")
            && status.contains("why: cancelled: replaced by a newer run"),
        "{status}"
    );
}

/// A queued start that gets SIGTERM while it waits ends at once, with nothing admitted.
#[test]
fn a_signal_while_queued_starts_nothing() {
    let scratch = Scratch::new("queued-signal");
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    let first = command(dir, &["run", "queued", "-p", &param])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_slow(dir);
    let waiting = command(dir, &["run", "queued", "-p", &param])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    terminate(&waiting);
    let output = waiting.wait_with_output().unwrap();
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "{}",
        said(&output)
    );
    assert_eq!(output.status.code(), Some(143), "{}", said(&output));
    assert!(
        text(&output.stderr).contains(
            "error: stopped by SIGTERM while waiting for run 1 to end; nothing was started"
        ),
        "{}",
        said(&output)
    );
    std::fs::write(dir.join("release"), "").unwrap();
    let mut first = first;
    assert!(first.wait().unwrap().success());
    let history = text(&finish(dir, &["history", "queued"]).stdout);
    assert_eq!(history.lines().count(), 1, "{history}");
}

/// One state file is one set of locks whatever name it is reached by: a symbolic link
/// shares the real file's locks; a second hard link is refused.
#[test]
fn a_state_file_has_one_name() {
    let scratch = Scratch::new("names");
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    let state = dir.join("state.sqlite");
    let link = dir.join("link.sqlite");
    let first = Command::new(FIXTURE)
        .args(["run", "marks", "-p", &param, "--state"])
        .arg(&state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_slow(dir);
    std::os::unix::fs::symlink(&state, &link).unwrap();
    let through_link = Command::new(FIXTURE)
        .args(["run", "marks", "-p", &param, "--state"])
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(
        through_link.status.code(),
        Some(2),
        "{}",
        said(&through_link)
    );
    assert!(
        text(&through_link.stderr).contains("workflow `marks` is already running (run 1, "),
        "{}",
        said(&through_link)
    );
    let hard = dir.join("hard.sqlite");
    std::fs::hard_link(&state, &hard).unwrap();
    let through_hard_link = Command::new(FIXTURE)
        .args(["status", "marks", "--state"])
        .arg(&hard)
        .output()
        .unwrap();
    assert_eq!(through_hard_link.status.code(), Some(2));
    assert!(
        text(&through_hard_link.stderr).contains(
            "has 2 hard links; SQLite keeps its journal next to the name it is opened by"
        ),
        "{}",
        said(&through_hard_link)
    );
    std::fs::remove_file(&hard).unwrap();
    std::fs::write(dir.join("release"), "").unwrap();
    let mut first = first;
    assert!(first.wait().unwrap().success());
}

/// `--resume` continues a run with its own parameters; giving others is an error.
#[test]
fn resume_takes_no_parameters() {
    let scratch = Scratch::new("resume-params");
    let output = finish(
        scratch.path(),
        &["run", "marks", "--resume", "1", "-p", "dir=/elsewhere"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(
        text(&output.stderr).contains("cannot be used with"),
        "{}",
        said(&output)
    );
}

/// When someone removes `<state>.locks/` under a live run, neither a resume of it nor a new
/// start runs beside it: the run's recorded process decides.
#[test]
fn a_removed_locks_directory_does_not_let_a_live_run_run_twice() {
    let scratch = Scratch::new("removed-locks");
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    let first = command(dir, &["run", "marks", "-p", &param])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_slow(dir);
    std::fs::remove_dir_all(dir.join("state.sqlite.locks")).unwrap();
    let resume = finish(dir, &["run", "marks", "--resume", "1"]);
    assert_eq!(resume.status.code(), Some(2), "{}", said(&resume));
    assert!(
        text(&resume.stderr).contains("run 1 of `marks` is running"),
        "{}",
        said(&resume)
    );
    let again = finish(dir, &["run", "marks", "-p", &param]);
    assert_eq!(again.status.code(), Some(2), "{}", said(&again));
    std::fs::write(dir.join("release"), "").unwrap();
    let mut first = first;
    assert!(first.wait().unwrap().success());
    assert_eq!(
        lines(&dir.join("log")),
        ["first", "slow started", "slow", "last"]
    );
}

/// A state path that is a symbolic link to a file not there yet: the first start and every
/// later one use the same file and the same locks.
#[test]
fn a_dangling_symlink_names_its_target() {
    let scratch = Scratch::new("dangling");
    let dir = scratch.path();
    let param = format!("dir={}", dir.display());
    std::fs::create_dir_all(dir.join("real")).unwrap();
    let link = dir.join("link.sqlite");
    std::os::unix::fs::symlink(dir.join("real/state.sqlite"), &link).unwrap();
    let start = |arguments: &[&str]| {
        Command::new(FIXTURE)
            .args(arguments)
            .arg("--state")
            .arg(&link)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = start(&["run", "marks", "-p", &param]);
    wait_until_slow(dir);
    let resume = start(&["run", "marks", "--resume", "1"])
        .wait_with_output()
        .unwrap();
    assert_eq!(resume.status.code(), Some(2), "{}", said(&resume));
    assert!(dir.join("real/state.sqlite.locks").is_dir());
    assert!(!dir.join("link.sqlite.locks").exists());
    std::fs::write(dir.join("release"), "").unwrap();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", said(&first));
}

/// A resumed older run that succeeds after a newer one is the upstream's latest success:
/// `#[trigger(after)]` starts the downstream workflow for it.
#[test]
fn a_resumed_upstream_success_triggers_its_downstream() {
    let scratch = Scratch::new("resumed-upstream");
    let dir = scratch.path();
    let (one, two) = (dir.join("one"), dir.join("two"));
    for place in [&one, &two] {
        std::fs::create_dir_all(place).unwrap();
        std::fs::write(place.join("release"), "").unwrap();
    }
    std::fs::write(one.join("fail"), "").unwrap();
    let param = |place: &Path| format!("dir={}", place.display());
    assert_eq!(
        finish(dir, &["run", "ticking", "-p", &param(&one)])
            .status
            .code(),
        Some(1)
    );
    assert!(
        finish(dir, &["run", "ticking", "-p", &param(&two)])
            .status
            .success()
    );
    let tick = finish(dir, &["tick", "downstream", "-p", &param(&two)]);
    assert!(
        text(&tick.stdout).starts_with("downstream: due: workflow `ticking` succeeded (run 2)"),
        "{}",
        said(&tick)
    );
    std::fs::remove_file(one.join("fail")).unwrap();
    assert!(
        finish(dir, &["run", "ticking", "--resume", "1"])
            .status
            .success()
    );
    let tick = finish(dir, &["tick", "downstream", "-p", &param(&one)]);
    assert!(
        text(&tick.stdout).starts_with("downstream: due: workflow `ticking` succeeded (run 1)"),
        "{}",
        said(&tick)
    );
    let tick = finish(dir, &["tick", "downstream", "-p", &param(&one)]);
    assert!(
        text(&tick.stdout).starts_with("downstream: not due"),
        "{}",
        said(&tick)
    );
}

/// Standard output and standard error closed by their reader (`| head`): the run goes on to
/// its end, is recorded, and exits with its own status.
#[test]
fn closed_output_streams_do_not_end_a_run() {
    let scratch = Scratch::new("closed-streams");
    let dir = scratch.path();
    let closed = || {
        let mut ends = [0; 2];
        // SAFETY: `pipe` fills two descriptors, which we own from here on.
        assert_eq!(unsafe { libc::pipe(ends.as_mut_ptr()) }, 0);
        // SAFETY: the read end is ours and closed once; the write end becomes the Stdio.
        unsafe { libc::close(ends[0]) };
        // SAFETY: as above.
        Stdio::from(unsafe {
            <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(ends[1])
        })
    };
    let status = command(dir, &["run", "arith"])
        .stdout(closed())
        .stderr(closed())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let shown = text(&finish(dir, &["status", "arith"]).stdout);
    assert!(shown.starts_with("run 1 of arith: succeeded"), "{shown}");
}
