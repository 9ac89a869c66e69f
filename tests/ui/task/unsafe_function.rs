use workflow_core::prelude::*;

#[task]
unsafe fn fetch(url: String) -> String {
    url
}

fn main() {}
