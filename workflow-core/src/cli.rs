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
    about = "List, plan, draw and check the workflows built into this binary",
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
        /// How many of the schedule's next runs to list
        #[arg(long = "next", value_name = "COUNT", default_value_t = 5)]
        next_runs: usize,
        /// Plan one run per partition in FROM..TO (both included), oldest first, for a
        /// partitioned workflow: 2026-11-01..2026-11-21, or 2026-11-01T00..2026-11-01T23
        #[arg(long, value_name = "FROM..TO")]
        backfill: Option<String>,
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
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum PlanFormat {
    Json,
    Text,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum GraphFormat {
    Dot,
    Mermaid,
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
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let code = run(std::env::args_os(), &mut stdout.lock(), &mut stderr.lock());
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
        Command::List { json } => {
            let specs = registry::workflows();
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
        } => {
            let spec = registry::find(&workflow).map_err(|error| error.to_string())?;
            let given = parse_assignments(&params).map_err(|error| error.to_string())?;
            let options = PlanOptions {
                now: now.unwrap_or_else(Utc::now),
                next_runs,
            };
            match backfill {
                None => {
                    let plan =
                        Plan::build(&spec, &given, &options).map_err(|error| error.to_string())?;
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
        Command::Graph { workflow, format } => {
            let spec = registry::find(&workflow).map_err(|error| error.to_string())?;
            match format {
                GraphFormat::Dot => render::dot(&spec),
                GraphFormat::Mermaid => render::mermaid(&spec),
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
    for key in partition
        .backfill(range)
        .map_err(|error| error.to_string())?
    {
        // An hourly key is written without an offset; a `DateTime<Utc>` parameter wants one.
        let key = match parse {
            Some(parse) if parse(&key).is_err() && parse(&format!("{key}Z")).is_ok() => {
                format!("{key}Z")
            }
            _ => key,
        };
        let mut given = given.to_vec();
        given.push((partition.param.clone(), key));
        plans.push(Plan::build(spec, &given, options).map_err(|error| error.to_string())?);
    }
    Ok(plans)
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
