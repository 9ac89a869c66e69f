use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(cron = "*/20,5 * * * *")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
