//! A literal whose suffix names another type than the task's input: one error in workflow
//! terms at the literal.
use workflow_core::prelude::*;

/// Keeps the first rows.
#[task]
fn head(rows: u32) -> u32 {
    rows
}

workflow! {
    /// Nightly head.
    nightly() {
        first = head(7u64);
    }
}

fn main() {}
