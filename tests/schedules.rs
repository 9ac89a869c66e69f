//! One schedule semantics everywhere: for a corpus of schedules in zones with unusual rules,
//! the plan's fire times over the whole of 2027 are compared with
//!
//! (a) cronsim, an independent implementation of Debian cron's rules (the plan's documented
//!     rule), in the validators' virtual environment;
//! (b) systemd's own calendar (`systemd-analyze calendar`) evaluating the exported timer's
//!     `OnCalendar=` lines: it must fire at every fire time of the plan (`tick` then starts
//!     a run only at a fire time);
//! (c) Airflow's own timetable classes evaluating the exported DAG's `schedule=`;
//! (d) the EventBridge expression checked against its grammar and evaluated with its
//!     documented daylight-saving rule, and the Argo schedules evaluated as its cron library
//!     walks time;
//!
//! or the export refuses with a named loss, and then the engine's evaluation must indeed
//! differ from the plan (a refusal is never spurious).
//!
//! Needs `.ci/export-tools` (Airflow, cronsim) and `systemd-analyze`. Takes about five minutes
//! on two cores, most of it in Airflow's evaluation and `systemd-analyze`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use chrono::{DateTime, Utc};
use workflow_core::WorkflowSpec;
use workflow_core::export::{self, ExportError, Settings, Target};
use workflow_core::operations::{Cadence, CatchUp, Schedule};
use workflow_core::prelude::*;

#[task]
fn probe_work() -> u32 {
    1
}

workflow! {
    /// Carries the schedules under test.
    #[schedule(cron = "0 2 * * *")]
    probe() {
        work = probe_work();
    }
}

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Prague",
    "America/New_York",
    // Southern hemisphere: summer time from October to April.
    "Australia/Sydney",
    // Changes at midnight: 2027-09-05T00:00 does not exist, 2027-04-03T23:xx repeats.
    "America/Santiago",
    // A 30-minute change.
    "Australia/Lord_Howe",
    // A fixed offset of 5 h 30 min.
    "Asia/Kolkata",
    // UTC+12:45/+13:45: systemd's calendar skips real times right after its change.
    "Pacific/Chatham",
];

const CRONS: &[&str] = &[
    // Fixed times in and around the changes (01:00-03:00 in Europe and America).
    "0 2 * * *",
    "30 2 * * *",
    "0 3 * * *",
    "30 1 * * *",
    "0 1 * * *",
    "59 1 * * *",
    "0,30 2 * * *",
    "0 0 * * *",
    "15 0 * * *",
    "45 23 * * *",
    "0 12 * * *",
    "0 1-3 * * *",
    // Wildcard and step hours.
    "0 * * * *",
    "30 * * * *",
    "*/15 * * * *",
    "0 */2 * * *",
    "5 */6 * * *",
    "*/30 1-3 * * *",
    "*/20 2 * * *",
    // Day of month with day of week, month ends, months.
    "0 2 1 * MON",
    "0 3 13 * FRI",
    "30 2 1,15 * SUN",
    "0 2 28-31 * *",
    "0 23 31 * *",
    "0 2 * 3,4,9,10 *",
    // A restricted day field that names every value: either matches, so every day.
    "0 9 1-31 * 1-5",
    "0 9 1 * 0-6",
    // Weekly, nicknames.
    "15 8 * * SAT",
    "0 2 * * SUN",
    "30 0 * * 0",
    "@daily",
    "@hourly",
    "@weekly",
    "@monthly",
];

/// Intervals, read in UTC.
const INTERVALS: &[u64] = &[900, 3_600, 5_400, 9_000, 21_600, 86_400, 7 * 86_400];

fn tools() -> PathBuf {
    std::env::var_os("WORKFLOW_EXPORT_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/export-tools"))
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn iso(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%MZ").to_string()
}

struct Case {
    id: String,
    zone: &'static str,
    schedule: Schedule,
    plan: Vec<String>,
    exports: BTreeMap<&'static str, Result<BTreeMap<String, String>, Vec<String>>>,
}

fn exported(spec: &WorkflowSpec, target: Target) -> Result<BTreeMap<String, String>, Vec<String>> {
    let settings = Settings {
        start_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 1),
        ..Settings::default()
    };
    match export::export(spec, target, &[], &settings) {
        Ok(exported) => Ok(exported
            .files
            .into_iter()
            .map(|file| (file.path.display().to_string(), file.contents))
            .collect()),
        Err(ExportError::Lossy { losses, .. }) => Err(losses),
        Err(other) => panic!("export failed: {other}"),
    }
}

fn python(venv: &str, mode: &str, input: &serde_json::Value) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("exports/schedules.py");
    let mut child = Command::new(tools().join(venv).join("bin/python"))
        .arg(script)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run .ci/export-tools first");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "schedules.py {mode}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every instant at which systemd's calendar elapses for `lines` in `[from, to)`; `expected`
/// is about how many there are per line.
fn systemd_elapses(
    lines: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    expected: usize,
) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in lines {
        let mut iterations = expected + 2 * (to - from).num_days() as usize + 10;
        loop {
            let output = Command::new("systemd-analyze")
                .env("TZ", "UTC")
                .args([
                    "calendar",
                    "--iterations",
                    &iterations.to_string(),
                    "--base-time",
                ])
                .arg(format!(
                    "{} UTC",
                    (from - chrono::Duration::seconds(1)).format("%Y-%m-%d %H:%M:%S")
                ))
                .arg(line)
                .output()
                .expect("systemd-analyze");
            assert!(
                output.status.success(),
                "{line}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let text = String::from_utf8_lossy(&output.stdout);
            let mut times = Vec::new();
            for row in text.lines() {
                let Some((label, value)) = row.split_once(": ") else {
                    continue;
                };
                let label = label.trim();
                if label == "Next elapse" || label.starts_with("Iter.") {
                    // "Sun 2027-03-28 01:00:00 UTC"
                    let value = value.trim();
                    let time =
                        chrono::NaiveDateTime::parse_from_str(&value[4..23], "%Y-%m-%d %H:%M:%S")
                            .unwrap_or_else(|error| panic!("{value}: {error}"))
                            .and_utc();
                    times.push(time);
                }
            }
            if times.len() < iterations || times.last().is_some_and(|last| *last >= to) {
                found.extend(times.iter().filter(|time| **time < to).map(iso));
                break;
            }
            iterations *= 2;
        }
    }
    found
}

/// Where systemd is compared: the whole year, or for schedules that fire more than a few
/// thousand times a year (systemd-analyze takes about half a millisecond per instant), the
/// days around each of the zone's changes in 2027 and the first two days of every month.
fn systemd_windows(
    zone: &str,
    plan: usize,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    if plan <= 3_000 {
        return vec![(start, end)];
    }
    let zone: chrono_tz::Tz = zone.parse().unwrap();
    let mut windows: Vec<(DateTime<Utc>, DateTime<Utc>)> = (1..=12)
        .map(|month| {
            let first = chrono::NaiveDate::from_ymd_opt(2027, month, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc();
            (first, first + chrono::Duration::days(2))
        })
        .collect();
    for transition in workflow_schedule::transitions(&zone, start, end) {
        windows.push((
            transition.at - chrono::Duration::days(2),
            transition.at + chrono::Duration::days(2),
        ));
    }
    windows
}

#[test]
fn plan_tick_and_every_engine_fire_at_the_same_instants() {
    let start = at("2027-01-01T00:00:00Z");
    let end = at("2028-01-01T00:00:00Z");
    let base = probe::spec();
    let started = std::time::Instant::now();
    let mut cases = Vec::new();
    let mut schedules: Vec<(String, &'static str, Schedule)> = Vec::new();
    for (index, cron) in CRONS.iter().enumerate() {
        for zone in ZONES {
            schedules.push((
                format!("c{index}-{}", zone.replace('/', "-")),
                zone,
                Schedule {
                    when: Cadence::Cron((*cron).to_owned()),
                    timezone: (*zone).to_owned(),
                    catch_up: CatchUp::Skip,
                },
            ));
        }
    }
    for seconds in INTERVALS {
        schedules.push((
            format!("every{seconds}"),
            "UTC",
            Schedule {
                when: Cadence::EverySecs(*seconds),
                timezone: "UTC".to_owned(),
                catch_up: CatchUp::Skip,
            },
        ));
    }
    for (id, zone, schedule) in schedules {
        let plan: Vec<String> = schedule
            .next_fire_times(start - chrono::Duration::seconds(1), 40_000)
            .unwrap()
            .iter()
            .filter(|time| **time < end)
            .map(iso)
            .collect();
        let mut spec = base.clone();
        spec.name = Box::leak(format!("probe_{}", id.replace('-', "_")).into_boxed_str());
        spec.operations.schedule = Some(schedule.clone());
        // No automatic re-runs: the systemd timer's five-minute re-run line is not compared.
        spec.operations.reruns = 0;
        let mut exports = BTreeMap::new();
        for (name, target) in [
            ("systemd", Target::Systemd),
            ("airflow", Target::Airflow),
            ("argo", Target::Argo),
            ("step-functions", Target::StepFunctions),
        ] {
            exports.insert(name, exported(&spec, target));
        }
        cases.push(Case {
            id,
            zone,
            schedule,
            plan,
            exports,
        });
    }

    // What each engine is asked to evaluate; a refused export is evaluated too (as it would
    // be written with --allow-lossy), to prove the refusal.
    let mut lossy = Settings {
        start_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 1),
        ..Settings::default()
    };
    lossy.allow_lossy = true;
    let window = (iso(&start), iso(&end));
    let mut input = Vec::new();
    let mut proofs = Vec::new();
    for case in &cases {
        let mut spec = base.clone();
        spec.name = Box::leak(format!("probe_{}", case.id.replace('-', "_")).into_boxed_str());
        spec.operations.schedule = Some(case.schedule.clone());
        spec.operations.reruns = 0;
        let file = |target: Target, suffix: &str| -> String {
            export::export(&spec, target, &[], &lossy)
                .unwrap()
                .files
                .into_iter()
                .find(|file| file.path.display().to_string().ends_with(suffix))
                .map(|file| file.contents)
                .unwrap_or_default()
        };
        let airflow = file(Target::Airflow, ".py")
            .lines()
            .find_map(|line| line.trim().strip_prefix("schedule="))
            .map(|text| text.trim_end_matches(',').to_owned());
        let schedule_json: serde_json::Value =
            serde_json::from_str(&file(Target::StepFunctions, ".schedule.json"))
                .unwrap_or_default();
        let eventbridge = schedule_json["ScheduleExpression"]
            .as_str()
            .filter(|expression| expression.starts_with("cron("))
            .map(|expression| {
                serde_json::json!({
                    "expression": expression,
                    "timezone": schedule_json["ScheduleExpressionTimezone"],
                })
            });
        let argo_text = file(Target::Argo, ".cronworkflow.yaml");
        let argo = Some(()).map(|()| {
            let schedules: Vec<String> = argo_text
                .lines()
                .skip_while(|line| line.trim() != "schedules:")
                .skip(1)
                .take_while(|line| line.starts_with("  - "))
                .map(|line| line.trim_start_matches("  - ").trim_matches('"').to_owned())
                .collect();
            let timezone = argo_text
                .lines()
                .find_map(|line| line.strip_prefix("  timezone: "))
                .unwrap_or("\"UTC\"")
                .trim_matches('"')
                .to_owned();
            let when = argo_text
                .lines()
                .find_map(|line| line.strip_prefix("  when: "))
                .map(|text| text.trim_matches('"').to_owned());
            serde_json::json!({"schedules": schedules, "timezone": timezone, "when": when})
        });
        let timetable = case.schedule.timetable().unwrap();
        let (cron, walk) = match &timetable.when {
            workflow_schedule::When::Cron(cron) => (
                Some(cron.canonical()),
                !cron.is_wall_clock() && !whole_hour_changes(&timetable.zone),
            ),
            workflow_schedule::When::Every(_) => (None, false),
        };
        input.push(serde_json::json!({
            "id": case.id,
            "zone": case.zone,
            "cron": cron,
            "walk": walk,
            "start": window.0,
            "end": window.1,
            "airflow": airflow,
            "eventbridge": eventbridge,
            "argo": argo,
        }));
        // A refusal for a daylight-saving change names its date: the engine is evaluated
        // around it, to prove that it differs from the plan there.
        for (target, key) in [
            ("airflow", "airflow"),
            ("step-functions", "eventbridge"),
            ("argo", "argo"),
        ] {
            let Err(losses) = &case.exports[target] else {
                continue;
            };
            let Some(day) = losses.iter().find_map(|loss| {
                let (_, rest) = loss.split_once("around ")?;
                chrono::NaiveDate::parse_from_str(rest.get(..10)?, "%Y-%m-%d").ok()
            }) else {
                continue;
            };
            let from = day.and_hms_opt(0, 0, 0).unwrap().and_utc() - chrono::Duration::days(3);
            let to = from + chrono::Duration::days(6);
            let engine = match key {
                "airflow" => serde_json::json!({"airflow": airflow}),
                "eventbridge" => serde_json::json!({"eventbridge": eventbridge}),
                _ => serde_json::json!({"argo": argo}),
            };
            // Refused for another reason as well (no expression at all): nothing to evaluate.
            if engine[key].is_null() {
                continue;
            }
            let mut proof = serde_json::json!({
                "id": format!("{}#{key}", case.id),
                "zone": case.zone,
                "start": iso(&from),
                "end": iso(&to),
            });
            proof
                .as_object_mut()
                .unwrap()
                .extend(engine.as_object().unwrap().clone());
            proofs.push((case.id.clone(), target, key, from, to));
            input.push(proof);
        }
    }
    let input = serde_json::Value::Array(input);
    println!("plans and exports: {:?}", started.elapsed());
    let by_cronsim = python("validators", "cronsim", &input);
    println!("cronsim: {:?}", started.elapsed());
    let by_engines = python("airflow", "engines", &input);
    println!("engines: {:?}", started.elapsed());

    let mut compared = 0usize;
    let mut refused = BTreeMap::<&str, usize>::new();
    let mut extra_wakeups = 0usize;
    let mut systemd_compared = 0usize;
    let mut walked = 0usize;
    let mut problems = Vec::new();
    for case in &cases {
        let plan: BTreeSet<String> = case.plan.iter().cloned().collect();
        // (a)
        let evaluated = &by_cronsim[&case.id];
        if evaluated.get("walked").is_some() {
            walked += 1;
        }
        if let Some(times) = evaluated["cronsim"]
            .as_array()
            .or(evaluated["walked"].as_array())
        {
            let times: Vec<String> = times
                .iter()
                .map(|time| time.as_str().unwrap().to_owned())
                .collect();
            compared += times.len();
            if times != case.plan {
                problems.push(format!(
                    "{}: cronsim differs: {}",
                    case.id,
                    first_difference(&case.plan, &times)
                ));
            }
        } else if case.id.starts_with('c') {
            problems.push(format!("{}: cronsim did not evaluate it", case.id));
        }
        // (b)
        match &case.exports["systemd"] {
            Ok(files) => {
                let timer = files
                    .iter()
                    .find(|(path, _)| path.ends_with(".timer"))
                    .unwrap()
                    .1;
                let lines: Vec<String> = timer
                    .lines()
                    .filter_map(|line| line.strip_prefix("OnCalendar="))
                    .map(str::to_owned)
                    .collect();
                let mut elapses = BTreeSet::new();
                let mut checked = BTreeSet::new();
                for (from, to) in systemd_windows(case.zone, plan.len(), start, end) {
                    let (from_text, to_text) = (iso(&from), iso(&to));
                    let inside: Vec<&String> = plan
                        .iter()
                        .filter(|time| **time >= from_text && **time < to_text)
                        .collect();
                    elapses.extend(systemd_elapses(&lines, from, to, inside.len()));
                    checked.extend(inside.into_iter().cloned());
                }
                compared += checked.len();
                let missed: Vec<&String> = checked.difference(&elapses).collect();
                if !missed.is_empty() {
                    problems.push(format!(
                        "{}: systemd's calendar does not fire at {} fire times of the plan, first {} (lines {lines:?})",
                        case.id,
                        missed.len(),
                        missed[0]
                    ));
                }
                extra_wakeups += elapses.difference(&plan).count();
                systemd_compared += checked.len();
            }
            Err(losses) => problems.push(format!("{}: systemd refused: {losses:?}", case.id)),
        }
        // An interval that one cron expression expresses is exact on every target.
        if let Cadence::EverySecs(seconds) = case.schedule.when
            && (seconds <= 3_600 && 3_600 % seconds == 0
                || seconds % 3_600 == 0 && 86_400 % seconds == 0)
        {
            for (target, exported) in &case.exports {
                if let Err(losses) = exported {
                    problems.push(format!(
                        "{}: {target} refused an interval that divides a day: {losses:?}",
                        case.id
                    ));
                }
            }
        }
        // (c), (d)
        for (target, key) in [
            ("airflow", "airflow"),
            ("step-functions", "eventbridge"),
            ("argo", "argo"),
        ] {
            let Some(times) = by_engines[&case.id][key].as_array() else {
                if case.exports[target].is_ok() {
                    problems.push(format!("{}: {key} was not evaluated", case.id));
                }
                continue;
            };
            let times: Vec<String> = times
                .iter()
                .map(|time| time.as_str().unwrap().to_owned())
                .collect();
            match &case.exports[target] {
                Ok(_) => {
                    compared += times.len();
                    if times != case.plan {
                        problems.push(format!(
                            "{}: {key} fires differently from the plan and the export did not refuse: {}",
                            case.id,
                            first_difference(&case.plan, &times)
                        ));
                    }
                }
                Err(losses) if losses.iter().any(|loss| loss.contains("daylight-saving")) => {
                    // Proved below, around the change the loss names.
                    *refused.entry(target).or_default() += 1;
                }
                Err(losses) => {
                    *refused.entry(target).or_default() += 1;
                    if times == case.plan {
                        problems.push(format!(
                            "{}: {target} refused although {key} fires as the plan does: {losses:?}",
                            case.id
                        ));
                    }
                }
            }
        }
    }
    for (id, target, key, from, to) in &proofs {
        let case = cases.iter().find(|case| case.id == *id).unwrap();
        let plan: Vec<String> = case
            .schedule
            .fire_times_between(*from - chrono::Duration::seconds(1), *to, usize::MAX)
            .unwrap()
            .iter()
            .filter(|time| *time < to)
            .map(iso)
            .collect();
        let engine: Vec<String> = by_engines[format!("{id}#{key}")][key]
            .as_array()
            .unwrap_or_else(|| panic!("{id}: {key} was not evaluated"))
            .iter()
            .map(|time| time.as_str().unwrap().to_owned())
            .collect();
        compared += engine.len();
        if engine == plan {
            problems.push(format!(
                "{id}: {target} refused for a daylight-saving change, but {key} fires as the plan does around it: {:?}",
                case.exports[target].as_ref().err()
            ));
        }
    }
    println!(
        "{} proofs of refusals; {walked} cases compared with the wall-time walk instead of cronsim",
        proofs.len()
    );
    println!(
        "{} schedules × zones, {compared} fire times compared ({systemd_compared} with systemd); refused: {refused:?}; systemd wakes tick {extra_wakeups} more times than a run starts",
        cases.len()
    );
    println!("took {:?}", started.elapsed());
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(compared > 500_000, "{compared}");
}

/// Whether every change of the zone's offset in 2025-2060 is a whole number of hours.
fn whole_hour_changes(zone: &chrono_tz::Tz) -> bool {
    let (from, to) = workflow_schedule::export_horizon();
    workflow_schedule::transitions(zone, from, to)
        .iter()
        .all(|change| (change.after - change.before) % 3600 == 0)
}

fn first_difference(plan: &[String], other: &[String]) -> String {
    let plan_set: BTreeSet<&String> = plan.iter().collect();
    let other_set: BTreeSet<&String> = other.iter().collect();
    let only_plan: Vec<_> = plan_set.difference(&other_set).take(3).collect();
    let only_other: Vec<_> = other_set.difference(&plan_set).take(3).collect();
    format!(
        "{} vs {} fire times; only in the plan: {only_plan:?}; only in the engine: {only_other:?}",
        plan.len(),
        other.len()
    )
}

const FIXTURE: &str = env!("CARGO_BIN_EXE_runner-fixture");

fn fixture(args: &[&str], hours: &std::path::Path) -> (i32, String) {
    let output = Command::new(FIXTURE)
        .args(args)
        .env("WORKFLOW_TEST_HOURS", hours)
        .env_remove("WORKFLOW_SMTP")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn plan_lists_both_occurrences_of_the_repeated_hour_and_tick_runs_them() {
    let dir = tempfile_dir("repeated-hour");
    let hours = dir.join("hours");
    let (code, text) = fixture(
        &[
            "plan",
            "prague_hourly",
            "--now",
            "2026-10-24T22:30:00Z",
            "--next",
            "5",
            "--format",
            "json",
        ],
        &hours,
    );
    assert_eq!(code, 0, "{text}");
    let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        plan["next_runs"],
        serde_json::json!([
            "2026-10-24T23:00:00Z",
            "2026-10-25T00:00:00Z",
            "2026-10-25T01:00:00Z",
            "2026-10-25T02:00:00Z",
            "2026-10-25T03:00:00Z"
        ])
    );
    // Without --now: whole seconds, so two plans in one second are the same bytes.
    let (_, first) = fixture(&["plan", "prague_hourly", "--format", "json"], &hours);
    let (_, second) = fixture(&["plan", "prague_hourly", "--format", "json"], &hours);
    let whole = |text: &str| -> Vec<String> {
        let plan: serde_json::Value = serde_json::from_str(text).unwrap();
        plan["next_runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|time| time.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        whole(&first).iter().all(|time| time.ends_with(":00:00Z")),
        "{first}"
    );
    assert_eq!(whole(&first), whole(&second));

    let state = dir.join("state.sqlite");
    let state = state.to_str().unwrap();
    for (now, due) in [
        ("2026-10-25T00:00:30Z", true),
        ("2026-10-25T00:30:00Z", false),
        // The second 02:00 in Prague.
        ("2026-10-25T01:00:30Z", true),
        ("2026-10-25T02:00:30Z", true),
    ] {
        let (code, text) = fixture(
            &["tick", "prague_hourly", "--state", state, "--now", now],
            &hours,
        );
        assert_eq!(code, 0, "{now}: {text}");
        assert_eq!(text.contains("scheduled for"), due, "{now}: {text}");
    }
    assert_eq!(std::fs::read_to_string(&hours).unwrap().lines().count(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_scheduled_run_gets_a_distinct_real_hour_in_its_parameter_type() {
    let dir = tempfile_dir("hourly-partitions");
    let ticks = [
        "2026-10-25T00:05:30Z",
        "2026-10-25T01:05:30Z",
        "2026-10-25T02:05:30Z",
        "2026-11-22T01:05:30Z",
        "2027-03-28T01:05:30Z",
    ];
    for (workflow, expected) in [
        (
            "prague_hours",
            [
                "2026-10-24T23:00:00+00:00",
                "2026-10-25T00:00:00+00:00",
                "2026-10-25T01:00:00+00:00",
                "2026-11-22T00:00:00+00:00",
                "2027-03-28T00:00:00+00:00",
            ],
        ),
        (
            "prague_local_hours",
            [
                "2026-10-25T01:00:00+02:00",
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:00:00+01:00",
                "2026-11-22T01:00:00+01:00",
                "2027-03-28T01:00:00+01:00",
            ],
        ),
    ] {
        let hours = dir.join(format!("{workflow}.hours"));
        let state = dir.join(format!("{workflow}.sqlite"));
        for now in ticks {
            let (code, text) = fixture(
                &[
                    "tick",
                    workflow,
                    "--state",
                    state.to_str().unwrap(),
                    "--now",
                    now,
                ],
                &hours,
            );
            assert_eq!(code, 0, "{workflow} at {now}: {text}");
        }
        let seen = std::fs::read_to_string(&hours).unwrap();
        assert_eq!(seen.lines().collect::<Vec<_>>(), expected, "{workflow}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_minutely_schedule_on_a_fresh_state_file_is_decided_at_once() {
    let dir = tempfile_dir("minutely");
    let hours = dir.join("hours");
    let state = dir.join("state.sqlite");
    let (code, text) = fixture(
        &[
            "tick",
            "minutely",
            "--state",
            state.to_str().unwrap(),
            "--now",
            "2026-11-29T12:00:30Z",
            "--dry-run",
        ],
        &hours,
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("scheduled for 2026-11-29T12:00:00+00:00"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("schedules-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// systemd re-runs a failed run within minutes: the exported timer's activation times
/// (systemd's own calendar) replayed through `tick`.
#[test]
fn the_systemd_timer_re_runs_a_failed_run_within_five_minutes() {
    let dir = tempfile_dir("systemd-rerun");
    let hours = dir.join("hours");
    let out = dir.join("units");
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("release"), "").unwrap();
    std::fs::write(work.join("fail"), "").unwrap();
    let param = format!("dir={}", work.display());
    let (code, text) = fixture(
        &[
            "export",
            "ticking",
            "--target",
            "systemd",
            "--out",
            out.to_str().unwrap(),
            "-p",
            &param,
        ],
        &hours,
    );
    assert_eq!(code, 0, "{text}");
    let timer = std::fs::read_to_string(out.join("ticking.timer")).unwrap();
    let lines: Vec<String> = timer
        .lines()
        .filter_map(|line| line.strip_prefix("OnCalendar="))
        .map(str::to_owned)
        .collect();
    assert!(lines.contains(&"*:00/5:00".to_owned()), "{timer}");
    let start = at("2027-06-01T10:00:00Z");
    let activations: Vec<DateTime<Utc>> =
        systemd_elapses(&lines, start, start + chrono::Duration::hours(2), 30)
            .iter()
            .map(|text| at(&format!("{}:00Z", text.trim_end_matches('Z'))))
            .collect();
    let state = dir.join("state.sqlite");
    let tick = |now: &str| {
        fixture(
            &[
                "tick",
                "ticking",
                "--state",
                state.to_str().unwrap(),
                "--now",
                now,
                "-p",
                &param,
            ],
            &hours,
        )
    };
    // The hourly fire at 10:00 fails; the file is then removed.
    let (code, text) = tick("2027-06-01T10:00:00Z");
    assert_eq!(code, 1, "{text}");
    std::fs::remove_file(work.join("fail")).unwrap();
    let next = activations
        .iter()
        .find(|time| **time > start)
        .copied()
        .unwrap();
    assert!(
        next - start <= chrono::Duration::minutes(5),
        "next activation {next}"
    );
    let (code, text) = tick(&next.to_rfc3339());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("re-running it at once"), "{text}");
    // The activations in between start nothing more: the next run is the 11:00 fire time.
    let (code, text) = tick("2027-06-01T10:10:00Z");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("not due"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
