use workflow_core::prelude::*;

#[task]
fn table_name() -> &'static str {
    "orders"
}

fn main() {}
