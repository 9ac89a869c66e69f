//! `match` on a `String` takes string literals as patterns (or-patterns and `_` included), as
//! it would on a `&str`; matching an enum with bindings and `if` on a `bool` are unchanged.
use workflow_core::prelude::*;
use workflow_core::plan::Plan;

#[task]
fn export_eu(day: NaiveDate) -> u32 { day.day() }
#[task]
fn export_us(day: NaiveDate) -> u32 { day.day() + 1 }

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum Mode { Full, Changes(u32) }

#[task]
fn mode() -> Mode { Mode::Changes(3) }

workflow! {
    /// Regional export.
    nightly(day: NaiveDate, region: String, full: bool = false) {
        m = mode();
        match region {
            "eu" | "europe" => { eu = export_eu(day); }
            "us" => { us = export_us(day); }
            _ => {}
        }
        match m {
            Mode::Full => { f = export_eu(day); }
            Mode::Changes(n) => {}
        }
        if full { g = export_us(day); }
    }
}

fn main() {
    let plan = Plan::build(&nightly::spec(), &[("day".into(), "2026-11-02".into()), ("region".into(), "us".into())], &Default::default()).unwrap();
    let arms: Vec<_> = plan.branches[0].arms.iter().map(|arm| (arm.label.as_str(), arm.value.clone())).collect();
    assert_eq!(arms, [("\"eu\" | \"europe\"", None), ("\"us\"", Some(serde_json::json!("us"))), ("_", None)]);
    let run = workflow_core::testing::TestRun::<nightly>::new().param("day", "2026-11-02").param("region", "europe").run();
    assert_eq!(run.output(nightly::eu), Some(2));
    assert_eq!(run.output(nightly::us), None);
    let run = workflow_core::testing::TestRun::<nightly>::new().param("day", "2026-11-02").param("region", "us").run();
    assert_eq!(run.output(nightly::us), Some(3));
    assert_eq!(run.output(nightly::eu), None);
}
