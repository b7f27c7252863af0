//! The True API emulator: a stand-in for GIS MT's True API (the subset in docs/true-api.md) that
//! the hub's tests run as a separate process (`true-api-emulator`), plus what those tests need
//! to drive it: a throwaway PKI with the hub's signer script ([`pki`]) and a handle on a running
//! emulator with its control calls ([`harness`]).

pub mod clock;
pub mod cms;
pub mod dispenser;
pub mod harness;
pub mod pki;
pub mod rules;
pub mod server;
pub mod state;

pub use harness::{Emulator, FaultKind, Stats, StoredDocument};
pub use pki::TestPki;
