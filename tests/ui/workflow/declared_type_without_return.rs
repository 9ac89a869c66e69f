use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    sources(day: NaiveDate) -> Orders {
        orders = extract_orders(day);
    }
}

fn main() {}
