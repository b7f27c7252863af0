//! The one contract between Tally terminals and their hub: feed lines, operation documents
//! (one enum tagged by kind), push and pull envelopes, answers and refusals.
//!
//! **Released wire types are never edited, only added to.** A field once shipped keeps its
//! name, type and meaning; new fields are optional so an older peer's body still reads;
//! unknown fields are ignored on both sides. `tests/golden.rs` pins the JSON of every type.

pub mod document;
pub mod feed;
pub mod limits;
mod protocol;
pub mod text;

pub use document::{DocumentKind, OperationDocument, UnreadableDocument};
pub use protocol::*;
