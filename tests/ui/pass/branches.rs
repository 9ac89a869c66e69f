//! `if` on a bool parameter and `match` on an enum task output: nodes carry their condition,
//! a name produced in every arm is usable after the branch, and the arm is chosen by the
//! workflow's own `match`.
use workflow_core::plan::Plan;
use workflow_core::prelude::*;

#[derive(Debug, Serialize, Deserialize)]
pub struct Snapshot(u64);

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Full,
    Incremental,
    Repair(u32),
}

#[task]
fn export_full(day: NaiveDate) -> Snapshot {
    Snapshot(u64::from(day.day()) * 100)
}

#[task]
fn export_changes(day: NaiveDate) -> Snapshot {
    Snapshot(u64::from(day.day()))
}

#[task]
fn vacuum() {}

#[task]
fn choose_mode(snapshot: Snapshot) -> Mode {
    if snapshot.0 > 50 { Mode::Full } else { Mode::Incremental }
}

#[task]
fn rebuild(snapshot: Snapshot) -> u64 {
    snapshot.0
}

#[task]
fn append(snapshot: Snapshot, mode: Mode) -> u64 {
    snapshot.0 + u64::from(mode == Mode::Incremental)
}

#[task]
fn report(rows: u64) -> String {
    format!("{rows} rows")
}

workflow! {
    /// Branches on a parameter and on a task's output.
    branching(day: NaiveDate, full_refresh: bool = false) {
        if full_refresh {
            snapshot = export_full(day);
            vacuum().after(snapshot);
        } else {
            snapshot = export_changes(day);
        }
        mode = choose_mode(snapshot);
        match mode {
            Mode::Full => {
                rows = rebuild(snapshot);
            }
            Mode::Incremental | Mode::Repair(_) => {
                rows = append(snapshot, mode);
            }
        }
        summary = report(rows);
    }
}

fn main() {
    let spec = branching::spec();
    let plan = Plan::build(&spec, &[("day".into(), "2026-11-21".into())], &Default::default()).unwrap();
    let ids: Vec<&str> = plan.nodes.iter().map(|node| node.id.as_str()).collect();
    assert_eq!(ids, ["snapshot.true", "snapshot.false", "vacuum", "mode", "rows.Full", "rows.Incremental", "summary"]);
    assert_eq!(plan.stages, [vec!["snapshot.true", "snapshot.false"], vec!["vacuum", "mode"], vec!["rows.Full", "rows.Incremental"], vec!["summary"]]);
    let vacuum = plan.nodes.iter().find(|node| node.id == "vacuum").unwrap();
    let condition = vacuum.condition.as_ref().unwrap();
    assert_eq!((condition.branch, condition.arm.as_str()), (0, "true"));
    assert_eq!(plan.merges.len(), 2);
    assert_eq!(plan.merges[0].nodes, ["snapshot.true", "snapshot.false"]);

    let branch = &plan.branches[1];
    assert_eq!(branch.on, workflow_core::plan::InputSource::Node("mode".into()));
    assert_eq!(branch.arms[0].label, "Mode::Full");
    // The arm's value is the variant as serde writes it (renamed to lowercase).
    assert_eq!(branch.arms[0].value, Some(serde_json::json!("full")));
    assert_eq!(branch.arms[1].label, "Mode::Incremental | Mode::Repair(_)");
    assert_eq!(branch.arms[1].value, None);
    assert_eq!(branch.arms[1].nodes, ["rows.Incremental"]);

    // The selectors are the workflow's own `if` and `match`.
    let select = spec.branches[0].select;
    assert_eq!(select(&serde_json::json!(true)).unwrap(), Some(0));
    assert_eq!(select(&serde_json::json!(false)).unwrap(), Some(1));
    let select = spec.branches[1].select;
    assert_eq!(select(&serde_json::json!("full")).unwrap(), Some(0));
    assert_eq!(select(&serde_json::json!({"repair": 3})).unwrap(), Some(1));
    assert!(select(&serde_json::json!("sideways")).is_err());

    // Nodes after a branch take whichever arm's node ran.
    let summary_inputs: Vec<_> = plan.edges.iter().filter(|edge| edge.to == "summary").map(|edge| edge.from.as_str()).collect();
    assert_eq!(summary_inputs, ["rows.Full", "rows.Incremental"]);
}
