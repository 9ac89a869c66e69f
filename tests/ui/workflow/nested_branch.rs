use workflow_core::prelude::*;

include!("common/pipeline.rs");

include!("common/branching.rs");

workflow! {
    nightly(day: NaiveDate, full_refresh: bool = false) {
        if full_refresh {
            mode = choose_mode(day);
            match mode {
                _ => {
                    orders = extract_orders(day);
                }
            }
        }
    }
}

fn main() {}
