use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day) {
        orders = extract_orders(day);
    }
}

fn main() {}
