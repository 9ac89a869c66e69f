//! The test harness: whole workflows in process on a virtual clock, with stubs of the tasks'
//! own signatures, injected failures, panics and hangs, and typed outputs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use workflow_core::prelude::*;
use workflow_core::runner::engine::RunStatus;
use workflow_core::runner::store::Status;
use workflow_core::testing::TestRun;

const MINUTE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rows(Vec<u32>);

#[task(
    retries = 3,
    retry_delay = "10m",
    backoff = "exponential",
    timeout = "30m"
)]
fn extract(day: NaiveDate) -> Result<Rows, std::io::Error> {
    Err(std::io::Error::other(format!(
        "the source for {day} is not reachable from tests"
    )))
}

#[task(timeout = "1h")]
fn transform(rows: Rows) -> Rows {
    Rows(rows.0.into_iter().map(|value| value * 10).collect())
}

#[task]
fn count(rows: Rows) -> usize {
    rows.0.len()
}

#[task]
fn describe(partner: String, day: NaiveDate) -> String {
    format!("{partner}@{day}")
}

workflow! {
    /// Extract, transform, count; and one line per partner.
    #[timeout = "4h"]
    etl(day: NaiveDate, partners: Vec<String> = vec!["a".to_owned(), "b".to_owned()]) {
        raw = extract(day);
        rows = transform(raw);
        total = count(rows);
        lines = describe(each(partners), day);
    }
}

fn day() -> TestRun<etl> {
    TestRun::<etl>::new().param("day", "2026-11-21")
}

fn stubbed() -> TestRun<etl> {
    day().stub(etl::raw.with(|day: NaiveDate| Ok(Rows(vec![day.day(), 1, 2]))))
}

#[test]
fn outputs_come_back_with_their_types() {
    let run = stubbed().run();
    assert_eq!(run.status(), RunStatus::Succeeded);
    assert_eq!(run.output(etl::raw), Some(Rows(vec![21, 1, 2])));
    assert_eq!(run.output(etl::rows), Some(Rows(vec![210, 10, 20])));
    assert_eq!(run.output(etl::total), Some(3));
    // A fanned-out node produces one output per element, in order.
    assert_eq!(
        run.output(etl::lines),
        Some(vec!["a@2026-11-21".to_owned(), "b@2026-11-21".to_owned()])
    );
    assert_eq!(run.elapsed(), Duration::ZERO);
}

#[test]
fn the_real_task_runs_where_there_is_no_stub() {
    let started = Instant::now();
    let run = day().run();
    assert_eq!(run.status(), RunStatus::Failed);
    assert_eq!(run.node_status(etl::raw), Status::Failed);
    assert_eq!(run.attempts(etl::raw), 4);
    assert!(
        run.message(etl::raw)
            .unwrap()
            .contains("not reachable from tests"),
        "{:?}",
        run.message(etl::raw)
    );
    assert_eq!(run.node_status(etl::rows), Status::Skipped);
    // Three retries after 10, 20 and 40 minutes: 70 minutes on the virtual clock, none real.
    assert_eq!(
        run.attempt_starts(etl::raw),
        [Duration::ZERO, 10 * MINUTE, 30 * MINUTE, 70 * MINUTE]
    );
    assert_eq!(run.elapsed(), 70 * MINUTE);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn an_injected_failure_is_retried() {
    let run = stubbed().fail(etl::raw, 1).fail(etl::raw, 2).run();
    assert!(run.succeeded());
    assert_eq!(run.attempts(etl::raw), 3);
    assert_eq!(
        run.attempt_starts(etl::raw),
        [Duration::ZERO, 10 * MINUTE, 30 * MINUTE]
    );
    assert_eq!(run.output(etl::total), Some(3));
}

#[test]
fn an_injected_panic_fails_only_its_attempt() {
    let run = stubbed().panic(etl::raw, 1).run();
    assert!(run.succeeded());
    assert_eq!(run.attempts(etl::raw), 2);
    let run = stubbed().panic(etl::total, 1).run();
    assert_eq!(run.node_status(etl::total), Status::Failed);
    assert!(
        run.message(etl::total)
            .unwrap()
            .contains("panicked: injected panic in attempt 1 of `total`"),
        "{:?}",
        run.message(etl::total)
    );
    // The fanned-out node does not depend on `total`; it was started or finished anyway.
    assert_eq!(run.node_status(etl::rows), Status::Succeeded);
}

#[test]
fn an_attempt_longer_than_its_timeout_times_out() {
    // `transform` may take an hour; this one takes two and has no retries.
    let run = stubbed().takes(etl::rows, 2 * 60 * MINUTE).run();
    assert_eq!(run.node_status(etl::rows), Status::TimedOut);
    assert_eq!(
        run.message(etl::rows),
        Some("attempt 1: timed out after 1h")
    );
    assert_eq!(run.elapsed(), 60 * MINUTE);
    assert_eq!(run.status(), RunStatus::Failed);
    // Under its timeout, it succeeds, and the run takes as long as the attempt.
    let run = stubbed().takes(etl::rows, 50 * MINUTE).run();
    assert!(run.succeeded());
    assert_eq!(run.elapsed(), 50 * MINUTE);
}

#[test]
fn a_hung_attempt_is_ended_by_its_timeout_and_retried() {
    let run = stubbed().hang(etl::raw, 1).run();
    assert!(run.succeeded());
    assert_eq!(run.attempts(etl::raw), 2);
    // Timed out at 30 minutes, retried 10 minutes later.
    assert_eq!(run.attempt_starts(etl::raw), [Duration::ZERO, 40 * MINUTE]);
}

#[test]
fn the_run_timeout_stops_the_whole_run() {
    // Every attempt of `extract` hangs until its 30-minute timeout; with retries after 10, 20
    // and 40 minutes the node would need 190 minutes, and the run may take 4 hours: it fits.
    let hung = (1..=4).fold(stubbed(), |run, attempt| run.hang(etl::raw, attempt));
    let run = hung.run();
    assert_eq!(run.node_status(etl::raw), Status::TimedOut);
    assert_eq!(run.elapsed(), 190 * MINUTE);
    // `transform` taking an hour after a late extract overruns the run's 4 hours.
    let late = (1..=3)
        .fold(stubbed(), |run, attempt| run.hang(etl::raw, attempt))
        .takes(etl::rows, 59 * MINUTE)
        .takes(etl::raw, 25 * MINUTE);
    let run = late.run();
    assert_eq!(run.status(), RunStatus::Failed);
    assert_eq!(run.elapsed(), 4 * 60 * MINUTE);
    assert_eq!(run.node_status(etl::rows), Status::TimedOut);
    assert_eq!(
        run.message(etl::rows),
        Some("attempt 1: the run timed out after 4h")
    );
    assert_eq!(run.node_status(etl::total), Status::Skipped);
}

#[test]
fn a_stub_can_count_its_calls() {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let run = stubbed()
        .stub(etl::lines.with(move |partner: String, _day| {
            seen.fetch_add(1, Ordering::SeqCst);
            partner.to_uppercase()
        }))
        .param("partners", vec!["x", "y", "z"])
        .run();
    assert!(run.succeeded());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        run.output(etl::lines),
        Some(vec!["X".to_owned(), "Y".to_owned(), "Z".to_owned()])
    );
}

#[test]
fn a_malformed_parameter_is_reported() {
    let error = TestRun::<etl>::new()
        .param("day", "21/11/2026")
        .try_run()
        .unwrap_err();
    assert!(error.contains("day"), "{error}");
    let error = TestRun::<etl>::new().try_run().unwrap_err();
    assert!(error.contains("day"), "{error}");
}

// `tick` on the virtual clock.

use chrono::{DateTime, TimeZone};
use workflow_core::runner::tick::Decision;

#[task(retries = 1)]
fn load_day(day: NaiveDate) -> Result<String, std::io::Error> {
    Ok(day.to_string())
}

workflow! {
    /// Daily at 02:00 in Prague, for the day before; every missed day is made up, at most 3.
    #[schedule(cron = "0 2 * * *", timezone = "Europe/Prague", catch_up = "all", max_catch_up = 3)]
    #[partition(daily, param = day)]
    nightly(day: NaiveDate) {
        loaded = load_day(day);
    }
}

workflow! {
    /// Hourly; a fire time found late is skipped.
    #[schedule(every = "1h", catch_up = "skip")]
    #[on_failure(pause)]
    strict(day: NaiveDate = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()) {
        loaded = load_day(day);
    }
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn started_for(tick: &workflow_core::testing::Tick<nightly>) -> Option<String> {
    tick.ran().and_then(|run| run.output(nightly::loaded))
}

#[test]
fn a_partitioned_schedule_catches_up_missed_days_oldest_first() {
    // 02:00 in Prague is 01:00 UTC in winter.
    let mut ticker = TestRun::<nightly>::new()
        .at(utc("2026-11-20T01:05:00Z"))
        .ticker();
    assert_eq!(started_for(&ticker.tick()).as_deref(), Some("2026-11-19"));
    assert!(ticker.tick().ran().is_none());
    // Down for five days: the latest three missed days are made up, one per tick.
    ticker.advance(Duration::from_secs(5 * 24 * 3600));
    let first = ticker.tick();
    match &first.decision {
        Decision::Start { cause, .. } => assert_eq!(
            cause.reason,
            "scheduled for 2026-11-23T01:00:00+00:00, 2 more missed fire times to catch up"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(started_for(&first).as_deref(), Some("2026-11-22"));
    assert_eq!(started_for(&ticker.tick()).as_deref(), Some("2026-11-23"));
    assert_eq!(started_for(&ticker.tick()).as_deref(), Some("2026-11-24"));
    match ticker.tick().decision {
        Decision::Wait { reason } => assert_eq!(
            reason,
            "not due: the next fire time is 2026-11-26T01:00:00+00:00"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failed_run_is_re_run_at_once_and_keeps_its_attempt_count() {
    // Both attempts of the first run fail (retries = 1); the tick after re-runs it at once,
    // as attempt 3, which succeeds.
    let mut ticker = TestRun::<nightly>::new()
        .at(utc("2026-11-20T01:05:00Z"))
        .fail(nightly::loaded, 1)
        .fail(nightly::loaded, 2)
        .ticker();
    let failed = ticker.tick();
    assert_eq!(failed.ran().unwrap().status(), RunStatus::Failed);
    let again = ticker.tick();
    match &again.decision {
        Decision::Resume { run, reason } => {
            assert_eq!(*run, failed.ran().unwrap().run());
            assert_eq!(
                reason,
                &format!("run {run} failed; re-running it at once (automatic re-run 1 of 3)")
            );
        }
        other => panic!("{other:?}"),
    }
    let resumed = again.ran().unwrap();
    assert!(resumed.succeeded());
    assert_eq!(resumed.attempts(nightly::loaded), 3);
    assert_eq!(
        resumed.output(nightly::loaded).as_deref(),
        Some("2026-11-19")
    );
    assert!(ticker.tick().ran().is_none());
}

#[test]
fn skip_forgets_late_fire_times_and_pause_stops_ticks() {
    let mut ticker = TestRun::<strict>::new()
        .at(Utc.with_ymd_and_hms(2026, 11, 21, 10, 20, 0).unwrap())
        .fail(strict::loaded, 1)
        .fail(strict::loaded, 2)
        .ticker();
    // 20 minutes after the fire time: too late for a schedule that skips.
    assert!(matches!(ticker.tick().decision, Decision::Wait { .. }));
    ticker.advance(Duration::from_secs(45 * 60)); // 11:05
    let failed = ticker.tick();
    assert_eq!(failed.ran().unwrap().status(), RunStatus::Paused);
    ticker.advance(Duration::from_secs(3600));
    match ticker.tick().decision {
        Decision::Wait { reason } => assert!(
            reason.starts_with("paused (run 1: node loaded failed)"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    ticker.store().unpause("strict").unwrap();
    // A workflow that pauses on failure is not re-run by itself; the next fire time runs.
    let next = ticker.tick();
    assert!(next.ran().unwrap().succeeded());
}

#[task]
fn load_partition(day: NaiveDate) -> Result<String, std::io::Error> {
    Ok(day.to_string())
}

workflow! {
    /// Daily at 00:05 UTC for the day before; a failed day is re-run twice at most.
    #[schedule(cron = "5 0 * * *", catch_up = "latest")]
    #[partition(daily, param = day)]
    #[on_failure(stop, reruns = 2, notify = "etl-admin@example.com")]
    loads(day: NaiveDate) {
        loaded = load_partition(day);
    }
}

/// A day that always fails is re-run at most `reruns` times, its last notice says so, and
/// every later day runs on its own fire time: an old failure never starves due work.
#[test]
fn a_day_that_always_fails_is_re_run_a_bounded_number_of_times() {
    let mut ticker = TestRun::<loads>::new()
        .at(utc("2026-11-20T00:06:00Z"))
        .stub(loads::loaded.with(|day: NaiveDate| {
            if day.to_string() == "2026-11-19" {
                Err(std::io::Error::other("the export for the 19th is corrupt"))
            } else {
                Ok(day.to_string())
            }
        }))
        .ticker();
    let mut ran: Vec<(String, bool)> = Vec::new();
    // A timer every 5 minutes for three days and a bit.
    for _ in 0..(3 * 24 * 12 + 12) {
        let tick = ticker.tick();
        if let Some(run) = tick.ran() {
            let day = ticker
                .store()
                .run(run.run())
                .unwrap()
                .params
                .unwrap_or_default();
            ran.push((day, run.succeeded()));
        }
        ticker.advance(5 * MINUTE);
    }
    let day = |text: &str| format!(r#"{{"day":"{text}"}}"#);
    assert_eq!(
        ran,
        [
            (day("2026-11-19"), false),
            (day("2026-11-19"), false),
            (day("2026-11-19"), false),
            (day("2026-11-20"), true),
            (day("2026-11-21"), true),
            (day("2026-11-22"), true),
        ],
        "the 19th once and twice again, then each later day once"
    );
    let failed = ticker.store().run(1).unwrap();
    assert_eq!((failed.reruns, failed.gave_up), (2, true));
    let notices = ticker.store().pending_notices(Some("loads"), None).unwrap();
    assert_eq!(
        notices.len(),
        3,
        "one notice per failed run, kept as undelivered"
    );
    let last: workflow_core::runner::notify::Notice =
        serde_json::from_str(&notices[2].payload).unwrap();
    assert_eq!(
        last.reason.as_deref(),
        Some(
            "This was automatic re-run 2 of 2: `tick` will not re-run it again; \
             the next fire time starts a new run."
        )
    );
    assert_eq!(last.params["day"], "2026-11-19");
    assert_eq!(
        last.failures[0].message,
        "attempt 3: the export for the 19th is corrupt"
    );
}

/// Connects to the database; retried three times a minute apart.
#[task(retries = 3, retry_delay = "1m")]
fn connect(url: String) -> Result<u32, TaskError> {
    Err(TaskError::new(format!("{url} is not reachable from tests")))
}

workflow! {
    /// One connection.
    connecting(url: String = "postgres://db") {
        link = connect(url);
    }
}

// A permanent failure is not retried: `connect` has three retries, and a failure that says it
// is permanent uses none of them; a retryable one uses them all.
#[test]
fn a_permanent_failure_is_not_retried() {
    let run = TestRun::<connecting>::new()
        .stub(connecting::link.with(|_url| Err(TaskError::permanent("DATABASE_URL is not set"))))
        .run();
    assert_eq!(run.status(), RunStatus::Failed);
    assert_eq!(run.attempts(connecting::link), 1);
    assert_eq!(
        run.message(connecting::link),
        Some("attempt 1: DATABASE_URL is not set (a permanent failure: not retried)")
    );
    assert_eq!(run.elapsed(), Duration::ZERO);

    // `?` on any error is retryable; `into_permanent` marks it.
    let run = TestRun::<connecting>::new()
        .stub(connecting::link.with(|url| {
            let port = url
                .parse::<u32>()
                .map_err(|error| TaskError::from(error).into_permanent())?;
            Ok(port)
        }))
        .run();
    assert_eq!(run.attempts(connecting::link), 1);
    assert_eq!(
        run.message(connecting::link),
        Some("attempt 1: invalid digit found in string (a permanent failure: not retried)")
    );

    // The task itself: retryable, so four attempts over three minutes.
    let run = TestRun::<connecting>::new().run();
    assert_eq!(run.attempts(connecting::link), 4);
    assert_eq!(
        run.message(connecting::link),
        Some("attempt 4: postgres://db is not reachable from tests")
    );
    assert_eq!(run.elapsed(), 3 * MINUTE);
}
