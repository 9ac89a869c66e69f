//! Telling people how a run went: e-mail over SMTP and JSON webhooks, as the workflow's
//! `#[on_failure(notify = ..., webhook = ...)]` and `#[on_success(...)]` say.
//!
//! E-mail goes through the relay named by `WORKFLOW_SMTP` (`host:port`, plain SMTP as a local
//! relay speaks it), from `WORKFLOW_MAIL_FROM` (default `workflows@localhost`). A notice that
//! cannot be delivered is reported, never a reason to fail the run.

use std::time::Duration;

use serde::Serialize;

use super::engine::{Outcome, RunStatus};
use super::store::Status;
use crate::operations::{Notify, Operations};

/// Where e-mail is sent from and through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailer {
    /// The SMTP relay's host.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The sender address.
    pub from: String,
}

impl Mailer {
    /// The relay from `WORKFLOW_SMTP` and `WORKFLOW_MAIL_FROM`, if configured.
    pub fn from_env() -> Result<Option<Mailer>, String> {
        let Ok(relay) = std::env::var("WORKFLOW_SMTP") else {
            return Ok(None);
        };
        let (host, port) = relay
            .rsplit_once(':')
            .ok_or_else(|| format!("WORKFLOW_SMTP `{relay}` should be host:port"))?;
        let port = port
            .parse()
            .map_err(|_| format!("WORKFLOW_SMTP `{relay}` has an invalid port"))?;
        let from = std::env::var("WORKFLOW_MAIL_FROM")
            .unwrap_or_else(|_| "workflows@localhost".to_owned());
        Ok(Some(Mailer {
            host: host.to_owned(),
            port,
            from,
        }))
    }
}

/// What a notice says: the JSON a webhook receives, and the substance of the e-mail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The workflow.
    pub workflow: String,
    /// The run's id.
    pub run: i64,
    /// `succeeded`, `failed` or `paused`.
    pub status: String,
    /// The nodes that failed or timed out, with why.
    pub failures: Vec<NodeFailure>,
    /// How many nodes ended in each status.
    pub counts: std::collections::BTreeMap<String, usize>,
}

/// One failed node in a notice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeFailure {
    /// The node.
    pub node: String,
    /// `failed` or `timed_out`.
    pub status: String,
    /// Why.
    pub message: String,
}

impl Notice {
    /// The notice for a finished run.
    pub fn of(workflow: &str, outcome: &Outcome) -> Notice {
        let mut counts = std::collections::BTreeMap::new();
        for node in &outcome.nodes {
            *counts.entry(node.status.as_str().to_owned()).or_default() += 1;
        }
        Notice {
            workflow: workflow.to_owned(),
            run: outcome.run,
            status: outcome.status.as_str().to_owned(),
            failures: outcome
                .nodes
                .iter()
                .filter(|node| matches!(node.status, Status::Failed | Status::TimedOut))
                .map(|node| NodeFailure {
                    node: node.node.clone(),
                    status: node.status.as_str().to_owned(),
                    message: node.message.clone().unwrap_or_default(),
                })
                .collect(),
            counts,
        }
    }

    fn subject(&self) -> String {
        format!("[{}] run {} {}", self.workflow, self.run, self.status)
    }

    fn body(&self) -> String {
        let mut body = format!(
            "Run {} of workflow {} {}.\n\n",
            self.run, self.workflow, self.status
        );
        for failure in &self.failures {
            body.push_str(&format!(
                "{} {}: {}\n",
                failure.node, failure.status, failure.message
            ));
        }
        if self.status == "paused" {
            body.push_str(&format!(
                "\nThe workflow is paused: no run starts until `resume {}`.\n",
                self.workflow
            ));
        }
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(status, count)| format!("{count} {status}"))
            .collect();
        body.push_str(&format!("\nNodes: {}.\n", counts.join(", ")));
        body
    }
}

/// Sends the notices the workflow asks for after `outcome`; returns one line per notice that
/// could not be delivered.
pub fn after_run(
    operations: &Operations,
    notice: &Notice,
    status: RunStatus,
    mailer: Option<&Mailer>,
) -> Vec<String> {
    let notify: &Notify = match status {
        RunStatus::Succeeded => &operations.notify_success,
        RunStatus::Failed | RunStatus::Paused => &operations.notify_failure,
    };
    let mut problems = Vec::new();
    if !notify.email.is_empty() {
        match mailer {
            Some(mailer) => {
                for address in &notify.email {
                    if let Err(problem) = send_mail(mailer, address, notice) {
                        problems.push(format!("cannot e-mail {address}: {problem}"));
                    }
                }
            }
            None => problems.push(format!(
                "cannot e-mail {}: set WORKFLOW_SMTP to an SMTP relay (host:port)",
                notify.email.join(", ")
            )),
        }
    }
    for url in &notify.webhook {
        if let Err(problem) = post(url, notice) {
            problems.push(format!("cannot post to {url}: {problem}"));
        }
    }
    problems
}

fn send_mail(mailer: &Mailer, to: &str, notice: &Notice) -> Result<(), String> {
    use lettre::Transport;
    let message = lettre::Message::builder()
        .from(
            mailer
                .from
                .parse()
                .map_err(|error| format!("sender `{}`: {error}", mailer.from))?,
        )
        .to(to.parse().map_err(|error| format!("{error}"))?)
        .subject(notice.subject())
        .body(notice.body())
        .map_err(|error| error.to_string())?;
    let transport = lettre::SmtpTransport::builder_dangerous(&mailer.host)
        .port(mailer.port)
        .timeout(Some(Duration::from_secs(20)))
        .build();
    transport
        .send(&message)
        .map(|_| ())
        .map_err(|error| error.to_string())
}

fn post(url: &str, notice: &Notice) -> Result<(), String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    agent
        .post(url)
        .send_json(notice)
        .map(|_| ())
        .map_err(|error| error.to_string())
}
