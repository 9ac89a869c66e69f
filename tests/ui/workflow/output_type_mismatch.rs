use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
        logs = extract_logs(day);
        sessions = join_sessions(orders, orders);
        load(sessions);
    }
}

fn main() {}
