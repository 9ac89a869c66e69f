use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly.
    #[schedule(every = "1d", timezone = "Europe/Prague")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
