use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(cron = "0 2 * * *", timezone = "Europe/Pargue")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
