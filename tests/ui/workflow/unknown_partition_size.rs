use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[partition(monthly, param = day)]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
