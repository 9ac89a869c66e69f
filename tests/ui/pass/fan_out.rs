//! A node that maps over a collection produces a `Vec` of its task's outputs.
use workflow_core::plan::Plan;
use workflow_core::prelude::*;

#[task]
fn list_days(first: NaiveDate, count: u32) -> Vec<NaiveDate> {
    (0..count).filter_map(|offset| first.checked_add_days(chrono::Days::new(offset.into()))).collect()
}

#[task]
fn rows_of(day: NaiveDate, table: String) -> u64 {
    u64::from(day.day()) + table.len() as u64
}

#[task]
fn total(counts: Vec<u64>) -> u64 {
    counts.iter().sum()
}

workflow! {
    /// Counts rows per day, then adds them up.
    fanning(first: NaiveDate, count: u32 = 3, tables: Vec<String> = vec!["a".into()]) {
        days = list_days(first, count);
        counts = rows_of(each(days), "orders").max_parallel(2);
        sum = total(counts);
        per_table = rows_of(first, each(tables));
    }
}

fn main() {
    let plan = Plan::build(&fanning::spec(), &[("first".into(), "2026-11-01".into())], &Default::default()).unwrap();
    let counts = plan.nodes.iter().find(|node| node.id == "counts").unwrap();
    assert_eq!(counts.output, "Vec<u64>");
    let map = counts.map.as_ref().unwrap();
    assert_eq!((map.input.as_str(), map.max_parallel), ("day", Some(2)));
    let per_table = plan.nodes.iter().find(|node| node.id == "per_table").unwrap();
    assert_eq!(per_table.map.as_ref().unwrap().input, "table");
    assert!(plan.nodes.iter().find(|node| node.id == "sum").unwrap().map.is_none());
}
