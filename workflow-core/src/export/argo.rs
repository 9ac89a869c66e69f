//! Argo Workflows manifests: a `CronWorkflow` for a scheduled workflow and a `Workflow` for
//! runs started by hand (and backfills), each with a DAG template whose tasks run
//! `<bin> exec-task` in the image, with `retryStrategy`, `activeDeadlineSeconds`,
//! `concurrencyPolicy`, pools as semaphores, `when` for branch arms (decided by `<bin> branch`)
//! and `withParam` for fan-out (over the elements `<bin> exec-task --elements` lists).
//!
//! Every value reaches the binary as an element of the container's `args` (no shell), through
//! workflow parameters, never pasted into a template: Argo would expand `{{...}}` in a value
//! written there, so a fixed value holding `{{` is refused.

use serde_json::{Map, Value, json};

use super::{
    ExportError, ExportFile, Losses, Settings, arm_of, dns_name, duration_text, param_text,
    upstream, yaml::to_yaml,
};
use crate::operations::{Cadence, CatchUp, FailureAction, Overlap, Trigger};
use crate::plan::{InputSource, Plan, ValueSource};

/// Argo's `retryStrategy.expression` (expr-lang, `lastRetry.exitCode` a string) that retries
/// every failure but a permanent one: exit 3 (`TaskError::permanent`) or 2 (an input not of
/// its type).
pub(crate) const PERMANENT_NOT_RETRIED: &str =
    "lastRetry.exitCode != \"2\" && lastRetry.exitCode != \"3\"";

/// The manifests for `plan`.
pub fn export(
    plan: &Plan,
    texts: &super::ParamTexts,
    settings: &Settings,
    losses: &mut Losses,
) -> Result<Vec<ExportFile>, ExportError> {
    let name = &plan.workflow;
    let kube_name = dns_name(name);
    let operations = &plan.operations;
    check_names(plan)?;
    for param in &plan.params {
        if param_text(texts, param).contains("{{") {
            return Err(ExportError::Name(format!(
                "the value of parameter `{}` holds `{{{{`, which Argo would read as a template; pass it when the run is submitted instead",
                param.name
            )));
        }
    }
    for trigger in &operations.triggers {
        losses.add(match trigger {
            Trigger::AfterWorkflow { workflow, .. } => format!(
                "the trigger after `{workflow}`: Argo Workflows starts runs only on a schedule or by hand (Argo Events can submit the Workflow manifest)"
            ),
            Trigger::File { pattern } => format!(
                "the file trigger `{pattern}`: Argo Workflows has no file watcher (Argo Events can submit the Workflow manifest)"
            ),
        });
    }
    let mut files = Vec::new();
    if let Some(schedule) = &operations.schedule {
        let (schedules, when, timezone) = match &schedule.when {
            Cadence::Cron(expression) => {
                let written = match super::timetable(schedule, losses) {
                    Some(timetable) => {
                        // Argo reads cron with robfig/cron, which walks real time in the zone.
                        super::check_dst(
                            &timetable,
                            workflow_schedule::DstRule::RealTime,
                            "Argo",
                            losses,
                        );
                        match &timetable.when {
                            workflow_schedule::When::Cron(cron) => cron.canonical(),
                            workflow_schedule::When::Every(_) => expression.clone(),
                        }
                    }
                    None => expression.clone(),
                };
                (vec![Value::from(written)], None, schedule.timezone.as_str())
            }
            // Intervals count from midnight UTC.
            Cadence::EverySecs(seconds) => match super::interval_crons(*seconds) {
                Some(lines) => (lines.into_iter().map(Value::from).collect(), None, "UTC"),
                None => {
                    let (lines, when) = interval_schedules(*seconds, losses);
                    (lines, when, "UTC")
                }
            },
        };
        let mut spec = Map::new();
        spec.insert("schedules".into(), Value::Array(schedules));
        spec.insert("timezone".into(), Value::from(timezone));
        if let Some(when) = when {
            spec.insert("when".into(), Value::from(when));
        }
        spec.insert(
            "concurrencyPolicy".into(),
            Value::from(match operations.overlap {
                Overlap::Forbid => "Forbid",
                // The runs wait for the workflow's mutex (below): a queue.
                Overlap::Queue => "Allow",
                Overlap::Replace => "Replace",
            }),
        );
        match schedule.catch_up {
            // A missed fire time is run only within ten minutes, as `tick` does.
            CatchUp::Skip => {
                spec.insert("startingDeadlineSeconds".into(), Value::from(600));
            }
            CatchUp::Latest => {
                spec.insert("startingDeadlineSeconds".into(), Value::from(7 * 86_400));
            }
            CatchUp::All { .. } => {
                losses.add(
                    "`catch_up = \"all\"`: Argo makes up only the latest missed run of a CronWorkflow",
                );
                spec.insert("startingDeadlineSeconds".into(), Value::from(7 * 86_400));
            }
        }
        if operations.on_failure == FailureAction::Pause && operations.overlap == Overlap::Queue {
            losses.add(
                "`on_failure(pause)` with `overlap = \"queue\"`: a run already waiting for the workflow's mutex when one fails still starts; Argo suspends the CronWorkflow only for later fire times",
            );
        }
        spec.insert(
            "workflowSpec".into(),
            workflow_spec(plan, texts, settings, true, losses),
        );
        let document = json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "CronWorkflow",
            "metadata": metadata(plan, settings, json!({"name": kube_name})),
            "spec": Value::Object(spec),
        });
        files.push(ExportFile {
            path: format!("{name}.cronworkflow.yaml").into(),
            contents: header(plan, "CronWorkflow") + &to_yaml(&document),
        });
    }
    let mut manual_losses = Losses::default();
    let document = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": metadata(plan, settings, json!({"generateName": format!("{kube_name}-")})),
        "spec": workflow_spec(plan, texts, settings, false, &mut manual_losses),
    });
    if operations.schedule.is_none() {
        for loss in manual_losses.0 {
            losses.add(loss);
        }
    }
    files.push(ExportFile {
        path: format!("{name}.workflow.yaml").into(),
        contents: header(plan, "Workflow") + &to_yaml(&document),
    });
    if !operations.pools.is_empty() {
        let data: Map<String, Value> = operations
            .pools
            .iter()
            .map(|pool| (pool.name.clone(), Value::from(pool.slots.to_string())))
            .collect();
        let document = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": format!("{kube_name}-pools"), "namespace": settings.namespace},
            "data": data,
        });
        files.push(ExportFile {
            path: format!("{name}.pools.yaml").into(),
            contents: format!(
                "# The pools of workflow `{name}`: how many of its tasks may hold each at once.\n"
            ) + &to_yaml(&document),
        });
    }
    files.push(ExportFile {
        path: format!("{}.README.md", plan.workflow).into(),
        contents: install_notes(plan, settings),
    });
    Ok(files)
}

fn header(plan: &Plan, kind: &str) -> String {
    let summary = plan
        .doc
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .replace(['\r'], "");
    format!(
        "# Workflow `{}` as an Argo {kind}: {}\n# Exported from `{}`; every task runs the workflow binary's `exec-task`.\n",
        plan.workflow, summary, plan.rust_path
    )
}

fn metadata(plan: &Plan, settings: &Settings, name: Value) -> Value {
    let mut metadata = match name {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    metadata.insert("namespace".into(), Value::from(settings.namespace.as_str()));
    metadata.insert(
        "labels".into(),
        json!({"workflows.workflow-core/workflow": dns_name(&plan.workflow)}),
    );
    // Which version of the workflow this manifest runs.
    metadata.insert(
        "annotations".into(),
        json!({"workflows.workflow-core/plan-fingerprint": plan.fingerprint}),
    );
    Value::Object(metadata)
}

/// Argo's names are DNS labels; two nodes must not map to one.
fn check_names(plan: &Plan) -> Result<(), ExportError> {
    let mut seen: std::collections::BTreeMap<String, &str> = Default::default();
    let reserved = [
        "main",
        "exit-handler",
        "notify-failed",
        "notify-succeeded",
        "pause-schedule",
    ];
    for node in &plan.nodes {
        let task = dns_name(&node.id);
        if reserved.contains(&task.as_str())
            || task.starts_with("branch-")
            || task.ends_with("-elements")
            || task.ends_with("-each")
        {
            return Err(ExportError::Name(format!(
                "node `{}` would be Argo task `{task}`, a name the export uses itself; rename the node",
                node.id
            )));
        }
        if let Some(other) = seen.insert(task.clone(), &node.id) {
            return Err(ExportError::Name(format!(
                "nodes `{other}` and `{}` would both be Argo task `{task}`; rename one",
                node.id
            )));
        }
    }
    Ok(())
}

/// The cron lines that cover every time of day an interval counted from the epoch falls on,
/// and the `when` expression that keeps only the real fire times.
fn interval_schedules(seconds: u64, losses: &mut Losses) -> (Vec<Value>, Option<String>) {
    const DAY: u64 = 86_400;
    let step = super::gcd(seconds.max(1), DAY);
    if !step.is_multiple_of(60) {
        losses.add(format!(
            "the interval {}: Argo's schedules have whole minutes",
            duration_text(seconds)
        ));
    }
    let step = step.max(60) / 60 * 60;
    let mut by_minute: std::collections::BTreeMap<u64, Vec<u64>> = Default::default();
    let mut time = 0;
    while time < DAY {
        by_minute
            .entry(time / 60 % 60)
            .or_default()
            .push(time / 3600);
        time += step;
    }
    let lines = by_minute
        .into_iter()
        .map(|(minute, hours)| {
            let hours = if hours.len() == 24 {
                "*".to_owned()
            } else {
                hours
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            Value::from(format!("{minute} {hours} * * *"))
        })
        .collect();
    // The lines fire every `step`; the condition keeps the fire times, read within a step.
    let window = step.min(300);
    (
        lines,
        Some(format!("{{{{= now().Unix() % {seconds} < {window} }}}}")),
    )
}

/// A Kubernetes quantity for thousandths of a core.
fn cpu_quantity(millis: u32) -> String {
    if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

/// A Kubernetes quantity for bytes.
fn memory_quantity(bytes: u64) -> String {
    for (unit, size) in [("Gi", 1u64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// The `spec` of a Workflow (or of a CronWorkflow's `workflowSpec`).
fn workflow_spec(
    plan: &Plan,
    texts: &super::ParamTexts,
    settings: &Settings,
    scheduled: bool,
    losses: &mut Losses,
) -> Value {
    let name = &plan.workflow;
    let kube_name = dns_name(name);
    let operations = &plan.operations;
    let partition = operations
        .partition
        .as_ref()
        .map(|partition| partition.param.as_str());
    // Parameters: all of them, but a scheduled run's partition comes from its fire time.
    let mut parameters = Vec::new();
    let mut passed = Vec::new();
    for param in &plan.params {
        let is_partition = Some(param.name.as_str()) == partition;
        if scheduled && is_partition && param.source == ValueSource::Unset {
            continue;
        }
        let mut parameter = Map::new();
        parameter.insert("name".into(), Value::from(param.name.as_str()));
        if param.source == ValueSource::Unset {
            if scheduled {
                losses.add(format!(
                    "parameter `{}` has no default and nothing sets it when the schedule starts a run: give it a default or fix it with --param {}=...",
                    param.name, param.name
                ));
            }
        } else {
            parameter.insert("value".into(), Value::from(param_text(texts, param)));
        }
        parameter.insert("description".into(), Value::from(param.ty.as_str()));
        parameters.push(Value::Object(parameter));
        passed.push(param.name.clone());
    }
    let run_dir = format!(
        "{}/{name}/{{{{workflow.name}}}}",
        settings.run_root.trim_end_matches('/')
    );
    let mut common_args: Vec<Value> = vec![Value::from("--run-dir"), Value::from(run_dir)];
    for param in &passed {
        common_args.push(Value::from("--param"));
        common_args.push(Value::from(format!(
            "{param}={{{{workflow.parameters.{param}}}}}"
        )));
    }
    if scheduled {
        common_args.push(Value::from("--scheduled-at"));
        common_args.push(Value::from("{{workflow.scheduledTime}}"));
    }

    let secrets_name = format!("{kube_name}-secrets");
    let mut env = vec![json!({
        "name": "WORKFLOW_SMTP",
        "valueFrom": {"secretKeyRef": {"name": secrets_name, "key": "WORKFLOW_SMTP", "optional": true}},
    })];
    let mut volumes = vec![json!({
        "name": "runs",
        "persistentVolumeClaim": {"claimName": settings.volume_claim},
    })];
    let mut mounts = vec![json!({"name": "runs", "mountPath": settings.run_root})];
    for secret in &plan.secrets {
        let key = secret.name.replace('_', "-");
        match &secret.source {
            crate::SecretSource::Env(variable) => env.push(json!({
                "name": variable,
                "valueFrom": {"secretKeyRef": {"name": secrets_name, "key": key}},
            })),
            crate::SecretSource::File(path) => {
                let volume = format!("secret-{}", dns_name(&secret.name));
                volumes.push(json!({
                    "name": volume,
                    "secret": {"secretName": secrets_name, "items": [{"key": key, "path": key}]},
                }));
                mounts.push(json!({
                    "name": volume,
                    "mountPath": path.display().to_string(),
                    "subPath": key,
                    "readOnly": true,
                }));
            }
        }
    }
    let container = |args: Vec<Value>, resources: Option<Value>| {
        let mut container = Map::new();
        container.insert("image".into(), Value::from(settings.image.as_str()));
        container.insert("command".into(), json!([settings.binary]));
        container.insert("args".into(), Value::Array(args));
        container.insert("env".into(), Value::Array(env.clone()));
        container.insert("volumeMounts".into(), Value::Array(mounts.clone()));
        if let Some(resources) = resources {
            container.insert("resources".into(), resources);
        }
        Value::Object(container)
    };
    let with_common = |mut args: Vec<Value>| {
        args.extend(common_args.iter().cloned());
        args
    };

    let mut tasks = Vec::new();
    let mut templates = Vec::new();
    for (index, branch) in plan.branches.iter().enumerate() {
        let task = format!("branch-{index}");
        let mut dependencies = Vec::new();
        if let InputSource::Node(on) = &branch.on {
            for producer in super::producers(plan, on) {
                dependencies.push(Value::from(dns_name(producer)));
            }
        }
        let mut dag_task = json!({"name": task, "template": task});
        if !dependencies.is_empty() {
            dag_task["dependencies"] = Value::Array(dependencies);
        }
        tasks.push(dag_task);
        templates.push(json!({
            "name": task,
            "container": container(
                with_common(vec![Value::from("branch"), Value::from(name.as_str()), Value::from(index.to_string())]),
                None,
            ),
        }));
    }
    for node in &plan.nodes {
        let task = dns_name(&node.id);
        let mut dependencies: Vec<Value> = upstream(plan, node)
            .into_iter()
            .map(|name| Value::from(dns_name(name)))
            .collect();
        let mut when = None;
        if let Some((branch, arm)) = arm_of(plan, node) {
            dependencies.push(Value::from(format!("branch-{branch}")));
            when = Some(format!(
                "'{{{{tasks.branch-{branch}.outputs.result}}}}' == '{arm}'"
            ));
        }
        let policy = &node.policy;
        let mut template = Map::new();
        template.insert("name".into(), Value::from(task.as_str()));
        if node.map.is_some() {
            template.insert(
                "inputs".into(),
                json!({"parameters": [{"name": "element"}]}),
            );
        }
        if policy.retries > 0 {
            let mut retry = Map::new();
            retry.insert("limit".into(), Value::from(policy.retries.to_string()));
            retry.insert("retryPolicy".into(), Value::from("Always"));
            // Not after exit 3 (`TaskError::permanent`) or 2 (an input not of its type);
            // Argo gives the exit code as text (`-1` when the container gave none).
            retry.insert("expression".into(), Value::from(PERMANENT_NOT_RETRIED));
            if let Some(delay) = policy.retry_delay_secs {
                let mut backoff = Map::new();
                backoff.insert("duration".into(), Value::from(duration_text(delay)));
                if policy.backoff == crate::Backoff::Exponential {
                    backoff.insert("factor".into(), Value::from("2"));
                    if let Some(cap) = policy.max_retry_delay_secs {
                        backoff.insert("cap".into(), Value::from(duration_text(cap)));
                    }
                }
                retry.insert("backoff".into(), Value::Object(backoff));
            }
            template.insert("retryStrategy".into(), Value::Object(retry));
        }
        if let Some(seconds) = policy.timeout_secs {
            template.insert(
                "activeDeadlineSeconds".into(),
                Value::from(seconds.to_string()),
            );
        }
        if let Some(pool) = &policy.pool {
            template.insert(
                "synchronization".into(),
                json!({"semaphores": [{"configMapKeyRef": {"name": format!("{kube_name}-pools"), "key": pool}}]}),
            );
        }
        let mut requests = Map::new();
        if let Some(millis) = policy.cpu_millis {
            requests.insert("cpu".into(), Value::from(cpu_quantity(millis)));
        }
        if let Some(bytes) = policy.memory_bytes {
            requests.insert("memory".into(), Value::from(memory_quantity(bytes)));
        }
        let resources = (!requests.is_empty()).then(|| json!({"requests": requests}));
        let mut args = vec![
            Value::from("exec-task"),
            Value::from(name.as_str()),
            Value::from(node.id.as_str()),
        ];
        if node.map.is_some() {
            args.push(Value::from("--element"));
            args.push(Value::from("{{inputs.parameters.element}}"));
        }
        template.insert("container".into(), container(with_common(args), resources));
        templates.push(Value::Object(template));

        let mut dag_task = Map::new();
        dag_task.insert("name".into(), Value::from(task.as_str()));
        match &node.map {
            None => {
                dag_task.insert("template".into(), Value::from(task.as_str()));
            }
            Some(map) => {
                // `<node>-elements` lists the element indices; `<node>-each` runs one task per
                // index, at most `max_parallel` at once.
                let elements = format!("{task}-elements");
                let mut elements_task = json!({"name": elements, "template": elements});
                if !dependencies.is_empty() {
                    elements_task["dependencies"] = Value::Array(dependencies.clone());
                }
                if let Some(when) = &when {
                    elements_task["when"] = Value::from(when.as_str());
                }
                tasks.push(elements_task);
                templates.push(json!({
                    "name": elements,
                    "container": container(
                        with_common(vec![
                            Value::from("exec-task"),
                            Value::from(name.as_str()),
                            Value::from(node.id.as_str()),
                            Value::from("--elements"),
                        ]),
                        None,
                    ),
                }));
                let each = format!("{task}-each");
                let mut each_template = json!({
                    "name": each,
                    "inputs": {"parameters": [{"name": "elements"}]},
                    "dag": {"tasks": [{
                        "name": "element",
                        "template": task,
                        "withParam": "{{inputs.parameters.elements}}",
                        "arguments": {"parameters": [{"name": "element", "value": "{{item}}"}]},
                    }]},
                });
                if let Some(limit) = map.max_parallel {
                    each_template["parallelism"] = Value::from(limit);
                }
                templates.push(each_template);
                dag_task.insert("template".into(), Value::from(each));
                dag_task.insert(
                    "arguments".into(),
                    json!({"parameters": [{"name": "elements", "value": format!("{{{{tasks.{elements}.outputs.result}}}}")}]}),
                );
                dependencies = vec![Value::from(elements)];
            }
        }
        if !dependencies.is_empty() {
            dag_task.insert("dependencies".into(), Value::Array(dependencies));
        }
        if let Some(when) = when {
            dag_task.insert("when".into(), Value::from(when));
        }
        tasks.push(Value::Object(dag_task));
    }

    let mut main = json!({"name": "main", "dag": {"tasks": tasks}});
    if operations.on_failure == FailureAction::Continue {
        main["dag"]["failFast"] = Value::from(false);
    }
    let mut all_templates = vec![main];
    all_templates.extend(templates);

    let mut spec = Map::new();
    spec.insert("entrypoint".into(), Value::from("main"));
    if !parameters.is_empty() {
        spec.insert(
            "arguments".into(),
            json!({"parameters": Value::Array(parameters)}),
        );
    }
    if let Some(seconds) = operations.timeout_secs {
        spec.insert("activeDeadlineSeconds".into(), Value::from(seconds));
    }
    if operations.overlap != Overlap::Replace {
        // Runs of this workflow never overlap: a second one waits for the first.
        spec.insert(
            "synchronization".into(),
            json!({"mutexes": [{"name": kube_name}]}),
        );
    }
    let notify_failure = !operations.notify_failure.is_empty();
    let notify_success = !operations.notify_success.is_empty();
    // `pause` suspends the CronWorkflow (`spec.suspend`, what `argo cron suspend` sets) from
    // the failed run's exit handler: `argo cron resume` clears it and the schedule goes on.
    // Not `stopStrategy`: it stops the CronWorkflow for good (phase Stopped, which resume does
    // not clear, and a failed counter that keeps its condition true).
    let pause = operations.on_failure == FailureAction::Pause && operations.schedule.is_some();
    if operations.on_failure == FailureAction::Pause && operations.schedule.is_none() {
        losses.add(
            "`on_failure(pause)` of a workflow without a schedule: on Argo nothing starts its runs by itself, so there is nothing to suspend",
        );
    }
    if notify_failure || notify_success || pause {
        spec.insert("onExit".into(), Value::from("exit-handler"));
        // One group of parallel steps: the notice does not wait for, or depend on, the pause.
        let mut group = Vec::new();
        // What an exit step that talks to a relay or the API server retries: a blip.
        let retry = json!({"limit": "3", "backoff": {"duration": "10s", "factor": "2"}});
        if pause {
            group.push(json!({
                "name": "pause-schedule",
                "template": "pause-schedule",
                "when": "{{workflow.status}} != Succeeded",
            }));
            all_templates.push(json!({
                "name": "pause-schedule",
                "retryStrategy": retry,
                "resource": {
                    "action": "patch",
                    "mergeStrategy": "merge",
                    "manifest": to_yaml(&json!({
                        "apiVersion": "argoproj.io/v1alpha1",
                        "kind": "CronWorkflow",
                        "metadata": {"name": kube_name, "namespace": settings.namespace},
                        "spec": {"suspend": true},
                    })),
                },
            }));
        }
        for (status, wanted, condition) in [
            ("failed", notify_failure, "{{workflow.status}} != Succeeded"),
            (
                "succeeded",
                notify_success,
                "{{workflow.status}} == Succeeded",
            ),
        ] {
            if !wanted {
                continue;
            }
            let template = format!("notify-{status}");
            group.push(json!({"name": template, "template": template, "when": condition}));
            all_templates.push(json!({
                "name": template,
                "retryStrategy": retry,
                "container": container(
                    vec![
                        Value::from("notify"),
                        Value::from(name.as_str()),
                        Value::from("--status"),
                        Value::from(status),
                        Value::from("--reason"),
                        Value::from(if status == "failed" {
                            "Argo workflow {{workflow.name}} ended {{workflow.status}}; failed steps: {{workflow.failures}}"
                        } else {
                            "Argo workflow {{workflow.name}} ended {{workflow.status}}"
                        }),
                    ],
                    None,
                ),
            }));
        }
        all_templates.push(json!({"name": "exit-handler", "steps": [group]}));
    }
    spec.insert("templates".into(), Value::Array(all_templates));
    spec.insert("volumes".into(), Value::Array(volumes));
    Value::Object(spec)
}

fn install_notes(plan: &Plan, settings: &Settings) -> String {
    let name = &plan.workflow;
    let kube_name = dns_name(name);
    let mut text = format!("# Workflow `{name}` on Argo Workflows\n\n");
    text.push_str(&format!(
        "Every task runs `{}` from the image `{}`, with the persistent volume claim `{}` mounted \
         at `{}`: the run's nodes hand each other their outputs there, so it must be \
         ReadWriteMany (or the workflow's pods must share a node).\n\n",
        settings.binary, settings.image, settings.volume_claim, settings.run_root
    ));
    text.push_str("```sh\n");
    if !plan.operations.pools.is_empty() {
        text.push_str(&format!("kubectl apply -f {name}.pools.yaml\n"));
    }
    text.push_str(&format!(
        "kubectl -n {} create secret generic {kube_name}-secrets --from-literal=WORKFLOW_SMTP=mail-relay:25",
        settings.namespace
    ));
    for secret in &plan.secrets {
        text.push_str(&format!(
            " \\\n    --from-literal={}=...",
            secret.name.replace('_', "-")
        ));
    }
    text.push('\n');
    if plan.operations.schedule.is_some() {
        text.push_str(&format!(
            "argo cron create {name}.cronworkflow.yaml          # runs on the schedule\n"
        ));
    }
    text.push_str(&format!(
        "argo submit {name}.workflow.yaml{}   # one run now\n```\n\n",
        match &plan.operations.partition {
            Some(partition) => format!(" -p {}=2026-11-21", partition.param),
            None => String::new(),
        }
    ));
    text.push_str(
        "Secrets are references: the pods read them from the Kubernetes secret above, never \
         from these manifests. A schedule given as an interval needs Argo 3.6 or later (its \
         `when`).\n",
    );
    if plan.operations.on_failure == FailureAction::Pause && plan.operations.schedule.is_some() {
        text.push_str(&format!(
            "\nA failed run suspends the CronWorkflow from its exit handler, so the workflow's \
             service account must be allowed to patch it: a Role with `patch` on \
             `cronworkflows.argoproj.io` named `{kube_name}` in `{}`, bound to that account. \
             Resume it with `argo cron resume {kube_name}` once the cause is fixed.\n",
            settings.namespace
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_become_cron_lines_and_a_condition() {
        let mut losses = Losses::default();
        let (lines, when) = interval_schedules(9_000, &mut losses);
        assert_eq!(lines, [json!("0 * * * *"), json!("30 * * * *")]);
        assert_eq!(when.unwrap(), "{{= now().Unix() % 9000 < 300 }}");
        assert!(losses.0.is_empty());
    }

    #[test]
    fn quantities() {
        assert_eq!(cpu_quantity(8000), "8");
        assert_eq!(cpu_quantity(500), "500m");
        assert_eq!(memory_quantity(28 << 30), "28Gi");
        assert_eq!(memory_quantity(1000), "1000");
    }
}
