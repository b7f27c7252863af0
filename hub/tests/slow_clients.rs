//! Clients that try to wear the hub down, against a real hub with short limits: sockets that
//! drip a body or stall in their headers, idle ones, a capped hub, a gzip bomb, and a stop that
//! lets the request in flight finish. Outcomes only (served, refused, cut off), never times.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

mod common;

mod sqlite {
    const BACKEND: crate::common::Backend = crate::common::Backend::Sqlite;
    include!("slow_clients/cases.rs");
}

#[cfg(tally_test_pg)]
mod postgres {
    const BACKEND: crate::common::Backend = crate::common::Backend::Postgres;
    include!("slow_clients/cases.rs");
}
