//! `serve`: a dashboard of the state file in the browser, served by the workflow binary itself.
//!
//! Server-rendered HTML (no front-end build), a few lines of JavaScript that poll for changes
//! while a run goes on, and pictures drawn here as SVG. It reads the state file; it changes
//! anything only when started with `--allow-actions`, and then by running this same binary's
//! `pause`, `resume` and `run` commands, so that an action from the page is admitted, locked
//! and recorded exactly as from a terminal.
//!
//! **Access.** A token is made at start-up and printed in the URL to open
//! (`http://127.0.0.1:8080/?token=...`); opening it sets a cookie (`HttpOnly`,
//! `SameSite=Strict`). On a loopback address the pages can be read without it; on any other
//! address every page needs it. Actions need it always, and a form field that only a page of
//! this server carries (against cross-site requests), and a same-origin `Origin` when the
//! browser sends one. Secret values are never read here: a secret shows by name and source.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};

use crate::runner::store::{AttemptRecord, NodeRecord, RunRecord, Store};

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The state file.
    pub state: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Whether the page may pause, resume and start runs.
    pub allow_actions: bool,
    /// The program actions run (this binary).
    pub program: PathBuf,
}

struct App {
    options: Options,
    /// The address bound (the port chosen when `--listen` said 0).
    address: SocketAddr,
    token: String,
    csrf: String,
    /// What the last actions said, by id: a page shows the one its URL names (`?said=ID`),
    /// so that no text of a request's own shows on the page, nor any output in a URL.
    said: std::sync::Mutex<std::collections::VecDeque<(String, String)>>,
}

/// How many action results are kept for their pages.
const KEPT_MESSAGES: usize = 64;

impl App {
    /// The cookie holding the token: one per port, so that two servers on one host keep
    /// their own.
    fn cookie_name(&self) -> String {
        format!("workflow_token_{}", self.address.port())
    }

    fn remember(&self, text: String) -> String {
        let id = random_hex().unwrap_or_else(|_| "0".to_owned());
        let mut said = self
            .said
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if said.len() >= KEPT_MESSAGES {
            said.pop_front();
        }
        said.push_back((id.clone(), text));
        id
    }

    fn recall(&self, id: &str) -> Option<String> {
        self.said
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|(seen, _)| seen == id)
            .map(|(_, text)| text.clone())
    }
}

/// Serves until the process is stopped. `ready` is called with the address bound and the URL
/// to open (with the token) once the server accepts connections.
///
/// # Errors
///
/// The state file does not exist or cannot be read, or the address cannot be bound.
pub fn serve(options: Options, ready: impl FnOnce(SocketAddr, String)) -> Result<(), String> {
    if !options.state.exists() {
        return Err(format!(
            "no state file at `{}`: nothing has run with it yet (give --state PATH)",
            options.state.display()
        ));
    }
    Store::open(&options.state).map_err(|error| error.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the server: {error}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|error| format!("cannot listen on {}: {error}", options.listen))?;
        let address = listener
            .local_addr()
            .map_err(|error| format!("cannot listen on {}: {error}", options.listen))?;
        let app = Arc::new(App {
            options,
            address,
            token: random_hex()?,
            csrf: random_hex()?,
            said: std::sync::Mutex::new(std::collections::VecDeque::new()),
        });
        // An address for every interface is opened, here, through loopback.
        let shown = if address.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), address.port())
        } else {
            address
        };
        ready(address, format!("http://{shown}/?token={}", app.token));
        axum::serve(listener, router(app))
            .await
            .map_err(|error| format!("the server stopped: {error}"))
    })
}

fn random_hex() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|error| format!("no random token: {error}"))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn router(app: Arc<App>) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/", get(index))
        .route("/workflows/{name}", get(workflow_page))
        .route("/runs/{id}", get(run_page))
        .route("/runs/{id}/log", get(log_page))
        .route("/api/version", get(version))
        .route("/workflows/{name}/pause", post(pause))
        .route("/workflows/{name}/resume", post(resume))
        .route("/workflows/{name}/trigger", post(trigger))
        .route("/runs/{id}/resume", post(resume_run))
        .with_state(app)
}

// ---- access ----

/// Whether the request carries the token (cookie or `Authorization: Bearer`).
fn has_token(app: &App, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let name = format!("{}=", app.cookie_name());
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name.as_str()));
    [bearer, cookie]
        .into_iter()
        .flatten()
        .any(|given| constant_time_eq(given.as_bytes(), app.token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// On loopback, whether the request names this server as it is reached from this machine
/// (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`): a page of another site whose name now
/// resolves to 127.0.0.1 (DNS rebinding) names its own host, and is refused.
fn host_allowed(app: &App, headers: &HeaderMap) -> bool {
    if !app.address.ip().is_loopback() {
        return true;
    }
    let port = app.address.port();
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        app.address.to_string(),
    ]
    .iter()
    .any(|allowed| allowed.eq_ignore_ascii_case(host))
}

/// Reading: open on loopback, else the token. Returns the response to send instead.
fn read_access(
    app: &App,
    headers: &HeaderMap,
    token: Option<&str>,
    path: &str,
) -> Option<Response> {
    if !host_allowed(app, headers) {
        return Some(refused(
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers to its own address only (127.0.0.1 or localhost with its port)",
        ));
    }
    if let Some(given) = token {
        if constant_time_eq(given.as_bytes(), app.token.as_bytes()) {
            // Keep the token in a cookie, and the URL without it.
            let cookie = format!(
                "{}={}; HttpOnly; SameSite=Strict; Path=/",
                app.cookie_name(),
                app.token
            );
            return Some(
                (
                    StatusCode::SEE_OTHER,
                    [
                        (header::SET_COOKIE, cookie),
                        (header::LOCATION, path.to_owned()),
                    ],
                )
                    .into_response(),
            );
        }
        return Some(refused(
            StatusCode::UNAUTHORIZED,
            "that token is not this server's: open the URL `serve` printed when it started",
        ));
    }
    if app.address.ip().is_loopback() || has_token(app, headers) {
        None
    } else {
        Some(refused(
            StatusCode::UNAUTHORIZED,
            "this server listens beyond this machine: open the URL with the token that `serve` printed when it started",
        ))
    }
}

/// Acting: `--allow-actions`, the token, this server's form field, and a same-origin request.
fn action_access(app: &App, headers: &HeaderMap, csrf: &str) -> Option<Response> {
    if !host_allowed(app, headers) {
        return Some(refused(
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers to its own address only (127.0.0.1 or localhost with its port)",
        ));
    }
    if !app.options.allow_actions {
        return Some(refused(
            StatusCode::FORBIDDEN,
            "actions are off: start `serve` with --allow-actions to pause, resume or start runs from the page",
        ));
    }
    if !has_token(app, headers) {
        return Some(refused(
            StatusCode::UNAUTHORIZED,
            "an action needs the token: open the URL `serve` printed when it started",
        ));
    }
    if !constant_time_eq(csrf.as_bytes(), app.csrf.as_bytes()) {
        return Some(refused(
            StatusCode::FORBIDDEN,
            "this form did not come from this server's page: reload the page and try again",
        ));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    if let (Some(origin), Some(host)) = (
        headers
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok()),
        host,
    ) && origin != format!("http://{host}")
    {
        return Some(refused(
            StatusCode::FORBIDDEN,
            "a request from another site is refused",
        ));
    }
    None
}

fn refused(status: StatusCode, message: &str) -> Response {
    (
        status,
        Html(layout(
            "Refused",
            &format!("<p class=\"refused\">{}</p>", esc(message)),
        )),
    )
        .into_response()
}

// ---- pages ----

#[derive(serde::Deserialize, Default)]
struct PageQuery {
    token: Option<String>,
    run: Option<i64>,
    said: Option<String>,
    node: Option<String>,
    attempt: Option<u32>,
}

async fn blocking(
    app: Arc<App>,
    render: impl FnOnce(&App, &Store) -> Result<String, (StatusCode, String)> + Send + 'static,
) -> Response {
    let result = tokio::task::spawn_blocking(move || {
        let store = open_store(&app).map_err(|error| (StatusCode::SERVICE_UNAVAILABLE, error))?;
        render(&app, &store)
    })
    .await;
    match result {
        Ok(Ok(html)) => Html(html).into_response(),
        Ok(Err((status, message))) => refused(status, &message),
        Err(error) => refused(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    }
}

/// The state file, which must still exist: a server that only reads never makes a new one.
fn open_store(app: &App) -> Result<Store, String> {
    if !app.options.state.exists() {
        return Err(format!(
            "the state file `{}` is gone",
            app.options.state.display()
        ));
    }
    Store::open(&app.options.state).map_err(|error| error.to_string())
}

fn internal(error: impl std::fmt::Display) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

async fn index(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    if let Some(response) = read_access(&app, &headers, query.token.as_deref(), "/") {
        return response;
    }
    blocking(app, |_, store| {
        let mut rows = String::new();
        let now = Utc::now();
        for spec in crate::registry::workflows() {
            let name = spec.name;
            let schedule = spec.operations.schedule.as_ref();
            let (when, next) = match schedule {
                Some(schedule) => {
                    let when = match &schedule.when {
                        crate::operations::Cadence::Cron(cron) => format!("{cron} ({})", schedule.timezone),
                        crate::operations::Cadence::EverySecs(seconds) => format!("every {seconds} s"),
                    };
                    let next = schedule
                        .next_fire_times(now, 1)
                        .ok()
                        .and_then(|times| times.first().copied())
                        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .unwrap_or_default();
                    (when, next)
                }
                None => ("—".to_owned(), String::new()),
            };
            let paused = store.paused(name).map_err(internal)?;
            let last = store.runs(Some(name), 1).map_err(internal)?;
            let last = match last.first() {
                Some(run) => {
                    let status = store.effective_status(run).map_err(internal)?;
                    format!(
                        "<a href=\"/runs/{}\">run {}</a> {} <span class=\"when\">{}</span>",
                        run.id,
                        run.id,
                        badge(status),
                        esc(&run.started_at)
                    )
                }
                None => "no runs".to_owned(),
            };
            let _ = write!(
                rows,
                "<tr data-workflow=\"{n}\"><td><a href=\"/workflows/{u}\">{n}</a><div class=\"doc\">{doc}</div></td><td>{when}</td><td>{next}</td><td>{paused}</td><td>{last}</td></tr>",
                n = esc(name),
                u = url(name),
                doc = esc(spec.doc.lines().next().unwrap_or("")),
                when = esc(&when),
                next = esc(&next),
                paused = match paused {
                    Some(reason) => format!("<span class=\"paused\">paused</span> {}", esc(&reason)),
                    None => "no".to_owned(),
                },
            );
        }
        Ok(layout(
            "Workflows",
            &format!(
                "<h1>Workflows</h1><table class=\"list\"><tr><th>workflow</th><th>schedule</th><th>next fire time</th><th>paused</th><th>last run</th></tr>{rows}</table>{}",
                live_script("/api/version")
            ),
        ))
    })
    .await
}

async fn workflow_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let here = format!("/workflows/{}", url(&name));
    if let Some(response) = read_access(&app, &headers, query.token.as_deref(), &here) {
        return response;
    }
    blocking(app, move |app, store| {
        let spec = crate::registry::find(&name)
            .map_err(|error| (StatusCode::NOT_FOUND, error.to_string()))?;
        let runs = store.runs(Some(&name), 25).map_err(internal)?;
        let selected = match query.run {
            Some(id) => Some(runs.iter().find(|run| run.id == id).cloned().map_or_else(
                || {
                    store
                        .run(id)
                        .map_err(|error| (StatusCode::NOT_FOUND, error.to_string()))
                },
                Ok,
            )?),
            None => runs.first().cloned(),
        };
        if let Some(run) = &selected
            && run.workflow != name
        {
            return Err((
                StatusCode::NOT_FOUND,
                format!("run {} is not a run of `{name}`", run.id),
            ));
        }
        let nodes = match &selected {
            Some(run) => store.nodes(run.id).map_err(internal)?,
            None => Vec::new(),
        };
        let mut body = format!(
            "<h1>{}</h1><p class=\"doc\">{}</p>",
            esc(&name),
            esc(spec.doc)
        );
        if let Some(said) = query.said.as_deref().and_then(|id| app.recall(id)) {
            let _ = write!(body, "<p class=\"said\">{}</p>", esc(&said));
        }
        if let Some(reason) = store.paused(&name).map_err(internal)? {
            let _ = write!(body, "<p class=\"paused\">paused: {}</p>", esc(&reason));
        }
        body.push_str(&actions_html(app, &spec, &name));
        match &selected {
            Some(run) => {
                let status = store.effective_status(run).map_err(internal)?;
                let _ = write!(
                    body,
                    "<h2>Graph of <a href=\"/runs/{id}\">run {id}</a> {}</h2>",
                    badge(status),
                    id = run.id
                );
            }
            None => body.push_str("<h2>Graph (no runs yet)</h2>"),
        }
        body.push_str(&graph_svg(
            &spec,
            &nodes,
            selected.as_ref().map(|run| run.id),
        ));
        body.push_str("<h2>Runs</h2>");
        body.push_str(&runs_grid(store, &spec, &runs)?);
        let live = format!("/api/version?workflow={}", url(&name));
        body.push_str(&live_script(&live));
        Ok(layout(&name, &body))
    })
    .await
}

async fn run_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(query): Query<PageQuery>,
) -> Response {
    let here = format!("/runs/{id}");
    if let Some(response) = read_access(&app, &headers, query.token.as_deref(), &here) {
        return response;
    }
    blocking(app, move |app, store| {
        let run = store
            .run(id)
            .map_err(|error| (StatusCode::NOT_FOUND, error.to_string()))?;
        let status = store.effective_status(&run).map_err(internal)?.to_owned();
        let nodes = store.nodes(id).map_err(internal)?;
        let attempts = store.attempts(id).map_err(internal)?;
        let mut body = format!(
            "<h1>Run {id} of <a href=\"/workflows/{u}?run={id}\">{w}</a> {}</h1>",
            badge(&status),
            u = url(&run.workflow),
            w = esc(&run.workflow),
        );
        if let Some(said) = query.said.as_deref().and_then(|id| app.recall(id)) {
            let _ = write!(body, "<p class=\"said\">{}</p>", esc(&said));
        }
        body.push_str("<table class=\"facts\">");
        let mut fact = |label: &str, value: String| {
            let _ = write!(body, "<tr><th>{label}</th><td>{value}</td></tr>");
        };
        fact("started", esc(&run.started_at));
        fact("ended", esc(run.ended_at.as_deref().unwrap_or("—")));
        fact("took", esc(&duration_text(&run.started_at, run.ended_at.as_deref())));
        let cause = store.start_reason(id).map_err(internal)?;
        fact("started by", esc(cause.as_deref().unwrap_or("run by hand")));
        fact("parameters", params_html(&run));
        if let Some(reason) = &run.reason {
            fact("why", esc(reason));
        }
        if let Some(host) = &run.host {
            fact("host", esc(host));
        }
        body.push_str("</table>");
        if app.options.allow_actions && matches!(status.as_str(), "failed" | "cancelled" | "interrupted") {
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/runs/{id}/resume\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\" id=\"resume-run\">Resume this run</button> (what succeeded is kept)</form>",
                app.csrf
            );
        }
        if let Ok(spec) = crate::registry::find(&run.workflow) {
            body.push_str(&graph_svg(&spec, &nodes, Some(id)));
        }
        body.push_str("<h2>Attempts</h2>");
        body.push_str(&gantt_svg(&attempts));
        body.push_str("<table class=\"attempts\"><tr><th>node</th><th>attempt</th><th>status</th><th>started</th><th>took</th><th>message</th><th>log</th></tr>");
        for attempt in &attempts {
            let _ = write!(
                body,
                "<tr class=\"attempt\" data-node=\"{n}\" data-attempt=\"{k}\"><td>{n}</td><td>{k}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"message\">{}</td><td><a class=\"log-link\" href=\"/runs/{id}/log?node={u}&amp;attempt={k}\">log</a></td></tr>",
                badge(&attempt.status),
                esc(&attempt.started_at),
                esc(&duration_text(&attempt.started_at, attempt.ended_at.as_deref())),
                esc(attempt.message.as_deref().unwrap_or("")),
                n = esc(&attempt.node),
                u = url(&attempt.node),
                k = attempt.attempt,
            );
        }
        body.push_str("</table>");
        body.push_str(&live_script(&format!("/api/version?run={id}")));
        Ok(layout(&format!("Run {id}"), &body))
    })
    .await
}

async fn log_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(query): Query<PageQuery>,
) -> Response {
    let here = format!("/runs/{id}");
    if let Some(response) = read_access(&app, &headers, query.token.as_deref(), &here) {
        return response;
    }
    blocking(app, move |_, store| {
        let run = store
            .run(id)
            .map_err(|error| (StatusCode::NOT_FOUND, error.to_string()))?;
        let attempts = store.attempts(id).map_err(internal)?;
        let chosen: Vec<&AttemptRecord> = attempts
            .iter()
            .filter(|attempt| query.node.as_ref().is_none_or(|node| attempt.node == *node))
            .filter(|attempt| query.attempt.is_none_or(|number| attempt.attempt == number))
            .collect();
        if chosen.is_empty() {
            return Err((
                StatusCode::NOT_FOUND,
                format!("run {id} has no such attempt"),
            ));
        }
        // How much of each log a page shows: more for one attempt than for many.
        let limit: usize = if chosen.len() == 1 { 512 << 10 } else { 64 << 10 };
        let dir = crate::runner::attempt_log::logs_dir(store.path());
        let mut body = format!(
            "<h1>Log of <a href=\"/runs/{id}\">run {id}</a> of {}</h1>",
            esc(&run.workflow)
        );
        for attempt in chosen {
            let _ = write!(
                body,
                "<h2>node {} attempt {} {}</h2>",
                esc(&attempt.node),
                attempt.attempt,
                badge(&attempt.status)
            );
            if let Some(message) = &attempt.message {
                let _ = write!(body, "<p class=\"message\">{}</p>", esc(message));
            }
            let text = crate::runner::attempt_log::read(&dir, id, &attempt.node, attempt.attempt)
                .map_err(internal)?;
            match text {
                Some(bytes) => {
                    // The end of a long log; `logs` prints it whole.
                    let mut from = bytes.len() - bytes.len().min(limit);
                    while from < bytes.len() && (bytes[from] & 0b1100_0000) == 0b1000_0000 {
                        from += 1;
                    }
                    if from > 0 {
                        let _ = write!(
                            body,
                            "<p class=\"omitted\">The first {from} bytes are not shown; <code>logs {} --run {id} --node {} --attempt {}</code> prints the whole log.</p>",
                            esc(&run.workflow),
                            esc(&attempt.node),
                            attempt.attempt
                        );
                    }
                    let _ = write!(
                        body,
                        "<pre class=\"log\">{}</pre>",
                        esc(&String::from_utf8_lossy(&bytes[from..]))
                    );
                }
                None => body.push_str("<p>(no log was kept for this attempt)</p>"),
            }
        }
        body.push_str(&live_script(&format!("/api/version?run={id}")));
        Ok(layout(&format!("Log of run {id}"), &body))
    })
    .await
}

#[derive(serde::Deserialize)]
struct VersionQuery {
    run: Option<i64>,
    workflow: Option<String>,
}

/// What changes when anything a page shows changes: polled by the page while it is open.
async fn version(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<VersionQuery>,
) -> Response {
    if let Some(response) = read_access(&app, &headers, None, "/") {
        return response;
    }
    let result = tokio::task::spawn_blocking(move || -> Result<String, String> {
        let store = open_store(&app)?;
        let mut parts: Vec<String> = Vec::new();
        let runs: Vec<RunRecord> = match (&query.run, &query.workflow) {
            (Some(id), _) => vec![store.run(*id).map_err(|error| error.to_string())?],
            (None, Some(workflow)) => store
                .runs(Some(workflow), 25)
                .map_err(|error| error.to_string())?,
            (None, None) => store.runs(None, 50).map_err(|error| error.to_string())?,
        };
        for run in &runs {
            let status = store
                .effective_status(run)
                .map_err(|error| error.to_string())?;
            parts.push(format!("{}:{status}", run.id));
            if query.run.is_some() || query.workflow.is_some() {
                for attempt in store.attempts(run.id).map_err(|error| error.to_string())? {
                    parts.push(format!(
                        "{}#{}:{}",
                        attempt.node, attempt.attempt, attempt.status
                    ));
                }
                if query.run.is_some() {
                    let dir = crate::runner::attempt_log::logs_dir(store.path());
                    let size: u64 =
                        std::fs::read_dir(crate::runner::attempt_log::run_dir(&dir, run.id))
                            .into_iter()
                            .flatten()
                            .flatten()
                            .flat_map(|node| {
                                std::fs::read_dir(node.path())
                                    .into_iter()
                                    .flatten()
                                    .flatten()
                            })
                            .filter_map(|file| file.metadata().ok())
                            .map(|metadata| metadata.len())
                            .sum();
                    parts.push(format!("log:{size}"));
                }
            }
        }
        for spec in crate::registry::workflows() {
            if store
                .paused(spec.name)
                .map_err(|error| error.to_string())?
                .is_some()
            {
                parts.push(format!("paused:{}", spec.name));
            }
        }
        Ok(parts.join(","))
    })
    .await;
    match result {
        Ok(Ok(version)) => ([(header::CACHE_CONTROL, "no-store")], version).into_response(),
        Ok(Err(message)) => (StatusCode::NOT_FOUND, message).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

// ---- actions ----

#[derive(serde::Deserialize)]
struct ActionForm {
    csrf: String,
    #[serde(default)]
    params: String,
}

/// Runs this program's `arguments` with the state file, and returns what it said.
fn run_command(app: &App, arguments: &[String]) -> String {
    let output = std::process::Command::new(&app.options.program)
        .args(arguments)
        .arg("--state")
        .arg(&app.options.state)
        .stdin(std::process::Stdio::null())
        .output();
    match output {
        Ok(output) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            text.trim().to_owned()
        }
        Err(error) => format!("cannot run `{}`: {error}", app.options.program.display()),
    }
}

async fn act(
    app: Arc<App>,
    back: String,
    work: impl FnOnce(&App) -> String + Send + 'static,
) -> Response {
    let keeper = app.clone();
    let said = tokio::task::spawn_blocking(move || work(&app))
        .await
        .unwrap_or_else(|error| error.to_string());
    let id = keeper.remember(said);
    let separator = if back.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{back}{separator}said={id}")).into_response()
}

/// An action on a workflow this binary does not have: refused before any command runs.
fn unknown_workflow(name: &str) -> Option<Response> {
    crate::registry::find(name)
        .err()
        .map(|error| refused(StatusCode::NOT_FOUND, &error.to_string()))
}

async fn pause(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    hold(app, headers, name, form, "pause").await
}

async fn resume(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    hold(app, headers, name, form, "resume").await
}

/// `pause` or `resume` of workflow `name`, as the terminal's command does it.
async fn hold(
    app: Arc<App>,
    headers: HeaderMap,
    name: String,
    form: ActionForm,
    command: &'static str,
) -> Response {
    if let Some(response) = action_access(&app, &headers, &form.csrf) {
        return response;
    }
    if let Some(response) = unknown_workflow(&name) {
        return response;
    }
    let back = format!("/workflows/{}", url(&name));
    act(app, back, move |app| {
        run_command(app, &[command.to_owned(), name])
    })
    .await
}

/// Starts a run as `run` does from a terminal, in a process of its own that outlives the page.
fn start_run(app: &App, arguments: Vec<String>) -> String {
    let mut command = std::process::Command::new(&app.options.program);
    command
        .args(&arguments)
        .arg("--state")
        .arg(&app.options.state)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // A process group of its own: Ctrl-C on the server's terminal does not reach the run.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    match command.spawn() {
        Ok(mut child) => {
            // A run refused at once (paused, already running, a bad parameter) says why
            // within a moment; one admitted goes on, and its page shows how it does.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        let mut text = String::new();
                        if let Some(mut stderr) = child.stderr.take() {
                            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
                        }
                        let text = text.trim();
                        return if status.success() {
                            "the run finished".to_owned()
                        } else if text.is_empty() {
                            format!("the run ended: {status}")
                        } else {
                            text.to_owned()
                        };
                    }
                    Ok(None) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    _ => break,
                }
            }
            // Reaped when it ends; its standard error is drained so it never blocks on it.
            let stderr = child.stderr.take();
            std::thread::spawn(move || {
                if let Some(mut stderr) = stderr {
                    let _ = std::io::copy(&mut stderr, &mut std::io::sink());
                }
                let _ = child.wait();
            });
            "the run started".to_owned()
        }
        Err(error) => format!("cannot run `{}`: {error}", app.options.program.display()),
    }
}

async fn trigger(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Some(response) = action_access(&app, &headers, &form.csrf) {
        return response;
    }
    if let Some(response) = unknown_workflow(&name) {
        return response;
    }
    let back = format!("/workflows/{}", url(&name));
    act(app, back, move |app| {
        let mut arguments = vec!["run".to_owned(), name];
        for line in form
            .params
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
        {
            arguments.push("--param".to_owned());
            arguments.push(line.to_owned());
        }
        start_run(app, arguments)
    })
    .await
}

async fn resume_run(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Some(response) = action_access(&app, &headers, &form.csrf) {
        return response;
    }
    let back = format!("/runs/{id}");
    act(app, back, move |app| {
        let workflow = open_store(app)
            .and_then(|store| store.run(id).map_err(|error| error.to_string()))
            .map(|run| run.workflow);
        match workflow {
            Ok(workflow) => start_run(
                app,
                vec![
                    "run".to_owned(),
                    workflow,
                    "--resume".to_owned(),
                    id.to_string(),
                ],
            ),
            Err(error) => error.to_string(),
        }
    })
    .await
}

// ---- pieces ----

fn actions_html(app: &App, spec: &crate::WorkflowSpec, name: &str) -> String {
    if !app.options.allow_actions {
        return "<p class=\"actions-off\">Read only: start <code>serve --allow-actions</code> to pause, resume or start runs here.</p>".to_owned();
    }
    let u = url(name);
    let csrf = &app.csrf;
    // The parameters as a hint, one `name=value` line each; a line left out takes the
    // parameter's default.
    let params: String = spec
        .params
        .iter()
        .map(|param| format!("{}=… ({})\n", param.name, param.ty))
        .collect();
    format!(
        "<div class=\"actions\">\
         <form method=\"post\" action=\"/workflows/{u}/pause\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\" id=\"pause\">Pause</button></form>\
         <form method=\"post\" action=\"/workflows/{u}/resume\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\" id=\"resume\">Resume</button></form>\
         <form method=\"post\" action=\"/workflows/{u}/trigger\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <textarea name=\"params\" rows=\"{rows}\" cols=\"40\" placeholder=\"{p}\"></textarea>\
         <button type=\"submit\" id=\"trigger\">Start a run</button></form></div>",
        rows = spec.params.len().max(1),
        p = esc(&params),
    )
}

fn params_html(run: &RunRecord) -> String {
    let Some(params) = run.params.as_deref().and_then(|text| {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).ok()
    }) else {
        return "—".to_owned();
    };
    if params.is_empty() {
        return "none".to_owned();
    }
    params
        .iter()
        .map(|(name, value)| {
            let value = match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            format!("<code class=\"param\">{}={}</code>", esc(name), esc(&value))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs × nodes, newest run first, each cell the node's status in that run.
fn runs_grid(
    store: &Store,
    spec: &crate::WorkflowSpec,
    runs: &[RunRecord],
) -> Result<String, (StatusCode, String)> {
    if runs.is_empty() {
        return Ok("<p>No runs yet.</p>".to_owned());
    }
    let mut statuses: Vec<BTreeMap<String, String>> = Vec::new();
    for run in runs {
        statuses.push(
            store
                .nodes(run.id)
                .map_err(internal)?
                .into_iter()
                .map(|node| (node.node, node.status.as_str().to_owned()))
                .collect(),
        );
    }
    let mut html = String::from("<table class=\"grid\"><tr><th></th>");
    for run in runs {
        let status = store.effective_status(run).map_err(internal)?;
        let _ = write!(
            html,
            "<th><a href=\"/runs/{id}\" class=\"cell status-{s}\" title=\"run {id}: {s}, {t}\">{id}</a></th>",
            id = run.id,
            s = esc(status),
            t = esc(&run.started_at)
        );
    }
    html.push_str("</tr>");
    for node in &spec.nodes {
        let _ = write!(html, "<tr><th class=\"node-name\">{}</th>", esc(node.name));
        for (run, by_node) in runs.iter().zip(&statuses) {
            let status = by_node.get(node.name).map_or("none", String::as_str);
            // A node that ran links to its log; one that did not, to its run.
            let link = match status {
                "none" | "scheduled" | "ready" | "skipped" | "paused" => {
                    format!("/runs/{}", run.id)
                }
                _ => format!("/runs/{}/log?node={}", run.id, url(node.name)),
            };
            let _ = write!(
                html,
                "<td><a href=\"{link}\" class=\"cell status-{s}\" title=\"{n} in run {id}: {s}\"></a></td>",
                id = run.id,
                n = esc(node.name),
                s = esc(status)
            );
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    Ok(html)
}

/// The workflow's graph as SVG: nodes in columns by depth, coloured by their status in the
/// selected run; a fanned-out node is drawn stacked, a node in a branch's arm dashed, and an
/// edge that decides a branch dotted.
fn graph_svg(spec: &crate::WorkflowSpec, nodes: &[NodeRecord], run: Option<i64>) -> String {
    let index: BTreeMap<&str, usize> = spec
        .nodes
        .iter()
        .enumerate()
        .map(|(position, node)| (node.name, position))
        .collect();
    let edges = spec.edges();
    let mut depth = vec![0usize; spec.nodes.len()];
    // Longest path from a root; the graph is acyclic (checked at compile time).
    for _ in 0..spec.nodes.len() {
        let mut changed = false;
        for edge in &edges {
            if let (Some(&from), Some(&to)) =
                (index.get(edge.from.as_str()), index.get(edge.to.as_str()))
                && depth[to] < depth[from] + 1
            {
                depth[to] = depth[from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut rows = BTreeMap::<usize, usize>::new();
    let mut place = vec![(0usize, 0usize); spec.nodes.len()];
    for (position, &column) in depth.iter().enumerate() {
        let row = rows.entry(column).or_insert(0);
        place[position] = (column, *row);
        *row += 1;
    }
    let (width, height) = (180.0, 48.0);
    let (gap_x, gap_y) = (60.0, 24.0);
    let x = |column: usize| 10.0 + column as f64 * (width + gap_x);
    let y = |row: usize| 10.0 + row as f64 * (height + gap_y);
    let columns = depth.iter().max().map_or(1, |deepest| deepest + 1);
    let tallest = rows.values().max().copied().unwrap_or(1);
    let mut svg = format!(
        "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\"><defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>",
        x(columns) + 10.0,
        y(tallest) + 10.0
    );
    for edge in &edges {
        let (Some(&from), Some(&to)) = (index.get(edge.from.as_str()), index.get(edge.to.as_str()))
        else {
            continue;
        };
        let (x1, y1) = (x(place[from].0) + width, y(place[from].1) + height / 2.0);
        let (x2, y2) = (x(place[to].0), y(place[to].1) + height / 2.0);
        let style = match edge.kind {
            crate::EdgeKind::Data => "",
            crate::EdgeKind::Order => " stroke-dasharray=\"6 4\"",
            crate::EdgeKind::Condition => " stroke-dasharray=\"2 3\"",
        };
        let _ = write!(
            svg,
            "<path class=\"edge\" d=\"M{x1},{y1} C{cx},{y1} {cx},{y2} {x2},{y2}\" fill=\"none\" stroke=\"#555\"{style} marker-end=\"url(#arrow)\"/>",
            cx = (x1 + x2) / 2.0
        );
    }
    for (position, node) in spec.nodes.iter().enumerate() {
        let status = nodes
            .iter()
            .find(|record| record.node == node.name)
            .map_or("none", |record| record.status.as_str());
        let (left, top) = (x(place[position].0), y(place[position].1));
        let dashed = if node.condition.is_some() {
            " stroke-dasharray=\"5 3\""
        } else {
            ""
        };
        let link = match run {
            Some(run) => format!("/runs/{run}/log?node={}", url(node.name)),
            None => String::new(),
        };
        let _ = write!(
            svg,
            "<a href=\"{link}\"><g class=\"node status-{status}\" data-node=\"{n}\" data-status=\"{status}\"><title>{n}: {status}</title>",
            n = esc(node.name),
        );
        if node.map.is_some() {
            let _ = write!(
                svg,
                "<rect x=\"{}\" y=\"{}\" width=\"{width}\" height=\"{height}\" rx=\"6\" class=\"box\"{dashed}/>",
                left + 5.0,
                top - 5.0
            );
        }
        let _ = write!(
            svg,
            "<rect x=\"{left}\" y=\"{top}\" width=\"{width}\" height=\"{height}\" rx=\"6\" class=\"box\"{dashed}/>"
        );
        let label = if node.name == node.task.name {
            esc(node.name)
        } else {
            format!("{} ({})", esc(node.name), esc(node.task.name))
        };
        let mark = match (node.map.is_some(), node.task.kind) {
            (true, _) => " ×each",
            (_, crate::TaskKind::Command) => " (command)",
            (_, crate::TaskKind::Workflow) => " (workflow)",
            _ => "",
        };
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"label\">{label}{mark}</text><text x=\"{}\" y=\"{}\" class=\"state\">{status}</text></g></a>",
            left + 8.0,
            top + 20.0,
            left + 8.0,
            top + 38.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Each attempt as a bar on one time axis, from the first start to the last end (or now).
fn gantt_svg(attempts: &[AttemptRecord]) -> String {
    let parse = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|time| time.with_timezone(&Utc))
    };
    let spans: Vec<(&AttemptRecord, DateTime<Utc>, DateTime<Utc>)> = attempts
        .iter()
        .filter_map(|attempt| {
            let start = parse(&attempt.started_at)?;
            let end = attempt
                .ended_at
                .as_deref()
                .and_then(parse)
                .unwrap_or_else(Utc::now);
            Some((attempt, start, end.max(start)))
        })
        .collect();
    let (Some(first), Some(last)) = (
        spans.iter().map(|(_, start, _)| *start).min(),
        spans.iter().map(|(_, _, end)| *end).max(),
    ) else {
        return String::new();
    };
    let total = (last - first).num_milliseconds().max(1) as f64;
    let (label_width, bar_width, row) = (220.0, 640.0, 22.0);
    let mut svg = format!(
        "<svg class=\"gantt\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\">",
        label_width + bar_width + 80.0,
        spans.len() as f64 * row + 24.0
    );
    for (line, (attempt, start, end)) in spans.iter().enumerate() {
        let top = line as f64 * row + 4.0;
        let left = label_width + (*start - first).num_milliseconds() as f64 / total * bar_width;
        let width = ((*end - *start).num_milliseconds() as f64 / total * bar_width).max(2.0);
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{}\" class=\"label\">{} #{}</text><rect x=\"{left:.1}\" y=\"{top}\" width=\"{width:.1}\" height=\"{}\" class=\"bar status-{}\"><title>{} attempt {}: {}, {}</title></rect>",
            top + 14.0,
            esc(&attempt.node),
            attempt.attempt,
            row - 6.0,
            esc(&attempt.status),
            esc(&attempt.node),
            attempt.attempt,
            esc(&attempt.status),
            esc(&duration_text(
                &attempt.started_at,
                attempt.ended_at.as_deref()
            ))
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{label_width}\" y=\"{}\" class=\"axis\">{}</text><text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">+{}</text></svg>",
        spans.len() as f64 * row + 18.0,
        first.format("%H:%M:%S"),
        label_width + bar_width,
        spans.len() as f64 * row + 18.0,
        seconds_text((last - first).num_milliseconds())
    );
    svg
}

fn duration_text(start: &str, end: Option<&str>) -> String {
    let parse = |text: &str| DateTime::parse_from_rfc3339(text).ok();
    match (parse(start), end.and_then(parse)) {
        (Some(start), Some(end)) => seconds_text((end - start).num_milliseconds()),
        (Some(start), None) => format!(
            "{} so far",
            seconds_text((Utc::now() - start.with_timezone(&Utc)).num_milliseconds())
        ),
        _ => "—".to_owned(),
    }
}

/// A duration in milliseconds as the rest of the program writes durations (`1m 30s`).
fn seconds_text(millis: i64) -> String {
    crate::text::duration(std::time::Duration::from_millis(
        u64::try_from(millis).unwrap_or(0),
    ))
}

fn badge(status: &str) -> String {
    format!(
        "<span class=\"badge status-{s}\">{s}</span>",
        s = esc(status)
    )
}

/// Polls `path` every two seconds and reloads the page when what it says changes.
fn live_script(path: &str) -> String {
    format!(
        "<script>(function(){{var seen=null;function look(){{fetch({p},{{cache:'no-store',credentials:'same-origin'}}).then(function(r){{return r.text();}}).then(function(v){{if(seen!==null&&v!==seen){{location.reload();}}seen=v;}}).catch(function(){{}});}}look();setInterval(look,2000);}})();</script>",
        p = serde_json::Value::String(path.to_owned())
    )
}

/// HTML-escapes text for element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Percent-encodes text for a URL path segment or query value.
fn url(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · workflows</title><style>{STYLE}</style></head><body><nav><a href=\"/\">workflows</a></nav>{body}</body></html>",
        esc(title)
    )
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}nav{margin-bottom:1em}\
table{border-collapse:collapse}td,th{padding:4px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}\
.doc{color:#666}.when{color:#666}.said{background:#eef;padding:6px}.paused{color:#a60}.refused{color:#b00}\
.badge{padding:1px 6px;border-radius:8px;font-size:12px}\
.status-succeeded{background:#c8e6c9;fill:#c8e6c9}.status-failed,.status-timed_out{background:#ffcdd2;fill:#ffcdd2}\
.status-running{background:#bbdefb;fill:#bbdefb}.status-ready,.status-scheduled{background:#fff9c4;fill:#fff9c4}\
.status-skipped,.status-none{background:#eee;fill:#f5f5f5}.status-cancelled,.status-interrupted,.status-paused{background:#ffe0b2;fill:#ffe0b2}\
svg .box{stroke:#555;stroke-width:1.2}svg .node.status-none .box{fill:#fff}svg text{font:12px system-ui,sans-serif;fill:#222}svg .state{fill:#555}\
.grid .cell{display:inline-block;width:16px;height:16px;border-radius:3px}.grid th a.cell{width:auto;height:auto;padding:0 4px}\
pre.log{background:#111;color:#eee;padding:8px;overflow:auto;max-height:70vh}.actions form{display:inline-block;margin-right:1em;vertical-align:top}\
.gantt .bar{stroke:#555}.message{color:#900}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_html_and_urls() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(url("a b/é"), "a%20b%2F%C3%A9");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert_eq!(random_hex().unwrap().len(), 32);
        assert_ne!(random_hex().unwrap(), random_hex().unwrap());
    }
}
