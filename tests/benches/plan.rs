//! `Plan::build` benchmark (not a timed test; nothing is asserted): a layered workflow of
//! 1,000, 10,000 and 100,000 no-op nodes, 100 nodes a layer, each taking the outputs of two
//! nodes of the layer before. Prints the median of several builds and the time per node, so
//! that growth from one size to the next shows whether building is linear.
//!
//! Run: `cargo bench -p workflow-tests --bench plan`

use std::time::{Duration, Instant};

use serde_json::Value;
use workflow_core::plan::{Plan, PlanOptions};
use workflow_core::{
    InputSpec, NodeSpec, Source, TaskError, TaskKind, TaskPolicy, TaskSpec, WorkflowSpec,
};

const NO_INPUTS: &[InputSpec] = &[];

fn no_op(_: Vec<Value>) -> Result<Value, TaskError> {
    Ok(Value::from(1))
}

fn layered(nodes: usize) -> WorkflowSpec {
    let width = 100;
    let name = |layer: usize, column: usize| -> &'static str {
        Box::leak(format!("n{layer}_{column}").into_boxed_str())
    };
    let specs = (0..nodes)
        .map(|index| {
            let (layer, column) = (index / width, index % width);
            let inputs = if layer == 0 {
                Vec::new()
            } else {
                [column, (column + 1) % width]
                    .iter()
                    .map(|&from| Source::Node(name(layer - 1, from)))
                    .collect()
            };
            NodeSpec {
                name: name(layer, column),
                task: TaskSpec {
                    name: "step",
                    rust_path: "bench",
                    description: "",
                    inputs: NO_INPUTS,
                    output: "u64",
                    fallible: false,
                    kind: TaskKind::Function,
                    policy: TaskPolicy::default(),
                },
                inputs,
                after: Vec::new(),
                call: no_op,
                map: None,
                condition: None,
            }
        })
        .collect();
    WorkflowSpec {
        name: "layered",
        doc: "",
        rust_path: "bench",
        params: Vec::new(),
        nodes: specs,
        operations: Default::default(),
        secrets: Vec::new(),
        branches: Vec::new(),
        merges: Vec::new(),
        returns: None,
    }
}

fn main() {
    let mut previous: Option<f64> = None;
    for nodes in [1_000, 10_000, 100_000] {
        let spec = layered(nodes);
        let rounds = if nodes >= 100_000 { 3 } else { 7 };
        let mut times: Vec<Duration> = (0..rounds)
            .map(|_| {
                let start = Instant::now();
                let plan = Plan::build(&spec, &[], &PlanOptions::default())
                    .expect("the benchmark's workflow plans");
                let elapsed = start.elapsed();
                assert_eq!(plan.nodes.len(), nodes);
                elapsed
            })
            .collect();
        times.sort();
        let median = times[times.len() / 2];
        let per_node = median.as_secs_f64() * 1e6 / nodes as f64;
        let growth = previous.map_or_else(String::new, |before| {
            format!(", x{:.2} per node from the size before", per_node / before)
        });
        println!(
            "Plan::build, {nodes} nodes: {:.1} ms ({per_node:.2} µs per node{growth})",
            median.as_secs_f64() * 1e3
        );
        previous = Some(per_node);
    }
}
