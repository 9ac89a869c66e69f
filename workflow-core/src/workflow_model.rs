//! What `workflow!` implements: the [`Workflow`] trait and the run-time [`WorkflowSpec`].

use std::collections::HashMap;

use serde_json::Value;

use crate::{TaskError, TaskSpec};

/// A workflow declared with `workflow!`.
///
/// The macro implements it for a struct named after the workflow, and registers the
/// workflow so that [`crate::registry`] and the CLI find it without a hand-kept list.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a workflow",
    note = "declare workflows with `workflow! {{ ... }}`"
)]
pub trait Workflow: 'static {
    /// The workflow's name.
    const NAME: &'static str;
    /// Its parameters, nodes and edges.
    fn spec() -> WorkflowSpec;
}

/// A workflow's full description: what the plan, the graph and the runners read.
#[derive(Debug, Clone)]
pub struct WorkflowSpec {
    /// The workflow's name, unique in a binary.
    pub name: &'static str,
    /// The doc comment on the workflow.
    pub doc: &'static str,
    /// Where it is declared, e.g. `my_pipeline::nightly::daily_ingest`.
    pub rust_path: &'static str,
    /// The parameters, in declaration order.
    pub params: Vec<ParamSpec>,
    /// The nodes, in declaration order.
    pub nodes: Vec<NodeSpec>,
    /// Schedule, overlap, pools, run timeout, failure policy and notifications.
    pub operations: crate::operations::Operations,
    /// The secrets the workflow's tasks take, as references.
    pub secrets: Vec<crate::Secret>,
    /// Its branches; nodes point at them through [`NodeSpec::condition`].
    pub branches: Vec<BranchSpec>,
    /// Names produced in every arm of a branch.
    pub merges: Vec<Merge>,
    /// What the workflow returns when it is a node of another (`-> Type` and `return node;`).
    pub returns: Option<Returns>,
}

/// What a workflow returns when it is used as a node of another.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Returns {
    /// The node (or merged name) whose output is returned.
    pub node: String,
    /// The declared Rust type.
    #[serde(rename = "type")]
    pub ty: String,
}

/// One workflow parameter.
#[derive(Debug, Clone)]
pub struct ParamSpec {
    /// The parameter's name.
    pub name: &'static str,
    /// Its Rust type as written.
    pub ty: &'static str,
    /// Its default, already serialized, if it has one.
    pub default: Option<Value>,
    /// Parses a command-line value into the declared type (as JSON).
    pub parse: fn(&str) -> Result<Value, String>,
    /// Checks a JSON value against the declared type, and returns it as the type writes it.
    pub check: fn(&Value) -> Result<Value, String>,
}

/// One node: a task applied to inputs.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// The node's name, unique in its workflow.
    pub name: &'static str,
    /// The task it runs.
    pub task: TaskSpec,
    /// Where each input comes from, in the task's input order.
    pub inputs: Vec<Source>,
    /// Nodes that must finish first without passing data (`.after(...)`).
    pub after: Vec<&'static str>,
    /// Runs the task on JSON-encoded inputs.
    pub call: fn(Vec<Value>) -> Result<Value, TaskError>,
    /// Set when the node runs its task once per element of one input (`each(...)`).
    pub map: Option<MapSpec>,
    /// Set when the node is inside an arm of a branch: it runs only when that arm is taken.
    pub condition: Option<Condition>,
}

/// Where a node sits in a branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Condition {
    /// The branch's index in [`WorkflowSpec::branches`].
    pub branch: usize,
    /// The arm's index in the branch.
    pub arm: usize,
}

/// `if flag { ... } else { ... }` or `match value { ... }` in a workflow.
#[derive(Debug, Clone)]
pub struct BranchSpec {
    /// The value the branch decides on: a parameter, or a node's output.
    pub on: Source,
    /// The arms, in order.
    pub arms: Vec<ArmSpec>,
    /// Picks the arm for a value of `on`, with the workflow's own `match` (serde renames and
    /// every pattern kind included); `None` when no arm is taken (an `if` without `else`).
    pub select: fn(&Value) -> Result<Option<usize>, TaskError>,
}

/// One arm of a branch.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmSpec {
    /// `true`, `false`, or the `match` pattern as written.
    pub label: &'static str,
    /// The value that selects this arm, when one value does (a `bool`, a unit enum variant, a
    /// literal); `None` for patterns such as `_` or `Some(_)`.
    pub value: Option<Value>,
}

/// A name produced in every arm of a branch: after the branch it means whichever ran.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Merge {
    /// The name nodes after the branch use.
    pub name: String,
    /// The node in each arm that produces it.
    pub nodes: Vec<String>,
}

/// A node that fans out: its task runs once per element of one input, and the node's output
/// is the list of the task's outputs, in the input's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapSpec {
    /// The position of the input that holds the collection.
    pub input: usize,
    /// How many elements run at once (`.max_parallel(n)`); `None` for no bound.
    pub max_parallel: Option<u32>,
}

/// Where a node input comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A workflow parameter.
    Param(&'static str),
    /// Another node's output.
    Node(&'static str),
    /// A constant written in the workflow.
    Value(Value),
    /// A secret declared on the workflow, by name: the reference, never the value.
    Secret(&'static str),
}

/// Why two nodes are ordered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// The upstream node's output is an input of the downstream node.
    Data,
    /// `.after(...)`: order only.
    Order,
    /// The upstream node's output decides whether the downstream node runs (a branch).
    Condition,
}

/// One edge of the graph, from an upstream node to a downstream node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Edge {
    /// The upstream node.
    pub from: String,
    /// The downstream node.
    pub to: String,
    /// Data or order.
    pub kind: EdgeKind,
    /// For a data edge, the downstream input it feeds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input: Option<String>,
}

impl WorkflowSpec {
    /// The node with this name.
    pub fn node(&self, name: &str) -> Option<&NodeSpec> {
        self.nodes.iter().find(|node| node.name == name)
    }

    /// The parameter with this name.
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|param| param.name == name)
    }

    /// The first line of the doc comment.
    pub fn summary(&self) -> &'static str {
        self.doc.lines().next().unwrap_or("").trim()
    }

    /// Every edge: data edges in input order, then ordering edges, per downstream node in
    /// declaration order.
    pub fn edges(&self) -> Vec<Edge> {
        // Merged names by name, once (not a scan of the merges per edge).
        let merged: HashMap<&str, &Merge> = self
            .merges
            .iter()
            .map(|merge| (merge.name.as_str(), merge))
            .collect();
        let producers = |name: &'static str| -> Vec<&str> {
            match merged.get(name) {
                Some(merge) => merge.nodes.iter().map(String::as_str).collect(),
                None => vec![name],
            }
        };
        let mut edges = Vec::new();
        for node in &self.nodes {
            for (index, source) in node.inputs.iter().enumerate() {
                if let Source::Node(from) = source {
                    for from in producers(from) {
                        edges.push(Edge {
                            from: from.to_owned(),
                            to: node.name.to_owned(),
                            kind: EdgeKind::Data,
                            input: node
                                .task
                                .inputs
                                .get(index)
                                .map(|input| input.name.to_owned()),
                        });
                    }
                }
            }
            for after in &node.after {
                for from in producers(after) {
                    edges.push(Edge {
                        from: from.to_owned(),
                        to: node.name.to_owned(),
                        kind: EdgeKind::Order,
                        input: None,
                    });
                }
            }
            let deciding = node
                .condition
                .and_then(|condition| self.branches.get(condition.branch))
                .map(|branch| &branch.on);
            if let Some(Source::Node(from)) = deciding {
                for from in producers(from) {
                    edges.push(Edge {
                        from: from.to_owned(),
                        to: node.name.to_owned(),
                        kind: EdgeKind::Condition,
                        input: None,
                    });
                }
            }
        }
        edges
    }

    /// The nodes a name refers to: the node itself, or each arm's node for a merged name.
    pub fn producers<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        match self.merges.iter().find(|merge| merge.name == name) {
            Some(merge) => merge.nodes.iter().map(String::as_str).collect(),
            None => vec![name],
        }
    }

    /// The nodes grouped into stages: every node runs after all nodes of earlier stages it
    /// depends on, and a node is in the earliest stage its dependencies allow. Within a stage,
    /// nodes keep declaration order.
    ///
    /// `workflow!` rejects cycles at compile time; a spec built by hand that has one, or that
    /// names a node it does not declare, gets an error naming it.
    pub fn stages(&self) -> Result<Vec<Vec<&'static str>>, SpecError> {
        let index: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(position, node)| (node.name, position))
            .collect();
        let mut downstream: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        let mut waiting_on = vec![0usize; self.nodes.len()];
        for edge in self.edges() {
            let Some(&to) = index.get(edge.to.as_str()) else {
                return Err(SpecError::UnknownNode(edge.to));
            };
            let Some(&from) = index.get(edge.from.as_str()) else {
                return Err(SpecError::UnknownNode(edge.from));
            };
            downstream[from].push(to);
            waiting_on[to] += 1;
        }
        // Kahn's algorithm: a node's stage is one more than its latest upstream node's.
        let mut stage_of = vec![0usize; self.nodes.len()];
        let mut ready: Vec<usize> = (0..self.nodes.len())
            .filter(|&node| waiting_on[node] == 0)
            .collect();
        let mut placed = 0;
        while let Some(node) = ready.pop() {
            placed += 1;
            for &next in &downstream[node] {
                stage_of[next] = stage_of[next].max(stage_of[node] + 1);
                waiting_on[next] -= 1;
                if waiting_on[next] == 0 {
                    ready.push(next);
                }
            }
        }
        if placed < self.nodes.len() {
            let stuck = self
                .nodes
                .iter()
                .zip(&waiting_on)
                .filter(|(_, waiting)| **waiting > 0)
                .map(|(node, _)| node.name.to_owned())
                .collect();
            return Err(SpecError::Cycle(stuck));
        }
        let count = stage_of.iter().max().map_or(0, |last| last + 1);
        let mut stages = vec![Vec::new(); count];
        // Declaration order within a stage, because nodes are visited in that order here.
        for (node, stage) in self.nodes.iter().zip(stage_of) {
            stages[stage].push(node.name);
        }
        Ok(stages)
    }
}

/// A workflow spec that cannot be ordered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// An edge names a node the workflow does not declare.
    #[error("an edge names node `{0}`, which the workflow does not declare")]
    UnknownNode(String),
    /// Some nodes depend on each other in a cycle.
    #[error("nodes {} depend on each other in a cycle", crate::text::backticked(.0))]
    Cycle(Vec<String>),
}
