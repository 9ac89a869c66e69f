use workflow_core::prelude::*;

include!("common/pipeline.rs");

include!("common/mapping.rs");

workflow! {
    nightly(day: NaiveDate) {
        orders = extract_orders(day);
        reports = report(each(orders));
    }
}

fn main() {}
