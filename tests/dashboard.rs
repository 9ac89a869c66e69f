//! The dashboard (`serve`) over HTTP, against a state file made by real runs: a success, a
//! task that failed twice before it succeeded, a permanent failure, a fan-out, a paused
//! workflow and a parameter with HTML in it. Every page, the token, the refusals, and actions
//! that go through the same commands as the terminal.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const FIXTURE: &str = env!("CARGO_BIN_EXE_runner-fixture");
const TOKEN_SECRET: &str = "tok-SECRET-4711";
const HOSTILE: &str = "<script>alert('x')</script>";

fn fixture(state: &Path, arguments: &[&str]) -> std::process::Output {
    Command::new(FIXTURE)
        .args(arguments)
        .arg("--state")
        .arg(state)
        .env("WORKFLOW_TEST_CHATTY_TOKEN", TOKEN_SECRET)
        .output()
        .unwrap()
}

/// A state file with runs of every kind the dashboard shows.
fn state_with_runs(dir: &Path) -> std::path::PathBuf {
    let state = dir.join("state.sqlite");
    let work = format!("dir={}", dir.display());
    let chatty = fixture(
        &state,
        &["run", "chatty_node", "-p", &work, "--isolation", "process"],
    );
    assert!(chatty.status.success(), "{chatty:?}");
    let failed = fixture(&state, &["run", "unfixable", "-p", &work]);
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    let fanned = fixture(&state, &["run", "arith"]);
    assert!(fanned.status.success(), "{fanned:?}");
    let hostile = format!("label={HOSTILE}");
    let labelled = fixture(&state, &["run", "labelled", "-p", &hostile]);
    assert!(labelled.status.success(), "{labelled:?}");
    let paused = fixture(&state, &["pause", "labelled"]);
    assert!(paused.status.success(), "{paused:?}");
    state
}

/// A running `serve`, stopped when dropped.
struct Server {
    child: Child,
    base: String,
    token: String,
}

impl Server {
    /// The cookie that holds the token: named by the server's port.
    fn cookie(&self) -> String {
        let port = self.base.rsplit(':').next().unwrap();
        format!("workflow_token_{port}={}", self.token)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(state: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(FIXTURE)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .arg("--state")
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // serving `…` on 127.0.0.1:PORT (read only); open http://127.0.0.1:PORT/?token=T
    let link = line.trim().rsplit(' ').next().unwrap().to_owned();
    let (base, token) = link.split_once("/?token=").expect(&line);
    Server {
        child,
        base: base.to_owned(),
        token: token.to_owned(),
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).build()
}

/// Status and body of a GET, with the token's cookie when `cookie`.
fn get(server: &Server, path: &str, cookie: bool) -> (u16, String) {
    let mut request = agent().get(&format!("{}{path}", server.base));
    if cookie {
        request = request.set("Cookie", &server.cookie());
    }
    match request.call() {
        Ok(response) => (response.status(), response.into_string().unwrap()),
        Err(ureq::Error::Status(code, response)) => (code, response.into_string().unwrap()),
        Err(error) => panic!("GET {path}: {error}"),
    }
}

fn post(
    server: &Server,
    path: &str,
    cookie: bool,
    form: &[(&str, &str)],
    origin: Option<&str>,
) -> (u16, String, String) {
    let mut request = agent().post(&format!("{}{path}", server.base));
    if cookie {
        request = request.set("Cookie", &server.cookie());
    }
    if let Some(origin) = origin {
        request = request.set("Origin", origin);
    }
    let response = match request.send_form(form) {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("POST {path}: {error}"),
    };
    let status = response.status();
    let location = response.header("Location").unwrap_or("").to_owned();
    (status, location, response.into_string().unwrap())
}

/// The value of the page's hidden `csrf` field.
fn csrf(page: &str) -> String {
    let start = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with csrf")
        + 19;
    page[start..start + 32].to_owned()
}

fn scratch(name: &str) -> workflow_tests::Scratch {
    workflow_tests::Scratch::new(&format!("workflow-dashboard-{name}"))
}

#[test]
fn every_page_shows_the_runs_and_reading_needs_no_action_rights() {
    let dir = scratch("pages");
    let state = state_with_runs(&dir);
    let server = serve(&state, &[]);

    let (status, index) = get(&server, "/", false);
    assert_eq!(status, 200, "{index}");
    for name in ["chatty_node", "unfixable", "arith", "labelled"] {
        assert!(
            index.contains(&format!("data-workflow=\"{name}\"")),
            "{name} missing: {index}"
        );
    }
    assert!(
        index.contains("<span class=\"paused\">paused</span> paused by hand"),
        "{index}"
    );
    assert!(
        index.contains("<span class=\"badge status-failed\">failed</span>"),
        "{index}"
    );

    // The graph, coloured by the latest run; the failed node shown as failed.
    let (status, page) = get(&server, "/workflows/unfixable", false);
    assert_eq!(status, 200);
    assert!(
        page.contains("data-node=\"attempt\" data-status=\"failed\""),
        "{page}"
    );
    assert!(
        page.contains("Read only: start <code>serve --allow-actions</code>"),
        "{page}"
    );
    let (_, page) = get(&server, "/workflows/arith", false);
    assert!(
        page.contains("data-node=\"tripled\" data-status=\"succeeded\""),
        "{page}"
    );
    assert!(
        page.contains("×each"),
        "the fan-out is drawn as one: {page}"
    );
    assert!(
        page.contains("stroke-dasharray=\"5 3\""),
        "a node in a branch's arm is dashed: {page}"
    );
    assert!(page.contains("class=\"grid\""), "{page}");

    // The run with its attempts, a timeline, and the log of each.
    let (status, run) = get(&server, "/runs/1", false);
    assert_eq!(status, 200);
    assert_eq!(
        run.matches("<tr class=\"attempt\" data-node=\"talk\"")
            .count(),
        3,
        "{run}"
    );
    assert!(run.contains("class=\"gantt\""), "{run}");
    assert!(run.contains("attempt 2 failed with ***"), "{run}");
    assert!(!run.contains(TOKEN_SECRET), "{run}");
    let (status, log) = get(&server, "/runs/1/log?node=talk&attempt=1", false);
    assert_eq!(status, 200);
    assert!(log.contains("stdout: attempt 1 line 5 token=***"), "{log}");
    assert!(
        log.contains("runner: failed: attempt 1 failed with ***"),
        "{log}"
    );
    assert!(!log.contains(TOKEN_SECRET), "{log}");

    // A parameter with HTML in it is text on the page.
    let (_, labelled) = get(&server, "/runs/4", false);
    assert!(
        labelled.contains("label=&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "{labelled}"
    );
    assert!(!labelled.contains(HOSTILE), "{labelled}");

    // Unknown things are 404s that say what is missing; the version endpoint answers.
    assert_eq!(get(&server, "/runs/99", false).0, 404);
    assert_eq!(get(&server, "/workflows/nope", false).0, 404);
    assert_eq!(get(&server, "/runs/1/log?node=nope", false).0, 404);
    let (status, version) = get(&server, "/api/version?run=1", false);
    assert_eq!(status, 200);
    assert!(
        version.starts_with("1:succeeded,talk#1:failed"),
        "{version}"
    );

    // The token: a wrong one is refused, the right one becomes a cookie.
    assert_eq!(get(&server, "/?token=wrong", false).0, 401);
    let response = agent()
        .get(&format!("{}/?token={}", server.base, server.token))
        .call()
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.header("Set-Cookie").unwrap();
    assert!(
        cookie.contains(&server.cookie())
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    // A page of another site, whose name resolves to 127.0.0.1, is refused (DNS rebinding).
    let rebound = agent()
        .get(&format!("{}/runs/1/log", server.base))
        .set("Host", "attacker.example")
        .call();
    match rebound {
        Err(ureq::Error::Status(421, _)) => {}
        other => panic!(
            "a foreign Host was served: {:?}",
            other.map(|response| response.status())
        ),
    }
    let localhost = server.base.replace("127.0.0.1", "localhost");
    let by_name = agent().get(&format!("{localhost}/")).call().unwrap();
    assert_eq!(by_name.status(), 200);

    // Actions are off: refused even with the token, and nothing changed.
    let (status, _, body) = post(
        &server,
        "/workflows/labelled/resume",
        true,
        &[("csrf", "x")],
        None,
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("actions are off"), "{body}");
    let still = fixture(&state, &["status", "labelled"]);
    assert!(
        String::from_utf8_lossy(&still.stdout).contains("workflow paused"),
        "{still:?}"
    );
}

#[test]
fn actions_need_the_token_and_the_page_and_go_through_the_commands() {
    let dir = scratch("actions");
    let state = state_with_runs(&dir);
    let server = serve(&state, &["--allow-actions"]);
    let (_, page) = get(&server, "/workflows/labelled", true);
    let field = csrf(&page);

    // Without the token, with another page's field, or from another site: refused.
    let (status, _, _) = post(
        &server,
        "/workflows/labelled/resume",
        false,
        &[("csrf", &field)],
        None,
    );
    assert_eq!(status, 401);
    let (status, _, _) = post(
        &server,
        "/workflows/labelled/resume",
        true,
        &[("csrf", "0123456789abcdef0123456789abcdef")],
        None,
    );
    assert_eq!(status, 403);
    let (status, _, _) = post(
        &server,
        "/workflows/labelled/resume",
        true,
        &[("csrf", &field)],
        Some("http://evil.example"),
    );
    assert_eq!(status, 403);
    let still = fixture(&state, &["status", "labelled"]);
    assert!(
        String::from_utf8_lossy(&still.stdout).contains("workflow paused"),
        "{still:?}"
    );

    // With all three: the same `resume` as the terminal; `status` agrees.
    let origin = server.base.clone();
    let (status, location, _) = post(
        &server,
        "/workflows/labelled/resume",
        true,
        &[("csrf", &field)],
        Some(&origin),
    );
    assert_eq!(status, 303);
    assert!(
        location.starts_with("/workflows/labelled?said="),
        "{location}"
    );
    let (_, answer) = get(&server, &location, true);
    assert!(
        answer.contains("<p class=\"said\">workflow `labelled` is resumed</p>"),
        "{answer}"
    );
    // What a page says is only what this server said: text in the URL is not shown.
    let (_, spoofed) = get(&server, "/workflows/labelled?said=Session%20expired", true);
    assert!(!spoofed.contains("Session expired"), "{spoofed}");
    let now = fixture(&state, &["status", "labelled"]);
    assert!(
        !String::from_utf8_lossy(&now.stdout).contains("workflow paused"),
        "{now:?}"
    );

    // Start a run with a parameter; it is admitted and recorded like one from a terminal.
    let (status, location, _) = post(
        &server,
        "/workflows/labelled/trigger",
        true,
        &[("csrf", &field), ("params", "label=from the page\n")],
        None,
    );
    assert_eq!(status, 303);
    let (_, answer) = get(&server, &location, true);
    assert!(answer.contains("<p class=\"said\">the run "), "{answer}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let history = fixture(&state, &["history", "labelled"]);
        let text = String::from_utf8_lossy(&history.stdout).into_owned();
        if text.lines().count() == 2 && text.lines().next().unwrap().contains("succeeded") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (_, run) = get(&server, "/runs/5", true);
    assert!(run.contains("label=from the page"), "{run}");

    // A bad parameter is said, not started.
    let (_, location, _) = post(
        &server,
        "/workflows/labelled/trigger",
        true,
        &[("csrf", &field), ("params", "nope=1")],
        None,
    );
    let (_, answer) = get(&server, &location, true);
    assert!(answer.contains("nope"), "{answer}");
    // A workflow this binary does not have is refused before any command runs.
    let (status, _, _) = post(
        &server,
        "/workflows/--help/trigger",
        true,
        &[("csrf", &field)],
        None,
    );
    assert_eq!(status, 404);

    // Pause through the page; `status` agrees.
    let (status, _, _) = post(
        &server,
        "/workflows/labelled/pause",
        true,
        &[("csrf", &field)],
        None,
    );
    assert_eq!(status, 303);
    let paused = fixture(&state, &["status", "labelled"]);
    assert!(
        String::from_utf8_lossy(&paused.stdout).contains("workflow paused: paused by hand"),
        "{paused:?}"
    );

    // Resume the failed run from its page.
    let (_, failed) = get(&server, "/runs/2", true);
    assert!(failed.contains("id=\"resume-run\""), "{failed}");
    let (status, _, _) = post(
        &server,
        "/runs/2/resume",
        true,
        &[("csrf", &csrf(&failed))],
        None,
    );
    assert_eq!(status, 303);
}

#[test]
fn a_state_file_removed_while_serving_is_said_and_not_made_again() {
    let dir = scratch("gone");
    let state = state_with_runs(&dir);
    let server = serve(&state, &[]);
    std::fs::remove_file(&state).unwrap();
    let (status, page) = get(&server, "/", false);
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("is gone"), "{page}");
    assert!(
        !state.exists(),
        "the read-only server made a new state file"
    );
}

#[test]
fn serve_without_a_state_file_says_so() {
    let dir = scratch("none");
    let output = fixture(
        &dir.join("missing.sqlite"),
        &["serve", "--listen", "127.0.0.1:0"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no state file at"),
        "{output:?}"
    );
}
