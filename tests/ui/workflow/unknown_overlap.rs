use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[concurrency(overlap = "never")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
