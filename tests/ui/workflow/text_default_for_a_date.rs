//! A default written as text for a parameter that is not text: one error at the default.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    nightly(day: NaiveDate = "2026-11-01") {
        orders = extract_orders(day);
    }
}

fn main() {}
