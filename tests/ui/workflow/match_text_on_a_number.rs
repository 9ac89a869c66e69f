//! String patterns on a value that is not text: one error at the value decided on.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Regional export.
    nightly(day: NaiveDate, region: u32) {
        match region {
            "eu" => { orders = extract_orders(day); }
            _ => {}
        }
    }
}

fn main() {}
