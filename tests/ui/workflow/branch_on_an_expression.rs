use workflow_core::prelude::*;

include!("common/pipeline.rs");

include!("common/branching.rs");

workflow! {
    nightly(day: NaiveDate, full_refresh: bool = false) {
        if day.day() == 1 {
            orders = extract_orders(day);
        }
    }
}

fn main() {}
