use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Weekly.
    #[partition(weekly, param = week)]
    weekly(day: NaiveDate, week: u32) {
        orders = extract_orders(day);
    }
}

fn main() {}
