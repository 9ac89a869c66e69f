// A named function works as a stub when its signature is the task's; this one takes the day
// as text.
use workflow_core::prelude::*;
use workflow_core::testing::TestRun;

include!("../workflow/common/pipeline.rs");

workflow! {
    daily(day: NaiveDate) {
        orders = extract_orders(day);
    }
}

fn fake_orders(day: String) -> Orders {
    Orders(vec![day.len() as u64])
}

fn main() {
    let _ = TestRun::<daily>::new()
        .param("day", "2026-11-21")
        .stub(daily::orders.with(fake_orders))
        .run();
}
