//! How a run shows its progress: a progress bar when standard error is a terminal, one log
//! line per event (through `tracing`) otherwise, for journald, cron mail or CI logs.

use std::collections::BTreeSet;
use std::io::IsTerminal;

use super::engine::Event;
use super::store::Status;

/// Shows one run's progress.
pub enum Progress {
    /// A bar of finished nodes, with the running ones named.
    Bar {
        /// The bar.
        bar: indicatif::ProgressBar,
        /// The nodes running now.
        running: BTreeSet<String>,
    },
    /// Log lines.
    Log {
        /// The workflow, named in each line.
        workflow: String,
    },
}

impl Progress {
    /// A bar over `nodes` nodes on a terminal, log lines elsewhere.
    pub fn new(workflow: &str, nodes: usize) -> Progress {
        let terminal = std::io::stderr().is_terminal()
            && std::env::var_os("TERM").is_none_or(|term| term != "dumb");
        if !terminal {
            return Progress::Log {
                workflow: workflow.to_owned(),
            };
        }
        let bar = indicatif::ProgressBar::new(nodes as u64);
        let style = indicatif::ProgressStyle::with_template(
            "{prefix:.bold} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(workflow.to_owned());
        Progress::Bar {
            bar,
            running: BTreeSet::new(),
        }
    }

    /// Shows `event`.
    pub fn event(&mut self, event: &Event) {
        match self {
            Progress::Bar { bar, running } => {
                match event {
                    Event::Started { node, attempt } => {
                        running.insert(node.clone());
                        if *attempt > 1 {
                            bar.println(format!("{node}: attempt {attempt} started"));
                        }
                    }
                    Event::Retrying {
                        node,
                        attempt,
                        message,
                        delay,
                    } => {
                        running.remove(node);
                        bar.println(format!(
                            "{node}: attempt {attempt} failed ({message}); retrying in {}",
                            crate::text::duration(*delay)
                        ));
                    }
                    Event::Finished {
                        node,
                        status,
                        message,
                    } => {
                        running.remove(node);
                        bar.inc(1);
                        if *status != Status::Succeeded {
                            let why = message
                                .as_deref()
                                .map(|message| format!(" ({message})"))
                                .unwrap_or_default();
                            bar.println(format!("{node}: {}{why}", status.as_str()));
                        }
                    }
                }
                let names: Vec<&str> = running.iter().map(String::as_str).collect();
                bar.set_message(if names.is_empty() {
                    String::new()
                } else {
                    format!("running: {}", names.join(", "))
                });
            }
            Progress::Log { workflow } => match event {
                Event::Started { node, attempt } => {
                    tracing::info!(workflow = %workflow, node = %node, attempt, "started");
                }
                Event::Retrying {
                    node,
                    attempt,
                    message,
                    delay,
                } => {
                    tracing::warn!(
                        workflow = %workflow,
                        node = %node,
                        attempt,
                        reason = %message,
                        retry_in = %crate::text::duration(*delay),
                        "attempt failed"
                    );
                }
                Event::Finished {
                    node,
                    status: Status::Succeeded,
                    ..
                } => {
                    tracing::info!(workflow = %workflow, node = %node, "succeeded");
                }
                Event::Finished {
                    node,
                    status,
                    message,
                } => {
                    tracing::warn!(
                        workflow = %workflow,
                        node = %node,
                        reason = message.as_deref().unwrap_or(""),
                        "{}",
                        status.as_str()
                    );
                }
            },
        }
    }

    /// Clears the bar, leaving the lines printed above it.
    pub fn finish(&self) {
        if let Progress::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }
}

/// The level `WORKFLOW_LOG` names, or why it names none.
fn log_level(text: &str) -> Result<tracing::Level, String> {
    text.trim().parse::<tracing::Level>().map_err(|_| {
        format!(
            "WORKFLOW_LOG={text} is not a log level (trace, debug, info, warn or error); logging at info"
        )
    })
}

/// Sends `tracing` events to standard error as plain lines (once per process; later calls do
/// nothing). `WORKFLOW_LOG=trace|debug|info|warn|error` sets the level (any case), `info` by
/// default; another value is said on standard error, and `info` is used.
pub fn init_logging() {
    let level = match std::env::var("WORKFLOW_LOG") {
        Ok(text) if !text.trim().is_empty() => log_level(&text).unwrap_or_else(|warning| {
            say!("warning: {warning}");
            tracing::Level::INFO
        }),
        _ => tracing::Level::INFO,
    };
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    // A panic's message and every line printed here are masked with the run's secrets.
    super::attempt_log::install_masking_panic_hook();
    let terminal = tracing_subscriber::fmt::layer()
        .with_writer(super::attempt_log::MaskedStderr::new)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        // A closed standard error (`2>&1 | head`) must not end a run: lines that cannot be
        // written are dropped quietly.
        .log_internal_errors(false)
        // In an attempt's own process whose runner keeps its log, events go there, marked.
        .with_filter(tracing_subscriber::filter::filter_fn(|_| {
            super::attempt_log::current().is_none_or(|log| log.is_file())
        }));
    let subscriber = tracing_subscriber::registry()
        .with(terminal)
        // Events of a task running on a thread also go to its attempt's log.
        .with(super::attempt_log::TracingLayer)
        .with(tracing_subscriber::filter::LevelFilter::from_level(level));
    let _ = tracing::subscriber::set_global_default(subscriber);
}
