//! How a workflow is operated: its schedule, how runs may overlap, pools, run timeout, what
//! happens on failure and who hears about it. Declared with attributes on `workflow!`.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// When a workflow runs by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// What fires the schedule.
    #[serde(flatten)]
    pub when: Cadence,
    /// The IANA time zone the cron expression is read in (`UTC` by default).
    pub timezone: String,
    /// What to do about fire times missed while nothing was running.
    pub catch_up: CatchUp,
}

/// What fires a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// A cron expression: five fields (minute to weekday) or six (with seconds first).
    Cron(String),
    /// A fixed interval in seconds, counted from the Unix epoch so that every machine agrees.
    EverySecs(u64),
}

/// What to do about fire times that passed while no run was started (machine down, paused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum CatchUp {
    /// Forget them; wait for the next fire time.
    Skip,
    /// Run once for the latest missed fire time (systemd's `Persistent=true`).
    Latest,
    /// Run once per missed fire time, oldest first, at most `max` of them.
    All {
        /// The most missed runs to make up; `None` for all of them.
        max: Option<u32>,
    },
}

/// Whether a new run may start while another run of the same workflow is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// Never: the new run is refused.
    #[default]
    Forbid,
    /// The new run waits until the active one ends.
    Queue,
    /// The active run is cancelled and the new one starts.
    Replace,
}

/// A named pool of slots shared by tasks that declare it (`#[task(pool = "...")]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    /// The pool's name.
    pub name: String,
    /// How many tasks of the pool may run at once.
    pub slots: u32,
}

/// What a failed run does to the rest of the run and to the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureAction {
    /// Nodes that do not depend on the failed one go on; the run fails at its end.
    Continue,
    /// Running nodes finish, no new node starts, the run fails.
    #[default]
    Stop,
    /// As `Stop`, and the workflow is paused: no run starts until someone resumes it.
    Pause,
}

/// Who is told, and how.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Notify {
    /// E-mail addresses.
    pub email: Vec<String>,
    /// URLs that receive a JSON POST.
    pub webhook: Vec<String>,
}

impl Notify {
    /// Whether nobody is told.
    pub fn is_empty(&self) -> bool {
        self.email.is_empty() && self.webhook.is_empty()
    }
}

/// How runs divide time: each run covers one partition, named by a parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// Days or hours.
    pub every: PartitionEvery,
    /// The parameter that receives the partition (a date, or a date and hour).
    pub param: String,
}

/// The size of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionEvery {
    /// One calendar day: the parameter is a `NaiveDate`.
    Daily,
    /// One week, Monday to Sunday: the parameter is a `NaiveDate`, the week's Monday.
    Weekly,
    /// One hour: the parameter is a `NaiveDateTime` or `DateTime<Utc>`.
    Hourly,
}

/// A backfill range that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackfillError {
    /// Not `FROM..TO`.
    #[error(
        "malformed backfill range `{0}`: write FROM..TO, e.g. 2026-11-01..2026-11-21 (both ends included)"
    )]
    Malformed(String),
    /// An end is not a date (or a date and hour).
    #[error("invalid backfill bound `{bound}`: {expected}")]
    Bound {
        /// The text.
        bound: String,
        /// What was expected.
        expected: String,
    },
    /// The range runs backwards.
    #[error("backfill range `{0}` ends before it starts")]
    Reversed(String),
    /// Too many partitions to plan at once.
    #[error("backfill range `{range}` holds {count} partitions; plan at most {max} at once")]
    TooLong {
        /// The range.
        range: String,
        /// Its size.
        count: u64,
        /// The limit.
        max: u64,
    },
}

impl Partition {
    /// The most partitions one backfill plans.
    pub const MAX_BACKFILL: u64 = 10_000;

    /// The partition a scheduled run at `fire` processes: the day or hour that ended before
    /// it, in `timezone`, as the text to pass as the partition parameter.
    ///
    /// ```
    /// use workflow_core::operations::{Partition, PartitionEvery};
    /// use chrono::{TimeZone, Utc};
    ///
    /// let daily = Partition { every: PartitionEvery::Daily, param: "day".into() };
    /// let fire = Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap(); // 02:00 in Prague
    /// assert_eq!(daily.key_for_fire(fire, "Europe/Prague"), "2026-11-21");
    /// let hourly = Partition { every: PartitionEvery::Hourly, param: "hour".into() };
    /// assert_eq!(hourly.key_for_fire(fire, "UTC"), "2026-11-22T00:00:00");
    /// // Saturday 2026-11-21: the week that ended before it began on Monday 2026-11-09.
    /// let weekly = Partition { every: PartitionEvery::Weekly, param: "week".into() };
    /// let saturday = Utc.with_ymd_and_hms(2026, 11, 21, 7, 15, 0).unwrap();
    /// assert_eq!(weekly.key_for_fire(saturday, "Europe/Prague"), "2026-11-09");
    /// ```
    pub fn key_for_fire(&self, fire: DateTime<Utc>, timezone: &str) -> String {
        let zone: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
        let local = fire.with_timezone(&zone).naive_local();
        match self.every {
            PartitionEvery::Daily => (local.date() - chrono::Duration::days(1)).to_string(),
            PartitionEvery::Weekly => {
                (monday(local.date()) - chrono::Duration::days(7)).to_string()
            }
            PartitionEvery::Hourly => {
                let hour = local.date().and_time(chrono::NaiveTime::MIN)
                    + chrono::Duration::hours(i64::from(chrono::Timelike::hour(&local)))
                    - chrono::Duration::hours(1);
                hour.format("%Y-%m-%dT%H:%M:%S").to_string()
            }
        }
    }

    /// The partitions in `range` (`FROM..TO`, both ends included), oldest first, as the
    /// text to pass as the partition parameter.
    ///
    /// ```
    /// use workflow_core::operations::{Partition, PartitionEvery};
    ///
    /// let daily = Partition { every: PartitionEvery::Daily, param: "day".into() };
    /// assert_eq!(daily.backfill("2026-11-30..2026-12-02").unwrap(), ["2026-11-30", "2026-12-01", "2026-12-02"]);
    /// let hourly = Partition { every: PartitionEvery::Hourly, param: "hour".into() };
    /// assert_eq!(hourly.backfill("2026-11-01T22..2026-11-02T00").unwrap().len(), 3);
    /// // A weekly range names any day of its first and last weeks.
    /// let weekly = Partition { every: PartitionEvery::Weekly, param: "week".into() };
    /// assert_eq!(weekly.backfill("2026-11-04..2026-11-16").unwrap(), ["2026-11-02", "2026-11-09", "2026-11-16"]);
    /// assert!(daily.backfill("2026-11-21..2026-11-01").is_err());
    /// ```
    pub fn backfill(&self, range: &str) -> Result<Vec<String>, BackfillError> {
        let Some((from, to)) = range.split_once("..") else {
            return Err(BackfillError::Malformed(range.to_owned()));
        };
        let to = to.strip_prefix('=').unwrap_or(to);
        let (from, to) = match self.every {
            PartitionEvery::Daily => (day_start(from)?, day_start(to)?),
            PartitionEvery::Weekly => {
                let week = |text: &str| {
                    day_start(text)
                        .map(|start| monday(start.date()).and_time(chrono::NaiveTime::MIN))
                };
                (week(from)?, week(to)?)
            }
            PartitionEvery::Hourly => (hour_start(from)?, hour_start(to)?),
        };
        if to < from {
            return Err(BackfillError::Reversed(range.to_owned()));
        }
        let step = match self.every {
            PartitionEvery::Daily => chrono::Duration::days(1),
            PartitionEvery::Weekly => chrono::Duration::days(7),
            PartitionEvery::Hourly => chrono::Duration::hours(1),
        };
        let count = (to - from).num_seconds() as u64 / step.num_seconds() as u64 + 1;
        if count > Self::MAX_BACKFILL {
            return Err(BackfillError::TooLong {
                range: range.to_owned(),
                count,
                max: Self::MAX_BACKFILL,
            });
        }
        Ok((0..count as i32)
            .map(|index| {
                let start = from + step * index;
                match self.every {
                    PartitionEvery::Daily | PartitionEvery::Weekly => start.date().to_string(),
                    PartitionEvery::Hourly => start.format("%Y-%m-%dT%H:%M:%S").to_string(),
                }
            })
            .collect())
    }
}

/// The Monday of the week `day` is in.
fn monday(day: chrono::NaiveDate) -> chrono::NaiveDate {
    day - chrono::Duration::days(i64::from(
        chrono::Datelike::weekday(&day).num_days_from_monday(),
    ))
}

fn day_start(text: &str) -> Result<chrono::NaiveDateTime, BackfillError> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(|day| day.and_time(chrono::NaiveTime::MIN))
        .map_err(|error| BackfillError::Bound {
            bound: text.to_owned(),
            expected: format!("{error}; write a date such as 2026-11-01"),
        })
}

fn hour_start(text: &str) -> Result<chrono::NaiveDateTime, BackfillError> {
    let text = text.trim();
    let parsed = chrono::NaiveDateTime::parse_from_str(&format!("{text}:00"), "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| day_start(text));
    let time = parsed.map_err(|_| BackfillError::Bound {
        bound: text.to_owned(),
        expected: "write a date and hour such as 2026-11-01T05, or a date for its first hour"
            .to_owned(),
    })?;
    Ok(time.date().and_time(chrono::NaiveTime::MIN)
        + chrono::Duration::hours(i64::from(chrono::Timelike::hour(&time))))
}

/// What starts a run besides the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A successful run of another workflow.
    AfterWorkflow {
        /// The upstream workflow's name.
        workflow: String,
        /// The longest delay allowed between the upstream success and this run's start.
        within_secs: Option<u64>,
    },
    /// A file appearing that matches a glob pattern.
    File {
        /// An absolute glob pattern, e.g. `/data/inbox/*.csv`.
        pattern: String,
    },
}

/// How many automatic re-runs a failed run gets when the workflow does not say.
pub const DEFAULT_RERUNS: u32 = 3;

fn default_reruns() -> u32 {
    DEFAULT_RERUNS
}

/// The operational side of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operations {
    /// When it runs by itself, if it does.
    pub schedule: Option<Schedule>,
    /// How runs may overlap.
    pub overlap: Overlap,
    /// Pools the workflow's tasks use, with their sizes.
    pub pools: Vec<Pool>,
    /// How long a whole run may take, in seconds.
    pub timeout_secs: Option<u64>,
    /// What a failure does.
    pub on_failure: FailureAction,
    /// How many times `tick` re-runs a failed or interrupted run by itself before it gives
    /// up on it (`#[on_failure(reruns = N)]`, [`DEFAULT_RERUNS`] when not given; 0: never).
    /// Not used with [`FailureAction::Pause`], which waits for a person.
    #[serde(default = "default_reruns")]
    pub reruns: u32,
    /// Who hears about a failure.
    pub notify_failure: Notify,
    /// Who hears about a success.
    pub notify_success: Notify,
    /// What starts a run besides the schedule.
    pub triggers: Vec<Trigger>,
    /// The time partition each run covers, if runs are partitioned.
    pub partition: Option<Partition>,
}

impl Default for Operations {
    /// No schedule, overlap forbidden, stop on failure with [`DEFAULT_RERUNS`] re-runs, no
    /// notices.
    fn default() -> Self {
        Operations {
            schedule: None,
            overlap: Overlap::default(),
            pools: Vec::new(),
            timeout_secs: None,
            on_failure: FailureAction::default(),
            reruns: DEFAULT_RERUNS,
            notify_failure: Notify::default(),
            notify_success: Notify::default(),
            triggers: Vec::new(),
            partition: None,
        }
    }
}

/// A schedule that cannot be evaluated (an expression built by hand and never checked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule `{expression}` cannot be evaluated: {reason}")]
pub struct ScheduleError {
    /// The cron expression or time zone.
    pub expression: String,
    /// Why.
    pub reason: String,
}

impl Schedule {
    /// The next `count` fire times strictly after `now`, in UTC.
    ///
    /// ```
    /// use workflow_core::operations::{Cadence, CatchUp, Schedule};
    /// use chrono::{TimeZone, Utc};
    ///
    /// let nightly = Schedule {
    ///     when: Cadence::Cron("0 2 * * *".into()),
    ///     timezone: "Europe/Prague".into(),
    ///     catch_up: CatchUp::Skip,
    /// };
    /// let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    /// let next = nightly.next_fire_times(now, 2).unwrap();
    /// assert_eq!(next[0].to_rfc3339(), "2026-11-22T01:00:00+00:00"); // 02:00 in Prague
    /// ```
    pub fn next_fire_times(
        &self,
        now: DateTime<Utc>,
        count: usize,
    ) -> Result<Vec<DateTime<Utc>>, ScheduleError> {
        match &self.when {
            Cadence::EverySecs(seconds) => {
                let step = i64::try_from(*seconds).unwrap_or(i64::MAX).max(1);
                let first = (now.timestamp().div_euclid(step) + 1).saturating_mul(step);
                Ok((0..count as i64)
                    .filter_map(|index| {
                        Utc.timestamp_opt(first.saturating_add(index.saturating_mul(step)), 0)
                            .single()
                    })
                    .collect())
            }
            Cadence::Cron(expression) => {
                let error = |reason: String| ScheduleError {
                    expression: expression.clone(),
                    reason,
                };
                let zone: chrono_tz::Tz = self.timezone.parse().map_err(|_| ScheduleError {
                    expression: self.timezone.clone(),
                    reason: "unknown time zone".to_owned(),
                })?;
                let cron: croner::Cron = expression
                    .parse()
                    .map_err(|failure: croner::errors::CronError| error(failure.to_string()))?;
                let mut times = Vec::with_capacity(count);
                let mut after = now.with_timezone(&zone);
                while times.len() < count {
                    let next = cron
                        .find_next_occurrence(&after, false)
                        .map_err(|failure| error(failure.to_string()))?;
                    times.push(next.with_timezone(&Utc));
                    after = next;
                }
                Ok(times)
            }
        }
    }

    /// The fire times in `(after, until]`, oldest first, at most the latest `keep` of them;
    /// times more than a year before `until` are not looked at.
    pub fn fire_times_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        keep: usize,
    ) -> Result<Vec<DateTime<Utc>>, ScheduleError> {
        let mut cursor = after.max(until - chrono::Duration::days(366));
        let mut times = std::collections::VecDeque::new();
        while let Some(next) = self.next_fire_times(cursor, 1)?.into_iter().next() {
            if next > until {
                break;
            }
            times.push_back(next);
            if times.len() > keep.max(1) {
                times.pop_front();
            }
            cursor = next;
        }
        Ok(times.into())
    }

    /// The cadence as written: the cron expression, or `every 2h30m`.
    pub fn describe(&self) -> String {
        match &self.when {
            Cadence::Cron(expression) => expression.clone(),
            Cadence::EverySecs(seconds) => format!(
                "every {}",
                crate::text::duration(Duration::from_secs(*seconds))
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn intervals_are_aligned_to_the_epoch() {
        let schedule = Schedule {
            when: Cadence::EverySecs(9_000),
            timezone: "UTC".into(),
            catch_up: CatchUp::Skip,
        };
        let times = schedule
            .next_fire_times(at("2026-11-21T00:00:00Z"), 3)
            .unwrap();
        let text: Vec<String> = times.iter().map(|time| time.to_rfc3339()).collect();
        assert_eq!(
            text,
            [
                "2026-11-21T00:30:00+00:00",
                "2026-11-21T03:00:00+00:00",
                "2026-11-21T05:30:00+00:00"
            ]
        );
    }

    #[test]
    fn weekly_cron_in_a_time_zone_across_daylight_saving() {
        // Saturdays 08:15 in Prague: UTC+1 in winter, UTC+2 in summer.
        let schedule = Schedule {
            when: Cadence::Cron("15 8 * * SAT".into()),
            timezone: "Europe/Prague".into(),
            catch_up: CatchUp::Latest,
        };
        let times = schedule
            .next_fire_times(at("2027-03-20T00:00:00Z"), 2)
            .unwrap();
        assert_eq!(times[0], at("2027-03-20T07:15:00Z"));
        assert_eq!(times[1], at("2027-03-27T07:15:00Z"));
        let times = schedule
            .next_fire_times(at("2027-03-27T07:15:00Z"), 1)
            .unwrap();
        assert_eq!(times[0], at("2027-04-03T06:15:00Z"));
    }

    #[test]
    fn unevaluable_schedules_are_errors() {
        let bad_zone = Schedule {
            when: Cadence::Cron("0 2 * * *".into()),
            timezone: "Mars/Olympus".into(),
            catch_up: CatchUp::Skip,
        };
        assert_eq!(
            bad_zone
                .next_fire_times(Utc::now(), 1)
                .unwrap_err()
                .to_string(),
            "schedule `Mars/Olympus` cannot be evaluated: unknown time zone"
        );
        let bad_cron = Schedule {
            when: Cadence::Cron("61 * * * *".into()),
            timezone: "UTC".into(),
            catch_up: CatchUp::Skip,
        };
        assert!(bad_cron.next_fire_times(Utc::now(), 1).is_err());
    }
}
