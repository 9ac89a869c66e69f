use workflow_core::prelude::*;

include!("common/pipeline.rs");

include!("common/mapping.rs");

workflow! {
    nightly(day: NaiveDate) {
        days = list_days(day);
        orders = extract_orders(each(days));
        logs = extract_logs(day);
        sessions = join_sessions(orders, logs);
    }
}

fn main() {}
