//! How the hub answers, over real sockets: gzipped answers for clients that ask, the fleet view
//! for administrators only, revoked devices, pruned feeds answered with snapshots, and the
//! `tally-hub` commands behind them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

mod common;

mod sqlite {
    const BACKEND: crate::common::Backend = crate::common::Backend::Sqlite;
    include!("access/cases.rs");
}

#[cfg(tally_test_pg)]
mod postgres {
    const BACKEND: crate::common::Backend = crate::common::Backend::Postgres;
    include!("access/cases.rs");
}
