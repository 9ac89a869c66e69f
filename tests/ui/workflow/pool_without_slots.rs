use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[pool(name = "server-a")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
