//! systemd units for one machine: `<workflow>.service` runs `tick` (or `run` for a workflow
//! nothing starts by itself), `<workflow>.timer` fires it on the schedule (`OnCalendar=`,
//! `Persistent=true` when missed runs are made up), `<workflow>.path` on new files, an
//! `OnFailure=` unit tells people when the service itself fails, and `<workflow>.INSTALL.md` says how to
//! put them in place.
//!
//! The local runner does the rest exactly as `tick` documents it: overlap, pause, retries,
//! pools, the run timeout and notifications of failed runs, with its state in one file.

use std::fmt::Write as _;

use super::{ExportError, ExportFile, Losses, Settings, duration_text, fixed_params};
use crate::operations::{Cadence, CatchUp, FailureAction, Trigger};
use crate::plan::{Plan, ValueSource};

/// The units and install notes for `plan`.
pub fn export(
    plan: &Plan,
    texts: &super::ParamTexts,
    settings: &Settings,
    losses: &mut Losses,
) -> Result<Vec<ExportFile>, ExportError> {
    let name = &plan.workflow;
    let operations = &plan.operations;
    let starts_itself = operations.schedule.is_some() || !operations.triggers.is_empty();
    let partition = operations
        .partition
        .as_ref()
        .map(|partition| partition.param.as_str());
    for param in &plan.params {
        if param.source == ValueSource::Unset
            && (!starts_itself || Some(param.name.as_str()) != partition)
        {
            losses.add(format!(
                "parameter `{}` has no default and nothing sets it when the service starts a run: give it a default, fix it with --param {}=..., or make it the workflow's partition",
                param.name, param.name
            ));
        }
    }
    let notifies = !operations.notify_failure.is_empty();
    let mut files = Vec::new();

    let mut arguments: Vec<String> = vec![
        settings.binary.clone(),
        if starts_itself { "tick" } else { "run" }.to_owned(),
        name.clone(),
        "--state".to_owned(),
        settings.state.clone(),
    ];
    for param in fixed_params(plan) {
        arguments.push("--param".to_owned());
        arguments.push(format!(
            "{}={}",
            param.name,
            super::param_text(texts, param)
        ));
    }
    let mut service = String::new();
    let _ = writeln!(
        service,
        "# Workflow `{name}`: exported by `{} export {name} --target systemd`.",
        program(settings)
    );
    let _ = writeln!(service, "# Plan fingerprint: {}", plan.fingerprint);
    let _ = writeln!(service, "[Unit]");
    let _ = writeln!(service, "Description={}", description(plan));
    let _ = writeln!(service, "Wants=network-online.target");
    let _ = writeln!(service, "After=network-online.target");
    if notifies {
        let _ = writeln!(service, "OnFailure={name}-failed.service");
    }
    let _ = writeln!(service);
    let _ = writeln!(service, "[Service]");
    let _ = writeln!(service, "Type=oneshot");
    let _ = writeln!(service, "User={}", settings.user);
    let _ = writeln!(
        service,
        "# WORKFLOW_SMTP (host:port of the mail relay){}.",
        secret_variables(plan)
    );
    let _ = writeln!(service, "EnvironmentFile=-/etc/workflows/{name}.env");
    let _ = writeln!(
        service,
        "ExecStart={}",
        arguments
            .iter()
            .map(|argument| exec_quote(argument))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // The runner ends a run at its deadline; systemd stops a process that hangs past it, so
    // a hung run never blocks the timer for good. Without `#[timeout]`, the deadline is what
    // the run's nodes may take (their timeouts, or 48 hours an attempt, with their retries).
    let ceiling = super::run_ceiling(plan, |node| super::node_ceiling(node, 0, |timeout| timeout));
    let _ = writeln!(
        service,
        "TimeoutStartSec={}",
        duration_text(ceiling.saturating_add(600))
    );
    // A run that systemd stops (shutdown, timeout) is resumed by the next tick.
    let _ = writeln!(service, "KillMode=mixed");
    files.push(ExportFile {
        path: format!("{name}.service").into(),
        contents: service,
    });

    let mut calendars: Vec<(String, String)> = Vec::new();
    let mut cadence: Vec<&str> = Vec::new();
    let mut persistent = false;
    if let Some(schedule) = &operations.schedule {
        match &schedule.when {
            Cadence::Cron(expression) => {
                if let Some(timetable) = super::timetable(schedule, losses)
                    && let workflow_schedule::When::Cron(cron) = &timetable.when
                {
                    for line in cron.on_calendar(&schedule.timezone) {
                        calendars.push((
                            format!("cron `{expression}` in {}", schedule.timezone),
                            line,
                        ));
                    }
                    for line in dst_wakeups(&timetable) {
                        calendars.push((
                            format!(
                                "around the changes of {}'s clocks systemd's calendar may not fire when the plan does: tick also wakes at the plan's fire times within three hours of each change (and starts a run only at a fire time)",
                                schedule.timezone
                            ),
                            line,
                        ));
                    }
                }
            }
            Cadence::EverySecs(seconds) => {
                let exact: Option<Vec<String>> = super::interval_crons(*seconds).map(|lines| {
                    lines
                        .iter()
                        .filter_map(|line| workflow_schedule::CronExpr::parse(line).ok())
                        .flat_map(|cron| cron.on_calendar("UTC"))
                        .collect()
                });
                for line in exact.unwrap_or_else(|| interval_calendar(*seconds)) {
                    calendars.push((
                        format!("every {}, counted from the epoch", duration_text(*seconds)),
                        line,
                    ));
                }
            }
        }
        persistent = schedule.catch_up != CatchUp::Skip;
        if matches!(schedule.catch_up, CatchUp::All { .. }) {
            cadence.push("each tick makes up one missed run, oldest first");
        }
    }
    // `tick` re-runs a failed or interrupted run at once (`#[on_failure(reruns = N)]`): the
    // timer wakes it every five minutes so that "at once" is within minutes, whatever the
    // schedule. It starts nothing else then: fire times and the overlap rule still decide.
    if starts_itself && operations.on_failure != FailureAction::Pause && operations.reruns > 0 {
        cadence.push("a failed or interrupted run is re-run by the next tick, within five minutes");
    }
    if !cadence.is_empty() {
        calendars.push((cadence.join("; "), "*:00/5:00".to_owned()));
    }
    let mut drop_ins = Vec::new();
    let mut paths = Vec::new();
    for trigger in &operations.triggers {
        match trigger {
            Trigger::AfterWorkflow { workflow, within_secs } => {
                drop_ins.push(workflow.clone());
                // The upstream's success starts this service at once (the drop-in below); the
                // timer catches a success that came while this workflow was still running.
                let every = within_secs.map_or(300, |within| (within / 2).clamp(60, 300));
                calendars.push((
                    format!("after a success of `{workflow}`"),
                    format!("*:00/{:02}:00", every / 60),
                ));
            }
            Trigger::File { pattern } => match glob_directory(pattern) {
                Some(directory) => paths.push((pattern.clone(), directory)),
                None => losses.add(format!(
                    "the file trigger `{pattern}` has wildcards in its directory; a path unit watches one directory"
                )),
            },
        }
    }
    if !calendars.is_empty() {
        let mut timer = String::new();
        let _ = writeln!(timer, "[Unit]");
        let _ = writeln!(timer, "Description=Start workflow {name} when it is due");
        let _ = writeln!(timer);
        let _ = writeln!(timer, "[Timer]");
        let mut said = "";
        for (why, line) in &calendars {
            if why != said {
                let _ = writeln!(timer, "# {why}");
                said = why;
            }
            let _ = writeln!(timer, "OnCalendar={line}");
        }
        if persistent {
            let _ = writeln!(
                timer,
                "# A run missed while the machine was off starts at boot."
            );
            let _ = writeln!(timer, "Persistent=true");
        }
        let _ = writeln!(timer, "AccuracySec=1s");
        let _ = writeln!(timer, "Unit={name}.service");
        let _ = writeln!(timer);
        let _ = writeln!(timer, "[Install]");
        let _ = writeln!(timer, "WantedBy=timers.target");
        files.push(ExportFile {
            path: format!("{name}.timer").into(),
            contents: timer,
        });
    }
    if !paths.is_empty() {
        let mut unit = String::new();
        let _ = writeln!(unit, "[Unit]");
        let _ = writeln!(
            unit,
            "Description=Start workflow {name} when a file it waits for arrives"
        );
        let _ = writeln!(unit);
        let _ = writeln!(unit, "[Path]");
        for (pattern, directory) in &paths {
            let _ = writeln!(
                unit,
                "# {}: `tick` starts a run for a new file matching it",
                pattern.replace('\n', " ")
            );
            let _ = writeln!(unit, "PathModified={}", unit_path(directory));
        }
        let _ = writeln!(unit, "Unit={name}.service");
        let _ = writeln!(unit);
        let _ = writeln!(unit, "[Install]");
        let _ = writeln!(unit, "WantedBy=paths.target");
        files.push(ExportFile {
            path: format!("{name}.path").into(),
            contents: unit,
        });
    }
    for upstream in &drop_ins {
        files.push(ExportFile {
            path: format!("{upstream}.service.d/50-start-{name}.conf").into(),
            contents: format!(
                "# Workflow `{name}` runs after each success of `{upstream}`.\n[Unit]\nOnSuccess={name}.service\n"
            ),
        });
    }
    if notifies {
        let mut unit = String::new();
        let _ = writeln!(unit, "[Unit]");
        let _ = writeln!(
            unit,
            "Description=Tell who hears about {name}'s failures that its service failed"
        );
        let _ = writeln!(unit);
        let _ = writeln!(unit, "[Service]");
        let _ = writeln!(unit, "Type=oneshot");
        let _ = writeln!(unit, "User={}", settings.user);
        let _ = writeln!(unit, "EnvironmentFile=-/etc/workflows/{name}.env");
        let _ = writeln!(
            unit,
            "# A failed run has sent its own notices; this reports a service that failed otherwise."
        );
        let _ = writeln!(
            unit,
            "ExecStart={} notify {} --status failed --from-systemd",
            exec_quote(&settings.binary),
            exec_quote(name)
        );
        files.push(ExportFile {
            path: format!("{name}-failed.service").into(),
            contents: unit,
        });
    }
    files.push(ExportFile {
        path: format!("{}.INSTALL.md", plan.workflow).into(),
        contents: install_notes(plan, settings, &files),
    });
    Ok(files)
}

fn program(settings: &Settings) -> String {
    std::path::Path::new(&settings.binary)
        .file_name()
        .map_or_else(
            || "workflows".to_owned(),
            |name| name.to_string_lossy().into_owned(),
        )
}

fn description(plan: &Plan) -> String {
    let summary = plan.doc.lines().next().unwrap_or("").trim();
    let text = if summary.is_empty() {
        format!("Workflow {}", plan.workflow)
    } else {
        format!("{} (workflow {})", summary, plan.workflow)
    };
    // A unit file's value ends at the line's end and expands `%` specifiers.
    text.replace('%', "%%").replace(['\n', '\r'], " ")
}

fn secret_variables(plan: &Plan) -> String {
    let variables: Vec<String> = plan
        .secrets
        .iter()
        .filter_map(|secret| match &secret.source {
            crate::SecretSource::Env(variable) => {
                Some(format!("{variable} (secret `{}`)", secret.name))
            }
            crate::SecretSource::File(_) => None,
        })
        .collect();
    if variables.is_empty() {
        String::new()
    } else {
        format!(" and {}", variables.join(", "))
    }
}

/// One argument of `ExecStart=`, as systemd reads it back exactly: double-quoted with C
/// escapes, `%` and `$` doubled so that neither specifiers nor variables are expanded.
pub(crate) fn exec_quote(argument: &str) -> String {
    let plain = !argument.is_empty()
        && argument
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_./=:@+,".contains(character));
    if plain {
        return argument.to_owned();
    }
    let mut text = String::from("\"");
    for character in argument.chars() {
        match character {
            '\\' => text.push_str("\\\\"),
            '"' => text.push_str("\\\""),
            '\n' => text.push_str("\\n"),
            '\r' => text.push_str("\\r"),
            '\t' => text.push_str("\\t"),
            '%' => text.push_str("%%"),
            '$' => text.push_str("$$"),
            character if character.is_control() => {
                let _ = write!(text, "\\x{:02x}", character as u32);
            }
            character => text.push(character),
        }
    }
    text.push('"');
    text
}

/// A path in a unit file: `%` doubled, and nothing that ends the line.
fn unit_path(path: &str) -> String {
    path.replace('%', "%%").replace(['\n', '\r'], "")
}

/// The directory a glob's files appear in, if only the last component has wildcards.
fn glob_directory(pattern: &str) -> Option<String> {
    let (directory, _) = pattern.rsplit_once('/')?;
    if directory.contains(['*', '?', '[']) || directory.is_empty() {
        return None;
    }
    Some(directory.to_owned())
}

/// Calendar lines that fire at every time of day an interval counted from the epoch can fall
/// on (`tick` then starts only the real fire times).
/// UTC calendar lines for the plan's fire times within three hours of each change of the
/// zone's offset in the export horizon, grouped by UTC hour and minutes, with the months they
/// occur in. systemd's calendar skips a local time that does not exist, fires a repeated one
/// once, and (systemd 252, Pacific/Chatham) can skip or fail to compute real times right after
/// a change; these lines wake `tick` at every such fire time whatever systemd makes of the
/// zone's line.
fn dst_wakeups(timetable: &workflow_schedule::Timetable) -> Vec<String> {
    use chrono::{Datelike as _, Timelike as _};
    let (from, to) = workflow_schedule::export_horizon();
    let window = chrono::Duration::hours(3);
    let mut wakeups =
        std::collections::BTreeMap::<(u32, u32), std::collections::BTreeSet<u32>>::new();
    for change in workflow_schedule::transitions(&timetable.zone, from, to) {
        for fire in timetable.between(change.at - window, change.at + window, usize::MAX) {
            wakeups
                .entry((fire.month(), fire.hour()))
                .or_default()
                .insert(fire.minute());
        }
    }
    let mut lines = std::collections::BTreeMap::<(u32, Vec<u32>), Vec<u32>>::new();
    for ((month, hour), minutes) in wakeups {
        lines
            .entry((hour, minutes.into_iter().collect()))
            .or_default()
            .push(month);
    }
    lines
        .into_iter()
        .map(|((hour, minutes), months)| {
            let months: Vec<String> = months.iter().map(|month| format!("{month:02}")).collect();
            let minutes: Vec<String> = minutes
                .iter()
                .map(|minute| format!("{minute:02}"))
                .collect();
            format!(
                "*-{}-* {hour:02}:{}:00 UTC",
                months.join(","),
                minutes.join(",")
            )
        })
        .collect()
}

fn interval_calendar(seconds: u64) -> Vec<String> {
    const DAY: u64 = 86_400;
    let step = super::gcd(seconds.max(1), DAY);
    let mut by_minute_second: std::collections::BTreeMap<(u64, u64), Vec<u64>> = Default::default();
    let mut time = 0;
    while time < DAY {
        by_minute_second
            .entry((time / 60 % 60, time % 60))
            .or_default()
            .push(time / 3600);
        time += step;
    }
    by_minute_second
        .into_iter()
        .map(|((minute, second), hours)| {
            let hours = if hours.len() == 24 {
                "*".to_owned()
            } else {
                hours
                    .iter()
                    .map(|hour| format!("{hour:02}"))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            format!("*-*-* {hours}:{minute:02}:{second:02} UTC")
        })
        .collect()
}

fn install_notes(plan: &Plan, settings: &Settings, files: &[ExportFile]) -> String {
    let name = &plan.workflow;
    let mut text = String::new();
    let _ = writeln!(text, "# Installing workflow `{name}` as systemd units\n");
    let _ = writeln!(text, "Files:\n");
    for file in files {
        let _ = writeln!(text, "- `{}`", file.path.display());
    }
    let units: Vec<String> = files
        .iter()
        .filter(|file| {
            file.path
                .parent()
                .is_some_and(|parent| parent.as_os_str().is_empty())
        })
        .map(|file| file.path.display().to_string())
        .filter(|path| !path.ends_with(".md"))
        .collect();
    let drop_ins: Vec<String> = files
        .iter()
        .filter_map(|file| {
            file.path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
        })
        .map(|parent| parent.display().to_string())
        .collect();
    let enable: Vec<String> = files
        .iter()
        .map(|file| file.path.display().to_string())
        .filter(|path| path.ends_with(".timer") || path.ends_with(".path"))
        .collect();
    let _ = writeln!(text, "\nAs root, on the machine that runs it:\n\n```sh");
    let _ = writeln!(
        text,
        "install -m 0755 ./{} {}",
        super::shell_quote(&program(settings)),
        super::shell_quote(&settings.binary)
    );
    let _ = writeln!(
        text,
        "useradd --system --home-dir /var/lib/workflows {} 2>/dev/null || true",
        super::shell_quote(&settings.user)
    );
    if let Some(directory) = std::path::Path::new(&settings.state).parent() {
        let _ = writeln!(
            text,
            "install -d -o {} {}",
            super::shell_quote(&settings.user),
            super::shell_quote(&directory.display().to_string())
        );
    }
    let _ = writeln!(text, "install -d -m 0750 /etc/workflows");
    let _ = writeln!(
        text,
        "install -m 0600 /dev/null /etc/workflows/{name}.env   # then fill it in, see below"
    );
    let _ = writeln!(text, "cp {} /etc/systemd/system/", units.join(" "));
    for directory in &drop_ins {
        let _ = writeln!(text, "cp -r {directory} /etc/systemd/system/");
    }
    let _ = writeln!(text, "systemctl daemon-reload");
    if enable.is_empty() {
        let _ = writeln!(text, "systemctl start {name}.service   # runs it once, now");
    } else {
        let _ = writeln!(text, "systemctl enable --now {}", enable.join(" "));
        let _ = writeln!(text, "systemctl list-timers {name}.timer");
    }
    let _ = writeln!(text, "```\n");
    let _ = writeln!(
        text,
        "`/etc/workflows/{name}.env` holds `WORKFLOW_SMTP=host:port` (the mail relay for notices){}; \
         it is the only place their values live.\n",
        secret_variables(plan)
    );
    let _ = writeln!(
        text,
        "The service runs `{} {} {name}`: it starts a run only when one is due, never while one runs, and \
         keeps state in `{}`. `{} status {name} --state {}` shows the latest run, `journalctl -u {name}` its log.",
        program(settings),
        if plan.operations.schedule.is_some() || !plan.operations.triggers.is_empty() {
            "tick"
        } else {
            "run"
        },
        settings.state,
        program(settings),
        settings.state
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timer_wakes_tick_at_the_fire_times_systemd_would_miss() {
        // 02:30 in Prague: skipped on the last Sunday of March (the plan fires at 03:00 CEST,
        // 01:00Z, which systemd's calendar skips); the repeated 02:30 in October fires once
        // in both. Lines in the months where it happens, in UTC.
        let nightly = workflow_schedule::Timetable::cron("30 2 * * *", "Europe/Prague").unwrap();
        assert_eq!(
            dst_wakeups(&nightly),
            ["*-10-* 00:30:00 UTC", "*-03-* 01:00:00 UTC"]
        );
        // Pacific/Chatham: 03:45 local right after the change of September (14:00Z) is
        // among the lines although the local time exists.
        let chatham = workflow_schedule::Timetable::cron("45 3 * * *", "Pacific/Chatham").unwrap();
        assert!(
            dst_wakeups(&chatham)
                .iter()
                .any(|line| line.starts_with("*-09-* 14:00:00")),
            "{:?}",
            dst_wakeups(&chatham)
        );
        // A zone without changes needs none.
        let kolkata = workflow_schedule::Timetable::cron("30 2 * * *", "Asia/Kolkata").unwrap();
        assert!(dst_wakeups(&kolkata).is_empty());
    }

    #[test]
    fn intervals_fire_at_every_time_of_day_they_can_fall_on() {
        assert_eq!(
            interval_calendar(9_000),
            ["*-*-* *:00:00 UTC", "*-*-* *:30:00 UTC"]
        );
        assert_eq!(interval_calendar(6 * 3600), ["*-*-* 00,06,12,18:00:00 UTC"]);
        // 90 s lands on 40 minute-and-second pairs each hour, in every hour.
        let lines = interval_calendar(90);
        assert_eq!(lines.len(), 40);
        assert!(lines.iter().all(|line| line.starts_with("*-*-* *:")));
        assert_eq!(lines[1], "*-*-* *:01:30 UTC");
    }

    #[test]
    fn exec_arguments_are_read_back_literally() {
        assert_eq!(
            exec_quote("/usr/local/bin/workflows"),
            "/usr/local/bin/workflows"
        );
        assert_eq!(exec_quote("x=$(id) 100%"), "\"x=$$(id) 100%%\"");
        assert_eq!(exec_quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
