//! The hub's answers to pushed operations: which queue rows count as uploaded, which were
//! rejected and why, kept so the operator can see them on the terminal.

use rusqlite::{Row, params};
use tally_domain::status::Timestamp;

use super::journal::{DeviceSeq, QueuedOperation, queued_from_row};
use super::{Reader, Result, Store, StoreError};
use tally_wire::{OperationAnswer, OperationReason, PushResult};

/// A queue row the hub refused, with the hub's reasons.
#[derive(Clone, PartialEq, Debug)]
pub struct RejectedOperation {
    pub operation: QueuedOperation,
    pub reasons: Vec<OperationReason>,
    pub answered_at: Timestamp,
}

/// Whether an answer settles the row: the hub holds it as applied (or reported it a duplicate
/// without a first answer, which only an applied operation has). A rejection is kept pending.
fn settles(answer: &OperationAnswer) -> bool {
    answer.result != PushResult::Rejected && answer.original != Some(PushResult::Rejected)
}

const COLUMNS: &str = "q.seq, q.uuid, q.kind, q.operator, q.started_at, q.finished_at, \
                       q.payload, q.uploaded_at, a.reasons, a.answered_at";

fn rejected_from_row(row: &Row<'_>) -> rusqlite::Result<(QueuedOperation, String, i64)> {
    Ok((queued_from_row(row)?, row.get(8)?, row.get(9)?))
}

impl Reader {
    /// Pending rows the hub has not answered yet, in device order: what the next push sends.
    /// A rejected row stays pending for the operator but is not sent again.
    pub fn pushable_queue(&self) -> Result<Vec<QueuedOperation>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT q.seq, q.uuid, q.kind, q.operator, q.started_at, q.finished_at,
                        q.payload, q.uploaded_at
                 FROM queue q
                 WHERE q.uploaded_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM push_answers a WHERE a.seq = q.seq)
                 ORDER BY q.seq",
            )?
            .query_map([], queued_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Operations the hub refused, with its reasons, in device order.
    pub fn rejected_operations(&self) -> Result<Vec<RejectedOperation>> {
        let rows = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM queue q JOIN push_answers a ON a.seq = q.seq
                 WHERE q.uploaded_at IS NULL ORDER BY q.seq"
            ))?
            .query_map([], rejected_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(operation, reasons, answered_at)| {
                let reasons = serde_json::from_str(&reasons).map_err(|e| StoreError::Corrupt {
                    table: "push_answers",
                    detail: e.to_string(),
                })?;
                Ok(RejectedOperation {
                    operation,
                    reasons,
                    answered_at: Timestamp(answered_at),
                })
            })
            .collect()
    }
}

impl Store {
    /// Stores the hub's answers to one push in one transaction: every answer is kept, and the
    /// rows it settles are marked uploaded. Returns how many rows were marked.
    pub fn record_push_answers(
        &mut self,
        answers: &[(DeviceSeq, &OperationAnswer)],
        at: Timestamp,
    ) -> Result<usize> {
        let tx = self.conn().transaction()?;
        let mut marked = 0;
        {
            let mut keep = tx.prepare_cached(
                "INSERT OR REPLACE INTO push_answers (seq, result, original, reasons, answered_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut upload = tx.prepare_cached(
                "UPDATE queue SET uploaded_at = ?2 WHERE seq = ?1 AND uploaded_at IS NULL",
            )?;
            for (seq, answer) in answers {
                let reasons =
                    serde_json::to_string(&answer.reasons).map_err(|e| StoreError::Corrupt {
                        table: "push_answers",
                        detail: e.to_string(),
                    })?;
                keep.execute(params![
                    seq.0,
                    answer.result.code(),
                    answer.original.map(PushResult::code),
                    reasons,
                    at.0
                ])?;
                if settles(answer) {
                    marked += upload.execute(params![seq.0, at.0])?;
                }
            }
        }
        tx.commit()?;
        Ok(marked)
    }
}
