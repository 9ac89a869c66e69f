//! Runner benchmarks (not timed tests; nothing is asserted):
//!
//! 1. scheduling overhead per node: a 10,000-node DAG of no-op tasks, 100 layers of 100 nodes,
//!    each node taking the outputs of two nodes of the layer before (fan-in and fan-out),
//!    run in process with its state in a SQLite file and in memory;
//! 2. the speed-up of two independent CPU-bound tasks with two workers instead of one.
//!
//! Run: `cargo bench -p workflow-tests --bench runner`

use std::time::{Duration, Instant};

use serde_json::Value;
use workflow_core::plan::{Plan, PlanOptions};
use workflow_core::runner::engine::{self, Options};
use workflow_core::runner::store::Store;
use workflow_core::{
    InputSpec, NodeSpec, Source, TaskError, TaskKind, TaskPolicy, TaskSpec, WorkflowSpec,
};

const NO_INPUTS: &[InputSpec] = &[];

fn task(name: &'static str) -> TaskSpec {
    TaskSpec {
        name,
        rust_path: "bench",
        description: "",
        inputs: NO_INPUTS,
        output: "u64",
        fallible: false,
        kind: TaskKind::Function,
        policy: TaskPolicy::default(),
    }
}

fn no_op(_: Vec<Value>) -> Result<Value, TaskError> {
    Ok(Value::from(1))
}

fn spin(_: Vec<Value>) -> Result<Value, TaskError> {
    // A few hundred million multiply-adds on one core.
    let mut value: u64 = 1;
    for step in 0..400_000_000u64 {
        value = value.wrapping_mul(6364136223846793005).wrapping_add(step);
    }
    Ok(Value::from(value % 1000))
}

fn spec(name: &'static str, nodes: Vec<NodeSpec>) -> WorkflowSpec {
    WorkflowSpec {
        name,
        doc: "",
        rust_path: "bench",
        params: Vec::new(),
        nodes,
        operations: Default::default(),
        secrets: Vec::new(),
        branches: Vec::new(),
        merges: Vec::new(),
        returns: None,
    }
}

fn node(
    name: String,
    inputs: Vec<Source>,
    call: fn(Vec<Value>) -> Result<Value, TaskError>,
) -> NodeSpec {
    NodeSpec {
        name: Box::leak(name.into_boxed_str()),
        task: task("step"),
        inputs,
        after: Vec::new(),
        call,
        map: None,
        condition: None,
    }
}

fn layered(layers: usize, width: usize) -> WorkflowSpec {
    let name = |layer: usize, column: usize| format!("n{layer}_{column}");
    let mut nodes = Vec::with_capacity(layers * width);
    for layer in 0..layers {
        for column in 0..width {
            let inputs = if layer == 0 {
                Vec::new()
            } else {
                [column, (column + 1) % width]
                    .iter()
                    .map(|&from| Source::Node(Box::leak(name(layer - 1, from).into_boxed_str())))
                    .collect()
            };
            nodes.push(node(name(layer, column), inputs, no_op));
        }
    }
    spec("layered", nodes)
}

fn timed_run(spec: &WorkflowSpec, store: &mut Store, parallelism: usize) -> Duration {
    let plan =
        Plan::build(spec, &[], &PlanOptions::default()).expect("the benchmark's workflow plans");
    let names: Vec<&str> = plan.nodes.iter().map(|node| node.id.as_str()).collect();
    let start = Instant::now();
    let (run, _lock) = store
        .start_run(spec.name, &plan.to_json(), "{}", &names, None)
        .expect("the benchmark's run is recorded");
    let outcome = engine::execute(
        spec,
        &plan,
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
    let elapsed = start.elapsed();
    assert_eq!(outcome.status, engine::RunStatus::Succeeded);
    elapsed
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let directory = std::env::temp_dir().join(format!("workflow-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("a temporary directory");

    let workflow = layered(100, 100);
    let nodes = workflow.nodes.len();
    for (label, path) in [
        ("SQLite file", directory.join("state.sqlite")),
        ("in memory", ":memory:".into()),
    ] {
        let mut store = Store::open(&path).expect("the state file opens");
        let times: Vec<Duration> = (0..3)
            .map(|_| timed_run(&workflow, &mut store, 2))
            .collect();
        let total = median(times);
        println!(
            "{nodes} no-op nodes, 100 layers x 100, state {label}: {:.2} s per run, {:.0} µs per node (median of 3, parallelism 2)",
            total.as_secs_f64(),
            total.as_secs_f64() * 1e6 / nodes as f64
        );
    }

    let pair = spec(
        "pair",
        vec![
            node("left".into(), Vec::new(), spin),
            node("right".into(), Vec::new(), spin),
        ],
    );
    let mut store = Store::open(std::path::Path::new(":memory:")).expect("an in-memory store");
    let one = median((0..3).map(|_| timed_run(&pair, &mut store, 1)).collect());
    let two = median((0..3).map(|_| timed_run(&pair, &mut store, 2)).collect());
    println!(
        "two CPU-bound tasks: {:.2} s with one worker, {:.2} s with two, speed-up {:.2}x (median of 3, {} cores)",
        one.as_secs_f64(),
        two.as_secs_f64(),
        one.as_secs_f64() / two.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    let _ = std::fs::remove_dir_all(&directory);
}
