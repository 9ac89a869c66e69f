//! AWS Step Functions: an Amazon States Language state machine, an EventBridge Scheduler
//! schedule, and EventBridge rules for runs after another workflow.
//!
//! Each node runs `<bin> exec-task` through SSM Run Command (`AWS-RunShellScript`) on one EC2
//! instance tagged with the node's pool, picked by the machine among those SSM sees online:
//! the pool is the machine, as in seed 000's two servers, and unlike an ECS task a command's
//! output comes back to the state machine, which branches (Choice) and fans out (Map) on what
//! the binary prints. A node is a Parallel state of one branch (pick an instance, send the
//! command, poll with a bound, succeed or fail) so that its Retry runs it again: on another
//! instance when the first went away before the command reached it, and with the node's delay
//! and backoff when the attempt failed. Every AWS API call retries throttling and service
//! errors. A failed stage publishes the failure to SNS. Stages of nodes that do not depend on
//! each other run as Parallel states.
//!
//! The shell line SSM runs holds only constants quoted at export time and one base64 word
//! carrying the run's directory, parameters and fire time (`--run-spec`): nothing a parameter
//! holds is ever read by the shell.

use serde_json::{Map, Value, json};

use super::{ExportError, ExportFile, Losses, Settings, arm_of, duration_text, shell_quote};
use crate::operations::{Cadence, FailureAction, Overlap, Trigger};
use crate::plan::{Plan, PlanNode};

/// How long to wait between polls of a running command: every 30 seconds for its first ten
/// minutes, every 2 minutes for the next two hours, then every 10 minutes, so that a long
/// command stays well within an execution's 25,000 history events (a poll costs about 11).
const POLL_TIERS: [(u64, u64); 3] = [(30, 20), (120, 60), (600, u64::MAX)];

/// The shortest wait between polls.
const POLL_SECONDS: u64 = POLL_TIERS[0].0;

/// How many polls cover `seconds` of a command, waiting as [`POLL_TIERS`] says.
fn polls_for(seconds: u64) -> u64 {
    let mut left = seconds;
    let mut polls: u64 = 0;
    for (wait, count) in POLL_TIERS {
        let span = wait.saturating_mul(count);
        if left <= span {
            return polls + left.div_ceil(wait);
        }
        left -= span;
        polls += count;
    }
    polls
}

/// How long SSM may take to deliver a command to its instance (`sendCommand`'s
/// `TimeoutSeconds`); an undelivered command never ran.
const DELIVERY_SECONDS: u64 = 600;

/// A node's attempt without `#[timeout]` may run this long (SSM's `executionTimeout`).
const DEFAULT_NODE_TIMEOUT_SECONDS: u64 = super::DEFAULT_ATTEMPT_SECS;

/// How many times a node is sent again, to another online instance of its pool, when the
/// chosen one went away before the command reached it.
const INSTANCE_GONE_RETRIES: u64 = 2;

/// How long a queued execution waits between looks at the running one.
const QUEUE_WAIT_SECONDS: u64 = 60;

/// The Retry of every AWS API call: throttling and service errors are retried with
/// exponential backoff and full jitter (AWS's advice for its APIs), about six minutes in all.
fn api_retry() -> Value {
    json!({
        "ErrorEquals": ["States.TaskFailed"],
        "IntervalSeconds": 2,
        "MaxAttempts": 8,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 60,
        "JitterStrategy": "FULL",
    })
}

/// The longest one attempt of a command can keep its state machine busy, in seconds: SSM's
/// delivery and execution timeouts, and the longest wait for a poll to see the end.
fn attempt_ceiling(timeout: u64) -> u64 {
    DELIVERY_SECONDS + timeout + 2 * POLL_SECONDS + POLL_TIERS[2].0
}

/// The longest a node can take, in seconds, over all its attempts, delays and re-sends.
fn node_ceiling(node: &PlanNode) -> u64 {
    super::node_ceiling(node, INSTANCE_GONE_RETRIES, attempt_ceiling)
        .saturating_add(INSTANCE_GONE_RETRIES * 60)
}

/// The state machine, its schedule and rules, and install notes.
pub fn export(
    plan: &Plan,
    settings: &Settings,
    losses: &mut Losses,
) -> Result<Vec<ExportFile>, ExportError> {
    let name = &plan.workflow;
    let operations = &plan.operations;
    let arn = |service: &str, resource: &str| {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            settings.aws_region, settings.aws_account
        )
    };
    let machine_arn = arn("states", &format!("stateMachine:{name}"));
    let topic_arn = arn("sns", &format!("{name}-notifications"));
    let role_arn = format!(
        "arn:aws:iam::{}:role/{name}-scheduler",
        settings.aws_account
    );
    for trigger in &operations.triggers {
        if let Trigger::File { pattern } = trigger {
            losses.add(format!(
                "the file trigger `{pattern}`: Step Functions starts on a schedule or an event; send an S3 event to EventBridge instead"
            ));
        }
    }
    if operations.overlap == Overlap::Replace {
        losses.add("`overlap = \"replace\"`: the state machine does not stop a running execution; the new one waits instead");
    }
    if operations.overlap == Overlap::Queue && operations.on_failure == FailureAction::Pause {
        losses.add("`on_failure(pause)` with `overlap = \"queue\"`: an execution already waiting when one fails still runs; pausing turns off only what starts new ones");
    }
    if operations.timeout_secs.is_some()
        && (!operations.notify_failure.is_empty() || operations.on_failure == FailureAction::Pause)
    {
        losses.add(format!(
            "the run timeout with {}: Step Functions ends a timed-out execution at once, without its failure path (AWS: catchers do not apply to the execution's own timeout)",
            if operations.on_failure == FailureAction::Pause {
                "`on_failure(pause)`"
            } else {
                "failure notices"
            }
        ));
    }
    for param in &plan.params {
        let is_partition = operations
            .partition
            .as_ref()
            .is_some_and(|partition| partition.param == param.name);
        if param.source == crate::plan::ValueSource::Unset
            && !is_partition
            && (operations.schedule.is_some() || !operations.triggers.is_empty())
        {
            losses.add(format!(
                "parameter `{}` has no default and nothing sets it when the schedule or a trigger starts a run: give it a default or fix it with --param {}=...",
                param.name, param.name
            ));
        }
    }

    let mut builder = Builder {
        plan,
        settings,
        states: Map::new(),
    };
    let mut start = Vec::new();
    // The run: its directory, and the parameters fixed by the export under those given.
    let fixed: Map<String, Value> = super::fixed_params(plan)
        .into_iter()
        .map(|param| (param.name.clone(), param.value.clone()))
        .collect();
    builder.states.insert(
        "Prepare the run".into(),
        json!({
            "Type": "Pass",
            "Comment": "The run's directory on storage every instance mounts, its parameters and fire time.",
            "Parameters": {
                "dir.$": format!(
                    "States.Format('{}', $$.Execution.Name)",
                    intrinsic_literal(&format!("{}/{name}/", settings.run_root.trim_end_matches('/'))) + "{}"
                ),
                "params.$": "States.JsonMerge($.fixed, $.params, false)",
                "scheduled_at.$": "$.scheduled_at",
            },
            "ResultPath": "$.run",
            "Next": "Check for a running execution",
        }),
    );
    start.push("Defaults".to_owned());
    builder.states.insert(
        "Defaults".into(),
        json!({
            "Type": "Pass",
            "Comment": "Fixed parameters, and empty values for what the execution's input leaves out.",
            "Parameters": {"fixed": Value::Object(fixed), "params": {}, "scheduled_at": ""},
            "ResultPath": "$.defaults",
            "Next": "Read the input",
        }),
    );
    builder.states.insert(
        "Read the input".into(),
        json!({
            "Type": "Pass",
            "Parameters": {
                "fixed.$": "$.defaults.fixed",
                "params.$": "States.JsonMerge($.defaults.params, $$.Execution.Input.params, false)",
                "scheduled_at.$": "$$.Execution.Input.scheduled_at",
                "queue": {"waits": 0},
            },
            "Next": "Prepare the run",
        }),
    );
    // Never two executions at once: wait while another runs (or give up, for `forbid`).
    builder.states.insert(
        "Check for a running execution".into(),
        json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sfn:listExecutions",
            "Parameters": {"StateMachineArn.$": "$$.StateMachine.Id", "StatusFilter": "RUNNING"},
            "ResultSelector": {"running.$": "States.ArrayLength($.Executions)"},
            "ResultPath": "$.overlap",
            "Retry": [api_retry()],
            "Next": "Another execution running?",
        }),
    );
    // The longest another execution can run: the workflow's timeout, or every stage's
    // slowest node at its ceiling. A queued execution waits that long at most.
    let run_ceiling = super::run_ceiling(plan, |node| {
        // A fan-out node lists its elements first; a branch arm asks first.
        node_ceiling(node).saturating_add(2 * attempt_ceiling(DEFAULT_NODE_TIMEOUT_SECONDS))
    });
    let max_waits = run_ceiling.div_ceil(QUEUE_WAIT_SECONDS) + 1;
    let choices = match operations.overlap {
        Overlap::Forbid => {
            json!([{"Variable": "$.overlap.running", "NumericGreaterThan": 1, "Next": "Already running"}])
        }
        Overlap::Queue | Overlap::Replace => json!([
            {"And": [
                {"Variable": "$.overlap.running", "NumericGreaterThan": 1},
                {"Variable": "$.queue.waits", "NumericGreaterThanEquals": max_waits},
            ], "Next": "Waited too long"},
            {"Variable": "$.overlap.running", "NumericGreaterThan": 1, "Next": "Wait for the running execution"},
        ]),
    };
    builder.states.insert(
        "Another execution running?".into(),
        json!({
            "Type": "Choice",
            "Choices": choices,
            "Default": "Stage 0",
        }),
    );
    match operations.overlap {
        Overlap::Forbid => {
            builder.states.insert(
                "Already running".into(),
                json!({
                    "Type": "Fail",
                    "Error": "Workflow.AlreadyRunning",
                    "Cause": "another execution of this workflow is running, and it never runs twice at once; this start is refused",
                }),
            );
        }
        Overlap::Queue | Overlap::Replace => {
            builder.states.insert(
                "Wait for the running execution".into(),
                json!({"Type": "Wait", "Seconds": QUEUE_WAIT_SECONDS, "Next": "Count the wait"}),
            );
            builder.states.insert(
                "Count the wait".into(),
                json!({
                    "Type": "Pass",
                    "Parameters": {"waits.$": "States.MathAdd($.queue.waits, 1)"},
                    "ResultPath": "$.queue",
                    "Next": "Check for a running execution",
                }),
            );
            builder.states.insert(
                "Waited too long".into(),
                json!({
                    "Type": "Fail",
                    "Error": "Workflow.QueueTimedOut",
                    "Cause": format!(
                        "another execution was still running after {}, longer than any run of this workflow can take",
                        duration_text(max_waits * QUEUE_WAIT_SECONDS)
                    ),
                }),
            );
        }
    }
    // Stages: one after the other; the nodes of a stage in parallel.
    let stage_count = plan.stages.len();
    for (index, stage) in plan.stages.iter().enumerate() {
        let next = if index + 1 < stage_count {
            format!("Stage {}", index + 1)
        } else {
            "Run succeeded".to_owned()
        };
        let nodes: Vec<&PlanNode> = stage
            .iter()
            .filter_map(|id| plan.nodes.iter().find(|node| node.id == *id))
            .collect();
        let mut branches = Vec::new();
        for node in &nodes {
            let mut states = Map::new();
            let first = builder.node_states(node, &mut states);
            branches.push(json!({"StartAt": first, "States": Value::Object(states)}));
        }
        builder.states.insert(
            format!("Stage {index}"),
            json!({
                "Type": "Parallel",
                "Comment": format!("Nodes {}", stage.join(", ")),
                "Branches": branches,
                "ResultPath": null,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Run failed"}],
                "Next": next,
            }),
        );
    }
    if stage_count == 0 {
        builder.states.insert(
            "Stage 0".into(),
            json!({"Type": "Pass", "Next": "Run succeeded"}),
        );
    }
    if operations.on_failure == FailureAction::Continue {
        losses.add(
            "`on_failure(continue)`: a failed node stops the execution; the nodes that do not need it are not run",
        );
    }
    let notify_success = !operations.notify_success.is_empty();
    builder.states.insert(
        "Run succeeded".into(),
        if notify_success {
            json!({
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {
                    "TopicArn": topic_arn,
                    "Subject": format!("[{name}] run succeeded"),
                    "Message.$": format!("States.Format('Run {{}} of workflow {} succeeded.', $$.Execution.Name)", intrinsic_literal(name)),
                    "MessageAttributes": {"status": {"DataType": "String", "StringValue": "succeeded"}},
                },
                "Retry": [api_retry()],
                "End": true,
            })
        } else {
            json!({"Type": "Succeed"})
        },
    );
    let notify_failure = !operations.notify_failure.is_empty();
    let after_notice = if operations.on_failure == FailureAction::Pause {
        "Pause runs"
    } else {
        "Failed"
    };
    builder.states.insert(
        "Run failed".into(),
        if notify_failure {
            json!({
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {
                    "TopicArn": topic_arn,
                    "Subject": format!("[{name}] run failed"),
                    "Message.$": format!("States.Format('Run {{}} of workflow {} failed: {{}}', $$.Execution.Name, $.error.Cause)", intrinsic_literal(name)),
                    "MessageAttributes": {"status": {"DataType": "String", "StringValue": "failed"}},
                },
                "ResultPath": null,
                "Retry": [api_retry()],
                // A notice that cannot be sent does not keep the workflow from pausing.
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": after_notice}],
                "Next": after_notice,
            })
        } else {
            json!({"Type": "Pass", "Next": after_notice})
        },
    );
    let schedule = schedule_definition(plan, &machine_arn, &role_arn, losses);
    if operations.on_failure == FailureAction::Pause {
        // What starts runs is turned off: the schedule, and the rules that follow upstream
        // workflows. No run starts until someone turns them on again.
        let mut pausers: Vec<(String, Value)> = Vec::new();
        if let Some(schedule) = &schedule {
            let mut parameters = schedule.clone();
            parameters["State"] = Value::from("DISABLED");
            pausers.push((
                "Pause the schedule".to_owned(),
                json!({
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:scheduler:updateSchedule",
                    "Parameters": parameters,
                    "ResultPath": null,
                    "Retry": [api_retry()],
                }),
            ));
        }
        for trigger in &operations.triggers {
            if let Trigger::AfterWorkflow { workflow, .. } = trigger {
                pausers.push((
                    format!("Pause the rule after {workflow}"),
                    json!({
                        "Type": "Task",
                        "Resource": "arn:aws:states:::aws-sdk:eventbridge:disableRule",
                        "Parameters": {"Name": format!("{name}-after-{workflow}")},
                        "ResultPath": null,
                        "Retry": [api_retry()],
                    }),
                ));
            }
        }
        if pausers.is_empty() {
            losses.add("`on_failure(pause)` of a workflow that nothing starts by itself: there is nothing to pause");
            pausers.push(("Nothing to pause".to_owned(), json!({"Type": "Pass"})));
        }
        // "Run failed" continues at the first one.
        if let Some(first) = pausers.first_mut() {
            first.1["Comment"] =
                Value::from(std::mem::replace(&mut first.0, "Pause runs".to_owned()));
        }
        let names: Vec<String> = pausers.iter().map(|(name, _)| name.clone()).collect();
        for (index, (title, mut state)) in pausers.into_iter().enumerate() {
            let next = names
                .get(index + 1)
                .cloned()
                .unwrap_or_else(|| "Failed".to_owned());
            state["Next"] = Value::from(next);
            builder.states.insert(title, state);
        }
    }
    builder.states.insert(
        "Failed".into(),
        json!({"Type": "Fail", "Error": "Workflow.RunFailed", "CausePath": "$.error.Cause"}),
    );

    let mut machine = Map::new();
    machine.insert(
        "Comment".into(),
        Value::from(format!(
            "Workflow {name}: {} (plan {})",
            plan.doc.lines().next().unwrap_or("").trim(),
            plan.fingerprint
        )),
    );
    machine.insert("StartAt".into(), Value::from(start[0].as_str()));
    if let Some(seconds) = operations.timeout_secs {
        machine.insert("TimeoutSeconds".into(), Value::from(seconds));
    }
    machine.insert("States".into(), Value::Object(builder.states));
    let mut files = vec![ExportFile {
        path: format!("{name}.asl.json").into(),
        contents: pretty(&Value::Object(machine)),
    }];
    if let Some(schedule) = schedule {
        files.push(ExportFile {
            path: format!("{name}.schedule.json").into(),
            contents: pretty(&schedule),
        });
    }
    for trigger in &operations.triggers {
        if let Trigger::AfterWorkflow { workflow, .. } = trigger {
            let rule = json!({
                "Name": format!("{name}-after-{workflow}"),
                "Description": format!("Start workflow {name} when a run of {workflow} succeeds"),
                "EventPattern": {
                    "source": ["aws.states"],
                    "detail-type": ["Step Functions Execution Status Change"],
                    "detail": {
                        "status": ["SUCCEEDED"],
                        "stateMachineArn": [arn("states", &format!("stateMachine:{workflow}"))],
                    },
                },
                "Targets": [{
                    "Id": name,
                    "Arn": machine_arn,
                    "RoleArn": role_arn,
                    "Input": json!({"params": {}, "scheduled_at": ""}).to_string(),
                }],
            });
            files.push(ExportFile {
                path: format!("{name}.after-{workflow}.rule.json").into(),
                contents: pretty(&rule),
            });
        }
    }
    files.push(ExportFile {
        path: format!("{}.README.md", plan.workflow).into(),
        contents: install_notes(plan, settings, &topic_arn),
    });
    Ok(files)
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// A string literal inside an intrinsic function (`States.Format('...')`): `'`, `{`, `}` and
/// `\` escaped with a backslash.
fn intrinsic_literal(text: &str) -> String {
    let mut escaped = String::new();
    for character in text.chars() {
        if matches!(character, '\'' | '{' | '}' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

struct Builder<'a> {
    plan: &'a Plan,
    settings: &'a Settings,
    states: Map<String, Value>,
}

impl Builder<'_> {
    /// The shell line SSM runs: constants quoted now, the run as one base64 word.
    fn command(&self, arguments: &[&str], element: Option<&str>) -> Value {
        let mut line = shell_quote(&self.settings.binary);
        for argument in arguments {
            line.push(' ');
            line.push_str(&shell_quote(argument));
        }
        line.push_str(" --run-spec {}");
        let mut values = vec!["States.Base64Encode(States.JsonToString($.run))".to_owned()];
        if let Some(element) = element {
            line.push_str(" --element {}");
            values.push(element.to_owned());
        }
        Value::from(format!(
            "States.Array(States.Format('{}', {}))",
            intrinsic_literal(&line),
            values.join(", ")
        ))
    }

    /// One command on one online instance of the pool, as a Parallel state of one branch, so
    /// that its Retry sends it again: to another instance when the chosen one went away before
    /// the command reached it, and with the node's delays when the attempt failed. Its output
    /// (what the binary printed) is at `result_path`.
    ///
    /// The branch: list the pool's instances that SSM sees online (tag `instance_tag` = pool,
    /// `PingStatus` = `Online`), fail at once if there is none, pick one at random, send the
    /// command to it alone, then poll it (as [`POLL_TIERS`] says) until it ends, at most for
    /// SSM's delivery and execution timeouts (a counted loop; past its bound the command is
    /// cancelled and the attempt times out).
    #[allow(clippy::too_many_arguments)]
    fn command_state(
        &self,
        title: &str,
        node: Option<&PlanNode>,
        arguments: &[&str],
        element: Option<&str>,
        result_path: Option<&str>,
        next: &str,
        states: &mut Map<String, Value>,
    ) {
        let pool = node
            .and_then(|node| node.policy.pool.clone())
            .unwrap_or_else(|| "default".to_owned());
        let timeout = node
            .and_then(|node| node.policy.timeout_secs)
            .unwrap_or(DEFAULT_NODE_TIMEOUT_SECONDS);
        let max_polls = polls_for(attempt_ceiling(timeout));
        let (find, online, none, pick, send, wait, count, poll, decide) = (
            format!("{title}: find an instance"),
            format!("{title}: instance online?"),
            format!("{title}: no instance"),
            format!("{title}: pick an instance"),
            format!("{title}: send"),
            format!("{title}: wait"),
            format!("{title}: count the poll"),
            format!("{title}: poll"),
            format!("{title}: finished?"),
        );
        let (gone, failed, too_long, cancel, timed_out, done) = (
            format!("{title}: instance gone"),
            format!("{title}: failed"),
            format!("{title}: ran too long"),
            format!("{title}: cancel"),
            format!("{title}: timed out"),
            format!("{title}: done"),
        );
        let failed_permanently = format!("{title}: failed permanently");
        let tag = format!("tag:{}", self.settings.instance_tag);
        let mut inner = Map::new();
        inner.insert(
            find.clone(),
            json!({
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:ssm:describeInstanceInformation",
                "Parameters": {
                    "Filters": [
                        {"Key": tag, "Values": [pool]},
                        {"Key": "PingStatus", "Values": ["Online"]},
                    ],
                    "MaxResults": 50,
                },
                "ResultSelector": {
                    "ids.$": "$.InstanceInformationList[*].InstanceId",
                    "count.$": "States.ArrayLength($.InstanceInformationList)",
                },
                "ResultPath": "$.pool",
                "Retry": [api_retry()],
                "Next": online,
            }),
        );
        inner.insert(
            online.clone(),
            json!({
                "Type": "Choice",
                "Choices": [{"Variable": "$.pool.count", "NumericEquals": 0, "Next": none}],
                "Default": pick,
            }),
        );
        inner.insert(
            none,
            json!({
                "Type": "Fail",
                "Error": "Workflow.NoInstance",
                "Cause": format!(
                    "{title}: no instance tagged {}={pool} is online in SSM",
                    self.settings.instance_tag
                ),
            }),
        );
        inner.insert(pick.clone(), json!({
            "Type": "Pass",
            "Comment": "One instance, at random among those online: the command runs there alone.",
            "Parameters": {
                "instance.$": "States.ArrayGetItem($.pool.ids, States.MathRandom(0, $.pool.count))",
                "polls": 0,
            },
            "ResultPath": "$.target",
            "Next": send,
        }));
        inner.insert(send.clone(), json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:ssm:sendCommand",
            "Parameters": {
                "DocumentName": "AWS-RunShellScript",
                "InstanceIds.$": "States.Array($.target.instance)",
                "TimeoutSeconds": DELIVERY_SECONDS,
                "Parameters": {
                    "commands.$": self.command(arguments, element),
                    "executionTimeout": [timeout.to_string()],
                },
            },
            "ResultSelector": {"CommandId.$": "$.Command.CommandId"},
            "ResultPath": "$.command",
            // The instance left between the listing and the send: pick another.
            "Retry": [
                {"ErrorEquals": ["Ssm.InvalidInstanceIdException"], "MaxAttempts": 0},
                api_retry(),
            ],
            "Catch": [{"ErrorEquals": ["Ssm.InvalidInstanceIdException"], "ResultPath": "$.error", "Next": gone}],
            "Next": wait,
        }));
        // The waits, shortest first; the first `count` polls of a tier use its wait.
        let mut waits = Vec::new();
        let mut polls_before = 0u64;
        for (index, (seconds, count_in_tier)) in POLL_TIERS.iter().enumerate() {
            let title = if index == 0 {
                wait.clone()
            } else {
                format!("{wait} {}", duration_text(*seconds))
            };
            inner.insert(
                title.clone(),
                json!({"Type": "Wait", "Seconds": seconds, "Next": count}),
            );
            polls_before = polls_before.saturating_add(*count_in_tier);
            waits.push((title, polls_before));
        }
        inner.insert(
            count,
            json!({
                "Type": "Pass",
                "Parameters": {
                    "instance.$": "$.target.instance",
                    "polls.$": "States.MathAdd($.target.polls, 1)",
                },
                "ResultPath": "$.target",
                "Next": poll,
            }),
        );
        inner.insert(
            poll.clone(),
            json!({
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:ssm:listCommandInvocations",
                "Parameters": {"CommandId.$": "$.command.CommandId", "Details": true},
                "ResultSelector": {"invocations.$": "$.CommandInvocations"},
                "ResultPath": "$.poll",
                "Retry": [api_retry()],
                "Next": decide,
            }),
        );
        let status = "$.poll.invocations[0].Status";
        let details = "$.poll.invocations[0].StatusDetails";
        let is = |path: &str, values: &[&str]| {
            let mut tests: Vec<Value> = values
                .iter()
                .map(|value| json!({"Variable": path, "StringEquals": value}))
                .collect();
            let test = if tests.len() == 1 {
                tests.remove(0)
            } else {
                json!({"Or": tests})
            };
            json!({"And": [{"Variable": path, "IsPresent": true}, test]})
        };
        let mut success = is(status, &["Success"]);
        success["Next"] = Value::from(done.clone());
        // Never delivered: the command did not run there, so another instance may run it.
        let mut undelivered = is(details, &["Undeliverable", "Delivery Timed Out"]);
        undelivered["Next"] = Value::from(gone.clone());
        // Exit 3 (`TaskError::permanent`) or 2 (an input not of its type): a failure the
        // node's Retry leaves alone.
        let code = "$.poll.invocations[0].CommandPlugins[0].ResponseCode";
        let permanent = json!({
            "And": [
                is(status, &["Failed"]),
                {"Variable": code, "IsPresent": true},
                {"Or": [
                    {"Variable": code, "NumericEquals": crate::FailureKind::Permanent.exit_code()},
                    {"Variable": code, "NumericEquals": crate::FailureKind::BadInput.exit_code()},
                ]},
            ],
            "Next": failed_permanently,
        });
        let mut ended = is(status, &["Failed", "Cancelled", "TimedOut"]);
        ended["Next"] = Value::from(failed.clone());
        inner.insert(decide.clone(), json!({
            "Type": "Choice",
            "Choices": [
                success,
                undelivered,
                permanent,
                ended,
                {"Variable": "$.target.polls", "NumericGreaterThanEquals": max_polls, "Next": too_long},
            ],
            "Default": wait,
        }));
        // Not finished: wait as long as the command has been running says.
        if let Some(Value::Array(choices)) = inner
            .get_mut(&decide)
            .and_then(|state| state.get_mut("Choices"))
        {
            for (title, polls_before) in &waits[..waits.len() - 1] {
                choices.push(json!({"Variable": "$.target.polls", "NumericLessThan": polls_before, "Next": title}));
            }
        }
        if let Some(state) = inner.get_mut(&decide) {
            state["Default"] = Value::from(waits[waits.len() - 1].0.clone());
        }
        inner.insert(
            gone,
            json!({
                "Type": "Fail",
                "Error": "Workflow.InstanceGone",
                "Cause": format!("{title}: the chosen instance went away before the command reached it"),
            }),
        );
        inner.insert(
            failed,
            json!({
                "Type": "Fail",
                "Error": "Workflow.NodeFailed",
                "Cause": format!("{title} failed; its output is in the SSM command's invocation"),
            }),
        );
        inner.insert(
            failed_permanently.clone(),
            json!({
                "Type": "Fail",
                "Error": "Workflow.NodeFailedPermanently",
                "Cause": format!("{title} failed permanently (not retried); its output is in the SSM command's invocation"),
            }),
        );
        inner.insert(
            too_long,
            json!({
                "Type": "Pass",
                "Comment": format!("SSM reported nothing final within {}: stop the command.", duration_text(attempt_ceiling(timeout))),
                "Next": cancel,
            }),
        );
        inner.insert(
            cancel.clone(),
            json!({
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:ssm:cancelCommand",
                "Parameters": {"CommandId.$": "$.command.CommandId"},
                "ResultPath": null,
                "Retry": [api_retry()],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": timed_out}],
                "Next": timed_out,
            }),
        );
        inner.insert(
            timed_out,
            json!({
                "Type": "Fail",
                "Error": "Workflow.NodeTimedOut",
                "Cause": format!("{title} did not end within {}", duration_text(attempt_ceiling(timeout))),
            }),
        );
        inner.insert(done, json!({"Type": "Succeed"}));
        let start = find;
        let mut state = Map::new();
        state.insert("Type".into(), Value::from("Parallel"));
        state.insert(
            "Branches".into(),
            json!([{"StartAt": start, "States": Value::Object(inner)}]),
        );
        match result_path {
            Some(path) => {
                state.insert(
                    "ResultSelector".into(),
                    json!({"output.$": "$[0].poll.invocations[0].CommandPlugins[0].Output"}),
                );
                state.insert("ResultPath".into(), Value::from(path));
            }
            None => {
                state.insert("ResultPath".into(), Value::Null);
            }
        }
        // Sent again to another instance: the command never ran on the one that went away.
        let mut retries = vec![json!({
            "ErrorEquals": ["Workflow.InstanceGone"],
            "IntervalSeconds": 30,
            "MaxAttempts": INSTANCE_GONE_RETRIES,
            "BackoffRate": 2.0,
        })];
        if let Some(node) = node
            && node.policy.retries > 0
        {
            let policy = &node.policy;
            let mut retry = Map::new();
            retry.insert(
                "ErrorEquals".into(),
                json!(["Workflow.NodeFailed", "Workflow.NodeTimedOut"]),
            );
            retry.insert(
                "IntervalSeconds".into(),
                Value::from(policy.retry_delay_secs.unwrap_or(1).max(1)),
            );
            retry.insert("MaxAttempts".into(), Value::from(policy.retries));
            retry.insert(
                "BackoffRate".into(),
                Value::from(if policy.backoff == crate::Backoff::Exponential {
                    2.0
                } else {
                    1.0
                }),
            );
            if let Some(cap) = policy.max_retry_delay_secs {
                retry.insert("MaxDelaySeconds".into(), Value::from(cap));
            }
            retries.push(Value::Object(retry));
        }
        state.insert("Retry".into(), Value::Array(retries));
        state.insert("Next".into(), Value::from(next));
        states.insert(title.to_owned(), Value::Object(state));
    }

    /// The states of one node inside its stage's branch; returns the first state's name.
    fn node_states(&self, node: &PlanNode, states: &mut Map<String, Value>) -> String {
        let plan = self.plan;
        let workflow = plan.workflow.as_str();
        let id = node.id.as_str();
        let done = format!("{id}: finished");
        states.insert(done.clone(), json!({"Type": "Succeed"}));
        let run_first = match &node.map {
            None => {
                self.command_state(
                    id,
                    Some(node),
                    &["exec-task", workflow, id],
                    None,
                    None,
                    &done,
                    states,
                );
                id.to_owned()
            }
            Some(map) => {
                let list = format!("{id}: list elements");
                let parse = format!("{id}: elements");
                self.command_state(
                    &list,
                    None,
                    &["exec-task", workflow, id, "--elements"],
                    None,
                    Some("$.listed"),
                    &parse,
                    states,
                );
                states.insert(
                    parse.clone(),
                    json!({
                        "Type": "Pass",
                        "Parameters": {"indices.$": "States.StringToJson($.listed.output)"},
                        "ResultPath": "$.elements",
                        "Next": id,
                    }),
                );
                let mut inner = Map::new();
                let element_title = format!("{id}: element");
                let element_done = format!("{id}: element finished");
                inner.insert(element_done.clone(), json!({"Type": "Succeed"}));
                self.command_state(
                    &element_title,
                    Some(node),
                    &["exec-task", workflow, id],
                    Some("$.element"),
                    None,
                    &element_done,
                    &mut inner,
                );
                states.insert(
                    id.to_owned(),
                    json!({
                        "Type": "Map",
                        "ItemsPath": "$.elements.indices",
                        "ItemSelector": {"run.$": "$.run", "element.$": "$$.Map.Item.Value"},
                        "MaxConcurrency": map.max_parallel.unwrap_or(0),
                        "ItemProcessor": {
                            "ProcessorConfig": {"Mode": "INLINE"},
                            "StartAt": element_title,
                            "States": Value::Object(inner),
                        },
                        "ResultPath": null,
                        "Next": done,
                    }),
                );
                list
            }
        };
        let Some((branch, arm)) = arm_of(plan, node) else {
            return run_first;
        };
        // The workflow's own `match` decides, in the binary; the Choice follows its answer.
        let decide = format!("{id}: decide branch {branch}");
        let taken = format!("{id}: arm taken?");
        let skipped = format!("{id}: skipped");
        let branch_text = branch.to_string();
        self.command_state(
            &decide,
            None,
            &["branch", workflow, &branch_text],
            None,
            Some("$.decision"),
            &taken,
            states,
        );
        states.insert(taken, json!({
            "Type": "Choice",
            "Choices": [{"Variable": "$.decision.output", "StringEquals": arm.to_string(), "Next": run_first}],
            "Default": skipped,
        }));
        states.insert(
            skipped,
            json!({"Type": "Succeed", "Comment": "Its branch took another arm."}),
        );
        decide
    }
}

/// The EventBridge Scheduler schedule that starts the state machine, if the workflow has one.
fn schedule_definition(
    plan: &Plan,
    machine_arn: &str,
    role_arn: &str,
    losses: &mut Losses,
) -> Option<Value> {
    let schedule = plan.operations.schedule.as_ref()?;
    let (expression, timezone) = match &schedule.when {
        Cadence::Cron(expression) => {
            let timetable = super::timetable(schedule, losses)?;
            let workflow_schedule::When::Cron(cron) = &timetable.when else {
                return None;
            };
            // EventBridge Scheduler skips a local time that does not exist and runs a
            // repeated one once.
            super::check_dst(
                &timetable,
                workflow_schedule::DstRule::SkipGapFirstFold,
                "EventBridge Scheduler",
                losses,
            );
            match cron.eventbridge() {
                Ok(written) => (written, schedule.timezone.as_str()),
                Err(reason) => {
                    losses.add(format!(
                        "the schedule `{expression}` has no EventBridge expression: {reason}"
                    ));
                    return None;
                }
            }
        }
        // Intervals count from midnight UTC; EventBridge's `rate()` counts from when the
        // schedule is created, so an interval is written as the cron expression it equals.
        Cadence::EverySecs(seconds) => match super::interval_crons(*seconds).as_deref() {
            Some([line]) => match workflow_schedule::CronExpr::parse(line)
                .map_err(|error| error.to_string())
                .and_then(|cron| cron.eventbridge())
            {
                Ok(written) => (written, "UTC"),
                Err(reason) => {
                    losses.add(format!(
                        "the interval {}: {reason}",
                        duration_text(*seconds)
                    ));
                    return None;
                }
            },
            _ => {
                losses.add(format!(
                    "the interval {}: it is not one cron expression, and EventBridge's `rate()` counts from when the schedule is created, not from midnight UTC",
                    duration_text(*seconds)
                ));
                (rate(*seconds), "UTC")
            }
        },
    };
    let input = json!({"params": {}, "scheduled_at": "<aws.scheduler.scheduled-time>"});
    Some(json!({
        "Name": plan.workflow,
        "Description": format!("Start workflow {}", plan.workflow),
        "ScheduleExpression": expression,
        "ScheduleExpressionTimezone": timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": machine_arn,
            "RoleArn": role_arn,
            "Input": input.to_string(),
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
        },
    }))
}

/// EventBridge's `rate(value unit)`: a singular unit for 1 (`rate(1 minute)`), the largest
/// unit that divides the interval (whole minutes at least).
fn rate(seconds: u64) -> String {
    let minutes = (seconds / 60).max(1);
    let (value, unit) = if minutes.is_multiple_of(1440) {
        (minutes / 1440, "day")
    } else if minutes.is_multiple_of(60) {
        (minutes / 60, "hour")
    } else {
        (minutes, "minute")
    };
    format!("rate({value} {unit}{})", if value == 1 { "" } else { "s" })
}

fn install_notes(plan: &Plan, settings: &Settings, topic_arn: &str) -> String {
    let name = &plan.workflow;
    let mut text = format!("# Workflow `{name}` on AWS Step Functions\n\n");
    text.push_str(&format!(
        "`{name}.asl.json` is the state machine. Each node runs `{}` through SSM Run Command on \
         one EC2 instance tagged `{}` with the node's pool (`default` for nodes without one), \
         picked among those whose SSM agent is online; a pool with none fails the node at \
         once. The instances need the SSM agent, the binary, and `{}` on shared storage (EFS) \
         mounted on every one of them. The state machine's role needs \
         `ssm:DescribeInstanceInformation`, `ssm:SendCommand`, `ssm:ListCommandInvocations`, \
         `ssm:CancelCommand`, `states:ListExecutions`, `sns:Publish` and, to pause, \
         `scheduler:UpdateSchedule` and `events:DisableRule`.\n\n",
        settings.binary, settings.instance_tag, settings.run_root
    ));
    text.push_str("```sh\n");
    text.push_str(&format!(
        "aws stepfunctions create-state-machine --name {name} --definition file://{name}.asl.json --role-arn <role that may use SSM, SNS and EventBridge Scheduler>\n"
    ));
    if plan.operations.schedule.is_some() {
        text.push_str(&format!(
            "aws scheduler create-schedule --cli-input-json file://{name}.schedule.json\n"
        ));
    }
    for trigger in &plan.operations.triggers {
        if let Trigger::AfterWorkflow { workflow, .. } = trigger {
            text.push_str(&format!(
                "aws events put-rule --name {name}-after-{workflow} --event-pattern \"$(jq -c .EventPattern {name}.after-{workflow}.rule.json)\"\n\
                 aws events put-targets --rule {name}-after-{workflow} --targets \"$(jq -c .Targets {name}.after-{workflow}.rule.json)\"\n"
            ));
        }
    }
    for email in &plan.operations.notify_failure.email {
        text.push_str(&format!(
            "aws sns subscribe --topic-arn {topic_arn} --protocol email --notification-endpoint {}\n",
            shell_quote(email)
        ));
    }
    text.push_str("```\n\n");
    text.push_str(&format!(
        "Start a run by hand with `aws stepfunctions start-execution --state-machine-arn ... --input '{}'`.\n",
        json!({"params": plan.params.iter().filter(|param| param.source == crate::plan::ValueSource::Unset).map(|param| (param.name.clone(), Value::from("..."))).collect::<Map<String, Value>>(), "scheduled_at": ""})
    ));
    text.push_str(
        "Failures and (if the workflow asks) successes are published to the SNS topic; \
         subscribe the workflow's e-mail addresses and webhooks to it. Secrets are read by the \
         binary on the instance, from the environment variables or files the workflow names; \
         they are never in the state machine or its input.\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_use_eventbridge_units() {
        assert_eq!(rate(60), "rate(1 minute)");
        assert_eq!(rate(420), "rate(7 minutes)");
        assert_eq!(rate(3600), "rate(1 hour)");
        assert_eq!(rate(9000), "rate(150 minutes)");
        assert_eq!(rate(7 * 86_400), "rate(7 days)");
    }

    #[test]
    fn polls_cover_a_command_with_longer_waits_later() {
        assert_eq!(polls_for(30), 1);
        assert_eq!(polls_for(600), 20);
        assert_eq!(polls_for(601), 21);
        assert_eq!(polls_for(600 + 7_200), 80);
        assert_eq!(polls_for(600 + 7_200 + 1), 81);
        // 48 hours and ten minutes: 355 polls, about 3,900 history events.
        assert_eq!(
            polls_for(172_800 + 600),
            80 + (172_800 + 600 - 7_800_u64).div_ceil(600)
        );
    }

    #[test]
    fn intrinsic_literals_escape_what_would_end_them() {
        assert_eq!(intrinsic_literal("it's {x} \\"), "it\\'s \\{x\\} \\\\");
    }
}
