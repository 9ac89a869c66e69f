//! The next version of `runner-fixture`'s `evolving` workflow: one node more. A run started
//! by the first binary and resumed by this one says what changed.

use std::path::PathBuf;

use workflow_core::prelude::*;

/// Fails while the file `fail` exists.
#[task]
fn check(dir: PathBuf) -> Result<String, TaskError> {
    if dir.join("fail").exists() {
        return Err(TaskError::new("the file `fail` exists"));
    }
    Ok("checked".into())
}

/// Says the check passed.
#[task]
fn announce(checked: String) -> String {
    format!("announced {checked}")
}

workflow! {
    /// One node that fails while the file `fail` exists, and one that announces it passed.
    evolving(dir: PathBuf) {
        checked = check(dir);
        announced = announce(checked);
    }
}

/// One, retried twice in the next version.
#[task(retries = 2)]
fn one() -> u32 {
    1
}

workflow! {
    /// A sub-workflow; its next version retries its step.
    pub inner_step() -> u32 {
        value = one();
        return value;
    }
}

workflow! {
    /// Runs `inner_step` as a node: its plan changes when `inner_step` does.
    nesting() {
        got = inner_step();
    }
}

fn main() -> std::process::ExitCode {
    workflow_core::cli::main()
}
