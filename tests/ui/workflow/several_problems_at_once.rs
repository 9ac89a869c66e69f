use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: NaiveDate, day: NaiveDate) {
        orders = extract_orders(dya);
        logs = extract_logs(day).after(sessions);
        sessions = join_sessions(orders, logs);
        sessions = load(sessions);
    }
}

fn main() {}
