use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Lands the day's logs.
    landing(day: NaiveDate) {
        logs = extract_logs(day);
    }
}

workflow! {
    /// Nightly.
    #[trigger(after = landing, file = "/data/inbox/*.csv")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
