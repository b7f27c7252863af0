//! 1C's site exchange tables on PostgreSQL (see `store::onec`).

use super::Postgres;
use crate::store::Result;
use crate::store::onec::{OnecLogLine, OnecNode, ResultRow, ResultSubmission};

fn node(r: &::postgres::Row) -> OnecNode {
    OnecNode {
        name: r.get(0),
        warehouse: r.get(1),
        allow: r.get(2),
        keep_existing: r.get::<_, i64>(3) != 0,
    }
}

impl Postgres {
    pub fn onec_add_node(&self, n: &OnecNode, password_hash: &[u8], now: i64) -> Result<bool> {
        let added = self.conn()?.execute(
            "INSERT INTO onec_nodes (name, password_hash, warehouse, allow, keep_existing, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
            &[&n.name, &password_hash, &n.warehouse, &n.allow, &i64::from(n.keep_existing), &now],
        )?;
        Ok(added == 1)
    }

    pub fn onec_node(&self, name: &str, password_hash: Option<&[u8]>) -> Result<Option<OnecNode>> {
        let row = self.conn()?.query_opt(
            "SELECT name, warehouse, allow, keep_existing FROM onec_nodes
             WHERE name = $1 AND ($2::bytea IS NULL OR password_hash = $2)",
            &[&name, &password_hash],
        )?;
        Ok(row.as_ref().map(node))
    }

    pub fn onec_start(&self, node: &str, cookie_hash: &[u8], now: i64) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute("DELETE FROM onec_files WHERE node = $1", &[&node])?;
        tx.execute(
            "INSERT INTO onec_sessions (cookie_hash, node, created_at) VALUES ($1, $2, $3)",
            &[&cookie_hash, &node, &now],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn onec_session(&self, cookie_hash: &[u8], since: i64) -> Result<Option<OnecNode>> {
        let row = self.conn()?.query_opt(
            "SELECT n.name, n.warehouse, n.allow, n.keep_existing FROM onec_sessions s
             JOIN onec_nodes n ON n.name = s.node
             WHERE s.cookie_hash = $1 AND s.created_at >= $2",
            &[&cookie_hash, &since],
        )?;
        Ok(row.as_ref().map(node))
    }

    pub fn onec_append(&self, node: &str, filename: &str, bytes: &[u8]) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // Fragments of one file arrive one after another; the lock keeps two instances that
        // got one each from numbering them alike.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))",
            &[&node, &filename],
        )?;
        tx.execute(
            "INSERT INTO onec_files (node, filename, part, bytes)
             SELECT $1, $2, coalesce(max(part), 0) + 1, $3 FROM onec_files
             WHERE node = $1 AND filename = $2",
            &[&node, &filename, &bytes],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn onec_file(&self, node: &str, filename: &str) -> Result<Option<Vec<u8>>> {
        let rows = self.conn()?.query(
            "SELECT bytes FROM onec_files WHERE node = $1 AND filename = $2 ORDER BY part",
            &[&node, &filename],
        )?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut file = Vec::new();
        for row in &rows {
            file.extend_from_slice(row.get::<_, &[u8]>(0));
        }
        Ok(Some(file))
    }

    pub fn catalog_item(&self, gtin: &str) -> Result<Option<String>> {
        let row = self.conn()?.query_opt(
            "SELECT item FROM changes WHERE feed = $1 AND key = $2",
            &[&tally_wire::Feed::Catalog.name(), &gtin],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    pub fn onec_log(&self, l: &OnecLogLine) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO onec_log (node, at, exchange, mode, filename, outcome, message)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &l.node,
                &l.at,
                &l.exchange,
                &l.mode,
                &l.filename,
                &l.outcome,
                &l.message,
            ],
        )?;
        Ok(())
    }

    pub fn onec_log_of(&self, node: &str, limit: u32) -> Result<Vec<OnecLogLine>> {
        let rows = self.conn()?.query(
            "SELECT node, at, exchange, mode, filename, outcome, message FROM onec_log
             WHERE node = $1 ORDER BY at DESC, id DESC LIMIT $2",
            &[&node, &i64::from(limit)],
        )?;
        Ok(rows
            .iter()
            .map(|r| OnecLogLine {
                node: r.get(0),
                at: r.get(1),
                exchange: r.get(2),
                mode: r.get(3),
                filename: r.get(4),
                outcome: r.get(5),
                message: r.get(6),
            })
            .collect())
    }

    pub fn onec_file_names(&self, node: &str) -> Result<Vec<String>> {
        let rows = self.conn()?.query(
            "SELECT DISTINCT filename FROM onec_files WHERE node = $1 ORDER BY filename",
            &[&node],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub fn onec_replace_file(&self, node: &str, filename: &str, bytes: &[u8]) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM onec_files WHERE node = $1 AND filename = $2",
            &[&node, &filename],
        )?;
        tx.execute(
            "INSERT INTO onec_files (node, filename, part, bytes) VALUES ($1, $2, 1, $3)",
            &[&node, &filename, &bytes],
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
        let rows = self.conn()?.query(
            &format!(
                "{RESULT} WHERE o.id > $1 AND ($2::text IS NULL OR d.warehouse = $2)
                 AND {RESULT_FILTER} ORDER BY o.id LIMIT $3"
            ),
            &[&after, &warehouse, &i64::from(limit)],
        )?;
        Ok(rows.iter().map(result_row).collect())
    }

    pub fn result_of(&self, uuid: &str) -> Result<Option<ResultRow>> {
        let row = self.conn()?.query_opt(
            &format!("{RESULT} WHERE o.uuid = $1 AND {RESULT_FILTER}"),
            &[&uuid],
        )?;
        Ok(row.as_ref().map(result_row))
    }

    pub fn onec_query(&self, node: &str, limit: u32, now: i64) -> Result<Vec<ResultRow>> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // One exchange of a node at a time: two would number their batches alike.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('onec_query/' || $1))",
            &[&node],
        )?;
        let batch: i64 = tx
            .query_one(
                "SELECT coalesce(max(batch), 0) + 1 FROM onec_results WHERE node = $1",
                &[&node],
            )?
            .get(0);
        tx.execute(
            &format!(
                "INSERT INTO onec_results (node, operation, batch, sent_at)
                 SELECT n.name, o.id, $2, $3
                 FROM onec_nodes n JOIN devices d ON d.warehouse = n.warehouse
                 JOIN operations o ON o.device_id = d.id
                 WHERE n.name = $1 AND o.received_at >= n.created_at AND {RESULT_FILTER}
                   AND NOT EXISTS (SELECT 1 FROM onec_results r WHERE r.node = n.name
                                   AND r.operation = o.id AND r.confirmed_at IS NOT NULL)
                 ORDER BY o.id LIMIT $4
                 ON CONFLICT (node, operation) DO UPDATE SET batch = excluded.batch,
                     sent_at = excluded.sent_at"
            ),
            &[&node, &batch, &now, &i64::from(limit)],
        )?;
        let rows = tx.query(
            &format!(
                "{RESULT} JOIN onec_results r ON r.operation = o.id
                 WHERE r.node = $1 AND r.batch = $2 ORDER BY o.id"
            ),
            &[&node, &batch],
        )?;
        tx.commit()?;
        Ok(rows.iter().map(result_row).collect())
    }

    pub fn onec_confirm(&self, node: &str, now: i64) -> Result<u64> {
        Ok(self.conn()?.execute(
            "UPDATE onec_results SET confirmed_at = $2
             WHERE node = $1 AND confirmed_at IS NULL
               AND batch = (SELECT max(batch) FROM onec_results WHERE node = $1)",
            &[&node, &now],
        )?)
    }

    pub fn result_submissions(&self, operations: &[i64]) -> Result<Vec<ResultSubmission>> {
        let rows = self.conn()?.query(
            "SELECT s.operation, g.doc_type, g.pg, s.state, s.gis_id FROM submissions s
             JOIN gis_documents g ON g.operation = s.operation AND g.position = s.position
             WHERE s.operation = ANY($1) ORDER BY s.operation, s.position",
            &[&operations],
        )?;
        Ok(rows
            .iter()
            .map(|r| ResultSubmission {
                operation: r.get(0),
                document_type: r.get(1),
                pg: r.get(2),
                state: r.get(3),
                gis_id: r.get(4),
            })
            .collect())
    }

    pub fn boxes_on(&self, pallets: &[String]) -> Result<Vec<(String, String)>> {
        let rows = self.conn()?.query(
            "SELECT parent, sscc FROM labels WHERE parent = ANY($1)",
            &[&pallets],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub fn units_in(&self, labels: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = self.conn()?.query(
            "SELECT parent, ki_key FROM statuses WHERE parent = ANY($1)",
            &[&labels],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub fn items_of(
        &self,
        feed: &str,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, String>> {
        let rows = self.conn()?.query(
            "SELECT key, item FROM changes WHERE feed = $1 AND key = ANY($2)",
            &[&feed, &keys],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

const RESULT: &str = "SELECT o.id, o.uuid, o.kind, d.name, d.warehouse, o.operator, o.started_at,
        o.finished_at, o.payload
    FROM operations o JOIN devices d ON d.id = o.device_id";

/// Applied operations of the kinds that are results (`store::onec::RESULT_KINDS`).
const RESULT_FILTER: &str =
    "o.result = 'accepted' AND o.kind IN ('acceptance', 'write-off', 'shipment')";

fn result_row(r: &postgres::Row) -> ResultRow {
    ResultRow {
        id: r.get(0),
        uuid: r.get(1),
        kind: r.get(2),
        device: r.get(3),
        warehouse: r.get(4),
        operator: r.get(5),
        started_at: r.get(6),
        finished_at: r.get(7),
        payload: r.get(8),
    }
}
