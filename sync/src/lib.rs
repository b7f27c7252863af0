//! The terminal's local replica and its replication with the hub.

pub mod engine;
pub mod store;
pub mod synthetic;
