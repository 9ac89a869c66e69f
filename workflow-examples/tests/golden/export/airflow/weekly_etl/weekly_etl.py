"""Weekly ETL: extract the week's export, clean it, load it.

Saturdays at 08:15 local time; a run missed while the machine was off happens at the
next boot (systemd's `Persistent=true`); the team hears when it is done or failed.

Exported from workflow `weekly_etl` (`workflow_examples::seed003_weekly_etl::weekly_etl`): every task runs the workflow binary's
`exec-task`, so the business logic lives in one place. Do not edit; export again.
"""
import datetime
import json
import os
import subprocess
import time

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, Param, task
from airflow.exceptions import AirflowFailException, AirflowSkipException
from airflow.timetables.trigger import CronTriggerTimetable, DeltaTriggerTimetable, MultipleCronTriggerTimetable
from airflow.timetables.assets import AssetOrTimeSchedule

BINARY = "/usr/local/bin/workflows"
WORKFLOW = "weekly_etl"
# Each run keeps its nodes' outputs here; every worker must see this directory.
RUN_ROOT = "/var/lib/workflows/runs/weekly_etl"

# What every task passes the binary: data in variables, never in the command line.
ENV = {
    "WORKFLOW_BINARY": BINARY,
    "WORKFLOW_NAME": WORKFLOW,
    "WORKFLOW_RUN_DIR": RUN_ROOT + "/{{ run_id }}",
    "WORKFLOW_PARAMS": "{{ params | workflow_params }}",
    "WORKFLOW_SCHEDULED_AT": "{{ (dag_run.logical_date or dag_run.run_after).isoformat() }}",
}
RUN_NODE = '"$WORKFLOW_BINARY" exec-task "$WORKFLOW_NAME" "$WORKFLOW_NODE" --run-dir "$WORKFLOW_RUN_DIR" --params-json "$WORKFLOW_PARAMS" --scheduled-at "$WORKFLOW_SCHEDULED_AT"'


class NodeOperator(BashOperator):
    """A node: `exec-task` in bash. Exit 3 (the task failed permanently) or 2 (an input is not of its
    type) fails it at once, its retries unused; 99 skips it."""

    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowSkipException:
            raise
        except Exception as error:
            # BashOperator says the exit code last: "... a non-zero exit code 3."
            if str(error).rstrip(".").endswith(("exit code 2", "exit code 3")):
                raise AirflowFailException(f"{error} A permanent failure: not retried.") from error
            raise


def workflow_params(params):
    return json.dumps(dict(params), sort_keys=True)


def run_binary(*arguments):
    """Runs the workflow binary with an argument vector (no shell) and returns its output."""
    done = subprocess.run([BINARY, *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{BINARY} {arguments[0]} failed: {done.stderr.strip()}")
    return done.stdout


def notify(*arguments):
    """Sends the workflow's notices through the binary; a relay's blip is tried again after 2 and 6 s
    (the DAG processor gives a callback 50 s by default)."""
    for pause in (2, 6, None):
        done = subprocess.run([BINARY, "notify", WORKFLOW, *arguments], capture_output=True, text=True)
        if done.returncode == 0:
            return
        if pause is None:
            raise RuntimeError(f"notify failed: {done.stderr.strip()}")
        time.sleep(pause)


def stop_after_failure(context):
    """`on_failure(stop)`: once a node of this run has failed, no other node starts (it is skipped)."""
    ti = context["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
    failed = sorted(task for task, state in states.items() if state == "failed")
    if failed:
        raise AirflowSkipException(f"not started: {', '.join(failed)} failed, and the workflow stops at a failure")


def on_failure(context):
    """A failed run: tell the workflow's failure recipients (e-mail and webhooks, as a local run does)."""
    reason = f"Airflow run {context.get('run_id')} failed ({context.get('reason') or 'task_failure'})"
    notify("--status", "failed", "--reason", reason)


def on_success(context):
    notify("--status", "succeeded")


with DAG(
    dag_id=WORKFLOW,
    description="Weekly ETL: extract the week's export, clean it, load it.",
    doc_md="Weekly ETL: extract the week's export, clean it, load it.\n\nSaturdays at 08:15 local time; a run missed while the machine was off happens at the\nnext boot (systemd's `Persistent=true`); the team hears when it is done or failed.",
    schedule=CronTriggerTimetable("15 8 * * 6", timezone="Europe/Prague", run_immediately=True),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=datetime.timedelta(seconds=10800),
    params={
        "week": Param(None, description="NaiveDate; empty for the partition the schedule fired for"),
        "export_dir": Param("/srv/etl/exports", description="PathBuf"),
        "database": Param("/srv/etl/measurements.csv", description="PathBuf"),
    },
    user_defined_filters={"workflow_params": workflow_params},
    on_failure_callback=on_failure,
    on_success_callback=on_success,
    default_args={
        "env": ENV,
        "append_env": True,
        "pre_execute": stop_after_failure,
    },
    tags=["workflow", "plan:669d850c5dc4"],
) as dag:

    # raw: Read the week's export.
    node_raw = NodeOperator(
        task_id="raw",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "raw"},
        retries=3,
        retry_delay=datetime.timedelta(seconds=600),
        execution_timeout=datetime.timedelta(seconds=1800),
        skip_on_exit_code=None,
    )

    # measurements: Parse and clean: skip the header, drop rows whose value is not a number.
    node_measurements = NodeOperator(
        task_id="measurements",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "measurements"},
        retries=0,
        skip_on_exit_code=None,
    )

    # summary: Append the week's rows to the database file.
    node_summary = NodeOperator(
        task_id="summary",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "summary"},
        retries=0,
        execution_timeout=datetime.timedelta(seconds=3600),
        skip_on_exit_code=None,
    )

    # A successful run updates this workflow's asset: workflows triggered by it start.
    succeeded = EmptyOperator(task_id="workflow_succeeded", trigger_rule="all_success", outlets=[Asset("workflow://weekly_etl")])

    [node_raw] >> node_measurements
    [node_measurements] >> node_summary
    [node_summary] >> succeeded
