//! Literals of every kind fit the inputs and parameter defaults Rust would let them fit, and
//! reach the plan as their values: a negative integer for a signed input, an integer for a
//! `u8` at its maximum, a float, a `bool`, a `char` and text; a text default for a `String` or
//! `PathBuf` parameter.
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
    constants(
        table: String = "orders",
        inbox: std::path::PathBuf = "/data/inbox",
        offset: i64 = -30,
        ratio: f64 = 0.5,
    ) {
        settings = configure(-30, 255, 0.5, true, ';', "orders");
        from_params = configure(offset, 1, ratio, false, ',', table);
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
    let defaults: Vec<(&str, serde_json::Value)> = plan
        .params
        .iter()
        .map(|param| (param.name.as_str(), param.value.clone()))
        .collect();
    assert_eq!(
        defaults,
        [
            ("table", serde_json::json!("orders")),
            ("inbox", serde_json::json!("/data/inbox")),
            ("offset", serde_json::json!(-30)),
            ("ratio", serde_json::json!(0.5)),
        ]
    );
}
