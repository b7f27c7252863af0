//! The journal, the queue, local aggregates and counters, through restarts.

use tally_domain::gs1::Sscc;
use tally_domain::status::Timestamp;

use super::{Scratch, ki};
use crate::store::{
    AggregateItem, DeviceSeq, Effects, LocalStatuses, NewOperation, NewScan, OperationId, Store,
    StoreError,
};

fn acceptance(store: &mut Store, started: i64) -> OperationId {
    store
        .begin_operation(&NewOperation {
            kind: "acceptance",
            operator: "ivanova",
            header: r#"{"task":"T-1"}"#,
            started_at: Timestamp(started),
        })
        .unwrap()
}

fn scan(seq: u32, code: &str) -> NewScan<'_> {
    NewScan {
        seq,
        at: Timestamp(1_000 + i64::from(seq)),
        action: "scan",
        code,
        ki: tally_domain::code::Ki::from_cis(code),
        verdict: "accepted",
        detail: r#"{"why":"ok"}"#,
    }
}

fn sscc(digits: &str) -> Sscc {
    Sscc::from_digits(digits.as_bytes()).unwrap()
}

#[test]
fn an_open_operation_and_its_scans_survive_a_restart() {
    let scratch = Scratch::new("restart");
    let mut store = scratch.store();
    let op = acceptance(&mut store, 500);
    // A code with GS and characters that must never be mangled.
    let tricky = "0104600840749372215<&'\"%/;\u{1d}93Ab1+";
    let first = store.record_scan(op, &scan(0, tricky)).unwrap();
    let second = store
        .record_scan(op, &scan(1, "146000000000000012"))
        .unwrap();
    assert!(second > first);
    drop(store);

    let store = scratch.store();
    let open = store.open_operations().unwrap();
    assert_eq!(open.len(), 1);
    let operation = &open[0];
    assert_eq!(
        (
            operation.id,
            operation.kind.as_str(),
            operation.operator.as_str()
        ),
        (op, "acceptance", "ivanova")
    );
    assert_eq!(operation.header, r#"{"task":"T-1"}"#);
    assert_eq!(operation.started_at, Timestamp(500));
    let entries: Vec<_> = operation
        .entries
        .iter()
        .map(|e| (e.id, e.seq, e.code.as_str(), e.ki))
        .collect();
    assert_eq!(
        entries,
        [
            (first, 0, tricky, Some(ki("0104600840749372215<&'\"%/;"))),
            (second, 1, "146000000000000012", None)
        ]
    );
    assert_eq!(operation.entries[0].detail, r#"{"why":"ok"}"#);
    assert_eq!(operation.entries[0].at, Timestamp(1_000));
}

#[test]
fn a_scan_is_refused_for_an_unknown_operation_or_a_repeated_sequence_number() {
    let scratch = Scratch::new("refused");
    let mut store = scratch.store();
    let op = acceptance(&mut store, 0);
    store.record_scan(op, &scan(0, "a")).unwrap();
    assert!(matches!(
        store.record_scan(op, &scan(0, "b")),
        Err(StoreError::DuplicateScan { seq: 0, .. })
    ));
    assert!(matches!(
        store.record_scan(OperationId(999), &scan(1, "c")),
        Err(StoreError::UnknownOperation(OperationId(999)))
    ));
    assert!(matches!(
        store.undo_last_scan(OperationId(999)),
        Err(StoreError::UnknownOperation(_))
    ));
    assert_eq!(store.open_operations().unwrap()[0].entries.len(), 1);
}

#[test]
fn undo_takes_back_the_last_scan_only() {
    let scratch = Scratch::new("undo");
    let mut store = scratch.store();
    let op = acceptance(&mut store, 0);
    for (seq, code) in ["a", "b", "c"].iter().enumerate() {
        store.record_scan(op, &scan(seq as u32, code)).unwrap();
    }
    assert_eq!(store.undo_last_scan(op).unwrap().unwrap().code, "c");
    assert_eq!(store.undo_last_scan(op).unwrap().unwrap().code, "b");
    // The sequence number of an undone scan may be used again.
    store.record_scan(op, &scan(1, "b2")).unwrap();
    drop(store);
    let mut store = scratch.store();
    let codes: Vec<_> = store.open_operations().unwrap()[0]
        .entries
        .iter()
        .map(|e| e.code.clone())
        .collect();
    assert_eq!(codes, ["a", "b2"]);
    store.undo_last_scan(op).unwrap();
    store.undo_last_scan(op).unwrap();
    assert_eq!(store.undo_last_scan(op).unwrap(), None);
}

#[test]
fn finishing_moves_an_operation_to_the_queue_with_the_next_device_number() {
    let scratch = Scratch::new("finish");
    let mut store = scratch.store();
    let op = acceptance(&mut store, 100);
    store.record_scan(op, &scan(0, "a")).unwrap();
    let queued = store
        .finish_operation(
            op,
            Timestamp(900),
            r#"{"accepted":["a"]}"#,
            &Default::default(),
        )
        .unwrap();
    assert_eq!(queued.seq, DeviceSeq(1));
    assert_eq!(
        (queued.started_at, queued.finished_at),
        (Timestamp(100), Timestamp(900))
    );
    assert_eq!(queued.uuid.len(), 36);
    assert!(store.open_operations().unwrap().is_empty());
    assert!(matches!(
        store.finish_operation(op, Timestamp(901), "{}", &Default::default()),
        Err(StoreError::UnknownOperation(_))
    ));
    assert!(matches!(
        store.record_scan(op, &scan(1, "late")),
        Err(StoreError::UnknownOperation(_))
    ));
    assert_eq!(
        store.pending_queue().unwrap(),
        std::slice::from_ref(&queued)
    );

    // Uploaded rows leave the pending list; numbers keep rising across restarts and are
    // never handed out again.
    let second = acceptance(&mut store, 1_000);
    let second = store
        .finish_operation(second, Timestamp(1_100), "{}", &Default::default())
        .unwrap();
    assert_eq!(second.seq, DeviceSeq(2));
    assert_ne!(second.uuid, queued.uuid);
    assert_eq!(
        store
            .mark_uploaded(&[DeviceSeq(1), DeviceSeq(7)], Timestamp(2_000))
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .mark_uploaded(&[DeviceSeq(1)], Timestamp(3_000))
            .unwrap(),
        0
    );
    assert_eq!(store.queue_depth().unwrap(), 1);
    drop(store);
    let mut store = scratch.store();
    let pending = store.pending_queue().unwrap();
    assert_eq!(
        pending.iter().map(|q| q.seq).collect::<Vec<_>>(),
        [DeviceSeq(2)]
    );
    let third = acceptance(&mut store, 3_000);
    assert_eq!(
        store
            .finish_operation(third, Timestamp(3_100), "{}", &Default::default())
            .unwrap()
            .seq,
        DeviceSeq(3)
    );
    let stats = store.stats(Timestamp(0)).unwrap();
    assert_eq!((stats.queue_pending, stats.queue_total), (2, 3));
}

#[test]
fn a_discarded_operation_leaves_nothing_behind() {
    let scratch = Scratch::new("discard");
    let mut store = scratch.store();
    let op = acceptance(&mut store, 0);
    store.record_scan(op, &scan(0, "a")).unwrap();
    assert!(store.discard_operation(op).unwrap());
    assert!(!store.discard_operation(op).unwrap());
    assert!(store.open_operations().unwrap().is_empty());
    assert!(store.pending_queue().unwrap().is_empty());
    // Ids are not reused after the rows are gone.
    assert!(acceptance(&mut store, 1) > op);
}

#[test]
fn boxes_built_here_know_their_items_and_each_item_sits_in_one_box() {
    let scratch = Scratch::new("aggregates");
    let mut store = scratch.store();
    let unit_a = ki("0104600840749372215UnitA");
    let unit_b = ki("0104600840749372215UnitB");
    let box_1 = sscc("146000000000000012");
    let box_2 = sscc("146000000000000029");
    let pallet = sscc("146000000000000036");
    let items = [AggregateItem::Code(unit_a), AggregateItem::Code(unit_b)];
    store.put_aggregate(box_1, &items, Timestamp(1)).unwrap();
    store
        .put_aggregate(pallet, &[AggregateItem::Box(box_1)], Timestamp(2))
        .unwrap();
    assert_eq!(
        store.aggregate_of(&AggregateItem::Code(unit_a)).unwrap(),
        Some(box_1)
    );
    assert_eq!(
        store.aggregate_of(&AggregateItem::Box(box_1)).unwrap(),
        Some(pallet)
    );
    let mut held = store.aggregate_items(box_1).unwrap().unwrap();
    held.sort_by_key(|item| format!("{item:?}"));
    assert_eq!(held, items);

    // A unit already boxed cannot go into a second box; the failed box is not created.
    let refused = store.put_aggregate(box_2, &[AggregateItem::Code(unit_b)], Timestamp(3));
    assert!(matches!(refused, Err(StoreError::AlreadyAggregated { sscc }) if sscc == box_2));
    assert_eq!(store.aggregate_items(box_2).unwrap(), None);

    // Putting a box again replaces its contents.
    store
        .put_aggregate(box_1, &[AggregateItem::Code(unit_a)], Timestamp(4))
        .unwrap();
    assert_eq!(
        store.aggregate_of(&AggregateItem::Code(unit_b)).unwrap(),
        None
    );
    store
        .put_aggregate(box_2, &[AggregateItem::Code(unit_b)], Timestamp(5))
        .unwrap();

    assert!(store.remove_aggregate(box_1).unwrap());
    assert!(!store.remove_aggregate(box_1).unwrap());
    assert_eq!(
        store.aggregate_of(&AggregateItem::Code(unit_a)).unwrap(),
        None
    );
    assert_eq!(store.aggregate_items(box_1).unwrap(), None);
    assert_eq!(
        store.aggregate_of(&AggregateItem::Code(unit_b)).unwrap(),
        Some(box_2)
    );
}

#[test]
fn sscc_serials_never_repeat_across_restarts() {
    let scratch = Scratch::new("sscc");
    let mut store = scratch.store();
    assert_eq!(store.next_sscc_serial().unwrap(), 1);
    assert_eq!(store.next_sscc_serial().unwrap(), 2);
    drop(store);
    assert_eq!(scratch.store().next_sscc_serial().unwrap(), 3);
}

#[test]
fn a_finish_whose_effects_fail_leaves_the_operation_open_and_queues_nothing() {
    use tally_domain::code::Ki;
    use tally_domain::status::CisStatus;

    let scratch = Scratch::new("finish-effects");
    let mut store = scratch.store();
    let first_box = Sscc::compose(0, "4600840", 1).unwrap();
    let pallet = Sscc::compose(0, "4600840", 2).unwrap();
    let other_pallet = Sscc::compose(0, "4600840", 3).unwrap();
    let unit = Ki::from_cis("0104600840749372215XyZ1a").unwrap();
    // The box already stands on a pallet built here.
    store
        .put_aggregate(pallet, &[AggregateItem::Box(first_box)], Timestamp(50))
        .unwrap();
    let op = acceptance(&mut store, 100);
    store.record_scan(op, &scan(0, "a")).unwrap();
    let effects = Effects {
        aggregates: vec![(other_pallet, vec![AggregateItem::Box(first_box)])],
        unpacked: Vec::new(),
        unboxed: Vec::new(),
        statuses: vec![LocalStatuses {
            codes: vec![unit],
            status: CisStatus::Introduced,
            owner: None,
        }],
    };
    let failed = store.finish_operation(op, Timestamp(900), "{}", &effects);
    assert!(
        matches!(failed, Err(StoreError::AlreadyAggregated { sscc }) if sscc == other_pallet),
        "{failed:?}"
    );
    // Nothing of the finish happened: the operation and its scan are still open, the queue
    // and the device counter untouched, no pallet and no local status written.
    let open = store.open_operations().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, op);
    assert!(store.pending_queue().unwrap().is_empty());
    assert_eq!(store.aggregate_items(other_pallet).unwrap(), None);
    assert_eq!(store.local_status(&unit).unwrap(), None);
    // Once the conflict is gone the same operation finishes, as device number 1.
    let effects = Effects {
        aggregates: vec![(other_pallet, vec![AggregateItem::Code(unit)])],
        ..effects
    };
    let queued = store
        .finish_operation(op, Timestamp(901), "{}", &effects)
        .unwrap();
    assert_eq!(queued.seq, DeviceSeq(1));
    assert_eq!(
        store.aggregate_items(other_pallet).unwrap(),
        Some(vec![AggregateItem::Code(unit)])
    );
    assert!(store.local_status(&unit).unwrap().is_some());
}

#[test]
fn sscc_serials_come_from_the_hubs_range_and_never_twice() {
    let scratch = Scratch::new("sscc-range");
    let mut store = scratch.store();
    // Before enrollment the terminal counts from 1, as releases before the ranges did.
    assert_eq!(store.next_sscc_serial().unwrap(), 1);
    assert_eq!(store.next_sscc_serial().unwrap(), 2);
    store.adopt_sscc_serials(3_000_000, 3_000_002).unwrap();
    assert_eq!(store.next_sscc_serial().unwrap(), 3_000_000);
    // Adopting the same range again (a restart, a second call) moves nothing back.
    store.adopt_sscc_serials(3_000_000, 3_000_002).unwrap();
    assert_eq!(store.next_sscc_serial().unwrap(), 3_000_001);
    drop(store);
    let mut store = scratch.store();
    assert_eq!(store.next_sscc_serial().unwrap(), 3_000_002);
    // Past the end nothing is handed out, and the counter stays.
    assert!(matches!(
        store.next_sscc_serial(),
        Err(StoreError::SsccSerialsUsedUp)
    ));
    assert!(matches!(
        store.next_sscc_serial(),
        Err(StoreError::SsccSerialsUsedUp)
    ));
    // A new enrollment's range goes on from its own start.
    store.adopt_sscc_serials(4_000_000, 4_999_999).unwrap();
    assert_eq!(store.next_sscc_serial().unwrap(), 4_000_000);
}
