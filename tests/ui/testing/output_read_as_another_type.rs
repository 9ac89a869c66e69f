// A node's output comes back with the node's type: `orders` produces `Orders`, not `Logs`.
use workflow_core::prelude::*;
use workflow_core::testing::TestRun;

include!("../workflow/common/pipeline.rs");

workflow! {
    daily(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {
    let run = TestRun::<daily>::new().param("day", "2026-11-21").run();
    let _logs: Option<Logs> = run.output(daily::orders);
}
