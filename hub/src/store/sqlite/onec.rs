//! 1C's site exchange tables on SQLite (see `store::onec`).

use rusqlite::{OptionalExtension, params};

use super::Sqlite;
use crate::store::Result;
use crate::store::onec::{OnecLogLine, OnecNode};

const NODE: &str = "SELECT name, warehouse, allow, keep_existing FROM onec_nodes";

fn node(r: &rusqlite::Row<'_>) -> rusqlite::Result<OnecNode> {
    Ok(OnecNode {
        name: r.get(0)?,
        warehouse: r.get(1)?,
        allow: r.get(2)?,
        keep_existing: r.get::<_, i64>(3)? != 0,
    })
}

impl Sqlite {
    pub fn onec_add_node(&self, n: &OnecNode, password_hash: &[u8], now: i64) -> Result<bool> {
        let added = self.conn().execute(
            "INSERT INTO onec_nodes (name, password_hash, warehouse, allow, keep_existing, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO NOTHING",
            params![n.name, password_hash, n.warehouse, n.allow, i64::from(n.keep_existing), now],
        )?;
        Ok(added == 1)
    }

    pub fn onec_node(&self, name: &str, password_hash: Option<&[u8]>) -> Result<Option<OnecNode>> {
        Ok(self
            .conn()
            .query_row(
                &format!("{NODE} WHERE name = ?1 AND (?2 IS NULL OR password_hash = ?2)"),
                params![name, password_hash],
                node,
            )
            .optional()?)
    }

    pub fn onec_start(&self, node: &str, cookie_hash: &[u8], now: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM onec_files WHERE node = ?1", [node])?;
        tx.execute(
            "INSERT INTO onec_sessions (cookie_hash, node, created_at) VALUES (?1, ?2, ?3)",
            params![cookie_hash, node, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn onec_session(&self, cookie_hash: &[u8], since: i64) -> Result<Option<OnecNode>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT n.name, n.warehouse, n.allow, n.keep_existing FROM onec_sessions s
                 JOIN onec_nodes n ON n.name = s.node
                 WHERE s.cookie_hash = ?1 AND s.created_at >= ?2",
                params![cookie_hash, since],
                node,
            )
            .optional()?)
    }

    pub fn onec_append(&self, node: &str, filename: &str, bytes: &[u8]) -> Result<()> {
        self.conn().execute(
            "INSERT INTO onec_files (node, filename, part, bytes)
             SELECT ?1, ?2, coalesce(max(part), 0) + 1, ?3 FROM onec_files
             WHERE node = ?1 AND filename = ?2",
            params![node, filename, bytes],
        )?;
        Ok(())
    }

    pub fn onec_file(&self, node: &str, filename: &str) -> Result<Option<Vec<u8>>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT bytes FROM onec_files WHERE node = ?1 AND filename = ?2 ORDER BY part",
        )?;
        let mut rows = statement.query(params![node, filename])?;
        let mut file: Option<Vec<u8>> = None;
        while let Some(row) = rows.next()? {
            let part: Vec<u8> = row.get(0)?;
            file.get_or_insert_with(Vec::new).extend_from_slice(&part);
        }
        Ok(file)
    }

    pub fn catalog_item(&self, gtin: &str) -> Result<Option<String>> {
        super::feed_item(&self.conn(), tally_wire::Feed::Catalog, gtin)
    }

    pub fn onec_log(&self, l: &OnecLogLine) -> Result<()> {
        self.conn().execute(
            "INSERT INTO onec_log (node, at, exchange, mode, filename, outcome, message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                l.node, l.at, l.exchange, l.mode, l.filename, l.outcome, l.message
            ],
        )?;
        Ok(())
    }

    pub fn onec_log_of(&self, node: &str, limit: u32) -> Result<Vec<OnecLogLine>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT node, at, exchange, mode, filename, outcome, message FROM onec_log
             WHERE node = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
        )?;
        let rows = statement.query_map(params![node, limit], |r| {
            Ok(OnecLogLine {
                node: r.get(0)?,
                at: r.get(1)?,
                exchange: r.get(2)?,
                mode: r.get(3)?,
                filename: r.get(4)?,
                outcome: r.get(5)?,
                message: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
