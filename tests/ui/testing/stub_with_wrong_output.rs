// `extract_orders` returns `Orders`; a stub returning a `Result` does not replace it.
use workflow_core::prelude::*;
use workflow_core::testing::TestRun;

include!("../workflow/common/pipeline.rs");

workflow! {
    daily(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn main() {
    let _ = TestRun::<daily>::new()
        .param("day", "2026-11-21")
        .stub(daily::orders.with(|_day| Ok::<_, TaskError>(Orders(vec![1]))))
        .run();
}
