use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: String) {
        orders = extract_orders(day);
    }
}

fn main() {}
