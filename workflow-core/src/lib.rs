//! Batch and ETL workflows whose wiring the compiler checks.
//!
//! Mark plain functions [`#[task]`](macro@task), wire them with [`workflow!`], and `cargo check`
//! rejects a workflow whose types do not fit, whose inputs are missing or whose graph has a
//! cycle, pointing at the mistake. One binary built on [`cli::main`] lists the workflows, prints
//! their plans and draws them.
//!
//! ```
//! use workflow_core::prelude::*;
//!
//! #[derive(Serialize, Deserialize)]
//! pub struct Orders(Vec<u64>);
//!
//! /// Pull one day of orders.
//! #[task(retries = 3, retry_delay = "30s")]
//! fn extract_orders(day: NaiveDate) -> Orders {
//!     Orders(vec![u64::from(day.day())])
//! }
//!
//! #[task]
//! fn count(orders: Orders) -> usize {
//!     orders.0.len()
//! }
//!
//! workflow! {
//!     /// Count one day of orders.
//!     pub daily_count(day: NaiveDate) {
//!         total = count(orders);
//!         orders = extract_orders(day);
//!     }
//! }
//!
//! // Tasks stay ordinary functions.
//! assert_eq!(count(Orders(vec![1, 2])), 2);
//!
//! let plan = workflow_core::plan::Plan::build(
//!     &daily_count::spec(),
//!     &[("day".into(), "2026-11-01".into())],
//!     &Default::default(),
//! ).unwrap();
//! assert_eq!(plan.stages, vec![vec!["orders".to_string()], vec!["total".to_string()]]);
//! ```
#![deny(missing_docs, unknown_or_malformed_diagnostic_attributes)]

/// Writes one line to standard error and never panics: a closed or broken standard error
/// (`2>&1 | head`) must not end a run halfway.
macro_rules! say {
    ($($argument:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($argument)*);
    }};
}

pub mod cli;
pub mod command;
pub mod diff;
pub mod export;
pub mod logs;
pub mod operations;
pub mod plan;
pub mod registry;
pub mod render;
pub mod runner;
mod secret;
pub mod serve;
mod task_model;
pub mod testing;
#[cfg(test)]
mod tests;
mod text;
mod workflow_model;

pub use secret::{Secret, SecretSource};
pub use task_model::{
    Backoff, Data, FailureKind, InputSpec, Inputs, MAX_INPUTS, Task, TaskError, TaskKind,
    TaskPolicy, TaskSpec,
};
pub use workflow_macros::{task, workflow};
pub use workflow_model::{
    ArmSpec, BranchSpec, Condition, Edge, EdgeKind, MapSpec, Merge, NodeSpec, ParamSpec, Returns,
    Source, SpecError, Workflow, WorkflowSpec,
};

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// The `main` of a workflow binary, and a test that the binary's workflows can run together.
///
/// `workflow_core::main!();` at the root of a binary crate expands to
/// `fn main() -> ExitCode { workflow_core::cli::main() }` and, under `cfg(test)`, to a test
/// `registered_workflows_are_valid` that fails `cargo test` with every problem
/// [`registry::assert_valid`] finds (two workflows with one name, a trigger naming a workflow
/// the binary does not register, workflows triggering each other, a default `--param` could not
/// give back, no workflow at all).
///
/// Name the library crates whose workflows the binary serves: `workflow_core::main!(pipelines,
/// billing);`. A workflow is registered by the object code of the crate that declares it, and a
/// library crate the binary never mentions is not linked at all, so its workflows would be
/// missing from `list` (the CLI then fails saying so). Naming the crate here links it.
///
/// ```ignore
/// // src/main.rs of a crate whose library declares the workflows in `src/lib.rs`:
/// workflow_core::main!(my_pipelines);
/// ```
#[macro_export]
macro_rules! main {
    ($($library:ident),* $(,)?) => {
        $(
            #[allow(unused_imports)]
            use $library as _;
        )*

        fn main() -> ::std::process::ExitCode {
            $crate::cli::main()
        }

        #[cfg(test)]
        #[test]
        fn registered_workflows_are_valid() {
            $crate::registry::assert_valid();
        }
    };
}

/// Everything a workflow module needs: the macros, the traits, and the common data types.
pub mod prelude {
    pub use crate::command::{Command, CommandOutput};
    pub use crate::testing::{
        StubWith0 as _, StubWith1 as _, StubWith2 as _, StubWith3 as _, StubWith4 as _,
        StubWith5 as _, StubWith6 as _, StubWith7 as _, StubWith8 as _, StubWith9 as _,
        StubWith10 as _, StubWith11 as _, StubWith12 as _,
    };
    pub use crate::{Secret, Task, TaskError, Workflow, task, workflow};
    pub use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc};
    pub use serde::{Deserialize, Serialize};
}
