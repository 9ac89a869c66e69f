use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(every = "30s")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
