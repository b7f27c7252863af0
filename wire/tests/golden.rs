//! The contract pinned: the JSON of every wire type as released terminals and hubs write it,
//! read by this build and written back the same, and any document round-tripped.

#![allow(clippy::unwrap_used)] // a test that cannot build its input has failed

use proptest::prelude::*;
use serde_json::{Value, json};
use tally_domain::code::Ki;
use tally_domain::gs1::{Gs1Date, Gtin, Sscc};
use tally_domain::operation::{Level, ReturnCause, ReturnReceipt, WriteOffReason};
use tally_domain::status::{CisStatus, PackageType, StatusEx};
use tally_wire::document::{
    AcceptanceDocument, AggregationDocument, DisaggregationDocument, InventoryDocument,
    PackedAggregate, PackedChild, ReaggregationDocument, ReaggregationType, Replacement,
    ReturnDocument, ShipmentDocument, ShippedLine, TakenFrom, WriteOffDocument,
};
use tally_wire::feed::{self, Blocked, RejectReason, StatusRecord, Subject, TurnoverType};
use tally_wire::{
    DocumentKind, DocumentState, EnrollResponse, Feed, OperationAnswer, OperationDocument,
    OperationReason, PullResponse, PushRequest, PushResult, Verdict,
};

const KI_A: &str = "010460084074937221AAAAAAAAAAAA1";
const KI_B: &str = "010460084074937221BBBBBBBBBBBB2";
const SSCC: &str = "046008400000000015";

/// Reads `payload` as a document of `kind` and writes it back: the JSON must come back as
/// `written` (the released payload itself, unless a field is new).
fn check(kind: &str, payload: Value, written: Value) -> OperationDocument {
    let document = OperationDocument::from_parts(kind, payload).unwrap();
    assert_eq!(document.kind().name(), kind);
    assert_eq!(document.payload(), written, "{kind}");
    let tagged = serde_json::to_value(&document).unwrap();
    assert_eq!(tagged, json!({"kind": kind, "payload": written}));
    assert_eq!(
        serde_json::from_value::<OperationDocument>(tagged).unwrap(),
        document
    );
    document
}

#[test]
fn a_shipment_reads_and_writes_back_with_its_defaults() {
    let shipment = json!({"order_id": "O-7", "receiver_inn": "7736207543",
        "document_number": "РН-17", "document_date": "2026-12-02", "turnover_type": "SELLING",
        "units": [KI_A], "labels": [SSCC], "opened": [], "over": [KI_B], "missing": [],
        "lines": [{"gtin": "04600840749372", "ordered": 3, "shipped": 2, "over": 0}]});
    let OperationDocument::Shipment(d) = check("shipment", shipment.clone(), shipment) else {
        panic!()
    };
    assert_eq!(d.receiver_inn.as_str(), "7736207543");
    assert_eq!(d.lines[0].shipped, 2);
    // A free shipment says only what it must; the rest reads as empty and SELLING.
    let free = json!({"receiver_inn": "7736207543", "document_number": "РН-18",
        "document_date": "2026-12-02", "units": [KI_A]});
    let read = OperationDocument::from_parts("shipment", free).unwrap();
    assert_eq!(
        read.payload(),
        json!({"order_id": null, "receiver_inn": "7736207543", "document_number": "РН-18",
            "document_date": "2026-12-02", "turnover_type": "SELLING", "units": [KI_A],
            "labels": [], "opened": [], "over": [], "missing": []})
    );
    for (field, bad) in [
        ("receiver_inn", json!("7736207544")),
        ("labels", json!(["046008400000000016"])),
        ("turnover_type", json!("GIFT")),
    ] {
        let mut payload = json!({"receiver_inn": "7736207543", "document_number": "РН-18",
            "document_date": "2026-12-02", "units": [KI_A]});
        payload[field] = bad;
        let error = OperationDocument::from_parts("shipment", payload).unwrap_err();
        assert_eq!(error.kind, "shipment");
        assert!(!error.error.is_empty(), "{field}");
    }
}

#[test]
fn a_customer_return_reads_and_writes_back_with_its_defaults() {
    let sold = json!({"cause": "remote_sale", "receipt": "other", "receipt_name": "Акт возврата",
        "document_number": "ВЗ-3", "document_date": "2026-12-02", "paid": false,
        "units": [KI_A], "relabelled": [KI_B]});
    let OperationDocument::Return(d) = check("return", sold.clone(), sold) else {
        panic!()
    };
    assert_eq!(d.cause, ReturnCause::RemoteSale);
    assert_eq!(d.receipt, ReturnReceipt::Other);
    assert!(!d.paid);
    // A retail return says only what it must: paid, nothing relabelled.
    let retail = json!({"cause": "retail", "receipt": "receipt", "document_number": "ФД-7",
        "document_date": "2026-12-02", "units": [KI_A]});
    let read = OperationDocument::from_parts("return", retail).unwrap();
    assert_eq!(
        read.payload(),
        json!({"cause": "retail", "receipt": "receipt", "document_number": "ФД-7",
            "document_date": "2026-12-02", "paid": true, "units": [KI_A], "relabelled": []})
    );
    for (field, bad) in [
        ("cause", json!("gift")),
        ("receipt", json!("RECEIPT")),
        ("units", json!(["0104600840749372"])),
        ("document_date", json!("2026-02-30")),
    ] {
        let mut payload = json!({"cause": "retail", "receipt": "receipt",
            "document_number": "ФД-7", "document_date": "2026-12-02", "units": [KI_A]});
        payload[field] = bad;
        let error = OperationDocument::from_parts("return", payload).unwrap_err();
        assert_eq!(error.kind, "return");
        assert!(!error.error.is_empty(), "{field}");
    }
}

#[test]
fn an_inventory_reads_and_writes_back_with_its_defaults() {
    let settled = json!({"zone": "A-1", "document_number": "ИНВ-1", "document_date": "2026-12-02",
        "found": [KI_A], "labels": [SSCC], "opened": [], "foreign": [KI_B], "wrong_status": [],
        "unknown": [], "missing": [], "settle": "damage_loss", "supervisor": "petrov"});
    let OperationDocument::Inventory(d) = check("inventory", settled.clone(), settled) else {
        panic!()
    };
    assert_eq!(d.settle, Some(WriteOffReason::DamageLoss));
    let whole = json!({"document_number": "ИНВ-2", "document_date": "2026-12-02",
        "missing": [KI_A]});
    let read = OperationDocument::from_parts("inventory", whole).unwrap();
    assert_eq!(
        read.payload(),
        json!({"zone": null, "document_number": "ИНВ-2", "document_date": "2026-12-02",
            "found": [], "labels": [], "opened": [], "foreign": [], "wrong_status": [],
            "unknown": [], "missing": [KI_A]})
    );
    let mut bad = json!({"document_number": "ИНВ-2", "document_date": "2026-12-02"});
    bad["settle"] = json!("lost_somewhere");
    assert!(OperationDocument::from_parts("inventory", bad).is_err());
}

#[test]
fn protocol_2_payloads_read_and_write_back_unchanged() {
    let acceptance = json!({"task_id": "T-1", "accepted": [KI_A, KI_B], "boxes": [SSCC],
                            "rejected": [KI_B], "surplus": [], "missing": [KI_A],
                            "acceptance_date": "2026-11-22"});
    let OperationDocument::Acceptance(a) = check("acceptance", acceptance.clone(), acceptance)
    else {
        panic!()
    };
    assert_eq!(a.boxes[0].to_string(), SSCC);
    assert_eq!(
        a.acceptance_date,
        Gs1Date {
            year: 2026,
            month: 11,
            day: 22
        }
    );

    let aggregation = json!({"aggregates": [{"sscc": SSCC, "level": "pallet",
        "status": "INTRODUCED", "children": [{"unit": KI_A}, {"box": SSCC}]}]});
    let OperationDocument::Aggregation(g) = check("aggregation", aggregation.clone(), aggregation)
    else {
        panic!()
    };
    assert_eq!(g.aggregates[0].level, Level::Pallet);
    assert!(matches!(g.aggregates[0].children[1], PackedChild::Box(_)));

    let labels = json!({"labels": [SSCC]});
    check("disaggregation", labels.clone(), labels);

    let write_off = json!({"reason": "damage_loss", "gis_mt_document": "LK_RECEIPT",
                           "gis_mt_reason": "DAMAGE_LOSS", "document_number": "A-1",
                           "document_date": "2026-11-22", "supervisor": null,
                           "codes": [KI_A]});
    let OperationDocument::WriteOff(w) = check("write-off", write_off.clone(), write_off) else {
        panic!()
    };
    assert_eq!(w.reason, WriteOffReason::DamageLoss);
    assert!(w.replacements.is_empty());
}

#[test]
fn an_old_payload_without_the_optional_lists_reads_with_them_empty() {
    let document = OperationDocument::from_parts(
        "acceptance",
        json!({"task_id": null, "accepted": [KI_A], "acceptance_date": "2026-11-22"}),
    )
    .unwrap();
    let OperationDocument::Acceptance(a) = document else {
        panic!()
    };
    assert!(a.boxes.is_empty() && a.rejected.is_empty() && a.surplus.is_empty());
}

#[test]
fn new_kinds_and_fields_have_their_pinned_shape() {
    let reaggregation = json!({"sscc": SSCC, "type": "removing", "units": [KI_A]});
    check("reaggregation", reaggregation.clone(), reaggregation);
    let remark = json!({"reason": "code_spoiled", "document_number": "A-2",
                        "document_date": "2026-11-23", "supervisor": "boss", "codes": [KI_A],
                        "replacements": [{"old": KI_A, "new": KI_B}]});
    check("write-off", remark.clone(), remark);
    let answer: OperationAnswer = serde_json::from_value(json!({"uuid": "u", "result": "accepted",
               "notices": [{"code": "no_shipment_document", "en": "e", "ru": "р"}]}))
    .unwrap();
    assert_eq!(answer.notices.len(), 1);
    let quiet = OperationAnswer {
        notices: Vec::new(),
        ..answer
    };
    assert_eq!(
        serde_json::to_value(&quiet).unwrap(),
        json!({"uuid": "u", "result": "accepted", "reasons": []}),
        "an answer without notices is written as protocol 2 wrote it"
    );
}

#[test]
fn wrong_documents_are_kept_with_the_reason_not_dropped() {
    for (kind, payload, says) in [
        ("teleport", json!({}), "no operation kind"),
        (
            "acceptance",
            json!({"accepted": ["junk"], "acceptance_date": "2026-11-22"}),
            "junk",
        ),
        (
            "write-off",
            json!({"reason": "other-thing", "document_number": "1",
                             "document_date": "2026-11-22", "codes": []}),
            "write-off reason",
        ),
        (
            "disaggregation",
            json!({"labels": ["046008400000000016"]}),
            "SSCC",
        ),
        (
            "acceptance",
            json!({"accepted": [], "acceptance_date": "2026-02-30"}),
            "date",
        ),
    ] {
        let unreadable = OperationDocument::from_parts(kind, payload.clone()).unwrap_err();
        assert_eq!(unreadable.kind, kind);
        assert_eq!(unreadable.payload, payload);
        assert!(
            unreadable.error.contains(says),
            "{kind}: {}",
            unreadable.error
        );
    }
}

#[test]
fn a_push_reads_every_operation_even_one_it_cannot_read() {
    let request: PushRequest = serde_json::from_value(json!({
        "device": {"app_version": "0.1.0", "queue_depth": 2, "cache_synced_at": null},
        "operations": [
            {"uuid": "a", "seq": 1, "kind": "disaggregation", "operator": "o",
             "started_at": 1, "finished_at": 2, "payload": {"labels": [SSCC]}},
            {"uuid": "b", "seq": 2, "kind": "shipment", "operator": "o",
             "started_at": 1, "finished_at": 2, "payload": {"x": 1}},
        ],
    }))
    .unwrap();
    assert_eq!(
        request.operations[0].document.as_ref().unwrap().kind(),
        DocumentKind::Disaggregation
    );
    let unreadable = request.operations[1].document.as_ref().unwrap_err();
    assert_eq!(unreadable.kind, "shipment");
    let again = serde_json::to_value(&request.operations[1]).unwrap();
    assert_eq!(again["kind"], "shipment");
    assert_eq!(again["payload"], json!({"x": 1}), "kept whole, as it came");
}

#[test]
fn envelopes_keep_their_released_shape() {
    let enrolled: EnrollResponse = serde_json::from_value(json!({"device_id": 3,
        "token": "t", "warehouse": "W1", "participant_inn": "7707083893"}))
    .unwrap();
    assert_eq!(enrolled.warehouse, "W1");
    assert_eq!(
        enrolled.sscc_serials, None,
        "a hub of protocol 2 gives no label range"
    );
    let page: PullResponse = serde_json::from_value(json!({"feed": "statuses",
        "items": [{"seq": 4, "item": {"cis": KI_A}}], "next_after": 4, "more": false}))
    .unwrap();
    assert!(!page.snapshot);
    assert_eq!(
        serde_json::to_value(&page).unwrap(),
        json!({"feed": "statuses", "items": [{"seq": 4, "item": {"cis": KI_A}}],
               "next_after": 4, "more": false})
    );
    assert_eq!(
        serde_json::to_value(PushResult::Duplicate).unwrap(),
        json!("duplicate")
    );
}

#[test]
fn protocol_3_verdicts_and_list_age_have_their_pinned_shape() {
    let page: PullResponse = serde_json::from_value(json!({"feed": "verdicts", "items": [],
        "next_after": 0, "more": false, "statuses_as_of": 1764633600000_i64}))
    .unwrap();
    assert_eq!(page.feed, Feed::Verdicts);
    assert_eq!(page.statuses_as_of, Some(1_764_633_600_000));
    let verdict = Verdict {
        operation: "0b6d3f4e-1c2a-4f5b-9a8e-7d6c5b4a3f21".into(),
        document_type: "LP_ACCEPT_GOODS".into(),
        pg: "lp".into(),
        gis_id: Some("b1a2c3d4-0000-4000-8000-000000000001".into()),
        state: DocumentState::CheckedNotOk,
        reasons: vec![OperationReason {
            code: "gis_mt_refused".into(),
            en: "GIS MT refused the document: code not owned".into(),
            ru: "ГИС МТ отклонила документ: код не принадлежит".into(),
            subject: Some(KI_A.into()),
        }],
        at: 1_764_633_600_500,
    };
    let written = serde_json::to_value(&verdict).unwrap();
    assert_eq!(
        written,
        json!({"operation": "0b6d3f4e-1c2a-4f5b-9a8e-7d6c5b4a3f21", "type": "LP_ACCEPT_GOODS",
               "pg": "lp", "gis_id": "b1a2c3d4-0000-4000-8000-000000000001",
               "state": "checked_not_ok",
               "reasons": [{"code": "gis_mt_refused",
                            "en": "GIS MT refused the document: code not owned",
                            "ru": "ГИС МТ отклонила документ: код не принадлежит",
                            "subject": KI_A}],
               "at": 1764633600500_i64})
    );
    assert_eq!(serde_json::from_value::<Verdict>(written).unwrap(), verdict);
    for state in DocumentState::ALL {
        assert_eq!(DocumentState::from_code(state.code()), Some(state));
        assert_eq!(serde_json::to_value(state).unwrap(), json!(state.code()));
    }
    assert!(DocumentState::CheckedOk.is_final() && !DocumentState::CheckedOk.is_refused());
    assert!(!DocumentState::Sending.is_final());
}

#[test]
fn feed_lines_are_judged_alike_on_both_sides() {
    let line = json!({"cis": KI_A, "gtin": "04600840749372", "productGroupId": 2,
                      "status": "INTRODUCED", "statusEx": "SOMETHING_NEW",
                      "ownerInn": "7707083893", "packageType": "UNIT", "parent": SSCC,
                      "expirationDate": "2027-03-01T00:00:00.000Z", "maxRetailPrice": 12_345,
                      "productName": "Ботинки"})
    .to_string();
    let StatusRecord::Status {
        subject,
        status,
        product_name,
        ..
    } = feed::parse_status(line.as_bytes()).unwrap()
    else {
        panic!()
    };
    assert_eq!(subject, Subject::Unit(Ki::from_cis(KI_A).unwrap()));
    assert_eq!(status.status, CisStatus::Introduced);
    assert_eq!(
        status.status_ex,
        StatusEx::Other,
        "an unknown statusEx is kept, as unknown"
    );
    assert_eq!(status.package_type, PackageType::Unit);
    assert_eq!(status.max_retail_price, Some(12_345));
    assert_eq!(product_name.as_deref(), Some("Ботинки"));
    let label = json!({"cis": SSCC, "status": "INTRODUCED", "packageType": "LEVEL1",
                       "child": [KI_A, KI_B]})
    .to_string();
    let StatusRecord::Status {
        subject, children, ..
    } = feed::parse_status(label.as_bytes()).unwrap()
    else {
        panic!()
    };
    assert!(matches!(subject, Subject::Label(_)));
    assert_eq!(children.len(), 2);

    for (line, reason) in [
        (
            json!({"cis": KI_A, "status": "SOLD"}),
            RejectReason::UnknownStatus,
        ),
        (
            json!({"cis": KI_A, "gtin": "04600840749389", "status": "INTRODUCED"}),
            RejectReason::GtinMismatch,
        ),
        (json!({"cis": "0104600840749372"}), RejectReason::BadCis),
        (json!({"status": "INTRODUCED"}), RejectReason::WrongFields),
        (
            json!({"cis": KI_A, "status": "INTRODUCED", "productGroupId": 3,
                "packageType": "GROUP"}),
            RejectReason::GroupPackageNotAllowed,
        ),
    ] {
        let text = line.to_string();
        assert_eq!(
            feed::parse_status(text.as_bytes()).unwrap_err(),
            reason,
            "{line}"
        );
    }

    let task = json!({"id": "T-1", "number": "N-1", "senderInn": "7702070139",
                      "date": "2026-11-21", "releaseOrderNumber":
                      "0F8FAD5B-D9CB-469F-A165-70867728950E", "turnoverType": "COMMISSION",
                      "units": [KI_A], "boxes": [{"sscc": SSCC, "units": [KI_B]}]})
    .to_string();
    let record = feed::parse_task(task.as_bytes()).unwrap();
    let task = record.task.unwrap();
    assert_eq!(task.turnover_type, TurnoverType::Commission);
    assert_eq!(
        task.release_order_number.as_deref(),
        Some("0f8fad5b-d9cb-469f-a165-70867728950e")
    );
    assert_eq!((task.units.len(), task.boxes[0].1.len()), (1, 1));
    assert!(task.lines.is_empty(), "no lines: a task by codes");
    let by_quantity = json!({"id": "T-2", "number": "N-2", "senderInn": "7702070139",
        "date": "2026-11-21", "lines": [{"gtin": "4600840749372", "quantity": 12,
        "name": "Молоко", "ref": "a1"}, {"gtin": "04601234567893", "quantity": 1}]})
    .to_string();
    let lines = feed::parse_task(by_quantity.as_bytes())
        .unwrap()
        .task
        .unwrap()
        .lines;
    assert_eq!(
        lines
            .iter()
            .map(|l| (l.gtin.to_string(), l.quantity))
            .collect::<Vec<_>>(),
        [
            ("04600840749372".to_owned(), 12),
            ("04601234567893".to_owned(), 1)
        ]
    );
    for (line, reason) in [
        (
            json!({"id": "T", "number": "1", "senderInn": "7702070139", "date": "2026-11-21",
                "lines": [{"gtin": "04600840749372", "quantity": 0}]}),
            RejectReason::BadQuantity,
        ),
        (
            json!({"id": "T", "number": "1", "senderInn": "7702070139", "date": "2026-11-21",
                "lines": [{"gtin": "04600840749372", "quantity": 2.5}]}),
            RejectReason::BadQuantity,
        ),
        (
            json!({"id": "T", "number": "1", "senderInn": "7702070139", "date": "2026-11-21",
                "lines": [{"gtin": "04600840749373", "quantity": 2}]}),
            RejectReason::BadGtin,
        ),
        (
            json!({"id": "T", "senderInn": "7702070139", "date": "2026-11-21"}),
            RejectReason::EmptyTaskNumber,
        ),
        (
            json!({"id": "T", "number": "1", "senderInn": "7702070139", "date": "2026-11-21",
                "turnoverType": "BARTER"}),
            RejectReason::UnknownTurnoverType,
        ),
        (
            json!({"id": "T", "number": "1", "senderInn": "7702070139", "date": "2026-11-21",
                "releaseOrderNumber": "RO-42"}),
            RejectReason::BadReleaseOrderNumber,
        ),
        (
            json!({"id": "T", "number": "1", "senderInn": "7702070139", "date": "2026-11-21",
                "units": [KI_A, KI_A]}),
            RejectReason::DuplicateInTask,
        ),
    ] {
        let text = line.to_string();
        assert_eq!(
            feed::parse_task(text.as_bytes()).unwrap_err(),
            reason,
            "{line}"
        );
    }
    let block =
        feed::parse_block(br#"{"kind": "series", "gtin": "04600840749372", "batch": "L7"}"#)
            .unwrap();
    assert_eq!(block.blocked.key(), "series:04600840749372:L7");
    assert!(matches!(block.blocked, Blocked::Series(..)));
    // A catalog item may carry its TN VED code, which a returned item's re-marking needs.
    let shoes = feed::parse_catalog(
        r#"{"gtin": "04600840749372", "name": "Туфли", "productGroupId": 2, "tnved": "6403999800"}"#
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(shoes.tnved.as_deref(), Some("6403999800"));
    for bad in ["640399980", "64039998OO", "6403 99980"] {
        let line = format!(r#"{{"gtin": "04600840749372", "name": "Т", "tnved": "{bad}"}}"#);
        assert_eq!(
            feed::parse_catalog(line.as_bytes()).unwrap_err(),
            RejectReason::BadTnved,
            "{bad}"
        );
    }
}

fn gtins() -> impl Strategy<Value = Gtin> {
    prop::sample::select(vec!["04600840749372", "04601234567893", "09506000134352"])
        .prop_map(|g| Gtin::from_digits(g.as_bytes()).unwrap())
}

fn kis() -> impl Strategy<Value = Ki> {
    (gtins(), "[A-Za-z0-9!%&*+./_-]{1,20}").prop_filter_map("a serial", |(gtin, serial)| {
        Ki::new(gtin, serial.as_bytes())
    })
}

fn ssccs() -> impl Strategy<Value = Sscc> {
    (0u8..10, 0u64..9_999_999)
        .prop_filter_map("an SSCC", |(ext, n)| Sscc::compose(ext, "4600840", n))
}

fn dates() -> impl Strategy<Value = Gs1Date> {
    (2000u16..2100, 1u8..13, 1u8..29).prop_map(|(year, month, day)| Gs1Date { year, month, day })
}

fn documents() -> impl Strategy<Value = OperationDocument> {
    let list = || prop::collection::vec(kis(), 0..4);
    prop_oneof![
        (
            prop::option::of("[A-Z0-9-]{1,8}"),
            list(),
            prop::collection::vec(ssccs(), 0..3),
            list(),
            list(),
            list(),
            dates()
        )
            .prop_map(
                |(task_id, accepted, boxes, rejected, surplus, missing, acceptance_date)| {
                    OperationDocument::Acceptance(AcceptanceDocument {
                        task_id,
                        accepted,
                        boxes,
                        rejected,
                        surplus,
                        missing,
                        acceptance_date,
                        lines: Vec::new(),
                    })
                }
            ),
        prop::collection::vec(
            (
                ssccs(),
                any::<bool>(),
                prop::option::of(Just(CisStatus::Introduced)),
                prop::collection::vec(
                    prop_oneof![
                        kis().prop_map(PackedChild::Unit),
                        ssccs().prop_map(PackedChild::Box)
                    ],
                    0..4
                )
            ),
            1..3,
        )
        .prop_map(
            |aggregates| OperationDocument::Aggregation(AggregationDocument {
                aggregates: aggregates
                    .into_iter()
                    .map(|(sscc, pallet, status, children)| PackedAggregate {
                        sscc,
                        level: if pallet { Level::Pallet } else { Level::Box },
                        status,
                        children,
                    })
                    .collect(),
            })
        ),
        prop::collection::vec(ssccs(), 1..4).prop_map(|labels| OperationDocument::Disaggregation(
            DisaggregationDocument { labels }
        )),
        (
            ssccs(),
            0..3u8,
            list(),
            prop::collection::vec((ssccs(), list()), 0..2)
        )
            .prop_map(|(sscc, kind, units, taken)| {
                let reaggregation_type = match kind {
                    0 => ReaggregationType::Adding,
                    1 => ReaggregationType::Removing,
                    _ => ReaggregationType::Moving,
                };
                let taken_from = if reaggregation_type == ReaggregationType::Moving {
                    taken
                        .into_iter()
                        .map(|(sscc, units)| TakenFrom { sscc, units })
                        .collect()
                } else {
                    Vec::new()
                };
                OperationDocument::Reaggregation(ReaggregationDocument {
                    sscc,
                    reaggregation_type,
                    units,
                    taken_from,
                })
            }),
        (
            prop::sample::select(WriteOffReason::ALL.to_vec()),
            "[^\u{0}]{1,12}",
            dates(),
            prop::option::of("[a-zа-я]{1,8}"),
            list(),
            prop::collection::vec((kis(), kis()), 0..2)
        )
            .prop_map(
                |(reason, document_number, document_date, supervisor, codes, pairs)| {
                    OperationDocument::WriteOff(WriteOffDocument {
                        reason,
                        document_number,
                        document_date,
                        supervisor,
                        codes,
                        gis_mt_document: None,
                        gis_mt_reason: None,
                        replacements: pairs
                            .into_iter()
                            .map(|(old, new)| Replacement { old, new })
                            .collect(),
                    })
                }
            ),
        (
            prop::option::of("[A-Z0-9-]{1,8}"),
            prop::sample::select(vec!["7736207543", "7707083893", "500100732259"]),
            "[^\u{0}]{1,12}",
            dates(),
            prop::sample::select(TurnoverType::ALL.to_vec()),
            (
                list(),
                prop::collection::vec(ssccs(), 0..3),
                prop::collection::vec(ssccs(), 0..2)
            ),
            (
                prop::collection::vec((gtins(), 0u32..9, 0u32..9, 0u32..3), 0..3),
                list(),
                list()
            ),
        )
            .prop_map(
                |(
                    order_id,
                    inn,
                    document_number,
                    document_date,
                    turnover_type,
                    (units, labels, opened),
                    (lines, over, missing),
                )| {
                    OperationDocument::Shipment(ShipmentDocument {
                        order_id,
                        receiver_inn: tally_domain::status::Inn::parse(inn).unwrap(),
                        document_number,
                        document_date,
                        turnover_type,
                        units,
                        labels,
                        opened,
                        lines: lines
                            .into_iter()
                            .map(|(gtin, ordered, shipped, over)| ShippedLine {
                                gtin,
                                ordered,
                                shipped,
                                over,
                            })
                            .collect(),
                        over,
                        missing,
                    })
                }
            ),
        (
            prop::sample::select(ReturnCause::ALL.to_vec()),
            prop::sample::select(ReturnReceipt::ALL.to_vec()),
            prop::option::of("[^\u{0}]{1,12}"),
            "[^\u{0}]{1,12}",
            dates(),
            any::<bool>(),
            list(),
            list(),
        )
            .prop_map(
                |(
                    cause,
                    receipt,
                    receipt_name,
                    document_number,
                    document_date,
                    paid,
                    units,
                    relabelled,
                )| {
                    OperationDocument::Return(ReturnDocument {
                        cause,
                        receipt,
                        receipt_name,
                        document_number,
                        document_date,
                        paid,
                        units,
                        relabelled,
                    })
                }
            ),
        (
            prop::option::of("[^\u{0}]{1,12}"),
            "[^\u{0}]{1,12}",
            dates(),
            (
                list(),
                prop::collection::vec(ssccs(), 0..3),
                prop::collection::vec(ssccs(), 0..2)
            ),
            (list(), list(), list(), list()),
            prop::option::of(prop::sample::select(WriteOffReason::ALL.to_vec())),
            prop::option::of("[a-z]{1,8}"),
        )
            .prop_map(
                |(
                    zone,
                    document_number,
                    document_date,
                    (found, labels, opened),
                    (foreign, wrong_status, unknown, missing),
                    settle,
                    supervisor,
                )| {
                    OperationDocument::Inventory(InventoryDocument {
                        zone,
                        document_number,
                        document_date,
                        found,
                        labels,
                        opened,
                        foreign,
                        wrong_status,
                        unknown,
                        missing,
                        settle,
                        supervisor,
                    })
                }
            ),
    ]
}

proptest! {
    #[test]
    fn any_document_round_trips(document in documents()) {
        let text = serde_json::to_string(&document.payload()).unwrap();
        let back = OperationDocument::from_parts(
            document.kind().name(),
            serde_json::from_str(&text).unwrap(),
        );
        prop_assert_eq!(back.as_ref().ok(), Some(&document));
        let tagged = serde_json::to_string(&document).unwrap();
        prop_assert_eq!(serde_json::from_str::<OperationDocument>(&tagged).unwrap(), document);
    }
}
