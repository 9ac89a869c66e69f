use workflow_core::prelude::*;

include!("common/pipeline.rs");

include!("common/mapping.rs");

workflow! {
    nightly(day: NaiveDate) {
        days = list_days(day);
        reports = report(each(days));
    }
}

fn main() {}
