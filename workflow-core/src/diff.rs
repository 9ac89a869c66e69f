//! `diff`: what a change to a workflow does, from two of its plans, before it ships.
//!
//! Changes come in the order a reviewer reads them: the graph (nodes added, removed or
//! renamed, edges, branches, fan-out), types (a node's task, input and output types, and who
//! consumes an output whose type changed), policies (per node, and the workflow's
//! operations), parameters, secrets (names and sources only: a plan holds no values), and the
//! schedule (its fire times before and after over a window, by the shared evaluator, in UTC
//! and in the schedule's zone, and what a deploy now would start to catch up), the partitions
//! a backfill would cover, and, per export target, whether the exported artifacts change
//! ([`compare_exports`], [`compare_deployed`]), with unified diffs on request.

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
    /// More catch-up runs than those listed (the latest 10,000) are due.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub catch_up_more: bool,
    /// Where the comparison of fire times stopped short of the window: a side had more than
    /// 10,000 fire times in it; `removed` and `added` cover the times up to this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compared_until: Option<DateTime<Utc>>,
    /// The partition each catch-up run would process (empty when runs are not partitioned).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catch_up_partitions: Vec<String>,
    /// The new schedule's time zone, for reading the added times and the catch-up runs.
    pub timezone: String,
    /// The old schedule's time zone, for reading the removed times.
    pub before_timezone: String,
}

/// How the partitions change: what a backfill of the same recent days covered before and
/// would cover now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PartitionChange {
    /// The partitioning before and after, in words (`none` when runs are not partitioned).
    pub before: String,
    /// See `before`.
    pub after: String,
    /// The backfill range compared: the `window` days before the day of `now`, both ends
    /// included, as `--backfill` takes it.
    pub range: String,
    /// The partitions a backfill of `range` covered before (labels, oldest first).
    pub covered_before: Vec<String>,
    /// The partitions it would cover now.
    pub covered_after: Vec<String>,
}

/// One exported file that changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// The file, relative to the export directory.
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub change: String,
    /// Lines the change adds.
    pub lines_added: usize,
    /// Lines the change removes.
    pub lines_removed: usize,
    /// The unified diff, when asked for: paths `a/<target>/<path>` → `b/<target>/<path>`, or
    /// relative to the export directory when comparing with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Why the file has no unified diff, when it has none though one was asked for (a deployed
    /// file that is not UTF-8 text cannot be patched: export again to replace it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a change does to one export target's artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportChange {
    /// The target, as `export --target` names it.
    pub target: String,
    /// `unchanged`; `fingerprint` (the files differ only in the plan fingerprint they carry);
    /// `changed`; `no longer exportable`; `now exportable`; `not exportable` (before nor after).
    pub status: String,
    /// The change in words.
    pub text: String,
    /// The files that change (none for `unchanged`).
    pub files: Vec<FileChange>,
    /// Constructs the target would newly fail to carry over.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub losses_added: Vec<String>,
    /// Constructs it no longer loses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub losses_removed: Vec<String>,
}

impl ExportChange {
    /// Whether the artifacts (or whether they can be made at all) change.
    pub fn changed(&self) -> bool {
        !matches!(self.status.as_str(), "unchanged" | "not exportable")
    }
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
    /// The partitions, when the partitioning or the schedule's zone changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<PartitionChange>,
    /// Per export target, what happens to its artifacts ([`compare_exports`] or
    /// [`compare_deployed`] fill it; [`diff`] leaves it empty).
    pub exports: Vec<ExportChange>,
}

impl PlanDiff {
    /// Whether anything differs.
    pub fn changed(&self) -> bool {
        self.before != self.after || self.changed_in_sections()
    }

    fn changed_in_sections(&self) -> bool {
        !self.graph.is_empty()
            || !self.types.is_empty()
            || !self.policy.is_empty()
            || !self.parameters.is_empty()
            || !self.secrets.is_empty()
            || self.schedule.is_some()
            || self.partitions.is_some()
            || self.exports.iter().any(ExportChange::changed)
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
    match source {
        InputSource::Param(name) => format!("parameter `{name}`"),
        InputSource::Node(name) => format!("node `{name}`"),
        InputSource::Value(value) => format!("the value {value}"),
        InputSource::Secret(name) => format!("secret `{name}`"),
    }
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
    result.partitions = partitions(before, after, now, window);
    if result.before != result.after && !result.changed_in_sections() {
        // A counted field no section reads: say which, rather than a bare new fingerprint.
        let (old, new) = (Plan::counted(&json(before)), Plan::counted(&json(after)));
        let fields: Vec<String> = old
            .as_object()
            .into_iter()
            .flat_map(|object| object.keys())
            .filter(|key| old.get(key.as_str()) != new.get(key.as_str()))
            .map(|key| format!("`{key}`"))
            .collect();
        result.graph.push(change(
            "plan",
            "changed",
            if fields.is_empty() {
                "the plans differ in a field this version does not read".to_owned()
            } else {
                format!("the plans differ in {}", fields.join(", "))
            },
        ));
    }
    result
}

/// Whether a plan read from a file (a baseline, an export's manifest) is one `diff` can
/// compare: this binary's plan format ([`crate::plan::PLAN_VERSION`]), a schedule the shared
/// evaluator reads in a zone it knows, and edges, `after`, stages and branch arms that name
/// nodes of the plan. A plan edited by hand into something no workflow makes is refused
/// rather than compared into a misleading diff.
pub fn check_plan(plan: &Plan) -> Result<(), String> {
    if plan.version != crate::plan::PLAN_VERSION {
        return Err(format!(
            "a plan of format version {}, and this binary reads version {}: make the baseline again with this binary (`plan <workflow> --out FILE` on the deployed source)",
            plan.version,
            crate::plan::PLAN_VERSION
        ));
    }
    if let Some(schedule) = &plan.operations.schedule {
        if schedule.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(format!(
                "the schedule's time zone `{}` is not an IANA zone",
                schedule.timezone
            ));
        }
        schedule
            .timetable()
            .map_err(|error| format!("the schedule cannot be read: {error}"))?;
    }
    let known = |id: &str| plan.nodes.iter().any(|node| node.id == id);
    let named = plan
        .edges
        .iter()
        .flat_map(|edge| [&edge.from, &edge.to])
        .chain(plan.nodes.iter().flat_map(|node| &node.after))
        .chain(plan.stages.iter().flatten())
        .chain(
            plan.branches
                .iter()
                .flat_map(|branch| &branch.arms)
                .flat_map(|arm| &arm.nodes),
        );
    for id in named {
        if !known(id) {
            return Err(format!("it names a node `{id}` it does not have"));
        }
    }
    let mut seen = BTreeSet::new();
    for node in &plan.nodes {
        if !seen.insert(&node.id) {
            return Err(format!("it has two nodes named `{}`", node.id));
        }
    }
    // Names as `workflow!` makes them: no control characters, no path separators (they end
    // up in file names and unit names of exports).
    let names = std::iter::once(&plan.workflow)
        .chain(plan.nodes.iter().flat_map(|node| [&node.id, &node.task]))
        .chain(plan.params.iter().map(|param| &param.name));
    for name in names {
        if name.is_empty()
            || name
                .chars()
                .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(format!("the name {name:?} is not one a workflow declares"));
        }
    }
    let declared = |name: &str| plan.params.iter().any(|param| param.name == name);
    for node in &plan.nodes {
        for input in &node.inputs {
            if let InputSource::Param(name) = &input.from
                && !declared(name)
            {
                return Err(format!(
                    "node `{}` reads a parameter `{name}` the plan does not declare",
                    node.id
                ));
            }
        }
    }
    if let Some(partition) = &plan.operations.partition
        && !declared(&partition.param)
    {
        return Err(format!(
            "the partition names a parameter `{}` the plan does not declare",
            partition.param
        ));
    }
    Ok(())
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
    // Of several such pairs, the one whose consumers (edges out, by target and input) agree
    // most: a copy nobody reads is not the node that was renamed.
    let consumers = |plan: &Plan, id: &str| -> BTreeSet<(String, Option<String>)> {
        plan.edges
            .iter()
            .filter(|edge| edge.from == id)
            .map(|edge| (edge.to.clone(), edge.input.clone()))
            .collect()
    };
    let mut pairs: Vec<(usize, &str, &str)> = Vec::new();
    for old in &removed {
        for new in &added {
            if same_work(old, new) {
                let shared = consumers(before, &old.id)
                    .intersection(&consumers(after, &new.id))
                    .count();
                pairs.push((shared, &old.id, &new.id));
            }
        }
    }
    // Most shared consumers first; ties in plan order (stable sort).
    pairs.sort_by_key(|pair| std::cmp::Reverse(pair.0));
    let mut renamed: Vec<(&str, &str)> = Vec::new();
    for (_, old, new) in &pairs {
        if !renamed
            .iter()
            .any(|(taken_old, taken_new)| taken_old == old || taken_new == new)
        {
            renamed.push((old, new));
        }
    }
    for (old, new) in &renamed {
        // Another added node as good a match: the guess could be either.
        let score = |old: &str, new: &str| {
            pairs
                .iter()
                .find(|(_, o, n)| *o == old && *n == new)
                .map(|(shared, ..)| *shared)
        };
        let also: Vec<String> = pairs
            .iter()
            .filter(|(shared, o, n)| o == old && n != new && Some(*shared) == score(old, new))
            .map(|(_, _, n)| format!("`{n}`"))
            .collect();
        let text = if also.is_empty() {
            format!("node `{old}` → `{new}` (same task and inputs)")
        } else {
            format!(
                "node `{old}` → `{new}` (same task and inputs; or → {}, as alike)",
                also.join(", ")
            )
        };
        result.graph.push(change("node", "renamed?", text));
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
            let arm = |plan: &Plan, node: &PlanNode| {
                node.condition.as_ref().map_or_else(
                    || "always".to_owned(),
                    |condition| match plan.branches.get(condition.branch) {
                        Some(branch) => format!(
                            "in arm `{}` of the branch on {}",
                            condition.arm,
                            source_text(&branch.on)
                        ),
                        None => format!("in arm `{}`", condition.arm),
                    },
                )
            };
            result.graph.push(change(
                "branch",
                "changed",
                format!(
                    "node `{}`: runs {} → {}",
                    new.id,
                    arm(before, old),
                    arm(after, new)
                ),
            ));
        }
        if json(&old.map) != json(&new.map) {
            let map = |node: &PlanNode| {
                node.map.as_ref().map_or_else(
                    || "once".to_owned(),
                    |map| match map.max_parallel {
                        Some(limit) => {
                            format!("once per element of input `{}`, {limit} at once", map.input)
                        }
                        None => format!("once per element of input `{}`", map.input),
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
        let new_after: BTreeSet<String> = new.after.iter().cloned().collect();
        if after_set(old) != new_after {
            let listed = |ids: &BTreeSet<String>| {
                if ids.is_empty() {
                    "nothing".to_owned()
                } else {
                    ids.iter()
                        .map(|id| format!("`{id}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            result.graph.push(change(
                "node",
                "changed",
                format!(
                    "node `{}`: also waits for {} → {}",
                    new.id,
                    listed(&after_set(old)),
                    listed(&new_after)
                ),
            ));
        }
        if old.workflow_fingerprint != new.workflow_fingerprint && old.kind == new.kind {
            let short = |fingerprint: &Option<String>| {
                fingerprint
                    .as_deref()
                    .map_or("unknown", Plan::short_fingerprint)
                    .to_owned()
            };
            result.graph.push(change(
                "workflow",
                "changed",
                format!(
                    "node `{}`: workflow `{}` changed (plan {} → {}; `diff {}` against its baseline shows how)",
                    new.id,
                    new.task,
                    short(&old.workflow_fingerprint),
                    short(&new.workflow_fingerprint),
                    new.task
                ),
            ));
        }
        if old.kind != new.kind {
            result.graph.push(change(
                "node",
                "changed",
                format!(
                    "node `{}`: runs {} → {}",
                    new.id,
                    shown(&json(&old.kind)),
                    shown(&json(&new.kind))
                ),
            ));
        }
    }
    // Branches, a renamed node's under its new name: what decides them and their arms.
    let describe = |branch: &crate::plan::PlanBranch, renamed_ends: bool| {
        let on = match &branch.on {
            InputSource::Node(name) if renamed_ends => {
                source_text(&InputSource::Node(rename(name)))
            }
            other => source_text(other),
        };
        let arms: Vec<String> = branch
            .arms
            .iter()
            .map(|arm| {
                let nodes: Vec<String> = arm
                    .nodes
                    .iter()
                    .map(|node| {
                        if renamed_ends {
                            format!("`{}`", rename(node))
                        } else {
                            format!("`{node}`")
                        }
                    })
                    .collect();
                if nodes.is_empty() {
                    format!("{} → nothing", arm.label)
                } else {
                    format!("{} → {}", arm.label, nodes.join(", "))
                }
            })
            .collect();
        format!("on {on}: {}", arms.join("; "))
    };
    let old_branches: Vec<String> = before
        .branches
        .iter()
        .map(|branch| describe(branch, true))
        .collect();
    let new_branches: Vec<String> = after
        .branches
        .iter()
        .map(|branch| describe(branch, false))
        .collect();
    for branch in &new_branches {
        if !old_branches.contains(branch) {
            result
                .graph
                .push(change("branch", "added", format!("branch {branch}")));
        }
    }
    for branch in &old_branches {
        if !new_branches.contains(branch) {
            result
                .graph
                .push(change("branch", "removed", format!("branch {branch}")));
        }
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

/// Each field of two JSON values that differs, as `field before → after`: objects field by
/// field (`notify_failure.email`), lists of words as the words added (`+ x`) and removed
/// (`- y`), lists of named objects (pools) matched by name.
fn field_changes(before: &Value, after: &Value) -> Vec<String> {
    let mut found = Vec::new();
    field_changes_at("", before, after, &mut found);
    found
}

fn field_changes_at(path: &str, before: &Value, after: &Value, found: &mut Vec<String>) {
    if before == after {
        return;
    }
    let at = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path} ")
    };
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            for key in keys {
                field_changes_at(
                    &at(key),
                    old.get(key).unwrap_or(&Value::Null),
                    new.get(key).unwrap_or(&Value::Null),
                    found,
                );
            }
        }
        (Value::Array(old), Value::Array(new)) if old.iter().chain(new).all(Value::is_string) => {
            let words: Vec<String> = new
                .iter()
                .filter(|item| !old.contains(item))
                .map(|item| format!("+ {}", shown(item)))
                .chain(
                    old.iter()
                        .filter(|item| !new.contains(item))
                        .map(|item| format!("- {}", shown(item))),
                )
                .collect();
            if words.is_empty() {
                found.push(format!(
                    "{prefix}order {} → {}",
                    shown(before),
                    shown(after)
                ));
            } else {
                found.push(format!("{prefix}{}", words.join(", ")));
            }
        }
        (Value::Array(old), Value::Array(new))
            if old
                .iter()
                .chain(new)
                .all(|item| item.get("name").is_some_and(Value::is_string)) =>
        {
            let name = |item: &Value| shown(&item["name"]);
            // `redshift` (slots 2)
            let named = |item: &Value| {
                let rest: Vec<String> = item
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(key, _)| *key != "name")
                    .map(|(key, value)| format!("{key} {}", shown(value)))
                    .collect();
                if rest.is_empty() {
                    format!("`{}`", name(item))
                } else {
                    format!("`{}` ({})", name(item), rest.join(", "))
                }
            };
            for item in new {
                match old.iter().find(|seen| name(seen) == name(item)) {
                    None => found.push(format!("{prefix}+ {}", named(item))),
                    Some(seen) => field_changes_at(&at(&name(item)), seen, item, found),
                }
            }
            for item in old {
                if !new.iter().any(|seen| name(seen) == name(item)) {
                    found.push(format!("{prefix}- {}", named(item)));
                }
            }
        }
        _ => match path.strip_suffix("_secs") {
            // Seconds as people write them: `retry_delay 10m → 15m`.
            Some(field) => {
                let seconds = |value: &Value| {
                    value.as_u64().map_or_else(
                        || shown(value),
                        |seconds| crate::text::duration(std::time::Duration::from_secs(seconds)),
                    )
                };
                found.push(format!("{field} {} → {}", seconds(before), seconds(after)));
            }
            None => found.push(format!("{prefix}{} → {}", shown(before), shown(after))),
        },
    }
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

/// A parameter's value in words: a value, or who supplies it.
fn param_value(param: &crate::plan::PlanParam) -> String {
    use crate::plan::ValueSource;
    match param.source {
        ValueSource::Unset => "(given when each run starts)".to_owned(),
        ValueSource::Partition => format!("{} (the partition when planned)", shown(&param.value)),
        ValueSource::Default => format!("{} (the default)", shown(&param.value)),
        ValueSource::Given => shown(&param.value),
    }
}

fn parameters(before: &Plan, after: &Plan, result: &mut PlanDiff) {
    for param in &after.params {
        match before.params.iter().find(|seen| seen.name == param.name) {
            None => result.parameters.push(change(
                "param",
                "added",
                format!("`{}: {}` = {}", param.name, param.ty, param_value(param)),
            )),
            Some(seen) => {
                if seen.ty != param.ty {
                    result.parameters.push(change(
                        "param",
                        "changed",
                        format!("`{}`: type `{}` → `{}`", param.name, seen.ty, param.ty),
                    ));
                }
                if seen.default != param.default {
                    let default = |value: &Option<Value>| {
                        value.as_ref().map_or_else(|| "none".to_owned(), shown)
                    };
                    result.parameters.push(change(
                        "param",
                        "changed",
                        format!(
                            "`{}`: default {} → {}",
                            param.name,
                            default(&seen.default),
                            default(&param.default)
                        ),
                    ));
                }
                // The value, unless it is only the default's change (said above) or the
                // partitions of two moments (plans made at different times).
                let both = |source| seen.source == source && param.source == source;
                if seen.value != param.value
                    && !both(crate::plan::ValueSource::Default)
                    && !both(crate::plan::ValueSource::Partition)
                {
                    result.parameters.push(change(
                        "param",
                        "changed",
                        format!(
                            "`{}`: value {} → {}",
                            param.name,
                            param_value(seen),
                            param_value(param)
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
    // At most a year back from `until`, the latest `keep` (tick's own search).
    let fires = |plan: &Plan, from: DateTime<Utc>, until: DateTime<Utc>, keep: usize| {
        plan.operations
            .schedule
            .as_ref()
            .and_then(|schedule| schedule.fire_times_between(from, until, keep).ok())
            .unwrap_or_default()
    };
    let until = now + window;
    let (old, old_cut) = fires_from(before, now, until);
    let (new, new_cut) = fires_from(after, now, until);
    // A side cut at FIRE_TIMES_COMPARED: compare up to where both sides are complete.
    let compared_until = [old_cut, new_cut].into_iter().flatten().min();
    let within = |times: Vec<DateTime<Utc>>| -> BTreeSet<DateTime<Utc>> {
        times
            .into_iter()
            .filter(|time| compared_until.is_none_or(|end| *time <= end))
            .collect()
    };
    let (old, new) = (within(old), within(new));
    // What a deploy now would start, as `tick` would: the new schedule's fire times since
    // the old one last fired (the last fire time tick handled; none if it never fired in ten
    // years or had no schedule), by the new catch-up policy, over this and later ticks.
    let last_old = before.operations.schedule.as_ref().and_then(|_| {
        (0..10).find_map(|years| {
            let until = now - Duration::days(366 * years);
            fires(before, until - Duration::days(366), until, 1)
                .last()
                .copied()
        })
    });
    let mut catch_up_more = false;
    let missed: Vec<DateTime<Utc>> = match &after.operations.schedule {
        Some(schedule) => {
            match crate::runner::tick::fires_due(schedule, last_old, now, CATCH_UP_LISTED + 1) {
                Ok((mut fires, _))
                    if last_old.is_some()
                        && matches!(schedule.catch_up, crate::operations::CatchUp::All { .. }) =>
                {
                    if fires.len() > CATCH_UP_LISTED {
                        catch_up_more = true;
                        fires.remove(0);
                    }
                    fires
                }
                Ok((_, fire)) => fire.into_iter().collect(),
                Err(_) => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    let catch_up_partitions = match (&after.operations.partition, &after.operations.schedule) {
        (Some(partition), Some(schedule)) => missed
            .iter()
            .map(|fire| {
                partition
                    .key_for_fire(*fire, &schedule.timezone)
                    .label()
                    .to_owned()
            })
            .collect(),
        _ => Vec::new(),
    };
    Some(ScheduleChange {
        catch_up_partitions,
        before: schedule_text(before),
        after: schedule_text(after),
        removed: old.difference(&new).copied().collect(),
        added: new.difference(&old).copied().collect(),
        compared_until,
        catch_up: missed,
        catch_up_more,
        timezone: zone_of_either(after, before),
        before_timezone: zone_of_either(before, after),
    })
}

/// The most fire times compared of each side: beyond them, the window is cut short.
const FIRE_TIMES_COMPARED: usize = 10_000;

/// The most catch-up runs listed (the latest; more are said to be more).
const CATCH_UP_LISTED: usize = 10_000;

/// The plan's fire times after `from` up to `until`, oldest first, by the shared evaluator;
/// with the last one compared when there were more than [`FIRE_TIMES_COMPARED`].
fn fires_from(
    plan: &Plan,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> (Vec<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let Some(schedule) = &plan.operations.schedule else {
        return (Vec::new(), None);
    };
    let mut found = Vec::new();
    let mut cursor = from;
    loop {
        let Ok(batch) = schedule.next_fire_times(cursor, 256) else {
            return (found, None);
        };
        if batch.is_empty() {
            return (found, None);
        }
        for time in batch {
            // Past the window, or no progress (an evaluator returns later times only).
            if time > until || time <= cursor && !found.is_empty() {
                return (found, None);
            }
            if found.len() == FIRE_TIMES_COMPARED {
                return (found, Some(cursor));
            }
            found.push(time);
            cursor = time;
        }
    }
}

/// The partitioning of a plan in words: `daily \`day\` (Europe/Prague)`, or `none`.
fn partition_text(plan: &Plan) -> String {
    match &plan.operations.partition {
        None => "none".to_owned(),
        Some(partition) => format!(
            "{} `{}` ({})",
            shown(&json(&partition.every)),
            partition.param,
            zone_of(plan)
        ),
    }
}

fn zone_of(plan: &Plan) -> String {
    plan.operations
        .schedule
        .as_ref()
        .map_or_else(|| "UTC".to_owned(), |schedule| schedule.timezone.clone())
}

/// The zone of `plan`'s schedule, else of `other`'s (one side may have no schedule).
fn zone_of_either(plan: &Plan, other: &Plan) -> String {
    zone_of(if plan.operations.schedule.is_some() {
        plan
    } else {
        other
    })
}

fn partitions(
    before: &Plan,
    after: &Plan,
    now: DateTime<Utc>,
    window: Duration,
) -> Option<PartitionChange> {
    let (old, new) = (partition_text(before), partition_text(after));
    if old == new {
        return None;
    }
    // The last `window` whole days before today, in the new (else the old) zone.
    let zone: chrono_tz::Tz = zone_of(if after.operations.partition.is_some() {
        after
    } else {
        before
    })
    .parse()
    .unwrap_or(chrono_tz::UTC);
    let today = now.with_timezone(&zone).date_naive();
    let last = today - Duration::days(1);
    let first = today - Duration::days(window.num_days().max(1));
    let range = format!("{first}..{last}");
    let covered = |plan: &Plan| -> Vec<String> {
        plan.operations
            .partition
            .as_ref()
            .map(
                |partition| match partition.backfill(&range, &zone_of(plan)) {
                    Ok(keys) => keys.iter().map(|key| key.label().to_owned()).collect(),
                    Err(error) => vec![format!("({error})")],
                },
            )
            .unwrap_or_default()
    };
    Some(PartitionChange {
        before: old,
        after: new,
        covered_before: covered(before),
        covered_after: covered(after),
        range,
    })
}

/// Compares the exports of two plans for every target, rendered with the same `settings`
/// (made lossy, so that what a target loses can be compared too): whether each target's
/// artifacts change, only in the plan fingerprint they carry, or can (no longer) be made.
/// `spec` is the current workflow, for parameter texts; `unified` adds each file's diff.
pub fn compare_exports(
    before: &Plan,
    after: &Plan,
    spec: Option<&crate::WorkflowSpec>,
    settings: &crate::export::Settings,
    unified: bool,
) -> Vec<ExportChange> {
    let mut settings = settings.clone();
    settings.allow_lossy = true;
    settings.start_date = Some(
        settings
            .start_date
            .unwrap_or_else(|| Utc::now().date_naive()),
    );
    crate::export::Target::ALL
        .into_iter()
        .map(|target| {
            let render = |plan: &Plan| {
                crate::export::export_from_plan(plan, spec, target, &settings).map(
                    |mut exported| {
                        exported.files.retain(|file| !is_manifest(&file.path));
                        exported
                    },
                )
            };
            compare_export(
                target,
                render(before),
                render(after),
                (&before.fingerprint, &after.fingerprint),
                unified.then(|| format!("{}/", target.name())),
            )
        })
        .collect()
}

/// Compares what is deployed (the files of an export directory as the caller read them, the
/// manifest among them; a file that is gone is left out) with the export the same target and
/// settings make of `after` now, manifest included: applying the unified diffs (paths
/// relative to the directory, `patch -p1` inside it) turns the directory into that export.
/// `before` is the manifest.
pub fn compare_deployed(
    before: &crate::export::ExportManifest,
    deployed: Vec<crate::export::ExportFile>,
    after: &Plan,
    spec: Option<&crate::WorkflowSpec>,
    unified: bool,
) -> ExportChange {
    let now = crate::export::export_from_plan(after, spec, before.target, &before.settings);
    compare_export(
        before.target,
        Ok(crate::export::Exported {
            files: deployed,
            losses: before.losses.clone(),
        }),
        now,
        (&before.plan.fingerprint, &after.fingerprint),
        unified.then(String::new),
    )
}

fn is_manifest(path: &std::path::Path) -> bool {
    path.to_string_lossy().ends_with(".export.json")
}

/// The first line of an export error, with what it lists.
fn error_text(error: &crate::export::ExportError) -> String {
    error
        .to_string()
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("pass --allow-lossy"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn compare_export(
    target: crate::export::Target,
    before: Result<crate::export::Exported, crate::export::ExportError>,
    after: Result<crate::export::Exported, crate::export::ExportError>,
    (old_fingerprint, new_fingerprint): (&str, &str),
    unified: Option<String>,
) -> ExportChange {
    let mut result = ExportChange {
        target: target.name().to_owned(),
        status: "unchanged".to_owned(),
        text: String::new(),
        files: Vec::new(),
        losses_added: Vec::new(),
        losses_removed: Vec::new(),
    };
    let (before, after) = match (before, after) {
        (Err(_), Err(error)) => {
            result.status = "not exportable".to_owned();
            result.text = format!(
                "cannot be exported, before or after: {}",
                error_text(&error)
            );
            return result;
        }
        (Ok(_), Err(error)) => {
            result.status = "no longer exportable".to_owned();
            result.text = format!("can no longer be exported: {}", error_text(&error));
            return result;
        }
        (Err(error), Ok(after)) => {
            result.status = "now exportable".to_owned();
            result.text = format!(
                "can now be exported ({} file{}; was: {})",
                after.files.len(),
                if after.files.len() == 1 { "" } else { "s" },
                error_text(&error)
            );
            return result;
        }
        (Ok(before), Ok(after)) => (before, after),
    };
    result.losses_added = after
        .losses
        .iter()
        .filter(|loss| !before.losses.contains(loss))
        .cloned()
        .collect();
    result.losses_removed = before
        .losses
        .iter()
        .filter(|loss| !after.losses.contains(loss))
        .cloned()
        .collect();
    let old_short = Plan::short_fingerprint(old_fingerprint);
    let new_short = Plan::short_fingerprint(new_fingerprint);
    let mut only_fingerprint = true;
    let paths: Vec<&std::path::Path> = {
        let mut paths: Vec<&std::path::Path> =
            after.files.iter().map(|file| file.path.as_path()).collect();
        for file in &before.files {
            if !paths.contains(&file.path.as_path()) {
                paths.push(&file.path);
            }
        }
        paths
    };
    for path in paths {
        let old = before.files.iter().find(|file| file.path == path);
        let new = after.files.iter().find(|file| file.path == path);
        let (old_text, new_text) = (
            old.map_or("", |file| file.contents.as_str()),
            new.map_or("", |file| file.contents.as_str()),
        );
        if old.is_some() == new.is_some() && old_text == new_text {
            continue;
        }
        let refingered = if old_fingerprint.is_empty() || new_fingerprint.is_empty() {
            old_text.to_owned()
        } else {
            old_text
                .replace(old_fingerprint, new_fingerprint)
                .replace(old_short, new_short)
        };
        // The manifest holds the whole plan: it changes with any change, so it does not
        // decide whether the artifacts changed in more than their fingerprint.
        if !is_manifest(path) && (old.is_none() || new.is_none() || refingered != new_text) {
            only_fingerprint = false;
        }
        // Lines end at `\n` only (as `patch` and `git apply` read them: a lone CR is part of
        // its line); a diff taking over two seconds (tens of thousands of interleaved hand
        // edits) is finished approximately, still correct, if longer.
        let old_lines: Vec<&str> = old_text.split_inclusive('\n').collect();
        let new_lines: Vec<&str> = new_text.split_inclusive('\n').collect();
        let lines = similar::TextDiff::configure()
            .timeout(std::time::Duration::from_secs(2))
            .diff_slices(&old_lines, &new_lines);
        let count = |tag: similar::ChangeTag| {
            lines
                .iter_all_changes()
                .filter(|change| change.tag() == tag)
                .count()
        };
        let name = path.display().to_string();
        result.files.push(FileChange {
            change: match (old, new) {
                (None, _) => "added",
                (_, None) => "removed",
                _ => "changed",
            }
            .to_owned(),
            lines_added: count(similar::ChangeTag::Insert),
            lines_removed: count(similar::ChangeTag::Delete),
            diff: unified.as_ref().map(|within| {
                let from = match old {
                    Some(_) => format!("a/{within}{name}"),
                    None => "/dev/null".to_owned(),
                };
                let to = match new {
                    Some(_) => format!("b/{within}{name}"),
                    None => "/dev/null".to_owned(),
                };
                unified_text(&lines, &from, &to)
            }),
            path: name,
            note: None,
        });
    }
    let mut words: Vec<String> = Vec::new();
    let losses_change = !(result.losses_added.is_empty() && result.losses_removed.is_empty());
    if result.files.is_empty() {
        result.status = if losses_change {
            "changed"
        } else {
            "unchanged"
        }
        .to_owned();
        words.push(
            if losses_change {
                "the same files"
            } else {
                "unchanged"
            }
            .to_owned(),
        );
    } else if only_fingerprint {
        result.status = "fingerprint".to_owned();
        words.push(format!(
            "only the plan fingerprint changes ({})",
            result
                .files
                .iter()
                .map(|file| file.path.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else {
        result.status = "changed".to_owned();
        words.push(format!(
            "changes {}",
            result
                .files
                .iter()
                .map(|file| match file.change.as_str() {
                    "added" => format!("{} (new)", file.path),
                    "removed" => format!("{} (gone)", file.path),
                    _ => format!(
                        "{} (+{} -{})",
                        file.path, file.lines_added, file.lines_removed
                    ),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !result.losses_added.is_empty() {
        words.push(format!("now loses {}", result.losses_added.join("; ")));
    }
    if !result.losses_removed.is_empty() {
        words.push(format!(
            "no longer loses {}",
            result.losses_removed.join("; ")
        ));
    }
    result.text = words.join("; ");
    result
}

/// Text from a plan as the terminal shows it: control characters (an escape sequence, a
/// carriage return, a line break inside a name) written as `\u{1b}`, so that a plan cannot
/// paint the terminal or forge a line of the diff.
fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    let odd = |character: char| character.is_control();
    if !text.chars().any(odd) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|character| {
                if odd(character) {
                    character.escape_unicode().to_string()
                } else {
                    character.to_string()
                }
            })
            .collect(),
    )
}

/// How many fire times the text shows of those a change removes, and of those it adds.
const SHOWN_FIRE_TIMES: usize = 10;

/// A unified diff (`diff -u`, three lines of context) of lines that keep their own `\n`: each
/// line written as it is, `\ No newline at end of file` after a last line without one, so
/// that `patch` and `git apply` give back the new file's bytes exactly.
fn unified_text(lines: &similar::TextDiff<'_, '_, '_, str>, from: &str, to: &str) -> String {
    let mut out = format!("--- {from}\n+++ {to}\n");
    for group in lines.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let range = |start: usize, end: usize| {
            let length = end - start;
            format!("{},{length}", if length == 0 { start } else { start + 1 })
        };
        let _ = writeln!(
            out,
            "@@ -{} +{} @@",
            range(first.old_range().start, last.old_range().end),
            range(first.new_range().start, last.new_range().end)
        );
        for operation in &group {
            for change in lines.iter_changes(operation) {
                let sign = match change.tag() {
                    similar::ChangeTag::Equal => ' ',
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                };
                let line = change.value();
                out.push(sign);
                out.push_str(line);
                if !line.ends_with('\n') {
                    out.push_str("\n\\ No newline at end of file\n");
                }
            }
        }
    }
    out
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
            clean(&diff.workflow),
            short(&diff.after)
        );
        return out;
    }
    if diff.before == diff.after {
        let _ = writeln!(
            out,
            "workflow `{}`: plan {} (the same version)",
            clean(&diff.workflow),
            short(&diff.after)
        );
    } else {
        let _ = writeln!(
            out,
            "workflow `{}`: plan {} → {}",
            clean(&diff.workflow),
            short(&diff.before),
            short(&diff.after)
        );
    }
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
            let _ = writeln!(out, "  {paint}{sign}{kind} {}{reset}", clean(&item.text));
        }
    }
    let (plus, green, reset) = mark("added");
    let (minus, red, _) = mark("removed");
    if let Some(schedule) = &diff.schedule {
        let _ = writeln!(out, "schedule:");
        let _ = writeln!(
            out,
            "  ~ {} → {}",
            clean(&schedule.before),
            clean(&schedule.after)
        );
        let days = if window_days == 1 {
            "day".to_owned()
        } else {
            format!("{window_days} days")
        };
        match schedule.compared_until {
            None => {
                let _ = writeln!(out, "  fire times in the next {days} (- no longer, + new):");
            }
            Some(end) => {
                let _ = writeln!(
                    out,
                    "  fire times in the next {days}, compared until {} (a side has more than {FIRE_TIMES_COMPARED}; - no longer, + new):",
                    instant(end, &schedule.timezone)
                );
            }
        }
        for (times, sign, paint, zone) in [
            (&schedule.removed, minus, red, &schedule.before_timezone),
            (&schedule.added, plus, green, &schedule.timezone),
        ] {
            for time in times.iter().take(SHOWN_FIRE_TIMES) {
                let _ = writeln!(out, "    {paint}{sign} {}{reset}", instant(*time, zone));
            }
            if times.len() > SHOWN_FIRE_TIMES {
                let _ = writeln!(
                    out,
                    "    {paint}{sign} … {} more (--format json lists them all){reset}",
                    times.len() - SHOWN_FIRE_TIMES
                );
            }
        }
        if schedule.removed.is_empty() && schedule.added.is_empty() {
            let _ = writeln!(out, "    (the same instants)");
        }
        if schedule.catch_up.is_empty() {
            let _ = writeln!(out, "  on deploy now: no catch-up run");
        } else {
            let _ = writeln!(
                out,
                "  on deploy now: {}{} catch-up run{}:",
                if schedule.catch_up_more {
                    "more than "
                } else {
                    ""
                },
                schedule.catch_up.len(),
                if schedule.catch_up.len() == 1 {
                    ""
                } else {
                    "s"
                },
            );
            let shown_from = schedule.catch_up.len().saturating_sub(SHOWN_FIRE_TIMES);
            if shown_from > 0 {
                let _ = writeln!(
                    out,
                    "    {green}{plus} … {shown_from} earlier (--format json lists them){reset}"
                );
            }
            for (position, time) in schedule.catch_up.iter().enumerate().skip(shown_from) {
                let partition = schedule
                    .catch_up_partitions
                    .get(position)
                    .map(|label| format!(", partition {label}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "    {green}{plus} {}{partition}{reset}",
                    instant(*time, &schedule.timezone)
                );
            }
        }
    }
    if let Some(partitions) = &diff.partitions {
        let _ = writeln!(out, "partitions:");
        let _ = writeln!(
            out,
            "  ~ {} → {}",
            clean(&partitions.before),
            clean(&partitions.after)
        );
        let covers = |labels: &[String]| match labels {
            [] => "nothing (not partitioned)".to_owned(),
            [one] => format!("1 partition, {one}"),
            [first, .., last] => format!("{} partitions, {first} … {last}", labels.len()),
        };
        let _ = writeln!(
            out,
            "  a backfill of {} would now cover {} (was {})",
            partitions.range,
            covers(&partitions.covered_after),
            covers(&partitions.covered_before)
        );
    }
    if !diff.exports.is_empty() {
        let _ = writeln!(out, "exports:");
        for export in &diff.exports {
            let (sign, paint, end) = match export.status.as_str() {
                "unchanged" | "not exportable" => ("=", "", ""),
                "no longer exportable" => mark("removed"),
                "now exportable" => mark("added"),
                _ => mark("changed"),
            };
            let _ = writeln!(
                out,
                "  {paint}{sign} {}: {}{end}",
                export.target,
                clean(&export.text)
            );
        }
        for export in &diff.exports {
            for file in &export.files {
                if let Some(unified) = &file.diff {
                    out.push('\n');
                    // The files' own bytes, so that `patch` and `git apply` take it.
                    out.push_str(unified);
                }
                if let Some(note) = &file.note {
                    // A comment line: `patch` and `git apply` pass over it.
                    let _ = writeln!(out, "\n# {}: {}", clean(&file.path), clean(note));
                }
            }
        }
    }
    out
}
