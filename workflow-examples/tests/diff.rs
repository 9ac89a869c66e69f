//! `diff` over pairs of versions of the example workflows: each example as it is in
//! `src/` (what is deployed) against a next version of it written here (the change under
//! review), compared in text and JSON with golden files in `tests/golden/diff/`. Together the
//! pairs make every kind of change `diff` reports: nodes added, removed and renamed, edges,
//! a branch and a fan-out, task, input and output types, node and workflow policies,
//! parameters, secrets, schedules (one across the spring change in Prague), partitions, and
//! each export target's artifacts.
//!
//! `UPDATE_GOLDEN=1 cargo test -p workflow-examples --test diff` rewrites the golden files.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use workflow_core::Workflow;
use workflow_core::diff;
use workflow_core::export::{self, Settings};
use workflow_core::plan::Plan;

#[path = "../src/seed001_daily_batch.rs"]
#[allow(dead_code)]
mod daily_batch_deployed;

#[path = "../src/seed003_weekly_etl.rs"]
#[allow(dead_code)]
mod weekly_etl_deployed;

#[path = "../src/seed004_warehouse_ingest.rs"]
#[allow(dead_code)]
mod warehouse_ingest_deployed;

/// `daily_batch`, next version: an hour later; the DynamoDB load dropped; the day's kind
/// renamed; the CRM push fed from a new parameter of a wider type; an audit of the warehouse
/// load added; more retries for the Redshift load, which reads a new secret, and a larger
/// pool; a second recipient.
mod daily_batch_next {
    use super::daily_batch_deployed::*;
    use workflow_core::prelude::*;

    /// Load the joined table into Redshift.
    #[task(pool = "redshift", retries = 4, retry_delay = "5m", timeout = "1h")]
    pub fn load_redshift(
        activity: CustomerActivity,
        table: String,
        password: Secret,
    ) -> LoadReceipt {
        let _ = password;
        LoadReceipt {
            target: format!("redshift:{table}"),
            records: activity.0.len(),
        }
    }

    /// Push high spenders to the CRM's API.
    #[task(retries = 3, retry_delay = "1m", timeout = "30m")]
    pub fn push_to_crm(activity: CustomerActivity, min_spend_usd_cents: u64) -> LoadReceipt {
        LoadReceipt {
            target: "crm-api".to_owned(),
            records: activity
                .0
                .iter()
                .filter(|day| day.spend_usd_cents as u64 >= min_spend_usd_cents)
                .count(),
        }
    }

    /// Count what the warehouse load wrote, for the audit log.
    #[task]
    pub fn audit_load(receipt: LoadReceipt) -> usize {
        receipt.records
    }

    workflow! {
        /// Daily batch: OLTP, logs and rates joined into Redshift and the CRM.
        #[schedule(cron = "0 3 * * *", catch_up = "all", max_catch_up = 7)]
        #[partition(daily, param = day)]
        #[concurrency(overlap = "queue")]
        #[pool(name = "redshift", slots = 3)]
        #[timeout = "8h"]
        #[on_failure(continue, notify = ["data-oncall@example.com", "finance@example.com"], webhook = "https://hooks.example.com/etl/daily-batch")]
        #[secret(redshift_password, env = "REDSHIFT_PASSWORD")]
        pub daily_batch(
            day: NaiveDate,
            replica_url: String = String::from("postgres://reader@oltp-replica/shop"),
            log_bucket: String = String::from("s3://web-logs-v2"),
            min_spend: u64 = 100000,
        ) {
            activity = customer_activity(day, replica_url, log_bucket);
            warehouse = load_redshift(activity, "analytics.customer_day", redshift_password);
            audit = audit_load(warehouse);
            crm = push_to_crm(activity, min_spend).after(warehouse);
            kind_of_day = classify_day(day);
            match kind_of_day {
                DayKind::MonthEnd => {
                    month_close = close_month(activity, day).after(warehouse);
                }
                DayKind::Regular => {}
            }
        }
    }
}

/// `weekly_etl`, next version: daily instead of weekly, at 02:30 in Prague (a local time the
/// spring change skips on 2027-03-28), the partition parameter and the export directory
/// renamed, and no success notice.
mod weekly_etl_next {
    use super::weekly_etl_deployed::*;
    use std::path::PathBuf;
    use workflow_core::prelude::*;

    workflow! {
        /// Weekly ETL: extract the day's export, clean it, load it.
        #[schedule(cron = "30 2 * * *", timezone = "Europe/Prague", catch_up = "latest")]
        #[partition(daily, param = day)]
        #[concurrency(overlap = "forbid")]
        #[timeout = "3h"]
        #[on_failure(stop, notify = "etl-admin@example.com")]
        pub weekly_etl(
            day: NaiveDate,
            source_dir: PathBuf = PathBuf::from("/srv/etl/exports"),
            database: PathBuf = PathBuf::from("/srv/etl/measurements.csv"),
        ) {
            raw = extract_export(day, source_dir);
            measurements = clean(raw);
            summary = load(measurements, day, database);
        }
    }
}

/// `warehouse_ingest`, next version: no full-refresh branch, eight partner fetches at once, the
/// warehouse load returns a table of its own type (so the event it announces reads that type)
/// and waits longer between shorter attempts, runs no longer queue but are refused while one
/// is active, a failure lets independent nodes finish, and the schedule moves to Prague's
/// 01:00.
mod warehouse_ingest_next {
    use super::warehouse_ingest_deployed::*;
    use workflow_core::prelude::*;

    /// A loaded table.
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    pub struct LoadedTable {
        /// The table.
        pub table: String,
    }

    /// Load the day's facts into the warehouse.
    #[task(retries = 2, retry_delay = "15m", timeout = "2h", pool = "warehouse")]
    pub fn load_warehouse(facts: DailyFacts, table: String) -> LoadedTable {
        let _ = facts;
        LoadedTable { table }
    }

    /// Tell the broker a table was loaded.
    #[task(retries = 3, retry_delay = "30s")]
    pub fn publish_loaded_event(table: LoadedTable, topic: String) -> String {
        format!("{topic}: {}", table.table)
    }

    workflow! {
        /// Daily warehouse ingest: OLTP, logs and partner APIs into the warehouse, partners and the broker.
        #[schedule(cron = "0 1 * * *", timezone = "Europe/Prague", catch_up = "all")]
        #[partition(daily, param = day)]
        #[concurrency(overlap = "forbid")]
        #[pool(name = "oltp-export", slots = 1)]
        #[pool(name = "spark", slots = 4)]
        #[pool(name = "warehouse", slots = 2)]
        #[timeout = "20h"]
        #[on_failure(continue, notify = ["data-oncall@example.com", "platform@example.com"], webhook = "https://hooks.example.com/etl/warehouse")]
        #[on_success(webhook = "https://hooks.example.com/etl/warehouse")]
        pub warehouse_ingest(
            day: NaiveDate,
            region: Region = Region::Eu,
            full_refresh: bool = false,
            partner_apis: Vec<String> = vec!["adnet".into(), "crm".into(), "payments".into()],
        ) {
            snapshot = export_oltp(day, region);
            logs = collect_event_logs(day, region);
            partners = fetch_partner_feed(each(partner_apis), day).max_parallel(8);
            sessions = build_sessions(logs);
            facts = model_daily_facts(snapshot, sessions, partners, full_refresh);
            warehouse = load_warehouse(facts, "analytics.daily_facts");
            pushed = push_partner_apis(facts);
            announced = publish_loaded_event(warehouse, "warehouse.loaded");
        }
    }
}

fn time(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 instant")
}

/// Exports do not depend on the day they are made: the Airflow start date is fixed.
fn settings() -> Settings {
    Settings {
        start_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 1),
        ..Settings::default()
    }
}

/// The plan `export` reads, as `diff --against-export` compares it.
fn plan(spec: &workflow_core::WorkflowSpec) -> Plan {
    export::export_plan(spec, &[]).expect("a plan")
}

/// Diffs the deployed and the next version, and compares text and JSON with the golden files
/// `<name>.txt` and `<name>.json` (or rewrites them under `UPDATE_GOLDEN`).
fn check(
    name: &str,
    deployed: workflow_core::WorkflowSpec,
    next: workflow_core::WorkflowSpec,
    now: &str,
    unified: bool,
) -> diff::PlanDiff {
    let (before, after) = (plan(&deployed), plan(&next));
    let mut result = diff::diff(&before, &after, time(now), chrono::Duration::days(14));
    result.exports = diff::compare_exports(&before, &after, Some(&next), &settings(), unified);
    let text = diff::text(&result, 14, false);
    let json = serde_json::to_string_pretty(&result).expect("JSON") + "\n";
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/diff");
    for (extension, actual) in [("txt", &text), ("json", &json)] {
        let path = golden.join(format!("{name}.{extension}"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(&golden).expect("golden directory");
            std::fs::write(&path, actual).expect("golden file");
            continue;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(
            actual,
            &expected,
            "{name}: `diff` differs from {}",
            path.display()
        );
    }
    // The JSON is the same diff, read back.
    let read: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(read["workflow"], name);
    assert!(result.changed());
    // The deployed version against itself: nothing, and every export unchanged.
    let mut same = diff::diff(&before, &before, time(now), chrono::Duration::days(14));
    same.exports = diff::compare_exports(&before, &before, Some(&deployed), &settings(), true);
    assert!(!same.changed(), "{name}: {same:#?}");
    assert!(
        same.exports
            .iter()
            .all(|export| export.status == "unchanged" || export.status == "not exportable"),
        "{name}: {:#?}",
        same.exports
    );
    result
}

fn kinds(changes: &[diff::Change]) -> Vec<(String, String)> {
    changes
        .iter()
        .map(|change| (change.subject.clone(), change.change.clone()))
        .collect()
}

/// Nodes added, removed and renamed with their edges; input types and sources; retries and
/// pools; parameters; a secret; the schedule an hour later with the catch-up run a deploy at
/// 03:30 would start, and its partition.
#[test]
fn daily_batch_next_version() {
    let result = check(
        "daily_batch",
        daily_batch_deployed::daily_batch::spec(),
        daily_batch_next::daily_batch::spec(),
        "2026-11-30T03:30:00Z",
        false,
    );
    let graph = kinds(&result.graph);
    for kind in [
        ("node", "renamed?"),
        ("node", "added"),
        ("node", "removed"),
        ("edge", "added"),
        ("edge", "removed"),
    ] {
        assert!(
            graph.contains(&(kind.0.to_owned(), kind.1.to_owned())),
            "{kind:?} in {graph:?}"
        );
    }
    assert!(kinds(&result.types).contains(&("input".to_owned(), "changed".to_owned())));
    assert!(!result.secrets.is_empty());
    let schedule = result.schedule.expect("the schedule changed");
    assert_eq!(schedule.catch_up, [time("2026-11-30T03:00:00Z")]);
    assert_eq!(schedule.catch_up_partitions, ["2026-11-29"]);
}

/// The schedule across the spring change in Prague: 02:30 on Sunday 2027-03-28 does not
/// exist there, and the partitions a backfill covers go from weeks to days; exports shown as
/// unified diffs.
#[test]
fn weekly_etl_next_version_across_the_spring_change() {
    let result = check(
        "weekly_etl",
        weekly_etl_deployed::weekly_etl::spec(),
        weekly_etl_next::weekly_etl::spec(),
        "2027-03-20T12:00:00Z",
        true,
    );
    let schedule = result.schedule.expect("the schedule changed");
    // Saturdays 08:15 local no longer (CET, then CEST from 2027-03-28); Sundays 02:30 local
    // now, the 02:30 that 2027-03-28 skips in Prague at the first instant after the gap.
    assert_eq!(
        schedule.removed,
        [time("2027-03-27T07:15:00Z"), time("2027-04-03T06:15:00Z")]
    );
    let mut daily: Vec<DateTime<Utc>> = ["2027-03-21", "2027-03-22", "2027-03-23", "2027-03-24"]
        .into_iter()
        .chain(["2027-03-25", "2027-03-26", "2027-03-27"])
        .map(|day| time(&format!("{day}T01:30:00Z")))
        .collect();
    daily.push(time("2027-03-28T01:00:00Z"));
    daily.extend(
        (29..=31)
            .map(|day| format!("2027-03-{day}"))
            .chain((1..=3).map(|day| format!("2027-04-0{day}")))
            .map(|day| time(&format!("{day}T00:30:00Z"))),
    );
    assert_eq!(schedule.added, daily);
    let partitions = result.partitions.expect("the partitions changed");
    assert_eq!(partitions.range, "2027-03-06..2027-03-19");
    assert_eq!(partitions.covered_after.len(), 14);
    assert_eq!(
        partitions.covered_before,
        ["2027-03-01", "2027-03-08", "2027-03-15"]
    );
    let exports: Vec<&str> = result
        .exports
        .iter()
        .map(|export| export.status.as_str())
        .collect();
    assert!(
        exports.iter().all(|status| *status == "changed"),
        "{exports:?}"
    );
    // Every line of every unified diff is a header, a hunk line or the no-newline marker.
    for file in result.exports.iter().flat_map(|export| &export.files) {
        let unified = file.diff.as_deref().unwrap_or_default();
        for line in unified.lines() {
            assert!(
                line.starts_with([' ', '+', '-', '\\']) || line.starts_with("@@ "),
                "{}: {line:?} in\n{unified}",
                file.path
            );
        }
    }
    let timer = result.exports[0]
        .files
        .iter()
        .find(|file| file.path == "weekly_etl.timer")
        .and_then(|file| file.diff.as_deref())
        .unwrap_or_default();
    assert!(
        timer.contains("-OnCalendar=Sat *-*-* 08:15:00 Europe/Prague\n")
            && timer.contains("+OnCalendar=*-*-* 02:30:00 Europe/Prague\n"),
        "{timer}"
    );
}

/// A branch and a fan-out change, an output type with its consumer, a retry delay and a
/// timeout, overlap and failure policies, and the schedule moved into Prague's zone.
#[test]
fn warehouse_ingest_next_version() {
    let result = check(
        "warehouse_ingest",
        warehouse_ingest_deployed::warehouse_ingest::spec(),
        warehouse_ingest_next::warehouse_ingest::spec(),
        "2026-11-30T12:00:00Z",
        false,
    );
    let graph = kinds(&result.graph);
    assert!(
        graph.contains(&("fan-out".to_owned(), "changed".to_owned())),
        "{graph:?}"
    );
    assert!(
        result
            .types
            .iter()
            .any(|change| change.subject == "output"
                && change.text.contains("consumed by `announced`")),
        "{:#?}",
        result.types
    );
}
