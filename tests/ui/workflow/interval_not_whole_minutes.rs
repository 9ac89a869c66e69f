use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(every = "90s")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
