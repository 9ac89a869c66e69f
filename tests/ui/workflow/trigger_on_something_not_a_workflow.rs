use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[trigger(after = Orders)]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
