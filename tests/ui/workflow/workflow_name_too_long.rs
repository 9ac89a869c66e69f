//! A workflow name longer than an Argo CronWorkflow allows (52 characters).
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    nightly_orders_for_the_warehouse_and_the_crm_and_the_reports(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
