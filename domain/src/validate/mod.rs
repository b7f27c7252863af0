//! The offline verdict on one scanned code for one operation: accept, warn (the operator
//! confirms with a tap) or reject, each with its reasons.
//!
//! A pure function of the parsed code, what the local replica knows about it, the operation,
//! the policy and the current time. What is a warning and what is a rejection is policy, set
//! per operation by the integrator.

use std::fmt;

use crate::code::{CodeKind, MarkingCode};
use crate::gs1::{Ai, Gs1Date, Gs1DateTime};
use crate::lang::Lang;
use crate::product_group::ProductGroup;
use crate::reason::Reason;
use crate::status::{BlockHit, CisStatus, CodeStatus, Inn, StatusEx, Timestamp};

mod status_ex;

/// The operation a scan is made for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum OperationKind {
    Acceptance,
    Aggregation,
    WriteOff,
    /// Looking a code up: nothing is changed, so nothing is refused, only explained.
    Info,
    /// Picking and shipping our goods in circulation. After `Info`: the policy table's rows
    /// are indexed by kind, and configurations written before keep their meaning.
    Shipment,
    /// A customer's return of goods we sold, back into circulation. Last for the same reason.
    Return,
    /// Counting stock: every code is counted, whatever it is; the count judges it
    /// (`operation::inventory::Counted`), the rules only stop what is not a code or twice.
    Inventory,
}

impl OperationKind {
    pub const ALL: [OperationKind; 7] = [
        OperationKind::Acceptance,
        OperationKind::Aggregation,
        OperationKind::WriteOff,
        OperationKind::Info,
        OperationKind::Shipment,
        OperationKind::Return,
        OperationKind::Inventory,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OperationKind::Acceptance => "acceptance",
            OperationKind::Aggregation => "aggregation",
            OperationKind::WriteOff => "write-off",
            OperationKind::Info => "info",
            OperationKind::Shipment => "shipment",
            OperationKind::Return => "return",
            OperationKind::Inventory => "inventory",
        }
    }

    pub fn from_code(code: &str) -> Option<OperationKind> {
        OperationKind::ALL.into_iter().find(|k| k.code() == code)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How much a finding weighs for one operation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Severity {
    /// Not worth a word for this operation.
    Ignore,
    /// The operator must confirm with a tap.
    Warn,
    Reject,
}

impl Severity {
    pub fn code(self) -> &'static str {
        match self {
            Severity::Ignore => "ignore",
            Severity::Warn => "warn",
            Severity::Reject => "reject",
        }
    }

    pub fn from_code(code: &str) -> Option<Severity> {
        [Severity::Ignore, Severity::Warn, Severity::Reject]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// Something the validator noticed about a scan.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Finding {
    /// Not a unit code: an EAN, an SSCC where a unit was expected.
    WrongKind {
        kind: CodeKind,
    },
    /// The status cache does not know the code.
    UnknownCode,
    /// The code's status does not allow this operation.
    WrongStatus {
        status: CisStatus,
    },
    /// Written off, retired (sold) or withdrawn: out of circulation for good.
    OutOfCirculation {
        status: CisStatus,
    },
    /// Owned by a participant other than the one this operation needs.
    ForeignOwner,
    /// In acceptance: the code already belongs to us.
    AlreadyOurs,
    /// Already inside a box, pallet or group package.
    InAggregate,
    Expired {
        on: Gs1Date,
    },
    Blocked {
        by: BlockHit,
    },
    /// Scanned before in this document.
    DuplicateInDocument,
    /// Not among the codes the acceptance task expects (a surplus).
    NotExpected,
    WrongProductGroup {
        expected: ProductGroup,
        found: ProductGroup,
    },
    /// The status cache is older than the policy allows (or was never synced).
    StaleCache {
        hours: Option<i64>,
    },
    /// The scanner lost separators or typed through the wrong layout and the code was restored.
    Recovered,
    /// GTIN and serial without a verification part: typed, not scanned.
    NoVerificationPart,
    /// GTIN and serial without a verification part, and a serial of a length other than the
    /// product group's (`expected`), or of one no group uses (`expected` is `None`): most
    /// likely a scan cut short.
    SerialLength {
        length: u8,
        expected: Option<u8>,
    },
    /// The extended status (`statusEx`) does not allow this operation: shipped away, waiting
    /// for re-marking, under customs control...
    StatusEx {
        status_ex: StatusEx,
    },
    /// An extended status this terminal does not know: the operator looks before going on.
    UnknownStatusEx,
    /// The replica names no owner, and GIS MT names the owner only to the owner: someone
    /// else's code.
    NotOurs,
}

impl Finding {
    /// Every finding code, in the order of the policy table's columns.
    pub const CODES: [&'static str; 19] = [
        "wrong_kind",
        "unknown_code",
        "wrong_status",
        "out_of_circulation",
        "foreign_owner",
        "already_ours",
        "in_aggregate",
        "expired",
        "blocked",
        "duplicate_in_document",
        "not_expected",
        "wrong_product_group",
        "stale_cache",
        "recovered",
        "no_verification_part",
        "status_ex_forbids",
        "unknown_status_ex",
        "not_ours",
        "serial_length",
    ];

    fn index(&self) -> usize {
        match self {
            Finding::WrongKind { .. } => 0,
            Finding::UnknownCode => 1,
            Finding::WrongStatus { .. } => 2,
            Finding::OutOfCirculation { .. } => 3,
            Finding::ForeignOwner => 4,
            Finding::AlreadyOurs => 5,
            Finding::InAggregate => 6,
            Finding::Expired { .. } => 7,
            Finding::Blocked { .. } => 8,
            Finding::DuplicateInDocument => 9,
            Finding::NotExpected => 10,
            Finding::WrongProductGroup { .. } => 11,
            Finding::StaleCache { .. } => 12,
            Finding::Recovered => 13,
            Finding::NoVerificationPart => 14,
            Finding::StatusEx { .. } => 15,
            Finding::UnknownStatusEx => 16,
            Finding::NotOurs => 17,
            Finding::SerialLength { .. } => 18,
        }
    }
}

impl Reason for Finding {
    fn code(&self) -> &'static str {
        Finding::CODES[self.index()]
    }

    fn message(&self, lang: Lang) -> String {
        let (en, ru) = match *self {
            Finding::WrongKind { kind } => (
                format!("This is not an item's marking code ({}): scan the Data Matrix code.", kind.code()),
                format!("Это не код маркировки товара ({}): отсканируйте код Data Matrix.", kind.code()),
            ),
            Finding::UnknownCode => (
                "The code is not in the terminal's status list. Sync the terminal or check the code.".into(),
                "Кода нет в справочнике статусов терминала. Синхронизируйте терминал или проверьте код.".into(),
            ),
            Finding::WrongStatus { status } => (
                format!("The code's status {status} does not allow this operation."),
                format!("Статус кода {status} не допускает эту операцию."),
            ),
            Finding::OutOfCirculation { status } => (
                format!("The code is out of circulation ({status}): it cannot take part in any operation."),
                format!("Код выведен из оборота ({status}): операции с ним невозможны."),
            ),
            Finding::ForeignOwner => (
                "The code belongs to another participant.".into(),
                "Код принадлежит другому участнику оборота.".into(),
            ),
            Finding::AlreadyOurs => (
                "The code already belongs to us: it may have been accepted before.".into(),
                "Код уже принадлежит нам: возможно, он уже принят.".into(),
            ),
            Finding::InAggregate => (
                "The item is already packed in a box or package: take it out first.".into(),
                "Товар уже упакован в короб или упаковку: сначала извлеките его.".into(),
            ),
            Finding::Expired { on } => (
                format!("The item expired on {on}."),
                format!("Срок годности товара истёк {on}."),
            ),
            Finding::Blocked { by } => {
                let (en, ru) = match by {
                    BlockHit::Code => ("the code", "код"),
                    BlockHit::Gtin(_) => ("the product (GTIN)", "товар (GTIN)"),
                    BlockHit::Series => ("the production series", "производственная серия"),
                };
                (
                    format!("Blocked by the state system: {en} is on the block list. Set the item aside."),
                    format!("Заблокировано государственной системой: {ru} в списке блокировки. Отложите товар."),
                )
            }
            Finding::DuplicateInDocument => (
                "Already scanned in this document.".into(),
                "Уже отсканирован в этом документе.".into(),
            ),
            Finding::NotExpected => (
                "Not expected in this delivery: a surplus.".into(),
                "Не ожидается в этой поставке: излишек.".into(),
            ),
            Finding::WrongProductGroup { expected, found } => (
                format!("Wrong product group: {} expected, this is {}.", expected.name_en(), found.name_en()),
                format!("Не та товарная группа: ожидается «{}», а это «{}».", expected.name_ru(), found.name_ru()),
            ),
            Finding::StaleCache { hours: Some(h) } => (
                format!("The status list is {h} hours old: sync the terminal."),
                format!("Справочник статусов устарел ({h} ч): синхронизируйте терминал."),
            ),
            Finding::StaleCache { hours: None } => (
                "The terminal has never synced its status list.".into(),
                "Терминал ни разу не синхронизировал справочник статусов.".into(),
            ),
            Finding::Recovered => (
                "The scanner damaged the code and it was restored: check the scanner settings.".into(),
                "Сканер исказил код, код восстановлен: проверьте настройки сканера.".into(),
            ),
            Finding::NoVerificationPart => (
                "The code has no verification part: scan the Data Matrix instead of typing.".into(),
                "В коде нет кода проверки: отсканируйте Data Matrix вместо ручного ввода.".into(),
            ),
            Finding::StatusEx { status_ex } => (
                format!(
                    "The code is {} ({status_ex}): this operation is not allowed.",
                    status_ex::state_words(status_ex, Lang::En)
                ),
                format!(
                    "Код {} ({status_ex}): эта операция невозможна.",
                    status_ex::state_words(status_ex, Lang::Ru)
                ),
            ),
            Finding::UnknownStatusEx => (
                "The code has an extended status (statusEx) this terminal does not know: check the code before going on, and update the terminal.".into(),
                "У кода расширенный статус (statusEx), неизвестный терминалу: проверьте код, прежде чем продолжить, и обновите терминал.".into(),
            ),
            Finding::SerialLength { length, expected: Some(expected) } => (
                format!("The code has no verification part and its serial has {length} characters, where this product group's have {expected}: the scan was cut short or the code is another group's. Scan it again."),
                format!("В коде нет кода проверки, а серийный номер из {length} символов, тогда как в этой товарной группе их {expected}: код считан не полностью или это код другой группы. Отсканируйте снова."),
            ),
            Finding::SerialLength { length, expected: None } => (
                format!("The code has no verification part and its serial has {length} characters, a length no product group uses: the scan was cut short. Scan it again."),
                format!("В коде нет кода проверки, а серийный номер из {length} символов — такой длины нет ни в одной товарной группе: код считан не полностью. Отсканируйте снова."),
            ),
            Finding::NotOurs => (
                "The code is not ours: GIS MT names a code's owner only to the owner, and the status list names none.".into(),
                "Код нам не принадлежит: ГИС МТ сообщает владельца кода только самому владельцу, а в справочнике владелец не указан.".into(),
            ),
        };
        match lang {
            Lang::En => en,
            Lang::Ru => ru,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

/// What weighs how much, per operation, and how old the status cache may get.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Policy {
    severities: [[Severity; Finding::CODES.len()]; OperationKind::ALL.len()],
    /// CRPT's local module refuses to answer after 72 hours without a sync; so do we.
    pub max_cache_age_hours: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        use Severity::{Ignore as I, Reject as R, Warn as W};
        // Columns follow Finding::CODES.
        // A bare КИ of the wrong serial length is a warning everywhere, as any bare КИ is: the
        // hub re-reads every pushed КИ as a bare one and refuses only on rejections, and the
        // reference leaves several groups' lengths unconfirmed. The warning says "scan again";
        // an integrator who knows his groups sets it to reject.
        //        kind unk stat out own ours aggr exp blk dup notx pg stale rec nover sx sx? notours serial
        let acceptance = [R, W, R, R, R, W, I, W, R, R, W, R, W, W, W, R, W, I, W];
        let aggregation = [R, W, R, R, R, I, R, W, R, R, I, R, W, W, W, R, W, R, W];
        let write_off = [R, W, R, R, R, I, W, I, R, R, I, I, W, W, W, R, W, R, W];
        let info = [I, W, W, W, W, I, I, W, W, I, I, I, W, W, W, W, W, I, W];
        // A unit packed in a box ships with the box; scanned alone it is a warning (the operator
        // takes it out, the hub unpacks it). Past the order is a warning, as a surplus is.
        let shipment = [R, W, R, R, R, I, W, R, R, R, W, I, W, W, W, R, W, R, W];
        // Only what we sold comes back: sold (RETIRED), by us. Expired goods do not go back
        // into circulation; a sold unit is in no box, so a parent is only worth a look.
        let customer_return = [R, W, R, R, R, I, W, R, R, R, I, I, W, W, W, R, W, R, W];
        // A count takes every code as it comes: foreign, sold or unknown is what it reports.
        // Expired or blocked goods on the shelf are worth the operator's look.
        let inventory = [R, I, I, I, I, I, I, W, W, R, I, I, W, W, W, I, I, I, W];
        Policy {
            severities: [
                acceptance,
                aggregation,
                write_off,
                info,
                shipment,
                customer_return,
                inventory,
            ],
            max_cache_age_hours: 72,
        }
    }
}

impl Policy {
    pub fn severity(&self, operation: OperationKind, finding: &Finding) -> Severity {
        self.severities[operation.index()][finding.index()]
    }

    /// Changes one rule; false when the finding code is unknown.
    pub fn set(
        &mut self,
        operation: OperationKind,
        finding_code: &str,
        severity: Severity,
    ) -> bool {
        match Finding::CODES.iter().position(|c| *c == finding_code) {
            Some(i) => {
                self.severities[operation.index()][i] = severity;
                true
            }
            None => false,
        }
    }
}

/// Where the code stands against the document being worked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Expectation {
    /// No expected list (free acceptance, aggregation, write-off).
    NoList,
    Expected,
    NotExpected,
}

/// What the local replica and the open document know about the scanned code.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub status: Option<&'a CodeStatus>,
    pub block: Option<BlockHit>,
    /// Product group from the catalogue, which is surer than the code's layout.
    pub catalog_group: Option<ProductGroup>,
    pub last_sync: Option<Timestamp>,
    pub duplicate_in_document: bool,
    pub expectation: Expectation,
}

/// The operation the scan is made for, and whose it is.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    pub operation: OperationKind,
    /// The participant this terminal works for.
    pub own_inn: Option<Inn>,
    /// In acceptance, the supplier named by the task.
    pub supplier_inn: Option<Inn>,
    /// The product group the document is for.
    pub product_group: Option<ProductGroup>,
}

/// The outcome of validation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Outcome {
    Accept,
    /// Needs a confirming tap.
    Warn,
    Reject,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Accept => "accept",
            Outcome::Warn => "warn",
            Outcome::Reject => "reject",
        }
    }
}

/// The verdict on one scan, with every finding that counted, the weightiest first.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Verdict {
    pub outcome: Outcome,
    pub findings: Vec<(Finding, Severity)>,
}

impl Verdict {
    /// The reason to show in large type: the weightiest finding.
    pub fn headline(&self) -> Option<&Finding> {
        self.findings.first().map(|(f, _)| f)
    }
}

/// When an item stops being good, on Moscow's clock (GIS MT's, and the one its labels are
/// printed for).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Expiry {
    /// The expiry date as written.
    pub on: Gs1Date,
    /// The first instant the item is expired: the minute of AI 7003, or the end of the day
    /// (Moscow midnight) of a date alone.
    pub at: Timestamp,
}

impl Expiry {
    /// A date alone (AI 17, `expirationDate`): good through the whole of that Moscow day.
    pub fn of_date(on: Gs1Date) -> Expiry {
        Expiry {
            on,
            at: Timestamp::end_of_moscow_day(on),
        }
    }

    /// A date and minute (AI 7003): expired from that minute, Moscow time.
    pub fn of_time(time: Gs1DateTime) -> Expiry {
        Expiry {
            on: time.date,
            at: Timestamp::at_moscow_time(time),
        }
    }
}

/// The expiry the validator goes by: the code's own (the earlier of AI 17 and AI 7003 when it
/// carries both), else the one GIS MT gave for it.
pub fn expiry(code: &MarkingCode, status: Option<&CodeStatus>) -> Option<Expiry> {
    let by_date = code
        .element(Ai::EXPIRY)
        .and_then(|d| Gs1Date::from_yymmdd(d.as_bytes()))
        .map(Expiry::of_date);
    let by_time = code.expiry_time().map(Expiry::of_time);
    let own = match (by_date, by_time) {
        (Some(d), Some(t)) => Some(if t.at < d.at { t } else { d }),
        (d, t) => d.or(t),
    };
    own.or(status.and_then(|s| s.expiry).map(Expiry::of_date))
}

/// Judges one scan.
pub fn validate(
    code: &MarkingCode,
    facts: &Facts<'_>,
    context: &Context,
    policy: &Policy,
    now: Timestamp,
) -> Verdict {
    let mut found = Vec::new();
    let kind = code.kind();
    if !kind.has_ki() {
        found.push(Finding::WrongKind { kind });
    }
    let group = facts
        .catalog_group
        .or(facts.status.and_then(|s| s.product_group))
        .or(match code.product_group() {
            crate::code::GroupGuess::Known(pg) => Some(pg),
            _ => None,
        });
    if kind == CodeKind::KiOnly {
        // Before the missing verification part: "scan again" is the more useful headline.
        if let Some(finding) = serial_length_finding(code, group.or(context.product_group)) {
            found.push(finding);
        }
        found.push(Finding::NoVerificationPart);
    }
    if code.repairs().recovered() {
        found.push(Finding::Recovered);
    }
    if facts.duplicate_in_document {
        found.push(Finding::DuplicateInDocument);
    }
    if facts.expectation == Expectation::NotExpected {
        found.push(Finding::NotExpected);
    }
    let blocked_in_cache = facts.status.is_some_and(|s| s.blocked);
    if let Some(by) = facts.block.or(blocked_in_cache.then_some(BlockHit::Code)) {
        found.push(Finding::Blocked { by });
    }
    match facts.status {
        None if kind.has_ki() => found.push(Finding::UnknownCode),
        None => {}
        Some(status) => status_findings(status, context, &mut found),
    }
    if let (Some(expected), Some(found_group)) = (context.product_group, group)
        && expected != found_group
    {
        found.push(Finding::WrongProductGroup {
            expected,
            found: found_group,
        });
    }
    if let Some(expiry) = expiry(code, facts.status)
        && now >= expiry.at
    {
        found.push(Finding::Expired { on: expiry.on });
    }
    let age_hours = facts
        .last_sync
        .map(|t| (now.millis() - t.millis()).div_euclid(3_600_000));
    if age_hours.is_none_or(|h| h >= policy.max_cache_age_hours) {
        found.push(Finding::StaleCache { hours: age_hours });
    }

    weigh(found, context, policy)
}

/// A bare КИ whose serial has not the length of its product group (the catalogue's, the
/// replica's or the document's), or, with no group known, a length no group uses.
fn serial_length_finding(code: &MarkingCode, group: Option<ProductGroup>) -> Option<Finding> {
    let length = code.serial().map_or(0, str::len);
    let expected = group.and_then(crate::code::serial_length);
    let wrong = match group.and_then(|g| code.serial_fits(g)) {
        Some(fits) => !fits,
        None => code.is_possibly_truncated(),
    };
    wrong.then_some(Finding::SerialLength {
        length: length as u8,
        expected: expected.map(|e| e as u8),
    })
}

/// A box or pallet label (SSCC) judged by what GIS MT says of it, as a unit is: its status,
/// extended status and owner. A label GIS MT does not know yet is a box built here or not yet
/// declared, and passes; a label on a pallet (`parent`) is no fault of the box.
pub fn validate_label(status: Option<&CodeStatus>, context: &Context, policy: &Policy) -> Verdict {
    let mut found = Vec::new();
    if let Some(status) = status {
        status_findings(status, context, &mut found);
        found.retain(|f| *f != Finding::InAggregate);
    }
    weigh(found, context, policy)
}

fn weigh(found: Vec<Finding>, context: &Context, policy: &Policy) -> Verdict {
    let mut findings: Vec<(Finding, Severity)> = found
        .into_iter()
        .map(|f| (f, policy.severity(context.operation, &f)))
        .filter(|(_, s)| *s != Severity::Ignore)
        .collect();
    // Weightiest first; among equals, the order found (most specific checks come first).
    findings.sort_by_key(|(_, s)| std::cmp::Reverse(*s));
    let outcome = match findings.first().map(|(_, s)| *s) {
        Some(Severity::Reject) => Outcome::Reject,
        Some(Severity::Warn) => Outcome::Warn,
        _ => Outcome::Accept,
    };
    Verdict { outcome, findings }
}

fn status_findings(status: &CodeStatus, context: &Context, found: &mut Vec<Finding>) {
    use CisStatus as S;
    // A customer return exists to bring a sold (retired) code back: that one state is its
    // precondition, and every other one, in circulation or out of it otherwise, is wrong.
    if context.operation == OperationKind::Return {
        if status.status != S::Retired {
            found.push(Finding::WrongStatus {
                status: status.status,
            });
        }
    } else if matches!(status.status, S::WrittenOff | S::Retired | S::Withdrawn) {
        found.push(Finding::OutOfCirculation {
            status: status.status,
        });
    } else {
        let allowed = match context.operation {
            OperationKind::Acceptance => {
                matches!(status.status, S::Introduced | S::IntroducedReturned)
            }
            OperationKind::Aggregation => matches!(status.status, S::Applied | S::Introduced),
            OperationKind::WriteOff => matches!(
                status.status,
                S::Emitted | S::Applied | S::Introduced | S::IntroducedReturned | S::AppliedNotPaid
            ),
            OperationKind::Info => true,
            // Only goods in circulation leave the warehouse.
            OperationKind::Shipment => {
                matches!(status.status, S::Introduced | S::IntroducedReturned)
            }
            OperationKind::Return | OperationKind::Inventory => true,
        };
        if !allowed {
            found.push(Finding::WrongStatus {
                status: status.status,
            });
        }
    }
    // Tobacco answers carry no statusEx; the import reads that as EMPTY, which allows all.
    match status_ex::rule(status.status_ex, context.operation) {
        status_ex::Rule::Allows => {}
        status_ex::Rule::Forbids => found.push(Finding::StatusEx {
            status_ex: status.status_ex,
        }),
        status_ex::Rule::Unknown => found.push(Finding::UnknownStatusEx),
    }
    match (context.operation, status.owner) {
        (OperationKind::Acceptance, Some(owner)) => {
            if Some(owner) == context.own_inn {
                found.push(Finding::AlreadyOurs);
            } else if context.supplier_inn.is_some_and(|s| s != owner) {
                found.push(Finding::ForeignOwner);
            }
        }
        // The supplier is the shipment document's (supplier_inn), and an owner we are not is
        // not told to us: an ownerless code is what a delivery looks like.
        (OperationKind::Acceptance, None) => {}
        (
            OperationKind::Aggregation
            | OperationKind::WriteOff
            | OperationKind::Shipment
            | OperationKind::Return,
            Some(owner),
        ) => {
            if context.own_inn.is_some_and(|own| own != owner) {
                found.push(Finding::ForeignOwner);
            }
        }
        // `ownerInn` comes back only to the owner (marking-codes.md §5): without one, the
        // code is someone else's. Without our own INN there is nothing to compare.
        (
            OperationKind::Aggregation
            | OperationKind::WriteOff
            | OperationKind::Shipment
            | OperationKind::Return,
            None,
        ) => {
            if context.own_inn.is_some() {
                found.push(Finding::NotOurs);
            }
        }
        (OperationKind::Info | OperationKind::Inventory, _) => {}
    }
    if status.parent.is_some() {
        found.push(Finding::InAggregate);
    }
}

#[cfg(test)]
mod tests;
