//! GIS MT's verdicts: those of this terminal's operations are kept and those of other
//! terminals skipped, bad lines are rejected with a reason, a snapshot sweeps what it did not
//! bring, and the status list's age only moves forward.

use serde_json::json;
use tally_domain::status::Timestamp;
use tally_wire::{DocumentState, Feed};

use super::Scratch;
use crate::store::{Importer, NewOperation, PageKind, QueuedOperation, Store, VerdictCounts};

const NOW: Timestamp = Timestamp(1_795_305_600_000);
const FOREIGN: &str = "9a1b2c3d-0000-4000-8000-00000000f0f0";

/// A finished write-off in the queue, as the operator leaves one.
fn finished(store: &mut Store, at: i64) -> QueuedOperation {
    let id = store
        .begin_operation(&NewOperation {
            kind: "write_off",
            operator: "Иванова",
            header: "{}",
            started_at: Timestamp(at),
        })
        .unwrap();
    store
        .finish_operation(id, Timestamp(at + 1000), "{}", &Default::default())
        .unwrap()
}

fn verdict(operation: &str, document_type: &str, state: &str) -> String {
    let reasons = match state {
        "checked_ok" => json!([]),
        _ => json!([{"code": "gis_mt_refused", "en": "The code is not owned by the participant",
                     "ru": "Код не принадлежит участнику", "subject": "0104600840749372215XyZ1a"}]),
    };
    json!({"operation": operation, "type": document_type, "pg": "lp", "gis_id": "g-1",
           "state": state, "reasons": reasons, "at": NOW.0})
    .to_string()
}

fn page(importer: &mut Importer, kind: PageKind, lines: &[String], next: i64, last: bool) {
    let mut text = lines.join("\n");
    text.push('\n');
    let report = importer
        .import_pulled_page(Feed::Verdicts, kind, text.as_bytes(), next, last, NOW)
        .unwrap();
    assert_eq!(report.rejected, 0, "{report:?}");
}

#[test]
fn own_verdicts_are_kept_foreign_ones_skipped_and_bad_lines_rejected() {
    let scratch = Scratch::new("verdicts");
    let mut store = scratch.store();
    let refused_op = finished(&mut store, 1_000);
    let accepted_op = finished(&mut store, 2_000);
    let lines = [
        verdict(&refused_op.uuid, "LP_ACCEPT_GOODS", "checked_not_ok"),
        verdict(&accepted_op.uuid, "LK_RECEIPT", "checked_ok"),
        // Another terminal of the warehouse: skipped, not rejected.
        verdict(FOREIGN, "LK_RECEIPT", "processing_error"),
        "{\"operation\": ".to_owned(),
        json!({"operation": refused_op.uuid, "type": "LK_RECEIPT", "state": "checked_ok",
               "at": 1})
        .to_string(),
        verdict(&refused_op.uuid, "LK_RECEIPT", "in_progress"),
        verdict(&refused_op.uuid, "LK_RECEIPT", "lost_in_the_mail"),
        verdict(&refused_op.uuid, "", "checked_ok"),
    ]
    .join("\n");
    let report = store
        .importer()
        .unwrap()
        .import_pulled_page(
            Feed::Verdicts,
            PageKind::Delta,
            lines.as_bytes(),
            8,
            true,
            NOW,
        )
        .unwrap();
    assert_eq!(report.lines, 8);
    assert_eq!(
        report.imported, 2,
        "the two own verdicts, not the foreign one"
    );
    let rejected: Vec<(u64, &str)> = report
        .rejections
        .iter()
        .map(|r| (r.line, r.reason.code()))
        .collect();
    assert_eq!(
        rejected,
        [
            (4, "not_json"),
            (5, "wrong_fields"),
            (6, "wrong_fields"),
            (7, "wrong_fields"),
            (8, "wrong_fields"),
        ],
        "cut off, no pg, a state not final, a state unknown, an empty type"
    );
    assert_eq!(store.feed_cursor(Feed::Verdicts).unwrap(), Some(8));
    assert_eq!(
        store.verdict_counts().unwrap(),
        VerdictCounts {
            checked_ok: 1,
            refused: 1
        }
    );
    let refused = store.refused_verdicts().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].operation, refused_op);
    assert_eq!(refused[0].verdict.document_type, "LP_ACCEPT_GOODS");
    assert_eq!(refused[0].verdict.state, DocumentState::CheckedNotOk);
    assert_eq!(refused[0].verdict.gis_id.as_deref(), Some("g-1"));
    assert_eq!(
        refused[0].verdict.reasons[0].ru,
        "Код не принадлежит участнику"
    );
    assert_eq!(refused[0].verdict.at, NOW.0);

    // The same document again, now processed after all: the row is replaced, not added.
    let mut importer = store.importer().unwrap();
    page(
        &mut importer,
        PageKind::Delta,
        &[verdict(&refused_op.uuid, "LP_ACCEPT_GOODS", "checked_ok")],
        9,
        true,
    );
    drop(importer);
    assert!(store.refused_verdicts().unwrap().is_empty());
    assert_eq!(
        store.verdict_counts().unwrap(),
        VerdictCounts {
            checked_ok: 2,
            refused: 0
        }
    );
}

#[test]
fn a_verdicts_snapshot_sweeps_the_verdicts_it_did_not_bring() {
    let scratch = Scratch::new("verdicts-snapshot");
    let mut store = scratch.store();
    let first = finished(&mut store, 1_000);
    let second = finished(&mut store, 2_000);
    let mut importer = store.importer().unwrap();
    page(
        &mut importer,
        PageKind::Delta,
        &[
            verdict(&first.uuid, "LK_RECEIPT", "checked_not_ok"),
            verdict(&second.uuid, "LK_RECEIPT", "processing_error"),
        ],
        5,
        true,
    );
    // The hub sends the feed whole: the first page brings the second operation's verdict (and
    // a foreign one, skipped), the last page a new document of it.
    page(
        &mut importer,
        PageKind::SnapshotStart,
        &[
            verdict(&second.uuid, "LK_RECEIPT", "processing_error"),
            verdict(FOREIGN, "LK_RECEIPT", "checked_not_ok"),
        ],
        2,
        false,
    );
    drop(importer);
    assert_eq!(
        store.refused_verdicts().unwrap().len(),
        2,
        "the old copy serves until the snapshot is whole"
    );
    assert!(store.feed_in_snapshot(Feed::Verdicts).unwrap());
    let mut importer = store.importer().unwrap();
    page(
        &mut importer,
        PageKind::SnapshotMore,
        &[verdict(&second.uuid, "LP_ACCEPT_GOODS", "checked_not_ok")],
        7,
        true,
    );
    drop(importer);
    let kept: Vec<(String, String)> = store
        .refused_verdicts()
        .unwrap()
        .into_iter()
        .map(|r| (r.operation.uuid, r.verdict.document_type))
        .collect();
    assert_eq!(
        kept,
        [
            (second.uuid.clone(), "LK_RECEIPT".to_owned()),
            (second.uuid.clone(), "LP_ACCEPT_GOODS".to_owned()),
        ],
        "the first operation's verdict was not in the snapshot: swept"
    );
    assert!(!store.feed_in_snapshot(Feed::Verdicts).unwrap());
    assert_eq!(store.feed_cursor(Feed::Verdicts).unwrap(), Some(7));
}

#[test]
fn the_status_list_age_only_moves_forward() {
    let scratch = Scratch::new("statuses-as-of");
    let store = scratch.store();
    assert_eq!(store.statuses_as_of().unwrap(), None);
    assert_eq!(store.status_list_age_ms(NOW).unwrap(), None);
    let mut importer = store.importer().unwrap();
    let three_hours = 3 * 3_600_000;
    importer
        .record_statuses_as_of(Timestamp(NOW.0 - three_hours))
        .unwrap();
    assert_eq!(store.status_list_age_ms(NOW).unwrap(), Some(three_hours));
    importer
        .record_statuses_as_of(Timestamp(NOW.0 - 2 * three_hours))
        .unwrap();
    assert_eq!(
        store.statuses_as_of().unwrap(),
        Some(Timestamp(NOW.0 - three_hours)),
        "an older answer does not move it back"
    );
    importer
        .record_statuses_as_of(Timestamp(NOW.0 - 60_000))
        .unwrap();
    assert_eq!(store.status_list_age_ms(NOW).unwrap(), Some(60_000));
    drop(importer);
    // A reader on another connection (the UI's) sees it too.
    let reader = store.reader().unwrap();
    assert_eq!(
        reader.statuses_as_of().unwrap(),
        Some(Timestamp(NOW.0 - 60_000))
    );
}
