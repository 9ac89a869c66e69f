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
        orders = extract_orders(day).max_parallel(4);
    }
}

fn main() {}
