// A stub replaces a task only with the task's own signature: `extract_logs` takes a
// `NaiveDate`, so a stub taking a `String` is refused at the closure.
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
        .stub(daily::logs.with(|day: String| Logs(vec![day])))
        .run();
}
