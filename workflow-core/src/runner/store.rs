//! Durable run state in SQLite: runs, each node's status and output, every attempt, paused
//! workflows, why each run started, and the notices still to deliver. Every change is committed
//! as it happens, so a run killed at any moment resumes from what it had finished.
//!
//! Another process holding the file (a backup, `sqlite3` left open in a transaction) is waited
//! out: every statement retries with backoff while the file is busy, and says so on standard
//! error after a few seconds; only a file that cannot be written at all is an error. Whether
//! a run is alive is decided by its lock ([`super::lock`]), never by a process id.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::lock::{Held, LockError, Locks};

/// Marks a SQLite file as ours (`PRAGMA application_id`): "WFST".
const APPLICATION_ID: i64 = 0x5746_5354;
/// The layout of the tables (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 3;

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
    /// A state file this program may not use as it is (not writable, or reachable by two
    /// names).
    #[error("cannot use the state file `{path}`: {reason}")]
    Unusable {
        /// The file.
        path: PathBuf,
        /// Why.
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
    /// A new run's lock file is held already: the locks directory belongs to another state
    /// file of the same name (restored from a backup while runs were alive).
    #[error(
        "the lock of new run {0} is held by another process; is the state file a restored copy?"
    )]
    LockTaken(i64),
    /// A lock next to the state file cannot be used.
    #[error(transparent)]
    Lock(#[from] LockError),
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
    /// `running`, `succeeded`, `failed`, `paused` or `cancelled` (see
    /// [`Store::effective_status`] for `interrupted`).
    pub status: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended.
    pub ended_at: Option<String>,
    /// The process running it, while it runs (shown, and signalled by a replacing run; never
    /// used to decide whether the run is alive).
    pub pid: Option<u32>,
    /// Its parameters' values as a JSON object (name to value), as the plan resolved them.
    pub params: Option<String>,
    /// Why it ended as it did, when the nodes do not say (a signal, a replacing run, a state
    /// file that could not be written).
    pub reason: Option<String>,
    /// How many times `tick` has re-run it automatically after a failure.
    pub reruns: u32,
    /// Whether `tick` has stopped re-running it (its re-runs are used up).
    pub gave_up: bool,
    /// The machine it ran on.
    pub host: Option<String>,
}

/// A notice waiting to be delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingNotice {
    /// Its id in the state file.
    pub id: i64,
    /// The run it tells about.
    pub run: i64,
    /// The workflow.
    pub workflow: String,
    /// `email` or `webhook`.
    pub channel: String,
    /// The address or URL.
    pub target: String,
    /// The notice, as JSON.
    pub payload: String,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it is tried next (RFC 3339).
    pub next_try: String,
}

/// One attempt of a node, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The node.
    pub node: String,
    /// Its number, from 1.
    pub attempt: u32,
    /// `running`, `succeeded`, `failed`, ...
    pub status: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended.
    pub ended_at: Option<String>,
    /// Why it failed.
    pub message: Option<String>,
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

/// One write of a run's step. The engine records each step's writes together
/// ([`RunStore::record`]): all of them or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Write<'a> {
    /// A node's status, with its output as JSON text when it succeeded, or a message.
    Node {
        /// The node.
        node: &'a str,
        /// Its new status.
        status: Status,
        /// Its output, when it succeeded.
        output: Option<&'a str>,
        /// Why it failed, was skipped or is retried.
        message: Option<&'a str>,
    },
    /// Attempt `attempt` of a node started: the node is running it.
    AttemptStarted {
        /// The node.
        node: &'a str,
        /// The attempt's number, from 1.
        attempt: u32,
    },
    /// Attempt `attempt` of a node ended.
    AttemptEnded {
        /// The node.
        node: &'a str,
        /// The attempt's number, from 1.
        attempt: u32,
        /// How it ended.
        status: Status,
        /// Why it failed.
        message: Option<&'a str>,
    },
}

/// What the engine ([`super::engine::execute`]) reads and writes of a run: the SQLite
/// [`Store`] for runs that must outlive their process, or a
/// [`MemoryStore`](super::memory::MemoryStore) for runs that need not (a sub-workflow, which
/// is one node of its caller's run; benchmarks).
pub trait RunStore {
    /// The workflow run `run` belongs to.
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownRun`] for a run not recorded; a database error.
    fn workflow_of(&self, run: i64) -> Result<String, StoreError>;

    /// Why run `run` is being stopped, when the one stopping it recorded a reason.
    ///
    /// # Errors
    ///
    /// As [`RunStore::workflow_of`].
    fn stop_reason(&self, run: i64) -> Result<Option<String>, StoreError>;

    /// The run's nodes, in the order they were recorded, without their outputs.
    ///
    /// # Errors
    ///
    /// A database error.
    fn nodes(&self, run: i64) -> Result<Vec<NodeRecord>, StoreError>;

    /// The outputs of the run's nodes that succeeded, by node.
    ///
    /// # Errors
    ///
    /// A database error.
    fn outputs(&self, run: i64) -> Result<Vec<(String, Value)>, StoreError>;

    /// Records one step's writes, in order, all of them or none: when this returns, they
    /// survive the process (the [`Store`]) or are kept (a [`MemoryStore`](super::memory::MemoryStore)).
    ///
    /// # Errors
    ///
    /// A database error; nothing of the step is recorded then.
    fn record(&mut self, run: i64, writes: &[Write<'_>]) -> Result<(), StoreError>;

    /// Pauses `workflow`: no run of it starts until it is resumed.
    ///
    /// # Errors
    ///
    /// A database error.
    fn pause(&mut self, workflow: &str, reason: &str) -> Result<(), StoreError>;

    /// Sets the run's final status (`succeeded`, `failed`, `paused`, `cancelled`), with why
    /// when its nodes do not say.
    ///
    /// # Errors
    ///
    /// A database error.
    fn finish_run(
        &mut self,
        run: i64,
        status: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError>;
}

/// The state file.
pub struct Store {
    connection: Connection,
    path: PathBuf,
    locks: Locks,
}

/// The columns of `runs`, in [`run_record`]'s order.
const RUN_COLUMNS: &str =
    "id, workflow, plan, status, started_at, ended_at, pid, params, reason, reruns, gave_up, host";

/// Waits out another process holding the state file: backs off from 5 ms to 500 ms between
/// tries, for as long as it takes, and says so on standard error after about 5 s and then
/// every minute or so. Readers never wait on a writer (the file is in WAL mode); writers
/// wait here instead of failing.
fn wait_while_busy(count: i32) -> bool {
    let pause = std::time::Duration::from_millis((5u64 << count.clamp(0, 7) as u32).min(500));
    // About 5 s of waiting is reached at try 17, and each 120 tries later is a minute.
    if count == 17 || (count > 17 && (count - 17) % 120 == 0) {
        say!(
            "warning: the state file is locked by another process; waiting for it ({}s so far)",
            5 + (count - 17) / 2
        );
    }
    std::thread::sleep(pause);
    true
}

/// Now, as the state file writes times (RFC 3339, milliseconds, UTC).
pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    /// Opens the state file, creating it if it does not exist. A file that is not ours is an
    /// error, and is left untouched.
    ///
    /// The file is known by its real path (symbolic links resolved, a relative path made
    /// absolute), so that every name of one file shares one set of locks. A file with more
    /// than one hard link is refused: SQLite keeps its journal next to the name it is opened
    /// by, so two names of one file would not see each other's writes.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let path = &real_path(path)?;
        let existed = path.exists();
        // Not a database, or a damaged one: another program's file, left untouched. Any
        // other failure (permissions, a read-only directory) is said as it is.
        let foreign = |error: rusqlite::Error| {
            let reason = error.to_string();
            match error.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
                    StoreError::Foreign {
                        path: path.to_owned(),
                        reason,
                    }
                }
                Some(
                    rusqlite::ErrorCode::ReadOnly
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::PermissionDenied,
                ) => StoreError::Unusable {
                    path: path.to_owned(),
                    reason: format!(
                        "{reason}; the file and its directory must be writable by this user (the directory holds its journal and locks)"
                    ),
                },
                _ => StoreError::Database(error),
            }
        };
        let connection = Connection::open(path).map_err(foreign)?;
        connection
            .busy_handler(Some(wait_while_busy))
            .map_err(foreign)?;
        connection.set_prepared_statement_cache_capacity(64);
        // Every commit synced to the disk, but a run's steps (see `RunStore::record`).
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(foreign)?;
        // The three are read in one transaction: a file another process is creating right
        // now is seen before or after, never half made.
        let identity = (|| -> rusqlite::Result<(i64, i64, i64)> {
            let transaction = connection.unchecked_transaction()?;
            let application_id =
                transaction.pragma_query_value(None, "application_id", |row| row.get(0))?;
            let version = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
            let tables = transaction.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |row| row.get(0),
            )?;
            transaction.commit()?;
            Ok((application_id, version, tables))
        })();
        let (application_id, version, tables) = identity.map_err(foreign)?;
        if existed && tables > 0 && application_id != APPLICATION_ID {
            return Err(StoreError::Foreign {
                path: path.to_owned(),
                reason: "it is another program's SQLite database".to_owned(),
            });
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
            locks: Locks::for_state(path),
        };
        if version < SCHEMA_VERSION {
            // Two processes opening a new file at once would both create it, and SQLite
            // refuses one of them (a lock upgrade it cannot wait for): create under a lock,
            // and look again once it is held.
            let _creating = store.locks.creation()?;
            let version: i64 =
                store
                    .connection
                    .pragma_query_value(None, "user_version", |row| row.get(0))?;
            if version < SCHEMA_VERSION {
                store.create(version)?;
            }
        }
        Ok(store)
    }

    /// The locks next to this state file.
    pub fn locks(&self) -> &Locks {
        &self.locks
    }

    fn create(&self, version: i64) -> Result<(), StoreError> {
        // Layouts 1 and 2 lack the columns that came later; `ADD COLUMN` keeps their runs.
        let added = if (1..3).contains(&version) {
            "ALTER TABLE runs ADD COLUMN params TEXT;
             ALTER TABLE runs ADD COLUMN reason TEXT;
             ALTER TABLE runs ADD COLUMN reruns INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE runs ADD COLUMN gave_up INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE runs ADD COLUMN host TEXT;"
        } else {
            ""
        };
        self.connection.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             BEGIN IMMEDIATE;
             CREATE TABLE IF NOT EXISTS runs (
                 id INTEGER PRIMARY KEY,
                 workflow TEXT NOT NULL,
                 plan TEXT NOT NULL,
                 status TEXT NOT NULL,
                 started_at TEXT NOT NULL,
                 ended_at TEXT,
                 pid INTEGER,
                 params TEXT,
                 reason TEXT,
                 reruns INTEGER NOT NULL DEFAULT 0,
                 gave_up INTEGER NOT NULL DEFAULT 0,
                 host TEXT
             );
             {added}
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
             CREATE TABLE IF NOT EXISTS notices (
                 id INTEGER PRIMARY KEY,
                 run_id INTEGER NOT NULL,
                 workflow TEXT NOT NULL,
                 channel TEXT NOT NULL,
                 target TEXT NOT NULL,
                 payload TEXT NOT NULL,
                 attempts INTEGER NOT NULL DEFAULT 0,
                 last_error TEXT,
                 next_try TEXT NOT NULL,
                 created_at TEXT NOT NULL,
                 delivered_at TEXT
             );
             CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (workflow, status);
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

    /// Starts grouping writes; [`Store::commit`] makes them durable together. The write lock
    /// is taken at once (`BEGIN IMMEDIATE`), so a busy file is waited out here rather than
    /// failing halfway.
    pub fn begin(&self) -> Result<(), StoreError> {
        self.connection.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    /// Commits the writes since [`Store::begin`].
    pub fn commit(&self) -> Result<(), StoreError> {
        self.connection.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Records a new run of `workflow` executing `plan` in this process, with every node
    /// scheduled, and returns its id and its lock: the lock is taken before the run is
    /// committed, so no other process ever sees the run recorded and not alive.
    pub fn start_run(
        &mut self,
        workflow: &str,
        plan: &str,
        params: &str,
        nodes: &[&str],
        cause: Option<&Cause>,
    ) -> Result<(i64, Held), StoreError> {
        // Inside the caller's transaction when there is one (admission), else in its own.
        let own = self.connection.is_autocommit();
        if own {
            self.connection.execute_batch("BEGIN IMMEDIATE")?;
        }
        let result = self.insert_run(workflow, plan, params, nodes, cause);
        match (&result, own) {
            (Ok(_), true) => self.connection.execute_batch("COMMIT")?,
            (Err(_), true) => {
                let _ = self.connection.execute_batch("ROLLBACK");
            }
            _ => {}
        }
        result
    }

    fn insert_run(
        &self,
        workflow: &str,
        plan: &str,
        params: &str,
        nodes: &[&str],
        cause: Option<&Cause>,
    ) -> Result<(i64, Held), StoreError> {
        let transaction = &self.connection;
        transaction.execute(
            "INSERT INTO runs (workflow, plan, status, started_at, pid, params, host) VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6)",
            params![workflow, plan, now(), std::process::id(), params, host()],
        )?;
        let id = transaction.last_insert_rowid();
        let Some(lock) = self.locks.try_run(id)? else {
            return Err(StoreError::LockTaken(id));
        };
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
        {
            let mut insert = transaction.prepare_cached(
                "INSERT INTO nodes (run_id, node, status) VALUES (?1, ?2, 'scheduled')",
            )?;
            for node in nodes {
                insert.execute(params![id, node])?;
            }
        }
        Ok((id, lock))
    }

    /// Abandons the writes since [`Store::begin`].
    pub fn rollback(&self) -> Result<(), StoreError> {
        self.connection.execute_batch("ROLLBACK")?;
        Ok(())
    }

    /// Takes over an existing run in this process (to resume it); the caller holds its lock.
    pub fn claim_run(&self, id: i64) -> Result<(), StoreError> {
        let changed = self.connection.execute(
            "UPDATE runs SET status = 'running', ended_at = NULL, reason = NULL, pid = ?2, host = ?3 WHERE id = ?1",
            params![id, std::process::id(), host()],
        )?;
        if changed == 0 {
            return Err(StoreError::UnknownRun(id));
        }
        // Attempts its last runner left running (killed, crashed) never ended.
        self.connection.execute(
            "UPDATE attempts SET status = 'interrupted', ended_at = ?2,
                 message = COALESCE(message, 'its runner stopped before it ended (killed or crashed)')
             WHERE run_id = ?1 AND status = 'running'",
            params![id, now()],
        )?;
        Ok(())
    }

    /// Sets a run's final status, with why when the nodes do not say.
    pub fn finish_run(
        &self,
        id: i64,
        status: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.connection.execute(
            "UPDATE runs SET status = ?2, ended_at = ?3, pid = NULL,
                 reason = CASE WHEN ?2 = 'cancelled' THEN COALESCE(reason, ?4) ELSE ?4 END WHERE id = ?1",
            params![id, status, now(), reason],
        )?;
        Ok(())
    }

    /// Records why live run `id` is being stopped (before it is signalled), so that the run
    /// records that reason rather than the bare signal.
    pub fn request_stop(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        self.connection.execute(
            "UPDATE runs SET reason = ?2 WHERE id = ?1 AND status = 'running'",
            params![id, reason],
        )?;
        Ok(())
    }

    /// Counts one automatic re-run of run `id` by `tick`.
    pub fn count_rerun(&self, id: i64) -> Result<(), StoreError> {
        self.connection
            .execute("UPDATE runs SET reruns = reruns + 1 WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Stops `tick` from re-running run `id` again.
    pub fn give_up(&self, id: i64) -> Result<(), StoreError> {
        self.connection
            .execute("UPDATE runs SET gave_up = 1 WHERE id = ?1", [id])?;
        Ok(())
    }

    /// The failed or interrupted runs of `workflow` that `tick` may still re-run, newest
    /// first: fewer than `limit` re-runs so far, not given up, not paused, and no later run
    /// with the same parameters has succeeded (that run did the work). Live runs are left out.
    pub fn rerun_candidates(
        &self,
        workflow: &str,
        limit: u32,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let mut statement = self.connection.prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM runs r WHERE workflow = ?1 AND status IN ('failed', 'running')
               AND gave_up = 0 AND reruns < ?2
               AND NOT EXISTS (SELECT 1 FROM runs s WHERE s.workflow = r.workflow AND s.id > r.id
                               AND s.status = 'succeeded' AND s.params IS r.params)
             ORDER BY id DESC LIMIT 50"
        ))?;
        let runs = statement
            .query_map(params![workflow, limit], run_record)?
            .collect::<Result<Vec<_>, _>>()?;
        let mut candidates = Vec::new();
        for run in runs {
            if run.status == "failed" || !self.is_live(&run)? {
                candidates.push(run);
            }
        }
        Ok(candidates)
    }

    /// A run.
    pub fn run(&self, id: i64) -> Result<RunRecord, StoreError> {
        self.connection
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
                [id],
                run_record,
            )
            .optional()?
            .ok_or(StoreError::UnknownRun(id))
    }

    /// The runs of `workflow` (all workflows when `None`), newest first.
    pub fn runs(&self, workflow: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let mut statement = self.connection.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE ?1 IS NULL OR workflow = ?1 ORDER BY id DESC LIMIT ?2",
        ))?;
        let rows = statement.query_map(params![workflow, limit as i64], run_record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The nodes of a run, in plan order, without their outputs (`output` is `None`; see
    /// [`Store::outputs`]), so that looking at a run never loads what its tasks produced.
    pub fn nodes(&self, run: i64) -> Result<Vec<NodeRecord>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT node, status, attempts, message, started_at, ended_at FROM nodes WHERE run_id = ?1 ORDER BY rowid",
        )?;
        let rows = statement.query_map([run], |row| {
            let status: String = row.get(1)?;
            Ok(NodeRecord {
                node: row.get(0)?,
                status: Status::parse(&status).unwrap_or(Status::Failed),
                attempts: row.get(2)?,
                output: None,
                message: row.get(3)?,
                started_at: row.get(4)?,
                ended_at: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The attempts of a run, in the order they started.
    pub fn attempts(&self, run: i64) -> Result<Vec<AttemptRecord>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT node, attempt, status, started_at, ended_at, message FROM attempts WHERE run_id = ?1 ORDER BY started_at, rowid",
        )?;
        let rows = statement.query_map([run], |row| {
            Ok(AttemptRecord {
                node: row.get(0)?,
                attempt: row.get(1)?,
                status: row.get(2)?,
                started_at: row.get(3)?,
                ended_at: row.get(4)?,
                message: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The runs [`Store::prune`] would delete.
    pub fn prunable(&self, before: &str) -> Result<Vec<i64>, StoreError> {
        // Kept: what `tick` reads to decide (the latest fire time handled, the upstream run
        // and files a trigger last started for, a workflow's latest success that triggers
        // others), whatever its age.
        let mut statement = self.connection.prepare(
            "SELECT id FROM runs r
             WHERE ended_at IS NOT NULL AND ended_at < ?1
               AND id < (SELECT MAX(id) FROM runs WHERE workflow = r.workflow)
               AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.run_id = r.id AND n.delivered_at IS NULL)
               AND id NOT IN (SELECT MAX(id) FROM runs WHERE status = 'succeeded' GROUP BY workflow)
               AND id NOT IN (SELECT s.run_id FROM starts s WHERE s.fire IS NOT NULL
                              AND s.fire = (SELECT MAX(fire) FROM starts WHERE workflow = s.workflow))
               AND id NOT IN (SELECT MAX(run_id) FROM starts WHERE trigger IS NOT NULL GROUP BY workflow, trigger)
               AND id NOT IN (SELECT s.run_id FROM starts s WHERE s.files_until IS NOT NULL
                              AND s.files_until = (SELECT MAX(files_until) FROM starts
                                                   WHERE workflow = s.workflow AND trigger = s.trigger))
             ORDER BY id",
        )?;
        let rows = statement.query_map([before], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The ids of every run in the file.
    pub fn run_ids(&self) -> Result<Vec<i64>, StoreError> {
        let mut statement = self.connection.prepare("SELECT id FROM runs ORDER BY id")?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes the runs that ended before `before` (RFC 3339, as the state file writes times)
    /// with their nodes, attempts, start reasons and delivered notices, in one transaction, and
    /// returns their ids. Kept whatever their age: a workflow's latest run and latest success,
    /// the runs `tick` decides by (the latest fire time started, the last upstream run and
    /// files each trigger started for), a run that has not ended, and one with a notice still
    /// to deliver.
    pub fn prune(&self, before: &str) -> Result<Vec<i64>, StoreError> {
        self.begin()?;
        let result = (|| {
            let ids = self.prunable(before)?;
            for id in &ids {
                for table in ["attempts", "nodes", "starts", "notices"] {
                    self.connection
                        .execute(&format!("DELETE FROM {table} WHERE run_id = ?1"), [id])?;
                }
                self.connection
                    .execute("DELETE FROM runs WHERE id = ?1", [id])?;
            }
            Ok::<_, StoreError>(ids)
        })();
        match result {
            Ok(ids) => {
                self.commit()?;
                Ok(ids)
            }
            Err(error) => {
                let _ = self.rollback();
                Err(error)
            }
        }
    }

    /// The outputs of a run's nodes that succeeded, by node.
    pub fn outputs(&self, run: i64) -> Result<Vec<(String, Value)>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT node, output FROM nodes WHERE run_id = ?1 AND status = 'succeeded' AND output IS NOT NULL ORDER BY rowid",
        )?;
        let rows = statement.query_map([run], |row| {
            let node: String = row.get(0)?;
            let text: String = row.get(1)?;
            Ok((node, text))
        })?;
        let mut outputs = Vec::new();
        for row in rows {
            let (node, text) = row?;
            if let Ok(value) = serde_json::from_str(&text) {
                outputs.push((node, value));
            }
        }
        Ok(outputs)
    }

    /// The latest run of `workflow` that succeeded.
    pub fn last_succeeded(&self, workflow: &str) -> Result<Option<RunRecord>, StoreError> {
        Ok(self
            .connection
            .query_row(
                // The latest to end: a resumed older run that succeeded last is the latest
                // success, whatever its id.
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE workflow = ?1 AND status = 'succeeded' ORDER BY ended_at DESC, id DESC LIMIT 1"),
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

    /// The upstream run whose success started the latest run of `workflow` through `trigger`.
    pub fn last_upstream_run(
        &self,
        workflow: &str,
        trigger: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self
            .connection
            .query_row(
                "SELECT upstream_run FROM starts WHERE workflow = ?1 AND trigger = ?2 ORDER BY run_id DESC LIMIT 1",
                [workflow, trigger],
                |row| row.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten())
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

    /// Marks a run as cancelled (its process was stopped): nodes that had not finished are
    /// skipped with `reason`.
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
            "UPDATE runs SET status = 'cancelled', ended_at = ?2, pid = NULL, reason = ?3 WHERE id = ?1",
            params![id, now(), reason],
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

    /// The runs of `workflow` that are alive: recorded as running and holding their lock.
    pub fn active_runs(&self, workflow: &str) -> Result<Vec<RunRecord>, StoreError> {
        let mut statement = self.connection.prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE workflow = ?1 AND status = 'running' ORDER BY id",
        ))?;
        let runs = statement
            .query_map([workflow], run_record)?
            .collect::<Result<Vec<_>, _>>()?;
        let mut alive = Vec::new();
        for run in runs {
            if self.is_live(&run)? {
                alive.push(run);
            }
        }
        // A run recorded as ended whose lock is still held: its process is still ending, with
        // attempts on threads that could not be stopped (see `Held::keep_until_exit`).
        for id in self.locks.held_runs()? {
            if alive.iter().any(|run| run.id == id) {
                continue;
            }
            if let Ok(run) = self.run(id)
                && run.workflow == workflow
            {
                alive.push(run);
            }
        }
        alive.sort_by_key(|run| run.id);
        Ok(alive)
    }

    /// Whether run `run`, recorded as running, is alive: its lock is held. When its lock
    /// file is missing although the run is recorded as running (someone removed the locks
    /// directory), whether its recorded process still exists on this machine decides, and
    /// a run recorded on another machine counts as alive: when in doubt, nothing overlaps.
    pub fn is_live(&self, run: &RunRecord) -> Result<bool, StoreError> {
        Ok(match self.locks.probe(run.id)? {
            super::lock::Probe::Held => true,
            super::lock::Probe::Free => false,
            super::lock::Probe::Missing => {
                // The record may be older than the removal of its lock file: look again.
                let run = self.run(run.id)?;
                // A run recorded by an older version (no host, no lock file) is judged not
                // alive, as a pid cannot be trusted.
                run.status == "running"
                    && match run.host.as_deref() {
                        None => false,
                        Some(other) if other != host() => true,
                        Some(_) => run.pid.is_some_and(super::lock::process_exists),
                    }
            }
        })
    }

    /// A run's status as it is: `interrupted` for a run recorded as running whose lock nobody
    /// holds (killed, crashed, the machine restarted): `run --resume` continues it. Otherwise
    /// the stored status.
    pub fn effective_status<'a>(&self, run: &'a RunRecord) -> Result<&'a str, StoreError> {
        if run.status == "running" && !self.is_live(run)? {
            Ok("interrupted")
        } else {
            Ok(&run.status)
        }
    }

    /// Queues a notice for delivery, to be tried at once.
    pub fn queue_notice(
        &self,
        run: i64,
        workflow: &str,
        channel: &str,
        target: &str,
        payload: &str,
    ) -> Result<i64, StoreError> {
        let time = now();
        self.connection.execute(
            "INSERT INTO notices (run_id, workflow, channel, target, payload, next_try, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![run, workflow, channel, target, payload, time],
        )?;
        Ok(self.connection.last_insert_rowid())
    }

    /// The notices not delivered yet (of `workflow`, or all), oldest first; with `due`, only
    /// those whose next try has come.
    pub fn pending_notices(
        &self,
        workflow: Option<&str>,
        due: Option<DateTime<Utc>>,
    ) -> Result<Vec<PendingNotice>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT id, run_id, workflow, channel, target, payload, attempts, last_error, next_try FROM notices
             WHERE delivered_at IS NULL AND (?1 IS NULL OR workflow = ?1) AND (?2 IS NULL OR next_try <= ?2) ORDER BY id",
        )?;
        let due = due.map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        let rows = statement.query_map(params![workflow, due], |row| {
            Ok(PendingNotice {
                id: row.get(0)?,
                run: row.get(1)?,
                workflow: row.get(2)?,
                channel: row.get(3)?,
                target: row.get(4)?,
                payload: row.get(5)?,
                attempts: row.get(6)?,
                last_error: row.get(7)?,
                next_try: row.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Claims notice `id` for delivery by this process until `until`, if nobody else did
    /// since it was read (its next try is still `seen`): two processes never send one
    /// notice at once.
    pub fn claim_notice(
        &self,
        id: i64,
        seen: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let changed = self.connection.execute(
            "UPDATE notices SET next_try = ?3 WHERE id = ?1 AND next_try = ?2 AND delivered_at IS NULL",
            params![
                id,
                seen,
                until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ],
        )?;
        Ok(changed == 1)
    }

    /// Records a delivery attempt of notice `id`: delivered, or failed with `error` and to be
    /// tried again at `next_try`.
    pub fn notice_tried(
        &self,
        id: i64,
        outcome: Result<(), (&str, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        match outcome {
            Ok(()) => self.connection.execute(
                "UPDATE notices SET attempts = attempts + 1, delivered_at = ?2, last_error = NULL WHERE id = ?1",
                params![id, now()],
            )?,
            Err((error, next_try)) => self.connection.execute(
                "UPDATE notices SET attempts = attempts + 1, last_error = ?2, next_try = ?3 WHERE id = ?1",
                params![
                    id,
                    error,
                    next_try.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                ],
            )?,
        };
        Ok(())
    }
}

impl RunStore for Store {
    fn workflow_of(&self, run: i64) -> Result<String, StoreError> {
        Ok(self.run(run)?.workflow)
    }

    fn stop_reason(&self, run: i64) -> Result<Option<String>, StoreError> {
        Ok(self.run(run)?.reason)
    }

    fn nodes(&self, run: i64) -> Result<Vec<NodeRecord>, StoreError> {
        Store::nodes(self, run)
    }

    fn outputs(&self, run: i64) -> Result<Vec<(String, Value)>, StoreError> {
        Store::outputs(self, run)
    }

    /// One transaction (`BEGIN IMMEDIATE` ... `COMMIT`), rolled back on an error. All the
    /// step's writes carry one time.
    ///
    /// A step's commit is durable when the process is killed (it is in the write-ahead log,
    /// which the operating system keeps), and is synced to the disk with the next commit of a
    /// run's start, end, pause or notices — so a power loss or an operating system crash can
    /// take back only the last steps of a run that was going on (SQLite's `synchronous =
    /// NORMAL` in WAL mode, <https://sqlite.org/pragma.html#pragma_synchronous>); those nodes
    /// run again when it is resumed.
    fn record(&mut self, run: i64, writes: &[Write<'_>]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.connection
            .execute_batch("PRAGMA synchronous = NORMAL")?;
        let recorded = self.record_step(run, writes);
        self.connection.execute_batch("PRAGMA synchronous = FULL")?;
        recorded
    }

    fn pause(&mut self, workflow: &str, reason: &str) -> Result<(), StoreError> {
        Store::pause(self, workflow, reason)
    }

    fn finish_run(
        &mut self,
        run: i64,
        status: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        Store::finish_run(self, run, status, reason)
    }
}

impl Store {
    /// [`RunStore::record`]'s transaction.
    fn record_step(&mut self, run: i64, writes: &[Write<'_>]) -> Result<(), StoreError> {
        self.begin()?;
        let written = (|| -> Result<(), StoreError> {
            let time = now();
            for write in writes {
                match *write {
                    Write::Node {
                        node,
                        status,
                        output,
                        message,
                    } => {
                        let ended = status.is_final().then_some(time.as_str());
                        self.connection
                            .prepare_cached(
                                "UPDATE nodes SET status = ?3, output = COALESCE(?4, output), message = ?5, ended_at = ?6 WHERE run_id = ?1 AND node = ?2",
                            )?
                            .execute(params![run, node, status.as_str(), output, message, ended])?;
                    }
                    Write::AttemptStarted { node, attempt } => {
                        self.connection
                            .prepare_cached("INSERT OR REPLACE INTO attempts (run_id, node, attempt, status, started_at) VALUES (?1, ?2, ?3, 'running', ?4)")?
                            .execute(params![run, node, attempt, time])?;
                        self.connection
                            .prepare_cached("UPDATE nodes SET status = 'running', attempts = ?3, started_at = COALESCE(started_at, ?4) WHERE run_id = ?1 AND node = ?2")?
                            .execute(params![run, node, attempt, time])?;
                    }
                    Write::AttemptEnded {
                        node,
                        attempt,
                        status,
                        message,
                    } => {
                        self.connection
                            .prepare_cached("UPDATE attempts SET status = ?4, ended_at = ?5, message = ?6 WHERE run_id = ?1 AND node = ?2 AND attempt = ?3")?
                            .execute(params![run, node, attempt, status.as_str(), time, message])?;
                    }
                }
            }
            Ok(())
        })();
        match written {
            Ok(()) => self.commit(),
            Err(error) => {
                let _ = self.rollback();
                Err(error)
            }
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
        params: row.get(7)?,
        reason: row.get(8)?,
        reruns: row.get(9)?,
        gave_up: row.get::<_, i64>(10)? != 0,
        host: row.get(11)?,
    })
}

/// `path` as the file's one real name: symbolic links resolved and made absolute (for a file
/// not there yet, its directory's real path joined with its name); `:memory:` as it is. A
/// file with more than one hard link is refused.
fn real_path(path: &Path) -> Result<PathBuf, StoreError> {
    if path.as_os_str() == ":memory:" || path.as_os_str().is_empty() {
        return Ok(path.to_owned());
    }
    let unusable = |reason: String| StoreError::Unusable {
        path: path.to_owned(),
        reason,
    };
    let real = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            // A symbolic link to a file not there yet names that file: follow it, so that
            // the first start and every later one agree on the file and its locks.
            let mut path = path.to_owned();
            for _ in 0..40 {
                match std::fs::read_link(&path) {
                    Ok(target) => {
                        path = match path.parent() {
                            Some(parent) if target.is_relative() => parent.join(target),
                            _ => target,
                        }
                    }
                    Err(_) => break,
                }
            }
            let parent = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            };
            let name = path
                .file_name()
                .ok_or_else(|| unusable("it names a directory, not a file".to_owned()))?;
            std::fs::canonicalize(parent)
                .map_err(|error| unusable(format!("its directory: {error}")))?
                .join(name)
        }
        Err(error) => return Err(unusable(error.to_string())),
    };
    if let Ok(metadata) = std::fs::metadata(&real)
        && !metadata.is_file()
    {
        return Err(unusable(if metadata.is_dir() {
            "it is a directory; name a file in it, e.g. `state.sqlite`".to_owned()
        } else {
            "it is not a regular file".to_owned()
        }));
    }
    #[cfg(unix)]
    if let Ok(metadata) = std::fs::metadata(&real) {
        use std::os::unix::fs::MetadataExt;
        if metadata.nlink() > 1 {
            return Err(unusable(format!(
                "it has {} hard links; SQLite keeps its journal next to the name it is opened by, so two names of one file would not see each other's runs; use one path (a symbolic link is fine)",
                metadata.nlink()
            )));
        }
    }
    Ok(real)
}

/// This machine's name, as runs and notices record it (`gethostname(2)`; `COMPUTERNAME` on
/// Windows); `localhost` when it has none.
pub fn host() -> String {
    #[cfg(unix)]
    {
        let mut buffer = [0u8; 256];
        // SAFETY: the buffer is valid for its length; `gethostname` writes at most that much.
        let result =
            unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len() as libc::size_t) };
        if result == 0 {
            let end = buffer
                .iter()
                .position(|byte| *byte == 0)
                .unwrap_or(buffer.len());
            let name = String::from_utf8_lossy(&buffer[..end]).into_owned();
            if !name.is_empty() {
                return name;
            }
        }
        "localhost".to_owned()
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").unwrap_or_else(|_| "localhost".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state file's path in a fresh directory, removed with the returned guard.
    fn temporary(name: &str) -> (tempfile::TempDir, PathBuf) {
        let directory = tempfile::Builder::new()
            .prefix(&format!("workflow-store-{name}-"))
            .tempdir()
            .unwrap();
        let path = directory.path().join("state.sqlite");
        (directory, path)
    }

    #[test]
    fn runs_nodes_and_attempts_round_trip() {
        let (_directory, path) = temporary("round-trip");
        let mut store = Store::open(&path).unwrap();
        let (run, lock) = store.start_run("w", "{}", "{}", &["a", "b"], None).unwrap();
        RunStore::record(
            &mut store,
            run,
            &[
                Write::AttemptStarted {
                    node: "a",
                    attempt: 1,
                },
                Write::AttemptEnded {
                    node: "a",
                    attempt: 1,
                    status: Status::Succeeded,
                    message: None,
                },
                Write::Node {
                    node: "a",
                    status: Status::Succeeded,
                    output: Some(r#"{"rows":3}"#),
                    message: None,
                },
            ],
        )
        .unwrap();
        // A step is synced with the next lifecycle commit; those are synced at once.
        let synchronous = |store: &Store| -> i64 {
            store
                .connection
                .pragma_query_value(None, "synchronous", |row| row.get(0))
                .unwrap()
        };
        assert_eq!(synchronous(&store), 2, "FULL after a step");
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(synchronous(&store), 2, "FULL from the start");
        let nodes = store.nodes(run).unwrap();
        assert_eq!(nodes[0].status, Status::Succeeded);
        assert_eq!(
            nodes[0].output, None,
            "looking at a run never loads outputs"
        );
        assert_eq!(
            store.outputs(run).unwrap(),
            [("a".to_owned(), serde_json::json!({"rows": 3}))]
        );
        assert_eq!(nodes[0].attempts, 1);
        assert_eq!(nodes[1].status, Status::Scheduled);
        assert_eq!(store.run(run).unwrap().status, "running");
        assert_eq!(store.active_runs("w").unwrap().len(), 1);
        store.finish_run(run, "succeeded", None).unwrap();
        lock.release_finished();
        assert!(store.active_runs("w").unwrap().is_empty());
        assert!(matches!(store.run(99), Err(StoreError::UnknownRun(99))));
    }

    #[test]
    fn foreign_and_corrupt_files_are_refused_untouched() {
        let (_directory, path) = temporary("foreign");
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

        let (_other_directory, other) = temporary("other-db");
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

    /// A state file of layout 2 (before runs had parameters, reasons and re-run counts, and
    /// before notices were kept) opens with its runs intact and the new columns added.
    #[test]
    fn a_layout_2_file_is_upgraded_in_place() {
        let (_directory, path) = temporary("layout-2");
        Connection::open(&path)
            .unwrap()
            .execute_batch(&format!(
                "CREATE TABLE runs (id INTEGER PRIMARY KEY, workflow TEXT NOT NULL, plan TEXT NOT NULL,
                     status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, pid INTEGER);
                 CREATE TABLE nodes (run_id INTEGER NOT NULL, node TEXT NOT NULL, status TEXT NOT NULL,
                     attempts INTEGER NOT NULL DEFAULT 0, output TEXT, message TEXT, started_at TEXT,
                     ended_at TEXT, PRIMARY KEY (run_id, node));
                 CREATE TABLE attempts (run_id INTEGER NOT NULL, node TEXT NOT NULL, attempt INTEGER NOT NULL,
                     status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, message TEXT,
                     PRIMARY KEY (run_id, node, attempt));
                 CREATE TABLE paused (workflow TEXT PRIMARY KEY, since TEXT NOT NULL, reason TEXT NOT NULL);
                 CREATE TABLE starts (run_id INTEGER PRIMARY KEY, workflow TEXT NOT NULL, reason TEXT NOT NULL,
                     fire TEXT, trigger TEXT, upstream_run INTEGER, files_until TEXT);
                 INSERT INTO runs VALUES (7, 'w', '{{}}', 'failed', '2026-11-01T00:00:00Z', '2026-11-01T00:01:00Z', NULL);
                 INSERT INTO runs VALUES (8, 'w', '{{}}', 'running', '2026-11-02T00:00:00Z', NULL, 1);
                 PRAGMA application_id = {APPLICATION_ID};
                 PRAGMA user_version = 2;"
            ))
            .unwrap();
        let store = Store::open(&path).unwrap();
        let run = store.run(7).unwrap();
        assert_eq!(
            (run.status.as_str(), run.params, run.reruns, run.gave_up),
            ("failed", None, 0, false)
        );
        // Run 8 was "running" in process 1 when the old version stopped: a pid is not
        // trusted, so it is interrupted (and may be re-run), not live.
        let old = store.run(8).unwrap();
        assert_eq!(store.effective_status(&old).unwrap(), "interrupted");
        assert!(store.active_runs("w").unwrap().is_empty());
        assert_eq!(store.rerun_candidates("w", 3).unwrap().len(), 2);
        store
            .queue_notice(7, "w", "email", "a@example.com", "{}")
            .unwrap();
        assert_eq!(store.pending_notices(Some("w"), None).unwrap().len(), 1);
        drop(store);
        let version: i64 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    /// Two processes that read the same pending notice: only the first to claim it sends it.
    #[test]
    fn a_notice_is_claimed_by_one_sender() {
        let (_directory, path) = temporary("claim");
        let first = Store::open(&path).unwrap();
        let second = Store::open(&path).unwrap();
        first
            .queue_notice(1, "w", "email", "a@example.com", "{}")
            .unwrap();
        let seen_by_first = first.pending_notices(None, None).unwrap();
        let seen_by_second = second.pending_notices(None, None).unwrap();
        let until = Utc::now() + chrono::Duration::minutes(5);
        assert!(
            first
                .claim_notice(seen_by_first[0].id, &seen_by_first[0].next_try, until)
                .unwrap()
        );
        assert!(
            !second
                .claim_notice(seen_by_second[0].id, &seen_by_second[0].next_try, until)
                .unwrap()
        );
        assert!(
            first
                .pending_notices(None, Some(Utc::now()))
                .unwrap()
                .is_empty(),
            "a claimed notice is not due for anyone else"
        );
    }

    #[test]
    fn pausing() {
        let (_directory, path) = temporary("pause");
        let store = Store::open(&path).unwrap();
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
