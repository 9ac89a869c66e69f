//! `.after` names a node of another workflow: ordering across workflows is a trigger.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Upstream.
    upstream(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

workflow! {
    /// Downstream.
    downstream(day: NaiveDate) {
        orders = extract_orders(day).after(upstream::orders);
    }
}

fn main() {}
