//! Compile-time checks: every file under `ui/task` and `ui/workflow` must fail to compile with
//! exactly the message in its `.stderr` snapshot; every file under `ui/pass` must compile.
//! The folders are the catalogue of errors (see docs/errors.md).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/task/*.rs");
    cases.compile_fail("ui/workflow/*.rs");
}
