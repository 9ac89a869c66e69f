//! A schedule that fires every 90 minutes with hourly partitions: one hour in three would never
//! be run.
use workflow_core::prelude::*;

/// Counts an hour.
#[task]
fn count_hour(hour: DateTime<Utc>) -> u32 {
    hour.hour()
}

workflow! {
    /// The hour before, every 90 minutes.
    #[schedule(every = "90m")]
    #[partition(hourly, param = hour)]
    hourly(hour: DateTime<Utc>) {
        count = count_hour(hour);
    }
}

fn main() {}
