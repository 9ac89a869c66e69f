//! A task named like a primitive type: its task type would hide `str` from the whole module
//! (every `&str` there would mean the task), so the name is refused at the function's name.
use workflow_core::prelude::*;

#[task]
fn r#str(value: u32) -> String {
    value.to_string()
}

fn label(text: &str) -> usize {
    text.len()
}

fn main() {
    assert_eq!(label("ok"), 2);
}
