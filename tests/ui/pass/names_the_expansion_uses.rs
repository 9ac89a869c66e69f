//! Names the generated code might use for itself are the user's to take: nodes named
//! `message`, `spec`, `value`, `inputs` and `output` (one decided on by an `if`), a workflow
//! named `values`, a node `r#gen` (reserved by the 2024 edition), a task named like the check
//! the expansion derives from a node's name, three pools whose names differ only in `-`, `_`
//! and `.`, and a local variable named like a workflow of the module.
use workflow_core::prelude::*;

#[task(pool = "etl-a")]
fn compose(day: u32) -> u32 {
    day + 1
}

#[task(pool = "etl_a")]
fn send(message: u32) -> bool {
    message > 1
}

#[task(pool = "etl.a")]
fn a_input_1(value: u32) -> u32 {
    value
}

workflow! {
    /// Every generated name taken.
    #[pool(name = "etl-a", slots = 1)]
    #[pool(name = "etl_a", slots = 1)]
    #[pool(name = "etl.a", slots = 1)]
    values(day: u32 = 1) {
        message = compose(day);
        spec = compose(message);
        inputs = compose(spec);
        output = a_input_1(inputs);
        value = send(output);
        if value {
            r#gen = compose(output);
        }
        a = compose(day);
        b = a_input_1(a);
    }
}

fn main() {
    // A variable named like the workflow.
    let values = values::spec();
    assert_eq!(values.nodes.len(), 8);
    let run = workflow_core::testing::TestRun::<values>::new().run();
    assert_eq!(run.output(values::r#gen), Some(5));
    assert_eq!(run.output(values::b), Some(2));
}
