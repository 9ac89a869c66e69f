//! Durable run state in SQLite: runs, each node's status and output, every attempt, paused
//! workflows and which process runs what. Every change is committed as it happens, so a run
//! killed at any moment resumes from what it had finished.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

/// Marks a SQLite file as ours (`PRAGMA application_id`): "WFST".
const APPLICATION_ID: i64 = 0x5746_5354;
/// The layout of the tables (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 2;

/// A node's status, as the seed 002 scheduler names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for upstream nodes.
    Scheduled,
    /// Upstream done; waiting for a slot, or for a retry's delay.
    Ready,
    /// An attempt is running.
    Running,
    /// Done, output recorded.
    Succeeded,
    /// Failed after its last attempt.
    Failed,
    /// Its last attempt ran past its timeout.
    TimedOut,
    /// Not run: its branch arm was not taken, or something it needs failed.
    Skipped,
    /// Not run because the workflow was paused by a failure.
    Paused,
}

impl Status {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Ready => "ready",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::TimedOut => "timed_out",
            Status::Skipped => "skipped",
            Status::Paused => "paused",
        }
    }

    fn parse(text: &str) -> Option<Status> {
        [
            Status::Scheduled,
            Status::Ready,
            Status::Running,
            Status::Succeeded,
            Status::Failed,
            Status::TimedOut,
            Status::Skipped,
            Status::Paused,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }

    /// Whether the node will not change any more in this run.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Succeeded
                | Status::Failed
                | Status::TimedOut
                | Status::Skipped
                | Status::Paused
        )
    }
}

/// Why the state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Not a SQLite file, damaged, or another program's database.
    #[error("`{path}` is not a workflow state file: {reason}")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Written by a newer version of this program.
    #[error(
        "`{path}` was written by a newer version (state layout {found}, this program reads {SCHEMA_VERSION})"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its layout version.
        found: i64,
    },
    /// A run that does not exist.
    #[error("no run {0} in the state file")]
    UnknownRun(i64),
    /// Any other database error.
    #[error("state file: {0}")]
    Database(#[from] rusqlite::Error),
}

/// Why a run was started by `tick`, recorded with it so that the same fire time, upstream
/// run or file does not start another.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cause {
    /// In words, for `history` and the log.
    pub reason: String,
    /// The schedule's fire time it runs for.
    pub fire: Option<DateTime<Utc>>,
    /// The trigger: `after:<workflow>` or `file:<pattern>`.
    pub trigger: Option<String>,
    /// The upstream run whose success started it.
    pub upstream_run: Option<i64>,
    /// The newest modification time among the files that started it.
    pub files_until: Option<DateTime<Utc>>,
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// One run as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The run's id.
    pub id: i64,
    /// The workflow.
    pub workflow: String,
    /// The plan it executes (JSON).
    pub plan: String,
    /// `running`, `succeeded`, `failed` or `paused`.
    pub status: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended.
    pub ended_at: Option<String>,
    /// The process running it, while it runs.
    pub pid: Option<u32>,
}

/// One node of a run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRecord {
    /// The node.
    pub node: String,
    /// Its status.
    pub status: Status,
    /// Attempts started.
    pub attempts: u32,
    /// Its output, once succeeded.
    pub output: Option<Value>,
    /// Why it failed or was skipped.
    pub message: Option<String>,
    /// When its first attempt started.
    pub started_at: Option<String>,
    /// When it reached its final status.
    pub ended_at: Option<String>,
}

/// The state file.
pub struct Store {
    connection: Connection,
    path: PathBuf,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    /// Opens the state file, creating it if it does not exist. A file that is not ours is an
    /// error, and is left untouched.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let foreign = |reason: String| StoreError::Foreign {
            path: path.to_owned(),
            reason,
        };
        let existed = path.exists();
        let connection = Connection::open(path).map_err(|error| foreign(error.to_string()))?;
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|error| foreign(error.to_string()))?;
        let application_id: i64 = connection
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .map_err(|error| foreign(error.to_string()))?;
        let version: i64 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|error| foreign(error.to_string()))?;
        let tables: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |row| row.get(0),
            )
            .map_err(|error| foreign(error.to_string()))?;
        if existed && tables > 0 && application_id != APPLICATION_ID {
            return Err(foreign(
                "it is another program's SQLite database".to_owned(),
            ));
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::Newer {
                path: path.to_owned(),
                found: version,
            });
        }
        let store = Store {
            connection,
            path: path.to_owned(),
        };
        if version < SCHEMA_VERSION {
            store.create()?;
        }
        Ok(store)
    }

    fn create(&self) -> Result<(), StoreError> {
        self.connection.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             BEGIN;
             CREATE TABLE IF NOT EXISTS runs (
                 id INTEGER PRIMARY KEY,
                 workflow TEXT NOT NULL,
                 plan TEXT NOT NULL,
                 status TEXT NOT NULL,
                 started_at TEXT NOT NULL,
                 ended_at TEXT,
                 pid INTEGER
             );
             CREATE TABLE IF NOT EXISTS nodes (
                 run_id INTEGER NOT NULL REFERENCES runs(id),
                 node TEXT NOT NULL,
                 status TEXT NOT NULL,
                 attempts INTEGER NOT NULL DEFAULT 0,
                 output TEXT,
                 message TEXT,
                 started_at TEXT,
                 ended_at TEXT,
                 PRIMARY KEY (run_id, node)
             );
             CREATE TABLE IF NOT EXISTS attempts (
                 run_id INTEGER NOT NULL,
                 node TEXT NOT NULL,
                 attempt INTEGER NOT NULL,
                 status TEXT NOT NULL,
                 started_at TEXT NOT NULL,
                 ended_at TEXT,
                 message TEXT,
                 PRIMARY KEY (run_id, node, attempt)
             );
             CREATE TABLE IF NOT EXISTS paused (
                 workflow TEXT PRIMARY KEY,
                 since TEXT NOT NULL,
                 reason TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS starts (
                 run_id INTEGER PRIMARY KEY REFERENCES runs(id),
                 workflow TEXT NOT NULL,
                 reason TEXT NOT NULL,
                 fire TEXT,
                 trigger TEXT,
                 upstream_run INTEGER,
                 files_until TEXT
             );
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {SCHEMA_VERSION};
             COMMIT;"
        ))?;
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts grouping writes; [`Store::commit`] makes them durable together.
    pub fn begin(&self) -> Result<(), StoreError> {
        self.connection.execute_batch("BEGIN")?;
        Ok(())
    }

    /// Commits the writes since [`Store::begin`].
    pub fn commit(&self) -> Result<(), StoreError> {
        self.connection.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Records a new run of `workflow` executing `plan` in this process, with every node
    /// scheduled, and returns its id.
    pub fn start_run(
        &mut self,
        workflow: &str,
        plan: &str,
        nodes: &[&str],
        cause: Option<&Cause>,
    ) -> Result<i64, StoreError> {
        let transaction = self.connection.transaction()?;
        transaction.execute(
            "INSERT INTO runs (workflow, plan, status, started_at, pid) VALUES (?1, ?2, 'running', ?3, ?4)",
            params![workflow, plan, now(), std::process::id()],
        )?;
        let id = transaction.last_insert_rowid();
        if let Some(cause) = cause {
            transaction.execute(
                "INSERT INTO starts (run_id, workflow, reason, fire, trigger, upstream_run, files_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    workflow,
                    cause.reason,
                    cause.fire.map(|fire| fire.to_rfc3339()),
                    cause.trigger,
                    cause.upstream_run,
                    cause.files_until.map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
                ],
            )?;
        }
        for node in nodes {
            transaction.execute(
                "INSERT INTO nodes (run_id, node, status) VALUES (?1, ?2, 'scheduled')",
                params![id, node],
            )?;
        }
        transaction.commit()?;
        Ok(id)
    }

    /// Takes over an existing run in this process (to resume it).
    pub fn claim_run(&self, id: i64) -> Result<(), StoreError> {
        let changed = self.connection.execute(
            "UPDATE runs SET status = 'running', ended_at = NULL, pid = ?2 WHERE id = ?1",
            params![id, std::process::id()],
        )?;
        if changed == 0 {
            return Err(StoreError::UnknownRun(id));
        }
        Ok(())
    }

    /// Sets a run's final status.
    pub fn finish_run(&self, id: i64, status: &str) -> Result<(), StoreError> {
        self.connection.execute(
            "UPDATE runs SET status = ?2, ended_at = ?3, pid = NULL WHERE id = ?1",
            params![id, status, now()],
        )?;
        Ok(())
    }

    /// Records that attempt `attempt` of `node` started.
    pub fn start_attempt(&self, run: i64, node: &str, attempt: u32) -> Result<(), StoreError> {
        let time = now();
        self.connection.execute(
            "INSERT OR REPLACE INTO attempts (run_id, node, attempt, status, started_at) VALUES (?1, ?2, ?3, 'running', ?4)",
            params![run, node, attempt, time],
        )?;
        self.connection.execute(
            "UPDATE nodes SET status = 'running', attempts = ?3, started_at = COALESCE(started_at, ?4) WHERE run_id = ?1 AND node = ?2",
            params![run, node, attempt, time],
        )?;
        Ok(())
    }

    /// Records how attempt `attempt` of `node` ended.
    pub fn end_attempt(
        &self,
        run: i64,
        node: &str,
        attempt: u32,
        status: Status,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        self.connection.execute(
            "UPDATE attempts SET status = ?4, ended_at = ?5, message = ?6 WHERE run_id = ?1 AND node = ?2 AND attempt = ?3",
            params![run, node, attempt, status.as_str(), now(), message],
        )?;
        Ok(())
    }

    /// Sets a node's status (with its output when it succeeded, or a message).
    pub fn set_node(
        &self,
        run: i64,
        node: &str,
        status: Status,
        output: Option<&Value>,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        let output = output.map(Value::to_string);
        let ended = status.is_final().then(now);
        self.connection.execute(
            "UPDATE nodes SET status = ?3, output = COALESCE(?4, output), message = ?5, ended_at = ?6 WHERE run_id = ?1 AND node = ?2",
            params![run, node, status.as_str(), output, message, ended],
        )?;
        Ok(())
    }

    /// A run.
    pub fn run(&self, id: i64) -> Result<RunRecord, StoreError> {
        self.connection
            .query_row("SELECT id, workflow, plan, status, started_at, ended_at, pid FROM runs WHERE id = ?1", [id], run_record)
            .optional()?
            .ok_or(StoreError::UnknownRun(id))
    }

    /// The runs of `workflow` (all workflows when `None`), newest first.
    pub fn runs(&self, workflow: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT id, workflow, plan, status, started_at, ended_at, pid FROM runs WHERE ?1 IS NULL OR workflow = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = statement.query_map(params![workflow, limit as i64], run_record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The nodes of a run, in plan order.
    pub fn nodes(&self, run: i64) -> Result<Vec<NodeRecord>, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT node, status, attempts, output, message, started_at, ended_at FROM nodes WHERE run_id = ?1 ORDER BY rowid",
        )?;
        let rows = statement.query_map([run], |row| {
            let status: String = row.get(1)?;
            let output: Option<String> = row.get(3)?;
            Ok(NodeRecord {
                node: row.get(0)?,
                status: Status::parse(&status).unwrap_or(Status::Failed),
                attempts: row.get(2)?,
                output: output.and_then(|text| serde_json::from_str(&text).ok()),
                message: row.get(4)?,
                started_at: row.get(5)?,
                ended_at: row.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest run of `workflow` that succeeded.
    pub fn last_succeeded(&self, workflow: &str) -> Result<Option<RunRecord>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT id, workflow, plan, status, started_at, ended_at, pid FROM runs WHERE workflow = ?1 AND status = 'succeeded' ORDER BY id DESC LIMIT 1",
                [workflow],
                run_record,
            )
            .optional()?)
    }

    /// The latest fire time a run of `workflow` was started for.
    pub fn last_fire(&self, workflow: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let text: Option<String> = self.connection.query_row(
            "SELECT max(fire) FROM starts WHERE workflow = ?1",
            [workflow],
            |row| row.get(0),
        )?;
        Ok(text.as_deref().and_then(parse_time))
    }

    /// The latest upstream run that started a run of `workflow` through `trigger`.
    pub fn last_upstream_run(
        &self,
        workflow: &str,
        trigger: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self.connection.query_row(
            "SELECT max(upstream_run) FROM starts WHERE workflow = ?1 AND trigger = ?2",
            [workflow, trigger],
            |row| row.get(0),
        )?)
    }

    /// The newest file time already handled by a run of `workflow` started through `trigger`.
    pub fn last_files_until(
        &self,
        workflow: &str,
        trigger: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let text: Option<String> = self.connection.query_row(
            "SELECT max(files_until) FROM starts WHERE workflow = ?1 AND trigger = ?2",
            [workflow, trigger],
            |row| row.get(0),
        )?;
        Ok(text.as_deref().and_then(parse_time))
    }

    /// Why a run was started, if something started it by itself (`tick`).
    pub fn start_reason(&self, run: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT reason FROM starts WHERE run_id = ?1",
                [run],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Marks a live run as cancelled (its process was stopped): nodes that had not finished
    /// are skipped with `reason`.
    pub fn cancel_run(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        let transaction = self.connection.unchecked_transaction()?;
        transaction.execute(
            "UPDATE nodes SET status = 'skipped', message = ?2, ended_at = ?3 WHERE run_id = ?1 AND status NOT IN ('succeeded', 'failed', 'timed_out', 'skipped', 'paused')",
            params![id, reason, now()],
        )?;
        transaction.execute(
            "UPDATE attempts SET status = 'failed', message = ?2, ended_at = ?3 WHERE run_id = ?1 AND ended_at IS NULL",
            params![id, reason, now()],
        )?;
        transaction.execute(
            "UPDATE runs SET status = 'cancelled', ended_at = ?2, pid = NULL WHERE id = ?1",
            params![id, now()],
        )?;
        transaction.commit()?;
        Ok(())
    }

    /// Whether `workflow` is paused, and why.
    pub fn paused(&self, workflow: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT reason FROM paused WHERE workflow = ?1",
                [workflow],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Pauses `workflow`: no run starts until it is resumed.
    pub fn pause(&self, workflow: &str, reason: &str) -> Result<(), StoreError> {
        self.connection.execute(
            "INSERT OR REPLACE INTO paused (workflow, since, reason) VALUES (?1, ?2, ?3)",
            params![workflow, now(), reason],
        )?;
        Ok(())
    }

    /// Resumes a paused workflow; returns whether it was paused.
    pub fn unpause(&self, workflow: &str) -> Result<bool, StoreError> {
        Ok(self
            .connection
            .execute("DELETE FROM paused WHERE workflow = ?1", [workflow])?
            > 0)
    }

    /// The runs of `workflow` marked running whose process is still alive.
    pub fn active_runs(&self, workflow: &str) -> Result<Vec<RunRecord>, StoreError> {
        let mut statement = self.connection.prepare(
            "SELECT id, workflow, plan, status, started_at, ended_at, pid FROM runs WHERE workflow = ?1 AND status = 'running' ORDER BY id",
        )?;
        let runs = statement
            .query_map([workflow], run_record)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(runs
            .into_iter()
            .filter(|run| run.pid.is_some_and(process_alive))
            .collect())
    }
}

impl RunRecord {
    /// `interrupted` for a run marked running whose process is gone (killed, crashed): it can
    /// be continued with `run --resume`. Otherwise the stored status.
    pub fn effective_status(&self) -> &str {
        if self.status == "running" && !self.pid.is_some_and(process_alive) {
            "interrupted"
        } else {
            &self.status
        }
    }
}

fn run_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: row.get(0)?,
        workflow: row.get(1)?,
        plan: row.get(2)?,
        status: row.get(3)?,
        started_at: row.get(4)?,
        ended_at: row.get(5)?,
        pid: row.get(6)?,
    })
}

/// Whether a process with this id exists (a run whose process died holds no lock).
pub(crate) fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temporary(name: &str) -> PathBuf {
        let directory =
            std::env::temp_dir().join(format!("workflow-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        directory.join("state.sqlite")
    }

    #[test]
    fn runs_nodes_and_attempts_round_trip() {
        let path = temporary("round-trip");
        let mut store = Store::open(&path).unwrap();
        let run = store.start_run("w", "{}", &["a", "b"], None).unwrap();
        store.start_attempt(run, "a", 1).unwrap();
        store
            .end_attempt(run, "a", 1, Status::Succeeded, None)
            .unwrap();
        store
            .set_node(
                run,
                "a",
                Status::Succeeded,
                Some(&serde_json::json!({"rows": 3})),
                None,
            )
            .unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        let nodes = store.nodes(run).unwrap();
        assert_eq!(nodes[0].status, Status::Succeeded);
        assert_eq!(nodes[0].output, Some(serde_json::json!({"rows": 3})));
        assert_eq!(nodes[0].attempts, 1);
        assert_eq!(nodes[1].status, Status::Scheduled);
        assert_eq!(store.run(run).unwrap().status, "running");
        assert_eq!(store.active_runs("w").unwrap().len(), 1);
        store.finish_run(run, "succeeded").unwrap();
        assert!(store.active_runs("w").unwrap().is_empty());
        assert!(matches!(store.run(99), Err(StoreError::UnknownRun(99))));
    }

    #[test]
    fn foreign_and_corrupt_files_are_refused_untouched() {
        let path = temporary("foreign");
        std::fs::write(&path, "this is a CSV file, not a database\n1,2,3\n").unwrap();
        let error = Store::open(&path).err().unwrap().to_string();
        assert!(
            error.starts_with(&format!(
                "`{}` is not a workflow state file:",
                path.display()
            )),
            "{error}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "this is a CSV file, not a database\n1,2,3\n"
        );

        let other = temporary("other-db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE accounts (id INTEGER);")
            .unwrap();
        let error = Store::open(&other).err().unwrap().to_string();
        assert!(
            error.ends_with("it is another program's SQLite database"),
            "{error}"
        );
    }

    #[test]
    fn pausing() {
        let store = Store::open(&temporary("pause")).unwrap();
        assert_eq!(store.paused("w").unwrap(), None);
        store.pause("w", "node `b` failed").unwrap();
        assert_eq!(
            store.paused("w").unwrap().as_deref(),
            Some("node `b` failed")
        );
        assert!(store.unpause("w").unwrap());
        assert!(!store.unpause("w").unwrap());
    }
}
