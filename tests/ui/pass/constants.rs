//! Literals of every kind fit the inputs Rust would let them fit, and reach the plan as their
//! values: a negative integer for a signed input, an integer for a `u8` at its maximum, a
//! float, a `bool`, a `char` and text.
use workflow_core::plan::Plan;
use workflow_core::prelude::*;

#[task]
fn configure(
    offset: i64,
    priority: u8,
    ratio: f64,
    dry_run: bool,
    separator: char,
    table: String,
) -> String {
    format!("{offset} {priority} {ratio} {dry_run} {separator} {table}")
}

workflow! {
    /// Every kind of constant.
    constants() {
        settings = configure(-30, 255, 0.5, true, ';', "orders");
    }
}

fn main() {
    let plan = Plan::build(&constants::spec(), &[], &Default::default()).unwrap();
    let values: Vec<serde_json::Value> = plan.nodes[0]
        .inputs
        .iter()
        .map(|input| match &input.from {
            workflow_core::plan::InputSource::Value(value) => value.clone(),
            other => panic!("not a constant: {other:?}"),
        })
        .collect();
    assert_eq!(
        serde_json::Value::Array(values),
        serde_json::json!([-30, 255, 0.5, true, ";", "orders"])
    );
}
