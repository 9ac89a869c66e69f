"""Step 2 on server B: load what step 1 landed into the SQL database.

Starts within 10 minutes of each successful step 1; never overlapping itself; a
failure pauses the workflow until an administrator resumes it, and e-mails them.

Exported from workflow `step2` (`workflow_examples::seed000_two_servers::step2`): every task runs the workflow binary's
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

# `pause` relies on the scheduler finding the DAG's latest run by when it ran: Airflow before 3.2
# looks by logical date, which runs started by an asset or by hand lack (apache/airflow#65125).
import airflow
from packaging.version import Version

if Version(airflow.__version__) < Version("3.2"):
    raise RuntimeError(f"workflow step2: pausing after a failure needs Airflow 3.2 or later, not {airflow.__version__}")

BINARY = "/usr/local/bin/workflows"
WORKFLOW = "step2"
# Each run keeps its nodes' outputs here; every worker must see this directory.
RUN_ROOT = "/var/lib/workflows/runs/step2"
# Secrets are read by the tasks when they run, from the worker (never from this file):
#   db_password: environment variable STEP2_DB_PASSWORD

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
    """`on_failure(pause)`: once a node of this run has failed, no other node starts (it is skipped)."""
    ti = context["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
    failed = sorted(task for task, state in states.items() if state == "failed")
    if failed:
        raise AirflowSkipException(f"not started: {', '.join(failed)} failed, and the workflow stops at a failure")


def on_failure(context):
    """A failed run: tell the workflow's failure recipients (e-mail and webhooks, as a local run does).

    The DAG is paused by the scheduler itself (max_consecutive_failed_dag_runs=1) in the
    transaction that fails the run: Airflow 3 runs this callback where the database is closed."""
    reason = f"Airflow run {context.get('run_id')} failed ({context.get('reason') or 'task_failure'})"
    notify("--status", "failed", "--reason", reason)


def on_success(context):
    pass


with DAG(
    dag_id=WORKFLOW,
    description="Step 2 on server B: load what step 1 landed into the SQL database.",
    doc_md="Step 2 on server B: load what step 1 landed into the SQL database.\n\nStarts within 10 minutes of each successful step 1; never overlapping itself; a\nfailure pauses the workflow until an administrator resumes it, and e-mails them.",
    schedule=(Asset("workflow://step1")),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    max_consecutive_failed_dag_runs=1,
    params={
        "script": Param("/home/ubuntu/step2.py", description="PathBuf"),
        "landing": Param("/mnt/etl-landing/step1", description="PathBuf"),
        "state_file": Param("/var/lib/etl/step2.loaded", description="PathBuf"),
        "database_url": Param("postgres://etl@db/warehouse", description="String"),
    },
    user_defined_filters={"workflow_params": workflow_params},
    on_failure_callback=on_failure,
    on_success_callback=on_success,
    default_args={
        "env": ENV,
        "append_env": True,
        "pre_execute": stop_after_failure,
    },
    tags=["workflow", "plan:6bf89652f18a"],
) as dag:

    # new_objects: List the objects in the landing area that no earlier step 2 run has loaded (the state
    node_new_objects = NodeOperator(
        task_id="new_objects",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "new_objects"},
        retries=2,
        retry_delay=datetime.timedelta(seconds=60),
        pool="server-b",
        skip_on_exit_code=None,
    )

    # loaded: Run `step2.py` on server B over the new objects; its failures need a person, so no retries.
    node_loaded = NodeOperator(
        task_id="loaded",
        bash_command=RUN_NODE,
        env={**ENV, "WORKFLOW_NODE": "loaded"},
        retries=0,
        execution_timeout=datetime.timedelta(seconds=43200),
        pool="server-b",
        skip_on_exit_code=None,
    )

    # A successful run updates this workflow's asset: workflows triggered by it start.
    succeeded = EmptyOperator(task_id="workflow_succeeded", trigger_rule="all_success", outlets=[Asset("workflow://step2")])

    [node_new_objects] >> node_loaded
    [node_loaded] >> succeeded

# Pools this DAG's tasks take slots in; create them once:
#   airflow pools set server-b 1 'workflow step2'
