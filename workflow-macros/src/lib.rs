//! `#[task]` and `workflow!`, re-exported by `workflow-core`: depend on that crate, not this one.
//!
//! ```
//! use workflow_core::prelude::*;
//!
//! #[task(retries = 2, timeout = "10m")]
//! fn fetch(day: NaiveDate) -> Vec<u32> {
//!     vec![day.day()]
//! }
//!
//! #[task]
//! fn total(values: Vec<u32>) -> u32 {
//!     values.iter().sum()
//! }
//!
//! workflow! {
//!     /// Fetch and add up one day.
//!     daily_total(day: NaiveDate) {
//!         sum = total(values);
//!         values = fetch(day);
//!     }
//! }
//!
//! assert_eq!(total(fetch(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap())), 21);
//! assert_eq!(daily_total::spec().nodes.len(), 2);
//! ```
//!
//! Each macro is parse → validate → expand over `proc_macro2` tokens. Parsing turns options
//! into typed values with their spans (`workflow/options.rs`: enums such as `Overlap`, not
//! strings); validation collects every problem as a spanned `syn::Error` and reports them
//! together, and for `workflow!` returns what every reference resolves to
//! (`graph::Resolution`); expansion only reads that model and raises no errors. Generated
//! code reaches the runtime through `workflow_core::__private`, and every spec literal ends
//! with `..__private::defaults::*`, so a field added to a spec needs no change here.
//! Set `WORKFLOW_MACROS_DEBUG=1` while building to print each expansion on standard error.

mod diag;
mod duration;
mod names;
mod task;
mod workflow;

#[cfg(test)]
mod fuzz;

/// The most inputs a task may take: `workflow_core::MAX_INPUTS`, which implements the input
/// tuples up to this size.
const MAX_INPUTS: usize = 12;

#[cfg(test)]
#[test]
fn input_limit_matches_the_runtime() {
    assert_eq!(MAX_INPUTS, workflow_core::MAX_INPUTS);
}

use proc_macro::TokenStream;

/// Marks a plain function as a task that workflows can use.
///
/// ```text
/// #[task]
/// #[task(name = "extract", retries = 3, retry_delay = "30s", timeout = "2h", pool = "server-a")]
/// ```
///
/// The function is emitted untouched, so it stays callable as itself. Beside it the attribute
/// adds a hidden struct with the same name (in the type namespace) implementing
/// `workflow_core::Task`, which is how `workflow!` finds the task's types and policy.
///
/// Errors: a method (`self`), generics, `async`, `unsafe` or variadic functions, pattern or
/// borrowed inputs, more than 12 inputs, `impl Trait` or borrowed outputs, unknown keys,
/// repeated keys, malformed durations; inputs and outputs that are not serde types, and error
/// types that are not `std::error::Error`, are reported by the type checker at their type.
#[proc_macro_attribute]
pub fn task(attribute: TokenStream, item: TokenStream) -> TokenStream {
    debug(
        "task",
        task::expand(attribute.into(), item.into(), location()),
    )
    .into()
}

/// Declares a workflow: typed parameters and a graph of task nodes.
///
/// ```text
/// workflow! {
///     /// Nightly ingest.
///     pub daily_ingest(day: NaiveDate, full_refresh: bool = false) {
///         orders   = extract_orders(day);
///         sessions = join_sessions(orders, logs);
///         logs     = extract_logs(day);
///         load_redshift(sessions);
///         load_dynamo(sessions).after(load_redshift);
///     }
/// }
/// ```
///
/// Generates a struct (a type, not a value) named after the workflow implementing `workflow_core::Workflow`,
/// registers it for the CLI, and checks the wiring at compile time: every input's type against
/// the task's signature, the number of inputs, names, and cycles.
#[proc_macro]
pub fn workflow(input: TokenStream) -> TokenStream {
    debug("workflow", workflow::expand(input.into(), location())).into()
}

/// Where the macro is invoked, as line × 10,000 + column: distinct for two invocations in one
/// file, which is all a module can hold.
fn location() -> u64 {
    let call_site = proc_macro::Span::call_site();
    (call_site.line() as u64) * 10_000 + call_site.column() as u64
}

fn debug(macro_name: &str, output: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    if std::env::var_os("WORKFLOW_MACROS_DEBUG").is_some_and(|value| value != "0") {
        eprintln!("--- {macro_name} expansion ---\n{output}\n");
    }
    output
}
