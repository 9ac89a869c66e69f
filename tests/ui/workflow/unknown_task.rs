use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: NaiveDate) {
        orders = extract_ordrs(day);
    }
}

fn main() {}
