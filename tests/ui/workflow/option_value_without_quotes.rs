//! Text written without quotes in a workflow attribute: the answer quotes it back.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    #[schedule(cron = */15 2 * * *)]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
