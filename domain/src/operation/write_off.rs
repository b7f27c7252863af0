//! Write-off: codes taken out of circulation for a reason, under a document, optionally
//! confirmed by a supervisor.

use std::fmt;

use super::Refusal;
use crate::code::Ki;
use crate::gs1::Gs1Date;

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
    pub codes: Vec<Ki>,
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

    pub fn contains(&self, ki: &Ki) -> bool {
        self.events.contains(&WriteOffEvent::Unit(*ki))
    }

    pub fn codes(&self) -> impl Iterator<Item = &Ki> {
        self.events.iter().filter_map(|e| match e {
            WriteOffEvent::Unit(ki) => Some(ki),
            WriteOffEvent::Confirmed { .. } => None,
        })
    }

    fn supervisor(&self) -> Option<&str> {
        self.events.iter().rev().find_map(|e| match e {
            WriteOffEvent::Confirmed { supervisor } => Some(supervisor.as_str()),
            WriteOffEvent::Unit(_) => None,
        })
    }

    pub fn apply(&mut self, event: WriteOffEvent) -> Result<(), Refusal> {
        match &event {
            WriteOffEvent::Unit(ki) if self.contains(ki) => return Err(Refusal::Duplicate),
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
        let confirmed_last = matches!(self.events.last(), Some(WriteOffEvent::Confirmed { .. }));
        if self.header.needs_supervisor && !confirmed_last {
            return Err(Refusal::SupervisorRequired);
        }
        Ok(WriteOffSummary {
            header: self.header.clone(),
            codes: self.codes().copied().collect(),
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

    #[test]
    fn without_supervisor_policy() {
        let mut w = WriteOff::new(header(false));
        w.apply(WriteOffEvent::Unit(ki("A"))).unwrap();
        assert_eq!(w.summary().unwrap().supervisor, None);
    }
}
