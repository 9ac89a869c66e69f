use workflow_core::prelude::*;

include!("common/pipeline.rs");

include!("common/branching.rs");

workflow! {
    nightly(day: NaiveDate, full_refresh: bool = false) {
        mode = choose_mode(day);
        match mode {
            Mode::Full | Mode::Incremental | Mode::Repair => {
                orders = extract_orders(day);
            }
            Some(_) => {
                logs = extract_logs(day);
            }
        }
    }
}

fn main() {}
