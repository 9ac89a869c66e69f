//! Compile-time checks: every file under `ui/task`, `ui/workflow` and `ui/testing` (the test
//! harness's stubs and node handles) must fail to compile with
//! exactly the message in its `.stderr` snapshot; every file under `ui/pass` must compile.
//! The folders are the catalogue of errors (see docs/errors.md).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/task/*.rs");
    cases.compile_fail("ui/workflow/*.rs");
    cases.compile_fail("ui/testing/*.rs");
}

/// docs/errors.md is generated from the cases; it must show every case's exact message.
#[test]
fn errors_catalogue_matches_the_cases() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalogue =
        std::fs::read_to_string(root.join("../docs/errors.md")).expect("docs/errors.md exists");
    let mut count = 0;
    for area in ["task", "workflow", "testing"] {
        let mut cases: Vec<_> = std::fs::read_dir(root.join("ui").join(area))
            .expect("the ui folder exists")
            .map(|entry| entry.expect("readable folder").path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "rs"))
            .collect();
        cases.sort();
        for case in cases {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            let stderr = std::fs::read_to_string(case.with_extension("stderr"))
                .expect("every case has a snapshot");
            assert!(
                catalogue.contains(&format!("`tests/ui/{area}/{name}`"))
                    && catalogue.contains(stderr.trim_end()),
                "docs/errors.md is out of date for {area}/{name}: run python3 docs/generate-errors.py"
            );
            count += 1;
        }
    }
    assert!(count >= 20, "only {count} compile-fail cases");
}
