//! Seed 004: daily ingest at 10 TB scale, from an OLTP database, logs and third-party APIs,
//! through a graph of processing tasks, into a data warehouse, partner APIs and an event
//! broker.
//!
//! At this size data does not flow through the workflow: tasks hand each other manifests
//! (where the data is, how much of it, its schema version), and each task processes its
//! partition where the data lives. The types of the manifests still check the wiring.

use workflow_core::prelude::*;

/// Which deployment the run covers; given as `--param region=eu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// Europe.
    Eu,
    /// North America.
    Us,
}

/// Where one dataset's files for a day are, and how big they are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Object storage prefix.
    pub prefix: String,
    /// Number of files.
    pub files: u64,
    /// Total bytes.
    pub bytes: u64,
    /// Schema version the files follow.
    pub schema: u32,
}

/// The OLTP snapshot: an export of changed rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OltpSnapshot(pub Manifest);

/// Raw event logs for the day.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventLogs(pub Manifest);

/// Partner data fetched from third-party APIs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartnerFeeds(pub Manifest);

/// Sessions built from the event logs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sessions(pub Manifest);

/// The modeled fact table, joined from all sources.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DailyFacts(pub Manifest);

/// What a publish or load did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// Destination.
    pub target: String,
    /// Records delivered.
    pub records: u64,
}

fn manifest(prefix: String, files: u64) -> Manifest {
    Manifest {
        prefix,
        files,
        bytes: files * 256 * 1024 * 1024,
        schema: 3,
    }
}

/// Export the day's changed rows from the OLTP database to object storage.
#[task(retries = 3, retry_delay = "5m", timeout = "4h", pool = "oltp-export")]
pub fn export_oltp(day: NaiveDate, region: Region) -> OltpSnapshot {
    OltpSnapshot(manifest(
        format!("s3://lake-{region:?}/oltp/{day}").to_lowercase(),
        4096,
    ))
}

/// Export a full snapshot of the OLTP tables (a full refresh rebuilds history from it).
#[task(
    retries = 1,
    retry_delay = "30m",
    timeout = "10h",
    pool = "oltp-export"
)]
pub fn export_full_snapshot(day: NaiveDate, region: Region) -> OltpSnapshot {
    OltpSnapshot(manifest(
        format!("s3://lake-{region:?}/oltp-full/{day}").to_lowercase(),
        120_000,
    ))
}

/// Locate the day's event logs.
#[task(retries = 2, retry_delay = "1m", timeout = "30m")]
pub fn collect_event_logs(day: NaiveDate, region: Region) -> EventLogs {
    EventLogs(manifest(
        format!("s3://lake-{region:?}/events/{day}").to_lowercase(),
        40_000,
    ))
}

/// Fetch one partner's feed from its API into object storage.
#[task(
    retries = 5,
    retry_delay = "1m",
    backoff = "exponential",
    max_retry_delay = "15m",
    timeout = "1h"
)]
pub fn fetch_partner_feed(partner: String, day: NaiveDate) -> PartnerFeeds {
    PartnerFeeds(manifest(format!("s3://lake/partners/{partner}/{day}"), 12))
}

/// Build sessions from raw events (a distributed job over the log partitions).
#[task(timeout = "6h", pool = "spark", cpu = 16, memory = "64GiB")]
pub fn build_sessions(logs: EventLogs) -> Result<Sessions, TaskError> {
    if logs.0.files == 0 {
        return Err(TaskError::new(format!(
            "no event files under {}",
            logs.0.prefix
        )));
    }
    Ok(Sessions(manifest(
        logs.0.prefix.replace("/events/", "/sessions/"),
        logs.0.files / 10,
    )))
}

/// Join the snapshot, sessions and partner feeds into the daily fact table.
#[task(timeout = "6h", pool = "spark", cpu = 32, memory = "128GiB")]
pub fn model_daily_facts(
    snapshot: OltpSnapshot,
    sessions: Sessions,
    partners: Vec<PartnerFeeds>,
    full_refresh: bool,
) -> DailyFacts {
    let partner_files: u64 = partners.iter().map(|feed| feed.0.files).sum();
    let files = snapshot.0.files + sessions.0.files + partner_files;
    let files = if full_refresh { files * 30 } else { files };
    DailyFacts(manifest(
        sessions.0.prefix.replace("/sessions/", "/facts/"),
        files,
    ))
}

/// Load the fact table into the warehouse (COPY from object storage).
#[task(retries = 2, retry_delay = "10m", timeout = "3h", pool = "warehouse")]
pub fn load_warehouse(facts: DailyFacts, table: String) -> Delivery {
    Delivery {
        target: format!("warehouse:{table}"),
        records: facts.0.files * 1_000_000,
    }
}

/// Push aggregates to partners' APIs.
#[task(retries = 3, retry_delay = "5m", timeout = "1h")]
pub fn push_partner_apis(facts: DailyFacts) -> Delivery {
    Delivery {
        target: "partner-apis".to_owned(),
        records: facts.0.files,
    }
}

/// Publish a "day loaded" event per table to the event broker.
#[task(retries = 3, retry_delay = "30s")]
pub fn publish_loaded_event(delivery: Delivery, topic: String) -> Delivery {
    Delivery {
        target: format!("broker:{topic}"),
        records: delivery.records.min(1),
    }
}

workflow! {
    /// Daily warehouse ingest: OLTP, logs and partner APIs into the warehouse, partners and the broker.
    ///
    /// At 01:00 UTC, every missed day made up in order; heavy work limited by pool sizes.
    #[schedule(cron = "0 1 * * *", catch_up = "all")]
    #[partition(daily, param = day)]
    #[concurrency(overlap = "queue")]
    #[pool(name = "oltp-export", slots = 1)]
    #[pool(name = "spark", slots = 4)]
    #[pool(name = "warehouse", slots = 2)]
    #[timeout = "20h"]
    #[on_failure(stop, notify = ["data-oncall@example.com", "platform@example.com"], webhook = "https://hooks.example.com/etl/warehouse")]
    #[on_success(webhook = "https://hooks.example.com/etl/warehouse")]
    pub warehouse_ingest(
        day: NaiveDate,
        region: Region = Region::Eu,
        full_refresh: bool = false,
        partner_apis: Vec<String> = vec!["adnet".into(), "crm".into(), "payments".into()],
    ) {
        // A full refresh starts from a full snapshot; a daily run from the changed rows.
        if full_refresh {
            snapshot = export_full_snapshot(day, region);
        } else {
            snapshot = export_oltp(day, region);
        }
        logs = collect_event_logs(day, region);
        // One fetch per partner API, at most four at a time.
        partners = fetch_partner_feed(each(partner_apis), day).max_parallel(4);
        sessions = build_sessions(logs);
        facts = model_daily_facts(snapshot, sessions, partners, full_refresh);
        warehouse = load_warehouse(facts, "analytics.daily_facts");
        pushed = push_partner_apis(facts);
        announced = publish_loaded_event(warehouse, "warehouse.loaded");
    }
}
