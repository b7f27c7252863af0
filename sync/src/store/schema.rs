//! Schema versions and the upgrades between them. A released version is never edited: a change
//! is a new version with its own upgrade, and `tests::schema` upgrades a frozen copy of every
//! old one.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::{Result, StoreError, set_meta};

/// The version this build writes.
pub const CURRENT_VERSION: i64 = 11;

type Upgrade = fn(&Transaction<'_>) -> rusqlite::Result<()>;

/// `(version it produces, the upgrade to it)`, oldest first. A new database runs them all, so
/// the path every terminal in the field takes is the path every test takes.
const UPGRADES: &[(i64, Upgrade)] = &[
    (1, to_v1),
    (2, to_v2),
    (3, to_v3),
    (4, to_v4),
    (5, to_v5),
    (6, to_v6),
    (7, to_v7),
    (8, to_v8),
    (9, to_v9),
    (10, to_v10),
    (11, to_v11),
];

fn to_v1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!("schema/v1.sql"))
}

fn to_v2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!("schema/v2.sql"))
}

fn to_v3(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!("schema/v3.sql"))
}

fn to_v4(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!("schema/v4.sql"))
}

fn to_v5(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!("schema/v5.sql"))
}

fn to_v6(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!("schema/v6.sql"))
}

fn to_v7(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!("schema/v7.sql"))
}

fn to_v8(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!("schema/v8.sql"))
}

fn to_v9(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!("schema/v9.sql"))
}

fn to_v10(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!("schema/v10.sql"))
}

fn to_v11(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(include_str!("schema/v11.sql"))
}

/// The schema version of the file; 0 for a new, empty one.
pub(crate) fn version(conn: &Connection) -> Result<i64> {
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta')",
        [],
        |row| row.get(0),
    )?;
    if !has_meta {
        return Ok(0);
    }
    Ok(conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Brings the file to [`CURRENT_VERSION`] in one transaction: an upgrade that fails, or a
/// crash during it, leaves the old version whole.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = version(&tx)?;
    if found > CURRENT_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: CURRENT_VERSION,
        });
    }
    upgrade(&tx, found, CURRENT_VERSION)?;
    // Facts every replica has from its first open on; kept as they are on later opens.
    tx.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES
             ('device_id', ?1), ('next_device_seq', 1), ('next_sscc_serial', 1)",
        [uuid::Uuid::new_v4().to_string()],
    )?;
    tx.commit()?;
    Ok(())
}

/// Runs the upgrades after `from` up to and including `to`.
pub(crate) fn upgrade(tx: &Transaction<'_>, from: i64, to: i64) -> Result<()> {
    for &(version, step) in UPGRADES {
        if version > from && version <= to {
            step(tx)?;
            set_meta(tx, "schema_version", version)?;
        }
    }
    Ok(())
}

/// A reader never upgrades (it cannot write): it refuses a file it does not understand.
pub(crate) fn check_readable(conn: &Connection) -> Result<()> {
    match version(conn)? {
        CURRENT_VERSION => Ok(()),
        found if found > CURRENT_VERSION => Err(StoreError::NewerSchema {
            found,
            supported: CURRENT_VERSION,
        }),
        found => Err(StoreError::NotUpgraded {
            found,
            supported: CURRENT_VERSION,
        }),
    }
}
