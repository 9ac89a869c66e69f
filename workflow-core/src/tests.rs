//! Unit tests over hand-built specs: the cases `workflow!` never produces but a registry,
//! a renderer or a future front end must still handle.

use serde_json::{Value, json};

use crate::plan::{Plan, PlanError};
use crate::workflow_model::{NodeSpec, ParamSpec, Source, WorkflowSpec};
use crate::{InputSpec, TaskError, TaskPolicy, TaskSpec, registry, render};

const ONE_INPUT: &[InputSpec] = &[InputSpec {
    name: "value",
    ty: "u32",
}];

fn task(name: &'static str) -> TaskSpec {
    TaskSpec {
        name,
        rust_path: "tests::task",
        description: "",
        inputs: ONE_INPUT,
        output: "u32",
        fallible: false,
        kind: crate::TaskKind::Function,
        policy: TaskPolicy::default(),
    }
}

fn never_called(_: Vec<Value>) -> Result<Value, TaskError> {
    Err(TaskError::new("not called in these tests"))
}

fn node(name: &'static str, input: Source, after: Vec<&'static str>) -> NodeSpec {
    NodeSpec {
        name,
        task: task("step"),
        inputs: vec![input],
        after,
        call: never_called,
        map: None,
        condition: None,
    }
}

fn parse_u32(text: &str) -> Result<Value, String> {
    crate::__private::parse_param::<u32>(text)
}

fn spec(name: &'static str, nodes: Vec<NodeSpec>) -> WorkflowSpec {
    WorkflowSpec {
        name,
        doc: "A \"quoted\" <doc>.",
        rust_path: "tests::spec",
        params: vec![ParamSpec {
            name: "seed",
            ty: "u32",
            default: Some(json!(1)),
            parse: parse_u32,
            check: |value| {
                value
                    .as_u64()
                    .filter(|number| u32::try_from(*number).is_ok())
                    .map(Value::from)
                    .ok_or_else(|| format!("{value} is not a u32"))
            },
        }],
        nodes,
        operations: Default::default(),
        secrets: Vec::new(),
        branches: Vec::new(),
        merges: Vec::new(),
        returns: None,
    }
}

#[test]
fn cycles_in_hand_built_specs_are_errors_not_hangs() {
    let cyclic = spec(
        "w",
        vec![
            node("a", Source::Node("b"), vec![]),
            node("b", Source::Param("seed"), vec!["a"]),
        ],
    );
    assert_eq!(
        cyclic.stages().unwrap_err().to_string(),
        "nodes `a`, `b` depend on each other in a cycle"
    );
    assert!(matches!(
        Plan::build(&cyclic, &[], &Default::default()),
        Err(PlanError::Spec(_))
    ));
    let dangling = spec("w", vec![node("a", Source::Node("ghost"), vec![])]);
    assert_eq!(
        dangling.stages().unwrap_err().to_string(),
        "an edge names node `ghost`, which the workflow does not declare"
    );
}

#[test]
fn validate_reports_every_registry_problem() {
    let sound = spec("ingest", vec![node("a", Source::Param("seed"), vec![])]);
    assert!(registry::validate(std::slice::from_ref(&sound)).is_empty());

    let mut twin = sound.clone();
    twin.rust_path = "tests::other";
    let mut bad_default = spec("export", vec![node("a", Source::Param("seed"), vec![])]);
    bad_default.params[0].default = Some(json!("not a number"));
    let cyclic = spec("looping", vec![node("a", Source::Node("a"), vec![])]);
    let problems = registry::validate(&[sound, twin, bad_default, cyclic]);
    assert_eq!(
        problems,
        [
            "workflow name `ingest` is declared 2 times: `tests::spec`, `tests::other`",
            "workflow `export`: the default of parameter `seed` cannot be given back as `--param seed=not a number`: `not a number` is not a number: a `u32` is a whole number from 0 to 4294967295",
            "workflow `looping`: nodes `a` depend on each other in a cycle",
        ]
    );
}

#[test]
fn plan_errors_name_what_is_wrong() {
    let mut no_params = spec("w", vec![node("a", Source::Value(json!(3)), vec![])]);
    no_params.params.clear();
    let error = Plan::build(
        &no_params,
        &[("seed".into(), "1".into())],
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "workflow `w` has no parameter `seed`; it takes no parameters"
    );
    let plan = Plan::build(&no_params, &[], &Default::default()).unwrap();
    assert_eq!(
        plan.nodes[0].inputs[0].from,
        crate::plan::InputSource::Value(json!(3))
    );
}

#[test]
fn graphs_escape_names_and_labels() {
    let mut quoted = spec("w\"x", vec![node("a", Source::Param("seed"), vec![])]);
    quoted.params[0].ty = "Vec<\"u32\">";
    let dot = render::dot(&quoted);
    assert!(dot.starts_with("digraph \"w\\\"x\" {"), "{dot}");
    assert!(dot.contains("label=\"seed: Vec<\\\"u32\\\">\""), "{dot}");
    let mermaid = render::mermaid(&quoted);
    assert!(
        mermaid.contains("param_seed[/\"seed: Vec#lt;#quot;u32#quot;#gt;\"/]"),
        "{mermaid}"
    );
}

#[test]
fn plans_round_trip_through_json() {
    let workflow = spec(
        "w",
        vec![
            node("a", Source::Param("seed"), vec![]),
            node("b", Source::Node("a"), vec!["a"]),
        ],
    );
    let plan = Plan::build(
        &workflow,
        &[("seed".into(), "7".into())],
        &Default::default(),
    )
    .unwrap();
    let parsed: Plan = serde_json::from_str(&plan.to_json()).unwrap();
    assert_eq!(parsed, plan);
    assert_eq!(plan.edges.len(), 2);
    assert_eq!(plan.stages, [vec!["a"], vec!["b"]]);
}

#[test]
fn stages_of_a_long_chain_and_a_wide_fan() {
    let names: Vec<&'static str> = (0..5_000)
        .map(|index| &*Box::leak(format!("n{index}").into_boxed_str()))
        .collect();
    let mut nodes = vec![node(names[0], Source::Param("seed"), vec![])];
    nodes.extend(
        names
            .windows(2)
            .map(|pair| node(pair[1], Source::Node(pair[0]), vec![])),
    );
    // A wide fan-in at the end: one node waiting for every tenth node and the last one.
    let mut fan: Vec<&'static str> = names.iter().step_by(10).copied().collect();
    fan.push(names[4_999]);
    nodes.push(node("fan", Source::Param("seed"), fan));
    let stages = spec("chain", nodes).stages().unwrap();
    assert_eq!(stages.len(), 5_001);
    assert_eq!(stages[4_999], ["n4999"]);
    assert_eq!(stages[5_000], ["fan"]);
}

#[test]
fn validate_finds_trigger_cycles_and_unknown_upstreams() {
    use crate::operations::Trigger;
    let triggered_by = |name: &'static str, upstream: &[&str]| {
        let mut workflow = spec(name, vec![node("a", Source::Param("seed"), vec![])]);
        workflow.operations.triggers = upstream
            .iter()
            .map(|upstream| Trigger::AfterWorkflow {
                workflow: (*upstream).to_owned(),
                within_secs: None,
            })
            .collect();
        workflow
    };
    let specs = [
        triggered_by("extract", &["load"]),
        triggered_by("transform", &["extract"]),
        triggered_by("load", &["transform"]),
        triggered_by("report", &["load", "archive"]),
        triggered_by("audit", &["audit_twin"]),
        triggered_by("audit_twin", &["audit"]),
    ];
    // The same problems stop the binary from running anything (all but `validate`).
    assert_eq!(registry::startup_problems(&specs).len(), 3);
    assert_eq!(
        registry::validate(&specs),
        [
            "workflow `report` is triggered by workflow `archive`, which this binary does not register",
            "workflows trigger each other in a cycle: `audit` -> `audit_twin` -> `audit`",
            "workflows trigger each other in a cycle: `extract` -> `transform` -> `load` -> `extract`",
        ]
    );
    // What the test generated by `main!` fails with.
    assert_eq!(
        registry::check(&specs).unwrap_err(),
        "the registered workflows have 3 problems:\n  \
         - workflow `report` is triggered by workflow `archive`, which this binary does not register\n  \
         - workflows trigger each other in a cycle: `audit` -> `audit_twin` -> `audit`\n  \
         - workflows trigger each other in a cycle: `extract` -> `transform` -> `load` -> `extract`"
    );
    assert_eq!(registry::check(&[]).unwrap_err(), registry::NO_WORKFLOWS);
    assert_eq!(registry::check(&specs[..1]).unwrap_err().lines().count(), 2);
    assert_eq!(registry::check(&[triggered_by("alone", &[])]), Ok(()));
}

/// The fingerprint: the version of the workflow. The same for the same source whenever and
/// wherever the plan is made and whatever values a run is given, and different when any
/// counted field changes (a parameter's declared default among them); uncounted fields never
/// move it. It is SHA-256 of the counted JSON exactly as the reference describes it.
#[test]
fn fingerprints_follow_what_a_run_does_and_nothing_else() {
    let workflow = spec(
        "w",
        vec![
            node("a", Source::Param("seed"), vec![]),
            node("b", Source::Node("a"), vec!["a"]),
        ],
    );
    let build = |seed: &str, now: &str| {
        let options = crate::plan::PlanOptions {
            now: now.parse().unwrap(),
            next_runs: 3,
        };
        Plan::build(&workflow, &[("seed".into(), seed.into())], &options).unwrap()
    };
    let plan = build("7", "2026-11-30T00:00:00Z");
    assert!(
        plan.fingerprint.starts_with("sha256:"),
        "{}",
        plan.fingerprint
    );
    assert_eq!(plan.fingerprint.len(), 7 + 64);
    // Made at another moment: the same.
    assert_eq!(
        build("7", "2031-01-01T12:00:00Z").fingerprint,
        plan.fingerprint
    );
    // Read back from JSON and fingerprinted again: the same.
    let parsed: Plan = serde_json::from_str(&plan.to_json()).unwrap();
    assert_eq!(parsed.fingerprint_of(), plan.fingerprint);
    assert!(plan.changes_to(&parsed).is_empty());
    // Another value for a run: the same version.
    let other = build("8", "2026-11-30T00:00:00Z");
    assert_eq!(other.fingerprint, plan.fingerprint);
    assert!(plan.changes_to(&other).is_empty());
    // Recomputed by the documented recipe, independently: the plan's JSON with `version`,
    // `doc`, `rust_path`, `next_runs` and `fingerprint` left out, each node's `description`
    // and `task_path`, each parameter's `value` and `source`; compact, the remaining fields
    // in the order the plan has them.
    let full: Value = serde_json::from_str(&plan.to_json()).unwrap();
    let mut kept = serde_json::Map::new();
    for (key, value) in full.as_object().unwrap() {
        let left_out = ["version", "doc", "rust_path", "next_runs", "fingerprint"];
        if left_out.contains(&key.as_str()) {
            continue;
        }
        let items_without = |value: &Value, fields: &[&str]| {
            Value::Array(
                value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|item| {
                        Value::Object(
                            item.as_object()
                                .unwrap()
                                .iter()
                                .filter(|(field, _)| !fields.contains(&field.as_str()))
                                .map(|(field, value)| (field.clone(), value.clone()))
                                .collect(),
                        )
                    })
                    .collect(),
            )
        };
        let value = match key.as_str() {
            "nodes" => items_without(value, &["description", "task_path"]),
            "params" => items_without(value, &["value", "source"]),
            _ => value.clone(),
        };
        kept.insert(key.clone(), value);
    }
    let recipe = Value::Object(kept).to_string();
    assert!(
        recipe.starts_with(
            r#"{"workflow":"w","params":[{"name":"seed","type":"u32","default":1}],"nodes":"#
        ),
        "{recipe}"
    );
    use sha2::Digest;
    let digest = sha2::Sha256::digest(recipe.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(plan.fingerprint, format!("sha256:{hex}"));
    // Each counted field moves it; each uncounted one does not.
    let moved = |change: &dyn Fn(&mut Plan)| {
        let mut changed = plan.clone();
        change(&mut changed);
        changed.fingerprint_of() != plan.fingerprint
    };
    assert!(moved(&|plan| plan.workflow.push('x')));
    assert!(moved(&|plan| plan.nodes[0].policy.retries += 1));
    assert!(moved(&|plan| plan.nodes[1].task.push('x')));
    assert!(moved(&|plan| plan.nodes[1].inputs[0].ty.push('x')));
    assert!(moved(&|plan| plan.nodes[1].output.push('x')));
    assert!(moved(&|plan| plan.nodes[1].after.clear()));
    assert!(moved(&|plan| plan.edges.pop().map_or((), drop)));
    assert!(moved(&|plan| plan.stages.reverse()));
    assert!(moved(&|plan| plan.operations.timeout_secs = Some(60)));
    assert!(moved(&|plan| plan
        .secrets
        .push(crate::Secret::from_env("token", "TOKEN"))));
    assert!(moved(&|plan| plan.params[0].ty.push('x')));
    assert!(moved(&|plan| plan.params[0].default = Some(json!(2))));
    assert!(moved(&|plan| plan.params[0].default = None));
    assert!(!moved(&|plan| plan.params[0].value = json!(9)));
    assert!(!moved(
        &|plan| plan.params[0].source = crate::plan::ValueSource::Default
    ));
    assert!(!moved(&|plan| plan.doc.push('x')));
    assert!(!moved(&|plan| plan.rust_path.push('x')));
    assert!(!moved(&|plan| plan.nodes[0].description.push('x')));
    assert!(!moved(&|plan| plan.nodes[0].task_path.push('x')));
    assert!(!moved(&|plan| plan.next_runs.clear()));
    assert!(!moved(&|plan| plan.version += 1));
    let mut grown = plan.clone();
    grown.nodes.push(grown.nodes[1].clone());
    grown.nodes[2].id = "c".into();
    grown.fingerprint = grown.fingerprint_of();
    assert_eq!(plan.changes_to(&grown), ["node `c` added"]);
    assert_eq!(grown.changes_to(&plan), ["node `c` removed"]);
}

/// `diff` of a plan with itself says nothing; each kind of change is said in its section.
#[test]
fn diff_names_each_kind_of_change_in_review_order() {
    let workflow = spec(
        "w",
        vec![
            node("a", Source::Param("seed"), vec![]),
            node("b", Source::Node("a"), vec!["a"]),
        ],
    );
    let now: chrono::DateTime<chrono::Utc> = "2026-11-30T00:00:00Z".parse().unwrap();
    let options = crate::plan::PlanOptions { now, next_runs: 3 };
    let plan = Plan::build(&workflow, &[], &options).unwrap();
    let same = crate::diff::diff(&plan, &plan, now, chrono::Duration::days(14));
    assert!(!same.changed());
    assert_eq!(
        crate::diff::text(&same, 14, false),
        format!(
            "workflow `w`: no change (plan {})\n",
            Plan::short_fingerprint(&plan.fingerprint)
        )
    );
    let mut after = plan.clone();
    after.nodes[1].id = "b2".into(); // renamed: same task and inputs
    for edge in &mut after.edges {
        if edge.to == "b" {
            edge.to = "b2".into();
        }
    }
    after.nodes[0].output = "u64".into();
    after.nodes[0].policy.retries = 4;
    after.params[0].ty = "u64".into();
    after.operations.timeout_secs = Some(600);
    after
        .secrets
        .push(crate::Secret::from_env("token", "TOKEN"));
    let mut extra = after.nodes[0].clone();
    extra.id = "c".into();
    extra.task = "audit".into();
    after.nodes.push(extra);
    after.fingerprint = after.fingerprint_of();
    let diff = crate::diff::diff(&plan, &after, now, chrono::Duration::days(14));
    assert!(diff.changed());
    let text = crate::diff::text(&diff, 14, false);
    let expected = [
        "graph:",
        "  ~ renamed? node `b` → `b2` (same task and inputs)",
        "  + node `c` (task `audit`)",
        "types:",
        "  ~ node `a`: output `u32` → `u64` (consumed by `b2`)",
        "policy:",
        "  ~ node `a`: retries 0 → 4",
        "  ~ workflow: timeout none → 10m",
        "parameters:",
        "  ~ `seed`: type `u32` → `u64`",
        "secrets:",
        "  + secret `token` from env TOKEN",
    ];
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines, expected, "{text}");
    let json = serde_json::to_value(&diff).unwrap();
    assert_eq!(json["graph"][0]["change"], "renamed?");
    assert_eq!(json["secrets"][0]["text"], "secret `token` from env TOKEN");
}

/// Moving a daily schedule across the spring change in Prague: the instants before and after
/// are the shared evaluator's, in UTC and local time.
#[test]
fn diff_of_a_schedule_across_the_spring_change_in_prague() {
    use crate::operations::{Cadence, CatchUp, Schedule};
    let workflow = spec("w", vec![node("a", Source::Param("seed"), vec![])]);
    let now: chrono::DateTime<chrono::Utc> = "2027-03-20T12:00:00Z".parse().unwrap();
    let options = crate::plan::PlanOptions { now, next_runs: 3 };
    let mut before = Plan::build(&workflow, &[], &options).unwrap();
    let schedule = |cron: &str| Schedule {
        when: Cadence::Cron(cron.into()),
        timezone: "Europe/Prague".into(),
        catch_up: CatchUp::Skip,
    };
    before.operations.schedule = Some(schedule("30 1 * * *"));
    before.fingerprint = before.fingerprint_of();
    let mut after = before.clone();
    after.operations.schedule = Some(schedule("30 2 * * *"));
    after.fingerprint = after.fingerprint_of();
    let diff = crate::diff::diff(&before, &after, now, chrono::Duration::days(14));
    let change = diff.schedule.clone().unwrap();
    let until = now + chrono::Duration::days(14);
    let old = schedule("30 1 * * *")
        .fire_times_between(now, until, 1000)
        .unwrap();
    let new = schedule("30 2 * * *")
        .fire_times_between(now, until, 1000)
        .unwrap();
    let removed: Vec<_> = old
        .iter()
        .filter(|time| !new.contains(time))
        .copied()
        .collect();
    let added: Vec<_> = new
        .iter()
        .filter(|time| !old.contains(time))
        .copied()
        .collect();
    assert_eq!(change.removed, removed);
    assert_eq!(change.added, added);
    // 02:30 CET is 01:30Z before the change; 02:30 CEST is 00:30Z after it, the instant
    // 01:30 CET had the day before the change.
    let at = |text: &str| text.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert!(change.removed.contains(&at("2027-03-27T00:30:00Z")));
    assert!(change.added.contains(&at("2027-03-27T01:30:00Z")));
    assert!(change.added.contains(&at("2027-03-29T00:30:00Z")));
    assert!(change.removed.contains(&at("2027-03-28T23:30:00Z")));
    let text = crate::diff::text(&diff, 14, false);
    assert!(
        text.contains("    + 2027-03-29T00:30:00Z (2027-03-29 02:30 CEST)"),
        "{text}"
    );
    assert!(
        text.contains("    - 2027-03-27T00:30:00Z (2027-03-27 01:30 CET)"),
        "{text}"
    );
    assert!(text.contains("  ~ cron `30 1 * * *` in Europe/Prague, catch-up skip → cron `30 2 * * *` in Europe/Prague, catch-up skip"), "{text}");
    assert!(text.contains("  on deploy now: no catch-up run"), "{text}");
}

/// Exports compared target by target: a change no artifact carries but the fingerprint shows
/// as "only the plan fingerprint changes"; a schedule change as the files it changes, with a
/// unified diff; a change the deployed export's target cannot express (without
/// `--allow-lossy`) as "no longer exportable"; the same plan as unchanged everywhere.
#[test]
fn exports_compared_tell_fingerprints_files_and_lost_targets_apart() {
    use crate::export::{Settings, Target};
    use crate::operations::{Cadence, CatchUp, Schedule};
    let workflow = spec("w", vec![node("a", Source::Param("seed"), vec![])]);
    let settings = Settings {
        start_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 1),
        ..Settings::default()
    };
    let schedule = |cron: &str| Schedule {
        when: Cadence::Cron(cron.into()),
        timezone: "Europe/Prague".into(),
        catch_up: CatchUp::Skip,
    };
    let mut before = crate::export::export_plan(&workflow, &[]).unwrap();
    before.operations.schedule = Some(schedule("0 12 * * *"));
    before.fingerprint = before.fingerprint_of();
    let same = crate::diff::compare_exports(&before, &before, Some(&workflow), &settings, true);
    assert_eq!(same.len(), 4);
    assert!(
        same.iter()
            .all(|export| export.status == "unchanged" && !export.changed()),
        "{same:#?}"
    );
    // An output type: no artifact names it, every one carries the fingerprint.
    let mut retyped = before.clone();
    retyped.nodes[0].output = "u64".into();
    retyped.fingerprint = retyped.fingerprint_of();
    let exports =
        crate::diff::compare_exports(&before, &retyped, Some(&workflow), &settings, false);
    let systemd = &exports[0];
    assert_eq!(systemd.target, "systemd");
    assert_eq!(systemd.status, "fingerprint", "{systemd:#?}");
    assert!(
        systemd
            .text
            .starts_with("only the plan fingerprint changes (w.service")
    );
    assert!(systemd.files.iter().all(|file| file.diff.is_none()));
    // A schedule moved into the hour Prague skips in spring: the timer changes, and Airflow
    // newly loses the daylight-saving instants.
    let mut moved = before.clone();
    moved.operations.schedule = Some(schedule("30 2 * * *"));
    moved.fingerprint = moved.fingerprint_of();
    let exports = crate::diff::compare_exports(&before, &moved, Some(&workflow), &settings, true);
    let timer = exports[0]
        .files
        .iter()
        .find(|file| file.path == "w.timer")
        .expect("the timer changes");
    assert_eq!(timer.change, "changed");
    let unified = timer.diff.as_deref().unwrap();
    assert!(unified.starts_with("--- a/systemd/w.timer\n+++ b/systemd/w.timer\n@@ "));
    assert!(
        unified.contains("\n-OnCalendar=*-*-* 12:00:00 Europe/Prague\n"),
        "{unified}"
    );
    assert!(
        unified.contains("\n+OnCalendar=*-*-* 02:30:00 Europe/Prague\n"),
        "{unified}"
    );
    let airflow = &exports[1];
    assert_eq!(airflow.status, "changed");
    assert!(
        airflow.losses_added.len() == 1 && airflow.text.contains("; now loses "),
        "{airflow:#?}"
    );
    // Deployed to Airflow without --allow-lossy: the change cannot be exported as it was.
    let deployed =
        crate::export::export_from_plan(&before, Some(&workflow), Target::Airflow, &settings)
            .unwrap();
    let manifest: crate::export::ExportManifest =
        serde_json::from_str(&deployed.files.last().unwrap().contents).unwrap();
    assert_eq!(manifest.target, Target::Airflow);
    // The directory as written: the artifacts and the manifest.
    let files: Vec<crate::export::ExportFile> = deployed.files.clone();
    assert_eq!(files.len(), manifest.files.len() + 1);
    let lost =
        crate::diff::compare_deployed(&manifest, files.clone(), &moved, Some(&workflow), false);
    assert_eq!(lost.status, "no longer exportable", "{lost:#?}");
    assert!(
        lost.text
            .starts_with("can no longer be exported: airflow cannot express all of workflow `w`"),
        "{}",
        lost.text
    );
    assert!(lost.changed());
    let kept = crate::diff::compare_deployed(&manifest, files, &before, Some(&workflow), false);
    assert_eq!(kept.status, "unchanged", "{kept:#?}");
}

fn scheduled(plan: &Plan, cron: &str, catch_up: crate::operations::CatchUp) -> Plan {
    let mut plan = plan.clone();
    plan.operations.schedule = Some(crate::operations::Schedule {
        when: crate::operations::Cadence::Cron(cron.into()),
        timezone: "UTC".into(),
        catch_up,
    });
    plan.fingerprint = plan.fingerprint_of();
    plan
}

fn daily_at_nine(plan: &Plan) -> Plan {
    scheduled(plan, "0 9 * * *", crate::operations::CatchUp::Skip)
}

/// Fire times over a window longer than the evaluator's one-year look-back are all compared,
/// from the first; a side with more than 10,000 in the window is compared up to where both
/// are complete, and says so; a catch-up longer than 10,000 runs says there are more.
#[test]
fn diff_of_schedules_covers_the_whole_window_and_says_where_it_stops() {
    use crate::operations::CatchUp;
    let workflow = spec("w", vec![node("a", Source::Param("seed"), vec![])]);
    let now: chrono::DateTime<chrono::Utc> = "2026-11-30T10:00:00Z".parse().unwrap();
    let options = crate::plan::PlanOptions { now, next_runs: 1 };
    let plan = Plan::build(&workflow, &[], &options).unwrap();
    let at = |text: &str| text.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let before = scheduled(&plan, "0 1 * * *", CatchUp::Skip);
    let after = scheduled(&plan, "0 2 * * *", CatchUp::Skip);
    let diff = crate::diff::diff(&before, &after, now, chrono::Duration::days(1000));
    let change = diff.schedule.unwrap();
    assert_eq!(change.removed.len(), 1000);
    assert_eq!(change.removed[0], at("2026-12-01T01:00:00Z"));
    assert_eq!(change.removed[999], at("2029-08-26T01:00:00Z"));
    assert_eq!(change.added.len(), 1000);
    assert_eq!(change.compared_until, None);
    // Every minute for 30 days: 43,200 fire times, compared up to the 10,000th.
    let minutely = scheduled(&plan, "* * * * *", CatchUp::Skip);
    let diff = crate::diff::diff(&before, &minutely, now, chrono::Duration::days(30));
    let change = diff.schedule.clone().unwrap();
    assert_eq!(change.compared_until, Some(at("2026-12-07T08:40:00Z")));
    assert_eq!(change.added.len(), 10_000 - 7);
    assert_eq!(change.removed, Vec::<chrono::DateTime<chrono::Utc>>::new());
    let text = crate::diff::text(&diff, 30, false);
    assert!(
        text.contains("  fire times in the next 30 days, compared until 2026-12-07T08:40:00Z (a side has more than 10000; - no longer, + new):\n"),
        "{text}"
    );
    // Once a year before, every minute after, all made up: more than 10,000 catch-up runs.
    let yearly = scheduled(&plan, "0 0 1 1 *", CatchUp::Skip);
    let all = scheduled(&plan, "* * * * *", CatchUp::All { max: None });
    let diff = crate::diff::diff(&yearly, &all, now, chrono::Duration::days(1));
    let change = diff.schedule.clone().unwrap();
    assert!(change.catch_up_more);
    assert_eq!(change.catch_up.len(), 10_000);
    assert_eq!(change.catch_up.last(), Some(&at("2026-11-30T10:00:00Z")));
    let text = crate::diff::text(&diff, 1, false);
    assert!(
        text.contains("  fire times in the next day (- no longer"),
        "{text}"
    );
    assert!(text.contains("  on deploy now: more than 10000 catch-up runs:\n    + … 9990 earlier (--format json lists them)\n"), "{text}");
    // No schedule before: as for a workflow never run, tick starts the latest fire time if it
    // is at most ten minutes old.
    let at_ten = scheduled(&plan, "0 10 * * *", CatchUp::Skip);
    let soon = at("2026-11-30T10:05:00Z");
    let change = crate::diff::diff(&plan, &at_ten, soon, chrono::Duration::days(1))
        .schedule
        .unwrap();
    assert_eq!(change.catch_up, [at("2026-11-30T10:00:00Z")]);
    // Skip, the old schedule last fired before the new one's latest: the same rule.
    let change = crate::diff::diff(
        &daily_at_nine(&plan),
        &at_ten,
        soon,
        chrono::Duration::days(1),
    )
    .schedule
    .unwrap();
    assert_eq!(change.catch_up, [at("2026-11-30T10:00:00Z")]);
    // The old schedule last fired more than a year ago (29 February 2024): tick makes up a
    // year of the new one's, 366 daily runs.
    let leap = scheduled(&plan, "0 1 29 2 *", CatchUp::Skip);
    let every_day = scheduled(&plan, "0 1 * * *", CatchUp::All { max: None });
    let change = crate::diff::diff(&leap, &every_day, now, chrono::Duration::days(1))
        .schedule
        .unwrap();
    assert_eq!(change.catch_up.len(), 366);
    assert_eq!(change.catch_up[0], at("2025-11-30T01:00:00Z"));
    // At most seven made up: the latest seven, as `tick` would start them.
    let seven = scheduled(&plan, "0 * * * *", CatchUp::All { max: Some(7) });
    let daily = scheduled(&plan, "0 0 * * *", CatchUp::Skip);
    let change = crate::diff::diff(&daily, &seven, now, chrono::Duration::days(1))
        .schedule
        .unwrap();
    assert!(!change.catch_up_more);
    assert_eq!(
        change.catch_up,
        (4..=10)
            .map(|hour| at(&format!("2026-11-30T{hour:02}:00:00Z")))
            .collect::<Vec<_>>()
    );
}

/// Names from a plan cannot paint the terminal or forge a line of the diff's text; of two
/// removed copies of a node, the one whose consumers the new node keeps is the renamed one.
#[test]
fn diff_text_escapes_control_characters_and_renames_the_node_that_is_read() {
    let workflow = spec(
        "w",
        vec![
            node("raw_a", Source::Param("seed"), vec![]),
            node("raw_b", Source::Param("seed"), vec![]),
            node("use", Source::Node("raw_a"), vec![]),
        ],
    );
    let now: chrono::DateTime<chrono::Utc> = "2026-11-30T10:00:00Z".parse().unwrap();
    let options = crate::plan::PlanOptions { now, next_runs: 1 };
    let before = Plan::build(&workflow, &[], &options).unwrap();
    let renamed = spec(
        "w",
        vec![
            node("raw", Source::Param("seed"), vec![]),
            node("use", Source::Node("raw"), vec![]),
        ],
    );
    let after = Plan::build(&renamed, &[], &options).unwrap();
    let diff = crate::diff::diff(&before, &after, now, chrono::Duration::days(1));
    let text = crate::diff::text(&diff, 1, false);
    assert!(
        text.contains("  ~ renamed? node `raw_a` → `raw` (same task and inputs)\n  - node `raw_b` (task `step`)\n"),
        "{text}"
    );
    assert!(!text.contains("edge"), "{text}");
    // Two added nodes as alike: the guess says so.
    let copied = spec(
        "w",
        vec![
            node("x", Source::Param("seed"), vec![]),
            node("y", Source::Param("seed"), vec![]),
        ],
    );
    let single = spec("w", vec![node("raw_a", Source::Param("seed"), vec![])]);
    let text = crate::diff::text(
        &crate::diff::diff(
            &Plan::build(&single, &[], &options).unwrap(),
            &Plan::build(&copied, &[], &options).unwrap(),
            now,
            chrono::Duration::days(1),
        ),
        1,
        false,
    );
    assert!(
        text.contains("  ~ renamed? node `raw_a` → `x` (same task and inputs; or → `y`, as alike)\n  + node `y` (task `step`)\n"),
        "{text}"
    );
    let mut forged = after.clone();
    forged.nodes[0].task = "x\u{1b}[2J\nworkflow `w`: no change".into();
    forged.fingerprint = forged.fingerprint_of();
    let text = crate::diff::text(
        &crate::diff::diff(&after, &forged, now, chrono::Duration::days(1)),
        1,
        false,
    );
    assert!(
        text.contains("task `step` → `x\\u{1b}[2J\\u{a}workflow `w`: no change`"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'));
    assert_eq!(
        text.lines()
            .filter(|line| line.starts_with("workflow"))
            .count(),
        1
    );
}
