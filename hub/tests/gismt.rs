//! What the GIS MT link keeps in the store, and the journal and list age the hub serves: the
//! submission rows a push makes, the one-way path of a document's states, verdicts in the
//! warehouse's feed, the link's lease and the alerts. On SQLite, and on PostgreSQL when
//! `TALLY_TEST_PG` is set. The link against a True API is `tests/tests/e2e/gismt.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

mod common;

mod sqlite {
    const BACKEND: crate::common::Backend = crate::common::Backend::Sqlite;
    include!("gismt/cases.rs");
}

#[cfg(tally_test_pg)]
mod postgres {
    const BACKEND: crate::common::Backend = crate::common::Backend::Postgres;
    include!("gismt/cases.rs");
}
