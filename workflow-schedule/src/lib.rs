//! The one schedule grammar and evaluator of workflow-core: the `workflow!` macro checks
//! `#[schedule]` with it at compile time, and `plan`, `tick` and every exporter evaluate it at
//! run time, so that all of them agree on every fire time.
//!
//! # Grammar
//!
//! A cron expression has five fields, `minute hour day-of-month month day-of-week`, each `*`, a
//! number, a range `a-b`, a step `*/n`, `a-b/n` or `a/n`, or a comma list of those; months may
//! be named `JAN`–`DEC` and weekdays `SUN`–`SAT` (0 and 7 are Sunday). The nicknames `@hourly`,
//! `@daily` (`@midnight`), `@weekly`, `@monthly` and `@yearly` (`@annually`) stand for their
//! five fields. Nothing else is accepted, because not every export target can express it: no
//! seconds field, no Quartz year field, no `?`, `L`, `W` or `#`, no step wider than its field.
//! The day of the month and the weekday both restrict the days (neither is `*`): a day matches
//! when either matches, as in every cron since Vixie's. A day field that starts with `*` but is
//! not `*` (`*/2`) next to a restricted other day field is refused: engines disagree about it.
//!
//! An interval (`every`) is a whole number of minutes, at least one, counted from
//! 1970-01-01T00:00:00Z, so that every machine agrees on its fire times; it is read in UTC.
//!
//! # Daylight saving time
//!
//! A cron expression is read in an IANA time zone, with the rules of Debian's cron (as
//! `cronsim` implements them):
//!
//! - an expression whose minute and hour fields both name values (neither starts with `*`) fires
//!   at *wall-clock times*: a time that a change to summer time skips fires at the first
//!   instant after it that exists (02:30 on the spring change in Prague fires at 03:00 CEST),
//!   several skipped times fire once, and a time that the change back repeats fires once, at
//!   its first occurrence;
//! - an expression whose minute or hour field starts with `*` fires at every instant whose
//!   local time matches: a skipped hour has no fire times, a repeated hour has them twice.
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use workflow_schedule::Timetable;
//!
//! let hourly = Timetable::cron("0 * * * *", "Europe/Prague").unwrap();
//! let now: DateTime<Utc> = "2026-10-24T22:30:00Z".parse().unwrap();
//! let fires: Vec<String> = hourly.next_n(now, 5).iter().map(|t| t.to_rfc3339()).collect();
//! // 01:00 CEST, 02:00 CEST, 02:00 CET (the repeated hour), 03:00 CET, 04:00 CET
//! assert_eq!(fires, [
//!     "2026-10-24T23:00:00+00:00", "2026-10-25T00:00:00+00:00", "2026-10-25T01:00:00+00:00",
//!     "2026-10-25T02:00:00+00:00", "2026-10-25T03:00:00+00:00",
//! ]);
//! ```

use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;

/// The shortest interval between two fire times of any schedule, in seconds.
pub const MIN_INTERVAL_SECS: u64 = 60;

/// How far a search for the next or previous fire time looks, in days: eight years, enough
/// for the 29th of February in a year whose weekday is also named.
const SEARCH_DAYS: i64 = 8 * 366;

/// The fields, in order, with their names and ranges.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIVE_FIELDS: &str =
    "write five fields, `minute hour day-of-month month day-of-week`, e.g. `30 2 * * *`";

/// A schedule expression this product does not accept, with the rule it breaks and how to
/// write it instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError(pub String);

impl fmt::Display for ScheduleError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for ScheduleError {}

fn error(message: impl Into<String>) -> ScheduleError {
    ScheduleError(message.into())
}

/// One field: the values it allows, and whether it was written starting with `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    bits: u64,
    star: bool,
}

impl Field {
    fn has(self, value: u32) -> bool {
        self.bits & (1 << value) != 0
    }

    fn values(self, low: u32, high: u32) -> impl Iterator<Item = u32> {
        (low..=high).filter(move |value| self.has(*value))
    }
}

/// A five-field cron expression, checked against the grammar in the crate documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr {
    written: String,
    fields: [Field; 5],
}

impl CronExpr {
    /// Reads `text`, or says which rule it breaks and how to write it.
    ///
    /// ```
    /// use workflow_schedule::CronExpr;
    /// assert_eq!(CronExpr::parse("*/15 9-17 * * MON-FRI").unwrap().canonical(), "*/15 9-17 * * 1-5");
    /// assert!(CronExpr::parse("0 30 2 * * *").unwrap_err().to_string().contains("seconds"));
    /// ```
    pub fn parse(text: &str) -> Result<CronExpr, ScheduleError> {
        let trimmed = text.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            nickname if nickname.starts_with('@') => {
                return Err(error(format!(
                    "unknown cron nickname `{trimmed}`; the nicknames are `@hourly`, `@daily`, `@weekly`, `@monthly` and `@yearly`, or {FIVE_FIELDS}"
                )));
            }
            _ => trimmed,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        match parts.len() {
            5 => {}
            6 => {
                return Err(error(format!(
                    "cron expression `{trimmed}` has six fields: a seconds field is not accepted, because a schedule fires at most once a minute and engines read a sixth field differently (Airflow as seconds at the end, EventBridge as a year); {FIVE_FIELDS}"
                )));
            }
            7 => {
                return Err(error(format!(
                    "cron expression `{trimmed}` has seven fields (Quartz's seconds and year): not every engine reads them; {FIVE_FIELDS}"
                )));
            }
            count => {
                return Err(error(format!(
                    "cron expression `{trimmed}` has {count} field{}; {FIVE_FIELDS}",
                    if count == 1 { "" } else { "s" }
                )));
            }
        }
        let mut fields = [Field {
            bits: 0,
            star: false,
        }; 5];
        for (index, part) in parts.iter().enumerate() {
            fields[index] = parse_field(part, index, trimmed)?;
        }
        // Sunday is 0 and 7.
        if fields[4].has(7) {
            fields[4].bits = (fields[4].bits & !(1 << 7)) | 1;
        }
        let (day, weekday) = (parts[2], parts[4]);
        for (starred, other, name, other_name) in [
            (day, weekday, "day-of-month", "day-of-week"),
            (weekday, day, "day-of-week", "day-of-month"),
        ] {
            if starred.starts_with('*') && starred != "*" && other != "*" {
                return Err(error(format!(
                    "cron expression `{trimmed}`: `{starred}` in the {name} field next to `{other}` in the {other_name} field is read differently by different engines (cron takes a field starting with `*` as \"every day\", so both fields must match); write the {name} field without `*` (e.g. `{}`) to fire when either matches, or make one of the two fields `*`",
                    starred.replacen(
                        '*',
                        if name == "day-of-month" {
                            "1-31"
                        } else {
                            "0-6"
                        },
                        1
                    )
                )));
            }
        }
        let expression = CronExpr {
            written: trimmed.to_owned(),
            fields,
        };
        if !(0..SEARCH_DAYS).any(|offset| {
            NaiveDate::from_ymd_opt(2028, 1, 1)
                .and_then(|start| start.checked_add_signed(Duration::days(offset)))
                .is_some_and(|day| expression.day_matches(day))
        }) {
            return Err(error(format!(
                "cron expression `{trimmed}` never fires: no month it names has the days it names"
            )));
        }
        // croner, the reference reader, must agree that this is a cron expression.
        croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .build()
            .parse(&expression.canonical())
            .map_err(|failure| {
                error(format!(
                    "cron expression `{trimmed}` is not understood: {failure}; {FIVE_FIELDS}"
                ))
            })?;
        Ok(expression)
    }

    /// The expression as written.
    pub fn as_written(&self) -> &str {
        &self.written
    }

    /// Whether the expression fires at wall-clock times (its minute and hour fields name
    /// values), which changes what a daylight-saving change does to it (crate documentation).
    pub fn is_wall_clock(&self) -> bool {
        !self.fields[0].star && !self.fields[1].star
    }

    /// Whether the hour field is `*` (every hour).
    pub fn every_hour(&self) -> bool {
        self.fields[1].star && self.fields[1].bits == full(0, 23)
    }

    /// The minutes (0–59) the expression names.
    pub fn minutes(&self) -> Vec<u32> {
        self.fields[0].values(0, 59).collect()
    }

    /// The hours (0–23) the expression names.
    pub fn hours(&self) -> Vec<u32> {
        self.fields[1].values(0, 23).collect()
    }

    /// The days of the month (1–31), or `None` for `*`.
    pub fn days(&self) -> Option<Vec<u32>> {
        (self.fields[2].bits != full(1, 31)).then(|| self.fields[2].values(1, 31).collect())
    }

    /// The months (1–12).
    pub fn months(&self) -> Vec<u32> {
        self.fields[3].values(1, 12).collect()
    }

    /// The weekdays (0 = Sunday … 6), or `None` for `*`.
    pub fn weekdays(&self) -> Option<Vec<u32>> {
        (self.fields[4].bits & full(0, 6) != full(0, 6))
            .then(|| self.fields[4].values(0, 6).collect())
    }

    /// Whether the day of the month and the weekday are both restricted, so that a day
    /// matches when either does.
    pub fn days_or_weekdays(&self) -> bool {
        !self.fields[2].star && !self.fields[4].star
    }

    /// The expression in the five-field syntax every engine's cron reads the same way:
    /// numbers only (weekdays 0–6 from Sunday), `*` and `*/n` only where the expression had
    /// them (so an engine that treats such fields specially still does), lists and ranges
    /// elsewhere.
    pub fn canonical(&self) -> String {
        (0..5)
            .map(|index| self.render(index, false))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The expression as EventBridge Scheduler's `cron(minutes hours day-of-month month
    /// day-of-week year)`, in which one of the two day fields is `?`, weekdays are named and
    /// steps are written `start/step` (Amazon EventBridge Scheduler User Guide, "Schedule
    /// types": cron-based schedules). An expression that restricts both day fields has no
    /// such form.
    pub fn eventbridge(&self) -> Result<String, String> {
        let minute = self.render(0, true);
        let hour = self.render(1, true);
        let month = self.render(3, true);
        let both = || {
            "it restricts both the day of the month and the weekday, and EventBridge takes one of them".to_owned()
        };
        let every_date = self.fields[2].bits & full(1, 31) == full(1, 31);
        let every_weekday = self.fields[4].bits & full(0, 6) == full(0, 6);
        // Either matches (both restricted), or both must (one written with `*`).
        let (dates, weekdays) = if self.days_or_weekdays() {
            if every_date || every_weekday {
                (true, true)
            } else {
                return Err(both());
            }
        } else {
            (every_date, every_weekday)
        };
        match (dates, weekdays) {
            (true, true) => Ok(format!("cron({minute} {hour} * {month} ? *)")),
            (true, false) => Ok(format!(
                "cron({minute} {hour} ? {month} {} *)",
                self.render(4, true)
            )),
            (false, true) => Ok(format!(
                "cron({minute} {hour} {} {month} ? *)",
                self.render(2, true)
            )),
            (false, false) => Err(both()),
        }
    }

    /// systemd `OnCalendar=` lines (systemd.time(7)) that name the same local times in
    /// `zone`. Where both day fields are restricted, cron fires when either matches while
    /// systemd wants both: such an expression becomes two lines. What systemd does at a
    /// daylight-saving change differs from this crate's rules: see [`Timetable::anomalies`].
    pub fn on_calendar(&self, zone: &str) -> Vec<String> {
        let time = format!(
            "{}:{}:00",
            systemd_values(&self.hours(), 0, 23),
            systemd_values(&self.minutes(), 0, 59)
        );
        let months = systemd_values(&self.months(), 1, 12);
        let line = |weekdays: Option<&Vec<u32>>, days: Option<&Vec<u32>>| {
            let mut text = String::new();
            if let Some(weekdays) = weekdays {
                text.push_str(&systemd_weekdays(weekdays));
                text.push(' ');
            }
            let days = days.map_or_else(|| "*".to_owned(), |days| systemd_values(days, 1, 31));
            text.push_str(&format!("*-{months}-{days} {time} {zone}"));
            text
        };
        if self.days_or_weekdays() {
            // Either matches: one line each (a field naming every value gives every day).
            let days: Vec<u32> = self.fields[2].values(1, 31).collect();
            let weekdays: Vec<u32> = self.fields[4].values(0, 6).collect();
            if days.len() == 31 || weekdays.len() == 7 {
                return vec![line(None, None)];
            }
            return vec![line(Some(&weekdays), None), line(None, Some(&days))];
        }
        vec![line(self.weekdays().as_ref(), self.days().as_ref())]
    }

    fn render(&self, index: usize, eventbridge: bool) -> String {
        let (_, low, high) = FIELDS[index];
        let high = if index == 4 { 6 } else { high };
        let field = self.fields[index];
        let values: Vec<u32> = field.values(low, high).collect();
        if field.star {
            if field.bits & full(low, high) == full(low, high) {
                return "*".to_owned();
            }
            // `*/n` was written: the values run from the field's start by `n`.
            let step = values
                .get(1)
                .map_or(high - low + 1, |second| second - values[0]);
            return if eventbridge {
                format!("{low}/{step}")
            } else {
                format!("*/{step}")
            };
        }
        if eventbridge && index == 4 {
            return name_runs(&values);
        }
        join_runs(&values, |value| value.to_string(), "-")
    }

    fn day_matches(&self, day: NaiveDate) -> bool {
        if !self.fields[3].has(day.month()) {
            return false;
        }
        let by_date = self.fields[2].has(day.day());
        let by_weekday = self.fields[4].has(day.weekday().num_days_from_sunday());
        if self.days_or_weekdays() {
            by_date || by_weekday
        } else {
            by_date && by_weekday
        }
    }

    /// The instants the expression fires at on the local `day` in `zone`, sorted, by the
    /// rules of the crate documentation (`rule` chooses them; [`DstRule::Plan`] is ours).
    fn fires_on(&self, day: NaiveDate, zone: &Tz, rule: DstRule, out: &mut Vec<DateTime<Utc>>) {
        if !self.day_matches(day) {
            return;
        }
        let start = out.len();
        for hour in self.fields[1].values(0, 23) {
            for minute in self.fields[0].values(0, 59) {
                let Some(naive) = day.and_hms_opt(hour, minute, 0) else {
                    continue;
                };
                map_local(naive, zone, rule, self.is_wall_clock(), out);
            }
        }
        out[start..].sort_unstable();
        let mut kept = start;
        for index in start..out.len() {
            if kept == start || out[kept - 1] != out[index] {
                out[kept] = out[index];
                kept += 1;
            }
        }
        out.truncate(kept);
    }
}

impl CronExpr {
    /// The fire times in `(from, to)` as Airflow's `CronTriggerTimetable` walks them, run
    /// after run from `from` (see [`DstRule::AirflowWallClock`] and [`DstRule::AirflowDelta`]).
    fn airflow(
        &self,
        zone: &Tz,
        delta: bool,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let mut matches = Vec::new();
        let first = from.with_timezone(zone).date_naive() - Duration::days(1);
        let last = to.with_timezone(zone).date_naive() + Duration::days(1);
        let mut day = first;
        while day <= last {
            if self.day_matches(day) {
                for hour in self.fields[1].values(0, 23) {
                    for minute in self.fields[0].values(0, 59) {
                        if let Some(naive) = day.and_hms_opt(hour, minute, 0) {
                            matches.push(naive);
                        }
                    }
                }
            }
            day += Duration::days(1);
        }
        let mut fires = Vec::new();
        let mut current = from;
        loop {
            let naive = current.with_timezone(zone).naive_local();
            let Some(next) = matches.iter().find(|candidate| **candidate > naive) else {
                break;
            };
            let fire = if delta {
                current + (*next - naive)
            } else {
                match zone.from_local_datetime(next) {
                    LocalResult::Single(instant) => instant.with_timezone(&Utc),
                    LocalResult::Ambiguous(_, second) => second.with_timezone(&Utc),
                    LocalResult::None => {
                        let before = zone
                            .offset_from_utc_datetime(&(*next - Duration::hours(12)))
                            .fix()
                            .local_minus_utc();
                        Utc.from_utc_datetime(&(*next - Duration::seconds(i64::from(before))))
                    }
                }
            };
            if fire >= to || fire <= current {
                break;
            }
            fires.push(fire);
            current = fire;
        }
        fires
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.written)
    }
}

/// How a local wall time that a daylight-saving change skips or repeats becomes instants.
/// [`DstRule::Plan`] is this product's rule (the crate documentation); the others are what
/// engines do, so that an export can tell whether it fires when the plan does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DstRule {
    /// This product's rule (Debian cron's).
    Plan,
    /// Every instant whose local time matches: a skipped time never fires, a repeated one
    /// fires twice. Go's `robfig/cron` (Argo Workflows) walks time this way, and so does
    /// Airflow's `CronTriggerTimetable` for an expression whose hour field is `*`.
    RealTime,
    /// A skipped time does not fire, a repeated one fires once (first occurrence): Amazon
    /// EventBridge Scheduler ("Daylight saving time" in its user guide) and systemd's
    /// `OnCalendar=` with a time zone (as `systemd-analyze calendar` evaluates it).
    SkipGapFirstFold,
    /// Airflow's `CronTriggerTimetable` for an hour field other than `*`: from the last run,
    /// the next matching local wall time, made an instant with pendulum's rules (a skipped
    /// time moves forward by the gap's length, 02:30 becoming 03:30; a repeated one is its
    /// second occurrence). `airflow/timetables/_cron.py`, `CronMixin._get_next`.
    AirflowWallClock,
    /// Airflow's `CronTriggerTimetable` for an hour field of `*`: from the last run, the
    /// next matching local wall time, reached by adding the wall-clock difference to the last
    /// run's instant (same source).
    AirflowDelta,
}

fn map_local(
    naive: NaiveDateTime,
    zone: &Tz,
    rule: DstRule,
    wall_clock: bool,
    out: &mut Vec<DateTime<Utc>>,
) {
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(instant) => out.push(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, second) => {
            out.push(first.with_timezone(&Utc));
            let both = match rule {
                DstRule::Plan => !wall_clock,
                DstRule::RealTime => true,
                _ => false,
            };
            if both {
                out.push(second.with_timezone(&Utc));
            }
        }
        LocalResult::None => match rule {
            DstRule::Plan if wall_clock => {
                if let Some(instant) = first_valid_after(naive, zone) {
                    out.push(instant);
                }
            }
            _ => {}
        },
    }
}

/// The first instant after `naive` (a local time that does not exist) whose local time
/// exists, searched minute by minute as Debian's cron and cronsim do.
fn first_valid_after(naive: NaiveDateTime, zone: &Tz) -> Option<DateTime<Utc>> {
    (1..=24 * 60).find_map(|minutes| {
        zone.from_local_datetime(&(naive + Duration::minutes(minutes)))
            .earliest()
            .map(|instant| instant.with_timezone(&Utc))
    })
}

fn full(low: u32, high: u32) -> u64 {
    (low..=high).fold(0, |bits, value| bits | 1 << value)
}

fn parse_field(text: &str, index: usize, expression: &str) -> Result<Field, ScheduleError> {
    let (name, low, high) = FIELDS[index];
    let names: &[&str] = match index {
        3 => &MONTHS,
        4 => &WEEKDAYS,
        _ => &[],
    };
    let first_name = if index == 3 { 1 } else { 0 };
    let upper = text.to_ascii_uppercase();
    let refuse = |what: &str| {
        error(format!(
            "cron expression `{expression}`: {what} in the {name} field `{text}` is not accepted"
        ))
    };
    if upper.contains('?') {
        return Err(error(format!(
            "cron expression `{expression}`: `?` (Quartz's \"no value\") in the {name} field is not accepted; write `*`"
        )));
    }
    for word in upper.split([',', '-', '/']) {
        if word == "*" || names.contains(&word) || word.parse::<u32>().is_ok() {
            continue;
        }
        let meaning = if word.contains('#') {
            "`#` (nth weekday of the month)"
        } else if word.contains('W') {
            "`W` (nearest weekday)"
        } else if word.contains('L') {
            "`L` (last)"
        } else {
            continue;
        };
        return Err(error(format!(
            "cron expression `{expression}`: {meaning} in the {name} field is not accepted, because not every engine can express it; name the days instead (e.g. `28-31`, with a check in the task for the last day)"
        )));
    }
    let number = |word: &str| -> Result<u32, ScheduleError> {
        if let Some(position) = names
            .iter()
            .position(|known| known.eq_ignore_ascii_case(word))
        {
            return Ok(position as u32 + first_name);
        }
        let value: u32 = word.parse().map_err(|_| {
            let expected = if names.is_empty() {
                format!("a number from {low} to {high}")
            } else {
                format!(
                    "a number from {low} to {high} or a name ({}–{})",
                    names[0],
                    names[names.len() - 1]
                )
            };
            if word.is_empty() {
                error(format!(
                    "cron expression `{expression}`: the {name} field `{text}` has an empty value; a range needs both ends (e.g. `1-5`) and numbers are not negative"
                ))
            } else {
                error(format!(
                    "cron expression `{expression}`: the {name} field `{text}` has `{word}` where {expected} belongs"
                ))
            }
        })?;
        if value < low || value > high {
            return Err(error(format!(
                "cron expression `{expression}`: `{value}` in the {name} field is outside {low}–{high}"
            )));
        }
        Ok(value)
    };
    if text.starts_with('*') && text.contains(',') {
        return Err(error(format!(
            "cron expression `{expression}`: `{text}` in the {name} field mixes `*` with a list; a field that starts with `*` is `*` or `*/n` alone (engines read `*` fields specially): write the values as a list, e.g. `{}`",
            list_example(text, low, high)
        )));
    }
    let mut bits = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(refuse("an empty list item"));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().ok().filter(|step| *step > 0).ok_or_else(|| {
                    refuse(&format!("`/{step}` (a step is a whole number from 1)"))
                })?;
                (range, step)
            }
            None => (item, 1),
        };
        let (start, end) = if range == "*" {
            (low, if index == 4 { 6 } else { high })
        } else if let Some((start, end)) = range.split_once('-') {
            (number(start)?, number(end)?)
        } else {
            let start = number(range)?;
            // `a/n` runs from `a` to the field's end.
            let last = if index == 4 { 6 } else { high };
            (
                start,
                if item.contains('/') {
                    last.max(start)
                } else {
                    start
                },
            )
        };
        if start > end {
            return Err(error(format!(
                "cron expression `{expression}`: the range `{range}` in the {name} field runs backwards; ranges do not wrap around, write two ranges (e.g. `22-23,0-2`)"
            )));
        }
        if step > 1 && step > end - start {
            return Err(error(format!(
                "cron expression `{expression}`: the step `/{step}` in the {name} field is wider than what it steps over ({start}–{end}), so it names one value; EventBridge refuses such steps: write the value (`{start}`)"
            )));
        }
        for value in (start..=end).step_by(step as usize) {
            bits |= 1 << value;
        }
    }
    Ok(Field {
        bits,
        star: text.starts_with('*'),
    })
}

/// `*/20,5` as the list it names, for a message.
fn list_example(text: &str, low: u32, high: u32) -> String {
    let mut values = std::collections::BTreeSet::new();
    for item in text.split(',') {
        if let Some(step) = item
            .strip_prefix("*/")
            .and_then(|step| step.parse::<u32>().ok())
        {
            values.extend((low..=high).step_by(step.max(1) as usize));
        } else if item == "*" {
            values.extend(low..=high);
        } else if let Ok(value) = item.parse::<u32>() {
            values.insert(value);
        }
    }
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Consecutive runs in sorted, distinct values.
fn runs(values: &[u32]) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &value in values {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == value => *end = value,
            _ => runs.push((value, value)),
        }
    }
    runs
}

/// Sorted, distinct values as a comma list: each value written by `item`, runs of three or
/// more as `first{range}last`.
fn join_runs(values: &[u32], item: impl Fn(u32) -> String, range: &str) -> String {
    runs(values)
        .into_iter()
        .map(|(start, end)| match end - start {
            0 => item(start),
            1 => format!("{},{}", item(start), item(end)),
            _ => format!("{}{range}{}", item(start), item(end)),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Weekdays as EventBridge names them: `MON-FRI`, `SUN,SAT`.
fn name_runs(weekdays: &[u32]) -> String {
    let name = |day: u32| {
        WEEKDAYS
            .get(day as usize)
            .copied()
            .unwrap_or("SUN")
            .to_owned()
    };
    join_runs(weekdays, name, "-")
}

/// Values in systemd's syntax: `*` for the whole field, `a..b` for runs of three or more.
fn systemd_values(values: &[u32], low: u32, high: u32) -> String {
    if values.len() as u32 == high - low + 1 {
        return "*".to_owned();
    }
    join_runs(values, |value| format!("{value:02}"), "..")
}

fn systemd_weekdays(days: &[u32]) -> String {
    const NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let name = |day: u32| NAMES.get(day as usize).copied().unwrap_or("Sun").to_owned();
    join_runs(days, name, "..")
}

/// Reads an interval (`every`): whole minutes, at least one. `text` is what was written, for
/// messages; `secs` its length.
pub fn check_interval(text: &str, secs: u64) -> Result<(), ScheduleError> {
    if secs < MIN_INTERVAL_SECS {
        return Err(error(format!(
            "`every = \"{text}\"`: a schedule fires at most once a minute; use `every = \"1m\"` or longer"
        )));
    }
    if secs > 366 * 86_400 {
        return Err(error(format!(
            "`every = \"{text}\"` is longer than a year; for yearly runs write `cron`, e.g. `@yearly` or `0 2 1 1 *`"
        )));
    }
    if !secs.is_multiple_of(60) {
        return Err(error(format!(
            "`every = \"{text}\"` is not a whole number of minutes; engines start runs on whole minutes (e.g. `every = \"{}m\"`)",
            secs.div_ceil(60)
        )));
    }
    Ok(())
}

/// What fires a [`Timetable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// A cron expression read in the timetable's zone.
    Cron(CronExpr),
    /// An interval in seconds, counted from 1970-01-01T00:00:00Z.
    Every(u64),
}

/// A schedule ready to evaluate: a cron expression in a time zone, or an interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timetable {
    /// What fires it.
    pub when: When,
    /// The zone a cron expression is read in (UTC for intervals).
    pub zone: Tz,
}

/// A change of a zone's UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The first instant with the new offset.
    pub at: DateTime<Utc>,
    /// The offset before, in seconds east of UTC.
    pub before: i32,
    /// The offset after.
    pub after: i32,
}

/// A local day on which an engine's rule for a daylight-saving change fires at other
/// instants than the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    /// The change.
    pub transition: Transition,
    /// What the plan fires at on the local days around it.
    pub plan: Vec<DateTime<Utc>>,
    /// What the engine fires at on the same days.
    pub engine: Vec<DateTime<Utc>>,
}

impl Anomaly {
    /// In words: "on 2027-03-28 (Europe/Prague changes from UTC+01:00 to UTC+02:00) the
    /// plan fires at 01:00Z, the engine at nothing".
    pub fn describe(&self, zone: &Tz, engine: &str) -> String {
        let list = |times: &[DateTime<Utc>]| {
            let only: Vec<String> = times
                .iter()
                .filter(|time| !self.plan.contains(time) || !self.engine.contains(time))
                .map(|time| time.format("%Y-%m-%dT%H:%MZ").to_string())
                .collect();
            if only.is_empty() {
                "no other instant".to_owned()
            } else {
                only.join(", ")
            }
        };
        format!(
            "around {} ({zone} changes from UTC{} to UTC{}) the plan fires at {} where {engine} fires at {}",
            self.transition.at.with_timezone(zone).date_naive(),
            offset_text(self.transition.before),
            offset_text(self.transition.after),
            list(&self.plan),
            list(&self.engine),
        )
    }
}

fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.unsigned_abs();
    format!("{sign}{:02}:{:02}", seconds / 3600, seconds % 3600 / 60)
}

/// The changes of `zone`'s offset in `[from, to)`, oldest first.
pub fn transitions(zone: &Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Transition> {
    let offset = |instant: DateTime<Utc>| {
        zone.offset_from_utc_datetime(&instant.naive_utc())
            .fix()
            .local_minus_utc()
    };
    let step = Duration::hours(6);
    let mut found = Vec::new();
    let mut cursor = from;
    let mut current = offset(cursor);
    while cursor < to {
        let next = (cursor + step).min(to);
        let after = offset(next);
        if after != current {
            // Bisect to the second.
            let (mut low, mut high) = (cursor, next);
            while high - low > Duration::seconds(1) {
                let middle = low + (high - low) / 2;
                if offset(middle) == current {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            found.push(Transition {
                at: high,
                before: current,
                after,
            });
            current = after;
        }
        cursor = next;
    }
    found
}

impl Timetable {
    /// A cron expression read in the IANA zone `zone`.
    pub fn cron(expression: &str, zone: &str) -> Result<Timetable, ScheduleError> {
        Ok(Timetable {
            when: When::Cron(CronExpr::parse(expression)?),
            zone: parse_zone(zone)?,
        })
    }

    /// An interval of `secs` seconds counted from the Unix epoch, in UTC.
    pub fn every(secs: u64) -> Result<Timetable, ScheduleError> {
        check_interval(&format!("{secs}s"), secs)?;
        Ok(Timetable {
            when: When::Every(secs),
            zone: chrono_tz::UTC,
        })
    }

    /// The first fire time strictly after `after`; `None` when there is none in the next
    /// eight years (a schedule that passed [`CronExpr::parse`] always has one).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.when {
            When::Every(secs) => {
                let step = i64::try_from(*secs).ok()?;
                let next = after
                    .timestamp()
                    .div_euclid(step)
                    .checked_add(1)?
                    .checked_mul(step)?;
                Utc.timestamp_opt(next, 0).single()
            }
            When::Cron(expression) => {
                let first = after.with_timezone(&self.zone).date_naive().pred_opt()?;
                let mut fires = Vec::new();
                for offset in 0..SEARCH_DAYS {
                    let day = first.checked_add_signed(Duration::days(offset))?;
                    fires.clear();
                    expression.fires_on(day, &self.zone, DstRule::Plan, &mut fires);
                    if let Some(next) = fires.iter().copied().find(|fire| *fire > after) {
                        // The next day's first fire time is earlier only when a skipped
                        // time moved past midnight.
                        fires.clear();
                        if let Some(following) = day.succ_opt() {
                            expression.fires_on(following, &self.zone, DstRule::Plan, &mut fires);
                        }
                        let later = fires.iter().copied().find(|fire| *fire > after);
                        return Some(later.map_or(next, |later| later.min(next)));
                    }
                }
                None
            }
        }
    }

    /// The next `count` fire times strictly after `after`, found in one pass over the days.
    pub fn next_n(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let When::Cron(expression) = &self.when else {
            let mut times = Vec::with_capacity(count);
            let mut cursor = after;
            while times.len() < count {
                let Some(next) = self.next_after(cursor) else {
                    break;
                };
                times.push(next);
                cursor = next;
            }
            return times;
        };
        let mut times = Vec::new();
        if count == 0 {
            return times;
        }
        let Some(first) = after.with_timezone(&self.zone).date_naive().pred_opt() else {
            return times;
        };
        let mut enough_on = None;
        let mut last_found = 0;
        let mut offset = 0;
        // Eight years past the last fire time found without another: none will come.
        while offset - last_found < SEARCH_DAYS {
            let Some(day) = first.checked_add_signed(Duration::days(offset)) else {
                break;
            };
            offset += 1;
            let start = times.len();
            expression.fires_on(day, &self.zone, DstRule::Plan, &mut times);
            let mut kept = start;
            for index in start..times.len() {
                if times[index] > after {
                    times[kept] = times[index];
                    kept += 1;
                }
            }
            times.truncate(kept);
            if times.len() > start {
                last_found = offset;
            }
            // One more day once there are enough: a skipped time may move past midnight.
            match enough_on {
                Some(_) => break,
                None if times.len() >= count => enough_on = Some(day),
                None => {}
            }
        }
        times.sort_unstable();
        times.dedup();
        times.truncate(count);
        times
    }

    /// The fire times in `(after, until]`, oldest first, at most the latest `keep` of them
    /// (at least one). The search goes backwards from `until`, so it costs the same whatever
    /// the cadence, and looks no further back than `after`.
    pub fn between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        keep: usize,
    ) -> Vec<DateTime<Utc>> {
        let keep = keep.max(1);
        let mut times = Vec::new();
        if until <= after {
            return times;
        }
        match &self.when {
            When::Every(secs) => {
                let Ok(step) = i64::try_from(*secs) else {
                    return times;
                };
                let mut fire = until.timestamp().div_euclid(step) * step;
                while times.len() < keep && fire > after.timestamp() {
                    match Utc.timestamp_opt(fire, 0).single() {
                        Some(time) if time > after => times.push(time),
                        _ => break,
                    }
                    fire -= step;
                }
            }
            When::Cron(expression) => {
                let Some(mut day) = until.with_timezone(&self.zone).date_naive().succ_opt() else {
                    return times;
                };
                let last = after.with_timezone(&self.zone).date_naive().pred_opt();
                let mut fires = Vec::new();
                while times.len() < keep && Some(day) >= last {
                    fires.clear();
                    expression.fires_on(day, &self.zone, DstRule::Plan, &mut fires);
                    for fire in fires.iter().rev() {
                        if *fire <= until
                            && *fire > after
                            && times.len() < keep
                            && !times.contains(fire)
                        {
                            times.push(*fire);
                        }
                    }
                    match day.pred_opt() {
                        Some(previous) => day = previous,
                        None => break,
                    }
                }
            }
        }
        times.sort_unstable();
        times
    }

    /// The daylight-saving changes of the zone in `[from, to)` on which an engine following
    /// `rule` fires at other instants than the plan, with what each does on the local days
    /// around the change. Empty for intervals (read in UTC) and for zones without changes.
    pub fn anomalies(&self, rule: DstRule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Anomaly> {
        let When::Cron(expression) = &self.when else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for transition in transitions(&self.zone, from, to) {
            let day = transition.at.with_timezone(&self.zone).date_naive();
            let mut plan = Vec::new();
            let mut engine = Vec::new();
            if matches!(rule, DstRule::AirflowWallClock | DstRule::AirflowDelta) {
                let (from, to) = (
                    transition.at - Duration::days(2),
                    transition.at + Duration::days(2),
                );
                plan = self.between(from, to, usize::MAX);
                plan.retain(|fire| *fire < to);
                engine = expression.airflow(&self.zone, rule == DstRule::AirflowDelta, from, to);
            } else {
                for offset in -1..=1 {
                    let Some(day) = day.checked_add_signed(Duration::days(offset)) else {
                        continue;
                    };
                    expression.fires_on(day, &self.zone, DstRule::Plan, &mut plan);
                    expression.fires_on(day, &self.zone, rule, &mut engine);
                }
            }
            plan.sort_unstable();
            plan.dedup();
            engine.sort_unstable();
            engine.dedup();
            if plan != engine {
                found.push(Anomaly {
                    transition,
                    plan,
                    engine,
                });
            }
        }
        found
    }

    /// Whether the zone never changes its offset in `[from, to)`.
    pub fn fixed_offset(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        transitions(&self.zone, from, to).is_empty()
    }
}

/// An IANA time zone, or an error that suggests one.
pub fn parse_zone(zone: &str) -> Result<Tz, ScheduleError> {
    zone.parse::<Tz>().map_err(|_| {
        error(match zone_hint(zone) {
            Some(hint) => format!("unknown time zone `{zone}`: {hint}"),
            None => format!(
                "unknown time zone `{zone}`; use an IANA name such as `Europe/Prague` or `UTC`"
            ),
        })
    })
}

/// What to write instead of a name that is not an IANA zone but reads as one: a UTC offset
/// ([`offset_hint`]), an abbreviation with an offset (`CET+1`), a common abbreviation (`PST`,
/// `CEST`), a city's local name (`Europe/Praha`) or a city without its region (`Prague`,
/// `new york`, `America/Prague`). IANA names use the English name of the region's largest
/// city (tzdb's `theory.html`, "Names of timezones"). `None` when nothing fits; a spelling
/// suggestion is then the caller's.
pub fn zone_hint(zone: &str) -> Option<String> {
    if let Some(hint) = offset_hint(zone) {
        return Some(hint);
    }
    let trimmed = zone.trim();
    if let Some(exact) = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|zone| zone.name())
        .find(|name| name.eq_ignore_ascii_case(trimmed))
    {
        return Some(format!("zone names are case-sensitive: write `{exact}`"));
    }
    let region = "a region's zone (e.g. `Europe/Prague`) is usually what is meant, as it also follows daylight saving";
    if let Some(at) = trimmed.find(['+', '-'])
        && at >= 2
        && trimmed[..at].chars().all(|c| c.is_ascii_alphabetic())
        && trimmed[at + 1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    {
        return Some(format!(
            "`{}` with an offset is not a zone name; {region}",
            &trimmed[..at]
        ));
    }
    const ABBREVIATIONS: [(&str, &str); 20] = [
        ("PST", "America/Los_Angeles"),
        ("PDT", "America/Los_Angeles"),
        ("MDT", "America/Denver"),
        ("CST", "America/Chicago"),
        ("CDT", "America/Chicago"),
        ("EDT", "America/New_York"),
        ("AKST", "America/Anchorage"),
        ("AKDT", "America/Anchorage"),
        ("BST", "Europe/London"),
        (
            "IST",
            "Asia/Kolkata` (India), `Europe/Dublin` (Ireland) or `Asia/Jerusalem` (Israel",
        ),
        (
            "CEST",
            "Europe/Berlin`, `Europe/Paris`, `Europe/Prague` or another Central European zone",
        ),
        (
            "EEST",
            "Europe/Athens`, `Europe/Helsinki` or another Eastern European zone",
        ),
        ("WEST", "Europe/Lisbon"),
        ("JST", "Asia/Tokyo"),
        ("KST", "Asia/Seoul"),
        ("HKT", "Asia/Hong_Kong"),
        ("SGT", "Asia/Singapore"),
        ("AEST", "Australia/Sydney"),
        ("AEDT", "Australia/Sydney"),
        ("NZST", "Pacific/Auckland"),
    ];
    let upper = trimmed.to_ascii_uppercase();
    if let Some((_, suggestion)) = ABBREVIATIONS.iter().find(|(name, _)| *name == upper) {
        return Some(format!(
            "`{trimmed}` is an abbreviation, not a zone name; write `{suggestion}`, which also follows daylight saving"
        ));
    }
    // The city part, compared without case, accents or the difference between ` ` and `_`.
    let normalize = |text: &str| -> String {
        text.chars()
            .map(|c| match c {
                ' ' | '-' => '_',
                'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
                'é' | 'è' | 'ê' | 'ë' | 'ě' => 'e',
                'í' | 'ì' | 'î' | 'ï' => 'i',
                'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
                'ú' | 'ù' | 'û' | 'ü' | 'ů' => 'u',
                'ç' | 'č' => 'c',
                'ř' => 'r',
                'š' | 'ș' | 'ş' => 's',
                'ž' => 'z',
                'ț' | 'ţ' => 't',
                other => other.to_ascii_lowercase(),
            })
            .collect()
    };
    let city = normalize(trimmed.rsplit('/').next().unwrap_or(trimmed));
    const LOCAL_NAMES: [(&str, &str); 34] = [
        ("praha", "Europe/Prague"),
        ("brno", "Europe/Prague"),
        ("wien", "Europe/Vienna"),
        ("roma", "Europe/Rome"),
        ("milano", "Europe/Rome"),
        ("milan", "Europe/Rome"),
        ("warszawa", "Europe/Warsaw"),
        ("krakow", "Europe/Warsaw"),
        ("moskva", "Europe/Moscow"),
        ("lisboa", "Europe/Lisbon"),
        ("bruxelles", "Europe/Brussels"),
        ("brussel", "Europe/Brussels"),
        ("kobenhavn", "Europe/Copenhagen"),
        ("athina", "Europe/Athens"),
        ("bucuresti", "Europe/Bucharest"),
        ("beograd", "Europe/Belgrade"),
        ("munchen", "Europe/Berlin"),
        ("munich", "Europe/Berlin"),
        ("frankfurt", "Europe/Berlin"),
        ("hamburg", "Europe/Berlin"),
        ("koln", "Europe/Berlin"),
        ("geneve", "Europe/Zurich"),
        ("geneva", "Europe/Zurich"),
        ("barcelona", "Europe/Madrid"),
        ("den_haag", "Europe/Amsterdam"),
        ("rotterdam", "Europe/Amsterdam"),
        ("beijing", "Asia/Shanghai"),
        ("peking", "Asia/Shanghai"),
        ("mumbai", "Asia/Kolkata"),
        ("new_delhi", "Asia/Kolkata"),
        ("san_francisco", "America/Los_Angeles"),
        ("seattle", "America/Los_Angeles"),
        ("washington", "America/New_York"),
        ("boston", "America/New_York"),
    ];
    if let Some((_, suggestion)) = LOCAL_NAMES.iter().find(|(name, _)| *name == city) {
        return Some(format!(
            "IANA names use the English name of the region's main city: write `{suggestion}`"
        ));
    }
    let matches: Vec<&str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|zone| zone.name())
        .filter(|name| {
            name.contains('/') && normalize(name.rsplit('/').next().unwrap_or(name)) == city
        })
        .collect();
    match matches.as_slice() {
        [only] => Some(format!(
            "write `{only}`: IANA names give the region before the city"
        )),
        _ => None,
    }
}

/// What to write instead of a UTC offset given as a zone (`GMT+2`, `UTC-05:00`): the IANA
/// `Etc/GMT` zone with the same offset, whose sign is the other way round (POSIX counts hours
/// west of Greenwich, so `Etc/GMT-2` is UTC+2), and the advice that a region's zone also follows
/// its daylight saving. `None` when `zone` does not read as an offset.
pub fn offset_hint(zone: &str) -> Option<String> {
    let upper = zone.trim().to_ascii_uppercase();
    let rest = upper
        .strip_prefix("GMT")
        .or_else(|| upper.strip_prefix("UTC"))?
        .trim();
    let sign = rest.chars().next()?;
    if sign != '+' && sign != '-' {
        return None;
    }
    let digits = rest[1..].trim();
    let (hours, minutes) = match digits.split_once(':') {
        Some((hours, minutes)) => (hours, minutes),
        None if digits.len() == 4 => digits.split_at(2),
        None => (digits, "00"),
    };
    let hours: u32 = hours.parse().ok()?;
    let minutes: u32 = minutes.parse().ok()?;
    if hours == 0 && minutes == 0 {
        return Some("that is UTC itself: write `UTC`".to_owned());
    }
    let region = "a region's zone (e.g. `Europe/Prague`) is usually what is meant, as it also follows daylight saving";
    let fixed = match (sign, minutes) {
        ('+', 0) if hours <= 14 => format!("`Etc/GMT-{hours}`"),
        ('-', 0) if hours <= 12 => format!("`Etc/GMT+{hours}`"),
        _ => return Some(format!("it is a UTC offset, not a zone name; {region}")),
    };
    Some(format!(
        "it is a UTC offset, not a zone name; the fixed offset UTC{sign}{hours} is {fixed} (POSIX zones count the other way, so the sign flips), but {region}"
    ))
}

/// The years exports are checked over for daylight-saving changes: fixed, so that an export
/// does not depend on the day it is made.
pub fn export_horizon() -> (DateTime<Utc>, DateTime<Utc>) {
    (
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
        Utc.with_ymd_and_hms(2061, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
    )
}

/// The local hour that ended before `fire` in `zone`: its first instant. In a zone whose
/// offset is a whole number of hours this is `fire` truncated to the hour, minus one hour.
pub fn hour_before(fire: DateTime<Utc>, zone: &Tz) -> DateTime<Utc> {
    let local = fire.with_timezone(zone);
    let into = i64::from(local.minute()) * 60 + i64::from(local.second());
    fire - Duration::seconds(into) - Duration::hours(1)
}

/// The first instant of the local `day` in `zone` (midnight, or the first time after it that
/// exists when a change skips midnight).
///
/// `None` for a day the zone skipped entirely (Pacific/Apia skipped 2011-12-30).
pub fn day_start(day: NaiveDate, zone: &Tz) -> Option<DateTime<Utc>> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    zone.from_local_datetime(&midnight)
        .earliest()
        .map(|instant| instant.with_timezone(&Utc))
        .or_else(|| first_valid_after(midnight, zone))
        .filter(|instant| instant.with_timezone(zone).date_naive() == day)
}

#[cfg(test)]
mod tests;
