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
    #[trigger(after = ladning, within = "10m")]
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {}
