use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: u32) {
        orders = extract_orders(day);
        logs = extract_logs(day);
        sessions = join_sessions(logs, orders);
    }
}

fn main() {}
