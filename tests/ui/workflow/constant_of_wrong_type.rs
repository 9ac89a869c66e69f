use workflow_core::prelude::*;

#[task]
fn fetch(table: String, limit: u32) -> u64 {
    u64::from(limit) + table.len() as u64
}

workflow! {
    nightly() {
        rows = fetch("orders", "ten");
    }
}

fn main() {}
