//! A partition without the parameter that receives it: the answer shows the whole attribute.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    #[schedule(cron = "0 2 * * *")]
    #[partition(daily)]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
