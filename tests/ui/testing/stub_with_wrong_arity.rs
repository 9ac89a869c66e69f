// `join_sessions` takes two inputs; a stub taking one is refused.
use workflow_core::prelude::*;
use workflow_core::testing::TestRun;

include!("../workflow/common/pipeline.rs");

workflow! {
    daily(day: NaiveDate) {
        orders = extract_orders(day);
        logs = extract_logs(day);
        sessions = join_sessions(orders, logs);
    }
}

fn main() {
    let _ = TestRun::<daily>::new()
        .param("day", "2026-11-21")
        .stub(daily::sessions.with(|orders: Orders| Sessions(orders.0.len() as u64)))
        .run();
}
