//! Any identifier Rust accepts names a task, a node, a parameter or a workflow: raw
//! identifiers (`r#loop`, `r#match`) included. Names in plans and on the command line are
//! written without the `r#`, as Rust's own `stringify!` of a field does not keep it either.
use workflow_core::plan::Plan;
use workflow_core::prelude::*;

#[task]
fn r#loop(seed: u32) -> u32 {
    seed + 1
}

#[task]
fn r#type(r#match: u32) -> u32 {
    r#match * 2
}

#[task]
fn r#ref(r#in: u32) -> String {
    r#in.to_string()
}

workflow! {
    /// Raw identifiers everywhere.
    r#async(r#fn: u32 = 1) {
        label = r#ref(r#fn);
        first = r#loop(r#fn);
        r#match = r#type(first);
        r#yield = r#loop(r#match).after(first);
    }
}

fn main() {
    let spec = r#async::spec();
    assert_eq!(spec.name, "async");
    // Rust paths keep the `r#` they need.
    assert!(spec.rust_path.ends_with("::r#async"), "{}", spec.rust_path);
    assert!(spec.nodes[0].task.rust_path.ends_with("::r#ref"));
    let plan = Plan::build(&spec, &[], &Default::default()).unwrap();
    let ids: Vec<&str> = plan.nodes.iter().map(|node| node.id.as_str()).collect();
    assert_eq!(ids, ["label", "first", "match", "yield"]);
    assert_eq!(plan.params[0].name, "fn");
    assert_eq!(plan.nodes[2].task, "type");
    // A raw-named node feeds its own output (not the first node's) to the nodes after it.
    let run = workflow_core::testing::TestRun::<r#async>::new().run();
    assert_eq!(run.output(r#async::r#yield), Some(5));
    assert_eq!(run.output(r#async::label).as_deref(), Some("1"));
}
