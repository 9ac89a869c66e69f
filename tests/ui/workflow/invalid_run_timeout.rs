use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[timeout = "forever"]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
