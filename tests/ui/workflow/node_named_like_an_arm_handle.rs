use workflow_core::prelude::*;

#[task]
fn one(value: u32) -> u32 {
    value
}

workflow! {
    /// `m` in the `true` arm has the handle `arms::m_true`.
    arms(flag: bool = true) {
        if flag {
            m = one(1);
        } else {
            m = one(2);
        }
        m_true = one(3);
    }
}

fn main() {}
