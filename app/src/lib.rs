//! Wiring of the `tally` binary: command-line parsing and the subcommands. The only crate that
//! uses `anyhow`; everything below it reports typed errors.

pub mod cli;
pub mod desk;
pub mod operation_log;
pub mod terminal;
