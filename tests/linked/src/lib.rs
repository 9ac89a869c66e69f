//! Workflows declared in a library crate, in a module the binary never names: the binary
//! serves them through `workflow_core::main!(workflow_linked)`.

pub mod nightly;

#[cfg(test)]
mod tests {
    /// The test a library crate that declares workflows adds (as docs/guide.md says).
    #[test]
    fn registered_workflows_are_valid() {
        workflow_core::registry::assert_valid();
    }
}
