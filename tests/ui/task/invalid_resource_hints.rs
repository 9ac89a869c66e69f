use workflow_core::prelude::*;

#[task(memory = "4 gigs", cpu = 0)]
fn fetch(url: String) -> String {
    url
}

fn main() {}
