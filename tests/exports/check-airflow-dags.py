#!/usr/bin/env python3
"""Imports every DAG file in a folder with Airflow's own DagBag, as the scheduler does.

Usage: check-airflow-dags.py DAG_FOLDER   Prints the import errors and exits 1 if there is any;
otherwise prints "N DAGs, no import errors"."""

import sys

from airflow.dag_processing.dagbag import DagBag


def main():
    # Examples are off through AIRFLOW__CORE__LOAD_EXAMPLES=False, as the tests set it.
    bag = DagBag(dag_folder=sys.argv[1])
    for path, error in sorted(bag.import_errors.items()):
        print(f"{path}: {error}")
    if bag.import_errors:
        return 1
    print(f"{len(bag.dag_ids)} DAGs, no import errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
