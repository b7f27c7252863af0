//! The terminal's side of syncing with the hub: enrollment, one sync round (push the queue,
//! then pull every feed from its cursor), and the worker thread that runs rounds on triggers.
//!
//! The ordering is deliberate: pushing first means the statuses pulled afterwards already
//! reflect this terminal's own operations, so the replica never shows a code it just wrote
//! off as still in circulation.
//!
//! A terminal too far behind (its cursor older than the removals the hub still logs) gets a
//! snapshot: the hub sends the feed whole, page by page (`snapshot=1` after the first), each
//! stored with its cursor while the old copy keeps answering lookups; the last page deletes
//! what the snapshot did not bring (`store::Importer::import_pulled_page`).

mod client;
mod link;
mod worker;

pub use client::{ClientConfig, ClientError, HubClient, PullPage, PulledItem};
pub use link::{HubLink, LinkError};
pub use worker::{SyncWorker, Trigger, WorkerEvent};

use std::collections::HashMap;

use serde::Serialize;
use tally_domain::status::Timestamp;

use crate::store::{DeviceSeq, PageKind, QueuedOperation, Store, StoreError};
use tally_wire::{
    DeviceReport, EnrollRequest, Feed, MAX_PULL_LIMIT, MAX_PUSH_OPERATIONS, OperationDocument,
    OperationReason, PushRequest, PushResult, PushedOperation,
};

/// Why a round stopped. Everything stored before the failure stays stored: answers of pushed
/// batches and pulled pages with their cursors.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the hub answered {answers} operations for a batch of {sent}")]
    AnswerMismatch { sent: usize, answers: usize },
}

/// What a round is doing, for progress bars.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Progress {
    /// `sent` of `total` operations are answered.
    Push { sent: usize, total: usize },
    /// A page of `feed` is stored: `items` in it, `total` this round, cursor now `next_after`.
    Pull {
        feed: Feed,
        after: i64,
        items: usize,
        total: u64,
        next_after: i64,
    },
}

/// The hub's answer to one operation of this round.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct OperationOutcome {
    pub seq: i64,
    pub uuid: String,
    pub kind: String,
    pub result: PushResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<PushResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<OperationReason>,
    /// What the hub said of an accepted operation (no GIS MT document could be made, say).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<OperationReason>,
}

/// What a pull of one feed brought.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct FeedSummary {
    pub feed: Feed,
    pub pages: u64,
    pub items: u64,
    /// Lines the replica could not read (bad shape); counted, not fatal.
    pub rejected_items: u64,
    pub cursor: i64,
    /// The hub sent (part of) a snapshot: the feed's copy was replaced.
    pub snapshot: bool,
}

/// A finished round.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize)]
pub struct RoundSummary {
    pub accepted: u64,
    pub duplicate: u64,
    pub rejected: u64,
    pub operations: Vec<OperationOutcome>,
    pub feeds: Vec<FeedSummary>,
    /// Pending operations after the round (rejected ones included).
    pub queue_depth: u64,
}

/// One terminal's sync: the client and the settings of a round.
#[derive(Debug)]
pub struct SyncEngine {
    client: HubClient,
    app_version: String,
    /// Items asked per pull page.
    pub page_limit: u32,
    /// Operations per push batch (at most the protocol's 1,000).
    pub batch_size: usize,
}

impl SyncEngine {
    pub fn new(client: HubClient, app_version: impl Into<String>) -> SyncEngine {
        SyncEngine {
            client,
            app_version: app_version.into(),
            page_limit: MAX_PULL_LIMIT,
            batch_size: MAX_PUSH_OPERATIONS,
        }
    }

    pub fn client(&self) -> &HubClient {
        &self.client
    }

    /// One full round: push, then pull every feed, then `record_sync`. `now` is read for each
    /// stored answer and page (the engine never reads a clock itself).
    pub fn round(
        &self,
        store: &mut Store,
        now: &dyn Fn() -> Timestamp,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RoundSummary, SyncError> {
        let mut summary = RoundSummary::default();
        self.push(store, now, progress, &mut summary)?;
        self.pull(store, now, progress, &mut summary)?;
        let watermark = store.feed_cursor(Feed::Statuses)?.map(|c| c.to_string());
        store.record_sync(now(), watermark.as_deref())?;
        summary.queue_depth = store.queue_depth()?;
        Ok(summary)
    }

    fn push(
        &self,
        store: &mut Store,
        now: &dyn Fn() -> Timestamp,
        progress: &mut dyn FnMut(Progress),
        summary: &mut RoundSummary,
    ) -> Result<(), SyncError> {
        let queue = store.pushable_queue()?;
        let total = queue.len();
        let batch_size = self.batch_size.clamp(1, MAX_PUSH_OPERATIONS);
        let mut sent = 0;
        for batch in batches(&queue, batch_size) {
            let request = PushRequest {
                device: DeviceReport {
                    app_version: self.app_version.clone(),
                    queue_depth: store.queue_depth()?,
                    cache_synced_at: store.statuses_refreshed_at()?.map(|t| t.0),
                },
                operations: batch.iter().map(pushed).collect(),
            };
            let response = self.client.push(&request)?;
            if response.answers.len() != batch.len() {
                return Err(SyncError::AnswerMismatch {
                    sent: batch.len(),
                    answers: response.answers.len(),
                });
            }
            let by_uuid: HashMap<&str, &QueuedOperation> =
                batch.iter().map(|op| (op.uuid.as_str(), op)).collect();
            let mut records: Vec<(DeviceSeq, &tally_wire::OperationAnswer)> =
                Vec::with_capacity(batch.len());
            for answer in &response.answers {
                // Matched by UUID, not position: the hub's identity of an operation.
                let Some(operation) = by_uuid.get(answer.uuid.as_str()) else {
                    return Err(SyncError::AnswerMismatch {
                        sent: batch.len(),
                        answers: response.answers.len(),
                    });
                };
                records.push((operation.seq, answer));
                match answer.result {
                    PushResult::Accepted => summary.accepted += 1,
                    PushResult::Duplicate => summary.duplicate += 1,
                    PushResult::Rejected => summary.rejected += 1,
                }
                summary.operations.push(OperationOutcome {
                    seq: operation.seq.0,
                    uuid: answer.uuid.clone(),
                    kind: operation.kind.clone(),
                    result: answer.result,
                    original: answer.original,
                    reasons: answer.reasons.clone(),
                    notices: answer.notices.clone(),
                });
            }
            store.record_push_answers(&records, now())?;
            sent += batch.len();
            progress(Progress::Push { sent, total });
        }
        Ok(())
    }

    fn pull(
        &self,
        store: &mut Store,
        now: &dyn Fn() -> Timestamp,
        progress: &mut dyn FnMut(Progress),
        summary: &mut RoundSummary,
    ) -> Result<(), SyncError> {
        let mut importer = store.importer()?;
        let limit = self.page_limit.clamp(1, MAX_PULL_LIMIT);
        for feed in Feed::ALL {
            let after = store.feed_cursor(feed)?.unwrap_or(0);
            // A snapshot cut short last round goes on where it stopped.
            let resuming = store.feed_in_snapshot(feed)?;
            let mut feed_summary = FeedSummary {
                feed,
                pages: 0,
                items: 0,
                rejected_items: 0,
                cursor: after,
                snapshot: false,
            };
            // The next page downloads while this one is stored: the hub's query and the
            // network overlap the replica's transaction. Pages are still stored in order,
            // each with its cursor; one page of read-ahead bounds the memory.
            let client = &self.client;
            std::thread::scope(|scope| -> Result<(), SyncError> {
                let (pages_tx, pages) = std::sync::mpsc::sync_channel(1);
                scope.spawn(move || {
                    let mut after = after;
                    let mut in_snapshot = resuming;
                    loop {
                        let page = client.pull_page(feed, after, limit, in_snapshot);
                        if page.as_ref().is_err_and(|e| hub_lacks(feed, e)) {
                            // Nothing to store: the cursor and a snapshot in progress stay as
                            // they are for a hub that has the feed.
                            return;
                        }
                        let kind = match &page {
                            Ok(page) if page.snapshot && in_snapshot => PageKind::SnapshotMore,
                            Ok(page) if page.snapshot => PageKind::SnapshotStart,
                            _ => PageKind::Delta,
                        };
                        // A snapshot starts from the beginning of the log, not from `after`.
                        let base = if kind == PageKind::SnapshotStart {
                            0
                        } else {
                            after
                        };
                        let next = match &page {
                            // A page that does not move the cursor would loop forever.
                            Ok(page) if page.more && page.next_after > base => {
                                Some(page.next_after)
                            }
                            _ => None,
                        };
                        in_snapshot = kind != PageKind::Delta;
                        // The receiver is gone when storing failed: stop fetching.
                        if pages_tx.send((after, kind, page)).is_err() {
                            return;
                        }
                        match next {
                            Some(next) => after = next,
                            None => return,
                        }
                    }
                });
                for (after, kind, page) in pages {
                    let page = page?;
                    let report = store_page(&mut importer, feed, kind, &page, now())?;
                    if let Some(at) = page.statuses_as_of {
                        importer.record_statuses_as_of(Timestamp(at))?;
                    }
                    feed_summary.snapshot |= kind != PageKind::Delta;
                    feed_summary.pages += 1;
                    feed_summary.items += page.items.len() as u64;
                    feed_summary.rejected_items += report.rejected;
                    feed_summary.cursor = page.next_after;
                    progress(Progress::Pull {
                        feed,
                        after,
                        items: page.items.len(),
                        total: feed_summary.items,
                        next_after: page.next_after,
                    });
                }
                Ok(())
            })?;
            summary.feeds.push(feed_summary);
        }
        Ok(())
    }
}

/// A feed newer than the hub: a hub of protocol 2 has no `verdicts`, one of protocol 3 no
/// `orders`, and each answers the path `404`. That answer, for those feeds only, is an empty
/// feed caught up, so the round goes on and the terminal works with an older hub as before.
/// Any other refusal stays one: a `404` of a feed every hub has means a wrong address, which
/// must not pass for an empty feed.
fn hub_lacks(feed: Feed, error: &ClientError) -> bool {
    matches!(feed, Feed::Verdicts | Feed::Orders)
        && matches!(error, ClientError::Refused { status: 404, .. })
}

/// Stores one page (its items as import lines) with its cursor.
fn store_page(
    importer: &mut crate::store::Importer,
    feed: Feed,
    kind: PageKind,
    page: &PullPage,
    now: Timestamp,
) -> Result<crate::store::ImportReport, SyncError> {
    if page.feed != feed {
        return Err(ClientError::BadAnswer(format!(
            "asked for feed {}, got {}",
            feed.name(),
            page.feed.name()
        ))
        .into());
    }
    let mut lines = Vec::with_capacity(page.items.len() * 256);
    for item in &page.items {
        let text = item.item.get();
        if text.contains('\n') {
            // Pretty-printed by some hub: one item must be one line.
            let value: serde_json::Value =
                serde_json::from_str(text).map_err(|e| ClientError::BadAnswer(e.to_string()))?;
            serde_json::to_writer(&mut lines, &value)
                .map_err(|e| ClientError::BadAnswer(e.to_string()))?;
        } else {
            lines.extend_from_slice(text.as_bytes());
        }
        lines.push(b'\n');
    }
    Ok(importer.import_pulled_page(feed, kind, &lines, page.next_after, !page.more, now)?)
}

/// A queue row as the wire carries it. The payload is stored as text; a row this build cannot
/// read as its document (it never should be) still goes, whole, for the hub to refuse with a
/// reason rather than stall the queue.
/// The queue cut into pushes of at most `size` operations and at most
/// [`tally_wire::limits::MAX_PUSH_CODES`] codes (an operation counted as the hub counts it), in
/// queue order.
fn batches(queue: &[QueuedOperation], size: usize) -> Vec<&[QueuedOperation]> {
    let mut batches = Vec::new();
    let (mut start, mut weight) = (0, 0);
    for (i, operation) in queue.iter().enumerate() {
        let this = pushed(operation).weight();
        if i > start && (i - start == size || weight + this > tally_wire::limits::MAX_PUSH_CODES) {
            batches.push(&queue[start..i]);
            (start, weight) = (i, 0);
        }
        weight += this;
    }
    if start < queue.len() {
        batches.push(&queue[start..]);
    }
    batches
}

fn pushed(operation: &QueuedOperation) -> PushedOperation {
    let payload = serde_json::from_str(&operation.payload)
        .unwrap_or_else(|_| serde_json::Value::String(operation.payload.clone()));
    PushedOperation {
        uuid: operation.uuid.clone(),
        seq: operation.seq.0,
        operator: operation.operator.clone(),
        started_at: operation.started_at.0,
        finished_at: operation.finished_at.0,
        document: OperationDocument::from_parts(&operation.kind, payload),
    }
}

/// Trades a one-time enrollment code for a device token at `base_url`.
pub fn enroll(
    mut config: ClientConfig,
    code: &str,
    device_name: &str,
    app_version: &str,
) -> Result<HubLink, ClientError> {
    config.token = None;
    let client = HubClient::new(config.clone())?;
    let answer = client.enroll(&EnrollRequest {
        code: code.to_owned(),
        device_name: device_name.to_owned(),
        app_version: app_version.to_owned(),
    })?;
    Ok(HubLink {
        url: config.base_url,
        token: answer.token,
        device_id: answer.device_id,
        warehouse: answer.warehouse,
        participant_inn: answer.participant_inn,
        sscc_serials: answer.sscc_serials,
        ca_pem: config
            .ca_pem
            .map(|pem| String::from_utf8_lossy(&pem).into_owned()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tally_wire::limits::{MAX_OPERATION_CODES, MAX_PUSH_CODES};

    fn write_off(seq: i64, codes: usize) -> QueuedOperation {
        let codes: Vec<String> = (0..codes)
            .map(|n| format!("010460084074937221S{n:012}"))
            .collect();
        QueuedOperation {
            seq: DeviceSeq(seq),
            uuid: format!("00000000-0000-4000-8000-{seq:012}"),
            kind: "write-off".into(),
            operator: "Иванова".into(),
            started_at: Timestamp(0),
            finished_at: Timestamp(0),
            payload: serde_json::json!({"reason": "damage_loss", "document_number": "A-1",
                "document_date": "2026-11-22", "codes": codes})
            .to_string(),
            uploaded_at: None,
        }
    }

    #[test]
    fn a_queue_goes_in_pushes_the_hub_takes_by_operations_and_by_codes() {
        let small: Vec<QueuedOperation> = (1..=5).map(|n| write_off(n, 1)).collect();
        let sizes: Vec<usize> = batches(&small, 2).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        // Operations heavy in codes start a new push before the hub's bound on codes.
        let per = MAX_PUSH_CODES / 3 + 1;
        let heavy: Vec<QueuedOperation> = (1..=4).map(|n| write_off(n, per)).collect();
        let batches = batches(&heavy, MAX_PUSH_OPERATIONS);
        assert_eq!(batches.len(), 2);
        for batch in &batches {
            let weight: usize = batch.iter().map(|op| pushed(op).weight()).sum();
            assert!(weight <= MAX_PUSH_CODES, "{weight}");
        }
        // One operation past the bound on one operation still goes, alone, to be refused
        // with its reason rather than stall the queue.
        let huge = [write_off(1, MAX_OPERATION_CODES + 10), write_off(2, 1)];
        let sizes: Vec<usize> = super::batches(&huge, MAX_PUSH_OPERATIONS)
            .iter()
            .map(|b| b.len())
            .collect();
        assert_eq!(sizes, [2]);
    }
}
