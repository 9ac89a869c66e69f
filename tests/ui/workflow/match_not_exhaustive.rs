use workflow_core::prelude::*;

include!("common/pipeline.rs");

include!("common/branching.rs");

workflow! {
    nightly(day: NaiveDate, full_refresh: bool = false) {
        mode = choose_mode(day);
        match mode {
            Mode::Full => {
                orders = extract_orders(day);
            }
            Mode::Incremental => {
                logs = extract_logs(day);
            }
        }
    }
}

fn main() {}
