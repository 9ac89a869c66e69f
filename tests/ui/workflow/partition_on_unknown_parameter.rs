use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[partition(daily, param = dya)]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
