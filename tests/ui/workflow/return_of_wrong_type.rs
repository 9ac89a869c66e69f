use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    sources(day: NaiveDate) -> Logs {
        orders = extract_orders(day);
        return orders;
    }
}

fn main() {}
