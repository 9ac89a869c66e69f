use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[shedule(cron = "0 2 * * *")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
