//! The hub over real HTTP: a server on 127.0.0.1 port 0, a ureq client, a fresh database per
//! test (SQLite, and PostgreSQL when `TALLY_TEST_PG` is set).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

mod common;

mod sqlite {
    const BACKEND: crate::common::Backend = crate::common::Backend::Sqlite;
    include!("http/cases.rs");
}

#[cfg(tally_test_pg)]
mod postgres {
    const BACKEND: crate::common::Backend = crate::common::Backend::Postgres;
    include!("http/cases.rs");
}
