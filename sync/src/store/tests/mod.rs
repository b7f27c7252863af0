//! Tests of the replica: schema upgrades, imports, lookups, the journal and queue, and the
//! power-loss proof. Each test works on its own file in a scratch directory.

mod import;
mod journal;
mod lookups;
mod power_loss;
mod schema;
mod verdicts;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use tally_domain::code::Ki;

use super::Store;

/// A directory removed when the test ends (also when it fails, unless the process dies).
pub(super) struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tally-sync-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn db(&self) -> PathBuf {
        self.path("replica.db")
    }

    pub fn store(&self) -> Store {
        Store::open(self.db()).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(super) fn ki(cis: &str) -> Ki {
    Ki::from_cis(cis).unwrap_or_else(|| panic!("not a КИ: {cis}"))
}

/// Row counts of every table, to prove that nothing was lost.
pub(super) fn row_counts(path: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    tables
        .into_iter()
        .map(|table| {
            let n = conn
                .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |row| {
                    row.get(0)
                })
                .unwrap();
            (table, n)
        })
        .collect()
}
