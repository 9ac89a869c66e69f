//! Run state kept in memory: the [`RunStore`] of runs that need not outlive their process — a
//! sub-workflow, which is one node of its caller's run (its caller's state records it), and
//! benchmarks. Nothing here goes through SQL; a run's records read back exactly as the
//! SQLite [`Store`](super::store::Store) would give them.

use std::collections::HashMap;

use serde_json::Value;

use super::store::{NodeRecord, RunStore, Status, StoreError, Write, now};

/// Runs, their nodes and attempts, and paused workflows, in memory. Run ids count from 1.
#[derive(Debug, Default)]
pub struct MemoryStore {
    runs: Vec<MemoryRun>,
    paused: HashMap<String, String>,
}

#[derive(Debug)]
struct MemoryRun {
    workflow: String,
    status: String,
    reason: Option<String>,
    nodes: Vec<NodeRecord>,
    /// Each node's output as JSON text, aligned with `nodes`.
    outputs: Vec<Option<String>>,
    /// Nodes by name.
    index: HashMap<String, usize>,
    /// Every attempt: (node, attempt) to its status and message.
    attempts: HashMap<(usize, u32), (Status, Option<String>)>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Records a new run of `workflow` with `nodes` scheduled, and returns its id.
    pub fn start_run(&mut self, workflow: &str, nodes: &[&str]) -> i64 {
        self.runs.push(MemoryRun {
            workflow: workflow.to_owned(),
            status: "running".to_owned(),
            reason: None,
            nodes: nodes
                .iter()
                .map(|node| NodeRecord {
                    node: (*node).to_owned(),
                    status: Status::Scheduled,
                    attempts: 0,
                    output: None,
                    message: None,
                    started_at: None,
                    ended_at: None,
                })
                .collect(),
            outputs: vec![None; nodes.len()],
            index: nodes
                .iter()
                .enumerate()
                .map(|(position, node)| ((*node).to_owned(), position))
                .collect(),
            attempts: HashMap::new(),
        });
        self.runs.len() as i64
    }

    /// The status a run was finished with (`running` until then).
    ///
    /// # Errors
    ///
    /// [`StoreError::UnknownRun`].
    pub fn run_status(&self, run: i64) -> Result<&str, StoreError> {
        Ok(&self.get(run)?.status)
    }

    /// Why `workflow` is paused, when it is.
    pub fn paused(&self, workflow: &str) -> Option<&str> {
        self.paused.get(workflow).map(String::as_str)
    }

    /// How attempt `attempt` of `node` ended (or `running`), with its message.
    pub fn attempt(&self, run: i64, node: &str, attempt: u32) -> Option<(Status, Option<&str>)> {
        let run = self.get(run).ok()?;
        let position = *run.index.get(node)?;
        run.attempts
            .get(&(position, attempt))
            .map(|(status, message)| (*status, message.as_deref()))
    }

    fn get(&self, run: i64) -> Result<&MemoryRun, StoreError> {
        usize::try_from(run - 1)
            .ok()
            .and_then(|position| self.runs.get(position))
            .ok_or(StoreError::UnknownRun(run))
    }

    fn get_mut(&mut self, run: i64) -> Result<&mut MemoryRun, StoreError> {
        usize::try_from(run - 1)
            .ok()
            .and_then(|position| self.runs.get_mut(position))
            .ok_or(StoreError::UnknownRun(run))
    }
}

impl RunStore for MemoryStore {
    fn workflow_of(&self, run: i64) -> Result<String, StoreError> {
        Ok(self.get(run)?.workflow.clone())
    }

    fn stop_reason(&self, run: i64) -> Result<Option<String>, StoreError> {
        Ok(self.get(run)?.reason.clone())
    }

    fn nodes(&self, run: i64) -> Result<Vec<NodeRecord>, StoreError> {
        Ok(self.get(run)?.nodes.clone())
    }

    fn outputs(&self, run: i64) -> Result<Vec<(String, Value)>, StoreError> {
        let run = self.get(run)?;
        Ok(run
            .nodes
            .iter()
            .zip(&run.outputs)
            .filter(|(node, _)| node.status == Status::Succeeded)
            .filter_map(|(node, output)| {
                let value = serde_json::from_str(output.as_deref()?).ok()?;
                Some((node.node.clone(), value))
            })
            .collect())
    }

    /// Writes naming a node the run does not have change nothing, as an `UPDATE` of no row.
    fn record(&mut self, run: i64, writes: &[Write<'_>]) -> Result<(), StoreError> {
        let run = self.get_mut(run)?;
        let mut time: Option<String> = None;
        let mut time = || time.get_or_insert_with(now).clone();
        for write in writes {
            match *write {
                Write::Node {
                    node,
                    status,
                    output,
                    message,
                } => {
                    let Some(&position) = run.index.get(node) else {
                        continue;
                    };
                    let record = &mut run.nodes[position];
                    record.status = status;
                    record.message = message.map(str::to_owned);
                    record.ended_at = status.is_final().then(&mut time);
                    if let Some(output) = output {
                        run.outputs[position] = Some(output.to_owned());
                    }
                }
                Write::AttemptStarted { node, attempt } => {
                    let Some(&position) = run.index.get(node) else {
                        continue;
                    };
                    run.attempts
                        .insert((position, attempt), (Status::Running, None));
                    let record = &mut run.nodes[position];
                    record.status = Status::Running;
                    record.attempts = attempt;
                    if record.started_at.is_none() {
                        record.started_at = Some(time());
                    }
                }
                Write::AttemptEnded {
                    node,
                    attempt,
                    status,
                    message,
                } => {
                    let Some(&position) = run.index.get(node) else {
                        continue;
                    };
                    if let Some(ended) = run.attempts.get_mut(&(position, attempt)) {
                        *ended = (status, message.map(str::to_owned));
                    }
                }
            }
        }
        Ok(())
    }

    fn pause(&mut self, workflow: &str, reason: &str) -> Result<(), StoreError> {
        self.paused.insert(workflow.to_owned(), reason.to_owned());
        Ok(())
    }

    fn finish_run(
        &mut self,
        run: i64,
        status: &str,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let run = self.get_mut(run)?;
        run.status = status.to_owned();
        // As the SQLite store: a cancelled run keeps the reason its stopper recorded.
        if status != "cancelled" || run.reason.is_none() {
            run.reason = reason.map(str::to_owned);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::store::Store;

    /// The same steps, recorded in SQLite and in memory, read back the same.
    #[test]
    fn reads_back_as_the_sqlite_store_does() {
        let directory = tempfile::tempdir().unwrap();
        let mut sqlite = Store::open(&directory.path().join("state.sqlite")).unwrap();
        let mut memory = MemoryStore::new();
        let nodes = ["extract", "load", "report", "notify"];
        let (sqlite_run, _lock) = sqlite
            .start_run("nightly", "{}", "{}", &nodes, None)
            .unwrap();
        let memory_run = memory.start_run("nightly", &nodes);
        let steps: Vec<Vec<Write<'_>>> = vec![
            vec![
                Write::Node {
                    node: "extract",
                    status: Status::Ready,
                    output: None,
                    message: None,
                },
                Write::AttemptStarted {
                    node: "extract",
                    attempt: 1,
                },
            ],
            vec![
                Write::AttemptEnded {
                    node: "extract",
                    attempt: 1,
                    status: Status::Failed,
                    message: Some("connection reset"),
                },
                Write::Node {
                    node: "extract",
                    status: Status::Ready,
                    output: None,
                    message: Some("connection reset"),
                },
            ],
            vec![Write::AttemptStarted {
                node: "extract",
                attempt: 2,
            }],
            vec![
                Write::AttemptEnded {
                    node: "extract",
                    attempt: 2,
                    status: Status::Succeeded,
                    message: None,
                },
                Write::Node {
                    node: "extract",
                    status: Status::Succeeded,
                    output: Some(r#"{"rows":[1,2]}"#),
                    message: None,
                },
                Write::AttemptStarted {
                    node: "load",
                    attempt: 1,
                },
                Write::Node {
                    node: "unknown",
                    status: Status::Failed,
                    output: None,
                    message: Some("no such node"),
                },
            ],
            vec![
                Write::AttemptEnded {
                    node: "load",
                    attempt: 1,
                    status: Status::TimedOut,
                    message: Some("timed out after 5s"),
                },
                Write::Node {
                    node: "load",
                    status: Status::TimedOut,
                    output: None,
                    message: Some("attempt 1: timed out after 5s"),
                },
                Write::Node {
                    node: "report",
                    status: Status::Skipped,
                    output: None,
                    message: Some("upstream node `load` failed"),
                },
            ],
        ];
        for step in &steps {
            RunStore::record(&mut sqlite, sqlite_run, step).unwrap();
            memory.record(memory_run, step).unwrap();
        }
        RunStore::pause(&mut sqlite, "nightly", "run 1: node load failed").unwrap();
        memory.pause("nightly", "run 1: node load failed").unwrap();
        RunStore::finish_run(&mut sqlite, sqlite_run, "paused", None).unwrap();
        memory.finish_run(memory_run, "paused", None).unwrap();

        // Times differ between the two; whether each is set does not.
        let shape = |records: Vec<NodeRecord>| -> Vec<_> {
            records
                .into_iter()
                .map(|record| {
                    (
                        record.node,
                        record.status,
                        record.attempts,
                        record.output,
                        record.message,
                        record.started_at.is_some(),
                        record.ended_at.is_some(),
                    )
                })
                .collect()
        };
        let from_sqlite = shape(RunStore::nodes(&sqlite, sqlite_run).unwrap());
        assert_eq!(from_sqlite, shape(memory.nodes(memory_run).unwrap()));
        assert_eq!(
            from_sqlite[1],
            (
                "load".to_owned(),
                Status::TimedOut,
                1,
                None,
                Some("attempt 1: timed out after 5s".to_owned()),
                true,
                true
            )
        );
        assert_eq!(
            RunStore::outputs(&sqlite, sqlite_run).unwrap(),
            memory.outputs(memory_run).unwrap()
        );
        assert_eq!(
            memory.outputs(memory_run).unwrap(),
            [("extract".to_owned(), serde_json::json!({"rows": [1, 2]}))]
        );
        assert_eq!(
            memory.attempt(memory_run, "extract", 1),
            Some((Status::Failed, Some("connection reset")))
        );
        assert_eq!(
            memory.attempt(memory_run, "load", 1),
            Some((Status::TimedOut, Some("timed out after 5s")))
        );
        assert_eq!(
            sqlite.paused("nightly").unwrap().as_deref(),
            memory.paused("nightly")
        );
        assert_eq!(sqlite.run(sqlite_run).unwrap().status, "paused");
        assert_eq!(memory.run_status(memory_run).unwrap(), "paused");
        assert_eq!(memory.workflow_of(memory_run).unwrap(), "nightly");
        assert!(matches!(
            memory.workflow_of(7),
            Err(StoreError::UnknownRun(7))
        ));
        assert!(matches!(
            memory.record(0, &[]),
            Err(StoreError::UnknownRun(0))
        ));
    }
}
