//! Human-readable views of workflows and plans: text, Graphviz DOT and Mermaid.

use std::fmt::Write as _;

use crate::Backoff;
use crate::operations::{CatchUp, FailureAction, Notify, Operations, Overlap};
use crate::plan::{InputSource, Plan, PlanNode, Policy, ValueSource};
use crate::workflow_model::{EdgeKind, Source, WorkflowSpec};

/// The plan as text: parameters, then each stage's nodes with their inputs and policies.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "workflow {} (plan version {}, fingerprint {})",
        plan.workflow,
        plan.version,
        Plan::short_fingerprint(&plan.fingerprint)
    );
    if let Some(summary) = plan
        .doc
        .lines()
        .next()
        .filter(|line| !line.trim().is_empty())
    {
        let _ = writeln!(out, "  {}", summary.trim());
    }
    if !plan.params.is_empty() {
        let _ = writeln!(out, "parameters:");
        for param in &plan.params {
            let origin = match param.source {
                ValueSource::Given => "",
                ValueSource::Default => " (default)",
                ValueSource::Unset => " (given when the run starts)",
                ValueSource::Partition => {
                    " (not given: the partition of the latest fire time at or before --now)"
                }
            };
            let _ = writeln!(
                out,
                "  {}: {} = {}{origin}",
                param.name, param.ty, param.value
            );
        }
    }
    for line in operations_lines(&plan.operations)
        .into_iter()
        .chain(secrets_line(&plan.secrets))
    {
        let _ = writeln!(out, "{line}");
    }
    if !plan.next_runs.is_empty() {
        // In the schedule's zone too, when it has one other than UTC.
        let zone = plan
            .operations
            .schedule
            .as_ref()
            .filter(|schedule| schedule.timezone != "UTC")
            .and_then(|schedule| workflow_schedule::parse_zone(&schedule.timezone).ok());
        let times: Vec<String> = plan
            .next_runs
            .iter()
            .map(|time| {
                let utc = time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                match zone {
                    Some(zone) => {
                        format!(
                            "{utc} ({})",
                            time.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z")
                        )
                    }
                    None => utc,
                }
            })
            .collect();
        let _ = writeln!(out, "next runs: {}", times.join(", "));
    }
    for (stage, names) in plan.stages.iter().enumerate() {
        let _ = writeln!(out, "stage {stage}:");
        for name in names {
            if let Some(node) = plan.nodes.iter().find(|node| &node.id == name) {
                let _ = writeln!(out, "  {}", node_line(node, plan));
            }
        }
    }
    out
}

fn node_line(node: &PlanNode, plan: &Plan) -> String {
    let mapped = node.map.as_ref().map(|map| map.input.as_str());
    let inputs: Vec<String> = node
        .inputs
        .iter()
        .map(|input| {
            let source = match &input.from {
                InputSource::Param(name) | InputSource::Node(name) | InputSource::Secret(name) => {
                    name.clone()
                }
                InputSource::Value(value) => value.to_string(),
            };
            if Some(input.name.as_str()) == mapped {
                format!("each({source})")
            } else {
                source
            }
        })
        .collect();
    let mut line = format!(
        "{} = {}({}) -> {}",
        node.id,
        node.task,
        inputs.join(", "),
        node.output
    );
    if !node.after.is_empty() {
        let _ = write!(line, ", after {}", node.after.join(", "));
    }
    if let Some(condition) = &node.condition {
        let on = match plan.branches.get(condition.branch).map(|branch| &branch.on) {
            Some(
                InputSource::Param(name) | InputSource::Node(name) | InputSource::Secret(name),
            ) => name.clone(),
            Some(InputSource::Value(value)) => value.to_string(),
            None => "?".to_owned(),
        };
        let _ = write!(line, ", when {on} is {}", condition.arm);
    }
    let mut policy = policy_text(&node.policy);
    if let Some(limit) = node.map.as_ref().and_then(|map| map.max_parallel) {
        policy = if policy.is_empty() {
            format!("{limit} at once")
        } else {
            format!("{limit} at once, {policy}")
        };
    }
    let kind = match node.kind {
        crate::TaskKind::Function => None,
        crate::TaskKind::Command => Some("program"),
        crate::TaskKind::Workflow => Some("workflow"),
    };
    if let Some(kind) = kind {
        policy = if policy.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}, {policy}")
        };
    }
    if !policy.is_empty() {
        let _ = write!(line, "  [{policy}]");
    }
    line
}

fn policy_text(policy: &Policy) -> String {
    let seconds = |value: u64| crate::text::duration(std::time::Duration::from_secs(value));
    let mut parts = Vec::new();
    if policy.retries > 0 {
        let mut retries = match policy.retry_delay_secs {
            Some(delay) => format!("retries {} after {}", policy.retries, seconds(delay)),
            None => format!("retries {} at once", policy.retries),
        };
        if policy.backoff == Backoff::Exponential {
            retries.push_str(", doubling");
            if let Some(cap) = policy.max_retry_delay_secs {
                retries.push_str(&format!(" up to {}", seconds(cap)));
            }
        }
        parts.push(retries);
    }
    if let Some(timeout) = policy.timeout_secs {
        parts.push(format!("timeout {}", seconds(timeout)));
    }
    if let Some(pool) = &policy.pool {
        parts.push(format!("pool {pool}"));
    }
    if let Some(cpu) = policy.cpu_millis {
        parts.push(format!("cpu {}", f64::from(cpu) / 1000.0));
    }
    if let Some(memory) = policy.memory_bytes {
        parts.push(format!("memory {}", bytes_text(memory)));
    }
    parts.join(", ")
}

/// Bytes in the largest binary unit that divides them: `4GiB`, `512MiB`, `1000B`.
fn bytes_text(bytes: u64) -> String {
    for (unit, size) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

/// Where each secret is read from: a reference, never a value.
fn secrets_line(secrets: &[crate::Secret]) -> Option<String> {
    let described: Vec<String> = secrets
        .iter()
        .map(|secret| match &secret.source {
            crate::SecretSource::Env(variable) => format!("{} from ${variable}", secret.name),
            crate::SecretSource::File(path) => format!("{} from {}", secret.name, path.display()),
        })
        .collect();
    (!described.is_empty()).then(|| format!("secrets: {}", described.join(", ")))
}

/// The operational settings, one line each: schedule, runs, pools, failure and success.
fn operations_lines(operations: &Operations) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(schedule) = &operations.schedule {
        let catch_up = match schedule.catch_up {
            CatchUp::Skip => "skip missed runs".to_owned(),
            CatchUp::Latest => "make up the latest missed run".to_owned(),
            CatchUp::All { max: None } => "make up every missed run".to_owned(),
            CatchUp::All { max: Some(max) } => format!("make up missed runs, {max} at most"),
        };
        lines.push(format!(
            "schedule: {} ({}), {catch_up}",
            schedule.describe(),
            schedule.timezone
        ));
    }
    if let Some(partition) = &operations.partition {
        let every = match partition.every {
            crate::operations::PartitionEvery::Daily => "daily",
            crate::operations::PartitionEvery::Weekly => "weekly",
            crate::operations::PartitionEvery::Hourly => "hourly",
        };
        lines.push(format!(
            "partition: {every}, by parameter {}",
            partition.param
        ));
    }
    for trigger in &operations.triggers {
        lines.push(match trigger {
            crate::operations::Trigger::AfterWorkflow {
                workflow,
                within_secs: Some(within),
            } => {
                format!(
                    "trigger: after workflow {workflow} succeeds, within {}",
                    crate::text::duration(std::time::Duration::from_secs(*within))
                )
            }
            crate::operations::Trigger::AfterWorkflow {
                workflow,
                within_secs: None,
            } => format!("trigger: after workflow {workflow} succeeds"),
            crate::operations::Trigger::File { pattern } => {
                format!("trigger: a file matching {pattern} appears")
            }
        });
    }
    let overlap = match operations.overlap {
        Overlap::Forbid => "never overlapping",
        Overlap::Queue => "queued behind an active run",
        Overlap::Replace => "replacing an active run",
    };
    let mut runs = format!("runs: {overlap}");
    if let Some(timeout) = operations.timeout_secs {
        runs.push_str(&format!(
            ", timeout {}",
            crate::text::duration(std::time::Duration::from_secs(timeout))
        ));
    }
    lines.push(runs);
    if !operations.pools.is_empty() {
        let pools: Vec<String> = operations
            .pools
            .iter()
            .map(|pool| {
                format!(
                    "{} ({} slot{})",
                    pool.name,
                    pool.slots,
                    if pool.slots == 1 { "" } else { "s" }
                )
            })
            .collect();
        lines.push(format!("pools: {}", pools.join(", ")));
    }
    let action = match operations.on_failure {
        FailureAction::Continue => "continue independent nodes",
        FailureAction::Stop => "stop the run",
        FailureAction::Pause => "stop the run and pause the workflow",
    };
    lines.push(format!(
        "on failure: {action}{}",
        notify_text(&operations.notify_failure)
    ));
    if !operations.notify_success.is_empty() {
        lines.push(format!(
            "on success:{}",
            notify_text(&operations.notify_success).trim_start_matches(',')
        ));
    }
    lines
}

fn notify_text(notify: &Notify) -> String {
    let mut text = String::new();
    for address in &notify.email {
        text.push_str(&format!(", e-mail {address}"));
    }
    for url in &notify.webhook {
        text.push_str(&format!(", post to {url}"));
    }
    text
}

/// The workflow's spec as text: parameters, then each node's task with typed inputs and policy.
pub fn spec_text(spec: &WorkflowSpec) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "workflow {} ({})", spec.name, spec.rust_path);
    for line in spec.doc.lines() {
        let _ = writeln!(out, "{}", format!("  {}", line.trim()).trim_end());
    }
    let _ = writeln!(out, "parameters:");
    if spec.params.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for param in &spec.params {
        match &param.default {
            Some(default) => {
                let _ = writeln!(out, "  {}: {} = {default}", param.name, param.ty);
            }
            None => {
                let _ = writeln!(out, "  {}: {} (required)", param.name, param.ty);
            }
        }
    }
    for line in operations_lines(&spec.operations)
        .into_iter()
        .chain(secrets_line(&spec.secrets))
    {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "nodes:");
    for node in &spec.nodes {
        let task = &node.task;
        let _ = writeln!(
            out,
            "  {}: {} {} ({}) -> {}",
            node.name,
            match task.kind {
                crate::TaskKind::Function => "task",
                crate::TaskKind::Command => "program task",
                crate::TaskKind::Workflow => "workflow",
            },
            task.name,
            task.rust_path,
            task.output
        );
        if let Some(summary) = task
            .description
            .lines()
            .next()
            .filter(|line| !line.trim().is_empty())
        {
            let _ = writeln!(out, "    {}", summary.trim());
        }
        for (input, source) in task.inputs.iter().zip(&node.inputs) {
            let from = match source {
                Source::Param(name) => format!("parameter {name}"),
                Source::Node(name) => format!("node {name}"),
                Source::Value(value) => format!("constant {value}"),
                Source::Secret(name) => format!("secret {name}"),
            };
            let _ = writeln!(out, "    {}: {} <- {from}", input.name, input.ty);
        }
        if !node.after.is_empty() {
            let _ = writeln!(out, "    after {}", node.after.join(", "));
        }
        if let Some(map) = node.map {
            let input = task.inputs.get(map.input).map_or("?", |input| input.name);
            let _ = match map.max_parallel {
                Some(limit) => {
                    writeln!(out, "    runs once per element of {input}, {limit} at once")
                }
                None => writeln!(out, "    runs once per element of {input}"),
            };
        }
        if let Some(condition) = node.condition
            && let Some(branch) = spec.branches.get(condition.branch)
            && let Some(arm) = branch.arms.get(condition.arm)
        {
            let on = match &branch.on {
                Source::Param(name) | Source::Node(name) | Source::Secret(name) => {
                    (*name).to_owned()
                }
                Source::Value(value) => value.to_string(),
            };
            let _ = writeln!(out, "    runs when {on} is {}", arm.label);
        }
        let policy = policy_text(&Policy::from(&task.policy));
        if !policy.is_empty() {
            let _ = writeln!(out, "    policy: {policy}");
        }
    }
    out
}

/// What a node is when it is not a Rust function: `command` (an external program) or
/// `workflow` (a sub-workflow).
fn kind_mark(node: &crate::NodeSpec) -> Option<&'static str> {
    match node.task.kind {
        crate::TaskKind::Function => None,
        crate::TaskKind::Command => Some("command"),
        crate::TaskKind::Workflow => Some("workflow"),
    }
}

/// The secrets the workflow's nodes read, each once, in the order first read.
fn secrets_read(spec: &WorkflowSpec) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for node in &spec.nodes {
        for source in &node.inputs {
            if let Source::Secret(name) = source
                && !names.contains(name)
            {
                names.push(name);
            }
        }
    }
    names
}

/// The workflow's graph as Graphviz DOT: parameters as notes, the secrets nodes read as dashed
/// notes (names only), command tasks and sub-workflows marked under their names, data edges
/// labelled with the input they feed, ordering edges dashed.
pub fn dot(spec: &WorkflowSpec) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", dot_id(spec.name));
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(out, "  node [shape=box, style=rounded];");
    for param in &spec.params {
        let _ = writeln!(
            out,
            "  {} [shape=note, label={}];",
            dot_id(&format!("param:{}", param.name)),
            dot_id(&format!("{}: {}", param.name, param.ty))
        );
    }
    for name in secrets_read(spec) {
        let _ = writeln!(
            out,
            "  {} [shape=note, style=dashed, label={}];",
            dot_id(&format!("secret:{name}")),
            dot_id(&format!("secret {name}"))
        );
    }
    for node in &spec.nodes {
        let mut label = if node.name == node.task.name {
            node.name.to_owned()
        } else {
            format!("{}\n{}", node.name, node.task.name)
        };
        let mut style = String::new();
        if let Some(mark) = kind_mark(node) {
            label.push_str(&format!("\n({mark})"));
            style = match node.task.kind {
                crate::TaskKind::Command => ", shape=component".to_owned(),
                _ => ", peripheries=2".to_owned(),
            };
        }
        let _ = writeln!(
            out,
            "  {} [label={}{style}];",
            dot_id(node.name),
            dot_id(&label)
        );
    }
    for node in &spec.nodes {
        for (input, source) in node.task.inputs.iter().zip(&node.inputs) {
            let from = match source {
                Source::Param(name) => format!("param:{name}"),
                Source::Secret(name) => format!("secret:{name}"),
                _ => continue,
            };
            let _ = writeln!(
                out,
                "  {} -> {} [label={}, style=dotted];",
                dot_id(&from),
                dot_id(node.name),
                dot_id(input.name)
            );
        }
    }
    for edge in spec.edges() {
        match edge.kind {
            EdgeKind::Data => {
                let label = edge.input.as_deref().unwrap_or("");
                let _ = writeln!(
                    out,
                    "  {} -> {} [label={}];",
                    dot_id(&edge.from),
                    dot_id(&edge.to),
                    dot_id(label)
                );
            }
            EdgeKind::Order => {
                let _ = writeln!(
                    out,
                    "  {} -> {} [style=dashed];",
                    dot_id(&edge.from),
                    dot_id(&edge.to)
                );
            }
            EdgeKind::Condition => {
                let _ = writeln!(
                    out,
                    "  {} -> {} [style=dotted, label=\"decides\"];",
                    dot_id(&edge.from),
                    dot_id(&edge.to)
                );
            }
        }
    }
    for (param, node) in decided_by_params(spec) {
        let _ = writeln!(
            out,
            "  {} -> {} [style=dotted, label=\"decides\"];",
            dot_id(&format!("param:{param}")),
            dot_id(node)
        );
    }
    out.push_str("}\n");
    out
}

/// The nodes of branches a parameter decides (`if full_refresh { ... }`), with that
/// parameter: the graph's edges cover only branches a node's output decides.
fn decided_by_params(spec: &WorkflowSpec) -> Vec<(&'static str, &'static str)> {
    spec.nodes
        .iter()
        .filter_map(|node| {
            let condition = node.condition?;
            match spec.branches.get(condition.branch)?.on {
                Source::Param(param) => Some((param, node.name)),
                _ => None,
            }
        })
        .collect()
}

fn escape_dot(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn dot_id(text: &str) -> String {
    format!("\"{}\"", escape_dot(text))
}

/// The workflow's graph as a Mermaid flowchart.
pub fn mermaid(spec: &WorkflowSpec) -> String {
    let mut out = String::from("flowchart LR\n");
    for param in &spec.params {
        let _ = writeln!(
            out,
            "  param_{}[/\"{}: {}\"/]",
            mermaid_id(param.name),
            mermaid_text(param.name),
            mermaid_text(param.ty)
        );
    }
    for name in secrets_read(spec) {
        let _ = writeln!(
            out,
            "  secret_{}{{{{\"secret {}\"}}}}",
            mermaid_id(name),
            mermaid_text(name)
        );
    }
    for node in &spec.nodes {
        let mut label = if node.name == node.task.name {
            mermaid_text(node.name)
        } else {
            format!(
                "{}<br/>{}",
                mermaid_text(node.name),
                mermaid_text(node.task.name)
            )
        };
        if let Some(mark) = kind_mark(node) {
            label.push_str(&format!("<br/>({mark})"));
        }
        let _ = writeln!(out, "  node_{}[\"{label}\"]", mermaid_id(node.name));
    }
    for node in &spec.nodes {
        for (input, source) in node.task.inputs.iter().zip(&node.inputs) {
            let from = match source {
                Source::Param(name) => format!("param_{}", mermaid_id(name)),
                Source::Secret(name) => format!("secret_{}", mermaid_id(name)),
                _ => continue,
            };
            let _ = writeln!(
                out,
                "  {from} -. {} .-> node_{}",
                mermaid_text(input.name),
                mermaid_id(node.name)
            );
        }
    }
    for edge in spec.edges() {
        match edge.kind {
            EdgeKind::Data => {
                let label = mermaid_text(edge.input.as_deref().unwrap_or(""));
                let _ = writeln!(
                    out,
                    "  node_{} -- {label} --> node_{}",
                    mermaid_id(&edge.from),
                    mermaid_id(&edge.to)
                );
            }
            EdgeKind::Order => {
                let _ = writeln!(
                    out,
                    "  node_{} -.-> node_{}",
                    mermaid_id(&edge.from),
                    mermaid_id(&edge.to)
                );
            }
            EdgeKind::Condition => {
                let _ = writeln!(
                    out,
                    "  node_{} -. decides .-> node_{}",
                    mermaid_id(&edge.from),
                    mermaid_id(&edge.to)
                );
            }
        }
    }
    for (param, node) in decided_by_params(spec) {
        let _ = writeln!(
            out,
            "  param_{} -. decides .-> node_{}",
            mermaid_id(param),
            mermaid_id(node)
        );
    }
    out
}

/// A Mermaid node id: letters, digits and `_` only.
/// A name as a Mermaid id, one to one: ASCII letters and digits kept, `_` doubled, any other
/// character (the `.` of `snapshot.true`, `č`) as `_{hex}_`, so no two names share an id.
fn mermaid_id(name: &str) -> String {
    let mut id = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            c if c.is_ascii_alphanumeric() => id.push(c),
            '_' => id.push_str("__"),
            c => {
                let _ = write!(id, "_{:x}_", u32::from(c));
            }
        }
    }
    id
}

fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// The workflow's graph drawn by Graphviz as `kind` (`png`, `svg`): the [`dot`] source piped
/// through `dot -T<kind>`, which is `$WORKFLOW_DOT` or `dot` on the PATH.
pub fn picture(spec: &WorkflowSpec, kind: &str) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let program = std::env::var_os("WORKFLOW_DOT").unwrap_or_else(|| "dot".into());
    let shown = std::path::PathBuf::from(&program).display().to_string();
    let mut child = std::process::Command::new(&program)
        .arg(format!("-T{kind}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|error| {
            format!(
                "drawing a {kind} needs Graphviz's `{shown}` ({error}); install Graphviz (`apt install graphviz`) or set WORKFLOW_DOT, or print the source with --format dot"
            )
        })?;
    let source = dot(spec);
    // Write on a thread while the output is read, so a large graph cannot fill both pipes.
    let mut stdin = child.stdin.take();
    let writer = std::thread::spawn(move || {
        if let Some(stdin) = stdin.as_mut() {
            let _ = stdin.write_all(source.as_bytes());
        }
    });
    let output = child
        .wait_with_output()
        .map_err(|error| format!("`{shown}` failed: {error}"))?;
    let _ = writer.join();
    if !output.status.success() {
        return Err(format!(
            "`{shown} -T{kind}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(output.stdout)
}

#[cfg(test)]
mod tests {
    use super::mermaid_id;

    #[test]
    fn mermaid_ids_keep_names_apart() {
        assert_eq!(mermaid_id("snapshot.true"), "snapshot_2e_true");
        assert_eq!(mermaid_id("new_objects"), "new__objects");
        assert_eq!(mermaid_id("čas"), "_10d_as");
        assert_eq!(mermaid_id("řas"), "_159_as");
        // Names that look like another's escape stay apart.
        assert_eq!(mermaid_id("_10d_as"), "__10d__as");
        assert_eq!(mermaid_id("snapshot_true"), "snapshot__true");
    }
}
