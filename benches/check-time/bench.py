#!/usr/bin/env python3
"""Compile-time and plan-time benchmark of the DSL.

Generates, for each size N, three crates with the same N task functions and the same N
distinct serde-derived data types (task i returns `D{i}`), wired into one DAG (each task takes
its predecessor's output and the output of the task at half its index, so the graph has long
chains and wide fan-in/fan-out):

  plain-N   the functions called directly, in order, from hand-written main(): the floor
  tasks-N   the functions marked `#[task]` and called directly, without the workflow, to
            split the cost between `#[task]` and `workflow!`
  macro-N   the functions marked `#[task]`, wired by one `workflow!`, main = cli::main()

It then measures `cargo check` of each crate alone (dependencies are built first and not
counted; the crate's main.rs is touched before each run), the three crates interleaved run by
run so that a change in the machine's load touches all of them alike, and, with `--plan`, the
wall time of `plan big --param seed=1` of the release-built macro crate.

Usage: python3 benches/check-time/bench.py [--sizes 100,1000] [--runs 3] [--plan]
Results are printed as a table (seconds, the ratio macro/plain and the extra milliseconds per
task); nothing is asserted.
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE / "generated"
TARGET = OUT / "target"


def task_functions(count: int, marked: bool) -> str:
    lines = []
    for index in range(count):
        lines.append(
            "#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]\n"
            f"pub struct D{index}(pub u64);\n"
        )
    for index in range(count):
        attribute = "#[task]\n" if marked else ""
        if index == 0:
            lines.append(f"{attribute}pub fn t{index}(seed: u64) -> D0 {{\n    D0(seed)\n}}\n")
        else:
            lines.append(
                f"{attribute}pub fn t{index}(previous: D{index - 1}, half: D{index // 2}) -> D{index} {{\n"
                f"    D{index}(previous.0.wrapping_mul(31).wrapping_add(half.0 ^ {index}))\n}}\n"
            )
    return "\n".join(lines)


def inputs(index: int) -> tuple[str, str]:
    return f"n{index - 1}", f"n{index // 2}"


def macro_crate(count: int) -> str:
    body = ["    big(seed: u64) {", "        n0 = t0(seed);"]
    for index in range(1, count):
        previous, half = inputs(index)
        body.append(f"        n{index} = t{index}({previous}, {half});")
    body.append("    }")
    return (
        "use workflow_core::prelude::*;\n\n"
        + task_functions(count, True)
        + "\nworkflow! {\n    /// A generated workflow.\n"
        + "\n".join(body)
        + "\n}\n\nfn main() -> std::process::ExitCode {\n    workflow_core::cli::main()\n}\n"
    )


def plain_crate(count: int) -> str:
    body = ["    let seed: u64 = std::env::args().count() as u64;", "    let n0 = t0(seed);"]
    for index in range(1, count):
        previous, half = inputs(index)
        body.append(f"    let n{index} = t{index}({previous}.clone(), {half}.clone());")
    body.append(f"    println!(\"{{}}\", n{count - 1}.0);")
    return task_functions(count, False) + "\nfn main() {\n" + "\n".join(body) + "\n}\n"


def tasks_crate(count: int) -> str:
    return "use workflow_core::prelude::*;\n\n" + plain_crate(count).replace("pub fn t", "#[task]\npub fn t")


def write_crate(name: str, source: str) -> pathlib.Path:
    crate = OUT / name
    (crate / "src").mkdir(parents=True, exist_ok=True)
    core = os.path.relpath(ROOT / "workflow-core", crate)
    (crate / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
        f'[dependencies]\nworkflow-core = {{ path = "{core}" }}\nserde = {{ version = "1", features = ["derive"] }}\n\n'
        "[workspace]\n"
    )
    (crate / "src" / "main.rs").write_text(source)
    return crate


def cargo(crate: pathlib.Path, *arguments: str) -> float:
    environment = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
    start = time.perf_counter()
    subprocess.run(["cargo", *arguments, "-q"], cwd=crate, env=environment, check=True)
    return time.perf_counter() - start


def touched_check(crate: pathlib.Path) -> float:
    (crate / "src" / "main.rs").touch()
    return cargo(crate, "check")


def timed_plan(crate: pathlib.Path, runs: int) -> float:
    cargo(crate, "build", "--release")
    binary = TARGET / "release" / crate.name
    times = []
    for _ in range(max(runs, 5)):
        start = time.perf_counter()
        subprocess.run([str(binary), "plan", "big", "--param", "seed=1"], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plan", action="store_true", help="also time `plan` of the release-built macro crate")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    print(
        f"{'tasks':>6} {'plain check s':>14} {'#[task] only s':>15} {'macro check s':>14} {'ratio':>6} {'ms/task':>8}"
        + (f" {'plan ms':>8}" if arguments.plan else "")
    )
    for size in sizes:
        crates = [
            write_crate(f"plain-{size}", plain_crate(size)),
            write_crate(f"tasks-{size}", tasks_crate(size)),
            write_crate(f"macro-{size}", macro_crate(size)),
        ]
        for crate in crates:
            cargo(crate, "check")  # dependencies and a first pass, not counted
        times = [[] for _ in crates]
        for _ in range(arguments.runs):
            for position, crate in enumerate(crates):
                times[position].append(touched_check(crate))
        plain_seconds, tasks_seconds, macro_seconds = (statistics.median(run) for run in times)
        line = (
            f"{size:>6} {plain_seconds:>14.2f} {tasks_seconds:>15.2f} {macro_seconds:>14.2f}"
            f" {macro_seconds / plain_seconds:>6.2f} {(macro_seconds - plain_seconds) * 1000 / size:>8.2f}"
        )
        if arguments.plan:
            line += f" {timed_plan(crates[2], arguments.runs) * 1000:>8.1f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
