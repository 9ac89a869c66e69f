use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[secret(day, env = "DAY")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
