//! `return` written in every arm: one mistake, one error at the first, and no second one for
//! the `return` the body then lacks.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Orders of the day, in full or not.
    pub sources(day: NaiveDate, full: bool) -> Orders {
        if full {
            orders = extract_orders(day);
            return orders;
        } else {
            orders = extract_orders(day);
            return orders;
        }
    }
}

fn main() {}
