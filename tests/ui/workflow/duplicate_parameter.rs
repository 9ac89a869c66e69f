use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: NaiveDate, day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
