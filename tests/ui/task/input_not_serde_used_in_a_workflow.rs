//! A type that cannot flow between tasks, as a task's input and as two workflow parameters
//! feeding two nodes that run the task: one error at each place the type is written, none at
//! the nodes.
use workflow_core::prelude::*;

pub struct Connection {
    pub url: String,
}

/// Fetches with a connection.
#[task]
fn fetch(connection: Connection) -> String {
    connection.url
}

workflow! {
    /// Fetches twice.
    nightly(first: Connection, second: Connection) {
        a = fetch(first);
        b = fetch(second);
    }
}

fn main() {}
