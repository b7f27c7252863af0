//! The GIS MT link's tables on SQLite (see `store::link`).

use rusqlite::{OptionalExtension, Row, params};
use tally_wire::{DocumentState, Feed};

use super::{Sqlite, log_change};
use crate::store::Result;
use crate::store::link::{Alert, Final, JournalFilter, RefreshPass, Submission};

const SUBMISSION: &str = "SELECT s.operation, s.position, o.uuid, o.kind, o.device_id, d.name,
        d.warehouse, d.participant_inn, g.doc_type, g.pg, g.body, s.state, s.gis_id, s.errors,
        s.made_at, s.sending_at, s.state_at, s.next_at, s.tries, s.last_error
    FROM submissions s
    JOIN gis_documents g ON g.operation = s.operation AND g.position = s.position
    JOIN operations o ON o.id = s.operation
    JOIN devices d ON d.id = o.device_id";

fn submission(r: &Row<'_>) -> rusqlite::Result<Submission> {
    let state: String = r.get(11)?;
    let errors: String = r.get(13)?;
    Ok(Submission {
        operation: r.get(0)?,
        position: r.get(1)?,
        uuid: r.get(2)?,
        kind: r.get(3)?,
        device_id: r.get(4)?,
        device: r.get(5)?,
        warehouse: r.get(6)?,
        participant_inn: r.get(7)?,
        doc_type: r.get(8)?,
        pg: r.get(9)?,
        body: r.get(10)?,
        // Only this module writes the column, with a known code.
        state: DocumentState::from_code(&state).unwrap_or(DocumentState::Waiting),
        gis_id: r.get(12)?,
        errors: serde_json::from_str(&errors).unwrap_or_default(),
        made_at: r.get(14)?,
        sending_at: r.get(15)?,
        state_at: r.get(16)?,
        next_at: r.get(17)?,
        tries: r.get(18)?,
        last_error: r.get(19)?,
    })
}

impl Sqlite {
    pub fn participants(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT DISTINCT participant_inn FROM devices WHERE revoked_at IS NULL
             ORDER BY participant_inn",
        )?;
        let rows = statement.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn claim_lease(&self, name: &str, holder: &str, now: i64, ttl_ms: i64) -> Result<bool> {
        let changed = self.conn().execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3 + ?4)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                 expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at < ?3",
            params![name, holder, now, ttl_ms],
        )?;
        Ok(changed == 1)
    }

    pub fn due_submissions(&self, now: i64, limit: u32) -> Result<Vec<Submission>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&format!(
            "{SUBMISSION}
             WHERE s.state IN ('waiting', 'sending', 'in_progress') AND s.next_at <= ?1
             ORDER BY s.next_at, s.operation, s.position LIMIT ?2"
        ))?;
        let rows = statement.query_map(params![now, limit], submission)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn unfinished_submissions(&self, limit: u32) -> Result<Vec<Submission>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&format!(
            "{SUBMISSION}
             WHERE s.state IN ('waiting', 'sending', 'in_progress')
             ORDER BY s.operation, s.position LIMIT ?1"
        ))?;
        let rows = statement.query_map([limit], submission)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn submissions_of(&self, uuid: &str) -> Result<Vec<Submission>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&format!(
            "{SUBMISSION} WHERE o.uuid = ?1 ORDER BY s.operation, s.position"
        ))?;
        let rows = statement.query_map([uuid], submission)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn mark_sending(
        &self,
        operation: i64,
        position: i64,
        now: i64,
        retry_at: i64,
    ) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE submissions SET state = 'sending', sending_at = ?3, state_at = ?3,
                 next_at = ?4, tries = tries + 1
             WHERE operation = ?1 AND position = ?2 AND state IN ('waiting', 'sending')",
            params![operation, position, now, retry_at],
        )?;
        Ok(changed == 1)
    }

    pub fn mark_unsent(&self, operation: i64, position: i64, now: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE submissions SET state = 'waiting', state_at = ?3, next_at = ?3
             WHERE operation = ?1 AND position = ?2 AND state = 'sending'",
            params![operation, position, now],
        )?;
        Ok(())
    }

    pub fn record_gis_id(
        &self,
        operation: i64,
        position: i64,
        gis_id: &str,
        now: i64,
        poll_at: i64,
    ) -> Result<bool> {
        let conn = self.conn();
        let taken: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM submissions WHERE gis_id = ?1",
                [gis_id],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Ok(false);
        }
        let changed = conn.execute(
            "UPDATE submissions SET state = 'in_progress', gis_id = ?3, state_at = ?4,
                 next_at = ?5, last_error = NULL
             WHERE operation = ?1 AND position = ?2 AND state IN ('waiting', 'sending')",
            params![operation, position, gis_id, now, poll_at],
        )?;
        Ok(changed == 1)
    }

    pub fn postpone(
        &self,
        operation: i64,
        position: i64,
        next_at: i64,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE submissions SET next_at = ?3, last_error = coalesce(?4, last_error)
             WHERE operation = ?1 AND position = ?2",
            params![operation, position, next_at, error],
        )?;
        Ok(())
    }

    pub fn record_final(&self, done: &Final<'_>, now: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE submissions SET state = ?3, errors = ?4, state_at = ?5, next_at = ?5,
                 last_error = NULL
             WHERE operation = ?1 AND position = ?2 AND state IN ('sending', 'in_progress')",
            params![
                done.operation,
                done.position,
                done.state.code(),
                serde_json::to_string(done.errors)?,
                now
            ],
        )?;
        if changed == 1 {
            log_change(
                &tx,
                Feed::Verdicts,
                done.verdict_key,
                done.verdict,
                Some(done.warehouse),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn gis_id_taken(&self, gis_id: &str) -> Result<bool> {
        let found: Option<i64> = self
            .conn()
            .query_row(
                "SELECT 1 FROM submissions WHERE gis_id = ?1",
                [gis_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }

    pub fn queue_refresh(&self, codes: &[String], now: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        queue_refresh(&tx, codes, now)?;
        tx.commit()?;
        Ok(())
    }

    pub fn queued_refresh(&self, limit: u32) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut statement = conn
            .prepare_cached("SELECT code FROM refresh_queue ORDER BY queued_at, code LIMIT ?1")?;
        let rows = statement.query_map([limit], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn dequeue_refresh(&self, codes: &[String]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM refresh_queue WHERE code = ?1")?;
            for code in codes {
                delete.execute([code])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn owned_codes(
        &self,
        inn: &str,
        cursor: &[u8],
        limit: u32,
    ) -> Result<Vec<(Vec<u8>, String)>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT ki_key, info FROM statuses WHERE owner_inn = ?1 AND ki_key > ?2
             ORDER BY ki_key LIMIT ?3",
        )?;
        let rows = statement.query_map(params![inn, cursor, limit], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut codes = Vec::new();
        for row in rows {
            let (key, info) = row?;
            codes.push((key, super::super::code_of_info(&info)));
        }
        Ok(codes)
    }

    pub fn refresh_pass(&self, inn: &str) -> Result<RefreshPass> {
        let found = self
            .conn()
            .query_row(
                "SELECT cursor, pass_started_at, refreshed_at FROM refreshes
                 WHERE participant_inn = ?1",
                [inn],
                |r| {
                    Ok(RefreshPass {
                        participant_inn: inn.to_owned(),
                        cursor: r.get(0)?,
                        pass_started_at: r.get(1)?,
                        refreshed_at: r.get(2)?,
                    })
                },
            )
            .optional()?;
        Ok(found.unwrap_or_else(|| RefreshPass {
            participant_inn: inn.to_owned(),
            ..RefreshPass::default()
        }))
    }

    pub fn save_refresh_pass(&self, pass: &RefreshPass) -> Result<()> {
        self.conn().execute(
            "INSERT INTO refreshes (participant_inn, cursor, pass_started_at, refreshed_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (participant_inn) DO UPDATE SET cursor = excluded.cursor,
                 pass_started_at = excluded.pass_started_at,
                 refreshed_at = excluded.refreshed_at",
            params![
                pass.participant_inn,
                pass.cursor,
                pass.pass_started_at,
                pass.refreshed_at
            ],
        )?;
        Ok(())
    }

    pub fn statuses_as_of(&self, warehouse: &str) -> Result<Option<i64>> {
        Ok(self.conn().query_row(
            "SELECT CASE WHEN count(*) > 0 AND count(*) = count(r.refreshed_at)
                         THEN min(r.refreshed_at) END
             FROM (SELECT DISTINCT participant_inn FROM devices
                   WHERE warehouse = ?1 AND revoked_at IS NULL) p
             LEFT JOIN refreshes r ON r.participant_inn = p.participant_inn",
            [warehouse],
            |r| r.get(0),
        )?)
    }

    pub fn warehouse_ages(&self) -> Result<Vec<(String, Option<i64>)>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT p.warehouse,
                    CASE WHEN count(*) = count(r.refreshed_at) THEN min(r.refreshed_at) END
             FROM (SELECT DISTINCT warehouse, participant_inn FROM devices
                   WHERE revoked_at IS NULL) p
             LEFT JOIN refreshes r ON r.participant_inn = p.participant_inn
             GROUP BY p.warehouse ORDER BY p.warehouse",
        )?;
        let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn journal(&self, filter: &JournalFilter) -> Result<Vec<Submission>> {
        let states: Option<String> = (!filter.states.is_empty()).then(|| {
            serde_json::to_string(&filter.states.iter().map(|s| s.code()).collect::<Vec<_>>())
                .unwrap_or_default()
        });
        let (before_made, before_op, before_pos) = filter
            .before
            .map_or((None, None, None), |(m, o, p)| (Some(m), Some(o), Some(p)));
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            &format!(
                "{SUBMISSION}
                 WHERE (?1 IS NULL OR s.state IN (SELECT value FROM json_each(?1)))
                   AND (?2 IS NULL OR d.warehouse = ?2)
                   AND (?3 IS NULL OR s.made_at >= ?3)
                   AND (?4 IS NULL OR s.made_at < ?4)
                   AND (?5 IS NULL OR (s.made_at, s.operation, s.position) < (?5, ?6, ?7))
                 ORDER BY s.made_at DESC, s.operation DESC, s.position DESC LIMIT ?8"
            )
            .replace("g.body,", "'' AS body,"),
        )?;
        let rows = statement.query_map(
            params![
                states,
                filter.warehouse,
                filter.from,
                filter.to,
                before_made,
                before_op,
                before_pos,
                filter.limit
            ],
            submission,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn open_alerts(&self) -> Result<Vec<Alert>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT key, kind, message, raised_at, sent_at FROM alerts
             WHERE cleared_at IS NULL ORDER BY raised_at, key",
        )?;
        let rows = statement.query_map([], |r| {
            Ok(Alert {
                key: r.get(0)?,
                kind: r.get(1)?,
                message: r.get(2)?,
                raised_at: r.get(3)?,
                sent_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn raise_alert(&self, key: &str, kind: &str, message: &str, now: i64) -> Result<bool> {
        let changed = self.conn().execute(
            "INSERT INTO alerts (key, kind, message, raised_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, message = excluded.message,
                 raised_at = excluded.raised_at, sent_at = NULL, cleared_at = NULL
             WHERE alerts.cleared_at IS NOT NULL",
            params![key, kind, message, now],
        )?;
        Ok(changed == 1)
    }

    pub fn alert_sent(&self, key: &str, now: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE alerts SET sent_at = ?2 WHERE key = ?1",
            params![key, now],
        )?;
        Ok(())
    }

    pub fn clear_alert(&self, key: &str, now: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE alerts SET cleared_at = ?2 WHERE key = ?1 AND cleared_at IS NULL",
            params![key, now],
        )?;
        Ok(())
    }
}

/// Queues codes in the caller's transaction (a push, an import, the link).
pub(super) fn queue_refresh(conn: &rusqlite::Connection, codes: &[String], now: i64) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO refresh_queue (code, queued_at) VALUES (?1, ?2) ON CONFLICT (code) DO NOTHING",
    )?;
    for code in codes {
        insert.execute(params![code, now])?;
    }
    Ok(())
}

/// A submission row for each document an accepted operation made, in the push's transaction.
pub(super) fn submit(
    conn: &rusqlite::Connection,
    operation: i64,
    documents: usize,
    now: i64,
) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO submissions (operation, position, state, made_at, state_at, next_at)
         VALUES (?1, ?2, 'waiting', ?3, ?3, ?3)",
    )?;
    for position in 0..documents {
        insert.execute(params![operation, position as i64, now])?;
    }
    Ok(())
}
