//! Validation as a table: one scan, one situation, the verdict and its reasons.

use super::*;
use crate::code::{ParseOptions, parse};
use crate::gs1::Sscc;
use crate::status::{PackageType, Parent, StatusEx};

const NOW: Timestamp = Timestamp(1_795_305_600_000); // 2026-11-22T00:00Z
const MILK: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+";
const MILK_EXPIRED: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+\x1d17251231";
const MILK_NO_GS: &[u8] = b"0104600840749372215XyZ1a93Ab1+";
/// A milk КИ (the replica's statuses below are milk's): its serial has milk's 6 characters.
const KI_ONLY: &[u8] = b"0104600840749372215XyZ1a";
const EAN: &[u8] = b"4606203086627";
const TOBACCO_PACK: &[u8] = b"04606203086627-CtOkRAACbokB2/";

fn ours() -> Inn {
    Inn::parse("7707083893").unwrap()
}

fn supplier() -> Inn {
    Inn::parse("7736207543").unwrap()
}

fn other_participant() -> Inn {
    Inn::parse("500100732259").unwrap()
}

/// A code the replica holds without `ownerInn`: GIS MT did not tell us who owns it.
fn ownerless(cis: CisStatus) -> CodeStatus {
    CodeStatus {
        owner: None,
        ..status(cis, ours())
    }
}

fn status(cis: CisStatus, owner: Inn) -> CodeStatus {
    CodeStatus {
        status: cis,
        status_ex: StatusEx::Empty,
        owner: Some(owner),
        product_group: Some(ProductGroup::Milk),
        package_type: PackageType::Unit,
        parent: None,
        expiry: None,
        max_retail_price: None,
        blocked: false,
    }
}

struct Case {
    name: &'static str,
    code: &'static [u8],
    operation: OperationKind,
    status: Option<CodeStatus>,
    tweak: fn(&mut Facts<'_>, &mut Context),
    want: &'static str,
}

fn run(case: &Case) -> String {
    let code = parse(case.code, &ParseOptions::default()).unwrap();
    let mut facts = Facts {
        status: case.status.as_ref(),
        block: None,
        catalog_group: None,
        last_sync: Some(Timestamp(NOW.millis() - 3_600_000)),
        duplicate_in_document: false,
        expectation: Expectation::NoList,
    };
    let mut context = Context {
        operation: case.operation,
        own_inn: Some(ours()),
        supplier_inn: Some(supplier()),
        product_group: None,
    };
    (case.tweak)(&mut facts, &mut context);
    let verdict = validate(&code, &facts, &context, &Policy::default(), NOW);
    let reasons: Vec<String> = verdict
        .findings
        .iter()
        .map(|(f, s)| format!("{}:{}", f.code(), s.code()))
        .collect();
    format!("{} {}", verdict.outcome.code(), reasons.join(" "))
        .trim_end()
        .to_string()
}

fn no_tweak(_: &mut Facts<'_>, _: &mut Context) {}

#[test]
fn verdicts() {
    use CisStatus as S;
    use OperationKind as Op;
    let cases = [
        Case {
            name: "acceptance of the supplier's code",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, supplier())),
            tweak: no_tweak,
            want: "accept",
        },
        Case {
            name: "unknown code warns",
            code: MILK,
            operation: Op::Acceptance,
            status: None,
            tweak: no_tweak,
            want: "warn unknown_code:warn",
        },
        Case {
            name: "wrong status for acceptance",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(status(S::Applied, supplier())),
            tweak: no_tweak,
            want: "reject wrong_status:reject",
        },
        Case {
            name: "another participant's code",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, Inn::parse("500100732259").unwrap())),
            tweak: no_tweak,
            want: "reject foreign_owner:reject",
        },
        Case {
            name: "already ours",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, ours())),
            tweak: no_tweak,
            want: "warn already_ours:warn",
        },
        Case {
            name: "written off",
            code: MILK,
            operation: Op::WriteOff,
            status: Some(status(S::WrittenOff, ours())),
            tweak: no_tweak,
            want: "reject out_of_circulation:reject",
        },
        Case {
            name: "sold (retired) cannot be aggregated",
            code: MILK,
            operation: Op::Aggregation,
            status: Some(status(S::Retired, ours())),
            tweak: no_tweak,
            want: "reject out_of_circulation:reject",
        },
        Case {
            name: "aggregation needs our own code",
            code: MILK,
            operation: Op::Aggregation,
            status: Some(status(S::Introduced, supplier())),
            tweak: no_tweak,
            want: "reject foreign_owner:reject",
        },
        Case {
            name: "already in a box",
            code: MILK,
            operation: Op::Aggregation,
            status: Some(CodeStatus {
                parent: Some(Parent::Sscc(
                    Sscc::from_digits(b"106141411234567897").unwrap(),
                )),
                ..status(S::Introduced, ours())
            }),
            tweak: no_tweak,
            want: "reject in_aggregate:reject",
        },
        Case {
            name: "expired by the code's own date",
            code: MILK_EXPIRED,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, supplier())),
            tweak: no_tweak,
            want: "warn expired:warn",
        },
        Case {
            name: "expiry is the reason to write off",
            code: MILK_EXPIRED,
            operation: Op::WriteOff,
            status: Some(status(S::Introduced, ours())),
            tweak: no_tweak,
            want: "accept",
        },
        Case {
            name: "blocked code",
            code: MILK,
            operation: Op::WriteOff,
            status: Some(CodeStatus {
                blocked: true,
                ..status(S::Introduced, ours())
            }),
            tweak: no_tweak,
            want: "reject blocked:reject",
        },
        Case {
            name: "blocked GTIN",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, supplier())),
            tweak: |f, _| {
                f.block = Some(BlockHit::Gtin(
                    crate::gs1::Gtin::from_digits(b"04600840749372").unwrap(),
                ))
            },
            want: "reject blocked:reject",
        },
        Case {
            name: "duplicate in the document",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, supplier())),
            tweak: |f, _| f.duplicate_in_document = true,
            want: "reject duplicate_in_document:reject",
        },
        Case {
            name: "surplus against the task",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, supplier())),
            tweak: |f, _| f.expectation = Expectation::NotExpected,
            want: "warn not_expected:warn",
        },
        Case {
            name: "wrong product group for the task",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, supplier())),
            tweak: |_, c| c.product_group = Some(ProductGroup::Water),
            want: "reject wrong_product_group:reject",
        },
        Case {
            name: "cache older than 72 hours",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, supplier())),
            tweak: |f, _| f.last_sync = Some(Timestamp(NOW.millis() - 73 * 3_600_000)),
            want: "warn stale_cache:warn",
        },
        Case {
            name: "never synced",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, supplier())),
            tweak: |f, _| f.last_sync = None,
            want: "warn stale_cache:warn",
        },
        Case {
            name: "GS recovered",
            code: MILK_NO_GS,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, supplier())),
            tweak: no_tweak,
            want: "warn recovered:warn",
        },
        Case {
            name: "typed КИ without verification part",
            code: KI_ONLY,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, supplier())),
            tweak: no_tweak,
            want: "warn no_verification_part:warn",
        },
        Case {
            name: "an EAN is not a marking code",
            code: EAN,
            operation: Op::WriteOff,
            status: None,
            tweak: no_tweak,
            want: "reject wrong_kind:reject",
        },
        Case {
            name: "info explains, never rejects",
            code: MILK,
            operation: Op::Info,
            status: Some(status(S::WrittenOff, supplier())),
            tweak: no_tweak,
            want: "warn out_of_circulation:warn",
        },
        Case {
            name: "an ownerless code cannot be aggregated: it is someone else's",
            code: MILK,
            operation: Op::Aggregation,
            status: Some(ownerless(S::Introduced)),
            tweak: no_tweak,
            want: "reject not_ours:reject",
        },
        Case {
            name: "an ownerless code cannot be written off",
            code: MILK,
            operation: Op::WriteOff,
            status: Some(ownerless(S::Introduced)),
            tweak: no_tweak,
            want: "reject not_ours:reject",
        },
        Case {
            name: "without our own INN there is no owner to compare",
            code: MILK,
            operation: Op::Aggregation,
            status: Some(ownerless(S::Introduced)),
            tweak: |_, c| c.own_inn = None,
            want: "accept",
        },
        Case {
            name: "at acceptance the supplier is the document's: ownerless is a delivery",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(ownerless(S::Introduced)),
            tweak: no_tweak,
            want: "accept",
        },
        Case {
            name: "ownerless at acceptance without a supplier in the task",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(ownerless(S::Introduced)),
            tweak: |_, c| c.supplier_inn = None,
            want: "accept",
        },
        Case {
            name: "looking an ownerless code up says nothing about it",
            code: MILK,
            operation: Op::Info,
            status: Some(ownerless(S::Introduced)),
            tweak: no_tweak,
            want: "accept",
        },
        Case {
            name: "our own code written off",
            code: MILK,
            operation: Op::WriteOff,
            status: Some(status(S::Introduced, ours())),
            tweak: no_tweak,
            want: "accept",
        },
        Case {
            name: "another participant's code cannot be written off",
            code: MILK,
            operation: Op::WriteOff,
            status: Some(status(S::Introduced, other_participant())),
            tweak: no_tweak,
            want: "reject foreign_owner:reject",
        },
        Case {
            name: "our own code at acceptance stays already ours, supplier or not",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(status(S::Introduced, ours())),
            tweak: |_, c| c.supplier_inn = None,
            want: "warn already_ours:warn",
        },
        Case {
            name: "a delivery is shipped to us, awaiting acceptance",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(CodeStatus {
                status_ex: StatusEx::WaitShipment,
                ..status(S::Introduced, supplier())
            }),
            tweak: no_tweak,
            want: "accept",
        },
        Case {
            name: "a code shipped away cannot be accepted, whatever else is wrong",
            code: MILK,
            operation: Op::Acceptance,
            status: Some(CodeStatus {
                status_ex: StatusEx::MovingByUd,
                ..status(S::Introduced, other_participant())
            }),
            tweak: no_tweak,
            want: "reject status_ex_forbids:reject foreign_owner:reject",
        },
        Case {
            name: "retired by re-marking: both the status and statusEx say no",
            code: MILK,
            operation: Op::WriteOff,
            status: Some(CodeStatus {
                status_ex: StatusEx::RemarkRetired,
                ..status(S::Retired, ours())
            }),
            tweak: no_tweak,
            want: "reject out_of_circulation:reject status_ex_forbids:reject",
        },
        Case {
            name: "an unknown statusEx is never dropped, even with worse news",
            code: MILK,
            operation: Op::Aggregation,
            status: Some(CodeStatus {
                status_ex: StatusEx::Other,
                ..ownerless(S::Introduced)
            }),
            tweak: no_tweak,
            want: "reject not_ours:reject unknown_status_ex:warn",
        },
        Case {
            name: "tobacco answers carry no statusEx: EMPTY packs",
            code: TOBACCO_PACK,
            operation: Op::Aggregation,
            status: Some(CodeStatus {
                product_group: Some(ProductGroup::Tobacco),
                ..status(S::Introduced, ours())
            }),
            tweak: |_, c| c.product_group = Some(ProductGroup::Tobacco),
            want: "accept",
        },
        Case {
            name: "inventory counts someone else's code without a word",
            code: MILK,
            operation: Op::Inventory,
            status: Some(ownerless(S::Introduced)),
            tweak: no_tweak,
            want: "accept",
        },
        Case {
            name: "inventory counts a sold code",
            code: MILK,
            operation: Op::Inventory,
            status: Some(status(S::Retired, ours())),
            tweak: no_tweak,
            want: "accept",
        },
        Case {
            name: "inventory finds expired goods on the shelf",
            code: MILK_EXPIRED,
            operation: Op::Inventory,
            status: Some(status(S::Introduced, ours())),
            tweak: no_tweak,
            want: "warn expired:warn",
        },
        Case {
            name: "return of a unit we sold",
            code: MILK,
            operation: Op::Return,
            status: Some(status(S::Retired, ours())),
            tweak: no_tweak,
            want: "accept",
        },
        Case {
            name: "return of a unit still in circulation: nothing was sold",
            code: MILK,
            operation: Op::Return,
            status: Some(status(S::Introduced, ours())),
            tweak: no_tweak,
            want: "reject wrong_status:reject",
        },
        Case {
            name: "return of a unit written off",
            code: MILK,
            operation: Op::Return,
            status: Some(status(S::WrittenOff, ours())),
            tweak: no_tweak,
            want: "reject wrong_status:reject",
        },
        Case {
            name: "return of a unit another seller sold",
            code: MILK,
            operation: Op::Return,
            status: Some(ownerless(S::Retired)),
            tweak: no_tweak,
            want: "reject not_ours:reject",
        },
        Case {
            name: "return of an expired item",
            code: MILK_EXPIRED,
            operation: Op::Return,
            status: Some(status(S::Retired, ours())),
            tweak: no_tweak,
            want: "reject expired:reject",
        },
        Case {
            name: "shipment of our code in circulation",
            code: MILK,
            operation: Op::Shipment,
            status: Some(status(S::Introduced, ours())),
            tweak: no_tweak,
            want: "accept",
        },
        Case {
            name: "shipment of a code not yet in circulation",
            code: MILK,
            operation: Op::Shipment,
            status: Some(status(S::Applied, ours())),
            tweak: no_tweak,
            want: "reject wrong_status:reject",
        },
        Case {
            name: "shipment of a code sold at retail",
            code: MILK,
            operation: Op::Shipment,
            status: Some(status(S::Retired, ours())),
            tweak: no_tweak,
            want: "reject out_of_circulation:reject",
        },
        Case {
            name: "shipment of someone else's code",
            code: MILK,
            operation: Op::Shipment,
            status: Some(ownerless(S::Introduced)),
            tweak: no_tweak,
            want: "reject not_ours:reject",
        },
        Case {
            name: "shipment of an expired item",
            code: MILK_EXPIRED,
            operation: Op::Shipment,
            status: Some(status(S::Introduced, ours())),
            tweak: no_tweak,
            want: "reject expired:reject",
        },
        Case {
            name: "shipment of a unit packed in a box, scanned alone",
            code: MILK,
            operation: Op::Shipment,
            status: Some(CodeStatus {
                parent: Some(Parent::Sscc(Sscc::compose(0, "4600840", 7).unwrap())),
                ..status(S::Introduced, ours())
            }),
            tweak: no_tweak,
            want: "warn in_aggregate:warn",
        },
        Case {
            name: "shipment past the order",
            code: MILK,
            operation: Op::Shipment,
            status: Some(status(S::Introduced, ours())),
            tweak: |f, _| f.expectation = Expectation::NotExpected,
            want: "warn not_expected:warn",
        },
        Case {
            name: "reasons are ordered by weight",
            code: MILK_NO_GS,
            operation: Op::Aggregation,
            status: Some(status(S::Emitted, supplier())),
            tweak: no_tweak,
            want: "reject wrong_status:reject foreign_owner:reject recovered:warn",
        },
    ];
    for case in &cases {
        assert_eq!(run(case), case.want, "{}", case.name);
    }
}

/// The `statusEx` rules of marking-codes.md §5, written out again per operation: a change to
/// the table in `status_ex.rs` has to be made here too, on purpose.
#[test]
fn status_ex_per_operation() {
    use StatusEx as X;
    const OK: &str = "accept";
    const NO: &str = "reject status_ex_forbids:reject";
    const EXPLAINED: &str = "warn status_ex_forbids:warn";
    const UNKNOWN: &str = "warn unknown_status_ex:warn";
    #[rustfmt::skip]
    let table = [
        //                         acceptance  aggregation  write-off  info       shipment  return  inventory
        (X::Empty,               [OK,         OK,          OK,        OK,         OK, OK, OK]),
        (X::WaitShipment,        [OK,         NO,          NO,        OK,         NO, NO, OK]),
        (X::WaitTransferToOwner, [OK,         OK,          OK,        OK,         OK, NO, OK]),
        (X::WaitRemark,          [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::ReservedNotUsed,     [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::InGrayZone,          [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::LostInventory,       [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::Exported,            [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::ConnectTap,          [NO,         NO,          OK,        OK,         NO, NO, OK]),
        (X::MovingByUd,          [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::LoanRetired,         [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::RemarkRetired,       [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::FtsRespondNotOk,     [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::FtsRespondWaiting,   [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::FtsControl,          [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::Other,               [UNKNOWN,    UNKNOWN,     UNKNOWN,   UNKNOWN,    UNKNOWN, UNKNOWN, OK]),
        (X::RetiredCancellation, [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
        (X::PrimResponseWaiting, [NO,         NO,          NO,        EXPLAINED,  NO, NO, OK]),
    ];
    assert!(
        table
            .iter()
            .all(|(_, wants)| wants.len() == OperationKind::ALL.len())
    );
    let listed: Vec<StatusEx> = table.iter().map(|(x, _)| *x).collect();
    assert_eq!(listed, StatusEx::ALL, "one row per statusEx, in order");
    for (status_ex, wants) in table {
        for (operation, want) in OperationKind::ALL.into_iter().zip(wants) {
            // Otherwise a clean code for the operation: the supplier's in a delivery, ours after.
            let owner = match operation {
                OperationKind::Acceptance => supplier(),
                _ => ours(),
            };
            let case = Case {
                name: "",
                code: MILK,
                operation,
                status: Some(CodeStatus {
                    status_ex,
                    // What comes back in a return was sold.
                    ..status(
                        match operation {
                            OperationKind::Return => CisStatus::Retired,
                            _ => CisStatus::Introduced,
                        },
                        owner,
                    )
                }),
                tweak: no_tweak,
                want,
            };
            assert_eq!(run(&case), want, "{status_ex} at {}", operation.code());
        }
    }
}

#[test]
fn status_ex_refusals_name_the_state() {
    use StatusEx as X;
    let cases = [
        (X::MovingByUd, "already shipped away", "уже отгружен"),
        (
            X::WaitRemark,
            "waiting for re-marking",
            "ожидает перемаркировки",
        ),
        (
            X::FtsControl,
            "under customs control",
            "под таможенным контролем",
        ),
        (X::LostInventory, "lost in an inventory", "инвентаризации"),
        (X::WaitShipment, "awaiting acceptance", "ожидает приёмки"),
        (X::Exported, "exported", "экспорт"),
        (X::RemarkRetired, "re-marking", "перемаркировке"),
        (
            X::FtsRespondNotOk,
            "refused by customs",
            "отклонён таможней",
        ),
    ];
    for (status_ex, en, ru) in cases {
        let finding = Finding::StatusEx { status_ex };
        assert_eq!(finding.code(), "status_ex_forbids");
        let (en_text, ru_text) = (finding.message(Lang::En), finding.message(Lang::Ru));
        assert!(en_text.contains(en), "{en_text}");
        assert!(ru_text.contains(ru), "{ru_text}");
        // The API name too, for whoever looks the state up in GIS MT.
        assert!(en_text.contains(status_ex.api_name()), "{en_text}");
        assert!(ru_text.contains(status_ex.api_name()), "{ru_text}");
    }
    // Every value has its own words.
    let mut words: Vec<&str> = StatusEx::ALL
        .iter()
        .map(|&x| status_ex::state_words(x, Lang::En))
        .collect();
    words.sort_unstable();
    words.dedup();
    assert_eq!(words.len(), StatusEx::ALL.len());
}

#[test]
fn status_ex_and_ownership_weigh_as_the_policy_says() {
    let code = parse(MILK, &ParseOptions::default()).unwrap();
    let shipped_away = CodeStatus {
        status_ex: StatusEx::MovingByUd,
        ..status(CisStatus::Introduced, supplier())
    };
    let unowned = ownerless(CisStatus::Introduced);
    let facts = |status| Facts {
        status: Some(status),
        block: None,
        catalog_group: None,
        last_sync: Some(NOW),
        duplicate_in_document: false,
        expectation: Expectation::NoList,
    };
    let context = |operation| Context {
        operation,
        own_inn: Some(ours()),
        supplier_inn: Some(supplier()),
        product_group: None,
    };
    let mut policy = Policy::default();
    let outcome = |policy: &Policy, status, operation| {
        validate(&code, &facts(status), &context(operation), policy, NOW).outcome
    };
    let acceptance = OperationKind::Acceptance;
    let write_off = OperationKind::WriteOff;
    assert_eq!(outcome(&policy, &shipped_away, acceptance), Outcome::Reject);
    assert!(policy.set(acceptance, "status_ex_forbids", Severity::Warn));
    assert_eq!(outcome(&policy, &shipped_away, acceptance), Outcome::Warn);
    assert_eq!(outcome(&policy, &unowned, write_off), Outcome::Reject);
    assert!(policy.set(write_off, "not_ours", Severity::Ignore));
    assert_eq!(outcome(&policy, &unowned, write_off), Outcome::Accept);
    assert!(policy.set(write_off, "unknown_status_ex", Severity::Reject));
    let unknown = CodeStatus {
        status_ex: StatusEx::Other,
        ..status(CisStatus::Introduced, ours())
    };
    assert_eq!(outcome(&policy, &unknown, write_off), Outcome::Reject);
}

/// Expiry on Moscow's clock (UTC+3 all year): a date lasts to Moscow midnight, an AI 7003
/// time to its minute.
#[test]
fn expiry_in_moscow_time() {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    let utc = |offset_ms: i64| Timestamp(NOW.millis() + offset_ms); // from 2026-11-22T00:00Z
    let nov = |day| Gs1Date {
        year: 2026,
        month: 11,
        day,
    };
    const DATE_22: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+\x1d17261122";
    const DATE_21: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+\x1d17261121";
    const DATE_30: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+\x1d17261130";
    const TIME_22_1400: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+\x1d70032611221400";
    const DATE_23_TIME_22_1400: &[u8] =
        b"0104600840749372215XyZ1a\x1d93Ab1+\x1d1726112370032611221400";
    /// What, the code, the expiry in the replica, when, and the date if expired then.
    type Row = (
        &'static str,
        &'static [u8],
        Option<Gs1Date>,
        Timestamp,
        Option<Gs1Date>,
    );
    #[rustfmt::skip]
    let cases: [Row; 15] = [
        ("a date, 23:59 in Moscow", DATE_22, None, utc(20 * HOUR + 59 * MINUTE), None),
        ("a date, midnight in Moscow", DATE_22, None, utc(21 * HOUR), Some(nov(22))),
        // UTC still says the 22nd; Moscow is at 02:30 on the 23rd.
        ("a date, 23:30 UTC", DATE_22, None, utc(23 * HOUR + 30 * MINUTE), Some(nov(22))),
        ("a date, the morning of it", DATE_22, None, utc(-2 * HOUR), None),
        // 22:30 UTC on the 21st is 01:30 on the 22nd in Moscow: the 21st is over.
        ("yesterday's date, 22:30 UTC", DATE_21, None, utc(-90 * MINUTE), Some(nov(21))),
        ("yesterday's date, 20:30 UTC", DATE_21, None, utc(-210 * MINUTE), None),
        ("7003 14:00, 10:59 UTC", TIME_22_1400, None, utc(10 * HOUR + 59 * MINUTE), None),
        ("7003 14:00, its last millisecond", TIME_22_1400, None, utc(11 * HOUR - 1), None),
        ("7003 14:00, 11:00 UTC", TIME_22_1400, None, utc(11 * HOUR), Some(nov(22))),
        ("7003 14:00, the next day", TIME_22_1400, None, utc(30 * HOUR), Some(nov(22))),
        // A code with both: the earlier instant counts.
        ("17 and 7003, before 14:00", DATE_23_TIME_22_1400, None, utc(10 * HOUR), None),
        ("17 and 7003, from 14:00", DATE_23_TIME_22_1400, None, utc(11 * HOUR), Some(nov(22))),
        ("the replica's date, 23:59 in Moscow", MILK, Some(nov(22)), utc(21 * HOUR - 1), None),
        ("the replica's date, Moscow midnight", MILK, Some(nov(22)), utc(21 * HOUR), Some(nov(22))),
        // The code's own date is surer than the replica's.
        ("the code's date over the replica's", DATE_30, Some(nov(1)), utc(0), None),
    ];
    for (what, raw, replica, now, want) in cases {
        let code = parse(raw, &ParseOptions::default()).unwrap();
        let cached = CodeStatus {
            expiry: replica,
            ..status(CisStatus::Introduced, supplier())
        };
        let facts = Facts {
            status: Some(&cached),
            block: None,
            catalog_group: None,
            last_sync: Some(now),
            duplicate_in_document: false,
            expectation: Expectation::NoList,
        };
        let context = Context {
            operation: OperationKind::Acceptance,
            own_inn: Some(ours()),
            supplier_inn: Some(supplier()),
            product_group: None,
        };
        let verdict = validate(&code, &facts, &context, &Policy::default(), now);
        let expired = verdict.findings.iter().find_map(|(f, _)| match f {
            Finding::Expired { on } => Some(*on),
            _ => None,
        });
        assert_eq!(expired, want, "{what}");
        let others = verdict.findings.len() - usize::from(expired.is_some());
        assert_eq!(others, 0, "{what}: {:?}", verdict.findings);
    }
}

#[test]
fn the_expiry_instant() {
    let at = |raw: &[u8]| {
        let code = parse(raw, &ParseOptions::default()).unwrap();
        expiry(&code, None).map(|e| (e.on.to_string(), e.at.millis()))
    };
    // 2026-11-22 21:00 UTC is Moscow midnight, 11:00 UTC is 14:00 in Moscow.
    /// The expiry date and the first expired instant, in milliseconds.
    type Want = Option<(&'static str, i64)>;
    let cases: [(&[u8], Want); 4] = [
        (MILK, None),
        (
            b"0104600840749372215XyZ1a\x1d93Ab1+\x1d17261122",
            Some(("2026-11-22", NOW.millis() + 21 * 3_600_000)),
        ),
        (
            b"0104600840749372215XyZ1a\x1d93Ab1+\x1d70032611221400",
            Some(("2026-11-22", NOW.millis() + 11 * 3_600_000)),
        ),
        (
            b"0104600840749372215XyZ1a\x1d93Ab1+\x1d70032611230015",
            Some(("2026-11-23", NOW.millis() + 21 * 3_600_000 + 15 * 60_000)),
        ),
    ];
    for (raw, want) in cases {
        let got = at(raw);
        let got = got.as_ref().map(|(on, ms)| (on.as_str(), *ms));
        assert_eq!(got, want, "{}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn policy_is_configuration() {
    let code = parse(MILK, &ParseOptions::default()).unwrap();
    let facts = Facts {
        status: None,
        block: None,
        catalog_group: None,
        last_sync: Some(NOW),
        duplicate_in_document: false,
        expectation: Expectation::NoList,
    };
    let context = Context {
        operation: OperationKind::WriteOff,
        own_inn: None,
        supplier_inn: None,
        product_group: None,
    };
    let mut policy = Policy::default();
    assert_eq!(
        validate(&code, &facts, &context, &policy, NOW).outcome,
        Outcome::Warn
    );
    assert!(policy.set(OperationKind::WriteOff, "unknown_code", Severity::Reject));
    assert_eq!(
        validate(&code, &facts, &context, &policy, NOW).outcome,
        Outcome::Reject
    );
    assert!(policy.set(OperationKind::WriteOff, "unknown_code", Severity::Ignore));
    assert_eq!(
        validate(&code, &facts, &context, &policy, NOW).outcome,
        Outcome::Accept
    );
    assert!(!policy.set(OperationKind::WriteOff, "no_such_rule", Severity::Ignore));

    policy.max_cache_age_hours = 1;
    let stale = Facts {
        last_sync: Some(Timestamp(NOW.millis() - 2 * 3_600_000)),
        ..facts
    };
    let verdict = validate(&code, &stale, &context, &policy, NOW);
    assert_eq!(
        verdict.headline(),
        Some(&Finding::StaleCache { hours: Some(2) })
    );
}

#[test]
fn every_finding_has_both_messages() {
    let all = [
        Finding::WrongKind {
            kind: CodeKind::Gtin,
        },
        Finding::UnknownCode,
        Finding::WrongStatus {
            status: CisStatus::Applied,
        },
        Finding::OutOfCirculation {
            status: CisStatus::Retired,
        },
        Finding::ForeignOwner,
        Finding::AlreadyOurs,
        Finding::InAggregate,
        Finding::Expired { on: NOW.date() },
        Finding::Blocked {
            by: BlockHit::Series,
        },
        Finding::DuplicateInDocument,
        Finding::NotExpected,
        Finding::WrongProductGroup {
            expected: ProductGroup::Milk,
            found: ProductGroup::Water,
        },
        Finding::StaleCache { hours: None },
        Finding::Recovered,
        Finding::NoVerificationPart,
        Finding::StatusEx {
            status_ex: StatusEx::FtsControl,
        },
        Finding::UnknownStatusEx,
        Finding::NotOurs,
        Finding::SerialLength {
            length: 12,
            expected: Some(13),
        },
    ];
    let codes: Vec<&str> = all.iter().map(Reason::code).collect();
    assert_eq!(codes, Finding::CODES);
    for f in all {
        assert!(f.message(Lang::En).is_ascii());
        assert!(
            f.message(Lang::Ru)
                .chars()
                .any(|c| ('а'..='я').contains(&c)),
            "{}",
            f.code()
        );
    }
}

/// A bare КИ cut short: its serial is shorter than its product group's, or of a length no
/// group uses. Each group with a fixed serial length, its КИ one character short; the group
/// comes from the catalogue, the replica or the document.
#[test]
fn a_cut_short_ki_is_flagged_by_its_product_groups_serial_length() {
    let options = ParseOptions::default();
    let judge = |ki: &str, catalog: Option<ProductGroup>, document: Option<ProductGroup>| {
        let code = parse(ki.as_bytes(), &options).unwrap();
        let facts = Facts {
            status: None,
            block: None,
            catalog_group: catalog,
            last_sync: Some(NOW),
            duplicate_in_document: false,
            expectation: Expectation::NoList,
        };
        let context = Context {
            operation: OperationKind::Acceptance,
            own_inn: Some(ours()),
            supplier_inn: None,
            product_group: document,
        };
        validate(&code, &facts, &context, &Policy::default(), NOW)
    };
    let gtin = "04600840749372";
    let groups: &[(ProductGroup, usize)] = &[
        (ProductGroup::LightIndustry, 13),
        (ProductGroup::Shoes, 13),
        (ProductGroup::Perfumery, 13),
        (ProductGroup::Pharma, 13),
        (ProductGroup::Milk, 6),
        (ProductGroup::Water, 13),
        (ProductGroup::Beer, 7),
        (ProductGroup::SoftDrinks, 13),
        (ProductGroup::Tobacco, 7),
        (ProductGroup::NicotineDevices, 13),
    ];
    for &(group, length) in groups {
        let whole = format!("01{gtin}21{}", &"5AbCdEfGhIjKl"[..length]);
        let cut = &whole[..whole.len() - 1];
        let want = Finding::SerialLength {
            length: (length - 1) as u8,
            expected: Some(length as u8),
        };
        for (catalog, document) in [(Some(group), None), (None, Some(group))] {
            let verdict = judge(cut, catalog, document);
            assert_eq!(verdict.headline(), Some(&want), "{group} {cut}");
            assert_eq!(verdict.outcome, Outcome::Warn, "{group}");
            let whole = judge(&whole, catalog, document);
            assert!(
                !whole
                    .findings
                    .iter()
                    .any(|(f, _)| matches!(f, Finding::SerialLength { .. })),
                "{group} {whole:?}"
            );
        }
    }
    // No group known: only a length no group uses is flagged; 12 characters are none's.
    let twelve = format!("01{gtin}215AbCdEfGhIjK");
    assert_eq!(
        judge(&twelve, None, None).headline(),
        Some(&Finding::SerialLength {
            length: 12,
            expected: None
        })
    );
    let seven = format!("01{gtin}215AbCdEf");
    assert_eq!(
        judge(&seven, None, None).headline(),
        Some(&Finding::NoVerificationPart)
    );
    // A group the reference gives no length: judged as if no group were known.
    assert_eq!(
        judge(&seven, Some(ProductGroup::Toys), None).headline(),
        Some(&Finding::NoVerificationPart)
    );
    // The policy can refuse it.
    let mut policy = Policy::default();
    assert!(policy.set(OperationKind::Acceptance, "serial_length", Severity::Reject));
    let code = parse(twelve.as_bytes(), &options).unwrap();
    let facts = Facts {
        status: None,
        block: None,
        catalog_group: Some(ProductGroup::Shoes),
        last_sync: Some(NOW),
        duplicate_in_document: false,
        expectation: Expectation::NoList,
    };
    let context = Context {
        operation: OperationKind::Acceptance,
        own_inn: Some(ours()),
        supplier_inn: None,
        product_group: None,
    };
    assert_eq!(
        validate(&code, &facts, &context, &policy, NOW).outcome,
        Outcome::Reject
    );
    let f = Finding::SerialLength {
        length: 12,
        expected: Some(13),
    };
    assert!(f.message(Lang::En).contains("12 characters") && f.message(Lang::En).contains("13"));
    assert!(f.message(Lang::Ru).contains("12 символов"));
}
