#!/usr/bin/env python3
"""Writes docs/errors.md from the compile-fail cases in tests/ui: each rule with its example and
the exact message rustc prints (the `.stderr` snapshot, which is the contract).

Run from the repository root after changing a case: python3 docs/generate-errors.py
The test `errors_catalogue_matches_the_cases` fails when the file is out of date."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
UI = ROOT / "tests" / "ui"

AREAS = {
    "task": ("`#[task]`", "Mistakes in a task's signature or options, reported at the task."),
    "workflow": (
        "`workflow!`",
        "Mistakes in a workflow's wiring, reported at the offending token inside `workflow! { ... }`. "
        "Most examples wire the pipeline in `tests/ui/workflow/common/pipeline.rs`: the types `Orders`, `Logs` "
        "and `Sessions`, and the tasks `extract_orders(day: NaiveDate) -> Orders`, `extract_logs(day: NaiveDate) -> Logs`, "
        "`join_sessions(orders: Orders, logs: Logs) -> Sessions` and `load(sessions: Sessions)`.",
    ),
    "testing": (
        "The test harness",
        "Stubs, injected faults and outputs in `workflow_core::testing` go through each node's handle "
        "(`daily::orders`), typed with its workflow and task, so rustc checks them: a stub must have the "
        "replaced task's signature (inputs in order, and the function's own return type), a handle belongs "
        "to one workflow, and an output has its node's type. The messages are rustc's own, at the stub.",
    ),
}

INTRO = """# Compile errors

Every mistake that can be found before a workflow runs is found by `cargo check`. This page lists
each rule with a minimal example and the exact message, generated from the compile-fail cases in
`tests/ui/` (one file per rule; the `.stderr` snapshot beside each is the contract, checked by
`cargo test`). Regenerate with `python3 docs/generate-errors.py`.

Where the macro can see the mistake itself (names, graph, syntax, options), the message comes from
the macro. Where only the type checker knows (types of tasks defined elsewhere), the message comes
from a `#[diagnostic::on_unimplemented]` trait or a constant evaluated by `cargo check`, with the
text written by the macro, spanned at the offending token.

One known limit: a plain function used as a task without `#[task]` is reported by rustc as
"expected type, found function", pointing at the name. Tasks are found through a struct that
`#[task]` declares beside the function (the function keeps its own namespace, so it stays an
ordinary function), and a name that has no such struct cannot reach any trait. The error points
at the right token; the fix is to add `#[task]` to the function.

Workflows that contain each other through other workflows are found by rustc too: each
workflow's nesting depth is a constant computed from its nodes', so a cycle makes a constant
depend on itself. rustc's "cycle detected when simplifying constant ... `NESTING`" report then
points, note by note, at each workflow and at the node that contains the next one, which is
the path of the cycle. A workflow that contains itself directly is reported by the macro.
"""


def title(stem: str) -> str:
    return stem.replace("_", " ").capitalize()


def excerpt(source: str, area: str) -> str:
    """The part of the case that shows the mistake: the macro invocation, or the task; for the
    harness, everything but the comments and imports."""
    lines = source.rstrip().splitlines()
    if area == "testing":
        body = [line for line in lines if not line.startswith(("//", "use ", "include!"))]
        return "\n".join(body).strip()
    if "workflow! {" in source:
        start = next(i for i, line in enumerate(lines) if line.startswith("workflow! {"))
        end = next(i for i in range(start, len(lines)) if lines[i] == "}")
        return "\n".join(lines[start : end + 1])
    start = next((i for i, line in enumerate(lines) if line.startswith("#[task") or line.startswith("pub struct") or line.startswith("#[derive")), 0)
    body = [line for line in lines[start:] if line != "fn main() {}"]
    return "\n".join(body).strip()


def main() -> None:
    out = [INTRO]
    for area, (name, summary) in AREAS.items():
        out.append(f"\n## {name}\n\n{summary}\n")
        for case in sorted((UI / area).glob("*.rs")):
            stderr = case.with_suffix(".stderr").read_text()
            headline = re.sub(r"^error(\[E\d+\])?: ", "", stderr.splitlines()[0])
            out.append(f"\n### {title(case.stem)}\n")
            out.append(f"`tests/ui/{area}/{case.name}` — {headline}\n")
            out.append("```rust\n" + excerpt(case.read_text(), area) + "\n```\n")
            out.append("```text\n" + stderr.rstrip() + "\n```\n")
    (ROOT / "docs" / "errors.md").write_text("".join(out))


if __name__ == "__main__":
    main()
