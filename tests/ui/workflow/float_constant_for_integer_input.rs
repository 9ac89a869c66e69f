//! A literal of the wrong kind for the task's input (a float for a `u32`): one error in
//! workflow terms at the literal, not rustc's "mismatched types" inside the library.
use workflow_core::prelude::*;

/// Keeps a fraction of the rows, in percent.
#[task]
fn sample(table: String, percent: u32) -> u64 {
    u64::from(percent) + table.len() as u64
}

workflow! {
    /// Samples the orders.
    nightly() {
        rows = sample("orders", 0.5);
    }
}

fn main() {}
