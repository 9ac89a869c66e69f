use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: NaiveDate, full_refresh: bool = 0) {
        orders = extract_orders(day);
    }
}

fn main() {}
