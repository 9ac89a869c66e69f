//! Names starting with `__workflow` belong to the generated code.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    nightly(day: NaiveDate) {
        __workflow_value = extract_orders(day);
    }
}

fn main() {}
