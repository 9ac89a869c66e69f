use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[on_failure(retry, notify = "etl-admin@example.com")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
