//! A name produced in both arms, used after the branch where another type is expected: the
//! error is at the use, not in an arm.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Orders, then a load that wants sessions.
    nightly(day: NaiveDate, full: bool) {
        if full {
            data = extract_orders(day);
        } else {
            data = extract_orders(day);
        }
        load(data);
    }
}

fn main() {}
