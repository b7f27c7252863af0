//! GIS MT documents from operations pushed through the real HTTP server: each accepted
//! operation makes the documents the True API defines, one product group each, and every one
//! of them passes the JSON Schema of its type (`wire/schemas/`), for milk, shoes, tobacco and
//! water; nothing of a refused operation leaves; the real `tally-hub export` binary prints them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

mod common;

mod sqlite {
    const BACKEND: crate::common::Backend = crate::common::Backend::Sqlite;
    include!("documents/cases.rs");
}

#[cfg(tally_test_pg)]
mod postgres {
    const BACKEND: crate::common::Backend = crate::common::Backend::Postgres;
    include!("documents/cases.rs");
}
