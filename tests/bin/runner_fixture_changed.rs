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

fn main() -> std::process::ExitCode {
    workflow_core::cli::main()
}
