//! An integer constant a plan's JSON cannot hold (it would reach the task as `null`).
use workflow_core::prelude::*;

/// Identity.
#[task]
fn big(value: u128) -> u128 {
    value
}

workflow! {
    /// A big constant.
    nightly() {
        value = big(18446744073709551616);
    }
}

fn main() {}
