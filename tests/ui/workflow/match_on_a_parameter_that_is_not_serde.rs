//! A parameter whose type is not serde, decided on by a `match`: one error, at its type (not
//! again where the branch reads it or writes an arm's value into the plan).
use workflow_core::prelude::*;

include!("common/pipeline.rs");

#[derive(Clone, Copy)]
pub enum Kind {
    Full,
    Changes,
}

workflow! {
    /// Orders, in full or not.
    nightly(day: NaiveDate, kind: Kind) {
        match kind {
            Kind::Full => { orders = extract_orders(day); }
            Kind::Changes => {}
        }
    }
}

fn main() {}
