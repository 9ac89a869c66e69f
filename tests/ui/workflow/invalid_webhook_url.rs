use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[on_success(webhook = "hooks.example.com/etl")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
