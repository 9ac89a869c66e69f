//! A workflow binary for the runner's process tests: a node that waits for a file, so a test
//! can kill the run in the middle or start a second one while it runs.

use std::io::Write;
use std::path::{Path, PathBuf};

use workflow_core::prelude::*;

/// Appends `line` to `dir/log` in one write (`O_APPEND`): lines of nodes running at once in
/// other processes never interleave.
fn log(dir: &Path, line: &str) -> Result<(), TaskError> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("log"))?;
    file.write_all(format!("{line}\n").as_bytes())?;
    Ok(())
}

/// Writes its label to the log.
#[task]
fn mark(dir: PathBuf, label: String) -> Result<String, TaskError> {
    log(&dir, &label)?;
    Ok(label)
}

/// Waits (at most a minute) until the file `release` exists.
#[task]
fn wait_for_release(dir: PathBuf) -> Result<String, TaskError> {
    log(&dir, "slow started")?;
    for _ in 0..600 {
        if dir.join("release").exists() {
            log(&dir, "slow")?;
            return Ok("released".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(TaskError::new("never released"))
}

/// Prints to standard output and standard error, as tasks do, from the thread it runs on.
#[task]
fn chatter(lines: u32) -> u32 {
    for line in 0..lines {
        println!("stdout line {line}");
        eprintln!("stderr line {line}");
    }
    lines
}

workflow! {
    /// Two tasks printing at once.
    loud_nodes(lines: u32 = 200) {
        first = chatter(lines);
        second = chatter(lines);
    }
}

workflow! {
    /// First, a wait, then last.
    #[concurrency(overlap = "forbid")]
    marks(dir: PathBuf) {
        first = mark(dir, "first");
        slow = wait_for_release(dir).after(first);
        last = mark(dir, "last").after(slow);
    }
}

workflow! {
    /// Like `marks`, but a second run waits for the first.
    #[concurrency(overlap = "queue")]
    queued(dir: PathBuf) {
        first = mark(dir, "first");
        slow = wait_for_release(dir).after(first);
        last = mark(dir, "last").after(slow);
    }
}

#[task]
fn triple(value: u32) -> u32 {
    value * 3
}

#[task]
fn total(values: Vec<u32>, bonus: u32) -> u64 {
    values.iter().map(|value| u64::from(*value)).sum::<u64>() + u64::from(bonus)
}

#[task]
fn describe(total: u64, label: String) -> String {
    format!("{label}: {total}")
}

#[task(timeout = "1s")]
fn oversleep() -> u32 {
    // Far longer than its one-second timeout and than any engine's start-up under load.
    std::thread::sleep(std::time::Duration::from_secs(600));
    1
}

workflow! {
    /// Pure computation: fan-out, a branch, a join.
    arith(values: Vec<u32> = vec![1, 2, 3], generous: bool = true) {
        tripled = triple(each(values)).max_parallel(2);
        if generous {
            sum = total(tripled, 100);
        } else {
            sum = total(tripled, 0);
        }
        text = describe(sum, "sum");
    }
}

workflow! {
    /// One node that overruns its timeout.
    sleepy() {
        late = oversleep();
    }
}

/// Fails while the file `fail` exists.
#[task]
fn check(dir: PathBuf) -> Result<String, TaskError> {
    if dir.join("fail").exists() {
        log(&dir, "check failed")?;
        return Err(TaskError::new("the file `fail` exists"));
    }
    log(&dir, "check")?;
    Ok("checked".into())
}

workflow! {
    /// Hourly; `slow` waits for the file `release`, `check` fails while `fail` exists.
    #[schedule(every = "1h", catch_up = "latest")]
    #[concurrency(overlap = "forbid")]
    ticking(dir: PathBuf) {
        first = mark(dir, "first");
        slow = wait_for_release(dir).after(first);
        checked = check(dir).after(slow);
    }
}

workflow! {
    /// Runs after each success of `ticking`.
    #[trigger(after = ticking)]
    downstream(dir: PathBuf) {
        done = mark(dir, "downstream");
    }
}

workflow! {
    /// Runs when a new file lands in the inbox.
    #[trigger(file = "/tmp/workflow-fixture-inbox/*.csv")]
    inbox(dir: PathBuf) {
        done = mark(dir, "inbox");
    }
}

workflow! {
    /// A new run stops the active one.
    #[concurrency(overlap = "replace")]
    replaceable(dir: PathBuf) {
        first = mark(dir, "first");
        slow = wait_for_release(dir).after(first);
    }
}

/// Appends `line` to `dir/ledger` with one write (`O_APPEND`), so lines from racing processes
/// never interleave.
fn ledger(dir: &Path, line: &str) -> Result<(), TaskError> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("ledger"))?;
    file.write_all(format!("{line}\n").as_bytes())?;
    Ok(())
}

/// One execution of a workflow in the ledger: `start <pid>`, 200 ms of work, `end <pid>`.
/// It holds `dir/ledger.lock` while it works; finding it held means another execution is
/// running at the same time, written as `OVERLAP`. Fails while the file `fail` exists.
#[task]
fn ledger_entry(dir: PathBuf) -> Result<u32, TaskError> {
    if dir.join("fail").exists() {
        return Err(TaskError::new("the file `fail` exists"));
    }
    let pid = std::process::id();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("ledger.lock"))?;
    let alone = lock.try_lock().is_ok();
    ledger(&dir, &format!("start {pid}"))?;
    if !alone {
        ledger(&dir, &format!("OVERLAP {pid}"))?;
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    ledger(&dir, &format!("end {pid}"))?;
    Ok(pid)
}

workflow! {
    /// The ledger, never two at once: a second start is refused.
    #[schedule(every = "1m")]
    #[concurrency(overlap = "forbid")]
    ledger_forbid(dir: PathBuf) {
        entry = ledger_entry(dir);
    }
}

workflow! {
    /// The ledger, one at a time: a second start waits.
    #[schedule(every = "1m")]
    #[concurrency(overlap = "queue")]
    ledger_queue(dir: PathBuf) {
        entry = ledger_entry(dir);
    }
}

workflow! {
    /// The ledger, the newest wins: a second start stops the first.
    #[schedule(every = "1m")]
    #[concurrency(overlap = "replace")]
    ledger_replace(dir: PathBuf) {
        entry = ledger_entry(dir);
    }
}

workflow! {
    /// Like `marks`, and a failure (or a signal) e-mails the administrator; hourly.
    #[schedule(every = "1h")]
    #[concurrency(overlap = "forbid")]
    #[on_failure(stop, notify = "etl-admin@example.com")]
    guarded(dir: PathBuf) {
        first = mark(dir, "first");
        slow = wait_for_release(dir).after(first);
        last = mark(dir, "last").after(slow);
    }
}

/// A script that leaves a process of its own running in the background (its pid in
/// `DIR/bg.pid`) and waits for it: 30 seconds.
#[task(command)]
fn background_sleep(dir: PathBuf) -> Command {
    Command::new("sh")
        .arg("-c")
        .arg("sleep 30 & echo $! > \"$1/bg.pid\"; wait")
        .arg("sh")
        .path_arg(dir)
}

workflow! {
    /// A command whose own child runs in the background; never two at once.
    #[concurrency(overlap = "forbid")]
    sleeper(dir: PathBuf) {
        slept = background_sleep(dir);
    }
}

workflow! {
    /// Like `sleeper`; a newer run replaces the running one.
    #[concurrency(overlap = "replace")]
    replaced_sleeper(dir: PathBuf) {
        slept = background_sleep(dir);
    }
}

/// Prints `megabytes` MB on standard output.
#[task(command)]
fn print_megabytes(megabytes: u32) -> Command {
    Command::new("sh")
        .arg("-c")
        .arg(format!("head -c {megabytes}000000 /dev/zero | tr '\\0' x"))
}

/// How much the command printed, as the task saw it.
#[task]
fn captured(output: CommandOutput) -> (u64, u64) {
    (output.stdout.len() as u64, output.stdout_dropped)
}

workflow! {
    /// A command that prints a lot.
    loud(megabytes: u32 = 100) {
        printed = print_megabytes(megabytes);
        sizes = captured(printed);
    }
}

/// A text of `megabytes` MB.
#[task]
fn big_text(megabytes: u32) -> String {
    "x".repeat(megabytes as usize * 1_000_000)
}

workflow! {
    /// A node whose output is large.
    large(megabytes: u32 = 50) {
        text = big_text(megabytes);
    }
}

/// Appends a line to `$WORKFLOW_TEST_HOURS`.
fn record(line: String) -> u32 {
    if let Some(path) = std::env::var_os("WORKFLOW_TEST_HOURS") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("hours file");
        std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes()).expect("hours file");
    }
    1
}

#[task]
fn record_utc(hour: chrono::DateTime<chrono::Utc>) -> u32 {
    record(hour.to_rfc3339())
}

#[task]
fn record_local(hour: chrono::DateTime<chrono::FixedOffset>) -> u32 {
    record(hour.to_rfc3339())
}

#[task]
fn record_tick() -> u32 {
    record("tick".to_owned())
}

workflow! {
    /// Hourly partitions in a zone with daylight saving time, as UTC instants.
    #[schedule(cron = "5 * * * *", timezone = "Europe/Prague")]
    #[partition(hourly, param = hour)]
    prague_hours(hour: chrono::DateTime<chrono::Utc>) {
        seen = record_utc(hour);
    }
}

workflow! {
    /// Hourly partitions in a zone with daylight saving time, with the local offset.
    #[schedule(cron = "5 * * * *", timezone = "Europe/Prague")]
    #[partition(hourly, param = hour)]
    prague_local_hours(hour: chrono::DateTime<chrono::FixedOffset>) {
        seen = record_local(hour);
    }
}

workflow! {
    /// Hourly, in Prague.
    #[schedule(cron = "0 * * * *", timezone = "Europe/Prague")]
    prague_hourly() {
        seen = record_tick();
    }
}

workflow! {
    /// Every minute (what a tick's decision costs).
    #[schedule(cron = "* * * * *")]
    minutely() {
        seen = record_tick();
    }
}

/// Fails while the file `fail` exists; retried once, a second later.
#[task(retries = 1, retry_delay = "1s")]
fn check_twice(dir: PathBuf) -> Result<String, TaskError> {
    if dir.join("fail").exists() {
        log(&dir, "check_twice failed")?;
        return Err(TaskError::new("the file `fail` exists"));
    }
    log(&dir, "check_twice")?;
    Ok("checked".into())
}

workflow! {
    /// For the engines' failure paths: `checked` fails while `fail` exists. `a → checked →
    /// after`, and an independent chain `x → slow → z`, where `slow` waits for the file
    /// `release`: a test that creates it once `checked` has failed sees whether `z` starts.
    #[on_failure(pause, notify = "etl-admin@example.com")]
    pausing(dir: PathBuf) {
        a = mark(dir, "a");
        checked = check(dir).after(a);
        after = mark(dir, "after").after(checked);
        x = mark(dir, "x");
        slow = wait_for_release(dir).after(x);
        z = mark(dir, "z").after(slow);
    }
}

workflow! {
    /// As `pausing`, but independent nodes go on after a failure.
    #[on_failure(continue, notify = "etl-admin@example.com")]
    continuing(dir: PathBuf) {
        a = mark(dir, "a");
        checked = check(dir).after(a);
        after = mark(dir, "after").after(checked);
        x = mark(dir, "x");
        slow = wait_for_release(dir).after(x);
        z = mark(dir, "z").after(slow);
    }
}

workflow! {
    /// A node that fails while `fail` exists, retried once, then a last node.
    retried(dir: PathBuf) {
        checked = check_twice(dir);
        last = mark(dir, "last").after(checked);
    }
}

workflow! {
    /// Hourly; a failure (`check` fails while `fail` exists) pauses the schedule and e-mails
    /// the administrator.
    #[schedule(every = "1h")]
    #[concurrency(overlap = "forbid")]
    #[on_failure(pause, notify = "etl-admin@example.com")]
    hourly_pausing(dir: PathBuf) {
        checked = check(dir);
    }
}

/// Prints ten lines (one with its secret's value), logs an event, runs a command, and fails
/// on its first two attempts (counted in `dir/attempts`).
#[task(retries = 2, retry_delay = "1s")]
fn chatty(dir: PathBuf, token: Secret) -> Result<u32, TaskError> {
    let count_file = dir.join("attempts");
    let attempt = std::fs::read_to_string(&count_file)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .unwrap_or(0)
        + 1;
    std::fs::write(&count_file, attempt.to_string())
        .map_err(|error| TaskError::new(error.to_string()))?;
    let token = token.reveal()?;
    for line in 1..=10 {
        if line == 5 {
            println!("attempt {attempt} line {line} token={token}");
        } else {
            println!("attempt {attempt} line {line}");
        }
    }
    eprintln!("attempt {attempt} to stderr");
    tracing::info!(attempt, "attempt {attempt} event with {token}");
    let echoed = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo command says {attempt}; echo command complains >&2"
        ))
        .run()
        .map_err(|error| TaskError::new(error.to_string()))?;
    let _ = echoed;
    if attempt < 3 {
        return Err(TaskError::new(format!(
            "attempt {attempt} failed with {token}"
        )));
    }
    Ok(attempt)
}

workflow! {
    /// A task that talks, and fails twice before it succeeds.
    #[secret(chatty_token, env = "WORKFLOW_TEST_CHATTY_TOKEN")]
    chatty_node(dir: PathBuf) {
        talk = chatty(dir, chatty_token);
    }
}

/// Gives back its label.
#[task]
fn echo_label(label: String) -> String {
    label
}

workflow! {
    /// Echoes its label.
    labelled(label: String = "plain") {
        echoed = echo_label(label);
    }
}

workflow! {
    /// One node that fails while the file `fail` exists; `runner-fixture-changed` adds a
    /// second, as a new version of the workflow would.
    evolving(dir: PathBuf) {
        checked = check(dir);
    }
}

/// One, once.
#[task]
fn one() -> u32 {
    1
}

workflow! {
    /// A sub-workflow; its next version retries its step.
    pub inner_step() -> u32 {
        value = one();
        return value;
    }
}

workflow! {
    /// Runs `inner_step` as a node: its plan changes when `inner_step` does.
    nesting() {
        got = inner_step();
    }
}

fn main() -> std::process::ExitCode {
    // The race tests start several processes and let them go at once: each waits here until
    // the file `$WORKFLOW_TEST_BARRIER` exists.
    if let Some(barrier) = std::env::var_os("WORKFLOW_TEST_BARRIER") {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !Path::new(&barrier).exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    let code = workflow_core::cli::main();
    // The memory tests read this process's own peak (`VmHWM`, counted from `exec`), which a
    // parent cannot measure cleanly from outside.
    if let Some(report) = std::env::var_os("WORKFLOW_TEST_PEAK_FILE")
        && let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|line| line.starts_with("VmHWM:"))
    {
        let _ = std::fs::write(report, line);
    }
    code
}

/// Writes `start <label>` to the ledger, works 2 ms, writes `<label>`.
#[task]
fn quick_step(dir: PathBuf, label: String) -> Result<String, TaskError> {
    ledger(&dir, &format!("start {label}"))?;
    std::thread::sleep(std::time::Duration::from_millis(2));
    ledger(&dir, &label)?;
    Ok(label)
}

workflow! {
    /// Two chains of 25 quick nodes, side by side: many steps a second, for killing a run
    /// at any point of its life.
    quick_chains(dir: PathBuf) {
        a1 = quick_step(dir, "a1");
        a2 = quick_step(dir, "a2").after(a1);
        a3 = quick_step(dir, "a3").after(a2);
        a4 = quick_step(dir, "a4").after(a3);
        a5 = quick_step(dir, "a5").after(a4);
        a6 = quick_step(dir, "a6").after(a5);
        a7 = quick_step(dir, "a7").after(a6);
        a8 = quick_step(dir, "a8").after(a7);
        a9 = quick_step(dir, "a9").after(a8);
        a10 = quick_step(dir, "a10").after(a9);
        a11 = quick_step(dir, "a11").after(a10);
        a12 = quick_step(dir, "a12").after(a11);
        a13 = quick_step(dir, "a13").after(a12);
        a14 = quick_step(dir, "a14").after(a13);
        a15 = quick_step(dir, "a15").after(a14);
        a16 = quick_step(dir, "a16").after(a15);
        a17 = quick_step(dir, "a17").after(a16);
        a18 = quick_step(dir, "a18").after(a17);
        a19 = quick_step(dir, "a19").after(a18);
        a20 = quick_step(dir, "a20").after(a19);
        a21 = quick_step(dir, "a21").after(a20);
        a22 = quick_step(dir, "a22").after(a21);
        a23 = quick_step(dir, "a23").after(a22);
        a24 = quick_step(dir, "a24").after(a23);
        a25 = quick_step(dir, "a25").after(a24);
        b1 = quick_step(dir, "b1");
        b2 = quick_step(dir, "b2").after(b1);
        b3 = quick_step(dir, "b3").after(b2);
        b4 = quick_step(dir, "b4").after(b3);
        b5 = quick_step(dir, "b5").after(b4);
        b6 = quick_step(dir, "b6").after(b5);
        b7 = quick_step(dir, "b7").after(b6);
        b8 = quick_step(dir, "b8").after(b7);
        b9 = quick_step(dir, "b9").after(b8);
        b10 = quick_step(dir, "b10").after(b9);
        b11 = quick_step(dir, "b11").after(b10);
        b12 = quick_step(dir, "b12").after(b11);
        b13 = quick_step(dir, "b13").after(b12);
        b14 = quick_step(dir, "b14").after(b13);
        b15 = quick_step(dir, "b15").after(b14);
        b16 = quick_step(dir, "b16").after(b15);
        b17 = quick_step(dir, "b17").after(b16);
        b18 = quick_step(dir, "b18").after(b17);
        b19 = quick_step(dir, "b19").after(b18);
        b20 = quick_step(dir, "b20").after(b19);
        b21 = quick_step(dir, "b21").after(b20);
        b22 = quick_step(dir, "b22").after(b21);
        b23 = quick_step(dir, "b23").after(b22);
        b24 = quick_step(dir, "b24").after(b23);
        b25 = quick_step(dir, "b25").after(b24);
    }
}

/// Fails permanently (its configuration is missing), after writing `tried` to the log.
#[task(retries = 2, retry_delay = "1s")]
fn misconfigured(dir: PathBuf) -> Result<u32, TaskError> {
    log(&dir, "tried")?;
    Err(TaskError::permanent("the file `config.toml` is missing"))
}

workflow! {
    /// One node that fails permanently: its two retries stay unused.
    unfixable(dir: PathBuf) {
        attempt = misconfigured(dir);
    }
}
