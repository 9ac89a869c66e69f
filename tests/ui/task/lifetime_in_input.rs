use workflow_core::prelude::*;

use std::borrow::Cow;

#[task]
fn count(name: Cow<'static, str>) -> usize {
    name.len()
}

fn main() {}
