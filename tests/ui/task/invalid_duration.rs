use workflow_core::prelude::*;

#[task(retry_delay = "30", timeout = "2 hours and a bit")]
fn fetch(url: String) -> String {
    url
}

fn main() {}
