//! `export`: golden files of the seed scenarios for every engine, each export checked by that
//! engine's own validator, and values that no engine may read as code.
//!
//! The validators live in `target/export-tools` (or `$WORKFLOW_EXPORT_TOOLS`), installed by
//! `.ci/export-tools`: Apache Airflow and Python `jsonschema` in virtual environments, npm's
//! `asl-validator`; `systemd-analyze` comes from Debian's `systemd`. After an intended change,
//! regenerate the golden files with `UPDATE_GOLDEN=1 cargo test -p workflow-examples --test
//! export` and review the diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_workflow-examples");

fn run(arguments: &[&str]) -> Output {
    Command::new(BINARY)
        .args(arguments)
        .output()
        .expect("the example binary runs")
}

/// A directory of the test's own, removed when dropped.
fn scratch(name: &str) -> workflow_tests::Scratch {
    workflow_tests::Scratch::new(&format!("export-test-{name}"))
}

/// Exports `workflow` for `target` into `out` and returns its files by relative path.
fn export(workflow: &str, target: &str, out: &Path, extra: &[&str]) -> BTreeMap<String, String> {
    let mut arguments = vec![
        "export",
        workflow,
        "--target",
        target,
        "--out",
        out.to_str().expect("utf-8 path"),
        "--start-date",
        "2026-11-01",
    ];
    arguments.extend_from_slice(extra);
    let output = run(&arguments);
    assert!(
        output.status.success(),
        "{arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut files = BTreeMap::new();
    collect(out, out, &mut files);
    files
}

fn collect(root: &Path, directory: &Path, files: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(directory).expect("export directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path
                .strip_prefix(root)
                .expect("inside")
                .display()
                .to_string();
            files.insert(relative, std::fs::read_to_string(&path).expect("text file"));
        }
    }
}

/// The seeds each target is shown with, and whether the target loses something of them.
const SEEDS: &[(&str, &str, bool)] = &[
    ("systemd", "weekly_etl", false),
    ("systemd", "step1", false),
    ("systemd", "step2", false),
    ("systemd", "chained_jobs", false),
    ("airflow", "weekly_etl", false),
    ("airflow", "daily_batch", true),
    ("airflow", "warehouse_ingest", true),
    ("airflow", "step2", false),
    ("argo", "weekly_etl", false),
    ("argo", "daily_batch", true),
    ("argo", "warehouse_ingest", true),
    ("step-functions", "step1", true),
    ("step-functions", "step2", false),
    ("step-functions", "weekly_etl", true),
    ("step-functions", "warehouse_ingest", true),
];

fn export_seed(target: &str, workflow: &str, lossy: bool, out: &Path) -> BTreeMap<String, String> {
    let extra: &[&str] = if lossy { &["--allow-lossy"] } else { &[] };
    export(workflow, target, out, extra)
}

#[test]
fn seed_exports_match_their_golden_files() {
    let golden_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/export");
    for (target, workflow, lossy) in SEEDS {
        let out = scratch(&format!("golden-{target}-{workflow}"));
        let files = export_seed(target, workflow, *lossy, &out);
        let golden = golden_root.join(target).join(workflow);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            let _ = std::fs::remove_dir_all(&golden);
            for (path, text) in &files {
                let path = golden.join(path);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("golden directory");
                std::fs::write(path, text).expect("golden file");
            }
            continue;
        }
        let mut expected = BTreeMap::new();
        collect(&golden, &golden, &mut expected);
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{target} {workflow}: files differ from {}",
            golden.display()
        );
        for (path, text) in &files {
            assert_eq!(
                text, &expected[path],
                "{target} {workflow}: {path} differs from its golden file"
            );
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}

/// A setting that would be written into a file as more than data is refused, naming the flag,
/// and nothing is written: a line break in `--user` would add a directive to the unit.
#[test]
fn settings_that_would_change_the_files_meaning_are_refused() {
    let refused = [
        ("--user", "root\nExecStartPre=/bin/sh -c id"),
        ("--user", "1root"),
        ("--aws-account", "12345"),
        ("--namespace", "Argo Prod"),
        ("--image", "workflows latest"),
        ("--binary", "/usr/bin/x\ny"),
        ("--binary", "bin/workflows"),
        ("--run-root", "/runs/{{workflow.name}}"),
        ("--image", "{{ ds }}"),
        ("--user", "65535"),
        ("--user", "007"),
        ("--user", "4294967295"),
        ("--namespace", "-argo"),
        ("--volume-claim", "runs..claim"),
        ("--image", "Team/workflows:1"),
        ("--aws-region", "x"),
        ("--instance-tag", "aws:pool"),
    ];
    // Odd but legal: exported.
    let accepted = [
        ("--user", "4242"),
        ("--user", "_svc-etl"),
        (
            "--image",
            "registry.example.com:5000/team/workflows@sha256:0123456789abcdef",
        ),
        ("--volume-claim", "runs.shared"),
    ];
    let cases = refused
        .iter()
        .map(|case| (case, false))
        .chain(accepted.iter().map(|case| (case, true)));
    for ((flag, value), fine) in cases {
        let out = scratch("setting");
        let output = run(&[
            "export",
            "step2",
            "--target",
            "systemd",
            "--out",
            out.to_str().unwrap(),
            &format!("{flag}={value}"),
        ]);
        let said = String::from_utf8_lossy(&output.stderr);
        if fine {
            assert!(output.status.success(), "{flag} {value:?}: {said}");
            continue;
        }
        assert_eq!(output.status.code(), Some(2), "{flag} {value:?}");
        assert!(said.contains(&format!("{flag} ")), "{said}");
        assert!(
            std::fs::read_dir(&out).map_or(true, |mut entries| entries.next().is_none()),
            "{flag}: files written"
        );
    }
}

#[test]
fn a_construct_the_target_cannot_express_is_an_error_that_names_it() {
    let out = scratch("lossy");
    let output = run(&[
        "export",
        "chained_jobs",
        "--target",
        "airflow",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: airflow cannot express all of workflow `chained_jobs`:\n  - the file trigger `/data/inbox/*.csv`: Airflow has no file watcher that starts a DAG\npass --allow-lossy to export it without them\n"
    );
    assert!(
        std::fs::read_dir(&out).unwrap().next().is_none(),
        "nothing is written"
    );
    // With --allow-lossy it is written, and the loss is still said.
    let output = run(&[
        "export",
        "chained_jobs",
        "--target",
        "airflow",
        "--out",
        out.to_str().unwrap(),
        "--allow-lossy",
    ]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("warning: the file trigger"));
    let output = run(&[
        "export",
        "nope",
        "--target",
        "argo",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let output = run(&[
        "export",
        "step1",
        "--target",
        "argo",
        "--out",
        out.to_str().unwrap(),
        "-p",
        "prefix={{workflow.name}}",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("which Argo would read as a template")
    );
}

use workflow_tests::engines::tools;

fn checked(command: &mut Command, what: &str) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{what} failed:\n{text}");
    text
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    for (target, workflow, lossy) in SEEDS.iter().filter(|(target, ..)| *target == "systemd") {
        let out = scratch(&format!("verify-{workflow}"));
        // verify checks that ExecStart's program exists: point it at this binary.
        let extra: Vec<&str> = ["--binary", BINARY, "--user", "root"]
            .into_iter()
            .chain(lossy.then_some("--allow-lossy"))
            .collect();
        let files = export(workflow, target, &out, &extra);
        let units: Vec<&String> = files
            .keys()
            .filter(|path| {
                !path.contains('/') && !path.ends_with(".md") && !path.ends_with(".export.json")
            })
            .collect();
        let text = checked(
            Command::new("systemd-analyze")
                .arg("verify")
                .args(units)
                .current_dir(&out)
                .env("SYSTEMD_UNIT_PATH", format!("{}:", out.display())),
            &format!("systemd-analyze verify ({workflow})"),
        );
        // It exits 0 on some warnings: any output is a failure.
        assert_eq!(text, "", "systemd-analyze verify ({workflow}) complained");
        let calendar = files
            .get(&format!("{workflow}.timer"))
            .map_or("", String::as_str)
            .lines()
            .filter_map(|line| line.strip_prefix("OnCalendar="))
            .map(str::to_owned)
            .collect::<Vec<_>>();
        if !calendar.is_empty() {
            checked(
                Command::new("systemd-analyze")
                    .arg("calendar")
                    .args(&calendar),
                "systemd-analyze calendar",
            );
        }
    }
}

/// The timer fires when the workflow's cron expression does: systemd's own reading of the
/// translated calendar against the schedule's next fire times.
#[test]
fn the_weekly_timer_fires_when_the_schedule_does() {
    let out = scratch("calendar");
    let files = export("weekly_etl", "systemd", &out, &[]);
    let line = files["weekly_etl.timer"]
        .lines()
        .find_map(|line| line.strip_prefix("OnCalendar="))
        .expect("a calendar")
        .to_owned();
    let text = checked(
        Command::new("systemd-analyze")
            .args([
                "calendar",
                "--iterations=3",
                "--base-time=2026-11-20 00:00:00 UTC",
                &line,
            ])
            .env("TZ", "UTC"),
        "systemd-analyze calendar",
    );
    let plan = checked(
        Command::new(BINARY).args([
            "plan",
            "weekly_etl",
            "-p",
            "week=2026-11-09",
            "--now",
            "2026-11-20T00:00:00Z",
            "--next",
            "3",
        ]),
        "plan",
    );
    for (fire, shown) in [
        ("2026-11-21T07:15:00Z", "Sat 2026-11-21 07:15:00 UTC"),
        ("2026-11-28T07:15:00Z", "Sat 2026-11-28 07:15:00 UTC"),
        ("2026-12-05T07:15:00Z", "Sat 2026-12-05 07:15:00 UTC"),
    ] {
        assert!(plan.contains(fire), "{plan}");
        assert!(text.contains(shown), "{text}");
    }
}

#[test]
fn argo_manifests_pass_argo_s_schema() {
    let tools = tools();
    let mut manifests = Vec::new();
    // The directories live until the validator has read them.
    let mut directories = Vec::new();
    for (target, workflow, lossy) in SEEDS.iter().filter(|(target, ..)| *target == "argo") {
        let out = scratch(&format!("argo-{workflow}"));
        for path in export_seed(target, workflow, *lossy, &out)
            .keys()
            .filter(|path| path.ends_with(".yaml"))
        {
            manifests.push(out.join(path));
        }
        directories.push(out);
    }
    for extra in ["step1", "step2", "chained_jobs", "customer_activity"] {
        let out = scratch(&format!("argo-{extra}"));
        for path in export(extra, "argo", &out, &["--allow-lossy"])
            .keys()
            .filter(|path| path.ends_with(".yaml"))
        {
            manifests.push(out.join(path));
        }
        directories.push(out);
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/exports/validate-argo.py");
    checked(
        Command::new(tools.join("validators/bin/python"))
            .arg(script)
            .args(&manifests),
        "validate-argo.py",
    );
}

#[test]
fn state_machines_pass_asl_validator() {
    let tools = tools();
    for workflow in [
        "step1",
        "step2",
        "weekly_etl",
        "warehouse_ingest",
        "daily_batch",
        "chained_jobs",
        "customer_activity",
    ] {
        let out = scratch(&format!("asl-{workflow}"));
        let files = export(workflow, "step-functions", &out, &["--allow-lossy"]);
        let definition = out.join(format!("{workflow}.asl.json"));
        checked(
            Command::new(tools.join("node_modules/.bin/asl-validator"))
                .arg("--json-path")
                .arg(&definition),
            &format!("asl-validator ({workflow})"),
        );
        // asl-validator accepts `States.ALL` before other retriers, which AWS rejects.
        let text = &files[&format!("{workflow}.asl.json")];
        assert!(
            !text.contains("\"States.ALL\","),
            "States.ALL shares a retrier in {workflow}"
        );
    }
    // And it is a real check: a state that goes nowhere is refused.
    let broken_directory = scratch("asl-broken");
    let broken = broken_directory.join("broken.asl.json");
    std::fs::write(
        &broken,
        r#"{"StartAt": "a", "States": {"a": {"Type": "Pass", "Next": "nowhere"}}}"#,
    )
    .unwrap();
    let output = Command::new(tools.join("node_modules/.bin/asl-validator"))
        .arg("--json-path")
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!output.status.success());
}

/// Real Airflow imports every exported DAG, and `airflow dags test` runs seed 003 (and the
/// daily batch, with its branch and sub-workflow) end to end, every task through this binary.
#[test]
fn airflow_imports_the_dags_and_runs_them_end_to_end() {
    let tools = tools();
    let home = scratch("airflow-home");
    let dags = home.join("dags");
    let runs = home.join("runs");
    for workflow in [
        "weekly_etl",
        "daily_batch",
        "warehouse_ingest",
        "step1",
        "step2",
        "chained_jobs",
        "customer_activity",
    ] {
        export(
            workflow,
            "airflow",
            &dags,
            &[
                "--allow-lossy",
                "--binary",
                BINARY,
                "--run-root",
                runs.to_str().unwrap(),
            ],
        );
    }
    let airflow = |arguments: &[&str]| {
        let mut command = Command::new(tools.join("airflow/bin/airflow"));
        command
            .args(arguments)
            .env("AIRFLOW_HOME", home.path())
            .env("AIRFLOW__CORE__DAGS_FOLDER", &dags)
            .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
            .env_remove("WORKFLOW_SMTP");
        command
    };
    checked(&mut airflow(&["db", "migrate"]), "airflow db migrate");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/exports/check-airflow-dags.py");
    let report = checked(
        Command::new(tools.join("airflow/bin/python"))
            .arg(&script)
            .arg(&dags)
            .env("AIRFLOW_HOME", home.path())
            .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False"),
        "check-airflow-dags.py",
    );
    assert!(report.contains("7 DAGs, no import errors"), "{report}");
    checked(
        &mut airflow(&["pools", "set", "redshift", "2", "test"]),
        "airflow pools set",
    );

    let data = home.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("2026-11-09.csv"),
        "station,value\nPRG,1.5\nBRQ,x\nOVA,2\n",
    )
    .unwrap();
    let conf = format!(
        r#"{{"export_dir": "{}", "database": "{}"}}"#,
        data.display(),
        data.join("measurements.csv").display()
    );
    let log = checked(
        &mut airflow(&[
            "dags",
            "test",
            "weekly_etl",
            "2026-11-21T07:15:00+00:00",
            "--conf",
            &conf,
        ]),
        "airflow dags test weekly_etl",
    );
    assert!(
        log.contains("Marking run") && log.contains("successful"),
        "{log}"
    );
    // Saturday 2026-11-21: the week that ended before it, cleaned and loaded by the binary.
    assert_eq!(
        std::fs::read_to_string(data.join("measurements.csv")).unwrap(),
        "2026-11-09,PRG,1.5\n2026-11-09,OVA,2\n"
    );
    let log = checked(
        &mut airflow(&["dags", "test", "daily_batch", "2026-11-30T02:00:00+00:00"]),
        "airflow dags test daily_batch",
    );
    assert!(
        log.contains("Marking run") && log.contains("successful"),
        "{log}"
    );
    // 2026-11-29 is a regular day: the month-end arm is skipped (exit 99), the rest ran.
    assert!(
        log.contains("Bash command returned exit code 99. Skipping."),
        "{log}"
    );
    let run = std::fs::read_dir(runs.join("daily_batch"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for node in ["activity", "day_kind", "warehouse", "counters", "crm"] {
        assert!(
            run.join(format!("{node}.json")).exists(),
            "{node} did not run"
        );
    }
    assert!(!run.join("month_close.json").exists());
}

/// A parameter value full of shell, Python, YAML and template syntax stays one value, exactly,
/// in every target.
#[test]
fn values_are_data_in_every_export() {
    let hostile = "it's \"$(rm -rf /)\" `id`; echo $HOME %n\nnext line \\ {x}";
    let fixed = format!("prefix={hostile}");
    let expected = serde_json::Value::from(hostile);
    let text_of = |value: &serde_json::Value| serde_json::to_string(value).unwrap();

    // systemd: one ExecStart word, the value's own text with `$` and `%` doubled, quotes,
    // backslashes and the newline escaped.
    let out = scratch("hostile-systemd");
    let files = export(
        "step1",
        "systemd",
        &out,
        &["-p", &fixed, "--binary", BINARY, "--user", "root"],
    );
    let exec = files["step1.service"]
        .lines()
        .find(|line| line.starts_with("ExecStart="))
        .unwrap()
        .to_owned();
    assert!(
        exec.ends_with(
            r#" "prefix=it's \"$$(rm -rf /)\" `id`; echo $$HOME %%n\nnext line \\ {x}""#
        ),
        "{exec}"
    );
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg("step1.service")
        .current_dir(&out)
        .env("SYSTEMD_UNIT_PATH", format!("{}:", out.display()))
        .output()
        .unwrap();
    assert!(verify.status.success() && verify.stdout.is_empty() && verify.stderr.is_empty());

    // Step Functions: the value is JSON data in the state machine, never in a command line.
    let out = scratch("hostile-sfn");
    // (Lossy: EventBridge has no exact form of an interval of 2h30m.)
    let files = export(
        "step1",
        "step-functions",
        &out,
        &["-p", &fixed, "--allow-lossy"],
    );
    let machine: serde_json::Value = serde_json::from_str(&files["step1.asl.json"]).unwrap();
    assert_eq!(
        machine["States"]["Defaults"]["Parameters"]["fixed"]["prefix"],
        expected
    );
    assert_eq!(files["step1.asl.json"].matches("rm -rf").count(), 1);

    // Argo: a workflow parameter whose value is the text `--param` takes (a string's own
    // text); args only refer to it.
    let out = scratch("hostile-argo");
    let files = export("step1", "argo", &out, &["-p", &fixed]);
    let tools = tools();
    let parsed = checked(
        Command::new(tools.join("validators/bin/python"))
            .args(["-c", "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))"])
            .arg(out.join("step1.cronworkflow.yaml")),
        "parse YAML",
    );
    let documents: serde_json::Value = serde_json::from_str(&parsed).unwrap();
    let parameters = &documents[0]["spec"]["workflowSpec"]["arguments"]["parameters"];
    let prefix = parameters
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "prefix")
        .unwrap();
    assert_eq!(prefix["value"], expected);
    assert_eq!(
        files["step1.cronworkflow.yaml"].matches("rm -rf").count(),
        1
    );

    // Airflow: a Python literal that Airflow reads back as exactly the value.
    let out = scratch("hostile-airflow");
    // (Lossy: Airflow has no exact form of an interval of 2h30m counted from midnight UTC.)
    export("step1", "airflow", &out, &["-p", &fixed, "--allow-lossy"]);
    let value = checked(
        Command::new(tools.join("airflow/bin/python"))
            .args(["-c", "import ast, json, sys\nsource = open(sys.argv[1]).read()\nfor node in ast.walk(ast.parse(source)):\n    if isinstance(node, ast.Dict):\n        for key, value in zip(node.keys, node.values):\n            if isinstance(key, ast.Constant) and key.value == 'prefix':\n                print(json.dumps(ast.literal_eval(value.args[0])))\n"])
            .arg(out.join("step1.py")),
        "read the DAG's parameter",
    );
    assert_eq!(value.trim(), text_of(&expected));

    // And the binary receives it exactly from a run spec, as every engine passes it.
    use base64::Engine;
    let run_dir = scratch("hostile-run");
    let spec = serde_json::json!({"dir": run_dir.path(), "params": {"prefix": hostile}, "scheduled_at": ""});
    let encoded = base64::engine::general_purpose::STANDARD.encode(spec.to_string());
    std::fs::write(
        run_dir.join("output.json"),
        r#"{"status": 0, "stdout": "a.parquet\n", "stderr": ""}"#,
    )
    .unwrap();
    checked(
        Command::new(BINARY).args(["exec-task", "step1", "landed", "--run-spec", &encoded]),
        "exec-task --run-spec",
    );
    let landed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("landed.json")).unwrap())
            .unwrap();
    assert_eq!(landed["prefix"], expected);
}
