use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(cron = "*/90 * * * *")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
