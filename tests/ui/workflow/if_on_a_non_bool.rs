use workflow_core::prelude::*;

include!("common/pipeline.rs");

include!("common/branching.rs");

workflow! {
    nightly(day: NaiveDate, full_refresh: bool = false) {
        mode = choose_mode(day);
        if mode {
            orders = extract_orders(day);
        }
    }
}

fn main() {}
