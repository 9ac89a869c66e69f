//! Each attempt's log: what the attempt wrote (a task's standard output and error, its
//! `tracing` events, a command's output) and what the runner says about it, one timestamped
//! line each, in a file of its own.
//!
//! **Where.** In a directory beside the state file, `<state>.logs/run-<RUN>/node-<NODE>/
//! attempt-<K>.log` (a node's name with every byte but `A-Z a-z 0-9 _ -` written `%XX`). Files,
//! not rows of the state database: an attempt appends a line at a time without taking the
//! database's write lock from the run's own steps, `logs --follow` reads a growing file, and a
//! talkative task costs disk, not database size. The path follows from run, node and attempt,
//! which the database records; `prune` removes a run's directory with its rows.
//!
//! **Lines.** `2026-11-30T08:01:02.123Z stdout: text`, where the source is `stdout`, `stderr`,
//! `log` (a `tracing` event, its level first) or `runner` (attempt started, its end and failure
//! message). A line longer than 64 KiB is split.
//!
//! **Bounded.** An attempt keeps its last 4 to 8 MiB: when the file passes 4 MiB it becomes
//! `attempt-<K>.log.1` (replacing the one before) and a new file starts with a line saying how
//! many bytes were dropped, as a command task keeps the end of its output.
//!
//! **Masked.** The value of every secret the workflow declares is written `***`, as Airflow's
//! secrets masker does, and as Airflow (`min_length_masked_secret`, default 5) values shorter
//! than 5 characters are not masked: masking every `1` would garble the log and tell where a
//! short secret is anyway.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// When an attempt's log passes this many bytes, it is rotated: it keeps its last 4 to 8 MiB.
pub const ROTATE_AT: u64 = 4 << 20;
/// A line longer than this is split.
pub const LONGEST_LINE: usize = 64 << 10;
/// Secret values shorter than this are not masked (Airflow's `min_length_masked_secret`).
pub const SHORTEST_MASKED: usize = 5;

/// Where a run's attempts write their logs, and what they mask.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// The logs directory (`<state>.logs`).
    pub dir: PathBuf,
    /// Text never written: the workflow's secret values.
    pub masks: Arc<[String]>,
}

impl LogSettings {
    /// The logs beside the state file `state`, masking `spec`'s declared secrets that can be
    /// read now (one that cannot be read has no value to leak).
    pub fn beside(state: &Path, spec: &crate::WorkflowSpec) -> LogSettings {
        LogSettings {
            dir: logs_dir(state),
            masks: secret_values(spec).into(),
        }
    }
}

/// `<state>.logs`: the logs directory of the state file `state`.
pub fn logs_dir(state: &Path) -> PathBuf {
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".logs");
    state.with_file_name(name)
}

/// The values of the secrets `spec` declares, as masks: each line of a value, when it is at
/// least [`SHORTEST_MASKED`] characters long, longest first.
pub fn secret_values(spec: &crate::WorkflowSpec) -> Vec<String> {
    let mut masks: Vec<String> = spec
        .secrets
        .iter()
        .filter_map(|secret| secret.reveal().ok())
        .flat_map(|value| {
            value
                .lines()
                .map(|line| line.trim_end_matches('\r').to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|line| line.chars().count() >= SHORTEST_MASKED)
        .collect();
    masks.sort_by_key(|mask| std::cmp::Reverse(mask.len()));
    masks.dedup();
    masks
}

/// The directory of run `run`'s logs.
pub fn run_dir(dir: &Path, run: i64) -> PathBuf {
    dir.join(format!("run-{run}"))
}

/// The log file of attempt `attempt` of node `node` in run `run`.
pub fn attempt_path(dir: &Path, run: i64, node: &str, attempt: u32) -> PathBuf {
    let mut encoded = String::from("node-");
    for byte in node.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    run_dir(dir, run)
        .join(encoded)
        .join(format!("attempt-{attempt}.log"))
}

/// Reads an attempt's log: what was rotated out first, then the current file. `None` when
/// the attempt has no log (it never started, it ran before logs were kept, or was pruned).
pub fn read(dir: &Path, run: i64, node: &str, attempt: u32) -> std::io::Result<Option<Vec<u8>>> {
    let path = attempt_path(dir, run, node, attempt);
    let mut text = match std::fs::read(rotated(&path)) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error),
    };
    match std::fs::read(&path) {
        Ok(bytes) => text.extend(bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && text.is_empty() => {
            return Ok(None);
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    Ok(Some(text))
}

fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".1");
    PathBuf::from(name)
}

/// Replaces every mask in `text` with `***`.
pub fn mask(masks: &[String], text: &str) -> String {
    let mut text = text.to_owned();
    for secret in masks {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "***");
        }
    }
    text
}

/// One attempt's log, written a line at a time (no buffer: what was written survives a
/// killed runner, and `logs --follow` sees it at once).
#[derive(Debug)]
pub struct AttemptLog {
    target: Target,
    masks: Arc<[String]>,
}

#[derive(Debug)]
enum Target {
    File(Mutex<LogFile>),
    /// Inside an attempt's own process (`exec-task`): lines go to standard error, marked with
    /// their source, and the runner that waits for the process writes them to the file.
    Parent,
}

#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    file: Option<std::fs::File>,
    written: u64,
}

/// Starts a line sent by an attempt's process: `\x1e<source>\x1f<text>`.
pub(crate) const MARK: char = '\u{1e}';
/// Set for an attempt's process whose runner keeps its log: the process marks the lines it
/// sends (a command's output) with their source.
pub const TO_PARENT_VARIABLE: &str = "WORKFLOW_ATTEMPT_LOG";
const SEPARATOR: char = '\u{1f}';

impl AttemptLog {
    /// Creates the log of attempt `attempt` of node `node` in run `run`.
    ///
    /// # Errors
    ///
    /// The directory or file cannot be created.
    pub fn create(
        settings: &LogSettings,
        run: i64,
        node: &str,
        attempt: u32,
    ) -> std::io::Result<Arc<AttemptLog>> {
        let path = attempt_path(&settings.dir, run, node, attempt);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let written = file.metadata().map_or(0, |metadata| metadata.len());
        Ok(Arc::new(AttemptLog {
            target: Target::File(Mutex::new(LogFile {
                path,
                file: Some(file),
                written,
            })),
            masks: settings.masks.clone(),
        }))
    }

    /// The log of the attempt this process runs for a runner (`exec-task`).
    pub fn to_parent() -> Arc<AttemptLog> {
        Arc::new(AttemptLog {
            target: Target::Parent,
            masks: Arc::from(Vec::new()),
        })
    }

    /// Whether lines go to a file here (not through a parent runner).
    pub fn is_file(&self) -> bool {
        matches!(self.target, Target::File(_))
    }

    /// Masks `text` with the workflow's secret values.
    pub fn mask(&self, text: &str) -> String {
        mask(&self.masks, text)
    }

    /// Writes each line of `text` from `source`, timestamped now. Errors writing are ignored:
    /// a full disk must not fail the attempt (its state is recorded elsewhere).
    pub fn line(&self, source: &str, text: &str) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        match &self.target {
            Target::Parent => {
                let mut stderr = std::io::stderr().lock();
                for line in text.split('\n') {
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    let _ = writeln!(stderr, "{MARK}{source}{SEPARATOR}{line}");
                }
            }
            Target::File(file) => {
                let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
                let mut lines = String::new();
                for line in text.split('\n') {
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    let line = self.mask(line);
                    let mut rest = line.as_str();
                    loop {
                        let cut = if rest.len() > LONGEST_LINE {
                            (0..=LONGEST_LINE)
                                .rev()
                                .find(|&index| rest.is_char_boundary(index))
                                .unwrap_or(0)
                        } else {
                            rest.len()
                        };
                        lines.push_str(&format!("{now} {source}: {}\n", &rest[..cut]));
                        rest = &rest[cut..];
                        if rest.is_empty() {
                            break;
                        }
                    }
                }
                let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                file.write(lines.as_bytes());
            }
        }
    }

    /// A line from an attempt's process's standard error: a marked line keeps the source the
    /// process gave it; any other is `stderr`.
    pub fn line_from_process(&self, text: &str) {
        match text
            .strip_prefix(MARK)
            .and_then(|rest| rest.split_once(SEPARATOR))
        {
            Some((source, text)) if !source.is_empty() && source.len() <= 16 => {
                self.line(source, text);
            }
            _ => self.line("stderr", text),
        }
    }

    /// Reads `pipe` line by line on a thread of its own, writing each line from `source`, until
    /// the pipe closes; `each` is given every line's raw bytes too (to keep a tail).
    pub fn capture(
        self: &Arc<Self>,
        source: &'static str,
        pipe: impl std::io::Read + Send + 'static,
    ) -> std::thread::JoinHandle<()> {
        let log = self.clone();
        std::thread::spawn(move || {
            for_each_line(pipe, |line| {
                let text = String::from_utf8_lossy(line);
                if source == "stderr" {
                    log.line_from_process(&text);
                } else {
                    log.line(source, &text);
                }
            });
        })
    }
}

impl LogFile {
    fn write(&mut self, bytes: &[u8]) {
        if self.written >= ROTATE_AT {
            self.rotate();
        }
        if let Some(file) = &mut self.file
            && file.write_all(bytes).is_ok()
        {
            self.written += bytes.len() as u64;
        }
    }

    /// The current file becomes `.1`; the one before is dropped, and the new file says so.
    fn rotate(&mut self) {
        let old = rotated(&self.path);
        let dropped = std::fs::metadata(&old).map_or(0, |metadata| metadata.len());
        self.file = None;
        if std::fs::rename(&self.path, &old).is_err() {
            return;
        }
        self.file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .ok();
        self.written = 0;
        if dropped > 0 {
            let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
            let line = format!(
                "{now} runner: ({dropped} earlier bytes of this attempt's log were dropped: an attempt keeps its last 4 to 8 MiB)\n"
            );
            if let Some(file) = &mut self.file
                && file.write_all(line.as_bytes()).is_ok()
            {
                self.written += line.len() as u64;
            }
        }
    }
}

/// Calls `each` with every line of `reader` (without its newline), the last one even when it
/// has no newline; lines longer than [`LONGEST_LINE`] are given in parts.
pub fn for_each_line(reader: impl std::io::Read, mut each: impl FnMut(&[u8])) {
    let mut reader = std::io::BufReader::with_capacity(64 << 10, reader);
    let mut line = Vec::new();
    loop {
        let buffer = match reader.fill_buf() {
            Ok([]) => break,
            Ok(buffer) => buffer,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let room = LONGEST_LINE - line.len();
        let window = &buffer[..buffer.len().min(room)];
        let (used, complete) = match window.iter().position(|&byte| byte == b'\n') {
            Some(end) => {
                line.extend_from_slice(&window[..end]);
                (end + 1, true)
            }
            None => {
                line.extend_from_slice(window);
                (window.len(), line.len() >= LONGEST_LINE)
            }
        };
        reader.consume(used);
        if complete {
            each(&line);
            line.clear();
        }
    }
    if !line.is_empty() {
        each(&line);
    }
}

thread_local! {
    static CURRENT: std::cell::RefCell<Option<Arc<AttemptLog>>> =
        const { std::cell::RefCell::new(None) };
}

/// The log of the attempt running on this thread, if it keeps one.
pub fn current() -> Option<Arc<AttemptLog>> {
    CURRENT.with(|current| current.borrow().clone())
}

/// Makes `log` this thread's current attempt log while the guard lives.
pub struct Current(Option<Arc<AttemptLog>>);

impl Current {
    /// Enters `log` (or none) on this thread.
    pub fn enter(log: Option<Arc<AttemptLog>>) -> Current {
        Current(CURRENT.with(|current| current.replace(log)))
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

/// Writes `tracing` events to the current attempt's log: events of a task's own thread, its
/// fan-out elements and its sub-workflows; inside an attempt's own process, marked on standard
/// error for the runner to write (and not printed there a second time).
pub struct TracingLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for TracingLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _context: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let Some(log) = current() else {
            return;
        };
        let mut text = EventText(String::new(), String::new());
        event.record(&mut text);
        let EventText(message, fields) = text;
        log.line(
            "log",
            &format!("{} {message}{fields}", event.metadata().level()),
        );
    }
}

/// An event's message, then its other fields as ` name=value`.
struct EventText(String, String);

impl tracing::field::Visit for EventText {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.1.push_str(&format!(" {}={value}", field.name()));
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.push_str(&format!("{value:?}"));
        } else {
            self.1.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(masks: &[&str]) -> (tempfile::TempDir, LogSettings) {
        let directory = tempfile::tempdir().unwrap();
        let settings = LogSettings {
            dir: directory.path().join("state.sqlite.logs"),
            masks: masks.iter().map(|mask| (*mask).to_owned()).collect(),
        };
        (directory, settings)
    }

    fn lines(settings: &LogSettings, run: i64, node: &str, attempt: u32) -> Vec<String> {
        let bytes = read(&settings.dir, run, node, attempt).unwrap().unwrap();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| line.split_once(' ').unwrap().1.to_owned())
            .collect()
    }

    #[test]
    fn lines_are_timestamped_by_source_and_masked() {
        let (_directory, settings) = settings(&["hunter2-secret"]);
        let log = AttemptLog::create(&settings, 7, "load", 2).unwrap();
        log.line("stdout", "one\ntwo with hunter2-secret inside\r\n");
        log.line_from_process("\u{1e}stdout\u{1f}marked");
        log.line_from_process("plain error");
        assert_eq!(
            lines(&settings, 7, "load", 2),
            [
                "stdout: one",
                "stdout: two with *** inside",
                "stdout: marked",
                "stderr: plain error"
            ]
        );
        let text = String::from_utf8(read(&settings.dir, 7, "load", 2).unwrap().unwrap()).unwrap();
        let stamp = text.split(' ').next().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "{stamp}"
        );
        assert_eq!(read(&settings.dir, 7, "load", 3).unwrap(), None);
    }

    #[test]
    fn node_names_make_safe_file_names() {
        let path = attempt_path(Path::new("/x"), 1, "con/../é", 1);
        assert_eq!(
            path,
            Path::new("/x/run-1/node-con%2F%2E%2E%2F%C3%A9/attempt-1.log")
        );
    }

    #[test]
    fn a_long_log_keeps_its_end_and_says_what_it_dropped() {
        let (_directory, settings) = settings(&[]);
        let log = AttemptLog::create(&settings, 1, "noisy", 1).unwrap();
        let line = "x".repeat(1000);
        for index in 0..12_000 {
            log.line("stdout", &format!("{index} {line}"));
        }
        let bytes = read(&settings.dir, 1, "noisy", 1).unwrap().unwrap();
        assert!(
            bytes.len() as u64 <= 2 * ROTATE_AT + 4096,
            "{}",
            bytes.len()
        );
        assert!(bytes.len() as u64 >= ROTATE_AT, "{}", bytes.len());
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(&format!("11999 {line}")));
        assert!(!text.contains(&format!(" 0 {line}")));
        assert!(
            text.contains("earlier bytes of this attempt's log were dropped"),
            "{}",
            &text[..200]
        );
    }

    #[test]
    fn long_lines_are_split_and_partial_last_lines_kept() {
        let mut seen = Vec::new();
        let input = format!("a\n{}\nend", "y".repeat(LONGEST_LINE + 10));
        for_each_line(input.as_bytes(), |line| seen.push(line.len()));
        assert_eq!(seen, [1, LONGEST_LINE, 10, 3]);
    }

    #[test]
    fn secrets_of_five_characters_or_more_are_masks_line_by_line() {
        let variable = format!("WORKFLOW_TEST_MASK_{}", std::process::id());
        // SAFETY: a variable of this test's own, set before any thread of it reads it.
        unsafe { std::env::set_var(&variable, "abcd\nlonger-line\r\nabcde") };
        let mut spec = crate::__private::defaults::workflow();
        spec.secrets = vec![
            crate::Secret::from_env("pin", variable.clone()),
            crate::Secret::from_env("missing", "WORKFLOW_TEST_SURELY_UNSET_VARIABLE"),
        ];
        assert_eq!(secret_values(&spec), ["longer-line", "abcde"]);
        assert_eq!(
            mask(&secret_values(&spec), "xabcdex abcd longer-line"),
            "x***x abcd ***"
        );
    }
}
