use workflow_core::prelude::*;

#[task]
struct Fetch {
    url: String,
}

fn main() {}
