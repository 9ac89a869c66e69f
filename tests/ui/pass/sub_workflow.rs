//! A workflow that returns a value is a node of other workflows, with typed inputs and
//! output; running that node runs the sub-workflow in this process.
use workflow_core::plan::Plan;
use workflow_core::prelude::*;

#[task]
fn extract(day: NaiveDate) -> Vec<u32> {
    vec![day.day(), day.month()]
}

#[task]
fn double(value: u32) -> u32 {
    value * 2
}

#[task]
fn total(values: Vec<u32>, bonus: u32) -> u64 {
    values.iter().map(|value| u64::from(*value)).sum::<u64>() + u64::from(bonus)
}

#[task]
fn publish(count: u64, target: String) -> String {
    format!("{count} to {target}")
}

workflow! {
    /// Sums one day's doubled values; adds a bonus on request.
    pub summarize(day: NaiveDate, generous: bool = false) -> u64 {
        values = extract(day);
        doubled = double(each(values));
        if generous {
            sum = total(doubled, 100);
        } else {
            sum = total(doubled, 0);
        }
        return sum;
    }
}

workflow! {
    /// Uses `summarize` as one node.
    pub nightly(day: NaiveDate) {
        summary = summarize(day, true);
        published = publish(summary, "warehouse");
    }
}

fn main() {
    // The sub-workflow is a task: typed, and planned as a node of kind `workflow`.
    let plan = Plan::build(&nightly::spec(), &[("day".into(), "2026-11-21".into())], &Default::default()).unwrap();
    assert_eq!(plan.nodes[0].kind, workflow_core::TaskKind::Workflow);
    assert_eq!(plan.nodes[0].output, "u64");
    let inner = Plan::build(&summarize::spec(), &[("day".into(), "2026-11-21".into())], &Default::default()).unwrap();
    assert_eq!(inner.returns.as_ref().map(|returns| returns.node.as_str()), Some("sum"));
    assert_eq!(<summarize as Task>::NESTING, 1);
    assert_eq!(<nightly as Workflow>::NAME, "nightly");

    // Running the node runs the sub-workflow: (21 + 11) * 2 + 100.
    let node = nightly::spec().nodes.into_iter().find(|node| node.name == "summary").unwrap();
    let output = (node.call)(vec![serde_json::json!("2026-11-21"), serde_json::json!(true)]).unwrap();
    assert_eq!(output, serde_json::json!(164));
    // And it is callable as a task from Rust too.
    assert_eq!(<summarize as Task>::call((NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(), false)).unwrap(), 64);
}
