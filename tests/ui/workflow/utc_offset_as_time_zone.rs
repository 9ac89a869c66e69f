//! A UTC offset written as a zone name: the message gives the `Etc/GMT` zone with that offset
//! and explains its flipped sign, rather than suggesting the nearest name (`GMT+0`).
use workflow_core::prelude::*;

#[task]
fn extract() -> u32 {
    1
}

workflow! {
    /// Nightly at two, Prague time (meant to be).
    #[schedule(cron = "0 2 * * *", timezone = "GMT+2")]
    nightly() {
        rows = extract();
    }
}

fn main() {}
