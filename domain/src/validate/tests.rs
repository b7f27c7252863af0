//! Validation as a table: one scan, one situation, the verdict and its reasons.

use super::*;
use crate::code::{ParseOptions, parse};
use crate::gs1::Sscc;
use crate::status::{PackageType, Parent, StatusEx};

const NOW: Timestamp = Timestamp(1_795_305_600_000); // 2026-11-22T00:00Z
const MILK: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+";
const MILK_EXPIRED: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+\x1d17251231";
const MILK_NO_GS: &[u8] = b"0104600840749372215XyZ1a93Ab1+";
const KI_ONLY: &[u8] = b"010460084074937221ABCDEFGHIJKLM";
const EAN: &[u8] = b"4606203086627";

fn ours() -> Inn {
    Inn::parse("7707083893").unwrap()
}

fn supplier() -> Inn {
    Inn::parse("7736207543").unwrap()
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
