//! Tally's pure warehouse logic: marking codes, GS1 rules, product groups and, later,
//! validation and the operations. No IO and no clock: time is always passed in.

pub mod code;
pub mod gs1;
pub mod label;
pub mod lang;
pub mod operation;
pub mod product_group;
pub mod reason;
pub mod status;
pub mod validate;

pub use code::{CodeKind, Ki, MarkingCode, ParseOptions, Rejection, parse, read_gs1_data};
pub use gs1::{Gtin, Sscc};
pub use lang::Lang;
pub use product_group::ProductGroup;
pub use status::{CisStatus, CodeStatus, Inn, PackageType, StatusEx, Timestamp};
