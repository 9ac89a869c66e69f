use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(cron = "0 2 * * *", catch_up = "latest", max_catch_up = 3)]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
