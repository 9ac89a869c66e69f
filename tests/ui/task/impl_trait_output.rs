use workflow_core::prelude::*;

#[task]
fn rows() -> impl Iterator<Item = u64> {
    0..10
}

fn main() {}
