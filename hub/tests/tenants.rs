//! Tenants and identities on one hub: every operation kind judged in the pushing device's
//! warehouse and participant, codes the hub never heard of, and one operation per (device,
//! UUID) however the UUID is spelled. On SQLite, and on PostgreSQL when `TALLY_TEST_PG` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

mod common;

mod sqlite {
    const BACKEND: crate::common::Backend = crate::common::Backend::Sqlite;
    include!("tenants/cases.rs");
}

#[cfg(tally_test_pg)]
mod postgres {
    const BACKEND: crate::common::Backend = crate::common::Backend::Postgres;
    include!("tenants/cases.rs");
}
