//! Two small workflows, the second triggered by the first.

use workflow_core::prelude::*;

/// Counts the rows of one day.
#[task]
pub fn count_rows(day: NaiveDate) -> u64 {
    u64::from(day.day())
}

/// Doubles a count.
#[task]
pub fn double(rows: u64) -> u64 {
    rows * 2
}

workflow! {
    /// Counts and doubles.
    #[schedule(cron = "0 2 * * *")]
    pub nightly_count(day: NaiveDate) {
        rows = count_rows(day);
        doubled = double(rows);
    }
}

workflow! {
    /// Runs after `nightly_count` succeeds.
    #[trigger(after = nightly_count)]
    pub nightly_report(day: NaiveDate) {
        rows = count_rows(day);
    }
}
