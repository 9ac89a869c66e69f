//! A node handle misspelled in a test: rustc's "not found" with the handle it meant.
use workflow_core::prelude::*;
use workflow_core::testing::TestRun;

include!("../workflow/common/pipeline.rs");

workflow! {
    /// Orders of the day.
    daily(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {
    let run = TestRun::<daily>::new().param("day", "2026-11-21").run();
    let _ = run.output(daily::ordrs);
}
