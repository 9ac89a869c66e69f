use workflow_core::prelude::*;

include!("common/pipeline.rs");

include!("common/branching.rs");

workflow! {
    nightly(day: NaiveDate, full_refresh: bool = false) {
        if full_refresh {
            orders = extract_orders(day);
        }
        logs = extract_logs(day);
        sessions = join_sessions(orders, logs);
    }
}

fn main() {}
