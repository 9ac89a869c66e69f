use workflow_core::prelude::*;

include!("common/pipeline.rs");

include!("common/mapping.rs");

workflow! {
    nightly(day: NaiveDate) {
        days = list_days(day);
        sessions = join_sessions(each(days), each(days));
    }
}

fn main() {}
