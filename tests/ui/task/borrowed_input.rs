use workflow_core::prelude::*;

#[task]
fn count(rows: &[u64]) -> usize {
    rows.len()
}

fn main() {}
