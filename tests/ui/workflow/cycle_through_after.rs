use workflow_core::prelude::*;

#[task]
fn step() -> u64 {
    1
}

workflow! {
    looping() {
        a = step().after(c);
        b = step().after(a);
        c = step().after(b);
    }
}

fn main() {}
