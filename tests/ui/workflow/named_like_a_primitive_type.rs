//! A workflow named like a primitive type would hide that type from the whole module.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Counts orders.
    u32(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {
    let count: u32 = 3;
    assert_eq!(count, 3);
}
