//! Seed 000: two long steps on two servers.
//!
//! `step1.sh` on server A lands new data in object storage; `step2.py` on server B loads
//! whatever landed into the SQL database. Each step takes a whole server (a pool of its own),
//! step 1 is retried at once when it fails, and step 2 must be looked at by a person when it
//! fails, so it is never retried automatically.
//!
//! The scripts are external programs: `#[task(command)]` functions build their argument
//! vectors, the tasks run them without a shell, and their exit status decides success.

use std::path::PathBuf;

use workflow_core::prelude::*;

/// What one successful run of `step1.sh` left in object storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LandedBatch {
    /// The storage prefix the script wrote under.
    pub prefix: String,
    /// The object keys it reported, one per line of its standard output.
    pub objects: Vec<String>,
    /// When the script finished.
    pub finished_at: DateTime<Utc>,
}

/// Run `step1.sh` on server A. It prints the key of each object it wrote, one per line;
/// a non-zero exit fails the attempt, which is retried at once.
#[task(
    command,
    pool = "server-a",
    retries = 3,
    timeout = "5h",
    cpu = 8,
    memory = "28GiB"
)]
pub fn run_step1(script: PathBuf, prefix: String) -> Command {
    Command::new(script.to_string_lossy())
        .arg("--prefix")
        .arg(prefix)
}

/// Read the object keys step 1 printed.
#[task]
pub fn landed_batch(output: CommandOutput, prefix: String) -> LandedBatch {
    LandedBatch {
        prefix,
        objects: output.lines().map(str::to_owned).collect(),
        finished_at: Utc::now(),
    }
}

/// List the objects in the landing area that no earlier step 2 run has loaded (the state
/// file holds one loaded object name per line).
#[task(pool = "server-b", retries = 2, retry_delay = "1m")]
pub fn find_new_data(landing: PathBuf, state_file: PathBuf) -> Result<Vec<String>, std::io::Error> {
    let loaded = match std::fs::read_to_string(&state_file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error),
    };
    let loaded: std::collections::BTreeSet<&str> = loaded.lines().collect();
    let mut new_objects = Vec::new();
    for entry in std::fs::read_dir(&landing)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if !loaded.contains(name.as_str()) {
            new_objects.push(name);
        }
    }
    new_objects.sort();
    Ok(new_objects)
}

/// Run `step2.py` on server B over the new objects; its failures need a person, so no retries.
#[task(command, pool = "server-b", timeout = "12h", cpu = 8, memory = "28GiB")]
pub fn run_step2(
    script: PathBuf,
    objects: Vec<String>,
    database_url: String,
    password: Secret,
) -> Command {
    Command::new("python3")
        .path_arg(script)
        .arg("--database-url")
        .arg(database_url)
        .args(objects)
        .secret_env("PGPASSWORD", password)
}

workflow! {
    /// Step 1 on server A: land new data in object storage.
    ///
    /// Every 2.5 hours (8–10 runs a day), never overlapping a run still going, and a failed
    /// attempt is retried at once.
    #[schedule(every = "2h30m", catch_up = "latest")]
    #[concurrency(overlap = "forbid")]
    #[pool(name = "server-a", slots = 1)]
    pub step1(script: PathBuf = PathBuf::from("/home/ubuntu/step1.sh"), prefix: String = String::from("s3://etl-landing/step1")) {
        output = run_step1(script, prefix);
        landed = landed_batch(output, prefix);
    }
}

workflow! {
    /// Step 2 on server B: load what step 1 landed into the SQL database.
    ///
    /// Starts within 10 minutes of each successful step 1; never overlapping itself; a
    /// failure pauses the workflow until an administrator resumes it, and e-mails them.
    #[trigger(after = step1, within = "10m")]
    #[concurrency(overlap = "forbid")]
    #[pool(name = "server-b", slots = 1)]
    #[on_failure(pause, notify = "etl-admin@example.com")]
    #[secret(db_password, env = "STEP2_DB_PASSWORD")]
    pub step2(
        script: PathBuf = PathBuf::from("/home/ubuntu/step2.py"),
        landing: PathBuf = PathBuf::from("/mnt/etl-landing/step1"),
        state_file: PathBuf = PathBuf::from("/var/lib/etl/step2.loaded"),
        database_url: String = String::from("postgres://etl@db/warehouse"),
    ) {
        new_objects = find_new_data(landing, state_file);
        loaded = run_step2(script, new_objects, database_url, db_password);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step2_passes_each_object_as_its_own_argument() {
        let objects = vec!["2026-11-21/a.parquet".to_owned(), "b; rm -rf /".to_owned()];
        let command = run_step2(
            "/home/ubuntu/step2.py".into(),
            objects,
            "postgres://db".into(),
            Secret::from_env("db_password", "X"),
        );
        assert_eq!(command.program(), "python3");
        assert_eq!(
            command.arguments(),
            [
                "/home/ubuntu/step2.py",
                "--database-url",
                "postgres://db",
                "2026-11-21/a.parquet",
                "b; rm -rf /"
            ]
        );
    }

    #[test]
    fn step1_output_becomes_a_batch() {
        let output = CommandOutput {
            status: Some(0),
            stdout: "a.parquet\n\n b.parquet \n".into(),
            ..CommandOutput::default()
        };
        assert_eq!(
            landed_batch(output, "s3://x".into()).objects,
            ["a.parquet", "b.parquet"]
        );
    }

    /// Task 1 of the seed, as `tick` carries it out on a virtual clock: a run every 2h30m,
    /// never two at once, and a failed run re-run at once.
    #[test]
    fn step1_is_run_as_the_wrapper_would() {
        use std::time::Duration;
        use workflow_core::runner::tick::Decision;
        use workflow_core::testing::TestRun;

        const MINUTE: Duration = Duration::from_secs(60);
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc)
        };
        let mut ticker = TestRun::<step1>::new()
            .at(at("2026-11-21T00:31:00Z"))
            // The script is replaced by `echo`, which prints the object it "wrote"; each
            // attempt takes 10 minutes. Attempts 2 to 5 fail: the whole second run (1 + 3
            // retries).
            .stub(step1::output.with(|_script, prefix| {
                Command::new("echo").arg(format!("{prefix}/part-0001.parquet"))
            }))
            .takes(step1::output, 10 * MINUTE)
            .fail(step1::output, 2)
            .fail(step1::output, 3)
            .fail(step1::output, 4)
            .fail(step1::output, 5)
            .ticker();

        // 00:30 is a fire time (every 2h30m from the epoch): the first tick runs it.
        let first = ticker.tick();
        let run = first.ran().expect("due at 00:30");
        assert!(run.succeeded());
        assert_eq!(
            run.output(step1::landed).unwrap().objects,
            ["s3://etl-landing/step1/part-0001.parquet"]
        );
        assert!(matches!(ticker.tick().decision, Decision::Wait { .. }));

        // 03:01: the run fails on every attempt, until 03:41.
        ticker.advance(Duration::from_secs(140 * 60));
        let second = ticker.tick();
        assert_eq!(
            second.ran().unwrap().attempts(step1::output),
            4,
            "one attempt and three retries"
        );
        assert!(!second.ran().unwrap().succeeded());
        assert_eq!(ticker.now(), at("2026-11-21T03:41:00Z"));
        // The next tick re-runs it at once, without waiting for the next fire time (05:30).
        let third = ticker.tick();
        match &third.decision {
            Decision::Resume { run, reason } => {
                assert_eq!(*run, second.ran().unwrap().run());
                assert_eq!(
                    reason,
                    "run 2 failed; re-running it at once (automatic re-run 1 of 3)"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(third.ran().unwrap().succeeded());
        assert!(matches!(ticker.tick().decision, Decision::Wait { .. }));
        // 05:31: the schedule goes on.
        ticker.advance(Duration::from_secs(100 * 60));
        match &ticker.tick().decision {
            Decision::Start { cause, .. } => {
                assert_eq!(cause.reason, "scheduled for 2026-11-21T05:30:00+00:00")
            }
            other => panic!("{other:?}"),
        }
    }

    /// A run that fails while a fire time has passed: the due run comes first (it does the
    /// same work), and the failed run, superseded by its success, is not re-run after it.
    #[test]
    fn a_due_fire_time_comes_before_a_re_run() {
        use std::time::Duration;
        use workflow_core::runner::tick::Decision;
        use workflow_core::testing::TestRun;

        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc)
        };
        let mut ticker = TestRun::<step1>::new()
            .at(at("2026-11-21T03:01:00Z"))
            .stub(step1::output.with(|_script, prefix| Command::new("echo").arg(prefix)))
            .takes(step1::output, Duration::from_secs(3600))
            .fail(step1::output, 1)
            .fail(step1::output, 2)
            .fail(step1::output, 3)
            .fail(step1::output, 4)
            .ticker();
        assert!(!ticker.tick().ran().unwrap().succeeded());
        assert_eq!(ticker.now(), at("2026-11-21T07:01:00Z"));
        let next = ticker.tick();
        match &next.decision {
            Decision::Start { cause, .. } => {
                assert_eq!(cause.reason, "scheduled for 2026-11-21T05:30:00+00:00")
            }
            other => panic!("{other:?}"),
        }
        assert!(next.ran().unwrap().succeeded());
        // 08:01: the 08:00 fire time runs; then nothing, though run 1 never succeeded.
        let later = ticker.tick();
        assert!(matches!(later.decision, Decision::Start { .. }));
        assert!(later.ran().unwrap().succeeded());
        match &ticker.tick().decision {
            Decision::Wait { reason } => assert_eq!(
                reason,
                "not due: the next fire time is 2026-11-21T10:30:00+00:00"
            ),
            other => panic!("the failed run was done by its successors: {other:?}"),
        }
    }

    #[test]
    fn a_failing_script_fails_the_task() {
        let node = step1::spec()
            .nodes
            .into_iter()
            .find(|node| node.name == "output")
            .unwrap();
        let error = (node.call)(vec![
            serde_json::json!("/bin/false"),
            serde_json::json!("s3://x"),
        ])
        .unwrap_err();
        assert_eq!(error.to_string(), "`/bin/false` exited with status 1");
    }
}
