use workflow_core::prelude::*;

#[task(retires = 3)]
fn fetch(url: String) -> String {
    url
}

fn main() {}
