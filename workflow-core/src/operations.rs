//! How a workflow is operated: its schedule, how runs may overlap, pools, run timeout, what
//! happens on failure and who hears about it. Declared with attributes on `workflow!`.

use std::time::Duration;

use chrono::{DateTime, Utc};
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
    /// A five-field cron expression (the grammar of the `workflow-schedule` crate).
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
    /// One calendar day in the schedule's zone: the parameter is a `NaiveDate` (or a date-time
    /// type: the day's first instant, see [`PartitionKey`]).
    Daily,
    /// One week, Monday to Sunday: the parameter is a `NaiveDate`, the week's Monday.
    Weekly,
    /// One hour: the parameter is a `DateTime<Utc>`, `DateTime<FixedOffset>` or a
    /// `NaiveDateTime` (the hour in UTC).
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

/// A parameter's parser: command-line text to the declared type, as JSON.
pub type ParamParser = fn(&str) -> Result<serde_json::Value, String>;

/// One partition, as the text its parameter receives: the same interval written in each form
/// a partition parameter type reads, so that every accepted type gets its exact value.
///
/// | size | `NaiveDate` | `DateTime<Utc>`, `DateTime<FixedOffset>` | `NaiveDateTime` |
/// |---|---|---|---|
/// | daily, weekly | the local date | the day's first instant, with the zone's offset | local midnight |
/// | hourly | — | the hour's first instant, with the zone's offset | the hour's first instant in UTC |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionKey {
    forms: Vec<String>,
}

impl PartitionKey {
    /// The partition's name for people: the local date, or the hour's first instant with its
    /// offset (`2026-10-25T02:00:00+01:00`).
    pub fn label(&self) -> &str {
        self.forms.first().map_or("", String::as_str)
    }

    /// The form `parse` (a parameter's parser) reads; the label when there is no parser or
    /// none reads.
    pub fn text_for(&self, parse: Option<ParamParser>) -> String {
        parse
            .and_then(|parse| self.forms.iter().find(|form| parse(form).is_ok()))
            .unwrap_or(&self.forms[0])
            .clone()
    }

    fn day(day: chrono::NaiveDate, zone: &chrono_tz::Tz) -> PartitionKey {
        let mut forms = vec![day.to_string()];
        // The day's first local time: midnight, or the first time after it that exists.
        let mut first = day.and_time(chrono::NaiveTime::MIN);
        if let Some(start) = workflow_schedule::day_start(day, zone) {
            let local = start.with_timezone(zone);
            forms.push(local.to_rfc3339());
            first = local.naive_local();
        }
        forms.push(first.format("%Y-%m-%dT%H:%M:%S").to_string());
        PartitionKey { forms }
    }

    fn hour(start: DateTime<Utc>, zone: &chrono_tz::Tz) -> PartitionKey {
        PartitionKey {
            forms: vec![
                start.with_timezone(zone).to_rfc3339(),
                start.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string(),
            ],
        }
    }
}

impl Partition {
    /// The most partitions one backfill plans.
    pub const MAX_BACKFILL: u64 = 10_000;

    /// The partition a scheduled run at `fire` processes: the day, week or hour that ended
    /// before it, in `timezone` (an IANA name; UTC if unknown). Daily and weekly partitions are
    /// local dates; an hourly one is one real hour (the local hour before the one `fire` is
    /// in), never a local hour that does not exist or occurs twice.
    ///
    /// ```
    /// use workflow_core::operations::{Partition, PartitionEvery};
    /// use chrono::{TimeZone, Utc};
    ///
    /// let daily = Partition { every: PartitionEvery::Daily, param: "day".into() };
    /// let fire = Utc.with_ymd_and_hms(2026, 11, 22, 1, 5, 0).unwrap(); // 02:05 in Prague
    /// assert_eq!(daily.key_for_fire(fire, "Europe/Prague").label(), "2026-11-21");
    /// let hourly = Partition { every: PartitionEvery::Hourly, param: "hour".into() };
    /// assert_eq!(hourly.key_for_fire(fire, "Europe/Prague").label(), "2026-11-22T01:00:00+01:00");
    /// // The repeated hour of 2026-10-25: two fires at 02:05, two different hours.
    /// let first = Utc.with_ymd_and_hms(2026, 10, 25, 0, 5, 0).unwrap();
    /// let second = Utc.with_ymd_and_hms(2026, 10, 25, 1, 5, 0).unwrap();
    /// assert_eq!(hourly.key_for_fire(first, "Europe/Prague").label(), "2026-10-25T01:00:00+02:00");
    /// assert_eq!(hourly.key_for_fire(second, "Europe/Prague").label(), "2026-10-25T02:00:00+02:00");
    /// // Saturday 2026-11-21: the week that ended before it began on Monday 2026-11-09.
    /// let weekly = Partition { every: PartitionEvery::Weekly, param: "week".into() };
    /// let saturday = Utc.with_ymd_and_hms(2026, 11, 21, 7, 15, 0).unwrap();
    /// assert_eq!(weekly.key_for_fire(saturday, "Europe/Prague").label(), "2026-11-09");
    /// ```
    pub fn key_for_fire(&self, fire: DateTime<Utc>, timezone: &str) -> PartitionKey {
        let zone: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
        let local = fire.with_timezone(&zone).date_naive();
        match self.every {
            PartitionEvery::Daily => PartitionKey::day(local - chrono::Duration::days(1), &zone),
            PartitionEvery::Weekly => {
                PartitionKey::day(monday(local) - chrono::Duration::days(7), &zone)
            }
            PartitionEvery::Hourly => {
                PartitionKey::hour(workflow_schedule::hour_before(fire, &zone), &zone)
            }
        }
    }

    /// The partitions in `range` (`FROM..TO`, both ends included, local to `timezone`),
    /// oldest first. An hourly range covers every real hour from FROM's first instant to TO's
    /// last: a repeated local hour twice, a skipped one not at all.
    ///
    /// ```
    /// use workflow_core::operations::{Partition, PartitionEvery};
    ///
    /// let daily = Partition { every: PartitionEvery::Daily, param: "day".into() };
    /// let days = daily.backfill("2026-11-30..2026-12-02", "UTC").unwrap();
    /// let labels: Vec<&str> = days.iter().map(|key| key.label()).collect();
    /// assert_eq!(labels, ["2026-11-30", "2026-12-01", "2026-12-02"]);
    /// let hourly = Partition { every: PartitionEvery::Hourly, param: "hour".into() };
    /// assert_eq!(hourly.backfill("2026-11-01T22..2026-11-02T00", "UTC").unwrap().len(), 3);
    /// assert_eq!(hourly.backfill("2026-10-25T01..2026-10-25T03", "Europe/Prague").unwrap().len(), 4);
    /// // A date alone: its first hour as FROM, its last as TO (25 hours on 2026-10-25 in Prague).
    /// assert_eq!(hourly.backfill("2026-10-25..2026-10-25", "Europe/Prague").unwrap().len(), 25);
    /// // A weekly range names any day of its first and last weeks.
    /// let weekly = Partition { every: PartitionEvery::Weekly, param: "week".into() };
    /// let weeks = weekly.backfill("2026-11-04..2026-11-16", "UTC").unwrap();
    /// let labels: Vec<&str> = weeks.iter().map(|key| key.label()).collect();
    /// assert_eq!(labels, ["2026-11-02", "2026-11-09", "2026-11-16"]);
    /// assert!(daily.backfill("2026-11-21..2026-11-01", "UTC").is_err());
    /// ```
    pub fn backfill(
        &self,
        range: &str,
        timezone: &str,
    ) -> Result<Vec<PartitionKey>, BackfillError> {
        let zone: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
        let Some((from, to)) = range.split_once("..") else {
            return Err(BackfillError::Malformed(range.to_owned()));
        };
        let to = to.strip_prefix('=').unwrap_or(to);
        let too_long = |count: u64| BackfillError::TooLong {
            range: range.to_owned(),
            count,
            max: Self::MAX_BACKFILL,
        };
        match self.every {
            PartitionEvery::Daily | PartitionEvery::Weekly => {
                let (mut from, mut to) = (day_start(from)?.date(), day_start(to)?.date());
                let step = if self.every == PartitionEvery::Weekly {
                    from = monday(from);
                    to = monday(to);
                    7
                } else {
                    1
                };
                if to < from {
                    return Err(BackfillError::Reversed(range.to_owned()));
                }
                let count = (to - from).num_days() as u64 / step + 1;
                if count > Self::MAX_BACKFILL {
                    return Err(too_long(count));
                }
                // A day the zone skipped entirely has no instants: no partition.
                Ok((0..count as i64)
                    .map(|index| from + chrono::Duration::days(index * step as i64))
                    .filter(|day| step == 7 || workflow_schedule::day_start(*day, &zone).is_some())
                    .map(|day| PartitionKey::day(day, &zone))
                    .collect())
            }
            PartitionEvery::Hourly => {
                // A date alone is its first hour as FROM and its last hour as TO.
                let to_hour = if chrono::NaiveDate::parse_from_str(to.trim(), "%Y-%m-%d").is_ok() {
                    hour_start(to)? + chrono::Duration::hours(23)
                } else {
                    hour_start(to)?
                };
                let (from, to) = (hour_start(from)?, to_hour);
                let resolve = |local: chrono::NaiveDateTime, last: bool| {
                    use chrono::TimeZone as _;
                    match zone.from_local_datetime(&local) {
                        chrono::LocalResult::Single(instant) => Some(instant),
                        chrono::LocalResult::Ambiguous(first, second) => {
                            Some(if last { second } else { first })
                        }
                        chrono::LocalResult::None => None,
                    }
                    .map(|instant| instant.with_timezone(&Utc))
                };
                let bound = |text: &str, local: chrono::NaiveDateTime, last: bool| {
                    resolve(local, last).ok_or_else(|| BackfillError::Bound {
                        bound: text.to_owned(),
                        expected: format!(
                            "this hour does not exist in {zone} (the clocks skip it)"
                        ),
                    })
                };
                let (first, last) = (bound(range, from, false)?, bound(range, to, true)?);
                if last < first {
                    return Err(BackfillError::Reversed(range.to_owned()));
                }
                let count = (last - first).num_hours() as u64 + 1;
                if count > Self::MAX_BACKFILL {
                    return Err(too_long(count));
                }
                Ok((0..count as i64)
                    .map(|index| PartitionKey::hour(first + chrono::Duration::hours(index), &zone))
                    .collect())
            }
        }
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
    /// The schedule ready to evaluate with the shared evaluator (`workflow-schedule`), or why
    /// it cannot be (a schedule built by hand, not checked by `workflow!`).
    pub fn timetable(&self) -> Result<workflow_schedule::Timetable, ScheduleError> {
        let expression = match &self.when {
            Cadence::Cron(expression) => expression.clone(),
            Cadence::EverySecs(seconds) => format!("every {seconds}s"),
        };
        match &self.when {
            Cadence::Cron(cron) => workflow_schedule::Timetable::cron(cron, &self.timezone),
            Cadence::EverySecs(seconds) => workflow_schedule::Timetable::every(*seconds),
        }
        .map_err(|error| ScheduleError {
            expression,
            reason: error.to_string(),
        })
    }

    /// The next `count` fire times strictly after `now`, in UTC, by the rules of
    /// `workflow-schedule` (daylight-saving changes included).
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
        Ok(self.timetable()?.next_n(now, count))
    }

    /// The fire times in `(after, until]`, oldest first, at most the latest `keep` of them;
    /// times more than a year before `until` are not looked at. The search runs backwards
    /// from `until`, so it takes about as long for `* * * * *` as for a weekly schedule.
    pub fn fire_times_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        keep: usize,
    ) -> Result<Vec<DateTime<Utc>>, ScheduleError> {
        let after = after.max(until - chrono::Duration::days(366));
        Ok(self.timetable()?.between(after, until, keep))
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
    fn partition_keys_name_days_and_hours_that_exist() {
        let daily = Partition {
            every: PartitionEvery::Daily,
            param: "day".into(),
        };
        // Samoa skipped 2011-12-30: no partition for it, and no key twice.
        let days = daily
            .backfill("2011-12-28..2012-01-01", "Pacific/Apia")
            .unwrap();
        let labels: Vec<&str> = days.iter().map(PartitionKey::label).collect();
        assert_eq!(
            labels,
            ["2011-12-28", "2011-12-29", "2011-12-31", "2012-01-01"]
        );
        // Santiago skips midnight on 2026-09-06: the day begins at 01:00.
        let santiago = daily
            .backfill("2026-09-06..2026-09-06", "America/Santiago")
            .unwrap();
        fn naive(text: &str) -> Result<serde_json::Value, String> {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
                .map(|_| serde_json::Value::from(text))
                .map_err(|error| error.to_string())
        }
        fn utc(text: &str) -> Result<serde_json::Value, String> {
            DateTime::parse_from_rfc3339(text)
                .map(|time| serde_json::Value::from(time.with_timezone(&Utc).to_rfc3339()))
                .map_err(|error| error.to_string())
        }
        assert_eq!(santiago[0].text_for(Some(naive)), "2026-09-06T01:00:00");
        assert_eq!(santiago[0].text_for(Some(utc)), "2026-09-06T01:00:00-03:00");
        assert_eq!(santiago[0].text_for(None), "2026-09-06");
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
            "schedule `0 2 * * *` cannot be evaluated: unknown time zone `Mars/Olympus`; use an IANA name such as `Europe/Prague` or `UTC`"
        );
        let bad_cron = Schedule {
            when: Cadence::Cron("61 * * * *".into()),
            timezone: "UTC".into(),
            catch_up: CatchUp::Skip,
        };
        assert!(bad_cron.next_fire_times(Utc::now(), 1).is_err());
    }
}
