use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[pool(name = "server-a", slots = 1)]
    #[pool(name = "server-a", slots = 2)]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
