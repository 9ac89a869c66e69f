//! The lib+bin layout: a binary that names its library with `main!` serves the library's
//! workflows; one that does not says it registers none; one whose workflows clash refuses to
//! run anything but `validate`, naming each problem.

use std::process::{Command, Output};

fn run(binary: &str, arguments: &[&str]) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(binary).args(arguments).output().unwrap();
    (
        status.code(),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

const LINKED: &str = env!("CARGO_BIN_EXE_linked-workflows");
const UNLINKED: &str = env!("CARGO_BIN_EXE_unlinked-workflows");
const CLASHING: &str = env!("CARGO_BIN_EXE_clashing-workflows");

const NO_WORKFLOWS: &str = "this binary registers no workflows: declare them with `workflow!` in the binary's crate, or name the library crate that declares them in `workflow_core::main!(that_library);` (a library the binary never names is not linked, and its workflows with it)";

#[test]
fn a_binary_naming_its_library_serves_the_librarys_workflows() {
    let (code, out, err) = run(LINKED, &["list"]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert_eq!(
        out,
        "nightly_count   Counts and doubles.\nnightly_report  Runs after `nightly_count` succeeds.\n"
    );
    let (code, out, _) = run(LINKED, &["plan", "nightly_report", "-p", "day=2026-11-30"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("nightly_count"), "{out}");
}

#[test]
fn a_binary_that_never_names_its_library_says_it_registers_no_workflows() {
    let (code, out, err) = run(UNLINKED, &["list"]);
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert_eq!(err, format!("error: {NO_WORKFLOWS}\n"));
    let (code, out, _) = run(UNLINKED, &["validate"]);
    assert_eq!((code, out), (Some(1), format!("problem: {NO_WORKFLOWS}\n")));
    let (code, _, err) = run(UNLINKED, &["plan", "nightly_count"]);
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        format!("error: unknown workflow `nightly_count`; {NO_WORKFLOWS}\n")
    );
}

#[test]
fn clashing_workflows_stop_every_command_but_validate() {
    let problems = "  - workflow name `load` is declared 2 times: `clashing_workflows::first::load`, `clashing_workflows::second::load`\n  - workflows trigger each other in a cycle: `ping` -> `pong` -> `ping`\n";
    for arguments in [&["list"][..], &["plan", "ping"], &["tick", "ping"]] {
        let (code, out, err) = run(CLASHING, arguments);
        assert_eq!((code, out.as_str()), (Some(2), ""), "{arguments:?}");
        assert_eq!(
            err,
            format!(
                "error: this binary's workflows cannot run together (2 problems; `validate` lists every check):\n{problems}"
            ),
            "{arguments:?}"
        );
    }
    let (code, out, _) = run(CLASHING, &["validate"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        out,
        "problem: workflow name `load` is declared 2 times: `clashing_workflows::first::load`, `clashing_workflows::second::load`\nproblem: workflows trigger each other in a cycle: `ping` -> `pong` -> `ping`\n"
    );
}
