"""Daily warehouse ingest: OLTP, logs and partner APIs into the warehouse, partners and the broker.

At 01:00 UTC, every missed day made up in order; heavy work limited by pool sizes.

Exported from workflow `warehouse_ingest` (`workflow_examples::seed004_warehouse_ingest::warehouse_ingest`): every task runs the workflow binary's
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
WORKFLOW = "warehouse_ingest"
# Each run keeps its nodes' outputs here; every worker must see this directory.
RUN_ROOT = "/var/lib/workflows/runs/warehouse_ingest"

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
    description="Daily warehouse ingest: OLTP, logs and partner APIs into the warehouse, partners and the broker.",
    doc_md="Daily warehouse ingest: OLTP, logs and partner APIs into the warehouse, partners and the broker.\n\nAt 01:00 UTC, every missed day made up in order; heavy work limited by pool sizes.",
    schedule=CronTriggerTimetable("0 1 * * *", timezone="UTC", run_immediately=True),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=True,
    max_active_runs=1,
    dagrun_timeout=datetime.timedelta(seconds=72000),
    params={
        "day": Param(None, description="NaiveDate; empty for the partition the schedule fired for"),
        "region": Param("eu", description="Region"),
        "full_refresh": Param(False, description="bool"),
        "partner_apis": Param(["adnet", "crm", "payments"], description="Vec<String>"),
    },
    user_defined_filters={"workflow_params": workflow_params},
    on_failure_callback=on_failure,
    on_success_callback=on_success,
    default_args={
        "env": ENV,
        "append_env": True,
        "pre_execute": stop_after_failure,
    },
    tags=["workflow", "plan:9b2033300970"],
) as dag:

    # snapshot.true: Export a full snapshot of the OLTP tables (a full refresh rebuilds history from it).
    node_snapshot_true = NodeOperator(
        task_id="snapshot.true",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "snapshot.true"},
        retries=1,
        retry_delay=datetime.timedelta(seconds=1800),
        execution_timeout=datetime.timedelta(seconds=36000),
        pool="oltp-export",
        skip_on_exit_code=99,
    )

    # snapshot.false: Export the day's changed rows from the OLTP database to object storage.
    node_snapshot_false = NodeOperator(
        task_id="snapshot.false",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "snapshot.false"},
        retries=3,
        retry_delay=datetime.timedelta(seconds=300),
        execution_timeout=datetime.timedelta(seconds=14400),
        pool="oltp-export",
        skip_on_exit_code=99,
    )

    # logs: Locate the day's event logs.
    node_logs = NodeOperator(
        task_id="logs",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "logs"},
        retries=2,
        retry_delay=datetime.timedelta(seconds=60),
        execution_timeout=datetime.timedelta(seconds=1800),
        skip_on_exit_code=None,
    )

    # partners: Fetch one partner's feed from its API into object storage.
    @task(task_id="partners__elements")
    def node_partners_elements(params=None, run_id=None, logical_date=None, dag_run=None):
        fired = (logical_date or dag_run.run_after).isoformat()
        listed = run_binary("exec-task", WORKFLOW, "partners", "--elements", "--run-dir", RUN_ROOT + "/" + run_id, "--params-json", workflow_params(params), "--scheduled-at", fired)
        return json.loads(listed)

    node_partners_listed = node_partners_elements()
    node_partners = NodeOperator.partial(
        task_id="partners",
        env={**ENV, "WORKFLOW_NODE": "partners"},
        retries=5,
        retry_delay=datetime.timedelta(seconds=60),
        retry_exponential_backoff=True,
        max_retry_delay=datetime.timedelta(seconds=900),
        execution_timeout=datetime.timedelta(seconds=3600),
        skip_on_exit_code=None,
        max_active_tis_per_dagrun=4,
    ).expand(bash_command=node_partners_listed.map(lambda element: RUN_NODE + " --element " + str(int(element))))
    node_partners_listed >> node_partners

    # sessions: Build sessions from raw events (a distributed job over the log partitions).
    node_sessions = NodeOperator(
        task_id="sessions",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "sessions"},
        retries=0,
        execution_timeout=datetime.timedelta(seconds=21600),
        pool="spark",
        skip_on_exit_code=None,
    )

    # facts: Join the snapshot, sessions and partner feeds into the daily fact table.
    node_facts = NodeOperator(
        task_id="facts",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "facts"},
        retries=0,
        execution_timeout=datetime.timedelta(seconds=21600),
        pool="spark",
        skip_on_exit_code=None,
        trigger_rule="none_failed_min_one_success",
    )

    # warehouse: Load the fact table into the warehouse (COPY from object storage).
    node_warehouse = NodeOperator(
        task_id="warehouse",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "warehouse"},
        retries=2,
        retry_delay=datetime.timedelta(seconds=600),
        execution_timeout=datetime.timedelta(seconds=10800),
        pool="warehouse",
        skip_on_exit_code=None,
    )

    # pushed: Push aggregates to partners' APIs.
    node_pushed = NodeOperator(
        task_id="pushed",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "pushed"},
        retries=3,
        retry_delay=datetime.timedelta(seconds=300),
        execution_timeout=datetime.timedelta(seconds=3600),
        skip_on_exit_code=None,
    )

    # announced: Publish a "day loaded" event per table to the event broker.
    node_announced = NodeOperator(
        task_id="announced",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "announced"},
        retries=3,
        retry_delay=datetime.timedelta(seconds=30),
        skip_on_exit_code=None,
    )

    # A successful run updates this workflow's asset: workflows triggered by it start.
    succeeded = EmptyOperator(task_id="workflow_succeeded", trigger_rule="none_failed_min_one_success", outlets=[Asset("workflow://warehouse_ingest")])

    [node_logs] >> node_sessions
    [node_snapshot_true, node_snapshot_false, node_partners, node_sessions] >> node_facts
    [node_facts] >> node_warehouse
    [node_facts] >> node_pushed
    [node_warehouse] >> node_announced
    [node_pushed, node_announced] >> succeeded

# Pools this DAG's tasks take slots in; create them once:
#   airflow pools set oltp-export 1 'workflow warehouse_ingest'
#   airflow pools set spark 4 'workflow warehouse_ingest'
#   airflow pools set warehouse 2 'workflow warehouse_ingest'
