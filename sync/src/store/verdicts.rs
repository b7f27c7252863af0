//! What GIS MT made of the documents of this terminal's own operations (the hub's `verdicts`
//! feed, stored by `import`), and how old the hub's copy of the warehouse's statuses is.
//!
//! The hub accepting an operation only means it was applied to the hub's statuses; GIS MT may
//! still refuse the document the hub made of it. The operator learns of that here, with GIS MT's
//! reasons in both languages, beside the hub's own refusals (`answers`).

use rusqlite::{Connection, Row, params};
use tally_domain::status::Timestamp;
use tally_wire::{DocumentState, OperationReason, Verdict};

use super::journal::{QueuedOperation, queued_from_row};
use super::{Reader, Result, StoreError};

/// The meta key of [`Reader::statuses_as_of`].
const STATUSES_AS_OF: &str = "statuses_as_of";

/// A document of one of this terminal's operations that GIS MT refused or could not process.
#[derive(Clone, PartialEq, Debug)]
pub struct RefusedVerdict {
    /// The queue row the operator finished: its kind and when.
    pub operation: QueuedOperation,
    pub verdict: Verdict,
}

/// How GIS MT's answers to this terminal's documents stand, counted by document.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct VerdictCounts {
    pub checked_ok: u64,
    /// Refused (`checked_not_ok`) or not processed (`processing_error`).
    pub refused: u64,
}

const COLUMNS: &str = "q.seq, q.uuid, q.kind, q.operator, q.started_at, q.finished_at, \
                       q.payload, q.uploaded_at, v.type, v.pg, v.gis_id, v.state, v.reasons, v.at";

type VerdictColumns = (String, String, Option<String>, String, String, i64);

fn refused_from_row(row: &Row<'_>) -> rusqlite::Result<(QueuedOperation, VerdictColumns)> {
    Ok((
        queued_from_row(row)?,
        (
            row.get(8)?,
            row.get(9)?,
            row.get(10)?,
            row.get(11)?,
            row.get(12)?,
            row.get(13)?,
        ),
    ))
}

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "verdicts",
        detail,
    }
}

impl Reader {
    /// The documents GIS MT refused or could not process, of operations in this terminal's
    /// queue, in device order (an operation's documents by type and product group).
    pub fn refused_verdicts(&self) -> Result<Vec<RefusedVerdict>> {
        let refused = [
            DocumentState::CheckedNotOk.code(),
            DocumentState::ProcessingError.code(),
        ];
        let rows = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM verdicts v JOIN queue q ON q.uuid = v.operation
                 WHERE v.state IN (?1, ?2) ORDER BY q.seq, v.type, v.pg"
            ))?
            .query_map(params![refused[0], refused[1]], refused_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(
                |(operation, (document_type, pg, gis_id, state, reasons, at))| {
                    let state = DocumentState::from_code(&state)
                        .ok_or_else(|| corrupt(format!("state {state:?}")))?;
                    let reasons: Vec<OperationReason> =
                        serde_json::from_str(&reasons).map_err(|e| corrupt(e.to_string()))?;
                    Ok(RefusedVerdict {
                        verdict: Verdict {
                            operation: operation.uuid.clone(),
                            document_type,
                            pg,
                            gis_id,
                            state,
                            reasons,
                            at,
                        },
                        operation,
                    })
                },
            )
            .collect()
    }

    /// GIS MT's answers to this terminal's documents, counted.
    pub fn verdict_counts(&self) -> Result<VerdictCounts> {
        let mut counts = VerdictCounts::default();
        let mut statement = self
            .conn
            .prepare_cached("SELECT state, count(*) FROM verdicts GROUP BY state")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let state: String = row.get(0)?;
            let n = row.get::<_, i64>(1)?.unsigned_abs();
            match DocumentState::from_code(&state) {
                Some(DocumentState::CheckedOk) => counts.checked_ok += n,
                Some(s) if s.is_refused() => counts.refused += n,
                _ => return Err(corrupt(format!("state {state:?}"))),
            }
        }
        Ok(counts)
    }

    /// When the hub last read the warehouse's statuses from GIS MT, as its latest pull answer
    /// said (`PullResponse::statuses_as_of`); `None` while no hub has said.
    pub fn statuses_as_of(&self) -> Result<Option<Timestamp>> {
        Ok(self.meta_i64(STATUSES_AS_OF)?.map(Timestamp))
    }

    /// How old the hub's status list from GIS MT is at `now`, in milliseconds; `None` while
    /// unknown. Not the replica's own age ([`Reader::cache_age_ms`]): a replica synced a
    /// minute ago still holds what the hub read from GIS MT hours before.
    pub fn status_list_age_ms(&self, now: Timestamp) -> Result<Option<i64>> {
        Ok(self.statuses_as_of()?.map(|at| (now.0 - at.0).max(0)))
    }
}

/// Keeps the latest `statuses_as_of` a hub sent. It only moves forward: the replica already
/// holds the statuses pulled after the newer read, so an older figure (an answer from a hub
/// restored from a backup, a page retried from before the hub's read) would understate them.
pub(super) fn note_statuses_as_of(conn: &Connection, at: Timestamp) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value
         WHERE meta.value IS NULL OR excluded.value > meta.value",
    )?
    .execute(params![STATUSES_AS_OF, at.0])?;
    Ok(())
}
