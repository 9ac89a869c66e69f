//! Notifications speak real protocols: an SMTP conversation with a relay started by this test
//! on a loopback port, and an HTTP POST to a listener started by this test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use workflow_core::plan::Plan;
use workflow_core::prelude::*;
use workflow_core::runner::engine;
use workflow_core::runner::lifecycle::{Delivery, Lifecycle};
use workflow_core::runner::notify::{self, Mailer, Notice};
use workflow_core::runner::store::Store;
use workflow_tests::smtp_relay;

#[task]
fn fails() -> Result<u32, TaskError> {
    Err(TaskError::new("warehouse unreachable"))
}

workflow! {
    /// Fails, pauses, and tells the administrator.
    #[on_failure(pause, notify = "etl-admin@example.com")]
    alerting() {
        load = fails();
    }
}

/// A one-request HTTP listener: returns the request line and the body.
fn http_listener() -> (u16, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            if header == "\r\n" {
                break;
            }
            if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        stream
            .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        sender
            .send((
                request_line.trim_end().to_owned(),
                String::from_utf8(body).unwrap(),
            ))
            .unwrap();
    });
    (port, receiver)
}

/// A run of `alerting`, which fails and pauses the workflow, through the shipped lifecycle
/// with its notice recorded and not sent: the plan, the outcome, the notice as queued and the
/// state file's path (its directory is removed on return).
fn failed_run(name: &str) -> (Plan, engine::Outcome, Notice, String) {
    let spec = alerting::spec();
    let plan = Plan::build(&spec, &[], &Default::default()).unwrap();
    let directory = workflow_tests::Scratch::new(&format!("workflow-notify-{name}"));
    let state = directory.join("state.sqlite");
    let mut lifecycle = Lifecycle::new(&spec, Store::open(&state).unwrap());
    lifecycle.delivery = Delivery::Record;
    lifecycle.program = "/opt/etl/bin/pipelines".to_owned();
    let finished = lifecycle.run_new(plan.clone(), None, &mut |_| {}).unwrap();
    assert_eq!(finished.exit, 1);
    let pending = lifecycle.store.pending_notices(None, None).unwrap();
    assert_eq!(pending.len(), 1, "one recipient, one queued notice");
    assert_eq!(pending[0].target, "etl-admin@example.com");
    let notice: Notice = serde_json::from_str(&pending[0].payload).unwrap();
    (plan, finished.outcome, notice, state.display().to_string())
}

#[test]
fn a_failure_e_mails_the_administrator_over_smtp() {
    let (plan, outcome, notice, state) = failed_run("mail");
    assert_eq!(outcome.status, engine::RunStatus::Paused);

    let (port, received) = smtp_relay();
    let mailer = Mailer {
        host: "127.0.0.1".into(),
        port,
        from: "workflows@example.com".into(),
    };
    let problems = notify::after_run(&plan.operations, &notice, outcome.status, Some(&mailer));
    assert!(problems.is_empty(), "{problems:?}");
    let (envelope, message) = received
        .recv_timeout(std::time::Duration::from_secs(20))
        .unwrap();
    let message = workflow_tests::quoted_printable(&message);
    assert_eq!(
        envelope,
        [
            "MAIL FROM:<workflows@example.com>",
            "RCPT TO:<etl-admin@example.com>"
        ]
    );
    let host = workflow_core::runner::store::host();
    assert!(
        message.contains(&format!("Subject: [alerting] run 1 paused on {host}\r\n")),
        "{message}"
    );
    for header in [
        "Message-ID: <alerting.run1.",
        "Date: ",
        "MIME-Version: 1.0\r\n",
    ] {
        assert!(
            message
                .lines()
                .any(|line| line.starts_with(header.trim_end())),
            "no `{header}` header in {message}"
        );
    }
    assert!(
        message.contains(&format!(
            "Run 1 of workflow alerting paused on host {host}."
        )),
        "{message}"
    );
    assert!(
        message.contains("load failed: attempt 1: warehouse unreachable"),
        "{message}"
    );
    assert!(
        message.contains("The workflow is paused: no run starts until `resume alerting`."),
        "{message}"
    );
    for command in [
        format!("/opt/etl/bin/pipelines status alerting --run 1 --state {state}"),
        format!("/opt/etl/bin/pipelines resume alerting --state {state}"),
        format!("/opt/etl/bin/pipelines run alerting --resume 1 --state {state}"),
    ] {
        assert!(message.contains(&command), "no `{command}` in {message}");
    }
}

#[test]
fn webhooks_receive_the_notice_as_json_and_failures_to_notify_are_reported() {
    let (plan, outcome, notice, _) = failed_run("webhook");

    let (port, received) = http_listener();
    let mut operations = plan.operations.clone();
    operations.notify_failure.email.clear();
    operations.notify_failure.webhook = vec![format!("http://127.0.0.1:{port}/hooks/etl")];
    assert!(notify::after_run(&operations, &notice, outcome.status, None).is_empty());
    let (request_line, body) = received
        .recv_timeout(std::time::Duration::from_secs(20))
        .unwrap();
    assert_eq!(request_line, "POST /hooks/etl HTTP/1.1");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["workflow"], "alerting");
    assert_eq!(json["status"], "paused");
    assert_eq!(
        json["failures"][0],
        serde_json::json!({"node": "load", "status": "failed", "message": "attempt 1: warehouse unreachable"})
    );

    // No relay configured, and a listener that is not there: both reported, neither fatal.
    let problems = notify::after_run(&plan.operations, &notice, outcome.status, None);
    assert_eq!(
        problems,
        ["cannot e-mail etl-admin@example.com: set WORKFLOW_SMTP to an SMTP relay (host:port)"]
    );
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    operations.notify_failure.webhook = vec![format!("http://127.0.0.1:{closed}/gone")];
    let problems = notify::after_run(&operations, &notice, outcome.status, None);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with(&format!("cannot post to http://127.0.0.1:{closed}/gone:")),
        "{problems:?}"
    );
}
