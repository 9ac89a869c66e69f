use super::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn texts(times: &[DateTime<Utc>]) -> Vec<String> {
    times
        .iter()
        .map(|time| time.format("%Y-%m-%dT%H:%MZ").to_string())
        .collect()
}

fn next(expression: &str, zone: &str, now: &str, count: usize) -> Vec<String> {
    texts(
        &Timetable::cron(expression, zone)
            .unwrap()
            .next_n(at(now), count),
    )
}

#[test]
fn a_wildcard_hour_fires_in_both_occurrences_of_the_repeated_hour() {
    assert_eq!(
        next("0 * * * *", "Europe/Prague", "2026-10-24T22:30:00Z", 5),
        [
            "2026-10-24T23:00Z",
            "2026-10-25T00:00Z",
            "2026-10-25T01:00Z",
            "2026-10-25T02:00Z",
            "2026-10-25T03:00Z"
        ]
    );
    // New York falls back at 06:00Z on 2026-11-01: 01:00-01:45 EST are 06:00Z-06:45Z.
    let fires = next(
        "*/15 * * * *",
        "America/New_York",
        "2026-11-01T04:50:00Z",
        12,
    );
    assert_eq!(fires[0], "2026-11-01T05:00Z");
    assert_eq!(fires[11], "2026-11-01T07:45Z");
}

#[test]
fn a_wall_clock_time_in_the_repeated_hour_fires_once() {
    assert_eq!(
        next("30 2 * * *", "Europe/Prague", "2026-10-24T12:00:00Z", 2),
        ["2026-10-25T00:30Z", "2026-10-26T01:30Z"]
    );
}

#[test]
fn a_wall_clock_time_in_the_skipped_hour_fires_at_the_first_valid_instant_after() {
    assert_eq!(
        next("30 2 * * *", "Europe/Prague", "2027-03-27T12:00:00Z", 2),
        ["2027-03-28T01:00Z", "2027-03-29T00:30Z"]
    );
    // Several skipped times fire once.
    assert_eq!(
        next(
            "0,15,30 2 * * *",
            "Europe/Prague",
            "2027-03-28T00:00:00Z",
            2
        ),
        ["2027-03-28T01:00Z", "2027-03-29T00:00Z"]
    );
    // A wildcard minute in the skipped hour does not fire there.
    assert_eq!(
        next("*/30 2 * * *", "Europe/Prague", "2027-03-27T12:00:00Z", 2),
        ["2027-03-29T00:00Z", "2027-03-29T00:30Z"]
    );
}

#[test]
fn a_change_at_midnight_moves_midnight_to_the_first_valid_instant() {
    // Santiago springs forward at 24:00 local on 2026-09-05: 2026-09-06T00:00 does not exist.
    let fires = next("0 0 * * *", "America/Santiago", "2026-09-05T12:00:00Z", 2);
    assert_eq!(fires, ["2026-09-06T04:00Z", "2026-09-07T03:00Z"]);
}

#[test]
fn intervals_count_from_the_epoch() {
    let every = Timetable::every(9_000).unwrap();
    assert_eq!(
        texts(&every.next_n(at("2026-11-21T00:00:00Z"), 3)),
        [
            "2026-11-21T00:30Z",
            "2026-11-21T03:00Z",
            "2026-11-21T05:30Z"
        ]
    );
    assert!(Timetable::every(30).is_err());
    assert!(Timetable::every(90).is_err());
}

#[test]
fn the_latest_fire_time_costs_the_same_whatever_the_cadence() {
    let minutely = Timetable::cron("* * * * *", "Europe/Prague").unwrap();
    let until = at("2026-11-29T12:00:30Z");
    let started = std::time::Instant::now();
    let latest = minutely.between(until - Duration::days(366), until, 1);
    assert_eq!(texts(&latest), ["2026-11-29T12:00Z"]);
    let three = minutely.between(at("2026-11-29T11:58:00Z"), until, 5);
    assert_eq!(texts(&three), ["2026-11-29T11:59Z", "2026-11-29T12:00Z"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    // Backwards over the repeated hour: both occurrences, in order.
    let hourly = Timetable::cron("0 * * * *", "Europe/Prague").unwrap();
    assert_eq!(
        texts(&hourly.between(at("2026-10-24T23:30:00Z"), at("2026-10-25T02:00:00Z"), 10)),
        [
            "2026-10-25T00:00Z",
            "2026-10-25T01:00Z",
            "2026-10-25T02:00Z"
        ]
    );
}

#[test]
fn the_grammar_refuses_what_an_engine_cannot_express_and_says_how_to_write_it() {
    for (expression, expected) in [
        ("0 30 2 * * *", "a seconds field is not accepted"),
        ("0 30 2 * * ? 2027", "seven fields"),
        ("0 2 * * ?", "`?` (Quartz's \"no value\")"),
        ("0 0 L * *", "`L` (last)"),
        ("0 0 * * 5#3", "`#` (nth weekday"),
        ("0 0 15W * *", "`W` (nearest weekday)"),
        (
            "*/90 * * * *",
            "the step `/90` in the minute field is wider",
        ),
        ("61 * * * *", "`61` in the minute field is outside 0–59"),
        ("0 0 5-1 * *", "runs backwards"),
        ("0 0 */2 * MON", "read differently by different engines"),
        ("0 0 30 2 *", "never fires"),
        ("@reboot", "unknown cron nickname"),
        ("* * *", "has 3 fields"),
        (
            "0 2 * * FUNDAY",
            "the day-of-week field `FUNDAY` has `FUNDAY` where a number from 0 to 7 or a name (SUN–SAT) belongs",
        ),
        ("-1 * * * *", "the minute field `-1` has an empty value"),
    ] {
        let message = CronExpr::parse(expression).unwrap_err().to_string();
        assert!(message.contains(expected), "{expression}: {message}");
    }
}

#[test]
fn canonical_forms() {
    for (written, canonical) in [
        ("15 8 * * SAT", "15 8 * * 6"),
        ("*/15 9-17 * * mon-fri", "*/15 9-17 * * 1-5"),
        ("0 0 * * 0,7", "0 0 * * 0"),
        ("10 0/6 * * *", "10 0,6,12,18 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("0-59 * * * *", "0-59 * * * *"),
        ("0 3 1,15 jan-mar *", "0 3 1,15 1-3 *"),
    ] {
        assert_eq!(
            CronExpr::parse(written).unwrap().canonical(),
            canonical,
            "{written}"
        );
    }
    assert_eq!(
        CronExpr::parse("*/5 * * * *")
            .unwrap()
            .eventbridge()
            .unwrap(),
        "cron(0/5 * * * ? *)"
    );
    assert_eq!(
        CronExpr::parse("15 8 * * SAT")
            .unwrap()
            .eventbridge()
            .unwrap(),
        "cron(15 8 ? * SAT *)"
    );
    assert!(
        CronExpr::parse("0 3 1 * MON")
            .unwrap()
            .eventbridge()
            .is_err()
    );
}

#[test]
fn systemd_lines() {
    let lines = |expression: &str| CronExpr::parse(expression).unwrap().on_calendar("UTC");
    assert_eq!(
        lines("*/15 9-17 * * 1-5"),
        ["Mon..Fri *-*-* 09..17:00,15,30,45:00 UTC"]
    );
    assert_eq!(
        lines("0 3 1 * MON"),
        ["Mon *-*-* 03:00:00 UTC", "*-*-01 03:00:00 UTC"]
    );
    assert_eq!(
        lines("30 4 1,15 jan-mar *"),
        ["*-01..03-01,15 04:30:00 UTC"]
    );
}

#[test]
fn outside_changes_utc_fire_times_agree_with_croner() {
    for expression in [
        "*/7 3-5 * * *",
        "0 0 1,15 * MON",
        "30 23 * 2 *",
        "5 4 * * SUN",
        "0 12 29 2 *",
    ] {
        let ours = Timetable::cron(expression, "UTC").unwrap();
        let croner: croner::Cron = expression.parse().unwrap();
        let mut cursor = at("2027-01-01T00:00:00Z");
        for _ in 0..50 {
            let expected = croner.find_next_occurrence(&cursor, false).unwrap();
            let got = ours.next_after(cursor).unwrap();
            assert_eq!(got, expected, "{expression} after {cursor}");
            cursor = got;
        }
    }
}

#[test]
fn engines_rules_differ_from_the_plan_only_where_they_should() {
    let (from, to) = (at("2027-01-01T00:00:00Z"), at("2028-01-01T00:00:00Z"));
    let hourly = Timetable::cron("0 * * * *", "Europe/Prague").unwrap();
    assert!(hourly.anomalies(DstRule::RealTime, from, to).is_empty());
    assert_eq!(
        hourly.anomalies(DstRule::SkipGapFirstFold, from, to).len(),
        1
    );
    let nightly = Timetable::cron("30 2 * * *", "Europe/Prague").unwrap();
    let skipped = nightly.anomalies(DstRule::SkipGapFirstFold, from, to);
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        skipped[0].describe(&nightly.zone, "EventBridge"),
        "around 2027-03-28 (Europe/Prague changes from UTC+01:00 to UTC+02:00) the plan fires at 2027-03-28T01:00Z where EventBridge fires at no other instant"
    );
    // Airflow moves 02:30 by the gap (03:30 CEST, 01:30Z) and takes a repeated time's second
    // occurrence (01:30Z on 2027-10-31, where the plan fires at 00:30Z).
    let airflow = nightly.anomalies(DstRule::AirflowWallClock, from, to);
    assert_eq!(airflow.len(), 2);
    assert!(airflow[0].engine.contains(&at("2027-03-28T01:30:00Z")));
    assert!(airflow[1].engine.contains(&at("2027-10-31T01:30:00Z")));
    assert!(airflow[1].plan.contains(&at("2027-10-31T00:30:00Z")));
    assert!(hourly.anomalies(DstRule::AirflowDelta, from, to).is_empty());
    // Lord Howe changes by 30 minutes: adding wall-clock differences lands off the hour.
    let lord_howe = Timetable::cron("0 * * * *", "Australia/Lord_Howe").unwrap();
    assert!(
        !lord_howe
            .anomalies(DstRule::AirflowDelta, from, to)
            .is_empty()
    );
    let noon = Timetable::cron("0 12 * * *", "Europe/Prague").unwrap();
    for rule in [
        DstRule::RealTime,
        DstRule::SkipGapFirstFold,
        DstRule::AirflowWallClock,
    ] {
        assert!(noon.anomalies(rule, from, to).is_empty());
    }
    assert!(!noon.fixed_offset(from, to));
    assert!(
        Timetable::cron("0 2 * * *", "Asia/Kolkata")
            .unwrap()
            .fixed_offset(from, to)
    );
}

#[test]
fn partition_instants() {
    let prague: Tz = "Europe/Prague".parse().unwrap();
    assert_eq!(
        hour_before(at("2026-11-22T01:05:00Z"), &prague),
        at("2026-11-22T00:00:00Z")
    );
    // The repeated hour: two fires, two hours.
    assert_eq!(
        hour_before(at("2026-10-25T00:05:00Z"), &prague),
        at("2026-10-24T23:00:00Z")
    );
    assert_eq!(
        hour_before(at("2026-10-25T01:05:00Z"), &prague),
        at("2026-10-25T00:00:00Z")
    );
    // India is UTC+05:30: its hours start at half past in UTC.
    let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
    assert_eq!(
        hour_before(at("2026-11-22T01:05:00Z"), &kolkata),
        at("2026-11-21T23:30:00Z")
    );
    let santiago: Tz = "America/Santiago".parse().unwrap();
    assert_eq!(
        day_start(NaiveDate::from_ymd_opt(2026, 9, 6).unwrap(), &santiago),
        Some(at("2026-09-06T04:00:00Z"))
    );
}

#[test]
fn one_pass_and_step_by_step_agree() {
    for (expression, zone) in [
        ("0 * * * *", "Europe/Prague"),
        ("30 2 * * *", "Europe/Prague"),
        ("0 0 * * *", "America/Santiago"),
        ("*/30 * * * *", "Australia/Lord_Howe"),
        ("0 2 1 * MON", "America/New_York"),
    ] {
        let timetable = Timetable::cron(expression, zone).unwrap();
        let start = at("2026-09-01T00:00:00Z");
        let all = timetable.next_n(start, 2_000);
        let mut cursor = start;
        for (index, expected) in all.iter().enumerate() {
            let next = timetable.next_after(cursor).unwrap();
            assert_eq!(next, *expected, "{expression} in {zone}, fire {index}");
            cursor = next;
        }
        let until = *all.last().unwrap();
        assert_eq!(
            timetable.between(start, until, usize::MAX),
            all,
            "{expression} in {zone}"
        );
    }
}

#[test]
fn fields_that_name_every_value_still_restrict_the_days() {
    // Either matches, and the day of the month names every day: every day.
    let every_day = CronExpr::parse("0 9 1-31 * 1-5").unwrap();
    assert_eq!(every_day.on_calendar("UTC"), ["*-*-* 09:00:00 UTC"]);
    assert_eq!(every_day.eventbridge().unwrap(), "cron(0 9 * * ? *)");
    let first_or_any = CronExpr::parse("0 9 1 * 0-6").unwrap();
    assert_eq!(first_or_any.on_calendar("UTC"), ["*-*-* 09:00:00 UTC"]);
    let timetable = Timetable::cron("0 9 1 * 0-6", "UTC").unwrap();
    assert_eq!(timetable.next_n(at("2027-01-05T00:00:00Z"), 3).len(), 3);
    assert_eq!(
        texts(&timetable.next_n(at("2027-01-05T00:00:00Z"), 2)),
        ["2027-01-05T09:00Z", "2027-01-06T09:00Z"]
    );
}

#[test]
fn steps_and_lists_every_engine_reads_alike() {
    for (expression, expected) in [
        ("*/20,5 * * * *", "mixes `*` with a list"),
        (
            "0 0 * * */7",
            "the step `/7` in the day-of-week field is wider than what it steps over (0–6)",
        ),
        (
            "0 0-5/10 * * *",
            "the step `/10` in the hour field is wider than what it steps over (0–5)",
        ),
    ] {
        let message = CronExpr::parse(expression).unwrap_err().to_string();
        assert!(message.contains(expected), "{expression}: {message}");
    }
    assert!(
        CronExpr::parse("*/20,5 * * * *")
            .unwrap_err()
            .to_string()
            .contains("`0,5,20,40`")
    );
    assert_eq!(
        CronExpr::parse("*/59 * * * *").unwrap().canonical(),
        "*/59 * * * *"
    );
    assert!(check_interval("400d", 400 * 86_400).is_err());
}

#[test]
fn rare_schedules_list_as_many_fire_times_as_asked() {
    let leap = Timetable::cron("0 0 29 2 *", "UTC").unwrap();
    let fires = leap.next_n(at("2026-11-29T00:00:00Z"), 5);
    assert_eq!(
        texts(&fires),
        [
            "2028-02-29T00:00Z",
            "2032-02-29T00:00Z",
            "2036-02-29T00:00Z",
            "2040-02-29T00:00Z",
            "2044-02-29T00:00Z"
        ]
    );
    let daily = Timetable::cron("0 9 * * *", "UTC").unwrap();
    assert_eq!(daily.next_n(at("2026-11-29T00:00:00Z"), 4_000).len(), 4_000);
}

#[test]
fn a_day_the_zone_skipped_has_no_first_instant() {
    // Samoa skipped 2011-12-30 (from UTC-10 to UTC+14).
    let apia: Tz = "Pacific/Apia".parse().unwrap();
    assert_eq!(
        day_start(NaiveDate::from_ymd_opt(2011, 12, 30).unwrap(), &apia),
        None
    );
    assert_eq!(
        day_start(NaiveDate::from_ymd_opt(2011, 12, 31).unwrap(), &apia),
        Some(at("2011-12-30T10:00:00Z"))
    );
}

#[test]
fn offsets_given_as_zones_are_answered_with_the_flipped_etc_zone() {
    let hint = offset_hint("GMT+2").unwrap();
    assert!(hint.contains("UTC+2 is `Etc/GMT-2`"), "{hint}");
    assert!(
        offset_hint("utc-05:00")
            .unwrap()
            .contains("UTC-5 is `Etc/GMT+5`")
    );
    assert_eq!(
        offset_hint("GMT+0").unwrap(),
        "that is UTC itself: write `UTC`"
    );
    assert!(!offset_hint("UTC+05:30").unwrap().contains("Etc/"));
    assert!(offset_hint("Europe/Pargue").is_none());
    assert!(offset_hint("GMT").is_none());
    // The zone it points to exists, with the offset it says.
    let zone: chrono_tz::Tz = "Etc/GMT-2".parse().unwrap();
    let noon = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2027, 7, 1, 12, 0, 0).unwrap();
    assert_eq!(chrono::Timelike::hour(&noon.with_timezone(&zone)), 14);
}

#[test]
fn names_that_read_as_zones_are_answered_with_the_iana_zone() {
    let hint = |zone: &str| zone_hint(zone).unwrap_or_default();
    assert_eq!(
        hint("Europe/Praha"),
        "IANA names use the English name of the region's main city: write `Europe/Prague`"
    );
    assert!(hint("Wien").contains("`Europe/Vienna`"));
    assert!(hint("Europe/München").contains("`Europe/Berlin`"));
    assert_eq!(
        hint("Prague"),
        "write `Europe/Prague`: IANA names give the region before the city"
    );
    assert!(hint("new york").contains("`America/New_York`"));
    assert_eq!(
        hint("europe/prague"),
        "zone names are case-sensitive: write `Europe/Prague`"
    );
    assert!(hint("America/Prague").contains("`Europe/Prague`"));
    assert_eq!(
        hint("PST"),
        "`PST` is an abbreviation, not a zone name; write `America/Los_Angeles`, which also follows daylight saving"
    );
    assert!(hint("cest").contains("`Europe/Prague`"));
    assert!(hint("CET+1").starts_with("`CET` with an offset is not a zone name"));
    assert!(hint("GMT+2").contains("`Etc/GMT-2`"));
    // Every zone a hint names exists.
    for zone in [
        "Europe/Praha",
        "Wien",
        "Prague",
        "PST",
        "new york",
        "Beijing",
        "JST",
    ] {
        let text = hint(zone);
        let named = text
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|name| name.contains('/'));
        for name in named {
            assert!(name.parse::<chrono_tz::Tz>().is_ok(), "{zone}: {name}");
        }
    }
    // Misspellings are left to the caller's "did you mean".
    assert_eq!(zone_hint("Europe/Pargue"), None);
    assert_eq!(zone_hint("Mars/Olympus"), None);
}
