//! Pushed operations judged again on the hub, against its authoritative status list, and
//! applied at most once each.
//!
//! Terminals judge offline against a replica that may be hours old, so two of them can both
//! write off, box or accept the same code. The hub is where that is settled: it runs the same
//! `tally_domain::validate` rules against its own list, in arrival order, inside one transaction
//! per push, and every accepted operation moves the list on (and the change log with it) before
//! the next operation is judged. An operation is all or nothing: one refused code refuses the
//! document, as GIS MT would.

use std::collections::HashSet;

use serde::Deserialize;
use tally_domain::code::{Ki, ParseOptions, parse};
use tally_domain::gs1::Sscc;
use tally_domain::lang::Lang;
use tally_domain::reason::Reason;
use tally_domain::status::{Inn, Timestamp};
use tally_domain::validate::{
    Context, Expectation, Facts, OperationKind, Policy, Severity, validate,
};
use tally_sync::wire::{OperationAnswer, OperationReason, PushRequest, PushResult};

use crate::store::{Device, PushBatch, StatusChange, Store, StoreError};

/// The terminal's rules with one change: a code the hub already holds as ours was accepted by
/// an earlier operation (from this or another terminal), so a second acceptance is refused
/// rather than merely warned about.
pub fn hub_policy() -> Policy {
    let mut policy = Policy::default();
    policy.set(OperationKind::Acceptance, "already_ours", Severity::Reject);
    policy
}

/// Applies one push in one transaction and answers each operation in order.
pub fn apply(
    store: &mut Store,
    device: &Device,
    request: &PushRequest,
    policy: &Policy,
    now: Timestamp,
) -> Result<Vec<OperationAnswer>, StoreError> {
    let batch = store.push_batch()?;
    batch.report_device(device, &request.device)?;
    let mut answers = Vec::with_capacity(request.operations.len());
    for operation in &request.operations {
        if let Some(first) = batch.stored_answer(&operation.uuid)? {
            answers.push(OperationAnswer {
                result: PushResult::Duplicate,
                original: Some(first.result),
                ..first
            });
            continue;
        }
        let judged = judge(
            &batch,
            device,
            &operation.kind,
            &operation.payload,
            policy,
            now,
        )?;
        let answer = match judged {
            Ok(changes) => {
                for (ki, change) in changes {
                    batch.change_status(&ki, change)?;
                }
                OperationAnswer {
                    uuid: operation.uuid.clone(),
                    result: PushResult::Accepted,
                    original: None,
                    reasons: Vec::new(),
                }
            }
            Err(reasons) => OperationAnswer {
                uuid: operation.uuid.clone(),
                result: PushResult::Rejected,
                original: None,
                reasons,
            },
        };
        batch.record(device, operation, &answer, now)?;
        answers.push(answer);
    }
    batch.commit()?;
    Ok(answers)
}

#[derive(Deserialize)]
struct AcceptancePayload {
    accepted: Vec<String>,
}

#[derive(Deserialize)]
struct AggregationPayload {
    aggregates: Vec<Aggregate>,
}

#[derive(Deserialize)]
struct Aggregate {
    sscc: String,
    children: Vec<AggregateChild>,
}

#[derive(Deserialize)]
struct AggregateChild {
    unit: Option<String>,
}

#[derive(Deserialize)]
struct DisaggregationPayload {
    labels: Vec<String>,
}

#[derive(Deserialize)]
struct WriteOffPayload {
    codes: Vec<String>,
}

type Changes<'a> = Vec<(Ki, StatusChange<'a>)>;

fn reason(code: &str, en: String, ru: String, subject: Option<String>) -> OperationReason {
    OperationReason {
        code: code.into(),
        en,
        ru,
        subject,
    }
}

fn bad_payload(kind: &str, error: &serde_json::Error) -> OperationReason {
    reason(
        "bad_payload",
        format!("The {kind} document is not in the expected form: {error}."),
        format!("Документ «{kind}» имеет неверный формат: {error}."),
        None,
    )
}

fn parse_payload<T: for<'de> Deserialize<'de>>(
    kind: &str,
    payload: &serde_json::Value,
) -> Result<T, Vec<OperationReason>> {
    T::deserialize(payload).map_err(|e| vec![bad_payload(kind, &e)])
}

fn sscc_of(text: &str) -> Option<Sscc> {
    let digits = text
        .strip_prefix("00")
        .filter(|d| d.len() == 18)
        .unwrap_or(text);
    Sscc::from_digits(digits.as_bytes())
}

/// What an accepted operation changes, or every reason it is refused.
fn judge<'d>(
    batch: &PushBatch<'_>,
    device: &'d Device,
    kind: &str,
    payload: &serde_json::Value,
    policy: &Policy,
    now: Timestamp,
) -> Result<Result<Changes<'d>, Vec<OperationReason>>, StoreError> {
    let own = device.participant_inn.as_str();
    let mut reasons = Vec::new();
    let mut changes = Changes::new();
    // A code twice in one document would otherwise pass both times: the list changes only
    // after the whole document is judged.
    let mut seen = HashSet::new();
    let mut check = |operation: OperationKind,
                     cis: &str,
                     change: StatusChange<'d>,
                     reasons: &mut Vec<OperationReason>|
     -> Result<(), StoreError> {
        match judge_code(batch, own, operation, cis, &mut seen, policy, now)? {
            Ok(ki) => changes.push((ki, change)),
            Err(mut refused) => reasons.append(&mut refused),
        }
        Ok(())
    };
    match kind {
        "acceptance" => {
            let payload: AcceptancePayload = match parse_payload(kind, payload) {
                Ok(p) => p,
                Err(r) => return Ok(Err(r)),
            };
            for cis in &payload.accepted {
                check(
                    OperationKind::Acceptance,
                    cis,
                    StatusChange::Owner(device.participant_inn.as_str()),
                    &mut reasons,
                )?;
            }
        }
        "aggregation" => {
            let payload: AggregationPayload = match parse_payload(kind, payload) {
                Ok(p) => p,
                Err(r) => return Ok(Err(r)),
            };
            for aggregate in &payload.aggregates {
                let Some(sscc) = sscc_of(&aggregate.sscc) else {
                    reasons.push(reason(
                        "bad_sscc",
                        "The box label is not a valid SSCC.".into(),
                        "Этикетка короба не является корректным SSCC.".into(),
                        Some(aggregate.sscc.clone()),
                    ));
                    continue;
                };
                for unit in aggregate.children.iter().filter_map(|c| c.unit.as_deref()) {
                    check(
                        OperationKind::Aggregation,
                        unit,
                        StatusChange::Parent(Some(sscc)),
                        &mut reasons,
                    )?;
                }
            }
        }
        "disaggregation" => {
            let payload: DisaggregationPayload = match parse_payload(kind, payload) {
                Ok(p) => p,
                Err(r) => return Ok(Err(r)),
            };
            for label in &payload.labels {
                match sscc_of(label) {
                    Some(sscc) => changes.extend(
                        batch
                            .children_of(&sscc)?
                            .into_iter()
                            .map(|ki| (ki, StatusChange::Parent(None))),
                    ),
                    None => reasons.push(reason(
                        "bad_sscc",
                        "The box label is not a valid SSCC.".into(),
                        "Этикетка короба не является корректным SSCC.".into(),
                        Some(label.clone()),
                    )),
                }
            }
        }
        "write-off" => {
            let payload: WriteOffPayload = match parse_payload(kind, payload) {
                Ok(p) => p,
                Err(r) => return Ok(Err(r)),
            };
            for cis in &payload.codes {
                check(
                    OperationKind::WriteOff,
                    cis,
                    StatusChange::WrittenOff,
                    &mut reasons,
                )?;
            }
        }
        other => reasons.push(reason(
            "unknown_kind",
            format!("The hub does not know the operation kind \"{other}\"."),
            format!("Хаб не знает вид операции «{other}»."),
            None,
        )),
    }
    Ok(if reasons.is_empty() {
        Ok(changes)
    } else {
        Err(reasons)
    })
}

/// One code of a document judged as the terminal would, but against the hub's list. Warnings
/// were confirmed by the operator at the terminal; only what the policy rejects refuses.
fn judge_code(
    batch: &PushBatch<'_>,
    own: &str,
    operation: OperationKind,
    cis: &str,
    seen: &mut HashSet<Ki>,
    policy: &Policy,
    now: Timestamp,
) -> Result<Result<Ki, Vec<OperationReason>>, StoreError> {
    let bad_code = || {
        vec![reason(
            "bad_code",
            "The document holds text that is not a marking code.".into(),
            "В документе есть текст, не являющийся кодом маркировки.".into(),
            Some(cis.to_owned()),
        )]
    };
    let Some(ki) = Ki::from_cis(cis) else {
        return Ok(Err(bad_code()));
    };
    let Ok(code) = parse(ki.to_string().as_bytes(), &ParseOptions::default()) else {
        return Ok(Err(bad_code()));
    };
    let status = batch.status(&ki)?;
    let facts = Facts {
        status: status.as_ref(),
        block: batch.block_hit(&ki)?,
        catalog_group: None,
        // The hub's list is the source of truth, never stale from its own point of view.
        last_sync: Some(now),
        duplicate_in_document: !seen.insert(ki),
        expectation: Expectation::NoList,
    };
    let context = Context {
        operation,
        own_inn: Inn::parse(own),
        supplier_inn: None,
        product_group: None,
    };
    let verdict = validate(&code, &facts, &context, policy, now);
    let reasons: Vec<OperationReason> = verdict
        .findings
        .iter()
        .filter(|(_, severity)| *severity == Severity::Reject)
        .map(|(finding, _)| {
            reason(
                finding.code(),
                finding.message(Lang::En),
                finding.message(Lang::Ru),
                Some(ki.to_string()),
            )
        })
        .collect();
    Ok(if reasons.is_empty() {
        Ok(ki)
    } else {
        Err(reasons)
    })
}
