//! A resource size or a duration given as a bare number: the message shows it with the units
//! it could mean, rather than guessing one.
use workflow_core::prelude::*;

#[task(memory = 4096, retry_delay = 30, retries = 2)]
fn extract_orders(day: NaiveDate) -> u32 {
    day.day()
}

fn main() {}
