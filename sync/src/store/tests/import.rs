//! Imports: every field of `cisInfo` lands where it should, bad lines are reported with their
//! numbers and never cost a stored row, gzip is recognised, and a cut-short input keeps what
//! was committed.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use tally_domain::gs1::{Gtin, Sscc};
use tally_domain::product_group::ProductGroup;
use tally_domain::status::{BlockHit, CisStatus, Inn, PackageType, Parent, StatusEx, Timestamp};

use super::{Scratch, ki, row_counts};
use crate::store::{
    ImportReport, MAX_KEPT_REJECTIONS, MAX_LINE_BYTES, RejectReason, RejectedLine, StoreError,
};
use crate::synthetic;

const NOW: Timestamp = Timestamp(1_795_305_600_000);

fn sscc(digits: &str) -> Sscc {
    Sscc::from_digits(digits.as_bytes()).unwrap()
}

fn import_statuses(scratch: &Scratch, input: impl Read) -> ImportReport {
    scratch
        .store()
        .importer()
        .unwrap()
        .import_statuses(input, NOW)
        .unwrap()
}

fn rejections(report: &ImportReport) -> Vec<(u64, &'static str)> {
    report
        .rejections
        .iter()
        .map(|r| (r.line, r.reason.code()))
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn every_field_of_a_status_line_is_stored_and_read_back() {
    let scratch = Scratch::new("fields");
    let lines = [
        // A milk unit with an expiry date-time, a long-form unit in a box, a tobacco block
        // with a price, a unit inside that block, and a bare minimum line.
        r#"{"cis":"0104600840749372215XyZ1a","gtin":"04600840749372","productGroupId":8,"status":"INTRODUCED","statusEx":"EMPTY","ownerInn":"7707083893","packageType":"UNIT","expirationDate":"2027-03-01T00:00:00.000Z","productName":"Кефир"}"#,
        r#"{"cis":"0104690257528523215ABCDEFGHIJKL","productGroupId":1,"status":"INTRODUCED","statusEx":"WAIT_SHIPMENT","ownerInn":"500100732259","packageType":"UNIT","parent":"00146000000000000012","child":[]}"#,
        r#"{"cis":"04606203086627-CtOkRA","productGroupId":3,"status":"APPLIED","statusEx":"SOMETHING_NEW","packageType":"LEVEL1","maxRetailPrice":1500000,"child":["0104606203086627"]}"#,
        r#"{"cis":"0109506000134352215MNOPQRSTUVWX","status":"RETIRED","parent":"04606203086627-CtOkRA","blocked":true,"ownerInn":""}"#,
        r#"{"cis":"0104600840749372215Minim","status":"EMITTED"}"#,
    ];
    let report = import_statuses(&scratch, lines.join("\n").as_bytes());
    assert_eq!((report.imported, report.rejected), (5, 0), "{report:?}");

    let store = scratch.store();
    let milk = store
        .status(&ki("0104600840749372215XyZ1a"))
        .unwrap()
        .unwrap();
    assert_eq!(milk.status, CisStatus::Introduced);
    assert_eq!(milk.status_ex, StatusEx::Empty);
    assert_eq!(milk.product_group, Some(ProductGroup::Milk));
    assert_eq!(milk.package_type, PackageType::Unit);
    assert_eq!(milk.owner.unwrap().as_str(), "7707083893");
    assert_eq!(milk.expiry.unwrap().to_string(), "2027-03-01");
    assert_eq!(
        (milk.parent, milk.max_retail_price, milk.blocked),
        (None, None, false)
    );

    let boxed = store
        .status(&ki("0104690257528523215ABCDEFGHIJKL"))
        .unwrap()
        .unwrap();
    assert_eq!(boxed.status_ex, StatusEx::WaitShipment);
    let sscc = Sscc::from_digits(b"146000000000000012").unwrap();
    assert_eq!(boxed.parent, Some(Parent::Sscc(sscc)));

    let block = store.status(&ki("04606203086627-CtOkRA")).unwrap().unwrap();
    assert_eq!(block.package_type, PackageType::Level1);
    assert_eq!(block.status_ex, StatusEx::Other);
    assert_eq!(block.max_retail_price, Some(1_500_000));
    assert_eq!(block.owner, None);

    let inner = store
        .status(&ki("0109506000134352215MNOPQRSTUVWX"))
        .unwrap()
        .unwrap();
    assert_eq!(inner.status, CisStatus::Retired);
    assert!(inner.blocked);
    assert_eq!(
        inner.parent,
        Some(Parent::Code(ki("04606203086627-CtOkRA")))
    );
    assert_eq!(inner.owner, None);

    let bare = store
        .status(&ki("0104600840749372215Minim"))
        .unwrap()
        .unwrap();
    assert_eq!(bare.status, CisStatus::Emitted);
    assert_eq!(bare.package_type, PackageType::Unit);
    assert_eq!(bare.product_group, None);

    assert_eq!(
        store.status(&ki("0104600840749372215Absent")).unwrap(),
        None
    );
    // productName filled the catalog for its GTIN; owners are interned once each.
    let gtin = Gtin::from_digits(b"04600840749372").unwrap();
    assert_eq!(store.catalog_item(gtin).unwrap().unwrap().name, "Кефир");
    assert_eq!(store.stats(NOW).unwrap().owners, 2);
    assert_eq!(store.statuses_refreshed_at().unwrap(), Some(NOW));
}

#[test]
fn bad_lines_are_counted_with_their_numbers_and_cost_no_stored_row() {
    let scratch = Scratch::new("bad-lines");
    let mut export = String::new();
    synthetic::StatusExport::new(5, 300)
        .read_to_string(&mut export)
        .unwrap();
    assert_eq!(import_statuses(&scratch, export.as_bytes()).imported, 300);
    let stored = ki("0104600840749372215XyZ1a");
    import_statuses(
        &scratch,
        &br#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED","ownerInn":"7707083893"}"#[..],
    );
    let original = scratch.store().status(&stored).unwrap().unwrap();
    let before = row_counts(&scratch.db());

    // Every line but the blank one and the two good ones is wrong, each in its own way; the
    // bad ones that name a stored code must leave it as it was.
    let cases: &[(&str, Option<&str>)] = &[
        ("{not json", Some("not_json")),
        (r#"{"status":"INTRODUCED"}"#, Some("wrong_fields")),
        (r#"{"cis":17,"status":"INTRODUCED"}"#, Some("wrong_fields")),
        (r#"{"cis":"hello","status":"INTRODUCED"}"#, Some("bad_cis")),
        // A box label's status is kept, to judge the box (schema v7).
        (
            r#"{"cis":"00146000000000000012","status":"INTRODUCED"}"#,
            None,
        ),
        (
            r#"{"cis":"0104600840749372215XyZ1a","gtin":"04600840749373","status":"INTRODUCED"}"#,
            Some("bad_gtin"),
        ),
        (
            r#"{"cis":"0104600840749372215XyZ1a","gtin":"04690257528523","status":"INTRODUCED"}"#,
            Some("gtin_mismatch"),
        ),
        (
            r#"{"cis":"0104600840749372215XyZ1a","status":"SOLD_OUT"}"#,
            Some("unknown_status"),
        ),
        (
            // A package type GIS MT added later is kept as unknown, not refused.
            r#"{"cis":"0104600840749372215NewTri","status":"INTRODUCED","packageType":"CRATE"}"#,
            None,
        ),
        (
            r#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED","ownerInn":"7707083894"}"#,
            Some("bad_owner_inn"),
        ),
        (
            r#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED","parent":"146000000000000013"}"#,
            Some("bad_parent"),
        ),
        (
            r#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED","expirationDate":"2027-02-30"}"#,
            Some("bad_expiration_date"),
        ),
        (
            r#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED","maxRetailPrice":-5}"#,
            Some("bad_price"),
        ),
        (
            r#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED","maxRetailPrice":1.5}"#,
            Some("wrong_fields"),
        ),
        ("", None),
        (
            r#"{"cis":"0104600840749372215NewOne","status":"APPLIED"}"#,
            None,
        ),
        ("\u{1}\u{2}\u{3}", Some("not_json")),
        (
            r#"{"cis":"0104600840749372215NewTwo","status":"APPLIED"}   "#,
            None,
        ),
    ];
    let mut input: Vec<u8> = cases
        .iter()
        .flat_map(|(line, _)| line.bytes().chain(*b"\r\n"))
        .collect();
    input.extend_from_slice(b"\xff\xfe{\"cis\": \"x\"}\n");
    let report = import_statuses(&scratch, &input[..]);

    let mut want: Vec<(u64, &str)> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, (_, reason))| reason.map(|r| (i as u64 + 1, r)))
        .collect();
    want.push((cases.len() as u64 + 1, "not_json"));
    assert_eq!(rejections(&report), want);
    assert_eq!(report.rejected, want.len() as u64);
    assert_eq!(report.imported, 4);
    assert_eq!(report.lines, cases.len() as u64 + 1);

    let store = scratch.store();
    assert_eq!(store.status(&stored).unwrap().unwrap(), original);
    assert!(
        store
            .status(&ki("0104600840749372215NewOne"))
            .unwrap()
            .is_some()
    );
    // The four good lines are the only change to any table.
    let mut after = row_counts(&scratch.db());
    for (table, n) in &mut after {
        if table == "label_statuses" {
            *n -= 1;
        }
        if table == "statuses" {
            *n -= 3;
        }
    }
    assert_eq!(after, before);
}

#[test]
fn only_the_first_rejections_are_kept_but_all_are_counted() {
    let scratch = Scratch::new("many-bad");
    let input = "garbage\n".repeat(MAX_KEPT_REJECTIONS + 50);
    let report = import_statuses(&scratch, input.as_bytes());
    assert_eq!(report.rejected, MAX_KEPT_REJECTIONS as u64 + 50);
    assert_eq!(report.rejections.len(), MAX_KEPT_REJECTIONS);
    assert_eq!(
        report.rejections.last(),
        Some(&RejectedLine {
            line: MAX_KEPT_REJECTIONS as u64,
            reason: RejectReason::NotJson
        })
    );
    // Nothing but rejections: the cache is not called fresh.
    assert_eq!(scratch.store().statuses_refreshed_at().unwrap(), None);
}

#[test]
fn an_overlong_line_is_rejected_without_losing_the_next_one() {
    let scratch = Scratch::new("long");
    let mut input = format!(
        r#"{{"cis":"0104600840749372215XyZ1a","status":"APPLIED","productName":"{}"}}"#,
        "x".repeat(MAX_LINE_BYTES)
    );
    input.push('\n');
    input.push_str(r#"{"cis":"0104600840749372215Second","status":"APPLIED"}"#);
    let report = import_statuses(&scratch, input.as_bytes());
    assert_eq!(rejections(&report), [(1, "line_too_long")]);
    assert_eq!(report.imported, 1);
    assert!(
        scratch
            .store()
            .status(&ki("0104600840749372215Second"))
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_later_line_for_the_same_code_wins() {
    let scratch = Scratch::new("twice");
    let input = [
        r#"{"cis":"0104600840749372215XyZ1a","status":"APPLIED"}"#,
        r#"{"cis":"0104600840749372215Other","status":"APPLIED"}"#,
        r#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED","ownerInn":"7707083893"}"#,
    ]
    .join("\n");
    import_statuses(&scratch, input.as_bytes());
    let status = scratch
        .store()
        .status(&ki("0104600840749372215XyZ1a"))
        .unwrap()
        .unwrap();
    assert_eq!(status.status, CisStatus::Introduced);
    // A later export replaces the code's whole state, owner included.
    import_statuses(
        &scratch,
        &br#"{"cis":"0104600840749372215XyZ1a","status":"RETIRED"}"#[..],
    );
    let status = scratch
        .store()
        .status(&ki("0104600840749372215XyZ1a"))
        .unwrap()
        .unwrap();
    assert_eq!((status.status, status.owner), (CisStatus::Retired, None));
}

#[test]
fn gzip_is_recognised_by_its_magic_bytes_and_spans_batches() {
    let scratch = Scratch::new("gzip");
    let mut export = Vec::new();
    // More than one batch of 50 000, so batching and the sort are exercised.
    synthetic::StatusExport::new(11, 120_000)
        .read_to_end(&mut export)
        .unwrap();
    let report = import_statuses(&scratch, &gzip(&export)[..]);
    assert!(report.gzip);
    assert_eq!((report.imported, report.rejected), (120_000, 0));
    let store = scratch.store();
    for index in [0, 49_999, 50_000, 119_999] {
        let code = synthetic::ki(11, index).unwrap();
        assert!(store.status(&code).unwrap().is_some(), "{code}");
    }
    assert_eq!(store.stats(NOW).unwrap().status_rows, 120_000);
}

#[test]
fn a_cut_short_gzip_keeps_what_was_stored_and_every_committed_batch() {
    let scratch = Scratch::new("cut");
    let earlier = ki("0104600840749372215XyZ1a");
    import_statuses(
        &scratch,
        &br#"{"cis":"0104600840749372215XyZ1a","status":"INTRODUCED"}"#[..],
    );

    let mut export = Vec::new();
    synthetic::StatusExport::new(12, 130_000)
        .read_to_end(&mut export)
        .unwrap();
    let compressed = gzip(&export);
    let cut = &compressed[..compressed.len() * 9 / 10];
    let error = scratch
        .store()
        .importer()
        .unwrap()
        .import_statuses(cut, Timestamp(NOW.0 + 1))
        .unwrap_err();
    let StoreError::ImportInterrupted {
        line, committed, ..
    } = error
    else {
        panic!("{error}");
    };
    assert_eq!(committed, 100_000, "two whole batches");
    assert!(line > 100_000, "{line}");

    let store = scratch.store();
    let stats = store.stats(NOW).unwrap();
    assert_eq!(stats.status_rows, 100_001);
    assert!(store.status(&earlier).unwrap().is_some());
    // The refresh time is the earlier, complete import's.
    assert_eq!(store.statuses_refreshed_at().unwrap(), Some(NOW));
    assert!(store.check_integrity().unwrap().is_empty());
}

#[test]
fn catalog_block_lists_and_tasks_import_and_report_their_bad_lines() {
    let scratch = Scratch::new("others");
    let mut importer = scratch.store().importer().unwrap();

    let catalog = [
        r#"{"gtin":"04600840749372","name":"Кефир 1 %","productGroupId":8,"unit":"pcs"}"#,
        r#"{"gtin":"4690257528523","name":"Футболка"}"#,
        r#"{"gtin":"04600840749373","name":"bad check digit"}"#,
        r#"{"gtin":"04600840749372","name":"  "}"#,
    ];
    let report = importer
        .import_catalog(catalog.join("\n").as_bytes())
        .unwrap();
    assert_eq!(report.imported, 2);
    assert_eq!(rejections(&report), [(3, "bad_gtin"), (4, "empty_name")]);

    let blocks = [
        r#"{"kind":"code","cis":"0104600840749372215XyZ1a"}"#,
        r#"{"kind":"gtin","gtin":"04690257528523"}"#,
        r#"{"kind":"series","gtin":"04600840749372","batch":"B-17"}"#,
        r#"{"kind":"series","gtin":"04600840749372","batch":"B-18"}"#,
        r#"{"kind":"series","gtin":"04600840749372","batch":"B-18","remove":true}"#,
        r#"{"kind":"pallet","gtin":"04600840749372"}"#,
        r#"{"kind":"series","gtin":"04600840749372"}"#,
        r#"{"kind":"code"}"#,
    ];
    let report = importer
        .import_block_lists(blocks.join("\n").as_bytes())
        .unwrap();
    assert_eq!(report.imported, 5);
    assert_eq!(
        rejections(&report),
        [
            (6, "unknown_block_kind"),
            (7, "empty_batch"),
            (8, "wrong_fields")
        ]
    );

    let tasks = [
        r#"{"id":"T-1","number":"УПД-1","senderInn":"7707083893","date":"2026-11-20","productGroupId":1,"units":["0104600840749372215XyZ1a"],"boxes":[{"sscc":"146000000000000012","units":["0104690257528523215ABCDEFGHIJKL","0104690257528523215ABCDEFGHIJKM"]}]}"#,
        r#"{"id":"T-2","number":"2","senderInn":"500100732259","date":"2026-11-21","lines":[{"gtin":"04690257528523","quantity":3},{"gtin":"4600840749372","quantity":12,"ref":"a1"}]}"#,
        r#"{"id":"T-3","number":"3","senderInn":"1234567890","date":"2026-11-21"}"#,
        r#"{"id":"T-4","number":"4","senderInn":"7707083893","date":"2026-11-31"}"#,
        r#"{"id":"T-5","number":"5","senderInn":"7707083893","date":"2026-11-21","units":["0104600840749372215XyZ1a","0104600840749372215XyZ1a"]}"#,
        r#"{"id":"T-6","number":"6","senderInn":"7707083893","date":"2026-11-21","boxes":[{"sscc":"146000000000000013"}]}"#,
        r#"{"id":"","number":"7"}"#,
    ];
    let report = importer
        .import_tasks(tasks.join("\n").as_bytes(), NOW)
        .unwrap();
    assert_eq!(report.imported, 2);
    assert_eq!(
        rejections(&report),
        [
            (3, "bad_sender_inn"),
            (4, "bad_date"),
            (5, "duplicate_in_task"),
            (6, "bad_sscc"),
            (7, "empty_task_id")
        ]
    );

    let store = scratch.store();
    let kefir = Gtin::from_digits(b"04600840749372").unwrap();
    let item = store.catalog_item(kefir).unwrap().unwrap();
    assert_eq!(item.product_group, Some(ProductGroup::Milk));
    assert_eq!(item.unit.as_deref(), Some("pcs"));
    let shirt = Gtin::from_digits(b"04690257528523").unwrap();
    assert_eq!(store.catalog_item(shirt).unwrap().unwrap().unit, None);

    let unit = ki("0104600840749372215XyZ1a");
    assert_eq!(
        store.block_hit(Some(&unit), kefir, None).unwrap(),
        Some(BlockHit::Code)
    );
    let other = ki("0104600840749372215Other");
    assert_eq!(
        store.block_hit(Some(&other), kefir, Some("B-17")).unwrap(),
        Some(BlockHit::Series)
    );
    assert_eq!(
        store.block_hit(Some(&other), kefir, Some("B-18")).unwrap(),
        None
    );
    assert_eq!(
        store.block_hit(None, shirt, None).unwrap(),
        Some(BlockHit::Gtin(shirt))
    );

    let task = store.task("T-1").unwrap().unwrap();
    assert_eq!(task.number, "УПД-1");
    assert_eq!(task.sender_inn.as_str(), "7707083893");
    assert_eq!(task.date.to_string(), "2026-11-20");
    assert_eq!(task.received_at, NOW);
    assert_eq!(task.product_group, Some(ProductGroup::LightIndustry));
    assert_eq!(task.loose_units, [unit]);
    assert_eq!(task.boxes.len(), 1);
    assert_eq!(
        task.boxes[0].sscc,
        Sscc::from_digits(b"146000000000000012").unwrap()
    );
    assert_eq!(task.boxes[0].units.len(), 2);
    let acceptance = task.acceptance_task();
    assert_eq!(acceptance.sender, Some(task.sender_inn));
    assert!(acceptance.lines.is_empty());
    let by_quantity = store.task("T-2").unwrap().unwrap().acceptance_task();
    assert_eq!(
        by_quantity
            .lines
            .iter()
            .map(|l| (l.gtin, l.quantity))
            .collect::<Vec<_>>(),
        [(shirt, 3), (kefir, 12)],
        "the lines in the books' order"
    );
    assert_eq!(acceptance.units, task.loose_units);
    assert_eq!(acceptance.boxes[0].children, task.boxes[0].units);
    assert_eq!(store.task("T-2").unwrap().unwrap().product_group, None);
    let list = store.tasks().unwrap();
    let summary: Vec<_> = list
        .iter()
        .map(|t| (t.id.as_str(), t.units, t.boxes))
        .collect();
    assert_eq!(summary, [("T-1", 3, 1), ("T-2", 15, 0)]);
    assert_eq!(store.task("T-3").unwrap(), None);

    // A task sent again replaces the old one; a removal line deletes it with its contents.
    let again = [
        r#"{"id":"T-1","number":"УПД-1","senderInn":"7707083893","date":"2026-11-20","units":["0104600840749372215Other"]}"#,
        r#"{"id":"T-2","remove":true}"#,
    ];
    importer
        .import_tasks(again.join("\n").as_bytes(), NOW)
        .unwrap();
    let task = store.task("T-1").unwrap().unwrap();
    assert_eq!(
        (task.loose_units.as_slice(), task.boxes.len()),
        ([other].as_slice(), 0)
    );
    assert_eq!(store.tasks().unwrap().len(), 1);
    let units: i64 = store
        .conn
        .query_row("SELECT count(*) FROM task_units", [], |row| row.get(0))
        .unwrap();
    assert_eq!(units, 1);
}

#[test]
fn orders_to_pick_import_replace_withdraw_and_go_with_a_snapshot() {
    use crate::store::PageKind;
    use tally_wire::Feed;

    let scratch = Scratch::new("orders");
    let store = scratch.store();
    let kefir = Gtin::from_digits(b"04607004650642").unwrap();
    let named = ki("0104600840749372215Named");
    let orders = [
        r#"{"id":"ZK-1","number":"ЗК-000001","receiverInn":"7736207543","date":"2026-12-02","productGroupId":8,"warehouse":"W1","units":["0104600840749372215Named"],"lines":[{"gtin":"04607004650642","quantity":12,"name":"Кефир","ref":"k1"},{"gtin":"04600840749372","quantity":2}]}"#,
        r#"{"id":"ZK-2","number":"ЗК-000002","date":"2026-12-01","lines":[{"gtin":"04607004650642","quantity":1}]}"#,
        r#"{"id":"ZK-3","number":"ЗК-000003","date":"2026-12-01"}"#,
        r#"{"id":"ZK-4","number":"ЗК-000004","receiverInn":"7736207544","date":"2026-12-01","lines":[{"gtin":"04607004650642","quantity":1}]}"#,
        r#"{"id":"ZK-5","number":"ЗК-000005","date":"2026-12-01","units":["0104600840749372215Named","0104600840749372215Named"]}"#,
    ];
    let mut importer = store.importer().unwrap();
    let report = importer
        .import_orders(orders.join("\n").as_bytes(), NOW)
        .unwrap();
    assert_eq!(
        rejections(&report),
        [
            (3, "empty_order"),
            (4, "bad_receiver_inn"),
            (5, "duplicate_in_order")
        ]
    );
    let order = store.order("ZK-1").unwrap().unwrap();
    assert_eq!(order.number, "ЗК-000001");
    assert_eq!(
        order.receiver_inn.map(|i| i.as_str().to_owned()).as_deref(),
        Some("7736207543")
    );
    assert_eq!(order.date.to_string(), "2026-12-02");
    assert_eq!(order.received_at, NOW);
    assert_eq!(order.product_group, Some(ProductGroup::Milk));
    assert_eq!(order.units, [named]);
    let shipment = order.shipment_order();
    assert_eq!(shipment.receiver, order.receiver_inn);
    assert_eq!(
        shipment
            .lines
            .iter()
            .map(|l| (l.gtin, l.quantity))
            .collect::<Vec<_>>(),
        [(kefir, 12), (named.gtin(), 2)],
        "the lines in the books' order"
    );
    assert_eq!(store.order("ZK-2").unwrap().unwrap().receiver_inn, None);
    let list: Vec<_> = store
        .orders()
        .unwrap()
        .into_iter()
        .map(|o| (o.id, o.units))
        .collect();
    assert_eq!(
        list,
        [("ZK-2".to_owned(), 1), ("ZK-1".to_owned(), 15)],
        "oldest first"
    );

    // An order sent again replaces the old one; a withdrawal deletes it with its contents.
    let again = [
        r#"{"id":"ZK-1","number":"ЗК-000001","date":"2026-12-02","units":["0104600840749372215Other"]}"#,
        r#"{"id":"ZK-2","remove":true}"#,
    ];
    importer
        .import_orders(again.join("\n").as_bytes(), NOW)
        .unwrap();
    let order = store.order("ZK-1").unwrap().unwrap();
    assert_eq!(
        (
            order.units.as_slice(),
            order.lines.len(),
            order.receiver_inn
        ),
        ([ki("0104600840749372215Other")].as_slice(), 0, None)
    );
    assert_eq!(store.order("ZK-2").unwrap(), None);
    let count = |table: &str| -> i64 {
        store
            .conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap()
    };
    assert_eq!((count("order_units"), count("order_lines")), (1, 0));

    // Pulled from the hub: a snapshot that no longer carries ZK-1 drops it at its last page.
    let page = r#"{"id":"ZK-9","number":"ЗК-000009","date":"2026-12-03","lines":[{"gtin":"04607004650642","quantity":4}]}"#;
    importer
        .import_pulled_page(
            Feed::Orders,
            PageKind::SnapshotStart,
            page.as_bytes(),
            7,
            true,
            NOW,
        )
        .unwrap();
    drop(importer);
    assert_eq!(store.order("ZK-1").unwrap(), None);
    assert_eq!(store.order("ZK-9").unwrap().unwrap().lines[0].quantity, 4);
    assert_eq!(store.feed_cursor(Feed::Orders).unwrap(), Some(7));
    assert_eq!((count("order_units"), count("order_lines")), (0, 1));
}

#[test]
fn a_snapshot_replaces_the_feed_page_by_page_and_a_removal_line_drops_a_code() {
    use crate::store::PageKind;
    use tally_wire::Feed;

    let scratch = Scratch::new("snapshot-pages");
    let store = scratch.store();
    let line = |serial: &str, status: &str| {
        format!("{{\"cis\":\"0104600840749372215{serial}\",\"status\":\"{status}\"}}\n")
    };
    let code = |serial: &str| ki(&format!("0104600840749372215{serial}"));
    let cached = |store: &crate::store::Store, serial: &str| {
        store.status(&code(serial)).unwrap().map(|s| s.status)
    };
    let mut importer = store.importer().unwrap();
    let old = format!(
        "{}{}",
        line("OLD01", "INTRODUCED"),
        line("OLD02", "INTRODUCED")
    );
    importer
        .import_pulled_page(
            Feed::Statuses,
            PageKind::Delta,
            old.as_bytes(),
            10,
            true,
            NOW,
        )
        .unwrap();
    // A removal line drops one code; the other stays.
    let removal = "{\"cis\":\"0104600840749372215OLD02\",\"remove\":true}\n";
    importer
        .import_pulled_page(
            Feed::Statuses,
            PageKind::Delta,
            removal.as_bytes(),
            11,
            true,
            NOW,
        )
        .unwrap();
    drop(importer);
    assert_eq!(cached(&store, "OLD01"), Some(CisStatus::Introduced));
    assert_eq!(cached(&store, "OLD02"), None);

    // A snapshot's pages are stored as they come while the old copy keeps answering; the feed
    // counts as in a snapshot until the last page.
    let mut importer = store.importer().unwrap();
    importer
        .import_pulled_page(
            Feed::Statuses,
            PageKind::SnapshotStart,
            line("NEW01", "RETIRED").as_bytes(),
            3,
            false,
            NOW,
        )
        .unwrap();
    drop(importer);
    assert_eq!(
        cached(&store, "OLD01"),
        Some(CisStatus::Introduced),
        "the old copy serves until the snapshot is whole"
    );
    assert_eq!(cached(&store, "NEW01"), Some(CisStatus::Retired));
    assert!(store.feed_in_snapshot(Feed::Statuses).unwrap());
    assert!(!store.feed_in_snapshot(Feed::Blocks).unwrap());
    assert_eq!(store.feed_cursor(Feed::Statuses).unwrap(), Some(3));

    let mut importer = store.importer().unwrap();
    importer
        .import_pulled_page(
            Feed::Statuses,
            PageKind::SnapshotMore,
            line("NEW02", "INTRODUCED").as_bytes(),
            12,
            true,
            NOW,
        )
        .unwrap();
    drop(importer);
    assert_eq!(cached(&store, "NEW01"), Some(CisStatus::Retired), "kept");
    assert_eq!(cached(&store, "NEW02"), Some(CisStatus::Introduced));
    assert_eq!(
        cached(&store, "OLD01"),
        None,
        "not in the snapshot: removed"
    );
    let notes: i64 = rusqlite::Connection::open(scratch.db())
        .unwrap()
        .query_row("SELECT count(*) FROM snapshot_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(notes, 0, "the notes go with the last page");
    assert!(!store.feed_in_snapshot(Feed::Statuses).unwrap());
    assert_eq!(store.feed_cursor(Feed::Statuses).unwrap(), Some(12));
}

#[test]
fn operators_arrive_with_pin_digests_and_leave_on_removal() {
    let scratch = Scratch::new("operators");
    let salt = "5a17";
    let digest = tally_wire::pin_digest(salt, "4711");
    let lines = format!(
        "{{\"id\":\"op1\",\"name\":\"Анна\",\"pinSalt\":\"{salt}\",\"pinSha256\":\"{digest}\",\"badge\":\"B-1\",\"supervisor\":true}}\n\
         {{\"id\":\"op2\",\"name\":\"Иван\",\"pinSalt\":\"{salt}\",\"pinSha256\":\"{digest}\"}}\n\
         {{\"id\":\"op3\",\"name\":\"No digest\",\"pin\":\"1234\"}}\n\
         {{\"id\":\"op4\",\"name\":\"Short digest\",\"pinSalt\":\"x\",\"pinSha256\":\"abc\"}}\n\
         {{\"id\":\"\",\"name\":\"No id\"}}\n"
    );
    let store = scratch.store();
    let report = store
        .importer()
        .unwrap()
        .import_operators(lines.as_bytes())
        .unwrap();
    assert_eq!(report.imported, 2);
    assert_eq!(
        rejections(&report),
        vec![
            (3, "bad_pin_digest"),
            (4, "bad_pin_digest"),
            (5, "empty_operator_id")
        ]
    );
    let operators = store.operators().unwrap();
    assert_eq!(operators.len(), 2);
    let anna = &operators[0];
    assert_eq!(
        (anna.id.as_str(), anna.badge.as_deref(), anna.supervisor),
        ("op1", Some("B-1"), true)
    );
    assert!(anna.pin_matches("4711"));
    assert!(!anna.pin_matches("4712"));
    assert!(!operators[1].supervisor);
    let removal = "{\"id\":\"op2\",\"remove\":true}\n";
    store
        .importer()
        .unwrap()
        .import_operators(removal.as_bytes())
        .unwrap();
    assert_eq!(store.operators().unwrap().len(), 1);
}

#[test]
fn box_and_pallet_labels_keep_their_status_owner_and_parent() {
    let scratch = Scratch::new("labels");
    let lines = [
        r#"{"cis":"00146000000000000012","status":"INTRODUCED","statusEx":"WAIT_SHIPMENT","ownerInn":"7736207543","packageType":"LEVEL1","parent":"146000000000000029","child":["0104600840749372215XyZ1a"]}"#,
        r#"{"cis":"146000000000000029","status":"WRITTEN_OFF","packageType":"LEVEL2"}"#,
    ];
    let report = import_statuses(&scratch, lines.join("\n").as_bytes());
    assert_eq!((report.imported, report.rejected), (2, 0), "{report:?}");
    let store = scratch.store();
    let boxed = store
        .label_status(sscc("146000000000000012"))
        .unwrap()
        .unwrap();
    assert_eq!(boxed.status, CisStatus::Introduced);
    assert_eq!(boxed.status_ex, StatusEx::WaitShipment);
    assert_eq!(boxed.owner, Inn::parse("7736207543"));
    assert_eq!(boxed.package_type, PackageType::Level1);
    assert_eq!(boxed.parent, Some(Parent::Sscc(sscc("146000000000000029"))));
    let pallet = store
        .label_status(sscc("146000000000000029"))
        .unwrap()
        .unwrap();
    assert_eq!(pallet.status, CisStatus::WrittenOff);
    assert!(
        store
            .label_status(sscc("146000000000000036"))
            .unwrap()
            .is_none()
    );
    drop(store);
    // A removal line drops the label's status.
    let report = import_statuses(
        &scratch,
        &br#"{"cis":"00146000000000000012","remove":true}"#[..],
    );
    assert_eq!(report.imported, 1);
    assert!(
        scratch
            .store()
            .label_status(sscc("146000000000000012"))
            .unwrap()
            .is_none()
    );
}
