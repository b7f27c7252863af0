//! 1C's site exchange tables on PostgreSQL (see `store::onec`).

use super::Postgres;
use crate::store::Result;
use crate::store::onec::{OnecLogLine, OnecNode};

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
}
