#!/usr/bin/env python3
"""Checks exported Argo Workflows manifests against Argo's own JSON schema (copied beside this
file; provenance in argo-workflows.schema.SOURCE.md), strictly, plus what the schema cannot say.

Usage: validate-argo.py FILE.yaml ...   Prints each problem and exits 1 if there is any.

Strict: every definition with properties gets `additionalProperties: false`, so a misspelled
key fails. Beyond the schema: `concurrencyPolicy` is Allow|Forbid|Replace, the entrypoint and
every referenced template exist, and DAG dependencies name tasks of the same DAG."""

import copy
import json
import pathlib
import sys

import jsonschema
import yaml

HERE = pathlib.Path(__file__).resolve().parent
SCHEMA = json.loads((HERE / "argo-workflows.schema.json").read_text())
PREFIX = "io.argoproj.workflow.v1alpha1."


def strict(schema):
    schema = copy.deepcopy(schema)
    for definition in schema["definitions"].values():
        if "properties" in definition and "additionalProperties" not in definition:
            definition["additionalProperties"] = False
    return schema


STRICT = strict(SCHEMA)


def validator_for(kind):
    schema = {"$ref": f"#/definitions/{PREFIX}{kind}", "definitions": STRICT["definitions"]}
    return jsonschema.Draft202012Validator(schema)


def check_spec(spec, where, problems):
    templates = {template["name"]: template for template in spec.get("templates", [])}
    if spec.get("entrypoint") not in templates:
        problems.append(f"{where}: entrypoint {spec.get('entrypoint')!r} is not a template")
    if "onExit" in spec and spec["onExit"] not in templates:
        problems.append(f"{where}: onExit {spec['onExit']!r} is not a template")
    for template in templates.values():
        dag = template.get("dag")
        steps = template.get("steps")
        tasks = dag["tasks"] if dag else [step for group in steps or [] for step in group]
        names = {task["name"] for task in tasks}
        for task in tasks:
            if task.get("template") not in templates:
                problems.append(f"{where}: task {task['name']!r} uses unknown template {task.get('template')!r}")
            for dependency in task.get("dependencies", []):
                if dependency not in names:
                    problems.append(f"{where}: task {task['name']!r} depends on unknown task {dependency!r}")


def check(path):
    problems = []
    for number, document in enumerate(yaml.safe_load_all(pathlib.Path(path).read_text())):
        where = f"{path} (document {number + 1})"
        kind = document.get("kind")
        if kind == "ConfigMap":
            if not all(isinstance(value, str) for value in document.get("data", {}).values()):
                problems.append(f"{where}: ConfigMap data must be strings")
            continue
        if kind not in ("Workflow", "CronWorkflow", "WorkflowTemplate"):
            problems.append(f"{where}: unexpected kind {kind!r}")
            continue
        for error in validator_for(kind).iter_errors(document):
            location = "/".join(str(part) for part in error.absolute_path)
            problems.append(f"{where}: {location}: {error.message}")
        spec = document.get("spec", {})
        if kind == "CronWorkflow":
            policy = spec.get("concurrencyPolicy", "Allow")
            if policy not in ("Allow", "Forbid", "Replace"):
                problems.append(f"{where}: concurrencyPolicy {policy!r} is not Allow, Forbid or Replace")
            spec = spec.get("workflowSpec", {})
        check_spec(spec, where, problems)
    return problems


def main():
    problems = [problem for path in sys.argv[1:] for problem in check(path)]
    for problem in problems:
        print(problem)
    if not sys.argv[1:]:
        print("no manifests given")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
