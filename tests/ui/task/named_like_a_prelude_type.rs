//! A task named like a type of Rust's prelude would hide it from the whole module.
use workflow_core::prelude::*;

#[task]
#[allow(non_snake_case)]
fn Vec(value: u32) -> u32 {
    value
}

fn main() {}
