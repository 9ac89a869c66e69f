use workflow_core::prelude::*;

#[task(retry_delay = "30s", backoff = "exponential")]
fn fetch(url: String) -> String {
    url
}

fn main() {}
