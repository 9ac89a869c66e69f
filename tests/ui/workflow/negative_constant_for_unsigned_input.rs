//! A negative literal for an unsigned input: one error in workflow terms at the literal.
use workflow_core::prelude::*;

/// Deletes partitions older than this many days.
#[task]
fn purge_older_than(days: u32) -> u32 {
    days
}

workflow! {
    /// Purges old partitions.
    nightly() {
        purged = purge_older_than(-30);
    }
}

fn main() {}
