"""Daily batch: OLTP, logs and rates joined into Redshift, DynamoDB and the CRM.

At 02:00 UTC; days missed while the scheduler was down are made up, a week at most.
A failed source does not stop the loads that do not need it.

Exported from workflow `daily_batch` (`workflow_examples::seed001_daily_batch::daily_batch`): every task runs the workflow binary's
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
WORKFLOW = "daily_batch"
# Each run keeps its nodes' outputs here; every worker must see this directory.
RUN_ROOT = "/var/lib/workflows/runs/daily_batch"

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


def on_failure(context):
    """A failed run: tell the workflow's failure recipients (e-mail and webhooks, as a local run does)."""
    reason = f"Airflow run {context.get('run_id')} failed ({context.get('reason') or 'task_failure'})"
    notify("--status", "failed", "--reason", reason)


def on_success(context):
    pass


with DAG(
    dag_id=WORKFLOW,
    description="Daily batch: OLTP, logs and rates joined into Redshift, DynamoDB and the CRM.",
    doc_md="Daily batch: OLTP, logs and rates joined into Redshift, DynamoDB and the CRM.\n\nAt 02:00 UTC; days missed while the scheduler was down are made up, a week at most.\nA failed source does not stop the loads that do not need it.",
    schedule=CronTriggerTimetable("0 2 * * *", timezone="UTC", run_immediately=True),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=True,
    max_active_runs=1,
    dagrun_timeout=datetime.timedelta(seconds=28800),
    params={
        "day": Param(None, description="NaiveDate; empty for the partition the schedule fired for"),
        "replica_url": Param("postgres://reader@oltp-replica/shop", description="String"),
        "log_bucket": Param("s3://web-logs", description="String"),
    },
    user_defined_filters={"workflow_params": workflow_params},
    on_failure_callback=on_failure,
    on_success_callback=on_success,
    default_args={
        "env": ENV,
        "append_env": True,
    },
    tags=["workflow", "plan:6f3d670e6ff7"],
) as dag:

    # activity: Customer activity for one day: orders, page views and exchange rates, joined.
    node_activity = NodeOperator(
        task_id="activity",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "activity"},
        retries=0,
        skip_on_exit_code=None,
    )

    # day_kind: Tell regular days from month ends.
    node_day_kind = NodeOperator(
        task_id="day_kind",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "day_kind"},
        retries=0,
        skip_on_exit_code=None,
    )

    # warehouse: Load the joined table into Redshift.
    node_warehouse = NodeOperator(
        task_id="warehouse",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "warehouse"},
        retries=2,
        retry_delay=datetime.timedelta(seconds=300),
        execution_timeout=datetime.timedelta(seconds=3600),
        pool="redshift",
        skip_on_exit_code=None,
    )

    # counters: Write per-customer counters to DynamoDB.
    node_counters = NodeOperator(
        task_id="counters",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "counters"},
        retries=2,
        retry_delay=datetime.timedelta(seconds=60),
        skip_on_exit_code=None,
    )

    # crm: Push high spenders to the CRM's API.
    node_crm = NodeOperator(
        task_id="crm",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "crm"},
        retries=3,
        retry_delay=datetime.timedelta(seconds=60),
        execution_timeout=datetime.timedelta(seconds=1800),
        skip_on_exit_code=None,
    )

    # month_close: Close the month in the warehouse: freeze the month's customer activity.
    node_month_close = NodeOperator(
        task_id="month_close",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "month_close"},
        retries=0,
        execution_timeout=datetime.timedelta(seconds=7200),
        pool="redshift",
        skip_on_exit_code=99,
    )

    # A successful run updates this workflow's asset: workflows triggered by it start.
    succeeded = EmptyOperator(task_id="workflow_succeeded", trigger_rule="none_failed_min_one_success", outlets=[Asset("workflow://daily_batch")])

    [node_activity] >> node_warehouse
    [node_activity] >> node_counters
    [node_activity, node_warehouse] >> node_crm
    [node_activity, node_day_kind, node_warehouse] >> node_month_close
    [node_counters, node_crm, node_month_close] >> succeeded

# Pools this DAG's tasks take slots in; create them once:
#   airflow pools set redshift 2 'workflow daily_batch'
