use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[on_failure(pause, notify = ["etl-admin@example.com", "etl-admin"])]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
