//! Running workflows on this machine: a run's life from admission to notices
//! ([`lifecycle`]), under OS file locks ([`lock`]), with durable state ([`store`]), the engine
//! ([`engine`]), notifications ([`notify`]) and the "is it due?" decision of `tick` ([`tick`]).

pub mod attempt_log;
pub mod engine;
pub mod lifecycle;
pub mod lock;
pub mod memory;
pub mod notify;
pub mod progress;
pub mod run_dir;
pub mod store;
pub mod tick;
