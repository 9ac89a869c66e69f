//! Seed 002: a single-server scheduler's pipeline of chained jobs.
//!
//! A file lands in an inbox; the first job picks it up, each following job starts when the
//! previous one succeeded, and the last archives the file. In the scheduler of the seed every
//! job marks its own status and triggers the next one; here the chain is the graph, and a job
//! that fails stops what depends on it.

use std::path::PathBuf;

use workflow_core::prelude::*;

/// A file taken from the inbox into the work area.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagedFile {
    /// Where it now is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Records read from a staged file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Records {
    /// The file they came from.
    pub source: PathBuf,
    /// One entry per line, split on commas.
    pub rows: Vec<Vec<String>>,
}

/// What was written to the database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Loaded {
    /// The file loaded.
    pub source: PathBuf,
    /// Rows written.
    pub rows: usize,
}

/// Move the newest file matching `pattern` from the inbox into the work area.
#[task(timeout = "10m")]
pub fn stage_file(
    inbox: PathBuf,
    pattern: String,
    work_dir: PathBuf,
) -> Result<StagedFile, std::io::Error> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(&inbox)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name().is_some_and(|name| {
                name.to_string_lossy()
                    .ends_with(pattern.trim_start_matches('*'))
            })
        })
        .collect();
    candidates.sort();
    let Some(source) = candidates.pop() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no file matching {pattern} in {}", inbox.display()),
        ));
    };
    let target = work_dir.join(source.file_name().unwrap_or_default());
    std::fs::rename(&source, &target)?;
    let bytes = std::fs::metadata(&target)?.len();
    Ok(StagedFile {
        path: target,
        bytes,
    })
}

/// Read and validate the staged file: every row must have `columns` fields.
#[task]
pub fn validate_records(file: StagedFile, columns: u32) -> Result<Records, TaskError> {
    let text = std::fs::read_to_string(&file.path)?;
    let mut rows = Vec::new();
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
    {
        let fields: Vec<String> = line
            .split(',')
            .map(|field| field.trim().to_owned())
            .collect();
        if fields.len() != columns as usize {
            return Err(TaskError::new(format!(
                "line {}: expected {columns} fields, found {}",
                number + 1,
                fields.len()
            )));
        }
        rows.push(fields);
    }
    Ok(Records {
        source: file.path,
        rows,
    })
}

/// Write the records to the application's schema, as the application's database user.
#[task(retries = 2, retry_delay = "5m", timeout = "1h")]
pub fn load_records(
    records: Records,
    database: String,
    password: Secret,
) -> Result<Loaded, TaskError> {
    // The password is read when the task runs, from the file only the scheduler's user reads.
    let password = password.reveal()?;
    if password.is_empty() {
        return Err(TaskError::new(format!(
            "empty password for database {database}"
        )));
    }
    Ok(Loaded {
        source: records.source,
        rows: records.rows.len(),
    })
}

/// Move the loaded file to the archive.
#[task]
pub fn archive_file(loaded: Loaded, archive_dir: PathBuf) -> Result<PathBuf, std::io::Error> {
    let target = archive_dir.join(loaded.source.file_name().unwrap_or_default());
    std::fs::rename(&loaded.source, &target)?;
    Ok(target)
}

workflow! {
    /// Chained jobs: stage a landed file, validate it, load it, archive it.
    ///
    /// Starts when a CSV file lands in the inbox; one chain at a time; a failed job stops
    /// the chain.
    #[trigger(file = "/data/inbox/*.csv")]
    #[concurrency(overlap = "forbid")]
    #[on_failure(stop, notify = "scheduler-team@example.com")]
    #[secret(db_password, file = "/etc/scheduler/db_password")]
    pub chained_jobs(
        inbox: PathBuf = PathBuf::from("/data/inbox"),
        pattern: String = String::from("*.csv"),
        work_dir: PathBuf = PathBuf::from("/data/work"),
        archive_dir: PathBuf = PathBuf::from("/data/archive"),
        database: String = String::from("scheduler_app"),
    ) {
        staged = stage_file(inbox, pattern, work_dir);
        records = validate_records(staged, 5);
        loaded = load_records(records, database, db_password);
        archived = archive_file(loaded, archive_dir);
    }
}
