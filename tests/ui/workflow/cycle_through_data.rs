use workflow_core::prelude::*;

#[task]
fn step(input: u64) -> u64 {
    input + 1
}

workflow! {
    looping(seed: u64) {
        start = step(seed);
        a = step(c);
        b = step(a);
        c = step(b);
    }
}

fn main() {}
