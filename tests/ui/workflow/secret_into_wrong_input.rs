use workflow_core::prelude::*;

include!("common/pipeline.rs");

#[task]
fn count_rows(orders: Orders, table: String) -> usize {
    orders.0.len() + table.len()
}

workflow! {
    /// Nightly.
    #[secret(db_password, env = "DB_PASSWORD")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
        rows = count_rows(orders, db_password);
    }
}

fn main() {}
