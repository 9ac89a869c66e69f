//! Seed 000: two long steps on two servers.
//!
//! `step1.sh` on server A lands new data in object storage; `step2.py` on server B loads
//! whatever landed into the SQL database. Each step takes a whole server (a pool of its own),
//! step 1 is retried at once when it fails, and step 2 must be looked at by a person when it
//! fails, so it is never retried automatically.
//!
//! The scripts are external programs: the tasks run them with an argument vector, never
//! through a shell, and their exit status decides success.

use std::path::PathBuf;
use std::process::Command;

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

/// What one run of `step2.py` loaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    /// How many objects the script read.
    pub objects: usize,
    /// The script's own summary line.
    pub summary: String,
}

/// A script that exited with a failure status.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The program could not be started.
    #[error("cannot start `{program}`: {source}")]
    Start {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The program ran and failed.
    #[error("`{program}` exited with {status}: {stderr}")]
    Failed {
        /// The program.
        program: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The tail of its standard error.
        stderr: String,
    },
}

fn run_script(program: &str, arguments: &[&str]) -> Result<String, ScriptError> {
    let output = Command::new(program)
        .args(arguments)
        .output()
        .map_err(|source| ScriptError::Start {
            program: program.to_owned(),
            source,
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        return Err(ScriptError::Failed {
            program: program.to_owned(),
            status: output.status,
            stderr: tail,
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Run `step1.sh` on server A; it prints the keys of the objects it wrote.
#[task(
    pool = "server-a",
    retries = 3,
    timeout = "5h",
    cpu = 8,
    memory = "28GiB"
)]
pub fn run_step1(script: PathBuf, prefix: String) -> Result<LandedBatch, ScriptError> {
    let program = script.to_string_lossy().into_owned();
    let stdout = run_script(&program, &["--prefix", &prefix])?;
    Ok(LandedBatch {
        prefix,
        objects: stdout
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect(),
        finished_at: Utc::now(),
    })
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

/// Run `step2.py` on server B over the new objects; failures need a person, so no retries.
#[task(pool = "server-b", timeout = "12h", cpu = 8, memory = "28GiB")]
pub fn run_step2(
    script: PathBuf,
    objects: Vec<String>,
    database_url: String,
) -> Result<LoadReport, ScriptError> {
    let program = script.to_string_lossy().into_owned();
    let mut arguments = vec!["--database-url", database_url.as_str()];
    arguments.extend(objects.iter().map(String::as_str));
    let summary = run_script(&program, &arguments)?;
    Ok(LoadReport {
        objects: objects.len(),
        summary: summary.trim().to_owned(),
    })
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
        landed = run_step1(script, prefix);
    }
}

workflow! {
    /// Step 2 on server B: load what step 1 landed into the SQL database.
    ///
    /// Never overlapping itself; a failure pauses the workflow until an administrator
    /// resumes it, and e-mails them.
    #[concurrency(overlap = "forbid")]
    #[pool(name = "server-b", slots = 1)]
    #[on_failure(pause, notify = "etl-admin@example.com")]
    pub step2(
        script: PathBuf = PathBuf::from("/home/ubuntu/step2.py"),
        landing: PathBuf = PathBuf::from("/mnt/etl-landing/step1"),
        state_file: PathBuf = PathBuf::from("/var/lib/etl/step2.loaded"),
        database_url: String = String::from("postgres://etl@db/warehouse"),
    ) {
        new_objects = find_new_data(landing, state_file);
        loaded = run_step2(script, new_objects, database_url);
    }
}
