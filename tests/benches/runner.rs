//! Runner benchmarks (not timed tests; nothing is asserted but that every run succeeds):
//!
//! 1. scheduling overhead per node, side by side with dagrs 0.9 (`support/dagrs_peer.rs`) in the same
//!    process, runs interleaved: DAGs of no-op tasks in three shapes at 1,000 and 10,000
//!    nodes, each task taking its inputs' values and passing on their sum (so each edge
//!    moves a value):
//!    - layered: layers of 100 nodes, each node taking two nodes of the layer before (fan-in
//!      and fan-out 2);
//!    - chain: each node taking the one before;
//!    - wide: one source, N nodes taking it, one sink taking all N;
//!
//!    with the run's state in memory ([`MemoryStore`]), in a SQLite file (the durable store
//!    `run` and `tick` use) and in SQLite's `:memory:`; parallelism 2 for all (dagrs on a
//!    2-worker tokio runtime), the median of 5 runs, per node;
//! 2. the peak memory (VmHWM, Linux) of one 10,000-node layered run, each runner alone in a
//!    process of its own;
//! 3. the speed-up of two independent CPU-bound tasks with two workers instead of one.
//!
//! Run: `cargo bench -p workflow-tests --bench runner` (`-- --runs N` for N runs of each).

#[path = "support/common.rs"]
mod common;
#[path = "support/dagrs_peer.rs"]
mod dagrs_peer;

use std::time::{Duration, Instant};

use serde_json::Value;
use workflow_core::plan::{Plan, PlanOptions};
use workflow_core::runner::engine::{self, Options};
use workflow_core::runner::memory::MemoryStore;
use workflow_core::runner::store::{RunStore, Store};
use workflow_core::{Source, TaskError, WorkflowSpec};

use common::{node, spec};

use dagrs_peer::{DagrsPeer, Shape};

/// The sum of its inputs plus one, as the peer's node computes.
fn no_op(inputs: Vec<Value>) -> Result<Value, TaskError> {
    Ok(Value::from(
        inputs
            .iter()
            .filter_map(Value::as_u64)
            .fold(1u64, u64::wrapping_add),
    ))
}

fn spin(_: Vec<Value>) -> Result<Value, TaskError> {
    // A few hundred million multiply-adds on one core.
    let mut value: u64 = 1;
    for step in 0..400_000_000u64 {
        value = value.wrapping_mul(6364136223846793005).wrapping_add(step);
    }
    Ok(Value::from(value % 1000))
}

/// The workflow of a shape: node `n{i}` taking the nodes the peer's node `i` takes.
fn workflow(shape: &Shape) -> WorkflowSpec {
    let nodes = shape
        .inputs()
        .into_iter()
        .enumerate()
        .map(|(index, inputs)| {
            let inputs = inputs
                .into_iter()
                .map(|from| Source::Node(Box::leak(format!("n{from}").into_boxed_str())))
                .collect();
            node(format!("n{index}"), inputs, no_op)
        })
        .collect();
    spec("shape", nodes)
}

fn plan(spec: &WorkflowSpec) -> Plan {
    Plan::build(spec, &[], &PlanOptions::default()).expect("the benchmark's workflow plans")
}

/// One run, from recording it to its end, on the SQLite store.
fn timed_sqlite_run(
    spec: &WorkflowSpec,
    plan: &Plan,
    store: &mut Store,
    parallelism: usize,
) -> Duration {
    let names: Vec<&str> = plan.nodes.iter().map(|node| node.id.as_str()).collect();
    let start = Instant::now();
    let (run, _lock) = store
        .start_run(spec.name, &plan.to_json(), "{}", &names, None)
        .expect("the benchmark's run is recorded");
    execute(spec, plan, store, run, parallelism);
    start.elapsed()
}

/// One run, from recording it to its end, with its state in memory.
fn timed_memory_run(spec: &WorkflowSpec, plan: &Plan, parallelism: usize) -> Duration {
    let names: Vec<&str> = plan.nodes.iter().map(|node| node.id.as_str()).collect();
    let start = Instant::now();
    let mut store = MemoryStore::new();
    let run = store.start_run(spec.name, &names);
    execute(spec, plan, &mut store, run, parallelism);
    let elapsed = start.elapsed();
    drop(store);
    elapsed
}

fn execute(
    spec: &WorkflowSpec,
    plan: &Plan,
    store: &mut dyn RunStore,
    run: i64,
    parallelism: usize,
) {
    let outcome = engine::execute(
        spec,
        plan,
        store,
        run,
        false,
        &Options {
            parallelism,
            ..Options::default()
        },
        &mut |_| {},
    )
    .expect("the benchmark runs");
    assert_eq!(outcome.status, engine::RunStatus::Succeeded);
}

fn timed_dagrs_run(shape: &Shape) -> Duration {
    let mut peer = DagrsPeer::build(shape);
    peer.run(dagrs_peer::runtime())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn per_node(time: Duration, nodes: usize) -> f64 {
    time.as_secs_f64() * 1e6 / nodes as f64
}

/// The process's peak resident memory in MB, where the system says it (Linux).
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes / 1024.0)
}

const PARALLELISM: usize = 2;

const SHAPES: [(&str, Shape); 6] = [
    (
        "layered 10x100",
        Shape::Layered {
            layers: 10,
            width: 100,
        },
    ),
    (
        "layered 100x100",
        Shape::Layered {
            layers: 100,
            width: 100,
        },
    ),
    ("chain 1,000", Shape::Chain { length: 1000 }),
    ("chain 10,000", Shape::Chain { length: 10_000 }),
    ("wide 1,000", Shape::Wide { width: 1000 }),
    ("wide 10,000", Shape::Wide { width: 10_000 }),
];

/// The runners measured, as named in the table and on the command line of a memory probe.
const RUNNERS: [&str; 4] = ["memory", "sqlite-file", "sqlite-memory", "dagrs"];

/// One 10,000-node layered run of `runner` in this process, then its peak memory.
fn memory_probe(runner: &str) {
    let shape = Shape::Layered {
        layers: 100,
        width: 100,
    };
    let spec = workflow(&shape);
    let plan = plan(&spec);
    let directory = tempfile::tempdir().expect("a temporary directory");
    match runner {
        "memory" => {
            timed_memory_run(&spec, &plan, PARALLELISM);
        }
        "sqlite-file" => {
            let mut store =
                Store::open(&directory.path().join("state.sqlite")).expect("a state file");
            timed_sqlite_run(&spec, &plan, &mut store, PARALLELISM);
        }
        "sqlite-memory" => {
            let mut store = Store::open(std::path::Path::new(":memory:")).expect("a store");
            timed_sqlite_run(&spec, &plan, &mut store, PARALLELISM);
        }
        _ => {
            timed_dagrs_run(&shape);
        }
    }
    match peak_memory_mb() {
        Some(megabytes) => println!("{megabytes:.1}"),
        None => println!("n/a"),
    }
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    if let Some(position) = arguments
        .iter()
        .position(|argument| argument == "--memory-probe")
    {
        memory_probe(arguments.get(position + 1).map_or("memory", String::as_str));
        return;
    }
    let runs: usize = arguments
        .iter()
        .position(|argument| argument == "--runs")
        .and_then(|position| arguments.get(position + 1))
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(5);

    println!(
        "per node, median of {runs} interleaved runs, parallelism {PARALLELISM}, {} cores",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "{:<17} {:>7} {:>10} {:>12} {:>14} {:>9} {:>14}",
        "shape", "nodes", "memory µs", "SQLite file", "SQLite :memory:", "dagrs µs", "memory/dagrs"
    );
    let directory = tempfile::tempdir().expect("a temporary directory");
    for (label, shape) in SHAPES {
        let spec = workflow(&shape);
        let plan = plan(&spec);
        let nodes = spec.nodes.len();
        let mut file = Store::open(&directory.path().join(format!("{label}.sqlite")))
            .expect("the state file opens");
        let mut in_memory =
            Store::open(std::path::Path::new(":memory:")).expect("an in-memory SQLite store");
        let mut times: [Vec<Duration>; 4] = Default::default();
        for _ in 0..runs {
            times[0].push(timed_memory_run(&spec, &plan, PARALLELISM));
            times[1].push(timed_sqlite_run(&spec, &plan, &mut file, PARALLELISM));
            times[2].push(timed_sqlite_run(&spec, &plan, &mut in_memory, PARALLELISM));
            times[3].push(timed_dagrs_run(&shape));
        }
        let [memory, sqlite_file, sqlite_memory, dagrs] = times.map(median);
        println!(
            "{label:<17} {nodes:>7} {:>10.1} {:>12.1} {:>14.1} {:>9.1} {:>13.2}x",
            per_node(memory, nodes),
            per_node(sqlite_file, nodes),
            per_node(sqlite_memory, nodes),
            per_node(dagrs, nodes),
            memory.as_secs_f64() / dagrs.as_secs_f64(),
        );
    }

    // Peak memory, each runner alone in a fresh process.
    let program = std::env::current_exe().expect("the benchmark's own path");
    let peaks: Vec<String> = RUNNERS
        .iter()
        .map(|runner| {
            let output = std::process::Command::new(&program)
                .args(["--memory-probe", runner])
                .output()
                .expect("the memory probe runs");
            let peak = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            format!("{runner} {peak} MB")
        })
        .collect();
    println!(
        "peak memory of one 10,000-node layered run, each alone in a process: {}",
        peaks.join(", ")
    );

    let pair = spec(
        "pair",
        vec![
            node("left".into(), Vec::new(), spin),
            node("right".into(), Vec::new(), spin),
        ],
    );
    let pair_plan = plan(&pair);
    let one = median(
        (0..3)
            .map(|_| timed_memory_run(&pair, &pair_plan, 1))
            .collect(),
    );
    let two = median(
        (0..3)
            .map(|_| timed_memory_run(&pair, &pair_plan, 2))
            .collect(),
    );
    println!(
        "two CPU-bound tasks: {:.2} s with one worker, {:.2} s with two, speed-up {:.2}x (median of 3, {} cores)",
        one.as_secs_f64(),
        two.as_secs_f64(),
        one.as_secs_f64() / two.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
}
