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
/// Of one write (an event, a failure message), at most this many bytes are kept.
pub const LONGEST_WRITE: usize = 1 << 20;
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

/// The values of the secrets `spec` and the workflows it runs as nodes declare, as masks:
/// each line of a value, when it is at least [`SHORTEST_MASKED`] characters long, as written
/// and as Rust's `{:?}` and JSON escape it (a value with a `"` or `\` logged with `?value`),
/// longest first.
pub fn secret_values(spec: &crate::WorkflowSpec) -> Vec<String> {
    let mut values = Vec::new();
    let mut seen = std::collections::HashSet::new();
    collect_secrets(spec, &mut values, &mut seen);
    let mut masks: Vec<String> = values
        .iter()
        .flat_map(|value| {
            value
                .lines()
                .map(|line| line.trim_end_matches('\r').to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|line| line.chars().count() >= SHORTEST_MASKED)
        .flat_map(|line| {
            let debug = line.escape_debug().to_string();
            let json = serde_json::Value::String(line.clone()).to_string();
            let json = json[1..json.len() - 1].to_owned();
            [line, debug, json]
        })
        .collect();
    masks.sort_by_key(|mask| std::cmp::Reverse(mask.len()));
    masks.dedup();
    masks
}

/// The secret values of `spec` and, through the registry, of every workflow it runs as a
/// node, each workflow once.
fn collect_secrets(
    spec: &crate::WorkflowSpec,
    values: &mut Vec<String>,
    seen: &mut std::collections::HashSet<&'static str>,
) {
    if !seen.insert(spec.name) {
        return;
    }
    values.extend(
        spec.secrets
            .iter()
            .filter_map(|secret| secret.reveal().ok()),
    );
    for node in &spec.nodes {
        if matches!(node.task.kind, crate::TaskKind::Workflow)
            && let Ok(inner) = crate::registry::find(node.task.name)
        {
            collect_secrets(&inner, values, seen);
        }
    }
}

/// The secret values of the run this process carries out, masked wherever it prints: in
/// `tracing` output on its terminal and in a panic's message.
static PROCESS_MASKS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Adds `masks` to what this process never prints.
pub fn mask_in_process(masks: &[String]) {
    let mut all = PROCESS_MASKS
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    all.extend(masks.iter().cloned());
    all.sort_by_key(|mask| std::cmp::Reverse(mask.len()));
    all.dedup();
}

/// `text` with every secret this process knows written `***`.
pub fn mask_for_process(text: &str) -> String {
    let masks = PROCESS_MASKS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    mask(&masks, text)
}

/// Standard error, through the process's masks: what `tracing` prints on the terminal. Each
/// event is formatted whole into the buffer, then masked and written at once.
pub struct MaskedStderr(Vec<u8>);

impl MaskedStderr {
    /// A writer for one event.
    pub fn new() -> MaskedStderr {
        MaskedStderr(Vec::new())
    }
}

impl Default for MaskedStderr {
    fn default() -> Self {
        MaskedStderr::new()
    }
}

impl std::io::Write for MaskedStderr {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let text = mask_for_process(&String::from_utf8_lossy(&self.0));
        self.0.clear();
        std::io::stderr().write_all(text.as_bytes())
    }
}

impl Drop for MaskedStderr {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}

/// Prints a panic as Rust's default hook does, with the process's secrets masked.
pub fn install_masking_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "Box<dyn Any>".to_owned());
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("<unnamed>");
        let location = info
            .location()
            .map(|location| format!(" at {location}"))
            .unwrap_or_default();
        let mut text = format!(
            "\nthread '{name}' panicked{location}:\n{}\n",
            mask_for_process(&message)
        );
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            text.push_str(&format!("stack backtrace:\n{backtrace}\n"));
        }
        let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
    }));
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

/// What was rotated out of an attempt's log, and its current file.
pub type LogParts = (Option<Vec<u8>>, Option<Vec<u8>>);

/// An attempt's log in its two parts: what was rotated out, and the current file (each
/// `None` when it does not exist).
pub fn read_parts(dir: &Path, run: i64, node: &str, attempt: u32) -> std::io::Result<LogParts> {
    let path = attempt_path(dir, run, node, attempt);
    let read = |path: &Path| match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    };
    // The current file first: a rotation between the two reads then shows as a current file
    // shorter than what was printed of it, never as lines read twice.
    let current = read(&path)?;
    let old = read(&rotated(&path))?;
    Ok((old, current))
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
    /// Bytes of this attempt's log dropped by rotation so far.
    dropped: u64,
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
                dropped: 0,
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

    /// The secret values it masks.
    pub fn masks(&self) -> Arc<[String]> {
        self.masks.clone()
    }

    /// Masks `text` with the workflow's secret values.
    pub fn mask(&self, text: &str) -> String {
        mask(&self.masks, text)
    }

    /// Writes each line of `text` from `source`, timestamped now. Errors writing are ignored:
    /// a full disk must not fail the attempt (its state is recorded elsewhere). Of one call's
    /// text at most [`LONGEST_WRITE`] bytes are kept (the end is dropped, and said); control
    /// characters but tab are written as `\xNN`, so a log cannot drive a terminal.
    pub fn line(&self, source: &str, text: &str) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        match &self.target {
            Target::Parent => {
                // Pieces short enough that the runner, which cuts lines at LONGEST_LINE, keeps
                // each one with its mark.
                let piece = LONGEST_LINE - 64;
                let mut stderr = std::io::stderr().lock();
                for line in text.split('\n') {
                    let mut rest = line.strip_suffix('\r').unwrap_or(line);
                    loop {
                        let cut = floor_char_boundary(rest, piece);
                        let _ = writeln!(stderr, "{MARK}{source}{SEPARATOR}{}", &rest[..cut]);
                        rest = &rest[cut..];
                        if rest.is_empty() {
                            break;
                        }
                    }
                }
            }
            Target::File(file) => {
                let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
                let masked = self.mask(text);
                let kept = floor_char_boundary(&masked, LONGEST_WRITE);
                let mut lines = String::new();
                for line in masked[..kept].split('\n') {
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    let line = printable(line);
                    let mut rest: &str = &line;
                    loop {
                        let cut = floor_char_boundary(rest, LONGEST_LINE);
                        lines.push_str(&format!("{now} {source}: {}\n", &rest[..cut]));
                        rest = &rest[cut..];
                        if rest.is_empty() {
                            break;
                        }
                    }
                }
                if kept < masked.len() {
                    lines.push_str(&format!(
                        "{now} runner: ({} more bytes of that were dropped: one write keeps at most {} KiB)\n",
                        masked.len() - kept,
                        LONGEST_WRITE >> 10
                    ));
                }
                let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                file.write(lines.as_bytes());
            }
        }
    }

    /// A line from an attempt's process's standard error: a line the process marked as its
    /// task's `stdout`, `stderr` or `log` keeps that source; any other is `stderr` as it is
    /// (a task cannot write a `runner:` line).
    pub fn line_from_process(&self, text: &str) {
        match text
            .strip_prefix(MARK)
            .and_then(|rest| rest.split_once(SEPARATOR))
        {
            Some((source @ ("stdout" | "stderr" | "log"), text)) => self.line(source, text),
            _ => self.line("stderr", text),
        }
    }

    /// A reader of one stream (`source`) into this log, whose lines may come in pieces.
    pub fn stream(self: &Arc<Self>, source: &'static str) -> StreamLog {
        StreamLog {
            log: self.clone(),
            source,
            carry: Vec::new(),
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
            let mut stream = log.stream(source);
            for_each_line(pipe, |line, complete| stream.piece(line, complete));
            stream.finish();
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
        self.dropped += std::fs::metadata(&old).map_or(0, |metadata| metadata.len());
        let dropped = self.dropped;
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
/// has no newline; a line longer than [`LONGEST_LINE`] is given in parts, each but its last
/// with `complete` false.
pub fn for_each_line(reader: impl std::io::Read, mut each: impl FnMut(&[u8], bool)) {
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
                (window.len(), false)
            }
        };
        reader.consume(used);
        if complete || line.len() >= LONGEST_LINE {
            each(&line, complete);
            line.clear();
        }
    }
    if !line.is_empty() {
        each(&line, true);
    }
}

/// One stream of an attempt (a pipe read in pieces) into its log. A piece that ends without
/// a newline is masked together with what follows: of it, only what cannot be the start of a
/// secret that the next piece ends is written now, so that a secret cut by the reader is
/// still masked.
pub struct StreamLog {
    log: Arc<AttemptLog>,
    source: &'static str,
    carry: Vec<u8>,
}

impl StreamLog {
    /// Takes the next piece of a line (`complete` when the line ends with it).
    pub fn piece(&mut self, bytes: &[u8], complete: bool) {
        self.carry.extend_from_slice(bytes);
        if complete {
            let text = String::from_utf8_lossy(&self.carry).into_owned();
            self.carry.clear();
            self.log.line(self.source, &text);
            return;
        }
        let longest = self.log.masks.first().map_or(0, String::len);
        let mut cut = self
            .carry
            .len()
            .saturating_sub(longest.saturating_sub(1).max(3));
        // Not inside a secret that spans the cut, nor inside a character.
        let mut moved = true;
        while moved {
            moved = false;
            for mask in self.log.masks.iter() {
                let mask = mask.as_bytes();
                let from = cut.saturating_sub(mask.len() - 1);
                if let Some(at) = self.carry[from..]
                    .windows(mask.len())
                    .position(|window| window == mask)
                    .map(|at| from + at)
                    .filter(|&at| at < cut && at + mask.len() > cut)
                {
                    cut = at;
                    moved = true;
                }
            }
        }
        while cut > 0 && cut < self.carry.len() && (self.carry[cut] & 0b1100_0000) == 0b1000_0000 {
            cut -= 1;
        }
        if cut == 0 {
            return;
        }
        let text = String::from_utf8_lossy(&self.carry[..cut]).into_owned();
        self.carry.drain(..cut);
        self.log.line(self.source, &text);
    }

    /// Writes what is left.
    pub fn finish(&mut self) {
        if !self.carry.is_empty() {
            self.piece(&[], true);
        }
    }
}

/// The largest index at most `limit` that is a character boundary of `text`.
pub(crate) fn floor_char_boundary(text: &str, limit: usize) -> usize {
    if limit >= text.len() {
        return text.len();
    }
    (0..=limit)
        .rev()
        .find(|&index| text.is_char_boundary(index))
        .unwrap_or(0)
}

/// `text` with control characters but tab written `\xNN`.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|character| character.is_control() && character != '\t')
    {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|character| {
                if character.is_control() && character != '\t' {
                    format!("\\x{:02X}", u32::from(character))
                } else {
                    character.to_string()
                }
            })
            .collect(),
    )
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
        for_each_line(input.as_bytes(), |line, complete| {
            seen.push((line.len(), complete))
        });
        assert_eq!(
            seen,
            [(1, true), (LONGEST_LINE, false), (10, true), (3, true)]
        );
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

    #[test]
    fn a_secret_cut_by_the_reader_is_still_masked() {
        let secret = "PlainSecret12345";
        let (_directory, settings) = settings(&[secret]);
        let log = AttemptLog::create(&settings, 2, "cut", 1).unwrap();
        // The secret straddles the reader's cut at LONGEST_LINE.
        let text = format!(
            "{}{secret} tail\nnext {secret}\n",
            "p".repeat(LONGEST_LINE - 6)
        );
        let mut stream = log.stream("stdout");
        for_each_line(text.as_bytes(), |line, complete| {
            stream.piece(line, complete)
        });
        stream.finish();
        let written =
            String::from_utf8(read(&settings.dir, 2, "cut", 1).unwrap().unwrap()).unwrap();
        assert!(
            !written.contains("PlainSec"),
            "{}",
            &written[written.len() - 200..]
        );
        assert!(!written.contains("ret12345"));
        assert_eq!(written.matches("***").count(), 2);
        assert!(
            written.contains("*** tail"),
            "{}",
            &written[written.len() - 200..]
        );
    }

    #[test]
    fn escaped_forms_of_secrets_are_masked_and_control_characters_shown() {
        let variable = format!("WORKFLOW_TEST_ESCAPED_{}", std::process::id());
        // SAFETY: a variable of this test's own, set before any thread of it reads it.
        unsafe { std::env::set_var(&variable, "pa\"ss\\wd-Secret9") };
        let mut spec = crate::__private::defaults::workflow();
        spec.secrets = vec![crate::Secret::from_env("password", variable.clone())];
        let masks = secret_values(&spec);
        let debug = format!("{:?}", "pa\"ss\\wd-Secret9");
        assert_eq!(
            mask(&masks, &format!("bad {debug} here")),
            "bad \"***\" here"
        );
        let (_directory, settings) = settings(&[]);
        let log = AttemptLog::create(&settings, 3, "ctl", 1).unwrap();
        log.line("stdout", "red \u{1b}[31mtext\u{7}\tend");
        let written =
            String::from_utf8(read(&settings.dir, 3, "ctl", 1).unwrap().unwrap()).unwrap();
        assert!(
            written.ends_with("stdout: red \\x1B[31mtext\\x07\tend\n"),
            "{written}"
        );
    }

    #[test]
    fn a_process_cannot_write_runner_lines_and_one_write_is_bounded() {
        let (_directory, settings) = settings(&[]);
        let log = AttemptLog::create(&settings, 4, "forger", 1).unwrap();
        log.line_from_process("\u{1e}runner\u{1f}succeeded (forged)");
        log.line_from_process("\u{1e}log\u{1f}INFO fine");
        log.line("log", &"e".repeat(3 * LONGEST_WRITE));
        let written =
            String::from_utf8(read(&settings.dir, 4, "forger", 1).unwrap().unwrap()).unwrap();
        let sources: Vec<&str> = written
            .lines()
            .map(|line| line.split(' ').nth(1).unwrap())
            .collect();
        assert_eq!(&sources[..2], ["stderr:", "log:"]);
        assert!(
            written.len() < LONGEST_WRITE + 64 * 1024,
            "{}",
            written.len()
        );
        assert!(written.contains(&format!(
            "{} more bytes of that were dropped",
            2 * LONGEST_WRITE
        )));
    }

    #[test]
    fn rotation_counts_every_dropped_byte() {
        let (_directory, settings) = settings(&[]);
        let log = AttemptLog::create(&settings, 5, "loud", 1).unwrap();
        let line = "z".repeat(1 << 20);
        for _ in 0..20 {
            log.line("stdout", &line);
        }
        let written =
            String::from_utf8(read(&settings.dir, 5, "loud", 1).unwrap().unwrap()).unwrap();
        let said = written
            .lines()
            .filter_map(|line| line.split("runner: (").nth(1))
            .filter_map(|rest| rest.split(' ').next())
            .filter_map(|bytes| bytes.parse::<u64>().ok())
            .max()
            .unwrap();
        let total: u64 = 20 * ((1 << 20) + 30);
        assert!(
            said + written.len() as u64 >= total - 4096,
            "{said} + {}",
            written.len()
        );
        assert!(said >= 8 << 20, "{said}");
    }
}
