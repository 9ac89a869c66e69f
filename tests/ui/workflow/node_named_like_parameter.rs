use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: NaiveDate) {
        day = extract_orders(day);
    }
}

fn main() {}
