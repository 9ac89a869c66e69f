//! `diff`: what a change to a workflow does, from two of its plans, before it ships.
//!
//! Changes come in the order a reviewer reads them: the graph (nodes added, removed or
//! renamed, edges, branches, fan-out), types (a node's task, input and output types, and who
//! consumes an output whose type changed), policies (per node, and the workflow's
//! operations), parameters, secrets (names and sources only: a plan holds no values), and the
//! schedule (its fire times before and after over a window, by the shared evaluator, in UTC
//! and in the schedule's zone, and what a deploy now would start to catch up).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::plan::{InputSource, Plan, PlanNode};

/// One change, in words, with what it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What changed: `node`, `edge`, `input`, `output`, `policy`, `operations`, `param`, ...
    pub subject: String,
    /// `added`, `removed`, `changed` or `renamed?`.
    pub change: String,
    /// The change as a reviewer reads it.
    pub text: String,
}

/// The schedule's fire times before and after the change, over the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ScheduleChange {
    /// The schedule before and after, in words (`none` without one).
    pub before: String,
    /// See `before`.
    pub after: String,
    /// Fire times only the old schedule has in the window (runs that would no longer happen).
    pub removed: Vec<DateTime<Utc>>,
    /// Fire times only the new schedule has in the window.
    pub added: Vec<DateTime<Utc>>,
    /// Runs a deploy now would start to catch up, by the new schedule's catch-up policy: the
    /// new fire times since the old schedule last fired that the old one did not have.
    pub catch_up: Vec<DateTime<Utc>>,
    /// The schedule's time zone, for reading the times.
    pub timezone: String,
}

/// Everything that differs between two plans of one workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PlanDiff {
    /// The workflow.
    pub workflow: String,
    /// The fingerprints before and after.
    pub before: String,
    /// See `before`.
    pub after: String,
    /// Nodes, edges, branches, fan-out.
    pub graph: Vec<Change>,
    /// Tasks and types.
    pub types: Vec<Change>,
    /// Retries, delays, timeouts, pools, resources; the workflow's operations.
    pub policy: Vec<Change>,
    /// Parameters: names, types, values.
    pub parameters: Vec<Change>,
    /// Secrets: names and sources.
    pub secrets: Vec<Change>,
    /// The schedule, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleChange>,
}

impl PlanDiff {
    /// Whether anything differs.
    pub fn changed(&self) -> bool {
        self.before != self.after
            || !self.graph.is_empty()
            || !self.types.is_empty()
            || !self.policy.is_empty()
            || !self.parameters.is_empty()
            || !self.secrets.is_empty()
            || self.schedule.is_some()
    }
}

fn change(subject: &str, kind: &str, text: String) -> Change {
    Change {
        subject: subject.to_owned(),
        change: kind.to_owned(),
        text,
    }
}

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// Compact JSON text of a value, for "before → after" phrases.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "none".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Where a node takes an input from, as words.
fn source_text(source: &InputSource) -> String {
    shown(&json(source)).replace(['{', '}', '"'], "")
}

/// Compares the plan `before` (e.g. the one deployed) with `after` (this source's), with the
/// schedule's fire times over `window` from `now`.
pub fn diff(before: &Plan, after: &Plan, now: DateTime<Utc>, window: Duration) -> PlanDiff {
    let mut result = PlanDiff {
        workflow: after.workflow.clone(),
        before: before.fingerprint.clone(),
        after: after.fingerprint.clone(),
        ..PlanDiff::default()
    };
    if before.workflow != after.workflow {
        result.graph.push(change(
            "workflow",
            "renamed?",
            format!("workflow `{}` → `{}`", before.workflow, after.workflow),
        ));
    }
    graph(before, after, &mut result);
    types(before, after, &mut result);
    policy(before, after, &mut result);
    parameters(before, after, &mut result);
    secrets(before, after, &mut result);
    result.schedule = schedule(before, after, now, window);
    result
}

fn find<'a>(plan: &'a Plan, id: &str) -> Option<&'a PlanNode> {
    plan.nodes.iter().find(|node| node.id == id)
}

fn graph(before: &Plan, after: &Plan, result: &mut PlanDiff) {
    let added: Vec<&PlanNode> = after
        .nodes
        .iter()
        .filter(|node| find(before, &node.id).is_none())
        .collect();
    let removed: Vec<&PlanNode> = before
        .nodes
        .iter()
        .filter(|node| find(after, &node.id).is_none())
        .collect();
    // A removed and an added node with the same task and the same inputs: probably renamed.
    let same_work = |old: &PlanNode, new: &PlanNode| {
        old.task == new.task && json(&old.inputs) == json(&new.inputs) && old.output == new.output
    };
    let mut renamed: Vec<(&str, &str)> = Vec::new();
    for old in &removed {
        if let Some(new) = added
            .iter()
            .find(|new| same_work(old, new) && !renamed.iter().any(|(_, seen)| *seen == new.id))
        {
            renamed.push((&old.id, &new.id));
        }
    }
    for (old, new) in &renamed {
        result.graph.push(change(
            "node",
            "renamed?",
            format!("node `{old}` → `{new}` (same task and inputs)"),
        ));
    }
    for node in &added {
        if !renamed.iter().any(|(_, new)| *new == node.id) {
            result.graph.push(change(
                "node",
                "added",
                format!("node `{}` (task `{}`)", node.id, node.task),
            ));
        }
    }
    for node in &removed {
        if !renamed.iter().any(|(old, _)| *old == node.id) {
            result.graph.push(change(
                "node",
                "removed",
                format!("node `{}` (task `{}`)", node.id, node.task),
            ));
        }
    }
    // Edges by their ends, a renamed node's edges read under its new name.
    let rename = |id: &str| -> String {
        renamed
            .iter()
            .find(|(old, _)| *old == id)
            .map_or(id, |(_, new)| new)
            .to_owned()
    };
    let edge_text = |from: &str, to: &str, kind: &Value, input: &Option<String>| {
        let kind = shown(kind);
        match input {
            Some(input) => format!("`{from}` → `{to}` ({kind}, input `{input}`)"),
            None => format!("`{from}` → `{to}` ({kind})"),
        }
    };
    let old_edges: BTreeSet<String> = before
        .edges
        .iter()
        .map(|edge| {
            edge_text(
                &rename(&edge.from),
                &rename(&edge.to),
                &json(&edge.kind),
                &edge.input,
            )
        })
        .collect();
    let new_edges: BTreeSet<String> = after
        .edges
        .iter()
        .map(|edge| edge_text(&edge.from, &edge.to, &json(&edge.kind), &edge.input))
        .collect();
    for edge in new_edges.difference(&old_edges) {
        result
            .graph
            .push(change("edge", "added", format!("edge {edge}")));
    }
    for edge in old_edges.difference(&new_edges) {
        result
            .graph
            .push(change("edge", "removed", format!("edge {edge}")));
    }
    // Branch arms and fan-out of the nodes both plans have.
    for new in &after.nodes {
        let Some(old) = find(before, &new.id).or_else(|| {
            renamed
                .iter()
                .find(|(_, renamed_to)| *renamed_to == new.id)
                .and_then(|(old, _)| find(before, old))
        }) else {
            continue;
        };
        if json(&old.condition) != json(&new.condition) {
            let arm = |node: &PlanNode| {
                node.condition.as_ref().map_or_else(
                    || "always".to_owned(),
                    |condition| format!("arm `{}` of branch {}", condition.arm, condition.branch),
                )
            };
            result.graph.push(change(
                "branch",
                "changed",
                format!("node `{}`: runs {} → {}", new.id, arm(old), arm(new)),
            ));
        }
        if json(&old.map) != json(&new.map) {
            let map = |node: &PlanNode| {
                node.map.as_ref().map_or_else(
                    || "once".to_owned(),
                    |map| match map.max_parallel {
                        Some(limit) => {
                            format!("once per element of `{}`, {limit} at once", map.input)
                        }
                        None => format!("once per element of `{}`", map.input),
                    },
                )
            };
            result.graph.push(change(
                "fan-out",
                "changed",
                format!("node `{}`: runs {} → {}", new.id, map(old), map(new)),
            ));
        }
        let after_set = |node: &PlanNode| {
            node.after
                .iter()
                .map(|id| rename(id))
                .collect::<BTreeSet<_>>()
        };
        if after_set(old) != new.after.iter().cloned().collect() {
            result.graph.push(change(
                "node",
                "changed",
                format!(
                    "node `{}`: waits for {:?} → {:?}",
                    new.id,
                    after_set(old),
                    new.after
                ),
            ));
        }
    }
    if json(&before.branches) != json(&after.branches)
        && result.graph.iter().all(|change| change.subject != "branch")
    {
        result.graph.push(change(
            "branch",
            "changed",
            format!(
                "branches: {} → {}",
                before.branches.len(),
                after.branches.len()
            ),
        ));
    }
}

fn types(before: &Plan, after: &Plan, result: &mut PlanDiff) {
    for new in &after.nodes {
        let Some(old) = find(before, &new.id) else {
            continue;
        };
        if old.task != new.task {
            result.types.push(change(
                "task",
                "changed",
                format!("node `{}`: task `{}` → `{}`", new.id, old.task, new.task),
            ));
        }
        for input in &new.inputs {
            match old.inputs.iter().find(|seen| seen.name == input.name) {
                None => result.types.push(change(
                    "input",
                    "added",
                    format!(
                        "node `{}`: input `{}: {}` from {}",
                        new.id,
                        input.name,
                        input.ty,
                        source_text(&input.from)
                    ),
                )),
                Some(seen) => {
                    if seen.ty != input.ty {
                        result.types.push(change(
                            "input",
                            "changed",
                            format!(
                                "node `{}`: input `{}` type `{}` → `{}`",
                                new.id, input.name, seen.ty, input.ty
                            ),
                        ));
                    }
                    if json(&seen.from) != json(&input.from) {
                        result.types.push(change(
                            "input",
                            "changed",
                            format!(
                                "node `{}`: input `{}` from {} → {}",
                                new.id,
                                input.name,
                                source_text(&seen.from),
                                source_text(&input.from)
                            ),
                        ));
                    }
                }
            }
        }
        for input in &old.inputs {
            if !new.inputs.iter().any(|seen| seen.name == input.name) {
                result.types.push(change(
                    "input",
                    "removed",
                    format!("node `{}`: input `{}: {}`", new.id, input.name, input.ty),
                ));
            }
        }
        if old.output != new.output {
            let consumers: Vec<String> = after
                .edges
                .iter()
                .filter(|edge| edge.from == new.id && edge.input.is_some())
                .map(|edge| format!("`{}`", edge.to))
                .collect();
            let consumed = if consumers.is_empty() {
                String::new()
            } else {
                format!(" (consumed by {})", consumers.join(", "))
            };
            result.types.push(change(
                "output",
                "changed",
                format!(
                    "node `{}`: output `{}` → `{}`{consumed}",
                    new.id, old.output, new.output
                ),
            ));
        }
    }
}

/// Each field of two JSON objects that differs, as `field before → after`.
fn field_changes(before: &Value, after: &Value) -> Vec<String> {
    let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
        return if before == after {
            Vec::new()
        } else {
            vec![format!("{} → {}", shown(before), shown(after))]
        };
    };
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let old = before.get(key).unwrap_or(&Value::Null);
            let new = after.get(key).unwrap_or(&Value::Null);
            (old != new).then(|| format!("{key} {} → {}", shown(old), shown(new)))
        })
        .collect()
}

fn policy(before: &Plan, after: &Plan, result: &mut PlanDiff) {
    for new in &after.nodes {
        let Some(old) = find(before, &new.id) else {
            continue;
        };
        for field in field_changes(&json(&old.policy), &json(&new.policy)) {
            result.policy.push(change(
                "policy",
                "changed",
                format!("node `{}`: {field}", new.id),
            ));
        }
    }
    let mut old_operations = json(&before.operations);
    let mut new_operations = json(&after.operations);
    // The schedule has a section of its own.
    for operations in [&mut old_operations, &mut new_operations] {
        if let Some(object) = operations.as_object_mut() {
            object.remove("schedule");
        }
    }
    for field in field_changes(&old_operations, &new_operations) {
        result.policy.push(change(
            "operations",
            "changed",
            format!("workflow: {field}"),
        ));
    }
}

fn parameters(before: &Plan, after: &Plan, result: &mut PlanDiff) {
    for param in &after.params {
        match before.params.iter().find(|seen| seen.name == param.name) {
            None => result.parameters.push(change(
                "param",
                "added",
                format!("`{}: {}` = {}", param.name, param.ty, shown(&param.value)),
            )),
            Some(seen) => {
                if seen.ty != param.ty {
                    result.parameters.push(change(
                        "param",
                        "changed",
                        format!("`{}`: type `{}` → `{}`", param.name, seen.ty, param.ty),
                    ));
                }
                if seen.value != param.value {
                    result.parameters.push(change(
                        "param",
                        "changed",
                        format!(
                            "`{}`: value {} → {}",
                            param.name,
                            shown(&seen.value),
                            shown(&param.value)
                        ),
                    ));
                }
            }
        }
    }
    for param in &before.params {
        if !after.params.iter().any(|seen| seen.name == param.name) {
            result.parameters.push(change(
                "param",
                "removed",
                format!("`{}: {}`", param.name, param.ty),
            ));
        }
    }
}

fn secrets(before: &Plan, after: &Plan, result: &mut PlanDiff) {
    let list = |plan: &Plan| -> BTreeSet<String> {
        plan.secrets
            .iter()
            .map(|secret| {
                let source = match &secret.source {
                    crate::secret::SecretSource::Env(variable) => format!("env {variable}"),
                    crate::secret::SecretSource::File(path) => format!("file {}", path.display()),
                };
                format!("`{}` from {source}", secret.name)
            })
            .collect()
    };
    let (old, new) = (list(before), list(after));
    for secret in new.difference(&old) {
        result
            .secrets
            .push(change("secret", "added", format!("secret {secret}")));
    }
    for secret in old.difference(&new) {
        result
            .secrets
            .push(change("secret", "removed", format!("secret {secret}")));
    }
}

fn schedule_text(plan: &Plan) -> String {
    match &plan.operations.schedule {
        None => "none".to_owned(),
        Some(schedule) => {
            let when = match &schedule.when {
                crate::operations::Cadence::Cron(cron) => format!("cron `{cron}`"),
                crate::operations::Cadence::EverySecs(seconds) => format!("every {seconds} s"),
            };
            let catch_up = match &schedule.catch_up {
                crate::operations::CatchUp::Skip => "skip".to_owned(),
                crate::operations::CatchUp::Latest => "latest".to_owned(),
                crate::operations::CatchUp::All { max: None } => "all".to_owned(),
                crate::operations::CatchUp::All { max: Some(max) } => {
                    format!("all (at most {max})")
                }
            };
            format!("{when} in {}, catch-up {catch_up}", schedule.timezone)
        }
    }
}

fn schedule(
    before: &Plan,
    after: &Plan,
    now: DateTime<Utc>,
    window: Duration,
) -> Option<ScheduleChange> {
    if json(&before.operations.schedule) == json(&after.operations.schedule) {
        return None;
    }
    let fires = |plan: &Plan, from: DateTime<Utc>, until: DateTime<Utc>| -> Vec<DateTime<Utc>> {
        plan.operations
            .schedule
            .as_ref()
            .and_then(|schedule| schedule.fire_times_between(from, until, 100_000).ok())
            .unwrap_or_default()
    };
    let until = now + window;
    let old: BTreeSet<DateTime<Utc>> = fires(before, now, until).into_iter().collect();
    let new: BTreeSet<DateTime<Utc>> = fires(after, now, until).into_iter().collect();
    // Catch-up on deploy: new fire times since the old schedule last fired (at most a year
    // back), which the old schedule did not have, kept as the new catch-up policy keeps them.
    let last_old = fires(before, now - Duration::days(366), now)
        .last()
        .copied();
    let missed: Vec<DateTime<Utc>> = match (&after.operations.schedule, last_old) {
        (Some(schedule), Some(last)) => {
            let old_recent: BTreeSet<DateTime<Utc>> =
                fires(before, last - Duration::seconds(1), now)
                    .into_iter()
                    .collect();
            let candidates: Vec<DateTime<Utc>> = fires(after, last, now)
                .into_iter()
                .filter(|time| !old_recent.contains(time))
                .collect();
            match &schedule.catch_up {
                crate::operations::CatchUp::Skip => Vec::new(),
                crate::operations::CatchUp::Latest => {
                    candidates.last().copied().into_iter().collect()
                }
                crate::operations::CatchUp::All { max } => {
                    let keep = max.map_or(candidates.len(), |max| max as usize);
                    candidates[candidates.len().saturating_sub(keep)..].to_vec()
                }
            }
        }
        _ => Vec::new(),
    };
    Some(ScheduleChange {
        before: schedule_text(before),
        after: schedule_text(after),
        removed: old.difference(&new).copied().collect(),
        added: new.difference(&old).copied().collect(),
        catch_up: missed,
        timezone: after
            .operations
            .schedule
            .as_ref()
            .or(before.operations.schedule.as_ref())
            .map_or_else(|| "UTC".to_owned(), |schedule| schedule.timezone.clone()),
    })
}

/// An instant in UTC and in `zone`: `2027-03-28T00:30:00Z (01:30 CET)`.
fn instant(time: DateTime<Utc>, zone: &str) -> String {
    let utc = time.format("%Y-%m-%dT%H:%M:%SZ");
    match zone.parse::<chrono_tz::Tz>() {
        Ok(tz) if zone != "UTC" => {
            format!(
                "{utc} ({})",
                time.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z")
            )
        }
        _ => utc.to_string(),
    }
}

/// The diff as text for people, sections in review order; `color` marks additions green and
/// removals red (ANSI), for a terminal.
pub fn text(diff: &PlanDiff, window_days: i64, color: bool) -> String {
    let mut out = String::new();
    let short = |fingerprint: &str| Plan::short_fingerprint(fingerprint).to_owned();
    if !diff.changed() {
        let _ = writeln!(
            out,
            "workflow `{}`: no change (plan {})",
            diff.workflow,
            short(&diff.after)
        );
        return out;
    }
    let _ = writeln!(
        out,
        "workflow `{}`: plan {} → {}",
        diff.workflow,
        short(&diff.before),
        short(&diff.after)
    );
    let mark = |kind: &str| -> (&str, &str, &str) {
        let sign = match kind {
            "added" => "+",
            "removed" => "-",
            _ => "~",
        };
        let paint = match (color, kind) {
            (true, "added") => "\u{1b}[32m",
            (true, "removed") => "\u{1b}[31m",
            (true, _) => "\u{1b}[33m",
            (false, _) => "",
        };
        (sign, paint, if color { "\u{1b}[0m" } else { "" })
    };
    for (title, changes) in [
        ("graph", &diff.graph),
        ("types", &diff.types),
        ("policy", &diff.policy),
        ("parameters", &diff.parameters),
        ("secrets", &diff.secrets),
    ] {
        if changes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        for item in changes {
            let (sign, paint, reset) = mark(&item.change);
            let kind = if item.change == "renamed?" {
                " renamed?"
            } else {
                ""
            };
            let _ = writeln!(out, "  {paint}{sign}{kind} {}{reset}", item.text);
        }
    }
    if let Some(schedule) = &diff.schedule {
        let _ = writeln!(out, "schedule:");
        let _ = writeln!(out, "  ~ {} → {}", schedule.before, schedule.after);
        let _ = writeln!(out, "  fire times in the next {window_days} days:");
        let (plus, green, reset) = mark("added");
        let (minus, red, _) = mark("removed");
        for time in &schedule.removed {
            let _ = writeln!(
                out,
                "    {red}{minus} {}{reset}",
                instant(*time, &schedule.timezone)
            );
        }
        for time in &schedule.added {
            let _ = writeln!(
                out,
                "    {green}{plus} {}{reset}",
                instant(*time, &schedule.timezone)
            );
        }
        if schedule.removed.is_empty() && schedule.added.is_empty() {
            let _ = writeln!(out, "    (the same instants)");
        }
        if schedule.catch_up.is_empty() {
            let _ = writeln!(out, "  on deploy now: no catch-up run");
        } else {
            let _ = writeln!(
                out,
                "  on deploy now: {} catch-up run{}, for {}",
                schedule.catch_up.len(),
                if schedule.catch_up.len() == 1 {
                    ""
                } else {
                    "s"
                },
                schedule
                    .catch_up
                    .iter()
                    .map(|time| instant(*time, &schedule.timezone))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    out
}
