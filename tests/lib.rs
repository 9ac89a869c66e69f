//! Integration tests live in the `[[test]]` targets of this package; this library holds what
//! several of them share.

/// The message with its quoted-printable body decoded (soft line breaks joined, `=XX` bytes).
pub fn quoted_printable(message: &str) -> String {
    let joined = message.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'='
            && index + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[index + 1..index + 3], 16)
        {
            decoded.push(byte);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).unwrap()
}

/// A one-session SMTP relay on loopback: answers one client and returns the envelope
/// (`MAIL`/`RCPT` lines) and the message.
pub fn smtp_relay() -> (u16, std::sync::mpsc::Receiver<(Vec<String>, String)>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut envelope = Vec::new();
        let mut message = String::new();
        writer.write_all(b"220 localhost test relay\r\n").unwrap();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            let command = line.trim_end().to_owned();
            line.clear();
            let upper = command.to_ascii_uppercase();
            if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                writer
                    .write_all(b"250-localhost\r\n250 8BITMIME\r\n")
                    .unwrap();
            } else if upper.starts_with("MAIL") || upper.starts_with("RCPT") {
                envelope.push(command);
                writer.write_all(b"250 OK\r\n").unwrap();
            } else if upper == "DATA" {
                writer.write_all(b"354 end with <CRLF>.<CRLF>\r\n").unwrap();
                loop {
                    let mut data = String::new();
                    if reader.read_line(&mut data).unwrap_or(0) == 0 || data == ".\r\n" {
                        break;
                    }
                    message.push_str(&data);
                }
                writer.write_all(b"250 queued\r\n").unwrap();
            } else if upper == "QUIT" {
                writer.write_all(b"221 bye\r\n").unwrap();
                break;
            } else {
                writer.write_all(b"250 OK\r\n").unwrap();
            }
        }
        let _ = sender.send((envelope, message));
    });
    (port, receiver)
}

/// The engines' own tools that `.ci/export-tools` installs (Apache Airflow, Python validators,
/// asl-validator), and a real Airflow to run exported DAGs in.
pub mod engines {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    /// Where `.ci/export-tools` installed the tools: `$WORKFLOW_EXPORT_TOOLS`, else
    /// `target/export-tools`. Panics with the command to run when they are missing.
    pub fn tools() -> PathBuf {
        let tools = std::env::var_os("WORKFLOW_EXPORT_TOOLS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/export-tools")
            });
        assert!(
            tools.join("validators/bin/python").exists()
                && tools.join("airflow/bin/airflow").exists()
                && tools.join("node_modules/.bin/asl-validator").exists(),
            "the engines' validators are not installed in {}: run `bash .ci/export-tools`",
            tools.display()
        );
        tools
    }

    /// Waits until `done` holds, looking every half second; panics naming `what` after `limit`.
    pub fn wait_for(limit: std::time::Duration, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + limit;
        while !done() {
            assert!(std::time::Instant::now() < deadline, "timed out: {what}");
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }

    /// The output of a finished command, stdout then stderr.
    pub fn text(output: &Output) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }

    /// An Airflow 3 installation of its own: a home with a SQLite metadata database and a DAGs
    /// folder, removed when dropped.
    pub struct Airflow {
        home: tempfile::TempDir,
        airflow: PathBuf,
        environment: Vec<(String, String)>,
        #[cfg_attr(not(unix), allow(dead_code))]
        port: u16,
    }

    /// Airflow's services (API server, scheduler with the LocalExecutor, DAG processor),
    /// stopped with everything they started when dropped.
    #[cfg(unix)]
    pub struct Services {
        children: Vec<std::process::Child>,
    }

    #[cfg(unix)]
    impl Drop for Services {
        fn drop(&mut self) {
            // Each service leads a process group of its own: its workers go with it.
            let signal_group = |child: &std::process::Child, signal| {
                if let Ok(group) = libc::pid_t::try_from(child.id()) {
                    // SAFETY: kill(2) with a negative pid signals that process group; it reads
                    // no memory of ours.
                    unsafe { libc::kill(-group, signal) };
                }
            };
            for child in &self.children {
                signal_group(child, libc::SIGTERM);
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            for child in &mut self.children {
                while std::time::Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                signal_group(child, libc::SIGKILL);
                let _ = child.wait();
            }
        }
    }

    impl Airflow {
        /// Migrates a fresh metadata database. `environment` is passed to every Airflow
        /// command (and so to the tasks and callbacks it runs).
        pub fn new(environment: &[(&str, &str)]) -> Airflow {
            let home = tempfile::Builder::new()
                .prefix("airflow-home-")
                .tempdir()
                .unwrap();
            std::fs::create_dir_all(home.path().join("dags")).unwrap();
            // The API server that `start` runs listens on a loopback port of its own.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut variables: Vec<(String, String)> = vec![
                ("AIRFLOW__CORE__EXECUTOR".into(), "LocalExecutor".into()),
                ("AIRFLOW__API__HOST".into(), "127.0.0.1".into()),
                ("AIRFLOW__API__PORT".into(), port.to_string()),
                (
                    "AIRFLOW__API__BASE_URL".into(),
                    format!("http://127.0.0.1:{port}"),
                ),
                (
                    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL".into(),
                    format!("http://127.0.0.1:{port}/execution/"),
                ),
            ];
            variables.extend(
                environment
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.to_string())),
            );
            let airflow = Airflow {
                home,
                airflow: tools().join("airflow/bin/airflow"),
                environment: variables,
                port,
            };
            airflow.checked(&["db", "migrate"]);
            airflow
        }

        /// The DAGs folder.
        pub fn dags(&self) -> PathBuf {
            self.home.path().join("dags")
        }

        /// A directory for the runs' outputs (the export's `--run-root`).
        pub fn runs(&self) -> PathBuf {
            self.home.path().join("runs")
        }

        /// The home directory, for a test's own files.
        pub fn home(&self) -> &Path {
            self.home.path()
        }

        /// `airflow ARGUMENTS...` in this home, with the environment given to `new`.
        pub fn command(&self, arguments: &[&str]) -> Command {
            let mut command = self.in_home(&self.airflow);
            command.args(arguments);
            command
        }

        /// `program` with this home's environment: its paths, no examples, no mail relay but
        /// the one given to `new`, and the rest of what was given to `new`.
        fn in_home(&self, program: &Path) -> Command {
            let mut command = Command::new(program);
            command
                .env("AIRFLOW_HOME", self.home.path())
                .env("AIRFLOW__CORE__DAGS_FOLDER", self.dags())
                .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
                .env_remove("WORKFLOW_SMTP");
            for (name, value) in &self.environment {
                command.env(name, value);
            }
            command
        }

        /// Starts the API server (on its loopback port), the scheduler and the DAG processor,
        /// each logging to `<home>/<service>.log`, and waits until the API server answers.
        #[cfg(unix)]
        pub fn start(&self) -> Services {
            use std::os::unix::process::CommandExt as _;
            let port = self.port.to_string();
            let mut services = Services {
                children: Vec::new(),
            };
            for (name, arguments) in [
                (
                    "api-server",
                    vec![
                        "api-server",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        &port,
                        "--workers",
                        "1",
                    ],
                ),
                ("scheduler", vec!["scheduler", "--skip-serve-logs"]),
                ("dag-processor", vec!["dag-processor"]),
            ] {
                let log = std::fs::File::create(self.home().join(format!("{name}.log"))).unwrap();
                let child = self
                    .command(&arguments)
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .process_group(0)
                    .spawn()
                    .unwrap_or_else(|error| panic!("airflow {name}: {error}"));
                services.children.push(child);
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the API server did not start:\n{}",
                    std::fs::read_to_string(self.home().join("api-server.log")).unwrap_or_default()
                );
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            services
        }

        /// Every task log of the run `run_id` of `dag`, one after another, each under its path.
        pub fn task_logs(&self, dag: &str, run_id: &str) -> String {
            fn collect(directory: &Path, out: &mut String) {
                let Ok(entries) = std::fs::read_dir(directory) else {
                    return;
                };
                let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
                paths.sort();
                for path in paths {
                    if path.is_dir() {
                        collect(&path, out);
                    } else {
                        out.push_str(&format!("== {}\n", path.display()));
                        out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
                    }
                }
            }
            let mut out = String::new();
            collect(
                &self
                    .home()
                    .join("logs")
                    .join(format!("dag_id={dag}"))
                    .join(format!("run_id={run_id}")),
                &mut out,
            );
            out
        }

        /// A service's log so far.
        pub fn service_log(&self, name: &str) -> String {
            std::fs::read_to_string(self.home().join(format!("{name}.log"))).unwrap_or_default()
        }

        /// Airflow's Python, in this home, with the environment given to `new`.
        pub fn python(&self) -> Command {
            self.in_home(&self.airflow.with_file_name("python"))
        }

        /// Runs an Airflow command and returns its output.
        pub fn run(&self, arguments: &[&str]) -> Output {
            self.command(arguments)
                .output()
                .unwrap_or_else(|error| panic!("airflow {arguments:?}: {error}"))
        }

        /// Runs an Airflow command that must succeed and returns its output.
        pub fn checked(&self, arguments: &[&str]) -> String {
            let output = self.run(arguments);
            let text = text(&output);
            assert!(
                output.status.success(),
                "airflow {arguments:?} failed:\n{text}"
            );
            text
        }

        /// The rows an Airflow command prints with `--output json` (on its stdout).
        pub fn rows(&self, arguments: &[&str]) -> Vec<serde_json::Value> {
            let mut arguments = arguments.to_vec();
            arguments.extend(["--output", "json"]);
            let output = self.run(&arguments);
            assert!(
                output.status.success(),
                "airflow {arguments:?} failed:\n{}",
                text(&output)
            );
            // Airflow may print warnings before the rows: the rows are the first line that
            // starts a JSON array and parses as one.
            let stdout = String::from_utf8_lossy(&output.stdout);
            stdout
                .match_indices('[')
                .filter(|(at, _)| *at == 0 || stdout[..*at].ends_with('\n'))
                .find_map(|(at, _)| {
                    serde_json::Deserializer::from_str(&stdout[at..])
                        .into_iter::<Vec<serde_json::Value>>()
                        .next()
                        .and_then(Result::ok)
                })
                .unwrap_or_else(|| panic!("airflow {arguments:?}: no JSON rows in {stdout}"))
        }

        /// Whether Airflow has the DAG paused, from `airflow dags details`.
        pub fn is_paused(&self, dag: &str) -> bool {
            let rows = self.rows(&["dags", "details", dag]);
            match &rows[0]["is_paused"] {
                serde_json::Value::Bool(paused) => *paused,
                serde_json::Value::String(paused) => paused == "True",
                other => panic!("is_paused is {other}"),
            }
        }

        /// The state of every task instance of the DAG's run `run_id`, from `airflow tasks
        /// states-for-dag-run`: task id (with `[i]` for a mapped one) → state.
        pub fn task_states(
            &self,
            dag: &str,
            run_id: &str,
        ) -> std::collections::BTreeMap<String, String> {
            self.rows(&["tasks", "states-for-dag-run", dag, run_id])
                .iter()
                .map(|row| {
                    let task = row["task_id"].as_str().unwrap().to_owned();
                    let index = match &row["map_index"] {
                        serde_json::Value::Number(index) => index.as_i64().unwrap_or(-1),
                        serde_json::Value::String(index) => index.parse().unwrap_or(-1),
                        _ => -1,
                    };
                    let key = if index >= 0 {
                        format!("{task}[{index}]")
                    } else {
                        task
                    };
                    (key, row["state"].as_str().unwrap_or("none").to_owned())
                })
                .collect()
        }

        /// The DAG's runs, newest first: (run id, state).
        pub fn runs_of(&self, dag: &str) -> Vec<(String, String)> {
            self.rows(&["dags", "list-runs", dag])
                .iter()
                .map(|row| {
                    (
                        row["run_id"].as_str().unwrap().to_owned(),
                        row["state"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        }
    }
}

/// A directory of a test's own under the system's temporary directory, removed with
/// everything in it when dropped. Dereferences to its path.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    /// A new empty directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> Scratch {
        Scratch(
            tempfile::Builder::new()
                .prefix(&format!("{prefix}-"))
                .tempdir()
                .expect("a temporary directory"),
        )
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl AsRef<std::path::Path> for Scratch {
    fn as_ref(&self) -> &std::path::Path {
        self.0.path()
    }
}

/// A run-state store in a [`Scratch`] directory of its own (`state.sqlite`), both removed when
/// dropped. Dereferences to the store.
pub struct ScratchStore {
    store: workflow_core::runner::store::Store,
    directory: Scratch,
}

impl ScratchStore {
    /// A new store in a new directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> ScratchStore {
        let directory = Scratch::new(prefix);
        let store = workflow_core::runner::store::Store::open(&directory.join("state.sqlite"))
            .expect("a state store");
        ScratchStore { store, directory }
    }

    /// The state file's path.
    pub fn path(&self) -> std::path::PathBuf {
        self.directory.join("state.sqlite")
    }
}

impl std::ops::Deref for ScratchStore {
    type Target = workflow_core::runner::store::Store;

    fn deref(&self) -> &Self::Target {
        &self.store
    }
}

impl std::ops::DerefMut for ScratchStore {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.store
    }
}
