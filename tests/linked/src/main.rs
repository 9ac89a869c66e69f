//! The binary of a lib+bin crate: naming the library links its workflows in.

workflow_core::main!(workflow_linked);
