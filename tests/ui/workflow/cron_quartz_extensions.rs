use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(cron = "0 2 ? * 6#3")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
