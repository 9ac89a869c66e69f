//! A secret no node reads: it would be required and loaded for nothing (usually a misspelling
//! on one side), so the build stops at its name.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    #[secret(db_password, env = "DB_PASSWORD")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
