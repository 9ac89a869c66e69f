use workflow_core::prelude::*;

include!("common/pipeline.rs");

include!("common/branching.rs");

workflow! {
    nightly(day: NaiveDate, full_refresh: bool = false) {
        if full_refresh {
            data = extract_orders(day);
        } else {
            data = extract_logs(day);
        }
        summary = count_logs(data);
    }
}

fn main() {}
