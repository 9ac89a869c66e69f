//! External programs as tasks.
//!
//! A function marked `#[task(command)]` returns a [`Command`]: the program and its arguments,
//! built from the task's inputs. The task runs it without a shell (each argument reaches the
//! program as is, whatever quotes, `$()` or `;` it holds), captures its output, and succeeds
//! when the program exits with status 0. Its output is a [`CommandOutput`].
//!
//! ```
//! use workflow_core::prelude::*;
//! use workflow_core::command::Command;
//!
//! /// Count the lines of a file with `wc`.
//! #[task(command, timeout = "1m")]
//! fn count_lines(path: String) -> Command {
//!     Command::new("wc").arg("-l").arg(path)
//! }
//!
//! // The function only describes the command, so a unit test checks it without running it.
//! let command = count_lines("/etc/hostname; rm -rf /".into());
//! assert_eq!(command.program(), "wc");
//! assert_eq!(command.arguments(), ["-l", "/etc/hostname; rm -rf /"]);
//! ```

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;

use serde::{Deserialize, Serialize};

use crate::{Secret, TaskError};

/// A program to run with its arguments, environment and working directory.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    program: String,
    arguments: Vec<String>,
    environment: BTreeMap<String, EnvValue>,
    directory: Option<PathBuf>,
}

#[derive(Clone, PartialEq, Eq)]
enum EnvValue {
    Plain(String),
    Secret(Secret),
}

impl Command {
    /// A command running `program` (a path, or a name looked up in `PATH`).
    pub fn new(program: impl Into<String>) -> Self {
        Command {
            program: program.into(),
            arguments: Vec::new(),
            environment: BTreeMap::new(),
            directory: None,
        }
    }

    /// Adds one argument, passed to the program as is.
    pub fn arg(mut self, argument: impl ToString) -> Self {
        self.arguments.push(argument.to_string());
        self
    }

    /// Adds arguments, each passed to the program as is.
    pub fn args<I: IntoIterator<Item = A>, A: ToString>(mut self, arguments: I) -> Self {
        self.arguments
            .extend(arguments.into_iter().map(|argument| argument.to_string()));
        self
    }

    /// Adds a path argument.
    pub fn path_arg(mut self, path: impl Into<PathBuf>) -> Self {
        self.arguments
            .push(path.into().to_string_lossy().into_owned());
        self
    }

    /// Sets an environment variable for the program.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.environment
            .insert(name.into(), EnvValue::Plain(value.into()));
        self
    }

    /// Sets an environment variable to a secret's value, read only when the command runs.
    pub fn secret_env(mut self, name: impl Into<String>, secret: Secret) -> Self {
        self.environment
            .insert(name.into(), EnvValue::Secret(secret));
        self
    }

    /// Runs the program in `directory`.
    pub fn current_dir(mut self, directory: impl Into<PathBuf>) -> Self {
        self.directory = Some(directory.into());
        self
    }

    /// The program.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The arguments, in order.
    pub fn arguments(&self) -> &[String] {
        &self.arguments
    }

    /// Runs the command to completion with standard input closed, capturing its output: the
    /// last [`CAPTURE_LIMIT`] bytes of each stream are kept, and what came before is dropped
    /// and counted (`stdout_dropped`, `stderr_dropped`), so a program printing gigabytes
    /// cannot exhaust memory. A status other than 0 is an error that carries the output.
    ///
    /// Inside a run, the program holds the run's lock with it (the run counts as alive while
    /// it runs), has a process group of its own, and is stopped with the run.
    pub fn run(&self) -> Result<CommandOutput, CommandError> {
        let mut command = std::process::Command::new(&self.program);
        command
            .args(&self.arguments)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in &self.environment {
            let value: OsString = match value {
                EnvValue::Plain(value) => value.into(),
                EnvValue::Secret(secret) => secret
                    .reveal()
                    .map_err(|error| CommandError::Secret {
                        program: self.program.clone(),
                        message: error.to_string(),
                    })?
                    .into(),
            };
            command.env(name, value);
        }
        if let Some(directory) = &self.directory {
            command.current_dir(directory);
        }
        crate::runner::lock::prepare_child(&mut command);
        let mut child = command.spawn().map_err(|error| CommandError::Start {
            program: self.program.clone(),
            message: error.to_string(),
        })?;
        let pid = child.id();
        crate::runner::lock::register_child(pid);
        // Each line also goes to the attempt's log, when the attempt keeps one.
        let log = crate::runner::attempt_log::current();
        let (stdout_log, stderr_log) = (
            log.clone().map(|log| (log, "stdout")),
            log.map(|log| (log, "stderr")),
        );
        let stdout = child.stdout.take().map(|pipe| {
            std::thread::spawn(move || read_tail_logged(pipe, CAPTURE_LIMIT, stdout_log))
        });
        let stderr = child.stderr.take().map(|pipe| {
            std::thread::spawn(move || read_tail_logged(pipe, CAPTURE_LIMIT, stderr_log))
        });
        // Inside an attempt on a thread, the program is killed (with its process group) when
        // the engine gives up on the attempt: its timeout, the run's deadline, a signal.
        let status = match crate::runner::engine::current_attempt() {
            None => child.wait(),
            Some(attempt) => loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Ok(status),
                    Ok(None) if attempt.is_requested() => {
                        crate::runner::engine::kill_group(&mut child);
                        break child.wait();
                    }
                    Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
                    Err(error) => break Err(error),
                }
            },
        };
        crate::runner::lock::unregister_child(pid);
        let status = status.map_err(|error| CommandError::Start {
            program: self.program.clone(),
            message: format!("cannot wait for it: {error}"),
        })?;
        let collect = |reader: Option<std::thread::JoinHandle<Tail>>| {
            reader
                .and_then(|reader| reader.join().ok())
                .unwrap_or_default()
        };
        let (stdout, stderr) = (collect(stdout), collect(stderr));
        let captured = CommandOutput {
            status: status.code(),
            stdout: stdout.text,
            stderr: stderr.text,
            stdout_dropped: stdout.dropped,
            stderr_dropped: stderr.dropped,
        };
        if status.success() {
            Ok(captured)
        } else {
            Err(CommandError::Failed {
                program: self.program.clone(),
                output: captured,
            })
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let environment: Vec<&str> = self.environment.keys().map(String::as_str).collect();
        f.debug_struct("Command")
            .field("program", &self.program)
            .field("arguments", &self.arguments)
            .field("environment", &environment)
            .field("directory", &self.directory)
            .finish()
    }
}

/// How much of each output stream of a command is kept: its last 8 MiB.
pub const CAPTURE_LIMIT: usize = 8 << 20;

/// What a command printed, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CommandOutput {
    /// The exit status; `None` when a signal ended the program.
    pub status: Option<i32>,
    /// Standard output (invalid UTF-8 replaced): its last [`CAPTURE_LIMIT`] bytes.
    pub stdout: String,
    /// Standard error (invalid UTF-8 replaced): its last [`CAPTURE_LIMIT`] bytes.
    pub stderr: String,
    /// How many bytes of standard output came before `stdout` and were dropped (0 when
    /// `stdout` is all of it). A program whose output is data should write it to a file and
    /// print the file's path.
    #[serde(default)]
    pub stdout_dropped: u64,
    /// How many bytes of standard error came before `stderr` and were dropped.
    #[serde(default)]
    pub stderr_dropped: u64,
}

/// The end of a stream: its last bytes as text, and how many bytes came before them.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    pub(crate) text: String,
    pub(crate) dropped: u64,
}

/// The last `limit` bytes of a stream, kept while it is read (at most twice that in memory).
pub(crate) struct TailBuffer {
    kept: Vec<u8>,
    dropped: u64,
    limit: usize,
}

impl TailBuffer {
    pub(crate) fn new(limit: usize) -> TailBuffer {
        TailBuffer {
            kept: Vec::new(),
            dropped: 0,
            limit,
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.kept.extend_from_slice(bytes);
        if self.kept.len() > self.limit.saturating_mul(2).max(64 << 10) {
            let cut = self.kept.len() - self.limit;
            self.kept.drain(..cut);
            self.dropped += cut as u64;
        }
    }

    pub(crate) fn finish(mut self) -> Tail {
        if self.kept.len() > self.limit {
            let cut = self.kept.len() - self.limit;
            self.kept.drain(..cut);
            self.dropped += cut as u64;
        }
        Tail {
            text: String::from_utf8_lossy(&self.kept).into_owned(),
            dropped: self.dropped,
        }
    }
}

/// Reads `reader` to its end, keeping only its last `limit` bytes in memory (at most twice
/// that while reading).
pub(crate) fn read_tail(mut reader: impl std::io::Read, limit: usize) -> Tail {
    let mut tail = TailBuffer::new(limit);
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => tail.push(&chunk[..read]),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    tail.finish()
}

/// [`read_tail`], writing every line to `log` too, as from `source`.
fn read_tail_logged(
    reader: impl std::io::Read,
    limit: usize,
    log: Option<(
        std::sync::Arc<crate::runner::attempt_log::AttemptLog>,
        &'static str,
    )>,
) -> Tail {
    let Some((log, source)) = log else {
        return read_tail(reader, limit);
    };
    // The tail keeps the bytes as read; the log, lines.
    struct Tee<'a, R> {
        reader: R,
        tail: &'a mut TailBuffer,
    }
    impl<R: std::io::Read> std::io::Read for Tee<'_, R> {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            let read = self.reader.read(buffer)?;
            self.tail.push(&buffer[..read]);
            Ok(read)
        }
    }
    let mut tail = TailBuffer::new(limit);
    let tee = Tee {
        reader,
        tail: &mut tail,
    };
    let mut stream = log.stream(source);
    crate::runner::attempt_log::for_each_line(tee, |line, complete| {
        stream.piece(line, complete);
    });
    stream.finish();
    tail.finish()
}

impl CommandOutput {
    /// The non-empty lines of standard output, trimmed.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.stdout
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
    }
}

/// Why a command task failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The program could not be started (not found, not executable).
    #[error("cannot start `{program}`: {message}")]
    Start {
        /// The program.
        program: String,
        /// Why.
        message: String,
    },
    /// A secret for its environment could not be read.
    #[error("cannot run `{program}`: {message}")]
    Secret {
        /// The program.
        program: String,
        /// Why.
        message: String,
    },
    /// The program ran and exited with a failure status or was killed.
    #[error("`{program}` {}{}", describe_status(output.status), last_lines(&output.stderr))]
    Failed {
        /// The program.
        program: String,
        /// What it printed.
        output: CommandOutput,
    },
}

fn describe_status(status: Option<i32>) -> String {
    match status {
        Some(code) => format!("exited with status {code}"),
        None => "was killed by a signal".to_owned(),
    }
}

fn last_lines(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(5)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {}", tail.join(" | "))
    }
}

/// What a command task's function may return: a [`Command`], or a `Result` of one.
#[diagnostic::on_unimplemented(
    message = "a `#[task(command)]` function returns `workflow_core::command::Command`, not `{Self}`",
    label = "build and return the command to run here",
    note = "e.g. `fn step1(prefix: String) -> Command {{ Command::new(\"/opt/etl/step1.sh\").arg(prefix) }}`"
)]
pub trait IntoCommand {
    /// The command, or why it could not be built.
    fn into_command(self) -> Result<Command, TaskError>;
}

impl IntoCommand for Command {
    fn into_command(self) -> Result<Command, TaskError> {
        Ok(self)
    }
}

impl<E: Into<TaskError>> IntoCommand for Result<Command, E> {
    fn into_command(self) -> Result<Command, TaskError> {
        self.map_err(Into::into)
    }
}

/// Runs what a command task's function returned.
#[doc(hidden)]
pub fn run_task<C: IntoCommand>(command: C) -> Result<CommandOutput, TaskError> {
    Ok(command.into_command()?.run()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_reach_the_program_untouched() {
        let hostile = [
            "it's",
            "$(touch /tmp/pwned)",
            "`id`",
            "a;b",
            "line\nbreak",
            "\"quoted\"",
        ];
        let output = Command::new("printf")
            .arg("%s\\n")
            .args(hostile)
            .run()
            .unwrap();
        assert_eq!(
            output.stdout,
            hostile.map(|argument| format!("{argument}\n")).concat()
        );
        assert_eq!(output.status, Some(0));
    }

    #[test]
    fn failure_carries_status_and_the_end_of_stderr() {
        let error = Command::new("sh")
            .arg("-c")
            .arg("echo one >&2; echo two >&2; exit 3")
            .run()
            .unwrap_err();
        assert_eq!(error.to_string(), "`sh` exited with status 3: one | two");
        let CommandError::Failed { output, .. } = error else {
            panic!("expected a failure")
        };
        assert_eq!(output.status, Some(3));
    }

    #[test]
    fn a_missing_program_is_a_start_error() {
        let error = Command::new("/nonexistent/step1.sh").run().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot start `/nonexistent/step1.sh`:"),
            "{error}"
        );
    }

    #[test]
    fn environment_and_secrets_are_passed_and_never_printed() {
        // SAFETY: only this test reads this variable.
        unsafe { std::env::set_var("WORKFLOW_COMMAND_TEST_SECRET", "hunter2") };
        let command = Command::new("sh")
            .arg("-c")
            .arg("echo \"$PLAIN $TOKEN\"")
            .env("PLAIN", "visible")
            .secret_env(
                "TOKEN",
                Secret::from_env("token", "WORKFLOW_COMMAND_TEST_SECRET"),
            );
        assert!(!format!("{command:?}").contains("hunter2"));
        assert_eq!(command.run().unwrap().stdout, "visible hunter2\n");
    }
}
