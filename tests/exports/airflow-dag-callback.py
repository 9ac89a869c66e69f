#!/usr/bin/env python3
"""Runs an exported DAG's failure callback the way Airflow 3's DAG processor does: in a process
whose access to the metadata database is blocked (`block_orm_access`, as the processor's
subprocess calls it), with the context the processor builds when it has no task instance.

Usage: airflow-dag-callback.py DAG_FILE RUN_ID   Exits 1 if the callback raises."""

import importlib.util
import sys

from airflow.sdk.execution_time.supervisor import block_orm_access


def main():
    path, run_id = sys.argv[1:3]
    spec = importlib.util.spec_from_file_location("exported_dag", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    block_orm_access()
    from airflow import settings

    try:
        settings.Session()
    except Exception:
        pass
    else:
        print("the ORM is still reachable; the test would prove nothing")
        return 2
    dag.on_failure_callback({"dag": dag, "run_id": run_id, "reason": "task_failure"})
    print("callback done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
