use workflow_core::prelude::*;

#[task(command, retries = 3)]
fn run_step1(prefix: String) -> String {
    format!("/home/ubuntu/step1.sh --prefix {prefix}")
}

fn main() {}
