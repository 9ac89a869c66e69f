use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[secret(db_password)]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
