//! A workflow's option written on a task: the answer says where it belongs.
use workflow_core::prelude::*;

/// Counts rows.
#[task(schedule = "0 2 * * *")]
fn count() -> u32 {
    3
}

fn main() {}
