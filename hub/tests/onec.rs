//! 1C's site exchange driven step by step as 1C drives it (checkauth, init, file fragments,
//! import), with catalogs in UTF-8 and windows-1251, refusals that change nothing, and the
//! node's address list and log. On SQLite, and on PostgreSQL when `TALLY_TEST_PG` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

mod common;

mod sqlite {
    const BACKEND: crate::common::Backend = crate::common::Backend::Sqlite;
    include!("onec/cases.rs");
}

#[cfg(tally_test_pg)]
mod postgres {
    const BACKEND: crate::common::Backend = crate::common::Backend::Postgres;
    include!("onec/cases.rs");
}
