use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    nightly(day: NaiveDate);
}

fn main() {}
