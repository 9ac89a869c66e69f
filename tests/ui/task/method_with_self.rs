use workflow_core::prelude::*;

pub struct Loader;

impl Loader {
    #[task]
    fn load(&self, rows: u64) -> u64 {
        rows
    }
}

fn main() {}
