use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: NaiveDate) {
        orders = extract_orders(dya);
        logs = extract_logs(day);
        sessions = join_sessions(ordres, logs);
        load(sessions);
    }
}

fn main() {}
