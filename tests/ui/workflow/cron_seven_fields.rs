use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(cron = "0 30 2 * * ? 2027")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
