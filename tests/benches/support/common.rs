//! What the benchmarks build their workflows from: no-op tasks, nodes and specs made by hand.

use serde_json::Value;
use workflow_core::{
    InputSpec, NodeSpec, Source, TaskError, TaskKind, TaskPolicy, TaskSpec, WorkflowSpec,
};

const NO_INPUTS: &[InputSpec] = &[];

/// A task of no declared inputs, returning a `u64`.
pub fn task(name: &'static str) -> TaskSpec {
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

/// A node named `name` running `call` on `inputs`.
pub fn node(
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

/// A workflow of `nodes` and nothing else.
pub fn spec(name: &'static str, nodes: Vec<NodeSpec>) -> WorkflowSpec {
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
