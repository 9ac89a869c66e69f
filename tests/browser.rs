//! The dashboard in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs) driven over WebDriver by fantoccini. It opens
//! the page with the printed token, sees the failed node drawn as failed, opens its log,
//! pauses a workflow with the page's button and finds `status` agreeing, and saves a
//! screenshot (`target/dashboard.png`).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};

const FIXTURE: &str = env!("CARGO_BIN_EXE_runner-fixture");

/// Children stopped when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fixture(state: &Path, arguments: &[&str]) -> String {
    let output = Command::new(FIXTURE)
        .args(arguments)
        .arg("--state")
        .arg(state)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn program(name: &str) -> PathBuf {
    let path = std::env::var_os(format!(
        "WORKFLOW_TEST_{}",
        name.to_uppercase().replace('-', "_")
    ))
    .map(PathBuf::from)
    .unwrap_or_else(|| PathBuf::from(format!("/usr/bin/{name}")));
    assert!(
        path.exists(),
        "`{}` is missing: the browser test needs Debian's chromium and chromium-driver (`apt-get install chromium chromium-driver`, as `.ci/run` does)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser() {
    let chromium = program("chromium");
    let driver_path = program("chromedriver");
    let dir = workflow_tests::Scratch::new("workflow-browser");
    let state = dir.join("state.sqlite");
    let work = format!("dir={}", dir.display());
    let said = fixture(&state, &["run", "unfixable", "-p", &work]);
    assert!(said.contains("failed"), "{said}");
    fixture(&state, &["run", "labelled"]);

    // The dashboard, with actions.
    let mut server = Command::new(FIXTURE)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--allow-actions",
            "--state",
        ])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Reaped(server);
    let link = line.trim().rsplit(' ').next().unwrap().to_owned();
    let base = link.split("/?token=").next().unwrap().to_owned();

    // ChromeDriver on a loopback port of its own.
    let port = free_port();
    let _driver = Reaped(
        Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let profile = dir.join("profile");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => break client,
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("ChromeDriver did not start: {error}"),
        }
    };

    // The printed URL: the token becomes a cookie.
    client.goto(&link).await.unwrap();
    assert_eq!(client.current_url().await.unwrap().path(), "/");
    let row = client
        .find(Locator::Css("tr[data-workflow=\"unfixable\"]"))
        .await
        .unwrap();
    assert!(row.text().await.unwrap().contains("failed"));

    // The workflow's graph shows its failed node as failed, in the node's colour.
    client
        .find(Locator::Css("tr[data-workflow=\"unfixable\"] a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let node = client
        .find(Locator::Css("g.node[data-node=\"attempt\"]"))
        .await
        .unwrap();
    assert_eq!(
        node.attr("data-status").await.unwrap().as_deref(),
        Some("failed")
    );
    let fill = client
        .execute(
            "return getComputedStyle(document.querySelector('g.node[data-node=\"attempt\"] rect.box')).fill;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fill.as_str(), Some("rgb(255, 205, 210)"), "{fill:?}");
    // The picture of the docs: a workflow with a fan-out, a branch and a join.
    let said = fixture(&state, &["run", "arith"]);
    assert!(!said.contains("error"), "{said}");
    client
        .goto(&format!("{base}/workflows/arith"))
        .await
        .unwrap();
    client
        .find(Locator::Css(
            "g.node[data-node=\"tripled\"][data-status=\"succeeded\"]",
        ))
        .await
        .unwrap();
    client
        .screenshot()
        .await
        .map(|png| {
            let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
            std::fs::create_dir_all(&target).unwrap();
            std::fs::write(target.join("dashboard.png"), &png).unwrap();
            if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
                std::fs::write(
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/dashboard.png"),
                    &png,
                )
                .unwrap();
            }
        })
        .unwrap();

    // Its log, from the node in the graph.
    client
        .goto(&format!("{base}/workflows/unfixable"))
        .await
        .unwrap();
    client
        .execute(
            "document.querySelector('g.node[data-node=\"attempt\"]').closest('a').dispatchEvent(new MouseEvent('click', {bubbles: true}));",
            vec![],
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = client.current_url().await.unwrap();
        if url.path().ends_with("/log") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node's link did not open its log: {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = client.find(Locator::Css("pre.log")).await.unwrap();
    let text = log.text().await.unwrap();
    assert!(
        text.contains("runner: failed permanently: the file `config.toml` is missing"),
        "{text}"
    );

    // Live: a run that starts while the page is open reloads it, and the page shows it.
    client
        .goto(&format!("{base}/workflows/labelled"))
        .await
        .unwrap();
    client
        .execute("window.seenBeforeTheRun = true;", vec![])
        .await
        .unwrap();
    fixture(&state, &["run", "labelled"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reloaded = client
            .execute("return window.seenBeforeTheRun === undefined;", vec![])
            .await
            .unwrap();
        if reloaded.as_bool() == Some(true) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page did not reload after a run"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        client
            .source()
            .await
            .unwrap()
            .contains("Graph of <a href=\"/runs/4\">run 4</a>")
    );

    // Pause `labelled` with the page's button; `status` agrees.
    client
        .find(Locator::Id("pause"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let said = loop {
        if let Ok(said) = client.find(Locator::Css("p.said")).await {
            break said.text().await.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no answer to the pause: {}",
            client.source().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(said.contains("is paused"), "{said}");
    let status = fixture(&state, &["status", "labelled"]);
    assert!(
        status.contains("workflow paused: paused by hand"),
        "{status}"
    );
    client.close().await.unwrap();
}
