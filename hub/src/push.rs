//! Pushed operations judged again on the hub, against its authoritative status list, and
//! applied at most once each.
//!
//! Terminals judge offline against a replica that may be hours old, so two of them can both
//! write off, box or accept the same code. The hub is where that is settled: it runs the same
//! `tally_domain::validate` rules against its own list, in arrival order, inside one transaction
//! per push, and every accepted operation moves the list on (and the change log with it) before
//! the next operation is judged. An operation is all or nothing: one refused code refuses the
//! document, as GIS MT would. An accepted operation's GIS MT documents are made in the same
//! step, from the list as it stood before the operation changed it (`documents::make`).

use std::collections::HashSet;

use tally_domain::code::{Ki, ParseOptions, parse};
use tally_domain::lang::Lang;
use tally_domain::reason::Reason;
use tally_domain::status::{Inn, Timestamp};
use tally_domain::validate::{
    Context, Expectation, Facts, OperationKind, Policy, Severity, Verdict, validate, validate_label,
};
use tally_wire::document::{OperationDocument, PackedChild, ReaggregationType};
use tally_wire::{OperationAnswer, OperationReason, PushRequest, PushResult};

use crate::documents::{self, Made, reason};
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
        let judged = match &operation.document {
            Ok(document) => judge(
                &batch,
                device,
                document,
                Timestamp(operation.finished_at),
                policy,
                now,
            )?,
            Err(unreadable) => Err(vec![reason(
                "bad_payload",
                format!(
                    "The {} document is not in the expected form: {}.",
                    unreadable.kind, unreadable.error
                ),
                format!(
                    "Документ «{}» имеет неверный формат: {}.",
                    unreadable.kind, unreadable.error
                ),
                None,
            )]),
        };
        let (answer, made) = match judged {
            Ok((changes, made)) => {
                for (ki, change) in changes {
                    batch.change_status(&ki, change)?;
                }
                if let Ok(OperationDocument::Aggregation(d)) = &operation.document {
                    for aggregate in &d.aggregates {
                        batch.claim_label(&aggregate.sscc, device)?;
                    }
                }
                let answer = OperationAnswer {
                    uuid: operation.uuid.clone(),
                    result: PushResult::Accepted,
                    original: None,
                    reasons: Vec::new(),
                    notices: made.notices.clone(),
                };
                (answer, Some(made))
            }
            Err(reasons) => (
                OperationAnswer {
                    uuid: operation.uuid.clone(),
                    result: PushResult::Rejected,
                    original: None,
                    reasons,
                    notices: Vec::new(),
                },
                None,
            ),
        };
        batch.record(device, operation, &answer, made.as_ref(), now)?;
        answers.push(answer);
    }
    batch.commit()?;
    Ok(answers)
}

type Changes<'a> = Vec<(Ki, StatusChange<'a>)>;

/// What an accepted operation changes and the documents it makes, or every reason it is
/// refused.
fn judge<'d>(
    batch: &PushBatch<'_>,
    device: &'d Device,
    document: &OperationDocument,
    finished_at: Timestamp,
    policy: &Policy,
    now: Timestamp,
) -> Result<Result<(Changes<'d>, Made), Vec<OperationReason>>, StoreError> {
    let own = device.participant_inn.as_str();
    let mut reasons = Vec::new();
    let mut changes = Changes::new();
    // A code twice in one document would otherwise pass both times: the list changes only
    // after the whole document is judged.
    let mut seen = HashSet::new();
    let mut check = |operation: OperationKind,
                     ki: &Ki,
                     change: StatusChange<'d>,
                     reasons: &mut Vec<OperationReason>|
     -> Result<(), StoreError> {
        match judge_code(batch, own, operation, ki, &mut seen, policy, now)? {
            Ok(()) => changes.push((*ki, change)),
            Err(mut refused) => reasons.append(&mut refused),
        }
        Ok(())
    };
    match document {
        OperationDocument::Acceptance(d) => {
            // A surplus unit was never shipped to us: it is no part of the shipment's
            // document and does not change hands with it.
            let surplus: HashSet<&Ki> = d.surplus.iter().collect();
            let refused: HashSet<&Ki> = d.rejected.iter().collect();
            for ki in d
                .accepted
                .iter()
                .filter(|ki| !surplus.contains(ki) && !refused.contains(ki))
            {
                check(
                    OperationKind::Acceptance,
                    ki,
                    StatusChange::Owner(device.participant_inn.as_str()),
                    &mut reasons,
                )?;
            }
        }
        OperationDocument::Aggregation(d) => {
            for aggregate in &d.aggregates {
                // Each terminal prints labels from its own serial range; the same label from
                // two devices is two boxes under one SSCC, which GIS MT cannot tell apart.
                if batch
                    .label_device(&aggregate.sscc)?
                    .is_some_and(|id| id != device.id)
                {
                    reasons.push(reason(
                        "label_of_another_device",
                        "Another terminal already built a box under this label: print a new \
                         label."
                            .into(),
                        "Другой терминал уже сформировал короб с этой этикеткой: напечатайте \
                         новую этикетку."
                            .into(),
                        Some(aggregate.sscc.to_string()),
                    ));
                }
                for child in &aggregate.children {
                    if let PackedChild::Unit(ki) = child {
                        check(
                            OperationKind::Aggregation,
                            ki,
                            StatusChange::Parent(Some(aggregate.sscc)),
                            &mut reasons,
                        )?;
                    }
                }
            }
        }
        OperationDocument::Disaggregation(d) => {
            for sscc in &d.labels {
                // A label GIS MT knows is judged like a unit: ours, in circulation.
                let label = batch.label_status(sscc)?;
                let context = Context {
                    operation: OperationKind::Aggregation,
                    own_inn: Inn::parse(own),
                    supplier_inn: None,
                    product_group: None,
                };
                let verdict = validate_label(label.as_ref(), &context, policy);
                reasons.extend(refusals(&verdict, &sscc.to_string()));
                changes.extend(
                    batch
                        .children_of(sscc)?
                        .into_iter()
                        .map(|ki| (ki, StatusChange::Parent(None))),
                );
            }
        }
        OperationDocument::Reaggregation(d) => match d.reaggregation_type {
            ReaggregationType::Adding => {
                for ki in &d.units {
                    check(
                        OperationKind::Aggregation,
                        ki,
                        StatusChange::Parent(Some(d.sscc)),
                        &mut reasons,
                    )?;
                }
            }
            ReaggregationType::Removing => {
                let inside: HashSet<Ki> = batch.children_of(&d.sscc)?.into_iter().collect();
                for ki in &d.units {
                    if inside.contains(ki) {
                        changes.push((*ki, StatusChange::Parent(None)));
                    } else {
                        reasons.push(reason(
                            "not_in_box",
                            "The unit is not in this box, so it cannot be taken out of it.".into(),
                            "Единицы нет в этом коробе, её нельзя из него изъять.".into(),
                            Some(ki.to_string()),
                        ));
                    }
                }
            }
        },
        OperationDocument::WriteOff(d) => {
            for ki in &d.codes {
                check(
                    OperationKind::WriteOff,
                    ki,
                    StatusChange::WrittenOff,
                    &mut reasons,
                )?;
            }
        }
    }
    if !reasons.is_empty() {
        return Ok(Err(reasons));
    }
    let Some(participant) = Inn::parse(own) else {
        return Ok(Err(vec![reason(
            "bad_participant",
            "The device's participant INN is not valid.".into(),
            "ИНН участника устройства некорректен.".into(),
            None,
        )]));
    };
    Ok(documents::make(document, &participant, finished_at, batch)?.map(|made| (changes, made)))
}

/// One code of a document judged as the terminal would, but against the hub's list. Warnings
/// were confirmed by the operator at the terminal; only what the policy rejects refuses.
fn judge_code(
    batch: &PushBatch<'_>,
    own: &str,
    operation: OperationKind,
    ki: &Ki,
    seen: &mut HashSet<Ki>,
    policy: &Policy,
    now: Timestamp,
) -> Result<Result<(), Vec<OperationReason>>, StoreError> {
    let Ok(code) = parse(ki.to_string().as_bytes(), &ParseOptions::default()) else {
        return Ok(Err(vec![reason(
            "bad_code",
            "The document holds text that is not a marking code.".into(),
            "В документе есть текст, не являющийся кодом маркировки.".into(),
            Some(ki.to_string()),
        )]));
    };
    let status = batch.status(ki)?;
    let facts = Facts {
        status: status.as_ref(),
        block: batch.block_hit(ki)?,
        catalog_group: None,
        // The hub's list is the source of truth, never stale from its own point of view.
        last_sync: Some(now),
        duplicate_in_document: !seen.insert(*ki),
        expectation: Expectation::NoList,
    };
    let context = Context {
        operation,
        own_inn: Inn::parse(own),
        supplier_inn: None,
        product_group: None,
    };
    let verdict = validate(&code, &facts, &context, policy, now);
    let reasons = refusals(&verdict, &ki.to_string());
    Ok(if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    })
}

/// What a verdict refuses, as reasons about `subject`. Warnings were the operator's to
/// confirm at the terminal; only what the policy rejects refuses at the hub.
fn refusals(verdict: &Verdict, subject: &str) -> Vec<OperationReason> {
    verdict
        .findings
        .iter()
        .filter(|(_, severity)| *severity == Severity::Reject)
        .map(|(finding, _)| {
            reason(
                finding.code(),
                finding.message(Lang::En),
                finding.message(Lang::Ru),
                Some(subject.to_owned()),
            )
        })
        .collect()
}
