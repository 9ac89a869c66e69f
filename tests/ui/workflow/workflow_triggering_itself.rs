use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[trigger(after = nightly)]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
