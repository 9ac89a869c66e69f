//! A task's option written as a workflow attribute: the answer says where it belongs.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    #[retries = 3]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
