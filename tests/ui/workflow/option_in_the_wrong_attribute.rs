//! A workflow option in another workflow attribute: the answer names the right one.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    #[schedule(cron = "0 2 * * *", overlap = "queue")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
