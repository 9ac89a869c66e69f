//! A misspelled parameter type: one error at the type, not one more at each use.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Orders and logs.
    nightly(day: NaivDate) {
        orders = extract_orders(day);
        logs = extract_logs(day);
    }
}

fn main() {}
