use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    sources(day: NaiveDate) {
        orders = extract_orders(day);
        return orders;
    }
}

fn main() {}
