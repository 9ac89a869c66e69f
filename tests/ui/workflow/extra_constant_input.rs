//! A constant passed past the task's last input: only the input count is reported.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    nightly(day: NaiveDate) {
        orders = extract_orders(day, 5);
    }
}

fn main() {}
