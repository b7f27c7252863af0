//! Write-off: codes taken out of circulation for a reason, under a document, optionally
//! confirmed by a supervisor.
//!
//! A code reason (spoiled, lost, destroyed) on goods in circulation is re-marking: the goods
//! stay and the damaged label is replaced by a new code, scanned right after the old one
//! (`WriteOffEvent::Remark` then `WriteOffEvent::Replacement`).

use std::fmt;

use super::Refusal;
use crate::code::Ki;
use crate::gs1::Gs1Date;
use crate::status::CisStatus;

/// Why goods or codes are written off, as GIS MT names the reasons.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum WriteOffReason {
    /// Goods damaged or lost (`LK_RECEIPT` action `DAMAGE_LOSS`).
    DamageLoss,
    /// Goods destroyed (`DESTRUCTION`).
    Destruction,
    /// Expired goods, destroyed (`DESTRUCTION` in GIS MT; kept apart for the books).
    Expiry,
    Confiscation,
    Liquidation,
    EnterpriseUse,
    Donation,
    Other,
    /// The printed code spoiled before it was applied (`LK_KM_CANCELLATION`, `KM_SPOILED`).
    CodeSpoiled,
    /// The printed code lost (`KM_LOST`).
    CodeLost,
    /// The printed code destroyed (`KM_DESTROYED`).
    CodeDestroyed,
}

impl WriteOffReason {
    pub const ALL: [WriteOffReason; 11] = [
        WriteOffReason::DamageLoss,
        WriteOffReason::Destruction,
        WriteOffReason::Expiry,
        WriteOffReason::Confiscation,
        WriteOffReason::Liquidation,
        WriteOffReason::EnterpriseUse,
        WriteOffReason::Donation,
        WriteOffReason::Other,
        WriteOffReason::CodeSpoiled,
        WriteOffReason::CodeLost,
        WriteOffReason::CodeDestroyed,
    ];

    /// A stable name for storage and the wire.
    pub fn code(self) -> &'static str {
        match self {
            WriteOffReason::DamageLoss => "damage_loss",
            WriteOffReason::Destruction => "destruction",
            WriteOffReason::Expiry => "expiry",
            WriteOffReason::Confiscation => "confiscation",
            WriteOffReason::Liquidation => "liquidation",
            WriteOffReason::EnterpriseUse => "enterprise_use",
            WriteOffReason::Donation => "donation",
            WriteOffReason::Other => "other",
            WriteOffReason::CodeSpoiled => "code_spoiled",
            WriteOffReason::CodeLost => "code_lost",
            WriteOffReason::CodeDestroyed => "code_destroyed",
        }
    }

    pub fn from_code(code: &str) -> Option<WriteOffReason> {
        WriteOffReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// A reason about the printed code, not the goods: on goods in circulation it means a new
    /// label (re-marking), not a withdrawal.
    pub fn is_code_reason(self) -> bool {
        matches!(
            self,
            WriteOffReason::CodeSpoiled | WriteOffReason::CodeLost | WriteOffReason::CodeDestroyed
        )
    }

    /// The GIS MT document type and reason value the hub will submit.
    pub fn gis_mt(self) -> (&'static str, &'static str) {
        match self {
            WriteOffReason::DamageLoss => ("LK_RECEIPT", "DAMAGE_LOSS"),
            WriteOffReason::Destruction | WriteOffReason::Expiry => ("LK_RECEIPT", "DESTRUCTION"),
            WriteOffReason::Confiscation => ("LK_RECEIPT", "CONFISCATION"),
            WriteOffReason::Liquidation => ("LK_RECEIPT", "LIQUIDATION"),
            WriteOffReason::EnterpriseUse => ("LK_RECEIPT", "ENTERPRISE_USE"),
            WriteOffReason::Donation => ("LK_RECEIPT", "DONATION"),
            WriteOffReason::Other => ("LK_RECEIPT", "OTHER"),
            WriteOffReason::CodeSpoiled => ("LK_KM_CANCELLATION", "KM_SPOILED"),
            WriteOffReason::CodeLost => ("LK_KM_CANCELLATION", "KM_LOST"),
            WriteOffReason::CodeDestroyed => ("LK_KM_CANCELLATION", "KM_DESTROYED"),
        }
    }

    /// The name staff read, in `lang`.
    pub fn name(self, lang: crate::Lang) -> &'static str {
        match lang {
            crate::Lang::En => self.name_en(),
            crate::Lang::Ru => self.name_ru(),
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            WriteOffReason::DamageLoss => "Damage or loss",
            WriteOffReason::Destruction => "Destruction",
            WriteOffReason::Expiry => "Expired",
            WriteOffReason::Confiscation => "Confiscation",
            WriteOffReason::Liquidation => "Liquidation",
            WriteOffReason::EnterpriseUse => "Own use",
            WriteOffReason::Donation => "Donation",
            WriteOffReason::Other => "Other",
            WriteOffReason::CodeSpoiled => "Code spoiled",
            WriteOffReason::CodeLost => "Code lost",
            WriteOffReason::CodeDestroyed => "Code destroyed",
        }
    }

    pub fn name_ru(self) -> &'static str {
        match self {
            WriteOffReason::DamageLoss => "Порча или утрата",
            WriteOffReason::Destruction => "Уничтожение",
            WriteOffReason::Expiry => "Истёк срок годности",
            WriteOffReason::Confiscation => "Конфискация",
            WriteOffReason::Liquidation => "Ликвидация",
            WriteOffReason::EnterpriseUse => "Использование для собственных нужд",
            WriteOffReason::Donation => "Безвозмездная передача",
            WriteOffReason::Other => "Прочее",
            WriteOffReason::CodeSpoiled => "Код испорчен",
            WriteOffReason::CodeLost => "Код утерян",
            WriteOffReason::CodeDestroyed => "Код уничтожен",
        }
    }
}

impl fmt::Display for WriteOffReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What the operator states before scanning.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WriteOffHeader {
    pub reason: WriteOffReason,
    pub document_number: String,
    pub document_date: Gs1Date,
    /// Policy: a supervisor must confirm before the write-off is finished.
    pub needs_supervisor: bool,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum WriteOffEvent {
    Unit(Ki),
    /// A code in circulation under a code reason: its goods stay and get a new label, whose
    /// code is the next event.
    Remark(Ki),
    /// The new code for the goods of `old`, with the status the replica gave it at scan time
    /// (so a replay decides the same way).
    Replacement {
        old: Ki,
        new: Ki,
        status: Option<CisStatus>,
    },
    /// A supervisor confirmed the write-off (their operator id).
    Confirmed {
        supervisor: String,
    },
}

/// A write-off in progress.
#[derive(Clone, Debug)]
pub struct WriteOff {
    header: WriteOffHeader,
    events: Vec<WriteOffEvent>,
}

/// The finished document.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WriteOffSummary {
    pub header: WriteOffHeader,
    /// Every code written off, the re-marked ones among them.
    pub codes: Vec<Ki>,
    /// (old, new) for each re-marked code, in scan order.
    pub replacements: Vec<(Ki, Ki)>,
    pub supervisor: Option<String>,
}

impl WriteOff {
    pub fn new(header: WriteOffHeader) -> WriteOff {
        WriteOff {
            header,
            events: Vec::new(),
        }
    }

    pub fn replay(header: WriteOffHeader, events: &[WriteOffEvent]) -> Result<WriteOff, Refusal> {
        let mut w = WriteOff::new(header);
        for event in events {
            w.apply(event.clone())?;
        }
        Ok(w)
    }

    pub fn header(&self) -> &WriteOffHeader {
        &self.header
    }

    pub fn events(&self) -> &[WriteOffEvent] {
        &self.events
    }

    /// Whether the document holds this code: written off, re-marked or as a new code.
    pub fn contains(&self, ki: &Ki) -> bool {
        self.events.iter().any(|e| match e {
            WriteOffEvent::Unit(k) | WriteOffEvent::Remark(k) => k == ki,
            WriteOffEvent::Replacement { new, .. } => new == ki,
            WriteOffEvent::Confirmed { .. } => false,
        })
    }

    /// Every code written off, the re-marked ones among them.
    pub fn codes(&self) -> impl Iterator<Item = &Ki> {
        self.events.iter().filter_map(|e| match e {
            WriteOffEvent::Unit(ki) | WriteOffEvent::Remark(ki) => Some(ki),
            WriteOffEvent::Replacement { .. } | WriteOffEvent::Confirmed { .. } => None,
        })
    }

    /// (old, new) for each re-marked code that has its new code.
    pub fn replacements(&self) -> impl Iterator<Item = (Ki, Ki)> + '_ {
        self.events.iter().filter_map(|e| match e {
            WriteOffEvent::Replacement { old, new, .. } => Some((*old, *new)),
            _ => None,
        })
    }

    /// The re-marked code whose new code the next scan must be.
    pub fn awaiting_replacement(&self) -> Option<Ki> {
        match self.events.last() {
            Some(WriteOffEvent::Remark(old)) => Some(*old),
            _ => None,
        }
    }

    fn supervisor(&self) -> Option<&str> {
        self.events.iter().rev().find_map(|e| match e {
            WriteOffEvent::Confirmed { supervisor } => Some(supervisor.as_str()),
            _ => None,
        })
    }

    pub fn apply(&mut self, event: WriteOffEvent) -> Result<(), Refusal> {
        let awaiting = self.awaiting_replacement();
        // The new label's code comes right after the old one: nothing else in between.
        if let Some(old) = awaiting
            && !matches!(event, WriteOffEvent::Replacement { .. })
        {
            return Err(Refusal::AwaitingReplacement { old });
        }
        match &event {
            WriteOffEvent::Replacement { old, new, status } => {
                if awaiting != Some(*old) {
                    return Err(match awaiting {
                        Some(old) => Refusal::AwaitingReplacement { old },
                        None => Refusal::NothingToReplace,
                    });
                }
                if new == old || self.contains(new) {
                    return Err(Refusal::Duplicate);
                }
                if new.gtin() != old.gtin() {
                    return Err(Refusal::OtherProduct { gtin: old.gtin() });
                }
                // A fresh code is emitted or applied, or not in the replica yet; one in
                // circulation or already out of it marks someone's goods.
                if let Some(status) = *status
                    && !matches!(
                        status,
                        CisStatus::Emitted | CisStatus::Applied | CisStatus::AppliedNotPaid
                    )
                {
                    return Err(Refusal::NotANewCode { status });
                }
            }
            WriteOffEvent::Unit(ki) | WriteOffEvent::Remark(ki) if self.contains(ki) => {
                return Err(Refusal::Duplicate);
            }
            WriteOffEvent::Remark(_) if !self.header.reason.is_code_reason() => {
                return Err(Refusal::NoRemarking);
            }
            WriteOffEvent::Confirmed { .. } if self.codes().next().is_none() => {
                return Err(Refusal::Empty);
            }
            _ => {}
        }
        self.events.push(event);
        Ok(())
    }

    pub fn undo(&mut self) -> Result<WriteOffEvent, Refusal> {
        self.events.pop().ok_or(Refusal::NothingToUndo)
    }

    /// The document, once it may be finished: not empty, and confirmed when policy asks.
    /// A code scanned after the confirmation needs confirming again.
    pub fn summary(&self) -> Result<WriteOffSummary, Refusal> {
        if self.codes().next().is_none() {
            return Err(Refusal::Empty);
        }
        if let Some(old) = self.awaiting_replacement() {
            return Err(Refusal::AwaitingReplacement { old });
        }
        let confirmed_last = matches!(self.events.last(), Some(WriteOffEvent::Confirmed { .. }));
        if self.header.needs_supervisor && !confirmed_last {
            return Err(Refusal::SupervisorRequired);
        }
        Ok(WriteOffSummary {
            header: self.header.clone(),
            codes: self.codes().copied().collect(),
            replacements: self.replacements().collect(),
            supervisor: self.supervisor().map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gs1::Gtin;

    fn ki(serial: &str) -> Ki {
        Ki::new(
            Gtin::from_digits(b"04690257528523").unwrap(),
            serial.as_bytes(),
        )
        .unwrap()
    }

    fn header(needs_supervisor: bool) -> WriteOffHeader {
        WriteOffHeader {
            reason: WriteOffReason::DamageLoss,
            document_number: "АКТ-5".into(),
            document_date: Gs1Date {
                year: 2026,
                month: 11,
                day: 22,
            },
            needs_supervisor,
        }
    }

    #[test]
    fn reasons_map_to_gis_mt_documents() {
        for r in WriteOffReason::ALL {
            assert_eq!(WriteOffReason::from_code(r.code()), Some(r));
            let (doc, _) = r.gis_mt();
            assert!(doc == "LK_RECEIPT" || doc == "LK_KM_CANCELLATION");
        }
        assert_eq!(
            WriteOffReason::CodeSpoiled.gis_mt(),
            ("LK_KM_CANCELLATION", "KM_SPOILED")
        );
    }

    #[test]
    fn supervisor_confirmation_when_policy_asks() {
        let mut w = WriteOff::new(header(true));
        assert_eq!(w.summary(), Err(Refusal::Empty));
        assert_eq!(
            w.apply(WriteOffEvent::Confirmed {
                supervisor: "S1".into()
            }),
            Err(Refusal::Empty)
        );
        w.apply(WriteOffEvent::Unit(ki("A"))).unwrap();
        assert_eq!(
            w.apply(WriteOffEvent::Unit(ki("A"))),
            Err(Refusal::Duplicate)
        );
        assert_eq!(w.summary(), Err(Refusal::SupervisorRequired));
        w.apply(WriteOffEvent::Confirmed {
            supervisor: "S1".into(),
        })
        .unwrap();
        assert_eq!(w.summary().unwrap().supervisor.as_deref(), Some("S1"));
        w.apply(WriteOffEvent::Unit(ki("B"))).unwrap();
        assert_eq!(w.summary(), Err(Refusal::SupervisorRequired));
        assert_eq!(w.undo(), Ok(WriteOffEvent::Unit(ki("B"))));
        let summary = w.summary().unwrap();
        assert_eq!(summary.codes, vec![ki("A")]);
        let replayed = WriteOff::replay(header(true), w.events()).unwrap();
        assert_eq!(replayed.summary(), Ok(summary));
    }

    fn code_reason() -> WriteOffHeader {
        WriteOffHeader {
            reason: WriteOffReason::CodeSpoiled,
            ..header(false)
        }
    }

    fn replacement(old: &str, new: Ki, status: Option<CisStatus>) -> WriteOffEvent {
        WriteOffEvent::Replacement {
            old: ki(old),
            new,
            status,
        }
    }

    #[test]
    fn a_spoiled_label_on_goods_in_circulation_gets_its_new_code() {
        let other_product = Ki::new(Gtin::from_digits(b"04600840749372").unwrap(), b"N9").unwrap();
        let mut w = WriteOff::new(code_reason());
        let steps: Vec<(WriteOffEvent, Result<(), Refusal>)> = vec![
            (
                replacement("A", ki("N1"), None),
                Err(Refusal::NothingToReplace),
            ),
            (WriteOffEvent::Unit(ki("E")), Ok(())),
            (WriteOffEvent::Remark(ki("A")), Ok(())),
            // Until the new code arrives, nothing else is taken.
            (
                WriteOffEvent::Unit(ki("B")),
                Err(Refusal::AwaitingReplacement { old: ki("A") }),
            ),
            (
                WriteOffEvent::Remark(ki("B")),
                Err(Refusal::AwaitingReplacement { old: ki("A") }),
            ),
            (
                WriteOffEvent::Confirmed {
                    supervisor: "S".into(),
                },
                Err(Refusal::AwaitingReplacement { old: ki("A") }),
            ),
            (
                replacement("E", ki("N1"), None),
                Err(Refusal::AwaitingReplacement { old: ki("A") }),
            ),
            (replacement("A", ki("A"), None), Err(Refusal::Duplicate)),
            (replacement("A", ki("E"), None), Err(Refusal::Duplicate)),
            (
                replacement("A", other_product, None),
                Err(Refusal::OtherProduct {
                    gtin: ki("A").gtin(),
                }),
            ),
            (
                replacement("A", ki("N1"), Some(CisStatus::Introduced)),
                Err(Refusal::NotANewCode {
                    status: CisStatus::Introduced,
                }),
            ),
            (
                replacement("A", ki("N1"), Some(CisStatus::Retired)),
                Err(Refusal::NotANewCode {
                    status: CisStatus::Retired,
                }),
            ),
            (replacement("A", ki("N1"), Some(CisStatus::Emitted)), Ok(())),
            (
                replacement("A", ki("N2"), None),
                Err(Refusal::NothingToReplace),
            ),
            // The new code is in the document: not written off, not reused.
            (WriteOffEvent::Unit(ki("N1")), Err(Refusal::Duplicate)),
            (WriteOffEvent::Remark(ki("A")), Err(Refusal::Duplicate)),
            (WriteOffEvent::Remark(ki("C")), Ok(())),
            // A code not in the replica yet is a fresh one too.
            (replacement("C", ki("N3"), None), Ok(())),
        ];
        for (i, (event, want)) in steps.into_iter().enumerate() {
            let before = w.events().len();
            let got = w.apply(event.clone());
            assert_eq!(got, want, "step {i}: {event:?}");
            assert_eq!(
                w.events().len(),
                before + usize::from(got.is_ok()),
                "step {i}"
            );
        }
        let summary = w.summary().unwrap();
        assert_eq!(summary.codes, vec![ki("E"), ki("A"), ki("C")]);
        assert_eq!(
            summary.replacements,
            vec![(ki("A"), ki("N1")), (ki("C"), ki("N3"))]
        );
        let replayed = WriteOff::replay(code_reason(), w.events()).unwrap();
        assert_eq!(replayed.summary(), Ok(summary));
    }

    #[test]
    fn a_pending_replacement_holds_the_finish_and_undo_brings_the_prompt_back() {
        let mut w = WriteOff::new(code_reason());
        w.apply(WriteOffEvent::Remark(ki("A"))).unwrap();
        assert_eq!(w.awaiting_replacement(), Some(ki("A")));
        assert_eq!(
            w.summary(),
            Err(Refusal::AwaitingReplacement { old: ki("A") })
        );
        w.apply(replacement("A", ki("N1"), Some(CisStatus::Applied)))
            .unwrap();
        assert_eq!(w.awaiting_replacement(), None);
        assert!(w.summary().is_ok());
        w.undo().unwrap();
        assert_eq!(w.awaiting_replacement(), Some(ki("A")));
        w.undo().unwrap();
        assert_eq!(w.summary(), Err(Refusal::Empty));
        // A goods reason never re-marks.
        let mut goods = WriteOff::new(header(false));
        assert_eq!(
            goods.apply(WriteOffEvent::Remark(ki("A"))),
            Err(Refusal::NoRemarking)
        );
        assert!(WriteOffReason::CodeLost.is_code_reason());
        assert!(!WriteOffReason::DamageLoss.is_code_reason());
    }

    #[test]
    fn without_supervisor_policy() {
        let mut w = WriteOff::new(header(false));
        w.apply(WriteOffEvent::Unit(ki("A"))).unwrap();
        assert_eq!(w.summary().unwrap().supervisor, None);
    }
}
