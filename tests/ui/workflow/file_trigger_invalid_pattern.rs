use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[trigger(file = "/data/inbox/[*.csv")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
