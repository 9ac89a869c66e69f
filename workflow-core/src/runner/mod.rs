//! Running workflows on this machine: durable state ([`store`]) and the engine ([`engine`]).

pub mod engine;
pub mod notify;
pub mod store;
