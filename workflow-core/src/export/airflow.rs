//! An Apache Airflow (3.x) DAG file: each node a `NodeOperator` (a `BashOperator`) that runs
//! `<bin> exec-task <workflow> <node> --run-dir ...`, with the schedule, catch-up, overlap,
//! retries with backoff, timeouts, pools, notifications, upstream workflows as assets,
//! branches (a node whose arm is not taken exits 99, which Airflow marks skipped), fan-out
//! (dynamic task mapping over the elements the binary lists), and permanent failures (exit 3,
//! or 2 for an input not of its type: `AirflowFailException`, so Airflow does not retry).
//!
//! Values never reach a shell: every task's command line is a constant, and the run's
//! parameters, directory and fire time reach the binary through environment variables.

use std::fmt::Write as _;

use serde_json::Value;

use super::{
    ExportError, ExportFile, Losses, Settings, arm_of, python_string, reads_a_merge, shell_quote,
    upstream,
};
use crate::operations::{Cadence, CatchUp, FailureAction, Overlap, Trigger};
use crate::plan::{Plan, PlanNode, ValueSource};

/// The task id of the task that marks a successful run (and updates the workflow's asset).
const SUCCEEDED: &str = "workflow_succeeded";

/// The DAG file and its install notes.
pub fn export(
    plan: &Plan,
    settings: &Settings,
    losses: &mut Losses,
) -> Result<Vec<ExportFile>, ExportError> {
    let name = &plan.workflow;
    let operations = &plan.operations;
    for node in &plan.nodes {
        if node.id == SUCCEEDED || node.id.ends_with("__elements") {
            return Err(ExportError::Name(format!(
                "node `{}` would clash with a task the Airflow export adds; rename it",
                node.id
            )));
        }
    }
    let scheduled = operations.schedule.is_some();
    let partition = operations
        .partition
        .as_ref()
        .map(|partition| partition.param.as_str());
    let mut text = String::new();
    let _ = writeln!(text, "\"\"\"{}", python_docstring(&plan.doc));
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "Exported from workflow `{name}` (`{}`): every task runs the workflow binary's\n`exec-task`, so the business logic lives in one place. Do not edit; export again.\n\"\"\"",
        python_docstring(&plan.rust_path)
    );
    let _ = writeln!(text, "import datetime");
    let _ = writeln!(text, "import json");
    let _ = writeln!(text, "import os");
    let _ = writeln!(text, "import subprocess");
    let _ = writeln!(text, "import time");
    let _ = writeln!(text);
    let _ = writeln!(text, "import pendulum");
    let _ = writeln!(
        text,
        "from airflow.providers.standard.operators.bash import BashOperator"
    );
    let _ = writeln!(
        text,
        "from airflow.providers.standard.operators.empty import EmptyOperator"
    );
    let _ = writeln!(text, "from airflow.sdk import DAG, Asset, Param, task");
    let _ = writeln!(
        text,
        "from airflow.exceptions import AirflowFailException, AirflowSkipException"
    );
    let _ = writeln!(
        text,
        "from airflow.timetables.trigger import CronTriggerTimetable, DeltaTriggerTimetable, MultipleCronTriggerTimetable"
    );
    let _ = writeln!(
        text,
        "from airflow.timetables.assets import AssetOrTimeSchedule"
    );
    let _ = writeln!(text);
    if operations.on_failure == FailureAction::Pause {
        let _ = writeln!(
            text,
            "# `pause` relies on the scheduler finding the DAG's latest run by when it ran: Airflow before 3.2\n# looks by logical date, which runs started by an asset or by hand lack (apache/airflow#65125)."
        );
        let _ = writeln!(text, "import airflow");
        let _ = writeln!(text, "from packaging.version import Version");
        let _ = writeln!(text);
        let _ = writeln!(text, "if Version(airflow.__version__) < Version(\"3.2\"):");
        let _ = writeln!(
            text,
            // A workflow's name is a Rust identifier: nothing to escape.
            "    raise RuntimeError(f\"workflow {name}: pausing after a failure needs Airflow 3.2 or later, not {{airflow.__version__}}\")"
        );
        let _ = writeln!(text);
    }
    let _ = writeln!(text, "BINARY = {}", python_string(&settings.binary));
    let _ = writeln!(text, "WORKFLOW = {}", python_string(name));
    let _ = writeln!(
        text,
        "# Each run keeps its nodes' outputs here; every worker must see this directory."
    );
    let _ = writeln!(
        text,
        "RUN_ROOT = {}",
        python_string(&format!(
            "{}/{name}",
            settings.run_root.trim_end_matches('/')
        ))
    );
    let secrets: Vec<String> = plan
        .secrets
        .iter()
        .map(|secret| match &secret.source {
            crate::SecretSource::Env(variable) => {
                format!("#   {}: environment variable {variable}", secret.name)
            }
            crate::SecretSource::File(path) => {
                format!("#   {}: file {}", secret.name, path.display())
            }
        })
        .collect();
    if !secrets.is_empty() {
        let _ = writeln!(
            text,
            "# Secrets are read by the tasks when they run, from the worker (never from this file):"
        );
        for line in secrets {
            let _ = writeln!(text, "{}", line.replace(['\n', '\r'], " "));
        }
    }
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "# What every task passes the binary: data in variables, never in the command line."
    );
    let _ = writeln!(text, "ENV = {{");
    let _ = writeln!(text, "    \"WORKFLOW_BINARY\": BINARY,");
    let _ = writeln!(text, "    \"WORKFLOW_NAME\": WORKFLOW,");
    let _ = writeln!(
        text,
        "    \"WORKFLOW_RUN_DIR\": RUN_ROOT + \"/{{{{ run_id }}}}\","
    );
    let _ = writeln!(
        text,
        "    \"WORKFLOW_PARAMS\": \"{{{{ params | workflow_params }}}}\","
    );
    let _ = writeln!(
        text,
        "    \"WORKFLOW_SCHEDULED_AT\": \"{{{{ (dag_run.logical_date or dag_run.run_after).isoformat() }}}}\","
    );
    let _ = writeln!(text, "}}");
    let _ = writeln!(
        text,
        "RUN_NODE = '\"$WORKFLOW_BINARY\" exec-task \"$WORKFLOW_NAME\" \"$WORKFLOW_NODE\" --run-dir \"$WORKFLOW_RUN_DIR\" --params-json \"$WORKFLOW_PARAMS\" --scheduled-at \"$WORKFLOW_SCHEDULED_AT\"'"
    );
    let _ = writeln!(text);
    let _ = writeln!(text);
    let _ = writeln!(text, "class NodeOperator(BashOperator):");
    let _ = writeln!(
        text,
        "    \"\"\"A node: `exec-task` in bash. Exit 3 (the task failed permanently) or 2 (an input is not of its\n    type) fails it at once, its retries unused; 99 skips it.\"\"\""
    );
    let _ = writeln!(text);
    let _ = writeln!(text, "    def execute(self, context):");
    let _ = writeln!(text, "        try:");
    let _ = writeln!(text, "            return super().execute(context)");
    let _ = writeln!(text, "        except AirflowSkipException:");
    let _ = writeln!(text, "            raise");
    let _ = writeln!(text, "        except Exception as error:");
    let _ = writeln!(
        text,
        "            # BashOperator says the exit code last: \"... a non-zero exit code 3.\""
    );
    let _ = writeln!(
        text,
        "            if str(error).rstrip(\".\").endswith((\"exit code 2\", \"exit code 3\")):"
    );
    let _ = writeln!(
        text,
        "                raise AirflowFailException(f\"{{error}} A permanent failure: not retried.\") from error"
    );
    let _ = writeln!(text, "            raise");
    let _ = writeln!(text);
    let _ = writeln!(text);
    let _ = writeln!(text, "def workflow_params(params):");
    let _ = writeln!(text, "    return json.dumps(dict(params), sort_keys=True)");
    let _ = writeln!(text);
    let _ = writeln!(text);
    let _ = writeln!(text, "def run_binary(*arguments):");
    let _ = writeln!(
        text,
        "    \"\"\"Runs the workflow binary with an argument vector (no shell) and returns its output.\"\"\""
    );
    let _ = writeln!(
        text,
        "    done = subprocess.run([BINARY, *arguments], capture_output=True, text=True)"
    );
    let _ = writeln!(text, "    if done.returncode != 0:");
    let _ = writeln!(
        text,
        "        raise RuntimeError(f\"{{BINARY}} {{arguments[0]}} failed: {{done.stderr.strip()}}\")"
    );
    let _ = writeln!(text, "    return done.stdout");
    let _ = writeln!(text);
    let _ = writeln!(text);
    let notify_failure = !operations.notify_failure.is_empty();
    let notify_success = !operations.notify_success.is_empty();
    let pause = operations.on_failure == FailureAction::Pause;
    if notify_failure || notify_success {
        let _ = writeln!(text, "def notify(*arguments):");
        let _ = writeln!(
            text,
            "    \"\"\"Sends the workflow's notices through the binary; a relay's blip is tried again after 2 and 6 s\n    (the DAG processor gives a callback 50 s by default).\"\"\""
        );
        let _ = writeln!(text, "    for pause in (2, 6, None):");
        let _ = writeln!(
            text,
            "        done = subprocess.run([BINARY, \"notify\", WORKFLOW, *arguments], capture_output=True, text=True)"
        );
        let _ = writeln!(text, "        if done.returncode == 0:");
        let _ = writeln!(text, "            return");
        let _ = writeln!(text, "        if pause is None:");
        let _ = writeln!(
            text,
            "            raise RuntimeError(f\"notify failed: {{done.stderr.strip()}}\")"
        );
        let _ = writeln!(text, "        time.sleep(pause)");
        let _ = writeln!(text);
        let _ = writeln!(text);
    }
    if operations.on_failure != FailureAction::Continue {
        let _ = writeln!(text, "def stop_after_failure(context):");
        let _ = writeln!(
            text,
            "    \"\"\"`on_failure({})`: once a node of this run has failed, no other node starts (it is skipped).\"\"\"",
            if pause { "pause" } else { "stop" }
        );
        let _ = writeln!(text, "    ti = context[\"ti\"]");
        let _ = writeln!(
            text,
            "    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {{}})"
        );
        let _ = writeln!(
            text,
            "    failed = sorted(task for task, state in states.items() if state == \"failed\")"
        );
        let _ = writeln!(text, "    if failed:");
        let _ = writeln!(
            text,
            "        raise AirflowSkipException(f\"not started: {{', '.join(failed)}} failed, and the workflow stops at a failure\")"
        );
        let _ = writeln!(text);
        let _ = writeln!(text);
    }
    let _ = writeln!(text, "def on_failure(context):");
    let _ = writeln!(
        text,
        "    \"\"\"A failed run: tell the workflow's failure recipients (e-mail and webhooks, as a local run does).{}\"\"\"",
        if pause {
            "\n\n    The DAG is paused by the scheduler itself (max_consecutive_failed_dag_runs=1) in the\n    transaction that fails the run: Airflow 3 runs this callback where the database is closed."
        } else {
            ""
        }
    );
    if notify_failure {
        let _ = writeln!(
            text,
            "    reason = f\"Airflow run {{context.get('run_id')}} failed ({{context.get('reason') or 'task_failure'}})\""
        );
        let _ = writeln!(
            text,
            "    notify(\"--status\", \"failed\", \"--reason\", reason)"
        );
    } else {
        let _ = writeln!(text, "    pass");
    }
    let _ = writeln!(text);
    let _ = writeln!(text);
    let _ = writeln!(text, "def on_success(context):");
    if notify_success {
        let _ = writeln!(text, "    notify(\"--status\", \"succeeded\")");
    } else {
        let _ = writeln!(text, "    pass");
    }
    let _ = writeln!(text);
    let _ = writeln!(text);

    // The schedule.
    let mut timetable = None;
    let mut catchup = false;
    if let Some(schedule) = &operations.schedule {
        let timezone = python_string(&schedule.timezone);
        let run_immediately = match schedule.catch_up {
            CatchUp::Skip => "False",
            CatchUp::Latest | CatchUp::All { .. } => "True",
        };
        let evaluated = super::timetable(schedule, losses);
        timetable = Some(match (&schedule.when, &evaluated) {
            (
                Cadence::Cron(_),
                Some(
                    evaluated @ workflow_schedule::Timetable {
                        when: workflow_schedule::When::Cron(cron),
                        ..
                    },
                ),
            ) => {
                // Airflow's CronTriggerTimetable adds wall-clock differences when the hour
                // field is `*` and reads other expressions as local wall times with pendulum's
                // rules.
                let rule = if cron.every_hour() {
                    workflow_schedule::DstRule::AirflowDelta
                } else {
                    workflow_schedule::DstRule::AirflowWallClock
                };
                super::check_dst(evaluated, rule, "Airflow", losses);
                format!(
                    "CronTriggerTimetable({}, timezone={timezone}, run_immediately={run_immediately})",
                    python_string(&cron.canonical())
                )
            }
            (Cadence::Cron(expression), _) => format!(
                "CronTriggerTimetable({}, timezone={timezone}, run_immediately={run_immediately})",
                python_string(expression)
            ),
            (Cadence::EverySecs(seconds), _) => match super::interval_crons(*seconds).as_deref() {
                Some([line]) => format!(
                    "CronTriggerTimetable({}, timezone=\"UTC\", run_immediately={run_immediately})",
                    python_string(line)
                ),
                Some(lines) => format!(
                    "MultipleCronTriggerTimetable({}, timezone=\"UTC\", run_immediately={run_immediately})",
                    lines
                        .iter()
                        .map(|line| python_string(line))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => {
                    losses.add(format!(
                        "`every = \"{}\"`: the interval does not divide a day, and Airflow's DeltaTriggerTimetable counts it from when the scheduler first sees the DAG, not from midnight UTC; use an interval that divides a day or a cron expression",
                        super::duration_text(*seconds)
                    ));
                    format!("DeltaTriggerTimetable(datetime.timedelta(seconds={seconds}))")
                }
            },
        });
        if let CatchUp::All { max } = schedule.catch_up {
            catchup = true;
            if let Some(max) = max {
                losses.add(format!(
                    "`max_catch_up = {max}`: Airflow makes up every missed run since the last one"
                ));
            }
        }
    }
    let mut assets = Vec::new();
    for trigger in &operations.triggers {
        match trigger {
            // An asset event starts the run as soon as the scheduler sees it: `within` holds.
            Trigger::AfterWorkflow { workflow, .. } => {
                assets.push(format!(
                    "Asset({})",
                    python_string(&format!("workflow://{workflow}"))
                ));
            }
            Trigger::File { pattern } => losses.add(format!(
                "the file trigger `{pattern}`: Airflow has no file watcher that starts a DAG"
            )),
        }
    }
    let schedule = match (timetable, assets.is_empty()) {
        (None, true) => "None".to_owned(),
        (Some(timetable), true) => timetable,
        (None, false) => format!("({})", assets.join(" | ")),
        (Some(timetable), false) => format!(
            "AssetOrTimeSchedule(timetable={timetable}, assets=({}))",
            assets.join(" | ")
        ),
    };
    match operations.overlap {
        // Airflow queues a run while `max_active_runs` are active: never two at once.
        Overlap::Forbid | Overlap::Queue => {}
        Overlap::Replace => losses.add(
            "`overlap = \"replace\"`: Airflow cannot stop an active run to start a new one; runs queue instead",
        ),
    }

    // Parameters.
    let _ = writeln!(text, "with DAG(");
    let _ = writeln!(text, "    dag_id=WORKFLOW,");
    let _ = writeln!(
        text,
        "    description={},",
        python_string(plan.doc.lines().next().unwrap_or("").trim())
    );
    let _ = writeln!(text, "    doc_md={},", python_string(&plan.doc));
    let _ = writeln!(text, "    schedule={schedule},");
    let _ = writeln!(
        text,
        "    start_date=pendulum.datetime({}, tz=\"UTC\"),",
        settings
            .start_date
            .unwrap_or_else(|| chrono::Utc::now().date_naive())
            .format("%Y, %-m, %-d")
    );
    let _ = writeln!(
        text,
        "    catchup={},",
        if catchup { "True" } else { "False" }
    );
    let _ = writeln!(text, "    max_active_runs=1,");
    if let Some(seconds) = operations.timeout_secs {
        let _ = writeln!(
            text,
            "    dagrun_timeout=datetime.timedelta(seconds={seconds}),"
        );
        if pause {
            losses.add(
                "`on_failure(pause)` with a run timeout: Airflow's scheduler fails a timed-out run without counting it towards pausing the DAG (only a run that fails by its tasks pauses it)",
            );
        }
    }
    // Not `fail_fast`: it skips the final task, and a run whose only leaf is skipped is marked
    // successful. A failed node makes its downstream tasks, and so the final one,
    // `upstream_failed`, which fails the run; `stop_after_failure` keeps new nodes from starting.
    if pause {
        // The scheduler pauses the DAG in the transaction that fails the run.
        let _ = writeln!(text, "    max_consecutive_failed_dag_runs=1,");
    }
    let _ = writeln!(text, "    params={{");
    for param in &plan.params {
        let is_partition = Some(param.name.as_str()) == partition;
        let described = python_string(&format!(
            "{}{}",
            param.ty,
            if is_partition {
                "; empty for the partition the schedule fired for"
            } else {
                ""
            }
        ));
        let definition = match (&param.source, is_partition) {
            (ValueSource::Unset, true) => format!("Param(None, description={described})"),
            (ValueSource::Unset, false) => {
                if scheduled || !operations.triggers.is_empty() {
                    losses.add(format!(
                        "parameter `{}` has no default and nothing sets it when the schedule or a trigger starts a run: give it a default or fix it with --param {}=...",
                        param.name, param.name
                    ));
                }
                format!("Param(description={described})")
            }
            _ => format!(
                "Param({}, description={described})",
                python_value(&param.value)
            ),
        };
        let _ = writeln!(
            text,
            "        {}: {definition},",
            python_string(&param.name)
        );
    }
    let _ = writeln!(text, "    }},");
    let _ = writeln!(
        text,
        "    user_defined_filters={{\"workflow_params\": workflow_params}},"
    );
    let _ = writeln!(text, "    on_failure_callback=on_failure,");
    let _ = writeln!(text, "    on_success_callback=on_success,");
    let _ = writeln!(text, "    default_args={{");
    let _ = writeln!(text, "        \"env\": ENV,");
    let _ = writeln!(text, "        \"append_env\": True,");
    if operations.on_failure != FailureAction::Continue {
        let _ = writeln!(text, "        \"pre_execute\": stop_after_failure,");
    }
    let _ = writeln!(text, "    }},");
    // Which version of the workflow this DAG runs: the plan's fingerprint, short in a tag.
    let _ = writeln!(
        text,
        "    tags=[\"workflow\", {}],",
        python_string(&format!(
            "plan:{}",
            Plan::short_fingerprint(&plan.fingerprint)
        ))
    );
    let _ = writeln!(text, ") as dag:");

    // Tasks.
    let mut variables = std::collections::BTreeMap::new();
    for (index, node) in plan.nodes.iter().enumerate() {
        // Node ids may hold dots (`snapshot.true`, a name's node in one arm of a branch).
        let mut variable = format!(
            "node_{}",
            node.id
                .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_")
        );
        if variables.values().any(|taken| *taken == variable) {
            variable = format!("{variable}_{index}");
        }
        variables.insert(node.id.clone(), variable.clone());
        let _ = writeln!(text);
        let description = node.description.lines().next().unwrap_or("").trim();
        if !description.is_empty() {
            let _ = writeln!(text, "    # {}: {}", node.id, description);
        }
        let mut options = Vec::new();
        options.push(format!("task_id={}", python_string(&node.id)));
        options.push(format!(
            "env={{**ENV, \"WORKFLOW_NODE\": {}}}",
            python_string(&node.id)
        ));
        options.extend(policy_options(node));
        if arm_of(plan, node).is_some() {
            options.push(format!(
                "skip_on_exit_code={}",
                crate::runner::run_dir::EXIT_SKIPPED
            ));
        } else {
            // BashOperator skips on 99 by default: only an arm's node is ever skipped.
            options.push("skip_on_exit_code=None".to_owned());
        }
        if reads_a_merge(plan, node) {
            // It reads whichever arm of the branch ran; the others are skipped.
            options.push("trigger_rule=\"none_failed_min_one_success\"".to_owned());
        }
        match &node.map {
            None => {
                options.insert(1, "bash_command=RUN_NODE".to_owned());
                let _ = writeln!(text, "    {variable} = NodeOperator(");
                for option in options {
                    let _ = writeln!(text, "        {option},");
                }
                let _ = writeln!(text, "    )");
            }
            Some(map) => {
                let elements = format!("{}__elements", node.id);
                let _ = writeln!(
                    text,
                    "    @task(task_id={}{})",
                    python_string(&elements),
                    if reads_a_merge(plan, node) {
                        ", trigger_rule=\"none_failed_min_one_success\""
                    } else {
                        ""
                    }
                );
                let _ = writeln!(
                    text,
                    "    def {variable}_elements(params=None, run_id=None, logical_date=None, dag_run=None):"
                );
                let _ = writeln!(
                    text,
                    "        fired = (logical_date or dag_run.run_after).isoformat()"
                );
                let _ = writeln!(
                    text,
                    "        listed = run_binary(\"exec-task\", WORKFLOW, {}, \"--elements\", \"--run-dir\", RUN_ROOT + \"/\" + run_id, \"--params-json\", workflow_params(params), \"--scheduled-at\", fired)",
                    python_string(&node.id)
                );
                let _ = writeln!(text, "        return json.loads(listed)");
                let _ = writeln!(text);
                if let Some(limit) = map.max_parallel {
                    options.push(format!("max_active_tis_per_dagrun={limit}"));
                }
                let _ = writeln!(text, "    {variable}_listed = {variable}_elements()");
                let _ = writeln!(text, "    {variable} = NodeOperator.partial(");
                for option in options {
                    let _ = writeln!(text, "        {option},");
                }
                let _ = writeln!(
                    text,
                    "    ).expand(bash_command={variable}_listed.map(lambda element: RUN_NODE + \" --element \" + str(int(element))))"
                );
                let _ = writeln!(text, "    {variable}_listed >> {variable}");
            }
        }
    }
    let _ = writeln!(text);
    let _ = writeln!(
        text,
        "    # A successful run updates this workflow's asset: workflows triggered by it start."
    );
    let _ = writeln!(
        text,
        "    succeeded = EmptyOperator(task_id={}, trigger_rule=\"{}\", outlets=[Asset({})])",
        python_string(SUCCEEDED),
        if plan.branches.is_empty() {
            "all_success"
        } else {
            "none_failed_min_one_success"
        },
        python_string(&format!("workflow://{name}"))
    );
    let _ = writeln!(text);
    for node in &plan.nodes {
        let upstream = upstream(plan, node);
        let variable = &variables[&node.id];
        let target = match node.map {
            Some(_) => format!("{variable}_listed"),
            None => variable.clone(),
        };
        if !upstream.is_empty() {
            let _ = writeln!(
                text,
                "    [{}] >> {target}",
                upstream
                    .iter()
                    .filter_map(|name| variables.get(*name))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let leaves: Vec<&String> = plan
        .nodes
        .iter()
        .filter(|node| !plan.edges.iter().any(|edge| edge.from == node.id))
        .filter_map(|node| variables.get(&node.id))
        .collect();
    let _ = writeln!(
        text,
        "    [{}] >> succeeded",
        leaves
            .iter()
            .map(|variable| variable.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !operations.pools.is_empty() {
        let _ = writeln!(text);
        let _ = writeln!(
            text,
            "# Pools this DAG's tasks take slots in; create them once:"
        );
        for pool in &operations.pools {
            let _ = writeln!(
                text,
                "#   airflow pools set {} {} {}",
                shell_quote(&pool.name),
                pool.slots,
                shell_quote(&format!("workflow {name}"))
            );
        }
    }
    let file = ExportFile {
        path: format!("{name}.py").into(),
        contents: text,
    };
    let notes = install_notes(plan, settings);
    Ok(vec![
        file,
        ExportFile {
            path: format!("{}.README.md", plan.workflow).into(),
            contents: notes,
        },
    ])
}

/// Retries, backoff, timeout and pool of one task.
fn policy_options(node: &PlanNode) -> Vec<String> {
    let policy = &node.policy;
    let mut options = Vec::new();
    options.push(format!("retries={}", policy.retries));
    if policy.retries > 0 {
        options.push(format!(
            "retry_delay=datetime.timedelta(seconds={})",
            policy.retry_delay_secs.unwrap_or(0)
        ));
        if policy.backoff == crate::Backoff::Exponential {
            options.push("retry_exponential_backoff=True".to_owned());
            if let Some(cap) = policy.max_retry_delay_secs {
                options.push(format!("max_retry_delay=datetime.timedelta(seconds={cap})"));
            }
        }
    }
    if let Some(seconds) = policy.timeout_secs {
        options.push(format!(
            "execution_timeout=datetime.timedelta(seconds={seconds})"
        ));
    }
    if let Some(pool) = &policy.pool {
        options.push(format!("pool={}", python_string(pool)));
    }
    options
}

/// A JSON value as a Python literal.
fn python_value(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => python_string(text),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(python_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(key, value)| format!("{}: {}", python_string(key), python_value(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Text inside a `"""` docstring: backslashes and quotes cannot end it early.
fn python_docstring(text: &str) -> String {
    text.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"")
}

fn install_notes(plan: &Plan, settings: &Settings) -> String {
    let name = &plan.workflow;
    let mut text = format!("# Workflow `{name}` on Apache Airflow\n\n");
    let _ = writeln!(
        text,
        "`{name}.py` is a DAG file for Airflow 3. Copy it into the DAGs folder, and install the \
         workflow binary at `{}` on every worker. Each run keeps its nodes' outputs under \
         `{}/{name}/<run id>`: that directory must be shared by all workers (NFS, EFS), or run \
         the DAG on one worker.\n",
        settings.binary, settings.run_root
    );
    if !plan.operations.pools.is_empty() {
        let _ = writeln!(text, "Create its pools once:\n\n```sh");
        for pool in &plan.operations.pools {
            let _ = writeln!(
                text,
                "airflow pools set {} {} {}",
                shell_quote(&pool.name),
                pool.slots,
                shell_quote(&format!("workflow {name}"))
            );
        }
        let _ = writeln!(text, "```\n");
    }
    let _ = writeln!(
        text,
        "Notices go out through the binary's `notify` (e-mail through `WORKFLOW_SMTP`, and \
         webhooks), so set `WORKFLOW_SMTP` in the workers' and the DAG processor's environment. \
         Secrets are read by the tasks on the worker, from the environment variables or files \
         the workflow names; their values are never in the DAG file.\n"
    );
    let _ = writeln!(
        text,
        "Try it: `airflow dags test {name}` runs one run here, every task through the binary."
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_python_literals() {
        let value = serde_json::json!({"a": [true, null, 1.5, "x\"y"]});
        assert_eq!(python_value(&value), r#"{"a": [True, None, 1.5, "x\"y"]}"#);
    }

    #[test]
    fn docstrings_cannot_be_closed_early() {
        assert_eq!(python_docstring(r#"a """ b \"#), r#"a \"\"\" b \\"#);
    }
}
