//! The hub's link to GIS MT through the True API: sign-in per participant with the
//! organisation's signer, status refresh, document submission and results (docs/true-api.md).
//!
//! `client` makes one HTTP call per method; `signer` runs the signing tool; `link` decides what
//! to do next from what the store holds and runs it, one step at a time with the time passed in.

pub mod alerts;
pub mod client;
pub mod link;
pub mod signer;
