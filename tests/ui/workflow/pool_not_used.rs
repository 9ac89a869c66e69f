//! A workflow declares a pool's size under a name none of its nodes runs in (a typo on one
//! side): the limit would apply to nothing, so the build stops at the `#[pool]`.
use workflow_core::prelude::*;

#[task(pool = "warehouse")]
fn load(rows: u32) -> u32 {
    rows
}

#[task]
fn count() -> u32 {
    3
}

workflow! {
    /// Loads rows into the warehouse, two at a time (meant to be).
    #[pool(name = "warehose", slots = 2)]
    nightly() {
        rows = count();
        loaded = load(rows);
    }
}

fn main() {}
