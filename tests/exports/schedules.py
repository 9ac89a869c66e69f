"""Evaluates exported schedules with independent code, for tests/schedules.rs.

Reads JSON cases on stdin: {"id", "zone", "cron" (five fields, or null), "start", "end",
and per mode what to evaluate}; writes {"id": [fire times as UTC ISO strings]} per evaluator.

Modes:
  cronsim  - Debian cron's rules as the Python package cronsim implements them (the plan's
             documented rule, implemented by someone else).
  engines  - run with Airflow's virtual environment:
             "airflow": the exported `schedule=` expression evaluated by Airflow's own
             timetable classes, run after run, as its scheduler does when catching up;
             "eventbridge": the `cron(...)` expression checked against EventBridge Scheduler's
             documented grammar, then evaluated with its documented rule at daylight-saving
             changes (a skipped local time does not run, a repeated one runs once);
             "argo": the CronWorkflow's schedules evaluated as robfig/cron (Argo's library)
             walks time: every instant whose local time matches.
"""
import datetime as dt
import json
import re
import sys
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc


def iso(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def parse(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def by_cronsim(case):
    from cronsim import CronSim

    start, end = parse(case["start"]), parse(case["end"])
    zone = UTC if case["zone"] == "UTC" else ZoneInfo(case["zone"])
    times = []
    for moment in CronSim(case["cron"], start.astimezone(zone)):
        if moment.astimezone(UTC) >= end:
            break
        times.append(iso(moment))
    return times


def naive_matches(expression, zone, start, end):
    """Local wall times (naive) in [start - 1 day, end + 1 day) that the fields match."""
    first = start.astimezone(zone).replace(tzinfo=None) - dt.timedelta(days=1)
    last = end.astimezone(zone).replace(tzinfo=None) + dt.timedelta(days=1)
    try:  # the validators' environment has cronsim, Airflow's has croniter
        from cronsim import CronSim

        iterator = iter(CronSim(expression, first - dt.timedelta(seconds=1)))
        step = lambda: next(iterator)  # noqa: E731
    except ImportError:
        from croniter import croniter

        walker = croniter(expression, first - dt.timedelta(seconds=1))
        step = lambda: walker.get_next(dt.datetime)  # noqa: E731
    while True:
        moment = step()
        if moment >= last:
            return
        yield moment


def exists(naive, zone):
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def ambiguous(naive, zone):
    return naive.replace(tzinfo=zone, fold=0).utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset()


def by_rule(expression, zone_name, start, end, both_folds):
    zone = ZoneInfo(zone_name)
    times = set()
    for naive in naive_matches(expression, zone, start, end):
        if not exists(naive, zone):
            continue
        times.add(naive.replace(tzinfo=zone, fold=0).astimezone(UTC))
        if both_folds and ambiguous(naive, zone):
            times.add(naive.replace(tzinfo=zone, fold=1).astimezone(UTC))
    return [iso(t) for t in sorted(times) if start < t < end]


EVENTBRIDGE_FIELDS = [
    r"(\*|[0-5]?\d(-[0-5]?\d)?(/\d+)?)(,[0-5]?\d(-[0-5]?\d)?)*",
    r"(\*|[01]?\d(-[01]?\d)?(/\d+)?|2[0-3](-2[0-3])?)(,([01]?\d|2[0-3])(-([01]?\d|2[0-3]))?)*",
    r"(\?|\*|([1-9]|[12]\d|3[01])(-([1-9]|[12]\d|3[01]))?(/\d+)?(,([1-9]|[12]\d|3[01])(-([1-9]|[12]\d|3[01]))?)*)",
    r"(\*|([1-9]|1[0-2])(-([1-9]|1[0-2]))?(/\d+)?(,([1-9]|1[0-2])(-([1-9]|1[0-2]))?)*)",
    r"(\?|\*|(SUN|MON|TUE|WED|THU|FRI|SAT)(-(SUN|MON|TUE|WED|THU|FRI|SAT))?(,(SUN|MON|TUE|WED|THU|FRI|SAT)(-(SUN|MON|TUE|WED|THU|FRI|SAT))?)*)",
    r"\*",
]


def eventbridge_five_fields(expression):
    """EventBridge's `cron(m h dom mon dow year)` checked against its grammar, as five fields."""
    match = re.fullmatch(r"cron\((.*)\)", expression)
    assert match, f"not cron(...): {expression}"
    fields = match.group(1).split(" ")
    assert len(fields) == 6, f"EventBridge cron has six fields: {expression}"
    for field, pattern in zip(fields, EVENTBRIDGE_FIELDS):
        assert re.fullmatch(pattern, field), f"field `{field}` of {expression} breaks EventBridge's grammar"
    assert (fields[2] == "?") != (fields[4] == "?"), f"exactly one day field is `?`: {expression}"
    minute, hour, day, month, weekday = fields[:5]
    names = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
    for index, name in enumerate(names):
        weekday = weekday.replace(name, str(index))
    day = "*" if day == "?" else day
    weekday = "*" if weekday == "?" else weekday
    # `a/n` in EventBridge runs from a to the field's end, as in croniter.
    return " ".join([minute, hour, day, month, weekday])


def airflow_times(schedule, start, end):
    import datetime  # noqa: F401 (used by eval: DeltaTriggerTimetable(datetime.timedelta(...)))

    import pendulum
    from airflow.timetables.base import DataInterval, TimeRestriction
    from airflow.timetables.trigger import (  # noqa: F401 (used by eval)
        CronTriggerTimetable,
        DeltaTriggerTimetable,
        MultipleCronTriggerTimetable,
    )

    timetable = eval(schedule)  # the exported expression, e.g. CronTriggerTimetable("0 2 * * *", ...)
    restriction = TimeRestriction(earliest=None, latest=pendulum.instance(end), catchup=True)
    last = pendulum.instance(start)
    times = []
    while True:
        info = timetable.next_dagrun_info(
            last_automated_data_interval=DataInterval.exact(last), restriction=restriction
        )
        if info is None or info.run_after >= end:
            return times
        times.append(iso(info.run_after))
        last = info.run_after


def main():
    mode = sys.argv[1]
    cases = json.load(sys.stdin)
    out = {}
    for case in cases:
        # Fire times strictly after a second before the start: the start itself counts.
        start, end = parse(case["start"]) - dt.timedelta(seconds=1), parse(case["end"])
        case["start"] = start.isoformat()
        result = {}
        if mode == "cronsim":
            if case.get("cron") and case.get("walk"):
                # cronsim steps whole hours of real time, so after a 30-minute change (Lord
                # Howe) it misses matches; the documented rule is every instant whose local
                # time matches, walked here over the wall times instead.
                result["walked"] = by_rule(case["cron"], case["zone"], start, end, True)
            elif case.get("cron"):
                result["cronsim"] = by_cronsim(case)
        else:
            if case.get("airflow"):
                result["airflow"] = airflow_times(case["airflow"], start, end)
            if case.get("eventbridge"):
                expression = eventbridge_five_fields(case["eventbridge"]["expression"])
                result["eventbridge"] = by_rule(expression, case["eventbridge"]["timezone"], start, end, False)
            if case.get("argo"):
                times = set()
                for line in case["argo"]["schedules"]:
                    times.update(by_rule(line, case["argo"]["timezone"], start, end, True))
                when = case["argo"].get("when")
                if when:
                    # `{{= now().Unix() % SECONDS < WINDOW }}`, read when the line fires.
                    match = re.fullmatch(r"\{\{= now\(\)\.Unix\(\) % (\d+) < (\d+) \}\}", when)
                    assert match, f"unexpected Argo condition {when}"
                    seconds, window = int(match.group(1)), int(match.group(2))
                    times = {t for t in times if int(parse(t).timestamp()) % seconds < window}
                result["argo"] = sorted(times)
        out[case["id"]] = result
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
