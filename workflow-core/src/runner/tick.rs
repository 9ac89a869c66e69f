//! `tick`: the one-shot "is it due?" a systemd timer or cron calls every few minutes.
//!
//! In order: a paused workflow waits; a run starts when a schedule fire time, an upstream
//! workflow's success or a new file says so (while a run is alive only under
//! `overlap = "replace"`); a workflow with a live run waits; otherwise a failed or interrupted
//! run with automatic re-runs left (`#[on_failure(reruns = N)]`, not with `pause`) is re-run
//! at once, resuming it so that the nodes that succeeded are kept. Due work comes first, so an
//! old failure never starves it. What started a run is recorded with it, so the same fire
//! time, upstream run or file never starts two.
//!
//! This module only decides; [`super::lifecycle::Lifecycle::tick`] decides under the locks
//! and carries the decision out.

use chrono::{DateTime, Utc};

use super::store::{Cause, RunRecord, Store};
use crate::WorkflowSpec;
use crate::operations::{CatchUp, FailureAction, Overlap, Trigger};

/// How late a fire time may be found and still run, when the schedule does not catch up.
pub const SKIP_GRACE: chrono::Duration = chrono::Duration::minutes(10);

/// What a tick decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Start a new run.
    Start {
        /// Why, as recorded with the run.
        cause: Cause,
        /// The parameter the schedule sets (a partition key), if any.
        partition: Option<(String, String)>,
        /// Live runs to stop first (`overlap = "replace"`).
        replacing: Vec<RunRecord>,
    },
    /// Continue a failed or interrupted run.
    Resume {
        /// The run.
        run: i64,
        /// Why, in words.
        reason: String,
    },
    /// Nothing to do now.
    Wait {
        /// Why, in words.
        reason: String,
    },
}

/// Why a workflow cannot be ticked at all.
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    /// Nothing ever makes it due.
    #[error(
        "workflow `{0}` has no schedule and no trigger, so `tick` never starts it; start it with `run`"
    )]
    NeverDue(String),
    /// The state file.
    #[error(transparent)]
    Store(#[from] super::store::StoreError),
    /// A schedule that cannot be evaluated, or a file pattern that cannot be read.
    #[error("{0}")]
    Operations(String),
}

/// Decides what a tick of `spec` at `now` does, from the state in `store`.
pub fn decide(
    spec: &WorkflowSpec,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Decision, TickError> {
    let name = spec.name;
    let operations = &spec.operations;
    if operations.schedule.is_none() && operations.triggers.is_empty() {
        return Err(TickError::NeverDue(name.to_owned()));
    }
    if let Some(reason) = store.paused(name)? {
        return Ok(Decision::Wait {
            reason: format!("paused ({reason}); `resume {name}` lets it run again"),
        });
    }
    let active = store.active_runs(name)?;
    if let Some((cause, partition)) = due(spec, store, now)? {
        if let Some(other) = active.first()
            && operations.overlap != Overlap::Replace
        {
            return Ok(Decision::Wait {
                reason: format!(
                    "due ({}), but run {} is still running ({}); it never runs twice at once",
                    cause.reason,
                    other.id,
                    process(other)
                ),
            });
        }
        return Ok(Decision::Start {
            cause,
            partition,
            replacing: active,
        });
    }
    if let Some(other) = active.first() {
        return Ok(Decision::Wait {
            reason: format!(
                "run {} is running ({}); {}",
                other.id,
                process(other),
                not_due(spec, store, now)
            ),
        });
    }
    if operations.on_failure != FailureAction::Pause
        && let Some(failed) = store
            .rerun_candidates(name, operations.reruns)?
            .into_iter()
            .next()
    {
        let status = store.effective_status(&failed)?.to_owned();
        return Ok(Decision::Resume {
            run: failed.id,
            reason: format!(
                "run {} {status}; re-running it at once (automatic re-run {} of {})",
                failed.id,
                failed.reruns + 1,
                operations.reruns
            ),
        });
    }
    Ok(Decision::Wait {
        reason: not_due(spec, store, now),
    })
}

/// "process 4711", or, for a run recorded as ended whose process is still ending (attempts
/// it could not stop), "its process is ending".
fn process(run: &RunRecord) -> String {
    match run.pid {
        Some(pid) => format!("process {pid}"),
        None => "its process is ending".to_owned(),
    }
}

/// The partition parameter a scheduled run sets: its name and value.
type Partition = Option<(String, String)>;

/// The fire times a tick looks at, oldest first, and the one it starts now.
pub type FiresDue = (Vec<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The fire times a tick at `now` looks at, given the last fire time it handled (`last`;
/// `None` for a workflow never run), and the one it starts now. The fire times are those
/// after `last` (at most a year back), the latest `keep_at_most` of them (and of the policy's
/// `max_catch_up`); catching up every missed run starts from the first and later ticks take
/// the rest, `latest` takes the last; `skip`, and a workflow never run before (just
/// installed: it waits for a fire time, as a timer would), take the last only if it is at
/// most [`SKIP_GRACE`] old.
pub fn fires_due(
    schedule: &crate::operations::Schedule,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    keep_at_most: usize,
) -> Result<FiresDue, crate::operations::ScheduleError> {
    let keep = match (last, schedule.catch_up) {
        (Some(_), CatchUp::All { max }) => max.map_or(usize::MAX, |max| max as usize),
        _ => 1,
    }
    .min(keep_at_most);
    let fires = schedule.fire_times_between(
        last.unwrap_or(now - chrono::Duration::days(366)),
        now,
        keep,
    )?;
    let fire = match (last, schedule.catch_up) {
        (Some(_), CatchUp::All { .. }) => fires.first().copied(),
        (Some(_), CatchUp::Latest) => fires.last().copied(),
        (None, _) | (_, CatchUp::Skip) => fires
            .last()
            .copied()
            .filter(|fire| now - *fire <= SKIP_GRACE),
    };
    Ok((fires, fire))
}

/// What makes the workflow due now, if anything: a fire time first, then its triggers.
fn due(
    spec: &WorkflowSpec,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<(Cause, Partition)>, TickError> {
    let name = spec.name;
    let operations = &spec.operations;
    if let Some(schedule) = &operations.schedule {
        let last = store.last_fire(name)?;
        let (fires, fire) = fires_due(schedule, last, now, usize::MAX)
            .map_err(|error| TickError::Operations(error.to_string()))?;
        if let Some(fire) = fire {
            let missed = fires.len().saturating_sub(1);
            let mut reason = format!("scheduled for {}", fire.to_rfc3339());
            if missed > 0 && matches!(schedule.catch_up, CatchUp::All { .. }) {
                reason.push_str(&format!(
                    ", {missed} more missed fire time{} to catch up",
                    if missed == 1 { "" } else { "s" }
                ));
            }
            let partition = operations.partition.as_ref().map(|partition| {
                let parse = spec.param(&partition.param).map(|param| param.parse);
                (
                    partition.param.clone(),
                    partition
                        .key_for_fire(fire, &schedule.timezone)
                        .text_for(parse),
                )
            });
            return Ok(Some((
                Cause {
                    reason,
                    fire: Some(fire),
                    ..Cause::default()
                },
                partition,
            )));
        }
    }
    for trigger in &operations.triggers {
        match trigger {
            Trigger::AfterWorkflow {
                workflow,
                within_secs,
            } => {
                let key = format!("after:{workflow}");
                // Due when the upstream's latest success (the latest to end) is not the one
                // that started this workflow last, and ended after it.
                let handled = match store.last_upstream_run(name, &key)? {
                    Some(id) => Some(store.run(id)?),
                    None => None,
                };
                let success = store.last_succeeded(workflow)?;
                if let Some(success) = success
                    && handled.as_ref().is_none_or(|handled| {
                        handled.id != success.id && handled.ended_at < success.ended_at
                    })
                {
                    let mut reason =
                        format!("workflow `{workflow}` succeeded (run {})", success.id);
                    if let (Some(within), Some(ended)) = (within_secs, &success.ended_at)
                        && let Ok(ended) = DateTime::parse_from_rfc3339(ended)
                    {
                        let late = Utc::now() - ended.with_timezone(&Utc);
                        if late > chrono::Duration::seconds(*within as i64) {
                            reason.push_str(&format!(
                                "; later than the {} allowed: tick more often",
                                crate::text::duration(std::time::Duration::from_secs(*within))
                            ));
                        }
                    }
                    return Ok(Some((
                        Cause {
                            reason,
                            trigger: Some(key),
                            upstream_run: Some(success.id),
                            ..Cause::default()
                        },
                        None,
                    )));
                }
            }
            Trigger::File { pattern } => {
                let key = format!("file:{pattern}");
                let handled = store.last_files_until(name, &key)?;
                let (newest, count) = newest_match(pattern, handled)?;
                if let Some(newest) = newest
                    && handled.is_none_or(|handled| newest > handled)
                {
                    return Ok(Some((
                        Cause {
                            reason: format!("{count} new file(s) match `{pattern}`"),
                            trigger: Some(key),
                            files_until: Some(newest),
                            ..Cause::default()
                        },
                        None,
                    )));
                }
            }
        }
    }
    Ok(None)
}

/// The newest modification time among the files matching `pattern`, and how many are newer
/// than `after`.
fn newest_match(
    pattern: &str,
    after: Option<DateTime<Utc>>,
) -> Result<(Option<DateTime<Utc>>, usize), TickError> {
    let paths = glob::glob(pattern)
        .map_err(|error| TickError::Operations(format!("file pattern `{pattern}`: {error}")))?;
    let mut newest: Option<DateTime<Utc>> = None;
    let mut count = 0;
    for path in paths.flatten() {
        let Ok(modified) = std::fs::metadata(&path).and_then(|metadata| metadata.modified()) else {
            continue;
        };
        let modified = DateTime::<Utc>::from(modified);
        if after.is_none_or(|after| modified > after) {
            count += 1;
        }
        newest = newest.max(Some(modified));
    }
    Ok((newest, count))
}

/// Why nothing is due, with when something next could be.
fn not_due(spec: &WorkflowSpec, store: &Store, now: DateTime<Utc>) -> String {
    let mut waits = Vec::new();
    // After the last fire time handled, when a tick's clock is behind it.
    let after = match store.last_fire(spec.name) {
        Ok(Some(last)) => last.max(now),
        _ => now,
    };
    if let Some(schedule) = &spec.operations.schedule
        && let Ok(next) = schedule.next_fire_times(after, 1)
        && let Some(next) = next.first()
    {
        waits.push(format!("the next fire time is {}", next.to_rfc3339()));
    }
    for trigger in &spec.operations.triggers {
        waits.push(match trigger {
            Trigger::AfterWorkflow { workflow, .. } => {
                format!("waiting for workflow `{workflow}` to succeed again")
            }
            Trigger::File { pattern } => format!("waiting for a new file matching `{pattern}`"),
        });
    }
    format!("not due: {}", waits.join("; "))
}
