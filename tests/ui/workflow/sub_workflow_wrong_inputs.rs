use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    sources(day: NaiveDate) -> Orders {
        orders = extract_orders(day);
        return orders;
    }
}

workflow! {
    nightly(day: NaiveDate) {
        orders = sources(day, day);
        logs = extract_logs(day);
        sessions = join_sessions(orders, logs);
    }
}

fn main() {}
