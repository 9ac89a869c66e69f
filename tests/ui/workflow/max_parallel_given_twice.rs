//! `.max_parallel` twice on one node: which bound holds would be a guess.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Orders of several days.
    nightly(days: Vec<NaiveDate>) {
        orders = extract_orders(each(days)).max_parallel(2).max_parallel(3);
    }
}

fn main() {}
