//! Cron expressions read field by field, for targets that spell schedules their own way
//! (systemd's `OnCalendar=`).

/// A cron expression expanded into the values each field allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronFields {
    /// Seconds (0–59); `[0]` for a five-field expression.
    pub seconds: Vec<u32>,
    /// Minutes (0–59).
    pub minutes: Vec<u32>,
    /// Hours (0–23).
    pub hours: Vec<u32>,
    /// Days of the month (1–31), or `None` for `*`.
    pub days: Option<Vec<u32>>,
    /// Months (1–12).
    pub months: Vec<u32>,
    /// Days of the week (0 = Sunday … 6), or `None` for `*`.
    pub weekdays: Option<Vec<u32>>,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl CronFields {
    /// Reads a five-field (minute first) or six-field (second first) cron expression with
    /// lists, ranges, steps and month or weekday names. Extensions such as `L`, `W` and `#`
    /// are refused with the reason.
    pub fn parse(expression: &str) -> Result<CronFields, String> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => (vec![0], &fields[..]),
            6 => (field(fields[0], 0, 59, &[], 0)?, &fields[1..]),
            count => {
                return Err(format!(
                    "`{expression}` has {count} fields; five or six are understood"
                ));
            }
        };
        let [minute, hour, day, month, weekday] = rest else {
            return Err(format!("`{expression}` is not a cron expression"));
        };
        let any = |text: &str| text == "*" || text == "?";
        Ok(CronFields {
            seconds,
            minutes: field(minute, 0, 59, &[], 0)?,
            hours: field(hour, 0, 23, &[], 0)?,
            days: if any(day) {
                None
            } else {
                Some(field(day, 1, 31, &[], 0)?)
            },
            months: field(month, 1, 12, &MONTHS, 1)?,
            weekdays: if any(weekday) {
                None
            } else {
                let mut days: Vec<u32> = field(weekday, 0, 7, &WEEKDAYS, 0)?
                    .into_iter()
                    .map(|day| day % 7)
                    .collect();
                days.sort_unstable();
                days.dedup();
                Some(days)
            },
        })
    }

    /// The `OnCalendar=` lines that fire exactly when the expression does, in `timezone`.
    /// Cron fires when the day of the month *or* the weekday matches if both are restricted,
    /// while systemd wants both: such an expression becomes two lines.
    pub fn on_calendar(&self, timezone: &str) -> Vec<String> {
        let time = format!(
            "{}:{}:{}",
            values(&self.hours, 0, 23),
            values(&self.minutes, 0, 59),
            values(&self.seconds, 0, 59)
        );
        let months = values(&self.months, 1, 12);
        let line = |weekdays: Option<&Vec<u32>>, days: Option<&Vec<u32>>| {
            let mut text = String::new();
            if let Some(weekdays) = weekdays {
                text.push_str(&weekday_list(weekdays));
                text.push(' ');
            }
            let days = days.map_or_else(|| "*".to_owned(), |days| values(days, 1, 31));
            text.push_str(&format!("*-{months}-{days} {time} {timezone}"));
            text
        };
        match (&self.days, &self.weekdays) {
            (Some(days), Some(weekdays)) => {
                vec![line(Some(weekdays), None), line(None, Some(days))]
            }
            (days, weekdays) => vec![line(weekdays.as_ref(), days.as_ref())],
        }
    }
}

/// One field: `*`, `*/n`, `a`, `a-b`, `a-b/n`, `a/n`, and lists of them.
fn field(
    text: &str,
    low: u32,
    high: u32,
    names: &[&str],
    first_name: u32,
) -> Result<Vec<u32>, String> {
    let number = |word: &str| -> Result<u32, String> {
        if let Some(position) = names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(word))
        {
            return Ok(position as u32 + first_name);
        }
        let value: u32 = word
            .parse()
            .map_err(|_| format!("`{word}` in `{text}` is not a number from {low} to {high}"))?;
        if value < low || value > high {
            return Err(format!("`{value}` in `{text}` is outside {low}–{high}"));
        }
        Ok(value)
    };
    let mut values = Vec::new();
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|step| *step > 0)
                    .ok_or_else(|| format!("`{step}` in `{text}` is not a step"))?;
                (range, step)
            }
            None => (item, 1),
        };
        let (start, end) = if range == "*" || range == "?" {
            (low, high)
        } else if let Some((start, end)) = range.split_once('-') {
            (number(start)?, number(end)?)
        } else {
            let start = number(range)?;
            // `a/n` runs from `a` to the field's end.
            (start, if item.contains('/') { high } else { start })
        };
        if start > end {
            return Err(format!("`{range}` in `{text}` runs backwards"));
        }
        values.extend((start..=end).step_by(step as usize));
    }
    values.sort_unstable();
    values.dedup();
    Ok(values)
}

/// Values in systemd's syntax: `*` for the whole field, `a..b` for runs of three or more.
fn values(values: &[u32], low: u32, high: u32) -> String {
    if values.len() as u32 == high - low + 1 {
        return "*".to_owned();
    }
    runs(values)
        .into_iter()
        .map(|(start, end)| match end - start {
            0 => format!("{start:02}"),
            1 => format!("{start:02},{end:02}"),
            _ => format!("{start:02}..{end:02}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn weekday_list(days: &[u32]) -> String {
    const NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let name = |day: u32| NAMES.get(day as usize).copied().unwrap_or("Sun");
    runs(days)
        .into_iter()
        .map(|(start, end)| match end - start {
            0 => name(start).to_owned(),
            1 => format!("{},{}", name(start), name(end)),
            _ => format!("{}..{}", name(start), name(end)),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(expression: &str, timezone: &str) -> Vec<String> {
        CronFields::parse(expression).unwrap().on_calendar(timezone)
    }

    #[test]
    fn common_expressions() {
        assert_eq!(
            calendar("15 8 * * SAT", "Europe/Prague"),
            ["Sat *-*-* 08:15:00 Europe/Prague"]
        );
        assert_eq!(calendar("0 2 * * *", "UTC"), ["*-*-* 02:00:00 UTC"]);
        assert_eq!(
            calendar("*/15 9-17 * * 1-5", "UTC"),
            ["Mon..Fri *-*-* 09..17:00,15,30,45:00 UTC"]
        );
        assert_eq!(
            calendar("30 4 1,15 jan-mar *", "UTC"),
            ["*-01..03-01,15 04:30:00 UTC"]
        );
        assert_eq!(calendar("0 0 * * 0,7", "UTC"), ["Sun *-*-* 00:00:00 UTC"]);
        assert_eq!(
            calendar("10 0/6 * * *", "UTC"),
            ["*-*-* 00,06,12,18:10:00 UTC"]
        );
        assert_eq!(calendar("5 * * * * *", "UTC"), ["*-*-* *:*:05 UTC"]);
    }

    #[test]
    fn day_of_month_or_weekday_is_two_lines() {
        assert_eq!(
            calendar("0 3 1 * MON", "UTC"),
            ["Mon *-*-* 03:00:00 UTC", "*-*-01 03:00:00 UTC"]
        );
    }

    #[test]
    fn extensions_and_nonsense_are_refused() {
        for expression in [
            "0 0 L * *",
            "0 0 * * 5#3",
            "61 * * * *",
            "* * *",
            "0 0 5-1 * *",
        ] {
            assert!(CronFields::parse(expression).is_err(), "{expression}");
        }
    }
}
