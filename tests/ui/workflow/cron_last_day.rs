use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(cron = "0 0 L * *")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
