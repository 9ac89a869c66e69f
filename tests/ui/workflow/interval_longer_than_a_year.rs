use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(every = "400d")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
