use workflow_core::prelude::*;

#[task(name = "fetch orders")]
fn fetch(url: String) -> String {
    url
}

fn main() {}
