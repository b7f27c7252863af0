//! 1C's site exchange tables on SQLite (see `store::onec`).

use rusqlite::{OptionalExtension, params};

use super::Sqlite;
use crate::store::Result;
use crate::store::onec::{OnecLogLine, OnecNode, ResultRow, ResultSubmission};

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

    pub fn onec_file_names(&self, node: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT DISTINCT filename FROM onec_files WHERE node = ?1 ORDER BY filename",
        )?;
        let rows = statement.query_map([node], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn onec_replace_file(&self, node: &str, filename: &str, bytes: &[u8]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM onec_files WHERE node = ?1 AND filename = ?2",
            params![node, filename],
        )?;
        tx.execute(
            "INSERT INTO onec_files (node, filename, part, bytes) VALUES (?1, ?2, 1, ?3)",
            params![node, filename, bytes],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn results_page(
        &self,
        warehouse: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ResultRow>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&format!(
            "{RESULT} WHERE o.id > ?1 AND (?2 IS NULL OR d.warehouse = ?2) AND {RESULT_FILTER}
             ORDER BY o.id LIMIT ?3"
        ))?;
        let rows = statement.query_map(params![after, warehouse, i64::from(limit)], result_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn result_of(&self, uuid: &str) -> Result<Option<ResultRow>> {
        let conn = self.conn();
        let mut statement =
            conn.prepare_cached(&format!("{RESULT} WHERE o.uuid = ?1 AND {RESULT_FILTER}"))?;
        Ok(statement.query_row([uuid], result_row).optional()?)
    }

    pub fn onec_query(&self, node: &str, limit: u32, now: i64) -> Result<Vec<ResultRow>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let batch: i64 = tx.query_row(
            "SELECT coalesce(max(batch), 0) + 1 FROM onec_results WHERE node = ?1",
            [node],
            |r| r.get(0),
        )?;
        tx.execute(
            &format!(
                "INSERT INTO onec_results (node, operation, batch, sent_at)
                 SELECT n.name, o.id, ?2, ?3
                 FROM onec_nodes n JOIN devices d ON d.warehouse = n.warehouse
                 JOIN operations o ON o.device_id = d.id
                 WHERE n.name = ?1 AND o.received_at >= n.created_at AND {RESULT_FILTER}
                   AND NOT EXISTS (SELECT 1 FROM onec_results r WHERE r.node = n.name
                                   AND r.operation = o.id AND r.confirmed_at IS NOT NULL)
                 ORDER BY o.id LIMIT ?4
                 ON CONFLICT (node, operation) DO UPDATE SET batch = excluded.batch,
                     sent_at = excluded.sent_at"
            ),
            params![node, batch, now, i64::from(limit)],
        )?;
        let rows = {
            let mut statement = tx.prepare_cached(&format!(
                "{RESULT} JOIN onec_results r ON r.operation = o.id
                 WHERE r.node = ?1 AND r.batch = ?2 ORDER BY o.id"
            ))?;
            let rows = statement.query_map(params![node, batch], result_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.commit()?;
        Ok(rows)
    }

    pub fn onec_confirm(&self, node: &str, now: i64) -> Result<u64> {
        let confirmed = self.conn().execute(
            "UPDATE onec_results SET confirmed_at = ?2
             WHERE node = ?1 AND confirmed_at IS NULL
               AND batch = (SELECT max(batch) FROM onec_results WHERE node = ?1)",
            params![node, now],
        )?;
        Ok(confirmed as u64)
    }

    pub fn result_submissions(&self, operations: &[i64]) -> Result<Vec<ResultSubmission>> {
        let conn = self.conn();
        let list = serde_json::to_string(operations).unwrap_or_default();
        let mut statement = conn.prepare_cached(
            "SELECT s.operation, g.doc_type, g.pg, s.state, s.gis_id FROM submissions s
             JOIN gis_documents g ON g.operation = s.operation AND g.position = s.position
             WHERE s.operation IN (SELECT value FROM json_each(?1))
             ORDER BY s.operation, s.position",
        )?;
        let rows = statement.query_map([list], |r| {
            Ok(ResultSubmission {
                operation: r.get(0)?,
                document_type: r.get(1)?,
                pg: r.get(2)?,
                state: r.get(3)?,
                gis_id: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn boxes_on(&self, pallets: &[String]) -> Result<Vec<(String, String)>> {
        self.pairs_under(
            "SELECT parent, sscc FROM labels WHERE parent IN (SELECT value FROM json_each(?1))",
            pallets,
        )
    }

    pub fn units_in(&self, labels: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        self.pairs_under(
            "SELECT parent, ki_key FROM statuses WHERE parent IN (SELECT value FROM json_each(?1))",
            labels,
        )
    }

    /// (parent, child) rows of `sql`, whose one parameter is the parents as a JSON list.
    fn pairs_under<T: rusqlite::types::FromSql>(
        &self,
        sql: &str,
        parents: &[String],
    ) -> Result<Vec<(String, T)>> {
        let conn = self.conn();
        let list = serde_json::to_string(parents).unwrap_or_default();
        let mut statement = conn.prepare_cached(sql)?;
        let rows = statement.query_map([list], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn items_of(
        &self,
        feed: &str,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, String>> {
        let conn = self.conn();
        let list = serde_json::to_string(keys).unwrap_or_default();
        let mut statement = conn.prepare_cached(
            "SELECT key, item FROM changes
             WHERE feed = ?1 AND key IN (SELECT value FROM json_each(?2))",
        )?;
        let rows = statement.query_map(params![feed, list], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

const RESULT: &str = "SELECT o.id, o.uuid, o.kind, d.name, d.warehouse, o.operator, o.started_at,
        o.finished_at, o.payload
    FROM operations o JOIN devices d ON d.id = o.device_id";

/// Applied operations of the kinds that are results (`store::onec::RESULT_KINDS`).
const RESULT_FILTER: &str =
    "o.result = 'accepted' AND o.kind IN ('acceptance', 'write-off', 'shipment')";

fn result_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ResultRow> {
    Ok(ResultRow {
        id: r.get(0)?,
        uuid: r.get(1)?,
        kind: r.get(2)?,
        device: r.get(3)?,
        warehouse: r.get(4)?,
        operator: r.get(5)?,
        started_at: r.get(6)?,
        finished_at: r.get(7)?,
        payload: r.get(8)?,
    })
}
