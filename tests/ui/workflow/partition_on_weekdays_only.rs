//! Daily partitions with a weekday schedule: Friday's and Saturday's partitions would never
//! run (Monday's run takes Sunday).
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// The day before, on weekdays.
    #[schedule(cron = "0 2 * * MON-FRI", timezone = "Europe/Prague")]
    #[partition(daily, param = day)]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
