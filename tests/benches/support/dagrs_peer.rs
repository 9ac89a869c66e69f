//! The peer of the runner benchmark: the same DAG shapes run on `dagrs` 0.9 (crates.io
//! `dagrs = "=0.9.0"`).
//!
//! Self-contained: only depends on the `dagrs` crate. It uses dagrs's own re-exports of
//! `tokio` (`dagrs::tokio`, built with tokio's "full" features) and `async_trait`
//! (`dagrs::async_trait`), so the host crate needs no extra dependency.
//!
//! How dagrs 0.9 runs a `Graph` (the legacy/"Graph" API, `Graph::async_start`, not the new
//! `HarnessRun` super-step API):
//! * every edge `a -> b` is a bounded tokio `mpsc` channel (capacity 32) created by
//!   `Graph::add_edge`; node `b` sees it in its `InChannels`, keyed by `a`'s `NodeId`;
//! * without conditional/loop nodes the whole DAG is ONE block: `async_start` spawns ONE tokio
//!   task per node, all at once, and joins them. Dependency order is NOT enforced by the
//!   scheduler: it exists only because an action awaits its `InChannels` (flow-based
//!   programming). So every action here awaits all its inputs (`InChannels::map`) before it
//!   broadcasts its value (`OutChannels::broadcast`);
//! * the run needs a tokio runtime owned by the caller (there is no sync `start()`);
//! * a `Graph` is single-use: a second `async_start` fails with `DgRun0004GraphNotActive`
//!   unless `Graph::reset().await` (which re-creates every channel) is called in between.
//!   `DagrsPeer::run` does that reset automatically, outside the timed section.
//!
//! The timed section is exactly `graph.async_start().await` (which itself includes dagrs's
//! per-run `init`, topological sort / block partition, spawning and joining the node tasks).
//! Building, resetting, checking and dropping the graph are not timed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use dagrs::tokio::runtime::{Builder, Runtime};
use dagrs::{
    Action, Content, DefaultNode, EnvVar, Graph, InChannels, Node, NodeId, NodeTable, OutChannels,
    Output,
};

/// DAG shapes shared with the runner under comparison.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// `layers` x `width`; node (l, c), l > 0, takes (l-1, c) and (l-1, (c+1) % width).
    Layered { layers: usize, width: usize },
    /// n0 -> n1 -> ... -> n(length-1).
    Chain { length: usize },
    /// source -> `width` middle nodes -> sink.
    Wide { width: usize },
}

impl Shape {
    /// Node index lists: `inputs[i]` are the (deduplicated) upstream node indices of node `i`.
    /// Node indices are topologically ordered.
    pub fn inputs(&self) -> Vec<Vec<usize>> {
        match *self {
            Shape::Layered { layers, width } => {
                let mut v = Vec::with_capacity(layers * width);
                for l in 0..layers {
                    for c in 0..width {
                        if l == 0 {
                            v.push(Vec::new());
                        } else {
                            let a = (l - 1) * width + c;
                            let b = (l - 1) * width + (c + 1) % width;
                            v.push(if a == b { vec![a] } else { vec![a, b] });
                        }
                    }
                }
                v
            }
            Shape::Chain { length } => (0..length)
                .map(|i| if i == 0 { Vec::new() } else { vec![i - 1] })
                .collect(),
            Shape::Wide { width } => {
                let mut v = Vec::with_capacity(width + 2);
                v.push(Vec::new()); // source = 0
                for _ in 0..width {
                    v.push(vec![0]); // middles = 1..=width
                }
                v.push((1..=width).collect()); // sink = width + 1
                v
            }
        }
    }
}

/// The per-node task: reads every upstream value, emits `1 + sum(inputs)` (wrapping u64)
/// on every outgoing edge and as the node's output, and counts its execution.
struct Step {
    executed: Arc<AtomicUsize>,
}

#[dagrs::async_trait::async_trait]
impl Action for Step {
    async fn run(
        &self,
        in_channels: &mut InChannels,
        out_channels: &mut OutChannels,
        _env: Arc<EnvVar>,
    ) -> Output {
        let mut sum: u64 = 1;
        let mut missing = false;
        for v in in_channels
            .map(|r| r.ok().and_then(|c| c.into_inner::<u64>()))
            .await
        {
            match v {
                Some(x) => sum = sum.wrapping_add(*x),
                None => missing = true,
            }
        }
        if missing {
            return Output::execution_failed("missing or mistyped upstream value");
        }
        let content = Content::new(sum);
        if out_channels
            .broadcast(content.clone())
            .await
            .iter()
            .any(|r| r.is_err())
        {
            return Output::execution_failed("downstream channel closed");
        }
        self.executed.fetch_add(1, Ordering::Relaxed);
        Output::Out(Some(content))
    }
}

/// A built dagrs graph for one shape; `run` can be called repeatedly (reset is untimed).
pub struct DagrsPeer {
    graph: Graph,
    ids: Vec<NodeId>,
    expected: Vec<u64>,
    executed: Arc<AtomicUsize>,
    runs: usize,
}

impl DagrsPeer {
    /// Builds the graph (nodes, edges, env). Does not need a runtime.
    pub fn build(shape: &Shape) -> Self {
        let inputs = shape.inputs();
        let n = inputs.len();
        let executed = Arc::new(AtomicUsize::new(0));

        // Expected value of every node, computed directly, to check the run.
        let mut expected = vec![0u64; n];
        for i in 0..n {
            expected[i] = inputs[i]
                .iter()
                .fold(1u64, |s, &j| s.wrapping_add(expected[j]));
        }

        let mut table = NodeTable::new();
        let mut graph = Graph::new();
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            // Names must be unique: NodeTable maps name -> id and overwrites duplicates.
            let node = DefaultNode::with_action(
                format!("n{i}"),
                Step {
                    executed: executed.clone(),
                },
                &mut table,
            );
            ids.push(node.id());
            graph.add_node(node).expect("add_node");
        }
        for (to, ins) in inputs.iter().enumerate() {
            for &from in ins {
                graph.add_edge(ids[from], [ids[to]]).expect("add_edge");
            }
        }
        graph.set_env(EnvVar::new(table));
        DagrsPeer {
            graph,
            ids,
            expected,
            executed,
            runs: 0,
        }
    }

    /// Runs the whole DAG once on `rt` and returns the wall time of `async_start` only.
    /// Panics if the run fails, if not every node executed exactly once, or if any node's
    /// output differs from the expected value.
    pub fn run(&mut self, rt: &Runtime) -> Duration {
        let graph = &mut self.graph;
        let first = self.runs == 0;
        let elapsed = rt.block_on(async {
            if !first {
                // A Graph is single-use; reset() re-creates all channels (not timed).
                graph.reset().await.expect("graph reset");
            }
            let t0 = Instant::now();
            let report = graph.async_start().await;
            let dt = t0.elapsed();
            let report = report.unwrap_or_else(|e| panic!("dagrs run failed: {e:?}"));
            assert_eq!(report.node_total, self.ids.len());
            dt
        });
        self.runs += 1;

        let n = self.ids.len();
        let count = self.executed.swap(0, Ordering::Relaxed);
        assert_eq!(count, n, "executed {count} of {n} nodes");
        let results: HashMap<NodeId, Option<Arc<u64>>> = self.graph.get_results::<u64>();
        for (i, id) in self.ids.iter().enumerate() {
            let got = results.get(id).and_then(|v| v.as_deref().copied());
            assert_eq!(got, Some(self.expected[i]), "wrong output at node {i}");
        }
        elapsed
    }
}

/// Shared multi-threaded tokio runtime (worker threads = number of CPUs), created once.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}
