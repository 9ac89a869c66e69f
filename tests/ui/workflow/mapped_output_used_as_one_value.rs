use workflow_core::prelude::*;

include!("common/pipeline.rs");

#[task]
fn list_days(day: NaiveDate) -> Vec<NaiveDate> {
    vec![day]
}

#[task]
fn report(orders: Orders) -> String {
    format!("{} orders", orders.0.len())
}

workflow! {
    nightly(day: NaiveDate) {
        days = list_days(day);
        orders = extract_orders(each(days));
        logs = extract_logs(day);
        sessions = join_sessions(orders, logs);
    }
}

fn main() {}
