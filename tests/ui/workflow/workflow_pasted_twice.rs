//! A workflow pasted twice in one module without renaming: one error, at the second name (not
//! one per trait the workflow implements).
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    pub nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

workflow! {
    /// Nightly orders.
    pub nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
