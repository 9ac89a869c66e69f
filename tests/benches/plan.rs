//! `Plan::build` benchmark (not a timed test; nothing is asserted): a layered workflow of
//! 1,000, 10,000 and 100,000 no-op nodes, 100 nodes a layer, each taking the outputs of two
//! nodes of the layer before. Prints the median of several builds and the time per node, so
//! that growth from one size to the next shows whether building is linear.
//!
//! Run: `cargo bench -p workflow-tests --bench plan`

#[path = "support/common.rs"]
mod common;

use std::time::{Duration, Instant};

use serde_json::Value;
use workflow_core::plan::{Plan, PlanOptions};
use workflow_core::{Source, TaskError, WorkflowSpec};

fn no_op(_: Vec<Value>) -> Result<Value, TaskError> {
    Ok(Value::from(1))
}

fn layered(nodes: usize) -> WorkflowSpec {
    let width = 100;
    let name = |layer: usize, column: usize| format!("n{layer}_{column}");
    let specs = (0..nodes)
        .map(|index| {
            let (layer, column) = (index / width, index % width);
            let inputs = if layer == 0 {
                Vec::new()
            } else {
                [column, (column + 1) % width]
                    .iter()
                    .map(|&from| Source::Node(Box::leak(name(layer - 1, from).into_boxed_str())))
                    .collect()
            };
            common::node(name(layer, column), inputs, no_op)
        })
        .collect();
    common::spec("layered", specs)
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
