// A handle names a node of one workflow: injecting a failure into another workflow's node
// is refused.
use workflow_core::prelude::*;
use workflow_core::testing::TestRun;

include!("../workflow/common/pipeline.rs");

workflow! {
    daily(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

workflow! {
    hourly(day: NaiveDate) {
        logs = extract_logs(day);
    }
}

fn main() {
    let _ = TestRun::<daily>::new()
        .param("day", "2026-11-21")
        .fail(hourly::logs, 1)
        .run();
}
