use workflow_core::prelude::*;

#[task]
fn step(input: u64) -> u64 {
    input + 1
}

workflow! {
    looping() {
        a = step(a);
    }
}

fn main() {}
