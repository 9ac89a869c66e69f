//! The command line every workflow binary gets from one line:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     workflow_core::cli::main()
//! }
//! ```
//!
//! Exit status: 0 on success, 1 when `validate` finds problems, 2 for a usage error (unknown
//! workflow or parameter, missing or unparsable value). Errors are one line on standard error.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::plan::{Plan, PlanOptions, parse_assignments};
use crate::registry;
use crate::render;

/// Exit status for a usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when `validate` finds problems.
pub const EXIT_PROBLEMS: u8 = 1;

#[derive(Parser, Debug)]
#[command(
    about = "List, plan, draw, check and run the workflows built into this binary",
    disable_version_flag = true
)]
struct Arguments {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every registered workflow with the first line of its doc
    List {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Print the plan of one run of a workflow
    Plan {
        /// The workflow's name
        workflow: String,
        /// A parameter value, parsed into the parameter's declared type (repeatable)
        #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = PlanFormat::Json)]
        format: PlanFormat,
        /// Count the schedule's next runs from this moment (RFC 3339, e.g. 2026-11-21T00:00:00Z)
        /// instead of the current time
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        now: Option<DateTime<Utc>>,
        /// How many of the schedule's next runs to list (at most 10000)
        #[arg(long = "next", value_name = "COUNT", default_value_t = 5, value_parser = parse_next_runs)]
        next_runs: usize,
        /// Plan one run per partition in FROM..TO (both included), oldest first, for a
        /// partitioned workflow: 2026-11-01..2026-11-21, or 2026-11-01T00..2026-11-01T23
        #[arg(long, value_name = "FROM..TO")]
        backfill: Option<String>,
        /// Write the plan as JSON to FILE (e.g. the baseline a deployment keeps for `diff`)
        /// instead of printing it
        #[arg(long, value_name = "FILE", conflicts_with = "backfill")]
        out: Option<std::path::PathBuf>,
    },
    /// Compare this binary's plan of a workflow with a plan saved earlier (`--against`) or
    /// with an export directory (`--against-export`), or two plan files (`--plans OLD NEW`):
    /// graph, types, policies, parameters, secrets, schedule, partitions, and per export
    /// target whether its artifacts change; exit 0 when nothing changed, 1 when something
    /// did, 2 on bad input
    Diff {
        /// The workflow's name: its plan is made here as `plan` makes it (as `export` makes
        /// it, with `--against-export`)
        #[arg(required_unless_present = "plans")]
        workflow: Option<String>,
        /// The plan to compare with (JSON, as `plan --out` writes it, or an export's
        /// `<workflow>.export.json`)
        #[arg(long, value_name = "PLAN.json", conflicts_with = "against_export")]
        against: Option<std::path::PathBuf>,
        /// An export directory to compare with (as `export --out DIR` wrote it): the plan it
        /// was made from, and its files against the export this binary makes with the same
        /// target, settings and fixed parameters
        #[arg(long, value_name = "DIR", conflicts_with = "params")]
        against_export: Option<std::path::PathBuf>,
        /// Two plan files, the earlier first
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with_all = ["workflow", "against", "against_export", "params"])]
        plans: Option<Vec<std::path::PathBuf>>,
        /// Print the unified diff of each exported file that changes
        #[arg(long)]
        exports: bool,
        /// A parameter value for this binary's plan (repeatable)
        #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Compare fire times from this moment (RFC 3339) instead of now
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        now: Option<DateTime<Utc>>,
        /// How many days of fire times to compare
        #[arg(long, value_name = "DAYS", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=3660))]
        window: u32,
        /// Output format
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
    },
    /// Print a workflow's graph as a picture source
    Graph {
        /// The workflow's name
        workflow: String,
        /// Output format
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Describe a workflow: parameters, nodes, tasks with their typed inputs and policies
    Show {
        /// The workflow's name
        workflow: String,
    },
    /// Check all registered workflows together; exit 1 if anything is wrong
    Validate,
    /// Run a workflow on this machine, recording its state; exit 1 if it fails
    Run {
        /// The workflow's name
        workflow: String,
        /// A parameter value (repeatable)
        #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Continue this run, with its own parameters: nodes that succeeded keep their outputs
        /// and are not run again
        #[arg(long, value_name = "RUN", conflicts_with = "params")]
        resume: Option<i64>,
        #[command(flatten)]
        launch: Launch,
    },
    /// Start a run if the schedule or a trigger says it is due, or re-run a failed run; for a
    /// timer or cron to call every few minutes. Exit 0 when there is nothing to do
    Tick {
        /// The workflow's name
        workflow: String,
        /// A parameter value for a run it starts (repeatable)
        #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Decide as at this moment (RFC 3339) instead of the current time
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        now: Option<DateTime<Utc>>,
        /// Print the decision without acting on it
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        launch: Launch,
    },
    /// Run one node: from serialized inputs to a serialized output, or as one node of a run
    /// that another engine schedules (--run-dir)
    ExecTask {
        /// The workflow's name
        workflow: String,
        /// The node's name, as in the plan
        node: String,
        /// A JSON object of the node's inputs by name, or a directory of `<input>.json` files
        #[arg(
            long,
            value_name = "PATH",
            required_unless_present_any = ["run_dir", "run_spec"],
            requires = "output",
            conflicts_with_all = ["run_dir", "run_spec"]
        )]
        inputs: Option<std::path::PathBuf>,
        /// Where to write the node's output as JSON
        #[arg(long, value_name = "PATH", requires = "inputs")]
        output: Option<std::path::PathBuf>,
        #[command(flatten)]
        run: RunDirArguments,
        /// Run only this element of a fanned-out node (from 0); its output is one part
        #[arg(
            long,
            value_name = "INDEX",
            conflicts_with_all = ["elements", "inputs"]
        )]
        element: Option<usize>,
        /// Print the indices of a fanned-out node's elements as a JSON list, and run nothing
        #[arg(long, conflicts_with = "inputs")]
        elements: bool,
    },
    /// Print which arm of a branch a run takes (its index from 0, or `none`), for engines that
    /// decide branches themselves
    Branch {
        /// The workflow's name
        workflow: String,
        /// The branch's index, as in the plan's `branches`
        branch: usize,
        #[command(flatten)]
        run: RunDirArguments,
    },
    /// Tell the workflow's failure (or success) recipients, as a run would; for an engine's
    /// failure hook
    Notify {
        /// The workflow's name
        workflow: String,
        /// Which recipients: those of a failure or of a success
        #[arg(long, value_enum, default_value_t = NotifyStatus::Failed)]
        status: NotifyStatus,
        /// What happened, in words
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
        /// Called as a systemd `OnFailure=` unit: say how the failed service ended (from
        /// systemd's `MONITOR_*` variables), and stay quiet when it was a failed run, which
        /// has sent its own notices
        #[arg(long)]
        from_systemd: bool,
    },
    /// Write what another engine runs: systemd units, an Airflow DAG, Argo Workflows
    /// manifests or an AWS Step Functions state machine, every node calling this binary
    Export {
        /// The workflow's name
        workflow: String,
        /// The engine
        #[arg(long, value_enum)]
        target: crate::export::Target,
        /// The directory to write into (created if missing)
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
        /// A parameter value fixed in the export (repeatable); others stay run-time parameters
        #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[command(flatten)]
        settings: crate::export::Settings,
    },
    /// Show a run's nodes: the latest run of a workflow, or a given run
    Status {
        /// The workflow's name
        workflow: String,
        /// Which run (default: the latest)
        #[arg(long, value_name = "RUN")]
        run: Option<i64>,
        #[command(flatten)]
        state: StateFile,
    },
    /// Print the logs of a run's attempts: what each wrote (standard output and error, `tracing`
    /// events, a command's output) and how it ended, in the order they started
    Logs {
        /// The workflow's name
        workflow: String,
        /// Which run (default: the latest)
        #[arg(long, value_name = "RUN")]
        run: Option<i64>,
        /// Only this node's attempts
        #[arg(long, value_name = "NAME")]
        node: Option<String>,
        /// Only this attempt (counted from 1)
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
        attempt: Option<u32>,
        /// Keep printing what the run's attempts write until the run ends
        #[arg(long, short = 'f')]
        follow: bool,
        #[command(flatten)]
        state: StateFile,
    },
    /// Remove runs that ended long ago from the state file, with their logs; each workflow's
    /// latest run, and runs with undelivered notices, are kept
    Prune {
        /// How old a run's end must be: 30d, 12h, 2w, 90min
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        older_than: std::time::Duration,
        /// Print what would be removed, and remove nothing
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        state: StateFile,
    },
    /// Serve a dashboard of the state file in the browser: the workflows, each one's graph
    /// coloured by a run, runs over time, every attempt with its log; live while runs go on
    Serve {
        /// Where to listen; an address beyond this machine needs the printed token for every
        /// page (port 0 picks a free port)
        #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Let the page pause and resume workflows and start or resume runs (with the token)
        #[arg(long)]
        allow_actions: bool,
        #[command(flatten)]
        state: StateFile,
    },
    /// List a workflow's runs, newest first
    History {
        /// The workflow's name
        workflow: String,
        /// How many runs to list
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        state: StateFile,
    },
    /// Pause a workflow: no run starts until it is resumed
    Pause {
        /// The workflow's name
        workflow: String,
        #[command(flatten)]
        state: StateFile,
    },
    /// Resume a paused workflow
    Resume {
        /// The workflow's name
        workflow: String,
        #[command(flatten)]
        state: StateFile,
    },
}

/// One node of a run another engine schedules: where the run's outputs are, and its parameters.
#[derive(clap::Args, Debug)]
struct RunDirArguments {
    /// The run's directory on storage every node sees: upstream outputs are read from it and
    /// the node's output is written into it
    #[arg(long, value_name = "DIR")]
    run_dir: Option<std::path::PathBuf>,
    /// A parameter value (repeatable)
    #[arg(
        long = "param",
        short = 'p',
        value_name = "NAME=VALUE",
        requires = "run_dir"
    )]
    params: Vec<String>,
    /// Parameter values as one JSON object (`null` for "not given")
    #[arg(long, value_name = "JSON", requires = "run_dir")]
    params_json: Option<String>,
    /// When the schedule fired for this run (RFC 3339): sets the partition parameter when it
    /// is not given
    /// (empty when no schedule started the run)
    #[arg(long, value_name = "TIME", requires = "run_dir")]
    scheduled_at: Option<String>,
    /// All of the above as one base64-encoded JSON object `{"dir", "params", "scheduled_at"}`:
    /// for engines that can only pass a shell line, where base64 needs no quoting
    #[arg(long, value_name = "BASE64", conflicts_with_all = ["run_dir", "params", "params_json", "scheduled_at"])]
    run_spec: Option<String>,
}

impl RunDirArguments {
    fn open<'a>(
        &self,
        spec: &'a crate::WorkflowSpec,
    ) -> Result<crate::runner::run_dir::RunDir<'a>, String> {
        if let Some(encoded) = &self.run_spec {
            return open_run_spec(spec, encoded);
        }
        let Some(dir) = &self.run_dir else {
            return Err("--run-dir or --run-spec is required".to_owned());
        };
        let mut given = match &self.params_json {
            Some(text) => crate::runner::run_dir::params_from_json(spec, text)
                .map_err(|error| error.to_string())?,
            None => Vec::new(),
        };
        for (name, value) in parse_assignments(&self.params).map_err(|error| error.to_string())? {
            given.retain(|(earlier, _)| *earlier != name);
            given.push((name, value));
        }
        let scheduled_at = match &self.scheduled_at {
            Some(text) => parse_scheduled_time(text)
                .map_err(|error| format!("invalid --scheduled-at `{text}`: {error}"))?,
            None => None,
        };
        crate::runner::run_dir::RunDir::open(spec, dir, &given, scheduled_at)
            .map_err(|error| error.to_string())
    }
}

/// `--run-spec`: the run's directory, parameters and fire time as base64-encoded JSON.
fn open_run_spec<'a>(
    spec: &'a crate::WorkflowSpec,
    encoded: &str,
) -> Result<crate::runner::run_dir::RunDir<'a>, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|error| format!("--run-spec is not base64: {error}"))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|error| format!("--run-spec is not a JSON object: {error}"))?;
    let Some(dir) = value.get("dir").and_then(serde_json::Value::as_str) else {
        return Err("--run-spec needs `dir`, the run's directory".to_owned());
    };
    let given = match value.get("params") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(params) => crate::runner::run_dir::params_from_json(spec, &params.to_string())
            .map_err(|error| error.to_string())?,
    };
    let scheduled_at = match value
        .get("scheduled_at")
        .and_then(serde_json::Value::as_str)
    {
        Some(text) => parse_scheduled_time(text)
            .map_err(|error| format!("invalid `scheduled_at` `{text}` in --run-spec: {error}"))?,
        None => None,
    };
    crate::runner::run_dir::RunDir::open(spec, std::path::Path::new(dir), &given, scheduled_at)
        .map_err(|error| error.to_string())
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum NotifyStatus {
    Failed,
    Succeeded,
}

/// Where run state is kept.
#[derive(clap::Args, Debug)]
struct StateFile {
    /// The state file (default: $WORKFLOW_STATE, or state.sqlite in the per-user state
    /// directory: $XDG_STATE_HOME/workflow-core, ~/.local/state/workflow-core on Linux,
    /// ~/Library/Application Support/workflow-core on macOS)
    #[arg(long = "state", value_name = "PATH")]
    path: Option<std::path::PathBuf>,
}

impl StateFile {
    fn path(&self) -> Result<std::path::PathBuf, String> {
        if let Some(path) = self
            .path
            .clone()
            .or_else(|| std::env::var_os("WORKFLOW_STATE").map(Into::into))
        {
            return Ok(path);
        }
        default_state_path().ok_or_else(|| {
            "this user has no state directory (no home directory); give --state PATH or set WORKFLOW_STATE".to_owned()
        })
    }

    /// Opens the state file only if it exists: for commands that read runs, so that a
    /// mistyped path is said rather than made into a new, empty state file.
    fn open_existing(&self) -> Result<crate::runner::store::Store, String> {
        let path = self.path()?;
        if !path.exists() {
            return Err(format!(
                "no state file at `{}`: nothing has run with it yet (give --state PATH, or set WORKFLOW_STATE)",
                path.display()
            ));
        }
        self.open()
    }

    fn open(&self) -> Result<crate::runner::store::Store, String> {
        let path = self.path()?;
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                format!(
                    "cannot create the state directory `{}`: {error}",
                    parent.display()
                )
            })?;
        }
        crate::runner::store::Store::open(&path).map_err(|error| error.to_string())
    }
}

/// The state file used when neither `--state` nor `$WORKFLOW_STATE` names one: `state.sqlite`
/// in the user's state directory (XDG base directories: `$XDG_STATE_HOME/workflow-core`, or
/// `~/.local/state/workflow-core`; the local application data directory on macOS and
/// Windows). One fixed place per user, so runs started from any directory share their
/// state and their locks: a default relative to the working directory would let a run
/// started from `/` and one started from `$HOME` overlap.
pub fn default_state_path() -> Option<std::path::PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|directory| directory.join("workflow-core").join("state.sqlite"))
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum PlanFormat {
    Json,
    Text,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum IsolationMode {
    Thread,
    Process,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum GraphFormat {
    Dot,
    Mermaid,
    /// A picture, drawn by Graphviz's `dot` (`$WORKFLOW_DOT`, or `dot` on the PATH)
    Png,
    /// A scalable picture, drawn by Graphviz's `dot`
    Svg,
}

#[derive(Serialize)]
struct ListEntry<'a> {
    name: &'a str,
    summary: &'a str,
    rust_path: &'a str,
    params: Vec<ListParam<'a>>,
    nodes: usize,
}

#[derive(Serialize)]
struct ListParam<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    ty: &'a str,
    required: bool,
}

/// Runs the CLI on the process's arguments and standard streams.
pub fn main() -> ExitCode {
    crate::runner::progress::init_logging();
    // The handles, not their locks: a task running on a thread of this process may print, and
    // a lock held for the whole command would block it forever.
    let code = run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    ExitCode::from(code)
}

/// Runs the CLI on `arguments` (the first one is the program name), writing to `out` and
/// `err`, and returns the exit status.
pub fn run<I, T>(arguments: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let arguments: Vec<OsString> = arguments.into_iter().map(Into::into).collect();
    let program = arguments
        .first()
        .and_then(|path| std::path::Path::new(path).file_stem())
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "workflows".to_owned());
    let command = Arguments::command().name(program);
    let parsed = command
        .try_get_matches_from(arguments)
        .and_then(|matches| Arguments::from_arg_matches(&matches));
    let arguments = match parsed {
        Ok(arguments) => arguments,
        Err(error) => {
            let text = error.render().to_string();
            return if error.use_stderr() {
                let _ = write!(err, "{text}");
                EXIT_USAGE
            } else {
                let _ = write!(out, "{text}");
                0
            };
        }
    };
    // What no single `workflow!` can check: refuse to run anything but `validate` with it.
    if !matches!(arguments.command, Command::Validate) {
        let problems = registry::startup_problems(&registry::workflows());
        if !problems.is_empty() {
            let _ = writeln!(
                err,
                "error: this binary's workflows cannot run together ({} problem{}; `validate` lists every check):",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for problem in problems {
                let _ = writeln!(err, "  - {problem}");
            }
            return EXIT_USAGE;
        }
    }
    match execute(arguments.command, out) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            EXIT_USAGE
        }
    }
}

fn execute(command: Command, out: &mut dyn Write) -> Result<u8, String> {
    let text = match command {
        Command::Run {
            workflow,
            params,
            resume,
            launch,
        } => {
            let given = parse_assignments(&params).map_err(|error| error.to_string())?;
            return run_workflow(&workflow, &given, resume, &launch, out);
        }
        Command::Tick {
            workflow,
            params,
            now,
            dry_run,
            launch,
        } => {
            let given = parse_assignments(&params).map_err(|error| error.to_string())?;
            return tick(&workflow, given, now, dry_run, &launch, out);
        }
        Command::ExecTask {
            workflow,
            node,
            inputs,
            output,
            run,
            element,
            elements,
        } => {
            return match (inputs, output) {
                (Some(inputs), Some(output)) => exec_task(&workflow, &node, &inputs, &output),
                _ => exec_in_run_dir(&workflow, &node, &run, element, elements, out),
            };
        }
        Command::Branch {
            workflow,
            branch,
            run,
        } => {
            let spec = registry::find(&workflow).map_err(|error| error.to_string())?;
            let arm = run
                .open(&spec)?
                .decide(branch)
                .map_err(|error| error.to_string())?;
            match arm {
                Some(arm) => arm.to_string(),
                None => "none".to_owned(),
            }
        }
        Command::Notify {
            workflow,
            status,
            reason,
            from_systemd,
        } => {
            let reason = match from_systemd {
                false => reason,
                true => {
                    let variable = |name: &str| std::env::var(name).unwrap_or_default();
                    let (code, exit_status) = (
                        variable("MONITOR_EXIT_CODE"),
                        variable("MONITOR_EXIT_STATUS"),
                    );
                    if code == "exited" && exit_status == "1" {
                        writeln!(
                            out,
                            "{workflow}: the run failed and has sent its own notices"
                        )
                        .map_err(|error| error.to_string())?;
                        return Ok(0);
                    }
                    let unit = std::env::var("MONITOR_UNIT")
                        .unwrap_or_else(|_| format!("{workflow}.service"));
                    let mut text = format!(
                        "systemd unit {unit} failed: {} ({code} {exit_status})",
                        variable("MONITOR_SERVICE_RESULT")
                    );
                    if !reason.is_empty() {
                        text = format!("{reason}; {text}");
                    }
                    text
                }
            };
            return notify(&workflow, status, &reason, out);
        }
        Command::Export {
            workflow,
            target,
            out: directory,
            params,
            settings,
        } => {
            let spec = registry::find(&workflow).map_err(|error| error.to_string())?;
            let given = parse_assignments(&params).map_err(|error| error.to_string())?;
            let exported = crate::export::export(&spec, target, &given, &settings)
                .map_err(|error| error.to_string())?;
            for loss in &exported.losses {
                say!("warning: {loss}");
            }
            let written = exported
                .write_to(&directory)
                .map_err(|error| error.to_string())?;
            let mut text = String::new();
            for path in written {
                text.push_str(&format!("wrote {}\n", path.display()));
            }
            text
        }
        Command::Status {
            workflow,
            run,
            state,
        } => {
            registry::find(&workflow).map_err(|error| error.to_string())?;
            let store = state.open_existing()?;
            let record = match run {
                Some(run) => store.run(run).map_err(|error| error.to_string())?,
                None => store
                    .runs(Some(&workflow), 1)
                    .map_err(|error| error.to_string())?
                    .into_iter()
                    .next()
                    .ok_or_else(|| {
                        format!(
                            "workflow `{workflow}` has no runs in `{}`",
                            store.path().display()
                        )
                    })?,
            };
            if record.workflow != workflow {
                return Err(format!(
                    "run {} is a run of workflow `{}`, not `{workflow}`",
                    record.id, record.workflow
                ));
            }
            let status = store
                .effective_status(&record)
                .map_err(|error| error.to_string())?;
            let mut text = format!(
                "run {} of {}: {status} (started {}",
                record.id, record.workflow, record.started_at
            );
            if let Some(ended) = &record.ended_at {
                text.push_str(&format!(", ended {ended}"));
            }
            text.push_str(")\n");
            if let Some(reason) = &record.reason {
                text.push_str(&format!("why: {reason}\n"));
            }
            if let Some(cause) = store
                .start_reason(record.id)
                .map_err(|error| error.to_string())?
            {
                text.push_str(&format!("started: {cause}\n"));
            }
            if let Some(params) = run_params(&record) {
                text.push_str(&format!("parameters: {params}\n"));
            }
            if let Some(fingerprint) = run_fingerprint(&record) {
                text.push_str(&format!("plan: {fingerprint}\n"));
            }
            if let Some(host) = &record.host {
                let pid = match (status, record.pid) {
                    ("running", Some(pid)) => format!(", process {pid}"),
                    _ => String::new(),
                };
                text.push_str(&format!("host: {host}{pid}\n"));
            }
            if record.reruns > 0 || record.gave_up {
                text.push_str(&format!(
                    "automatic re-runs: {}{}\n",
                    record.reruns,
                    if record.gave_up { ", no more" } else { "" }
                ));
            }
            if let Some(reason) = store.paused(&workflow).map_err(|error| error.to_string())? {
                text.push_str(&format!("workflow paused: {reason}\n"));
            }
            let nodes = store.nodes(record.id).map_err(|error| error.to_string())?;
            for node in &nodes {
                text.push_str(&format!(
                    "  {:<24} {:<10} attempts {}",
                    node.node,
                    node.status.as_str(),
                    node.attempts
                ));
                if let Some(message) = &node.message {
                    text.push_str(&format!("  {message}"));
                }
                text.push('\n');
            }
            if nodes.iter().any(|node| node.attempts > 0) {
                let program = std::env::current_exe().map_or_else(
                    |_| "workflows".to_owned(),
                    |path| crate::runner::lifecycle::shell_word(&path.display().to_string()),
                );
                let failed = nodes
                    .iter()
                    .find(|node| node.status == crate::runner::store::Status::Failed);
                let node = failed
                    .map(|node| {
                        format!(
                            " --node {}",
                            crate::runner::lifecycle::shell_word(&node.node)
                        )
                    })
                    .unwrap_or_default();
                let state = state
                    .path
                    .as_ref()
                    .map(|path| {
                        format!(
                            " --state {}",
                            crate::runner::lifecycle::shell_word(&path.display().to_string())
                        )
                    })
                    .unwrap_or_default();
                text.push_str(&format!(
                    "logs: {program} logs {workflow} --run {}{node}{state}\n",
                    record.id
                ));
            }
            for notice in store
                .pending_notices(Some(&workflow), None)
                .map_err(|error| error.to_string())?
            {
                text.push_str(&format!(
                    "undelivered notice of run {} to {} ({}), {} tries{}; next try after {}\n",
                    notice.run,
                    notice.target,
                    notice.channel,
                    notice.attempts,
                    notice
                        .last_error
                        .as_deref()
                        .map(|error| format!(", last: {error}"))
                        .unwrap_or_default(),
                    notice.next_try
                ));
            }
            text
        }
        Command::History {
            workflow,
            limit,
            state,
        } => {
            registry::find(&workflow).map_err(|error| error.to_string())?;
            let store = state.open_existing()?;
            let runs = store
                .runs(Some(&workflow), limit)
                .map_err(|error| error.to_string())?;
            let mut text = String::new();
            for run in runs {
                let mut why: Vec<String> = Vec::new();
                if let Some(reason) = store
                    .start_reason(run.id)
                    .map_err(|error| error.to_string())?
                {
                    why.push(reason);
                }
                if run.reruns > 0 {
                    why.push(format!(
                        "re-run {} time{} by tick",
                        run.reruns,
                        if run.reruns == 1 { "" } else { "s" }
                    ));
                }
                if let Some(reason) = &run.reason {
                    why.push(reason.clone());
                }
                let why = if why.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", why.join("; "))
                };
                let params = run_params(&run)
                    .map(|params| format!("  {params}"))
                    .unwrap_or_default();
                let fingerprint = run_fingerprint(&run)
                    .map(|fingerprint| {
                        format!(
                            "  plan {}",
                            crate::plan::Plan::short_fingerprint(&fingerprint)
                        )
                    })
                    .unwrap_or_default();
                text.push_str(&format!(
                    "{:>6}  {:<11} {}  {}{fingerprint}{params}{why}\n",
                    run.id,
                    store
                        .effective_status(&run)
                        .map_err(|error| error.to_string())?,
                    run.started_at,
                    run.ended_at.clone().unwrap_or_default()
                ));
            }
            text
        }
        Command::Logs {
            workflow,
            run,
            node,
            attempt,
            follow,
            state,
        } => {
            registry::find(&workflow).map_err(|error| error.to_string())?;
            let store = state.open_existing()?;
            let selection = crate::logs::Selection { run, node, attempt };
            crate::logs::print(&store, &workflow, &selection, follow, out)?;
            return Ok(0);
        }
        Command::Prune {
            older_than,
            dry_run,
            state,
        } => {
            let store = state.open_existing()?;
            let runs = crate::logs::prune(&store, older_than, dry_run)?;
            let ids = runs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            match (runs.len(), dry_run) {
                (0, _) => "no run to remove\n".to_owned(),
                (count, true) => format!(
                    "would remove {count} run{} and {}: {ids}\n",
                    if count == 1 { "" } else { "s" },
                    if count == 1 { "its logs" } else { "their logs" }
                ),
                (count, false) => format!(
                    "removed {count} run{} and {}: {ids}\n",
                    if count == 1 { "" } else { "s" },
                    if count == 1 { "its logs" } else { "their logs" }
                ),
            }
        }
        Command::Serve {
            listen,
            allow_actions,
            state,
        } => {
            let program = std::env::current_exe()
                .map_err(|error| format!("cannot find this program: {error}"))?;
            let options = crate::serve::Options {
                state: state.open_existing()?.path().to_owned(),
                listen,
                allow_actions,
                program,
            };
            let state_path = options.state.display().to_string();
            crate::serve::serve(options, |address, link| {
                let actions = if allow_actions {
                    "actions allowed with the token"
                } else {
                    "read only"
                };
                let _ = writeln!(
                    out,
                    "serving `{state_path}` on {address} ({actions}); open {link}"
                );
                let _ = out.flush();
            })?;
            return Ok(0);
        }
        Command::Pause { workflow, state } => {
            registry::find(&workflow).map_err(|error| error.to_string())?;
            let store = state.open()?;
            // Under the admission lock: a start being admitted either saw the pause or is
            // recorded before it, never after `pause` returns.
            let _admission = store
                .locks()
                .admission(&workflow, &|| false)
                .map_err(|error| error.to_string())?;
            store
                .pause(&workflow, "paused by hand")
                .map_err(|error| error.to_string())?;
            format!("workflow `{workflow}` is paused; `resume {workflow}` lets runs start again\n")
        }
        Command::Resume { workflow, state } => {
            registry::find(&workflow).map_err(|error| error.to_string())?;
            let was_paused = state
                .open()?
                .unpause(&workflow)
                .map_err(|error| error.to_string())?;
            if was_paused {
                format!("workflow `{workflow}` is resumed\n")
            } else {
                format!("workflow `{workflow}` was not paused\n")
            }
        }
        Command::List { json } => {
            let specs = registry::workflows();
            if specs.is_empty() {
                return Err(registry::NO_WORKFLOWS.to_owned());
            }
            if json {
                let entries: Vec<ListEntry> = specs
                    .iter()
                    .map(|spec| ListEntry {
                        name: spec.name,
                        summary: spec.summary(),
                        rust_path: spec.rust_path,
                        params: spec
                            .params
                            .iter()
                            .map(|param| ListParam {
                                name: param.name,
                                ty: param.ty,
                                required: param.default.is_none(),
                            })
                            .collect(),
                        nodes: spec.nodes.len(),
                    })
                    .collect();
                json_text(&entries)
            } else {
                let width = specs.iter().map(|spec| spec.name.len()).max().unwrap_or(0);
                specs
                    .iter()
                    .map(|spec| match spec.summary() {
                        "" => format!("{}\n", spec.name),
                        summary => format!("{:width$}  {summary}\n", spec.name),
                    })
                    .collect()
            }
        }
        Command::Plan {
            workflow,
            params,
            format,
            now,
            next_runs,
            backfill,
            out: file,
        } => {
            let spec = registry::find(&workflow).map_err(|error| error.to_string())?;
            let given = parse_assignments(&params).map_err(|error| error.to_string())?;
            let options = PlanOptions {
                now: crate::plan::whole_seconds(now.unwrap_or_else(Utc::now)),
                next_runs,
            };
            match backfill {
                None => {
                    let plan = plan_at(&spec, given, options)?;
                    if let Some(file) = file {
                        std::fs::write(&file, plan.to_json()).map_err(|error| {
                            format!("cannot write the plan to `{}`: {error}", file.display())
                        })?;
                        return Ok(0);
                    }
                    match format {
                        PlanFormat::Json => plan.to_json(),
                        PlanFormat::Text => render::plan_text(&plan),
                    }
                }
                Some(range) => {
                    let plans = backfill_plans(&spec, &given, &options, &range)?;
                    match format {
                        PlanFormat::Json => json_text(&plans),
                        PlanFormat::Text => plans
                            .iter()
                            .map(render::plan_text)
                            .collect::<Vec<_>>()
                            .join("\n"),
                    }
                }
            }
        }
        Command::Diff {
            workflow,
            against,
            against_export,
            plans,
            exports,
            params,
            now,
            window,
            format,
        } => {
            let now = crate::plan::whole_seconds(now.unwrap_or_else(Utc::now));
            let window_length = chrono::Duration::days(i64::from(window));
            let settings = crate::export::Settings::default();
            let diff = match (plans, workflow, against, against_export) {
                (Some(files), _, _, _) => {
                    let (before, after) = (
                        read_plan(&files[0])?.into_plan(),
                        read_plan(&files[1])?.into_plan(),
                    );
                    if before.workflow != after.workflow {
                        return Err(format!(
                            "`{}` is a plan of workflow `{}` and `{}` one of `{}`: compare plans of one workflow",
                            files[0].display(),
                            before.workflow,
                            files[1].display(),
                            after.workflow
                        ));
                    }
                    let mut diff = crate::diff::diff(&before, &after, now, window_length);
                    diff.exports =
                        crate::diff::compare_exports(&before, &after, None, &settings, exports);
                    diff
                }
                (None, Some(workflow), Some(against), None) => {
                    let spec = registry::find(&workflow).map_err(|error| error.to_string())?;
                    match read_plan(&against)? {
                        // An export's manifest: compare as with that export's directory.
                        Baseline::Export(manifest) => {
                            let directory = against
                                .parent()
                                .filter(|parent| !parent.as_os_str().is_empty())
                                .unwrap_or(std::path::Path::new("."));
                            diff_export(&spec, *manifest, directory, now, window_length, exports)?
                        }
                        Baseline::Plan(before) if before.workflow != spec.name => {
                            return Err(format!(
                                "`{}` is a plan of workflow `{}`, not `{workflow}`",
                                against.display(),
                                before.workflow
                            ));
                        }
                        Baseline::Plan(before) => {
                            diff_plan(&spec, &before, &params, now, window_length, exports)?
                        }
                    }
                }
                (None, Some(workflow), None, Some(directory)) => {
                    let spec = registry::find(&workflow).map_err(|error| error.to_string())?;
                    let manifest = read_manifest(&directory, &workflow)?;
                    diff_export(&spec, manifest, &directory, now, window_length, exports)?
                }
                _ => {
                    return Err(
                        "give a workflow and --against PLAN.json or --against-export DIR, or --plans OLD NEW"
                            .to_owned(),
                    );
                }
            };
            let text = match format {
                PlanFormat::Json => json_text(&diff),
                PlanFormat::Text => crate::diff::text(
                    &diff,
                    i64::from(window),
                    // https://no-color.org: a NO_COLOR that is set and not empty.
                    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                        && std::env::var_os("TERM").is_none_or(|term| term != "dumb")
                        && std::io::IsTerminal::is_terminal(&std::io::stdout()),
                ),
            };
            // A reader that stops early (`| head`) does not turn the answer into an error.
            match out.write_all(text.as_bytes()) {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(error.to_string());
                }
                _ => {}
            }
            return Ok(u8::from(diff.changed()));
        }
        Command::Graph { workflow, format } => {
            let spec = registry::find(&workflow).map_err(|error| error.to_string())?;
            match format {
                GraphFormat::Dot => render::dot(&spec),
                GraphFormat::Mermaid => render::mermaid(&spec),
                GraphFormat::Png | GraphFormat::Svg => {
                    let kind = if format == GraphFormat::Png {
                        "png"
                    } else {
                        "svg"
                    };
                    let picture = render::picture(&spec, kind)?;
                    out.write_all(&picture).map_err(|error| error.to_string())?;
                    return Ok(0);
                }
            }
        }
        Command::Show { workflow } => {
            let spec = registry::find(&workflow).map_err(|error| error.to_string())?;
            render::spec_text(&spec)
        }
        Command::Validate => {
            let specs = registry::workflows();
            let problems = registry::validate(&specs);
            if !problems.is_empty() {
                let mut text = String::new();
                for problem in &problems {
                    text.push_str(&format!("problem: {problem}\n"));
                }
                out.write_all(text.as_bytes())
                    .map_err(|error| error.to_string())?;
                return Ok(EXIT_PROBLEMS);
            }
            format!("{} workflows, no problems\n", specs.len())
        }
    };
    out.write_all(text.as_bytes())
        .map_err(|error| error.to_string())?;
    Ok(0)
}

/// `exec-task`: reads the node's inputs, runs it once (a fanned-out node over its whole list),
/// writes its output atomically. Exit 1 when the task fails, 3 when it fails permanently
/// ([`crate::TaskError::permanent`]: not to be retried), 2 for bad arguments or inputs (an
/// input not of its type too).
fn exec_task(
    workflow: &str,
    node_name: &str,
    inputs: &std::path::Path,
    output: &std::path::Path,
) -> Result<u8, String> {
    let spec = registry::find(workflow).map_err(|error| error.to_string())?;
    let Some(node) = spec.node(node_name) else {
        let names = spec.nodes.iter().map(|node| node.name);
        return Err(format!(
            "workflow `{workflow}` has no node `{node_name}`{}",
            crate::text::did_you_mean(node_name, names)
        ));
    };
    let by_name: serde_json::Map<String, serde_json::Value> = if inputs.is_dir() {
        let mut values = serde_json::Map::new();
        for input in node.task.inputs {
            let path = inputs.join(format!("{}.json", input.name));
            let text = std::fs::read_to_string(&path).map_err(|error| {
                format!(
                    "cannot read input `{}` from `{}`: {error}",
                    input.name,
                    path.display()
                )
            })?;
            let value = serde_json::from_str(&text).map_err(|error| {
                format!(
                    "input `{}` in `{}` is not JSON: {error}",
                    input.name,
                    path.display()
                )
            })?;
            values.insert(input.name.to_owned(), value);
        }
        values
    } else {
        let text = std::fs::read_to_string(inputs)
            .map_err(|error| format!("cannot read inputs from `{}`: {error}", inputs.display()))?;
        match serde_json::from_str(&text) {
            Ok(serde_json::Value::Object(values)) => values,
            Ok(_) => {
                return Err(format!(
                    "inputs in `{}` must be a JSON object of input names to values",
                    inputs.display()
                ));
            }
            Err(error) => {
                return Err(format!(
                    "inputs in `{}` are not JSON: {error}",
                    inputs.display()
                ));
            }
        }
    };
    let mut values = Vec::with_capacity(node.task.inputs.len());
    for input in node.task.inputs {
        let value = by_name.get(input.name).cloned().ok_or_else(|| {
            format!(
                "node `{node_name}` needs input `{}` ({}), which the inputs do not give",
                input.name, input.ty
            )
        })?;
        values.push(value);
    }
    let names: Vec<&str> = node.task.inputs.iter().map(|input| input.name).collect();
    if let Some(extra) = by_name.keys().find(|key| !names.contains(&key.as_str())) {
        return Err(format!(
            "node `{node_name}` has no input `{extra}`; its inputs are {}",
            crate::text::backticked(&names)
        ));
    }
    // A runner that keeps this attempt's log reads what it prints, marked with its source.
    let _log = crate::runner::attempt_log::Current::enter(
        std::env::var_os(crate::runner::attempt_log::TO_PARENT_VARIABLE)
            .map(|_| crate::runner::attempt_log::AttemptLog::to_parent()),
    );
    match crate::runner::engine::call_node(node.call, node.map, values) {
        Ok(value) => {
            let partial = output.with_extension("partial");
            let text = serde_json::to_string(&value).map_err(|error| error.to_string())?;
            std::fs::write(&partial, text)
                .and_then(|()| std::fs::rename(&partial, output))
                .map_err(|error| {
                    format!("cannot write the output to `{}`: {error}", output.display())
                })?;
            Ok(0)
        }
        Err(error) => {
            say!("node `{node_name}` of workflow `{workflow}` failed: {error}");
            Ok(error.kind.exit_code())
        }
    }
}

/// `exec-task --run-dir`: one node (or one element, or the list of elements) of a run another
/// engine schedules. Exit 0 when it wrote its output, 1 when the task failed, 3 when it failed
/// permanently (not to be retried), 2 for bad arguments, a run directory without the inputs or
/// an input not of its type, 99 when its branch arm was not taken.
fn exec_in_run_dir(
    workflow: &str,
    node: &str,
    run: &RunDirArguments,
    element: Option<usize>,
    elements: bool,
    out: &mut dyn Write,
) -> Result<u8, String> {
    use crate::runner::run_dir::{Done, EXIT_SKIPPED};
    let spec = registry::find(workflow).map_err(|error| error.to_string())?;
    let run_dir = run.open(&spec)?;
    if elements {
        let count = run_dir.elements(node).map_err(|error| error.to_string())?;
        let indices: Vec<usize> = (0..count).collect();
        writeln!(out, "{}", serde_json::Value::from(indices)).map_err(|error| error.to_string())?;
        return Ok(0);
    }
    match run_dir
        .run(node, element)
        .map_err(|error| error.to_string())?
    {
        Done::Wrote(_) => Ok(0),
        Done::Skipped(reason) => {
            say!("{reason}");
            Ok(EXIT_SKIPPED)
        }
        Done::Failed(error) => {
            say!("node `{node}` of workflow `{workflow}` failed: {error}");
            Ok(error.kind.exit_code())
        }
    }
}

/// `notify`: the notices a run with this status would send, for a failure another engine saw.
/// Exit 1 when a notice could not be delivered.
fn notify(
    workflow: &str,
    status: NotifyStatus,
    reason: &str,
    out: &mut dyn Write,
) -> Result<u8, String> {
    use crate::runner::engine::RunStatus;
    use crate::runner::notify::{Mailer, NodeFailure, Notice, after_run};
    let spec = registry::find(workflow).map_err(|error| error.to_string())?;
    let (status, text) = match status {
        NotifyStatus::Failed => (RunStatus::Failed, "failed"),
        NotifyStatus::Succeeded => (RunStatus::Succeeded, "succeeded"),
    };
    let notice = Notice {
        workflow: workflow.to_owned(),
        run: 0,
        status: text.to_owned(),
        failures: if reason.is_empty() || status == RunStatus::Succeeded {
            Vec::new()
        } else {
            vec![NodeFailure {
                node: workflow.to_owned(),
                status: "failed".to_owned(),
                message: reason.to_owned(),
            }]
        },
        host: crate::runner::store::host(),
        ..Notice::default()
    };
    let mailer = Mailer::from_env()?;
    let problems = after_run(&spec.operations, &notice, status, mailer.as_ref());
    for problem in &problems {
        say!("warning: {problem}");
    }
    if problems.is_empty() {
        writeln!(out, "{workflow}: told who hears about a run that {text}")
            .map_err(|error| error.to_string())?;
    } else {
        say!(
            "{workflow}: {} of the notices about a run that {text} could not be delivered",
            problems.len()
        );
    }
    Ok(if problems.is_empty() {
        0
    } else {
        EXIT_PROBLEMS
    })
}

/// How `run` and `tick` carry out a run.
#[derive(clap::Args, Debug)]
struct Launch {
    /// How many nodes run at once, at least 1 (default: the number of cores)
    #[arg(long, value_name = "N", value_parser = parse_parallelism)]
    parallelism: Option<usize>,
    /// Run each attempt on a thread, or in its own process through `exec-task`
    #[arg(long, value_enum, default_value_t = IsolationMode::Thread)]
    isolation: IsolationMode,
    /// The largest output a node may produce, as JSON (e.g. 64MiB, 512KiB, 1GiB); a larger
    /// one fails its attempt
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "64MiB")]
    max_output: usize,
    #[command(flatten)]
    state: StateFile,
}

impl Launch {
    /// The engine's options these flags ask for.
    fn options(&self) -> Result<crate::runner::engine::Options, String> {
        use crate::runner::engine;
        let mut options = engine::Options {
            max_output: self.max_output,
            ..engine::Options::default()
        };
        if let Some(parallelism) = self.parallelism {
            options.parallelism = parallelism;
        }
        if self.isolation == IsolationMode::Process {
            let program = std::env::current_exe().map_err(|error| {
                format!("cannot find this program to run attempts in processes: {error}")
            })?;
            options.isolation = engine::Isolation::Process(program);
        }
        Ok(options)
    }

    /// The lifecycle of `spec`'s runs on the state file, with signals handled.
    fn lifecycle<'a>(
        &self,
        spec: &'a crate::WorkflowSpec,
    ) -> Result<crate::runner::lifecycle::Lifecycle<'a>, String> {
        if cfg!(windows) {
            return Err(
                "the local runner needs Linux or macOS (file locks inherited by a run's processes, process groups, signals); on Windows, use `plan`, `graph`, `export` and the test harness".to_owned(),
            );
        }
        let store = self.state.open()?;
        // Beside the state file's real path, as `logs`, `serve` and `prune` find it.
        let logs = crate::runner::attempt_log::LogSettings::beside(store.path(), spec);
        // Never printed by this process either: its own log lines, a panic's message.
        crate::runner::attempt_log::mask_in_process(&logs.masks);
        let mut lifecycle = crate::runner::lifecycle::Lifecycle::new(spec, store);
        lifecycle.options = self.options()?;
        lifecycle.options.logs = Some(logs);
        lifecycle.handle_signals();
        if let Ok(program) = std::env::current_exe() {
            lifecycle.program = program.display().to_string();
        }
        Ok(lifecycle)
    }
}

/// `30d`, `12h`, `2w`, `90min`: an age, in humantime's units (s, min or m, h, d, w, ...);
/// at least a second.
fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let age = humantime::parse_duration(text.trim())
        .map_err(|error| format!("`{text}` is not an age such as 30d, 12h or 2w: {error}"))?;
    if age < std::time::Duration::from_secs(1) {
        return Err(format!("`{text}` is shorter than a second"));
    }
    Ok(age)
}

/// `64MiB`, `512KiB`, `1GiB`, `1000` (bytes).
/// The plan `plan` shows: the partition parameter, when not given, from the partition of
/// `options.now` (marked [`ValueSource::Partition`](crate::plan::ValueSource::Partition)).
fn plan_at(
    spec: &crate::WorkflowSpec,
    mut given: Vec<(String, String)>,
    options: PlanOptions,
) -> Result<Plan, String> {
    let derived = partition_from_now(spec, &mut given, options.now)?;
    let mut plan = Plan::build(spec, &given, &options).map_err(|error| error.to_string())?;
    for param in &mut plan.params {
        if Some(&param.name) == derived.as_ref() {
            param.source = crate::plan::ValueSource::Partition;
        }
    }
    Ok(plan)
}

/// What `diff` compares with: a plan, or an export (its manifest).
enum Baseline {
    Plan(Box<Plan>),
    Export(Box<crate::export::ExportManifest>),
}

impl Baseline {
    fn into_plan(self) -> Plan {
        match self {
            Baseline::Plan(plan) => *plan,
            Baseline::Export(manifest) => {
                let mut plan = manifest.plan;
                plan.fingerprint = plan.fingerprint_of();
                plan
            }
        }
    }
}

/// The text of a file `diff` is given: a file, or a pipe (`--against <(git show
/// base:plan.json)`), never a directory.
fn read_regular(path: &std::path::Path, what: &str) -> Result<String, String> {
    let metadata = std::fs::metadata(path)
        .map_err(|error| format!("cannot read {what} `{}`: {error}", path.display()))?;
    if metadata.is_dir() {
        return Err(format!(
            "`{}` is a directory: give {what} as a file",
            path.display()
        ));
    }
    // A plan of the largest workflow is a few MiB; /dev/zero would never end.
    const LARGEST: u64 = 256 << 20;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(path)
                .map_err(|error| format!("cannot read {what} `{}`: {error}", path.display()))?,
            LARGEST + 1,
        ),
        &mut bytes,
    )
    .map_err(|error| format!("cannot read {what} `{}`: {error}", path.display()))?;
    if bytes.len() as u64 > LARGEST {
        return Err(format!(
            "`{}` is larger than {} MiB: not {what}",
            path.display(),
            LARGEST >> 20
        ));
    }
    String::from_utf8(bytes)
        .map_err(|error| format!("cannot read {what} `{}`: {error}", path.display()))
}

/// A plan file for `diff`: a plan as `plan --out` writes it, or an export's manifest.
fn read_plan(path: &std::path::Path) -> Result<Baseline, String> {
    let text = read_regular(path, "the plan")?;
    if let Ok(manifest) = serde_json::from_str::<crate::export::ExportManifest>(&text) {
        return Ok(Baseline::Export(Box::new(checked_manifest(
            manifest, path,
        )?)));
    }
    let mut plan: Plan = serde_json::from_str(&text).map_err(|error| {
        format!(
            "`{}` is not a plan (JSON as `plan` prints it): {error}",
            path.display()
        )
    })?;
    crate::diff::check_plan(&plan).map_err(|error| format!("`{}`: {error}", path.display()))?;
    // Edited by hand, or made by an earlier version: as its content says.
    plan.fingerprint = plan.fingerprint_of();
    Ok(Baseline::Plan(Box::new(plan)))
}

/// The manifest `export` wrote for `workflow` in `directory`.
fn read_manifest(
    directory: &std::path::Path,
    workflow: &str,
) -> Result<crate::export::ExportManifest, String> {
    if !directory.is_dir() {
        return Err(format!(
            "`{}` is not a directory: give the directory `export --out` wrote",
            directory.display()
        ));
    }
    let file = crate::export::ExportManifest::file_name(workflow);
    let path = directory.join(&file);
    let Some((text, _)) = read_deployed(directory, std::path::Path::new(&file))? else {
        return Err(format!(
            "`{}` holds no export of workflow `{workflow}`: there is no `{}` (`export --out DIR` writes it)",
            directory.display(),
            path.display()
        ));
    };
    let manifest: crate::export::ExportManifest = serde_json::from_str(&text).map_err(|error| {
        format!(
            "`{}` is not an export manifest (as `export` writes it): {error}",
            path.display()
        )
    })?;
    checked_manifest(manifest, &path)
}

/// A manifest's plan checked, and its files inside its directory.
fn checked_manifest(
    manifest: crate::export::ExportManifest,
    path: &std::path::Path,
) -> Result<crate::export::ExportManifest, String> {
    crate::diff::check_plan(&manifest.plan)
        .map_err(|error| format!("`{}`: {error}", path.display()))?;
    if manifest.plan.workflow != manifest.workflow {
        return Err(format!(
            "`{}` is an export of workflow `{}` holding a plan of `{}`",
            path.display(),
            manifest.workflow,
            manifest.plan.workflow
        ));
    }
    if let Some(outside) = manifest.files.iter().find(|file| {
        file.components().any(|part| {
            !matches!(
                part,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
    }) {
        return Err(format!(
            "`{}` names a file outside its directory: `{}`",
            path.display(),
            outside.display()
        ));
    }
    manifest
        .settings
        .check()
        .map_err(|error| format!("`{}`: {error}", path.display()))?;
    let mut manifest = manifest;
    if manifest.plan.fingerprint.is_empty() {
        manifest.plan.fingerprint = manifest.plan.fingerprint_of();
    }
    // `./x` is `x`, and a file listed twice is one file.
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for file in &manifest.files {
        let file: std::path::PathBuf = file
            .components()
            .filter(|part| !matches!(part, std::path::Component::CurDir))
            .collect();
        if !file.as_os_str().is_empty() && !files.contains(&file) {
            files.push(file);
        }
    }
    manifest.files = files;
    Ok(manifest)
}

/// `diff --against PLAN.json`: this binary's plan, made as `plan` makes it with the values the
/// baseline was planned with (its given values and its partition) unless `-p` gives others,
/// against the baseline; every export target rendered from both.
fn diff_plan(
    spec: &crate::WorkflowSpec,
    before: &Plan,
    params: &[String],
    now: DateTime<Utc>,
    window: chrono::Duration,
    unified: bool,
) -> Result<crate::diff::PlanDiff, String> {
    let mut given = parse_assignments(params).map_err(|error| error.to_string())?;
    let mut reused = Vec::new();
    for param in &before.params {
        let reusable = matches!(
            param.source,
            crate::plan::ValueSource::Given | crate::plan::ValueSource::Partition
        );
        if let Some(declared) = spec.param(&param.name)
            && reusable
            && !given.iter().any(|(name, _)| *name == param.name)
        {
            given.push((
                param.name.clone(),
                crate::plan::param_text_for(declared, &param.value),
            ));
            reused.push((param.name.clone(), param.source));
        }
    }
    let mut after = plan_at(spec, given, PlanOptions { now, next_runs: 5 })?;
    for param in &mut after.params {
        if let Some((_, source)) = reused.iter().find(|(name, _)| *name == param.name) {
            param.source = *source;
        }
    }
    let mut diff = crate::diff::diff(before, &after, now, window);
    diff.exports = crate::diff::compare_exports(
        before,
        &after,
        Some(spec),
        &crate::export::Settings::default(),
        unified,
    );
    Ok(diff)
}

/// `diff --against-export DIR`: the export this binary makes with the manifest's target,
/// settings and fixed parameters (those the workflow still declares; the others show as
/// removed parameters) against the manifest's plan and the files in `directory`.
fn diff_export(
    spec: &crate::WorkflowSpec,
    manifest: crate::export::ExportManifest,
    directory: &std::path::Path,
    now: DateTime<Utc>,
    window: chrono::Duration,
    unified: bool,
) -> Result<crate::diff::PlanDiff, String> {
    if manifest.workflow != spec.name {
        return Err(format!(
            "the export in `{}` is of workflow `{}`, not `{}`",
            directory.display(),
            manifest.workflow,
            spec.name
        ));
    }
    let fixed: Vec<(String, String)> = manifest
        .params
        .iter()
        .filter(|(name, _)| spec.param(name).is_some())
        .cloned()
        .collect();
    let after = crate::export::export_plan(spec, &fixed).map_err(|error| {
        format!(
            "the value the export in `{}` fixed no longer fits: {error}",
            directory.display()
        )
    })?;
    let mut deployed = Vec::new();
    let manifest_file =
        std::path::PathBuf::from(crate::export::ExportManifest::file_name(&manifest.workflow));
    // What the export wrote, and what it would write now (a file already there, though the
    // manifest does not list it, is compared rather than created).
    let mut paths: Vec<std::path::PathBuf> = manifest.files.clone();
    paths.push(manifest_file);
    if let Ok(now) =
        crate::export::export_from_plan(&after, Some(spec), manifest.target, &manifest.settings)
    {
        for file in now.files {
            if !paths.contains(&file.path) {
                paths.push(file.path);
            }
        }
    }
    let mut not_text = Vec::new();
    for path in &paths {
        if let Some((contents, text)) = read_deployed(directory, path)? {
            if !text {
                not_text.push(path.display().to_string());
            }
            deployed.push(crate::export::ExportFile {
                path: path.clone(),
                contents,
            });
        }
    }
    let mut before = manifest.plan.clone();
    before.fingerprint = before.fingerprint_of();
    let mut diff = crate::diff::diff(&before, &after, now, window);
    let mut change =
        crate::diff::compare_deployed(&manifest, deployed, &after, Some(spec), unified);
    for file in &mut change.files {
        if not_text.contains(&file.path) && unified {
            file.diff = None;
            file.note = Some(
                "not UTF-8 text as deployed, so not in this patch: export again to replace it"
                    .to_owned(),
            );
        }
    }
    diff.exports = vec![change];
    Ok(diff)
}

/// A file an export wrote, as it is now in `directory`, and whether it is UTF-8 text: `None`
/// when it is gone; bytes that are not UTF-8 read as U+FFFD (the file then differs from what
/// `export` writes). Refused: a
/// symbolic link on the way (a diff must not show a file the export did not write, such as a
/// link to `/etc/passwd`), anything but a regular file, a file that cannot be read.
fn read_deployed(
    directory: &std::path::Path,
    path: &std::path::Path,
) -> Result<Option<(String, bool)>, String> {
    let mut at = directory.to_path_buf();
    for part in path.components() {
        if let std::path::Component::Normal(part) = part {
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(error) => return Err(format!("cannot read `{}`: {error}", at.display())),
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    return Err(format!(
                        "`{}` is a symbolic link: `diff` reads only the files `export` wrote",
                        at.display()
                    ));
                }
                Ok(_) => {}
            }
        }
    }
    let metadata = std::fs::symlink_metadata(&at)
        .map_err(|error| format!("cannot read `{}`: {error}", at.display()))?;
    if !metadata.is_file() {
        return Err(format!(
            "`{}` is not a file, but the export wrote it as one",
            at.display()
        ));
    }
    std::fs::read(&at)
        .map(|bytes| match String::from_utf8(bytes) {
            Ok(text) => Some((text, true)),
            Err(error) => Some((
                String::from_utf8_lossy(error.as_bytes()).into_owned(),
                false,
            )),
        })
        .map_err(|error| format!("cannot read `{}`: {error}", at.display()))
}

/// For `plan` of a partitioned workflow whose partition parameter is not given: the partition
/// of the latest fire time at or before `now` (else the next one), as the schedule would set
/// it, added to `given`; returns the parameter's name.
fn partition_from_now(
    spec: &crate::WorkflowSpec,
    given: &mut Vec<(String, String)>,
    now: chrono::DateTime<Utc>,
) -> Result<Option<String>, String> {
    let operations = &spec.operations;
    let (Some(partition), Some(schedule)) = (&operations.partition, &operations.schedule) else {
        return Ok(None);
    };
    if given.iter().any(|(name, _)| *name == partition.param) {
        return Ok(None);
    }
    let latest = schedule
        .fire_times_between(now - chrono::Duration::days(366), now, 1)
        .map_err(|error| error.to_string())?
        .pop();
    let fire = match latest {
        Some(fire) => fire,
        None => match schedule
            .next_fire_times(now, 1)
            .map_err(|error| error.to_string())?
            .pop()
        {
            Some(fire) => fire,
            None => return Ok(None),
        },
    };
    let parse = spec.param(&partition.param).map(|param| param.parse);
    let key = partition
        .key_for_fire(fire, &schedule.timezone)
        .text_for(parse);
    given.push((partition.param.clone(), key));
    Ok(Some(partition.param.clone()))
}

/// `--parallelism`: a whole number, at least 1.
fn parse_next_runs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(count) if count <= 10_000 => Ok(count),
        Ok(_) => Err("at most 10000 (plan --backfill lists partitions in bulk)".to_owned()),
        Err(error) => Err(error.to_string()),
    }
}

fn parse_parallelism(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("at least one node must be able to run: give 1 or more".to_owned()),
        Ok(count) => Ok(count),
        Err(_) => Err(format!(
            "`{text}` is not a whole number of nodes that run at once"
        )),
    }
}

fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write e.g. 64MiB, 512KiB or 1GiB"))?;
    let factor: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit `{other}`; use B, KiB, MiB or GiB"
            ));
        }
    };
    number
        .checked_mul(factor)
        .filter(|size| *size > 0)
        .ok_or_else(|| format!("`{text}` is not a size from 1 byte to {} bytes", usize::MAX))
}

/// `tick`: decides, under the workflow's locks, whether the workflow is due, and runs it if so.
fn tick(
    workflow: &str,
    given: Vec<(String, String)>,
    now: Option<DateTime<Utc>>,
    dry_run: bool,
    launch: &Launch,
    out: &mut dyn Write,
) -> Result<u8, String> {
    let spec = registry::find(workflow).map_err(|error| error.to_string())?;
    let mut lifecycle = launch.lifecycle(&spec)?;
    let mut progress = None;
    let mut events = |event: crate::runner::engine::Event| {
        progress
            .get_or_insert_with(|| {
                crate::runner::progress::Progress::new(workflow, spec.nodes.len())
            })
            .event(&event);
    };
    let ticked = lifecycle.tick(
        crate::plan::whole_seconds(now.unwrap_or_else(Utc::now)),
        &given,
        dry_run,
        &mut events,
    );
    if let Some(progress) = &progress {
        progress.finish();
    }
    let ticked = match ticked {
        Ok(ticked) => ticked,
        Err(error) => return failed_start(error),
    };
    use crate::runner::tick::Decision;
    let said = match &ticked.decision {
        Decision::Wait { reason } | Decision::Resume { reason, .. } => reason.clone(),
        Decision::Start { cause, .. } => format!("due: {}", cause.reason),
    };
    // What the run did is recorded and told by its notices; a closed standard output
    // (`| head`) does not change the exit status.
    let _ = writeln!(out, "{workflow}: {said}");
    match ticked.finished {
        Some(finished) => report(workflow, &finished, out),
        None => Ok(0),
    }
}

/// `run`: admits the run (refused while the workflow is paused, or while a run is alive and
/// the workflow forbids overlap), then executes, printing each node's progress on standard
/// error.
fn run_workflow(
    workflow: &str,
    given: &[(String, String)],
    resume: Option<i64>,
    launch: &Launch,
    out: &mut dyn Write,
) -> Result<u8, String> {
    let spec = registry::find(workflow).map_err(|error| error.to_string())?;
    let mut lifecycle = launch.lifecycle(&spec)?;
    let admission = match resume {
        Some(run) => lifecycle.admit_resume(run),
        None => {
            let plan = Plan::build(&spec, given, &PlanOptions::default())
                .map_err(|error| error.to_string())?;
            lifecycle.admit_new(plan, None)
        }
    };
    let admission = match admission {
        Ok(admission) => admission,
        Err(error) => return failed_start(error),
    };
    let mut progress = crate::runner::progress::Progress::new(workflow, admission.plan.nodes.len());
    let mut events = |event: crate::runner::engine::Event| progress.event(&event);
    let finished = lifecycle.carry_out(admission, &mut events);
    progress.finish();
    match finished {
        Ok(finished) => report(workflow, &finished, out),
        Err(error) => failed_start(error),
    }
}

/// A start that did not happen (or a run whose state could not be recorded): the message
/// as a usage error (exit 2), or, when a signal stopped it, on standard error with the
/// signal's exit status.
fn failed_start(error: crate::runner::lifecycle::LifecycleError) -> Result<u8, String> {
    let status = error.exit_status();
    if status == EXIT_USAGE {
        return Err(error.to_string());
    }
    say!("error: {error}");
    Ok(status)
}

/// Prints how a run ended, and the notices that could not be delivered; returns the exit
/// status.
fn report(
    workflow: &str,
    finished: &crate::runner::lifecycle::Finished,
    out: &mut dyn Write,
) -> Result<u8, String> {
    for problem in &finished.undelivered {
        say!("warning: {problem}");
    }
    let outcome = &finished.outcome;
    let counts = outcome
        .nodes
        .iter()
        .fold(BTreeMap::<&str, usize>::new(), |mut counts, node| {
            *counts.entry(node.status.as_str()).or_default() += 1;
            counts
        });
    let summary: Vec<String> = counts
        .iter()
        .map(|(status, count)| format!("{count} {status}"))
        .collect();
    let reason = outcome
        .reason
        .as_deref()
        .map(|reason| format!(" ({reason})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "run {} of {workflow} {}{reason}: {}",
        outcome.run,
        outcome.status.as_str(),
        summary.join(", ")
    );
    Ok(finished.exit)
}

/// A run's parameters as `name=value` words, if it has any.
/// The fingerprint of the plan a run executes, as recorded with it (none for runs recorded
/// before plans had one).
fn run_fingerprint(run: &crate::runner::store::RunRecord) -> Option<String> {
    // The field is the plan's last; its value is `sha256:` and hex digits.
    let at = run.plan.rfind("\"fingerprint\"")?;
    let rest = &run.plan[at + "\"fingerprint\"".len()..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    let value = &rest[start..end];
    value.starts_with("sha256:").then(|| value.to_owned())
}

fn run_params(run: &crate::runner::store::RunRecord) -> Option<String> {
    let params: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(run.params.as_deref()?).ok()?;
    if params.is_empty() {
        return None;
    }
    Some(
        params
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => format!("{name}={text}"),
                other => format!("{name}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// One plan per partition of `range`, oldest first.
fn backfill_plans(
    spec: &crate::WorkflowSpec,
    given: &[(String, String)],
    options: &PlanOptions,
    range: &str,
) -> Result<Vec<Plan>, String> {
    let Some(partition) = &spec.operations.partition else {
        return Err(format!(
            "workflow `{}` is not partitioned, so it cannot be backfilled; declare `#[partition(daily, param = ...)]`",
            spec.name
        ));
    };
    if given.iter().any(|(name, _)| *name == partition.param) {
        return Err(format!(
            "parameter `{}` names the partition, so `--backfill` sets it; do not pass it with --param",
            partition.param
        ));
    }
    let parse = spec.param(&partition.param).map(|param| param.parse);
    let mut plans = Vec::new();
    let timezone = spec
        .operations
        .schedule
        .as_ref()
        .map_or("UTC", |schedule| schedule.timezone.as_str());
    for key in partition
        .backfill(range, timezone)
        .map_err(|error| error.to_string())?
    {
        let key = key.text_for(parse);
        let mut given = given.to_vec();
        given.push((partition.param.clone(), key));
        plans.push(Plan::build(spec, &given, options).map_err(|error| error.to_string())?);
    }
    Ok(plans)
}

/// `--scheduled-at`: a time, or nothing when an engine passes an empty value for a run that
/// no schedule started.
fn parse_scheduled_time(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_time(text.trim()).map(Some)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| format!("{error}; write an RFC 3339 time such as 2026-11-21T00:00:00Z"))
}

fn json_text<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
