use workflow_core::prelude::*;

#[task(retries = 3, retry_delay = "30s", max_retry_delay = "10m")]
fn fetch(url: String) -> String {
    url
}

fn main() {}
