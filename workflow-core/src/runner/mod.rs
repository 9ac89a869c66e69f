//! Running workflows on this machine: durable state ([`store`]), the engine ([`engine`]),
//! notifications ([`notify`]) and the "is it due?" decision of `tick` ([`tick`]).

pub mod engine;
pub mod notify;
pub mod progress;
pub mod run_dir;
pub mod store;
pub mod tick;
