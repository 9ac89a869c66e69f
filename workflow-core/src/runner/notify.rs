//! Telling people how a run went: e-mail over SMTP and JSON webhooks, as the workflow's
//! `#[on_failure(notify = ..., webhook = ...)]` and `#[on_success(...)]` say.
//!
//! E-mail goes through the relay named by `WORKFLOW_SMTP` (`host:port`, plain SMTP as a local
//! relay speaks it), from `WORKFLOW_MAIL_FROM` (default `workflows@localhost`). A notice that
//! cannot be delivered is never a reason to fail the run: the run's lifecycle keeps it in the
//! state file and tries again later ([`super::lifecycle`]).

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
#[derive(Debug, Clone, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct Notice {
    /// The workflow.
    pub workflow: String,
    /// The run's id.
    pub run: i64,
    /// `succeeded`, `failed`, `paused` or `cancelled`.
    pub status: String,
    /// The machine the run ran on.
    #[serde(default)]
    pub host: String,
    /// The run's parameters (which day, which partition), name to value.
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Why the run ended as it did when its nodes do not say (a signal), and what happens
    /// next (no more automatic re-runs).
    #[serde(default)]
    pub reason: Option<String>,
    /// The nodes that failed or timed out, with their last error.
    pub failures: Vec<NodeFailure>,
    /// How many nodes ended in each status.
    pub counts: std::collections::BTreeMap<String, usize>,
    /// The commands to look at the run and to carry it on, exactly as to type them.
    #[serde(default)]
    pub commands: Vec<String>,
}

/// One failed node in a notice.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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
            host: super::store::host(),
            reason: outcome.reason.clone(),
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
            ..Notice::default()
        }
    }

    /// The e-mail's subject line.
    pub fn subject(&self) -> String {
        let host = if self.host.is_empty() {
            String::new()
        } else {
            format!(" on {}", self.host)
        };
        format!("[{}] run {} {}{host}", self.workflow, self.run, self.status)
    }

    /// The e-mail's text.
    pub fn body(&self) -> String {
        let mut body = format!(
            "Run {} of workflow {} {}",
            self.run, self.workflow, self.status
        );
        if !self.host.is_empty() {
            body.push_str(&format!(" on host {}", self.host));
        }
        body.push_str(".\n");
        if let Some(reason) = &self.reason {
            body.push_str(&format!("{reason}\n"));
        }
        if !self.params.is_empty() {
            body.push_str("\nParameters:\n");
            for (name, value) in &self.params {
                let text = match value {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                body.push_str(&format!("  {name} = {text}\n"));
            }
        }
        if !self.failures.is_empty() {
            body.push_str("\nFailed nodes, with their last error:\n");
        }
        for failure in &self.failures {
            body.push_str(&format!(
                "  {} {}: {}\n",
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
        if !self.commands.is_empty() {
            body.push_str("\nTo look and carry on:\n");
            for command in &self.commands {
                body.push_str(&format!("  {command}\n"));
            }
        }
        body
    }
}

/// Who hears about a run that ended with `status`: `("email", address)` and
/// `("webhook", url)` pairs, as the workflow declares them.
pub fn recipients(operations: &Operations, status: RunStatus) -> Vec<(&'static str, String)> {
    let notify: &Notify = match status {
        RunStatus::Succeeded => &operations.notify_success,
        RunStatus::Failed | RunStatus::Paused | RunStatus::Cancelled => &operations.notify_failure,
    };
    let mut recipients: Vec<(&'static str, String)> = notify
        .email
        .iter()
        .map(|address| ("email", address.clone()))
        .collect();
    recipients.extend(notify.webhook.iter().map(|url| ("webhook", url.clone())));
    recipients
}

/// Delivers `notice` to one recipient (`channel` is `email` or `webhook`); `message_id`
/// names the e-mail, the same on every try, so a relay can tell a repeat.
pub fn deliver(
    channel: &str,
    target: &str,
    notice: &Notice,
    mailer: Option<&Mailer>,
    message_id: &str,
) -> Result<(), String> {
    match channel {
        "email" => match mailer {
            Some(mailer) => send_mail(mailer, target, notice, message_id),
            None => Err("set WORKFLOW_SMTP to an SMTP relay (host:port)".to_owned()),
        },
        "webhook" => post(target, notice),
        other => Err(format!("unknown channel `{other}`")),
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
        RunStatus::Failed | RunStatus::Paused | RunStatus::Cancelled => &operations.notify_failure,
    };
    let mut problems = Vec::new();
    if !notify.email.is_empty() {
        match mailer {
            Some(mailer) => {
                for address in &notify.email {
                    let id = message_id(notice, address);
                    if let Err(problem) = send_mail(mailer, address, notice, &id) {
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

/// A `Message-ID` for `notice` to `to`: unique per run, recipient and moment of writing.
pub fn message_id(notice: &Notice, to: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let host = if notice.host.is_empty() {
        "localhost".to_owned()
    } else {
        notice.host.clone()
    };
    let to: String = to
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect();
    format!(
        "<{}.run{}.{to}.{nanos}@{host}>",
        notice.workflow, notice.run
    )
}

fn send_mail(mailer: &Mailer, to: &str, notice: &Notice, message_id: &str) -> Result<(), String> {
    use lettre::Transport;
    let message = lettre::Message::builder()
        .message_id(Some(message_id.to_owned()))
        .date_now()
        .from(
            mailer
                .from
                .parse()
                .map_err(|error| format!("sender `{}`: {error}", mailer.from))?,
        )
        .to(to.parse().map_err(|error| format!("{error}"))?)
        .subject(notice.subject())
        .singlepart(lettre::message::SinglePart::plain(notice.body()))
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
