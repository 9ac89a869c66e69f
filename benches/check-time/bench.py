#!/usr/bin/env python3
"""Compile-time and plan-time benchmark of the DSL.

Generates, for each size N, two crates with the same N task functions wired into one DAG
(each task takes its predecessor's output and the output of the task at half its index, so
the graph has long chains and wide fan-in/fan-out):

  macro-N   the functions marked `#[task]`, wired by one `workflow!`, main = cli::main()
  plain-N   the same functions called directly, in order, from hand-written main()
  tasks-N   the functions marked `#[task]` and called directly, without the workflow, to
            split the cost between `#[task]` and `workflow!`

It then measures `cargo check` of each crate alone (dependencies are built first and not
counted; the crate's main.rs is touched before each run), and the wall time of
`plan big --param seed=1` of the release-built macro crate.

Usage: python3 benches/check-time/bench.py [--sizes 100,1000] [--runs 3]
Results are printed as a table; nothing is asserted.
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
    lines = [
        "#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]",
        "pub struct Data(pub u64);",
        "",
    ]
    for index in range(count):
        attribute = "#[task]\n" if marked else ""
        if index == 0:
            lines.append(f"{attribute}pub fn t{index}(seed: u64) -> Data {{\n    Data(seed)\n}}\n")
        else:
            lines.append(
                f"{attribute}pub fn t{index}(previous: Data, half: Data) -> Data {{\n"
                f"    Data(previous.0.wrapping_mul(31).wrapping_add(half.0 ^ {index}))\n}}\n"
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
        body.append(f"    let n{index} = t{index}({previous}, {half});")
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


def timed_check(crate: pathlib.Path, runs: int) -> float:
    cargo(crate, "check")  # dependencies and a first pass, not counted
    times = []
    for _ in range(runs):
        (crate / "src" / "main.rs").touch()
        times.append(cargo(crate, "check"))
    return statistics.median(times)


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
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    print(f"{'tasks':>6} {'plain check s':>14} {'#[task] only s':>15} {'macro check s':>14} {'ratio':>6} {'plan ms':>8}")
    for size in sizes:
        plain = write_crate(f"plain-{size}", plain_crate(size))
        tasks = write_crate(f"tasks-{size}", tasks_crate(size))
        macro = write_crate(f"macro-{size}", macro_crate(size))
        plain_seconds = timed_check(plain, arguments.runs)
        tasks_seconds = timed_check(tasks, arguments.runs)
        macro_seconds = timed_check(macro, arguments.runs)
        plan_seconds = timed_plan(macro, arguments.runs)
        print(f"{size:>6} {plain_seconds:>14.2f} {tasks_seconds:>15.2f} {macro_seconds:>14.2f} {macro_seconds / plain_seconds:>6.1f} {plan_seconds * 1000:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
