use workflow_core::prelude::*;

#[task(command)]
fn run_step1(prefix: String) {
    let _ = prefix;
}

fn main() {}
