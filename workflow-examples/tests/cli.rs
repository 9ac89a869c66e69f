//! The example binary as a user runs it: outputs, golden plans, exit statuses and messages.
//!
//! Golden files live in `tests/golden/`; after an intended change, regenerate them with
//! `UPDATE_GOLDEN=1 cargo test -p workflow-examples --test cli` and review the diff.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workflow-examples"))
        .args(arguments)
        .output()
        .expect("the example binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8 output")
}

/// Compares `actual` with the golden file `name`, or rewrites it under `UPDATE_GOLDEN=1`.
fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("golden file written");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

/// Runs a command that must succeed and returns its standard output.
fn success(arguments: &[&str]) -> String {
    let output = run(arguments);
    assert!(
        output.status.success(),
        "{arguments:?} failed: {}",
        stderr(&output)
    );
    assert!(
        stderr(&output).is_empty(),
        "{arguments:?} wrote to stderr: {}",
        stderr(&output)
    );
    stdout(&output)
}

/// Runs a command that must fail with `code` and one line on standard error; returns the line.
fn failure(arguments: &[&str], code: i32) -> String {
    let output = run(arguments);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{arguments:?}: {}",
        stderr(&output)
    );
    assert!(
        stdout(&output).is_empty(),
        "{arguments:?} wrote to stdout on failure"
    );
    stderr(&output)
}

/// The moment golden plans count their next runs from.
const NOW: &str = "2026-11-21T00:00:00Z";

const SEED_PLANS: &[(&str, &[&str])] = &[
    ("step1", &[]),
    ("step2", &[]),
    ("daily_batch", &["--param", "day=2026-11-21"]),
    (
        "customer_activity",
        &[
            "-p",
            "day=2026-11-21",
            "-p",
            "replica_url=postgres://replica/shop",
            "-p",
            "log_bucket=s3://logs",
        ],
    ),
    ("chained_jobs", &["--param", "database=ops"]),
    ("weekly_etl", &["--param", "week=2026-11-16"]),
    (
        "warehouse_ingest",
        &[
            "--param",
            "day=2026-11-21",
            "-p",
            "region=us",
            "-p",
            "full_refresh=true",
        ],
    ),
];

#[test]
fn every_seed_workflow_has_a_golden_plan() {
    for (workflow, params) in SEED_PLANS {
        let mut arguments = vec!["plan", workflow, "--now", NOW];
        arguments.extend_from_slice(params);
        let json = success(&arguments);
        let plan: workflow_core::plan::Plan =
            serde_json::from_str(&json).expect("the plan parses back");
        assert_eq!(plan.version, workflow_core::plan::PLAN_VERSION);
        assert_eq!(&plan.workflow, workflow);
        golden(&format!("{workflow}.plan.json"), &json);
        arguments.extend(["--format", "text"]);
        golden(&format!("{workflow}.plan.txt"), &success(&arguments));
    }
}

#[test]
fn plans_are_byte_for_byte_deterministic() {
    let arguments = [
        "plan",
        "warehouse_ingest",
        "-p",
        "day=2026-11-21",
        "--now",
        NOW,
    ];
    let first = success(&arguments);
    for _ in 0..5 {
        assert_eq!(success(&arguments), first);
    }
}

#[test]
fn plan_resolves_typed_parameters() {
    let json = success(&[
        "plan",
        "warehouse_ingest",
        "-p",
        "day=2026-11-21",
        "-p",
        "region=us",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    let params = plan["params"].as_array().unwrap();
    assert_eq!(
        params[0],
        serde_json::json!({"name": "day", "type": "NaiveDate", "value": "2026-11-21", "source": "given"})
    );
    assert_eq!(params[1]["value"], "us");
    assert_eq!(params[1]["default"], "eu");
    assert_eq!(
        params[2],
        serde_json::json!({"name": "full_refresh", "type": "bool", "value": false, "source": "default", "default": false})
    );
    // The join waits for all three sources; the loads fan out from it.
    let stages: Vec<Vec<String>> = serde_json::from_value(plan["stages"].clone()).unwrap();
    assert_eq!(
        stages[0],
        ["snapshot.true", "snapshot.false", "logs", "partners"]
    );
    assert_eq!(stages[1], ["sessions"]);
    assert_eq!(stages[2], ["facts"]);
    assert_eq!(stages[3], ["warehouse", "pushed"]);
    assert_eq!(stages[4], ["announced"]);
}

#[test]
fn schedules_list_their_next_runs_from_now() {
    let json = success(&[
        "plan",
        "step1",
        "--now",
        "2026-11-21T01:00:00+01:00",
        "--next",
        "3",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Every 2h30m counted from the Unix epoch; `--now` may carry any offset.
    assert_eq!(
        plan["next_runs"],
        serde_json::json!([
            "2026-11-21T00:30:00Z",
            "2026-11-21T03:00:00Z",
            "2026-11-21T05:30:00Z"
        ])
    );
    let json = success(&["plan", "step2", "--now", NOW]);
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["next_runs"], serde_json::json!([]));
    assert_eq!(plan["operations"]["on_failure"], "pause");
    assert_eq!(
        plan["operations"]["notify_failure"]["email"],
        serde_json::json!(["etl-admin@example.com"])
    );
    let message = failure(&["plan", "step1", "--now", "tomorrow"], 2);
    assert!(
        message.starts_with("error: invalid value 'tomorrow' for '--now <TIME>'"),
        "{message}"
    );
    assert!(
        message.contains("write an RFC 3339 time such as 2026-11-21T00:00:00Z"),
        "{message}"
    );
}

/// A partitioned workflow's plan without its partition parameter takes the partition the
/// schedule would set at `--now` and says so; a zoned schedule's next runs are shown in its
/// zone too, across a daylight-saving change.
#[test]
fn plan_defaults_the_partition_from_now_and_shows_local_times() {
    let text = success(&[
        "plan",
        "weekly_etl",
        "--now",
        "2026-10-20T12:00:00Z",
        "--next",
        "3",
        "--format",
        "text",
    ]);
    assert!(
        text.contains(
            "  week: NaiveDate = \"2026-10-05\" (not given: the partition of the latest fire time at or before --now)\n"
        ),
        "{text}"
    );
    // The week before last: on a Saturday, the week that ended the Sunday before. Saturdays at
    // 08:15 in Prague: summer time until 25 October 2026, then winter time.
    assert!(
        text.contains(
            "next runs: 2026-10-24T06:15:00Z (2026-10-24 08:15 CEST), 2026-10-31T07:15:00Z (2026-10-31 08:15 CET), 2026-11-07T07:15:00Z (2026-11-07 08:15 CET)\n"
        ),
        "{text}"
    );
    let json = success(&["plan", "weekly_etl", "--now", "2026-10-20T12:00:00Z"]);
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["params"][0]["source"], "partition");
    // Given, it is taken as given.
    let json = success(&[
        "plan",
        "weekly_etl",
        "--now",
        "2026-10-20T12:00:00Z",
        "-p",
        "week=2026-10-05",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["params"][0]["value"], "2026-10-05");
    assert_eq!(plan["params"][0]["source"], "given");
    // A UTC schedule's runs are shown once.
    let text = success(&[
        "plan",
        "warehouse_ingest",
        "--now",
        "2026-10-20T12:00:00Z",
        "--next",
        "1",
        "--format",
        "text",
    ]);
    assert!(text.contains("next runs: 2026-10-21T01:00:00Z\n"), "{text}");
}

#[test]
fn backfill_plans_one_run_per_partition_in_order() {
    let json = success(&[
        "plan",
        "warehouse_ingest",
        "--backfill",
        "2026-10-30..2026-11-02",
        "-p",
        "region=us",
        "--now",
        NOW,
    ]);
    let plans: Vec<workflow_core::plan::Plan> = serde_json::from_str(&json).unwrap();
    let days: Vec<&serde_json::Value> = plans.iter().map(|plan| &plan.params[0].value).collect();
    assert_eq!(
        days,
        ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]
    );
    assert!(plans.iter().all(|plan| plan.params[1].value == "us"));
    let text = success(&[
        "plan",
        "daily_batch",
        "--backfill",
        "2026-11-01..=2026-11-02",
        "--format",
        "text",
        "--now",
        NOW,
    ]);
    assert_eq!(
        text.matches("workflow daily_batch (plan version").count(),
        2
    );

    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "plan",
                "warehouse_ingest",
                "--backfill",
                "2026-11-21..2026-11-01",
            ],
            "error: backfill range `2026-11-21..2026-11-01` ends before it starts\n",
        ),
        (
            &["plan", "warehouse_ingest", "--backfill", "2026-11-01"],
            "error: malformed backfill range `2026-11-01`: write FROM..TO, e.g. 2026-11-01..2026-11-21 (both ends included)\n",
        ),
        (
            &[
                "plan",
                "warehouse_ingest",
                "--backfill",
                "2026-11-01..yesterday",
            ],
            "error: invalid backfill bound `yesterday`: input contains invalid characters; write a date such as 2026-11-01\n",
        ),
        (
            &[
                "plan",
                "warehouse_ingest",
                "--backfill",
                "2000-01-01..2099-01-01",
            ],
            "error: backfill range `2000-01-01..2099-01-01` holds 36161 partitions; plan at most 10000 at once\n",
        ),
        (
            &[
                "plan",
                "chained_jobs",
                "--backfill",
                "2026-11-01..2026-11-21",
            ],
            "error: workflow `chained_jobs` is not partitioned, so it cannot be backfilled; declare `#[partition(daily, param = ...)]`\n",
        ),
        (
            &[
                "plan",
                "daily_batch",
                "-p",
                "day=2026-11-01",
                "--backfill",
                "2026-11-01..2026-11-02",
            ],
            "error: parameter `day` names the partition, so `--backfill` sets it; do not pass it with --param\n",
        ),
    ];
    for (arguments, expected) in cases {
        assert_eq!(&failure(arguments, 2), expected, "{arguments:?}");
    }
}

#[test]
fn list_shows_every_workflow() {
    golden("list.txt", &success(&["list"]));
    let entries: serde_json::Value = serde_json::from_str(&success(&["list", "--json"])).unwrap();
    let names: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "chained_jobs",
            "customer_activity",
            "daily_batch",
            "step1",
            "step2",
            "warehouse_ingest",
            "weekly_etl"
        ]
    );
    assert_eq!(
        entries[1]["params"][0],
        serde_json::json!({"name": "day", "type": "NaiveDate", "required": true})
    );
}

#[test]
fn graph_and_show() {
    golden("daily_batch.dot", &success(&["graph", "daily_batch"]));
    golden(
        "daily_batch.mmd",
        &success(&["graph", "daily_batch", "--format", "mermaid"]),
    );
    golden("daily_batch.show.txt", &success(&["show", "daily_batch"]));
    // A command task, and the secret it reads (its name only).
    golden("step2.dot", &success(&["graph", "step2"]));
    golden(
        "step2.mmd",
        &success(&["graph", "step2", "--format", "mermaid"]),
    );
    // A branch a parameter decides: the parameter's edges to each arm's node.
    golden(
        "warehouse_ingest.dot",
        &success(&["graph", "warehouse_ingest"]),
    );
    golden(
        "warehouse_ingest.mmd",
        &success(&["graph", "warehouse_ingest", "--format", "mermaid"]),
    );
}

#[test]
fn validate_passes_on_the_examples() {
    assert_eq!(success(&["validate"]), "7 workflows, no problems\n");
}

#[test]
fn usage_errors_are_one_line_with_status_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["plan", "daily_bach"],
            "error: unknown workflow `daily_bach` (did you mean `daily_batch`?)\n",
        ),
        (
            &["plan", "nothing_like_it"],
            "error: unknown workflow `nothing_like_it`; `list` shows the registered workflows\n",
        ),
        (
            &["plan", "customer_activity"],
            "error: workflow `customer_activity` needs parameter `day`: pass --param day=<NaiveDate>\n",
        ),
        (
            &["plan", "daily_batch", "-p", "dya=2026-11-01"],
            "error: workflow `daily_batch` has no parameter `dya` (did you mean `day`?)\n",
        ),
        (
            &["plan", "daily_batch", "-p", "when=2026-11-01"],
            "error: workflow `daily_batch` has no parameter `when`; its parameters are `day`, `replica_url`, `log_bucket`\n",
        ),
        (
            &["plan", "daily_batch", "-p", "day=2026-02-30"],
            "error: invalid value `2026-02-30` for parameter `day` of type `NaiveDate`: input is out of range; write a date as 2026-11-21\n",
        ),
        (
            &["plan", "daily_batch", "-p", "day"],
            "error: malformed parameter `day`: write it as name=value\n",
        ),
        (
            &[
                "plan",
                "daily_batch",
                "-p",
                "day=2026-11-01",
                "-p",
                "day=2026-11-02",
            ],
            "error: parameter `day` is given more than once\n",
        ),
        (
            &[
                "plan",
                "warehouse_ingest",
                "-p",
                "day=2026-11-01",
                "-p",
                "region=mars",
            ],
            "error: invalid value `mars` for parameter `region` of type `Region`: unknown variant `mars`, expected `eu` or `us`\n",
        ),
        (
            &[
                "plan",
                "warehouse_ingest",
                "-p",
                "day=2026-11-01",
                "-p",
                "full_refresh=yes",
            ],
            "error: invalid value `yes` for parameter `full_refresh` of type `bool`: expected `true` or `false` (in lower case)\n",
        ),
        (
            &["graph", "weekly"],
            "error: unknown workflow `weekly` (did you mean `weekly_etl`?)\n",
        ),
        (
            &["show", "step3"],
            "error: unknown workflow `step3` (did you mean `step2`?)\n",
        ),
    ];
    for (arguments, expected) in cases {
        assert_eq!(&failure(arguments, 2), expected, "{arguments:?}");
    }
}

#[test]
fn argument_errors_come_from_clap_with_status_2() {
    let message = failure(&["graph", "daily_batch", "--format", "jpeg"], 2);
    assert!(
        message.contains("invalid value 'jpeg' for '--format <FORMAT>'"),
        "{message}"
    );
    assert!(failure(&["launch"], 2).contains("unrecognized subcommand 'launch'"));
    assert!(failure(&[], 2).contains("Usage: workflow-examples <COMMAND>"));
    assert!(success(&["--help"]).contains("plan"));
}

#[test]
fn exec_task_runs_one_node_from_files() {
    let directory = workflow_tests::Scratch::new("workflow-exec-task");
    std::fs::create_dir_all(directory.join("inputs")).unwrap();
    let output = directory.join("output.json");
    let output_text = output.to_str().unwrap();

    // Inputs as one JSON object.
    let object = directory.join("inputs.json");
    std::fs::write(
        &object,
        r#"{"raw": {"week": "2026-11-16", "csv": "station,value\nA,1.5\nB,x\nC,2\n"}}"#,
    )
    .unwrap();
    assert_eq!(
        success(&[
            "exec-task",
            "weekly_etl",
            "measurements",
            "--inputs",
            object.to_str().unwrap(),
            "--output",
            output_text
        ]),
        ""
    );
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        r#"[["A",1.5],["C",2.0]]"#
    );

    // Inputs as one file per input, for a fanned-out node: one call per element.
    std::fs::write(directory.join("inputs/partner.json"), r#"["adnet", "crm"]"#).unwrap();
    std::fs::write(directory.join("inputs/day.json"), r#""2026-11-21""#).unwrap();
    let inputs = directory.join("inputs");
    success(&[
        "exec-task",
        "warehouse_ingest",
        "partners",
        "--inputs",
        inputs.to_str().unwrap(),
        "--output",
        output_text,
    ]);
    let feeds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(feeds[1]["prefix"], "s3://lake/partners/crm/2026-11-21");

    let object_text = object.to_str().unwrap();
    assert_eq!(
        failure(
            &[
                "exec-task",
                "weekly_etl",
                "measurment",
                "--inputs",
                object_text,
                "--output",
                output_text
            ],
            2
        ),
        "error: workflow `weekly_etl` has no node `measurment` (did you mean `measurements`?)\n"
    );
    std::fs::write(&object, "{}").unwrap();
    assert_eq!(
        failure(
            &[
                "exec-task",
                "weekly_etl",
                "measurements",
                "--inputs",
                object_text,
                "--output",
                output_text
            ],
            2
        ),
        "error: node `measurements` needs input `raw` (RawExport), which the inputs do not give\n"
    );
    std::fs::write(&object, r#"{"raw": 3}"#).unwrap();
    assert_eq!(
        failure(
            &[
                "exec-task",
                "weekly_etl",
                "measurements",
                "--inputs",
                object_text,
                "--output",
                output_text
            ],
            2
        ),
        "node `measurements` of workflow `weekly_etl` failed: input #1: invalid type: integer `3`, expected struct RawExport\n"
    );
    // A sub-workflow node's inputs are its parameters: checked at their types too (a number
    // is not a `String`).
    std::fs::write(
        &object,
        r#"{"day": "2026-11-01", "replica_url": 5, "log_bucket": "s3://logs"}"#,
    )
    .unwrap();
    assert_eq!(
        failure(
            &[
                "exec-task",
                "daily_batch",
                "activity",
                "--inputs",
                object_text,
                "--output",
                output_text
            ],
            2
        ),
        "node `activity` of workflow `daily_batch` failed: workflow `customer_activity`: invalid value `5` for parameter `replica_url` of type `String`: invalid type: integer `5`, expected a string\n"
    );
}

/// `graph --format png|svg` draws every workflow with Graphviz (installed by `.ci/run`).
#[test]
fn graph_draws_pictures_with_graphviz() {
    let workflows = [
        "step1",
        "step2",
        "daily_batch",
        "customer_activity",
        "chained_jobs",
        "weekly_etl",
        "warehouse_ingest",
    ];
    for workflow in workflows {
        let png = run(&["graph", workflow, "--format", "png"]);
        assert!(png.status.success(), "{workflow}: {}", stderr(&png));
        assert!(
            png.stdout.starts_with(b"\x89PNG\r\n\x1a\n") && png.stdout.len() > 1000,
            "{workflow}: not a PNG"
        );
        let svg = success(&["graph", workflow, "--format", "svg"]);
        assert!(svg.contains("<svg"), "{workflow}: not an SVG");
    }
    let svg = success(&["graph", "weekly_etl", "--format", "svg"]);
    for node in [
        "raw",
        "measurements",
        "summary",
        "extract_export",
        "clean",
        "load",
    ] {
        assert!(svg.contains(&format!(">{node}</text>")), "{node} not drawn");
    }
    // Without Graphviz: a clear error and exit status 2.
    let output = Command::new(env!("CARGO_BIN_EXE_workflow-examples"))
        .args(["graph", "weekly_etl", "--format", "png"])
        .env("WORKFLOW_DOT", "/nonexistent/dot")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("drawing a png needs Graphviz's `/nonexistent/dot`"),
        "{}",
        stderr(&output)
    );
}

/// The fingerprint recipe in docs/reference.md, run as written by Python over every example's
/// plan (and an export's): it gives the fingerprint the plan carries, and runs of one version
/// given other values carry the same.
#[test]
fn the_documented_fingerprint_recipe_gives_every_plans_fingerprint() {
    let reference = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/reference.md"),
    )
    .expect("the reference");
    let recipe = reference
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the recipe's code block")
        .lines()
        .map(|line| line.strip_prefix("  ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(recipe.contains("open(\"plan.json\")"), "{recipe}");
    let scratch = workflow_tests::Scratch::new("fingerprint-recipe");
    let mut checked = 0;
    for line in success(&["list"]).lines() {
        let Some(workflow) = line.split_whitespace().next() else {
            continue;
        };
        let plan = run(&[
            "plan",
            workflow,
            "--format",
            "json",
            "--now",
            "2026-11-30T12:00:00Z",
        ]);
        if !plan.status.success() {
            // Needs a parameter no default gives: its golden plan is made with one.
            continue;
        }
        std::fs::write(scratch.join("plan.json"), &plan.stdout).unwrap();
        let output = Command::new("python3")
            .arg("-c")
            .arg(&recipe)
            .current_dir(&*scratch)
            .output()
            .expect("python3 runs");
        assert!(output.status.success(), "{}", stderr(&output));
        let value: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
        assert_eq!(
            stdout(&output).trim(),
            value["fingerprint"].as_str().unwrap(),
            "{workflow}"
        );
        checked += 1;
    }
    assert!(checked >= 5, "{checked} plans checked");
    // Another partition, another run of the same version: the same fingerprint.
    let fingerprint = |day: &str| {
        let plan = success(&["plan", "daily_batch", "--format", "json", "-p", day]);
        serde_json::from_str::<serde_json::Value>(&plan).unwrap()["fingerprint"].clone()
    };
    assert_eq!(fingerprint("day=2026-11-21"), fingerprint("day=2026-11-22"));
}
