use workflow_core::prelude::*;

pub struct Connection {
    pub url: String,
}

#[task]
fn fetch(connection: Connection) -> String {
    connection.url
}

fn main() {}
