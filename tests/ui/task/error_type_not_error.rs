use workflow_core::prelude::*;

#[derive(Debug)]
pub struct FetchFailed;

#[task]
fn fetch(url: String) -> Result<String, FetchFailed> {
    Ok(url)
}

fn main() {}
