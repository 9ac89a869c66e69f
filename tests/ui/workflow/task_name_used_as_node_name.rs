//! A task's name used where its node's name is meant: the answer names the node.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Sessions of the day.
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
        logs = extract_logs(day);
        sessions = join_sessions(orders, extract_logs);
    }
}

fn main() {}
