//! A task pasted twice in one module and used by a workflow: "defined multiple times" at the
//! second function, for the function and for the task it declares, and nothing else (no
//! conflicting `Task` implementation, no error at the node).
use workflow_core::prelude::*;

/// Counts rows.
#[task]
fn count() -> u32 {
    3
}

/// Counts rows.
#[task]
fn count() -> u32 {
    3
}

workflow! {
    /// Counts.
    nightly() {
        rows = count();
    }
}

fn main() {}
