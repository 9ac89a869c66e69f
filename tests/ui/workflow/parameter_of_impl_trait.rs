//! A parameter typed `impl Trait`: `--param` needs one concrete type to parse into.
use workflow_core::prelude::*;

include!("common/pipeline.rs");

workflow! {
    /// Nightly orders.
    nightly(day: impl Sized) {
        orders = extract_orders(day);
    }
}

fn main() {}
