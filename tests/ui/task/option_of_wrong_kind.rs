use workflow_core::prelude::*;

#[task(retries = "3", timeout = 30)]
fn fetch(url: String) -> String {
    url
}

fn main() {}
