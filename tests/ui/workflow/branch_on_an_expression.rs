use workflow_core::prelude::*;

include!("common/pipeline.rs");

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum Mode {
    Full,
    Incremental,
    Repair,
}

#[task]
fn choose_mode(day: NaiveDate) -> Mode {
    if day.day() == 1 { Mode::Full } else { Mode::Incremental }
}

#[task]
fn count_logs(logs: Logs) -> u64 {
    logs.0.len() as u64
}

workflow! {
    nightly(day: NaiveDate, full_refresh: bool = false) {
        if day.day() == 1 {
            orders = extract_orders(day);
        }
    }
}

fn main() {}
