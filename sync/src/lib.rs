//! The terminal's local replica and its replication with the hub.
