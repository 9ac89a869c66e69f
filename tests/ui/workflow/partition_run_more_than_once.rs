//! A schedule that fires every hour with daily partitions: each day's partition would be run
//! 24 times.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// The day before, hourly (meant daily).
    #[schedule(every = "1h")]
    #[partition(daily, param = day)]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
