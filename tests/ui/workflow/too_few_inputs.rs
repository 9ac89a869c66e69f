use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
        sessions = join_sessions(orders);
    }
}

fn main() {}
