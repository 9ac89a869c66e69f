//! Everything the DSL accepts, in one workflow that compiles, plans and runs its tasks.
use std::io;

use workflow_core::plan::{InputSource, Plan};
use workflow_core::prelude::*;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Orders(Vec<u64>);

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub enum Mode {
    Incremental,
    Full,
}

#[derive(Debug, thiserror::Error)]
#[error("source unavailable")]
pub struct SourceDown;

mod sources {
    use super::*;

    /// Pull orders.
    #[task(name = "orders", retries = 3, retry_delay = "30s", timeout = "2h", pool = "server-a")]
    pub fn extract_orders(day: NaiveDate, mut limit: u32) -> io::Result<Orders> {
        limit = limit.min(3);
        Ok(Orders((0..u64::from(limit)).map(|n| n + u64::from(day.day())).collect()))
    }
}

#[task]
fn count(orders: Orders, mode: Mode, label: String, offset: i64) -> Result<i64, SourceDown> {
    if mode == Mode::Full { Ok(orders.0.len() as i64 + offset + label.len() as i64) } else { Err(SourceDown) }
}

#[task]
fn report(total: i64) -> Result<String, TaskError> {
    Ok(format!("{total} rows"))
}

#[task]
fn cleanup() {}

workflow! {
    /// Every construct at once.
    ///
    /// Second paragraph.
    pub(crate) everything(day: NaiveDate, mode: Mode = Mode::Full, limit: u32 = 2) {
        summary = report(total);
        total = count(orders, mode, "orders", -1);
        orders = sources::extract_orders(day, limit);
        cleanup().after(summary, orders).after(total);
    }
}

fn main() {
    // Tasks are still plain functions.
    assert_eq!(report(3).unwrap(), "3 rows");
    assert!(count(Orders(vec![]), Mode::Incremental, String::new(), 0).is_err());

    let spec = everything::spec();
    assert_eq!(spec.doc, "Every construct at once.\n\nSecond paragraph.");
    let plan = Plan::build(&spec, &[("day".into(), "2026-11-02".into()), ("mode".into(), "Full".into())], &Default::default()).unwrap();
    assert_eq!(plan.stages, [vec!["orders"], vec!["total"], vec!["summary"], vec!["cleanup"]]);
    let total = plan.nodes.iter().find(|node| node.id == "total").unwrap();
    assert_eq!(total.inputs[2].from, InputSource::Value(serde_json::json!("orders")));
    assert_eq!(total.inputs[3].from, InputSource::Value(serde_json::json!(-1)));
    let orders = &plan.nodes[0];
    assert_eq!((orders.task.as_str(), orders.policy.retries, orders.policy.pool.as_deref()), ("orders", 3, Some("server-a")));

    // The erased call path decodes, runs and encodes.
    let node = spec.node("orders").unwrap();
    let output = (node.call)(vec![serde_json::json!("2026-11-02"), serde_json::json!(2)]).unwrap();
    assert_eq!(output, serde_json::json!([2, 3]));
}
