//! The `logs` and `prune` commands: printing attempts' logs, and removing old runs with them.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::runner::attempt_log;
use crate::runner::store::{AttemptRecord, Store};

/// Which attempts `logs` prints.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// The run (default: the workflow's latest).
    pub run: Option<i64>,
    /// Only this node's attempts.
    pub node: Option<String>,
    /// Only this attempt (with `node`: of that node; alone: every node's attempt K).
    pub attempt: Option<u32>,
}

/// Prints the logs of `workflow`'s selected attempts, in the order they started, each under a
/// header line; with `follow`, goes on printing what they write, and attempts that start,
/// until the run has ended. Returns the run printed.
///
/// # Errors
///
/// An unknown run or node, a run of another workflow, or a state file that cannot be read.
pub fn print(
    store: &Store,
    workflow: &str,
    selection: &Selection,
    follow: bool,
    out: &mut dyn Write,
) -> Result<i64, String> {
    let dir = attempt_log::logs_dir(store.path());
    let run = match selection.run {
        Some(run) => {
            let record = store.run(run).map_err(|error| error.to_string())?;
            if record.workflow != workflow {
                return Err(format!(
                    "run {run} is a run of workflow `{}`, not of `{workflow}`",
                    record.workflow
                ));
            }
            run
        }
        None => {
            store
                .runs(Some(workflow), 1)
                .map_err(|error| error.to_string())?
                .first()
                .ok_or_else(|| {
                    format!(
                        "workflow `{workflow}` has no runs in `{}`",
                        store.path().display()
                    )
                })?
                .id
        }
    };
    if let Some(node) = &selection.node {
        let nodes = store.nodes(run).map_err(|error| error.to_string())?;
        if !nodes.iter().any(|record| record.node == *node) {
            let names = nodes.iter().map(|record| record.node.as_str());
            return Err(format!(
                "run {run} of `{workflow}` has no node `{node}`{}",
                crate::text::did_you_mean(node, names)
            ));
        }
    }
    let selected = |record: &AttemptRecord| {
        selection
            .node
            .as_ref()
            .is_none_or(|node| record.node == *node)
            && selection
                .attempt
                .is_none_or(|attempt| record.attempt == attempt)
    };
    // For each attempt printed: how much of its current file has been printed.
    let mut printed: Vec<((String, u32), usize)> = Vec::new();
    let mut last_header: Option<(String, u32)> = None;
    let write_error = |error: std::io::Error| error.to_string();
    loop {
        // Whether the run had ended before this look: then this look is the last.
        let ended = !follow || {
            let record = store.run(run).map_err(|error| error.to_string())?;
            store
                .effective_status(&record)
                .map_err(|error| error.to_string())?
                != "running"
        };
        let attempts = store.attempts(run).map_err(|error| error.to_string())?;
        for record in attempts.iter().filter(|record| selected(record)) {
            let key = (record.node.clone(), record.attempt);
            let (old, current) = attempt_log::read_parts(&dir, run, &record.node, record.attempt)
                .map_err(|error| {
                format!("cannot read the log of {}: {error}", describe(record))
            })?;
            let done = printed
                .iter()
                .find(|(seen, _)| *seen == key)
                .map(|(_, bytes)| *bytes);
            let final_look = ended || record.ended_at.is_some();
            // What to print now: first time, the rotated part and the current file; after a
            // rotation (the current file is shorter than what was printed of it), the rest of
            // the file that was rotated out, then the new one.
            let current = current.unwrap_or_default();
            let mut text: Vec<u8> = Vec::new();
            let from = match done {
                None => {
                    if old.is_none() && current.is_empty() {
                        header(out, run, record, &mut last_header).map_err(write_error)?;
                        writeln!(
                            out,
                            "(no log: it was not kept for this attempt, or was pruned)"
                        )
                        .map_err(write_error)?;
                        printed.push((key, 0));
                        continue;
                    }
                    text.extend(old.unwrap_or_default());
                    0
                }
                Some(bytes) if bytes > current.len() => {
                    if let Some(old) = old.filter(|old| old.len() > bytes) {
                        text.extend_from_slice(&old[bytes..]);
                    }
                    0
                }
                Some(bytes) => bytes,
            };
            // Whole lines only while the attempt may still write.
            let until = if final_look {
                current.len()
            } else {
                current[from..]
                    .iter()
                    .rposition(|&byte| byte == b'\n')
                    .map_or(from, |end| from + end + 1)
            };
            text.extend_from_slice(&current[from..until]);
            if !text.is_empty() || done.is_none() {
                if last_header.as_ref() != Some(&key) {
                    header(out, run, record, &mut last_header).map_err(write_error)?;
                }
                out.write_all(&text).map_err(write_error)?;
                if text.last().is_some_and(|&byte| byte != b'\n') {
                    writeln!(out).map_err(write_error)?;
                }
            }
            match printed.iter_mut().find(|(seen, _)| *seen == key) {
                Some((_, bytes)) => *bytes = until,
                None => printed.push((key, until)),
            }
        }
        out.flush().map_err(write_error)?;
        if ended {
            if printed.is_empty() {
                let which = match (&selection.node, selection.attempt) {
                    (Some(node), Some(attempt)) => {
                        format!("node `{node}` has no attempt {attempt}")
                    }
                    (Some(node), None) => format!("node `{node}` has not started"),
                    (None, Some(attempt)) => format!("no node has an attempt {attempt}"),
                    (None, None) => "no node has started".to_owned(),
                };
                return Err(format!("run {run} of `{workflow}`: {which}"));
            }
            return Ok(run);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn describe(record: &AttemptRecord) -> String {
    format!("attempt {} of node `{}`", record.attempt, record.node)
}

fn header(
    out: &mut dyn Write,
    run: i64,
    record: &AttemptRecord,
    last: &mut Option<(String, u32)>,
) -> std::io::Result<()> {
    let mut text = format!(
        "== run {run}, node `{}`, attempt {}: {}, started {}",
        record.node, record.attempt, record.status, record.started_at
    );
    if let Some(ended) = &record.ended_at {
        text.push_str(&format!(", ended {ended}"));
    }
    writeln!(out, "{text} ==")?;
    *last = Some((record.node.clone(), record.attempt));
    Ok(())
}

/// Removes the runs that ended more than `older_than` ago, with their logs (see
/// [`Store::prune`] for what is kept), and returns how many runs were removed. With `dry_run`,
/// only counts them.
///
/// # Errors
///
/// The state file cannot be written, or a log directory cannot be removed (the runs are gone
/// from the state file then; the next `prune` removes their left-over logs).
pub fn prune(store: &Store, older_than: Duration, dry_run: bool) -> Result<Vec<i64>, String> {
    let too_old = || {
        format!(
            "an age of {} is before any time a run can have",
            humantime::format_duration(older_than)
        )
    };
    let age = chrono::Duration::from_std(older_than).map_err(|_| too_old())?;
    let cutoff = chrono::Utc::now()
        .checked_sub_signed(age)
        .ok_or_else(too_old)?;
    let cutoff = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let dir = attempt_log::logs_dir(store.path());
    if dry_run {
        return store.prunable(&cutoff).map_err(|error| error.to_string());
    }
    let removed = store.prune(&cutoff).map_err(|error| error.to_string())?;
    // Logs of runs the state file no longer has: these, and any an earlier prune left.
    let known: std::collections::HashSet<i64> = store
        .run_ids()
        .map_err(|error| error.to_string())?
        .into_iter()
        .collect();
    remove_orphan_logs(&dir, &known)?;
    Ok(removed)
}

fn remove_orphan_logs(dir: &Path, known: &std::collections::HashSet<i64>) -> Result<(), String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(format!("cannot read `{}`: {error}", dir.display())),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(run) = name
            .to_str()
            .and_then(|name| name.strip_prefix("run-"))
            .and_then(|id| id.parse::<i64>().ok())
        else {
            continue;
        };
        if !known.contains(&run) {
            std::fs::remove_dir_all(entry.path())
                .map_err(|error| format!("cannot remove `{}`: {error}", entry.path().display()))?;
        }
    }
    Ok(())
}
