use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: NaiveDate) {
        orders = extract_orders(day) + 1;
        logs => extract_logs(day);
        %%%;
    }
}

fn main() {}
