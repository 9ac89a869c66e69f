use workflow_core::prelude::*;

#[task]
fn total((orders, refunds): (u64, u64)) -> u64 {
    orders - refunds
}

fn main() {}
