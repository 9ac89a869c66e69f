//! A workflow named like the task it runs: one error at the node, not a second "defined
//! multiple times" for the workflow's name.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Extracts the day's orders.
    extract_orders(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
