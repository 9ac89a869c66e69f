//! A zone named with the city's own name: IANA names use the English one.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    #[schedule(cron = "0 2 * * *", timezone = "Europe/Praha")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
