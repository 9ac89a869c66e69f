use workflow_core::prelude::*;

#[task]
fn count<T: Serialize>(rows: Vec<T>) -> usize {
    rows.len()
}

fn main() {}
