//! What the hub's test files share: a fresh database per test on either backend.
//!
//! Every case file runs once on SQLite and, when `TALLY_TEST_PG` names a PostgreSQL server
//! (its role may create databases), once more on a scratch database there (see `hub/build.rs`).

#![allow(clippy::unwrap_used, dead_code)] // test helpers: a failed set-up is a failed test

use std::path::PathBuf;

use tally_hub::store::{ScratchDatabase, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of its own for one test: a SQLite file in a temporary directory, or a scratch
/// database on the PostgreSQL server of `TALLY_TEST_PG`. Both go with the value.
#[derive(Debug)]
pub struct Database {
    /// What `Store::connect` and `tally-hub --database` take.
    pub location: String,
    /// A directory of the test's own, for files beside the database.
    pub dir: PathBuf,
    _scratch: Option<ScratchDatabase>,
}

impl Database {
    pub fn new(backend: Backend) -> Database {
        let dir = std::env::temp_dir().join(format!("tally-hub-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        match backend {
            Backend::Sqlite => Database {
                location: dir.join("hub.db").display().to_string(),
                dir,
                _scratch: None,
            },
            Backend::Postgres => {
                let server = std::env::var("TALLY_TEST_PG")
                    .expect("TALLY_TEST_PG names the PostgreSQL server of the tests");
                let scratch = ScratchDatabase::create(&server).unwrap();
                Database {
                    location: scratch.url.clone(),
                    dir,
                    _scratch: Some(scratch),
                }
            }
        }
    }

    /// Runs SQL on the database behind the hub's back (a test breaking it on purpose).
    pub fn execute(&self, sql: &str) {
        match &self._scratch {
            Some(_) => {
                let mut client =
                    postgres::Client::connect(&self.location, postgres::NoTls).unwrap();
                client.batch_execute(sql).unwrap();
            }
            None => rusqlite::Connection::open(&self.location)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
        }
    }

    /// A store on this database (another connection to it while a hub serves it).
    pub fn store(&self) -> Store {
        Store::connect(&self.location).unwrap()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
