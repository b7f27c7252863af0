//! Customer return: sold goods (`RETIRED` by a sale) brought back into circulation, under the
//! return's receipt; an item whose label cannot be read gets a new code (re-marking with the
//! return as its cause).
//!
//! GIS MT has one document for each half: the codes read off the goods return to circulation
//! (`LP_RETURN`), and a new code put on a returned item replaces one nobody can read
//! (`LK_REMARK` with `RETAIL_RETURN` or `REMOTE_SALE_RETURN`, which names no old code). A return
//! to a supplier is not this: it is a shipment to the supplier.

use std::fmt;

use super::Refusal;
use crate::code::Ki;
use crate::gs1::Gs1Date;
use crate::status::CisStatus;

/// How the goods were sold, which is how GIS MT names the return.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ReturnCause {
    /// Sold over the counter (`RETAIL_RETURN`).
    Retail,
    /// Sold at a distance, delivered (`REMOTE_SALE_RETURN`).
    RemoteSale,
}

impl ReturnCause {
    pub const ALL: [ReturnCause; 2] = [ReturnCause::Retail, ReturnCause::RemoteSale];

    /// A stable name for storage, the wire and the command line.
    pub fn code(self) -> &'static str {
        match self {
            ReturnCause::Retail => "retail",
            ReturnCause::RemoteSale => "remote_sale",
        }
    }

    pub fn from_code(code: &str) -> Option<ReturnCause> {
        ReturnCause::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The value of `return_type` / `remarking_cause` in GIS MT documents.
    pub fn gis_mt(self) -> &'static str {
        match self {
            ReturnCause::Retail => "RETAIL_RETURN",
            ReturnCause::RemoteSale => "REMOTE_SALE_RETURN",
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
            ReturnCause::Retail => "Return of a retail sale",
            ReturnCause::RemoteSale => "Return of a remote sale",
        }
    }

    pub fn name_ru(self) -> &'static str {
        match self {
            ReturnCause::Retail => "Возврат розничной продажи",
            ReturnCause::RemoteSale => "Возврат дистанционной продажи",
        }
    }
}

impl fmt::Display for ReturnCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The primary document the return is made under, as GIS MT names its kinds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ReturnReceipt {
    /// A till's return receipt (`RECEIPT`).
    Receipt,
    /// A sales receipt (`SALES_RECEIPT`).
    SalesReceipt,
    /// Another document, named in the header (`OTHER` with a custom name).
    Other,
}

impl ReturnReceipt {
    pub const ALL: [ReturnReceipt; 3] = [
        ReturnReceipt::Receipt,
        ReturnReceipt::SalesReceipt,
        ReturnReceipt::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ReturnReceipt::Receipt => "receipt",
            ReturnReceipt::SalesReceipt => "sales_receipt",
            ReturnReceipt::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<ReturnReceipt> {
        ReturnReceipt::ALL.into_iter().find(|c| c.code() == code)
    }

    /// `primary_document_type` in GIS MT documents.
    pub fn gis_mt(self) -> &'static str {
        match self {
            ReturnReceipt::Receipt => "RECEIPT",
            ReturnReceipt::SalesReceipt => "SALES_RECEIPT",
            ReturnReceipt::Other => "OTHER",
        }
    }
}

impl fmt::Display for ReturnReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What the operator states before scanning: the return's cause and its document.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReturnHeader {
    pub cause: ReturnCause,
    pub receipt: ReturnReceipt,
    /// The document's name when `receipt` is `Other` (GIS MT requires it then).
    pub receipt_name: Option<String>,
    pub document_number: String,
    pub document_date: Gs1Date,
    /// A remote sale may come back unpaid (refused at the door): GIS MT then takes no
    /// primary document. A retail sale was always paid.
    pub paid: bool,
}

/// One thing the operator did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ReturnEvent {
    /// A sold unit brought back, its code read off the goods.
    Unit(Ki),
    /// The next scan is the new code for a returned item whose label cannot be read.
    Damaged,
    /// The new code put on a returned item, with the status the replica gave it when scanned
    /// (so a replay decides the same way).
    NewLabel { ki: Ki, status: Option<CisStatus> },
}

/// The finished return.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReturnSummary {
    pub header: ReturnHeader,
    /// Codes read off the goods, back into circulation, in scan order.
    pub units: Vec<Ki>,
    /// New codes on returned items whose labels could not be read, in scan order.
    pub relabelled: Vec<Ki>,
}

/// A customer return in progress.
#[derive(Clone, Debug)]
pub struct CustomerReturn {
    header: ReturnHeader,
    events: Vec<ReturnEvent>,
}

impl CustomerReturn {
    pub fn new(header: ReturnHeader) -> CustomerReturn {
        CustomerReturn {
            header,
            events: Vec::new(),
        }
    }

    /// Rebuilds a return from its journal, as after a restart.
    pub fn replay(header: ReturnHeader, events: &[ReturnEvent]) -> Result<CustomerReturn, Refusal> {
        let mut r = CustomerReturn::new(header);
        for event in events {
            r.apply(event.clone())?;
        }
        Ok(r)
    }

    pub fn header(&self) -> &ReturnHeader {
        &self.header
    }

    pub fn events(&self) -> &[ReturnEvent] {
        &self.events
    }

    /// Whether the return holds this code, read off the goods or as a new label.
    pub fn contains(&self, ki: &Ki) -> bool {
        self.events.iter().any(|e| match e {
            ReturnEvent::Unit(k) | ReturnEvent::NewLabel { ki: k, .. } => k == ki,
            ReturnEvent::Damaged => false,
        })
    }

    /// The next scan must be a new label's code.
    pub fn awaiting_new_label(&self) -> bool {
        matches!(self.events.last(), Some(ReturnEvent::Damaged))
    }

    pub fn units(&self) -> impl Iterator<Item = &Ki> {
        self.events.iter().filter_map(|e| match e {
            ReturnEvent::Unit(ki) => Some(ki),
            _ => None,
        })
    }

    pub fn relabelled(&self) -> impl Iterator<Item = &Ki> {
        self.events.iter().filter_map(|e| match e {
            ReturnEvent::NewLabel { ki, .. } => Some(ki),
            _ => None,
        })
    }

    pub fn apply(&mut self, event: ReturnEvent) -> Result<(), Refusal> {
        let awaiting = self.awaiting_new_label();
        match &event {
            ReturnEvent::NewLabel { ki, status } => {
                if !awaiting {
                    return Err(Refusal::NothingToReplace);
                }
                if self.contains(ki) {
                    return Err(Refusal::Duplicate);
                }
                // A fresh code is emitted or applied, or not in the replica yet; one in
                // circulation or out of it marks someone's goods.
                if let Some(status) = *status
                    && !matches!(
                        status,
                        CisStatus::Emitted | CisStatus::Applied | CisStatus::AppliedNotPaid
                    )
                {
                    return Err(Refusal::NotANewCode { status });
                }
            }
            _ if awaiting => return Err(Refusal::AwaitingNewLabel),
            ReturnEvent::Unit(ki) if self.contains(ki) => return Err(Refusal::Duplicate),
            ReturnEvent::Unit(_) | ReturnEvent::Damaged => {}
        }
        self.events.push(event);
        Ok(())
    }

    pub fn undo(&mut self) -> Result<ReturnEvent, Refusal> {
        self.events.pop().ok_or(Refusal::NothingToUndo)
    }

    /// The document, once it may be finished: something returned, no new label pending.
    pub fn summary(&self) -> Result<ReturnSummary, Refusal> {
        if self.awaiting_new_label() {
            return Err(Refusal::AwaitingNewLabel);
        }
        let units: Vec<Ki> = self.units().copied().collect();
        let relabelled: Vec<Ki> = self.relabelled().copied().collect();
        if units.is_empty() && relabelled.is_empty() {
            return Err(Refusal::Empty);
        }
        Ok(ReturnSummary {
            header: self.header.clone(),
            units,
            relabelled,
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

    fn header() -> ReturnHeader {
        ReturnHeader {
            cause: ReturnCause::Retail,
            receipt: ReturnReceipt::Receipt,
            receipt_name: None,
            document_number: "ФД-7711".into(),
            document_date: Gs1Date::from_yymmdd(b"261202").unwrap(),
            paid: true,
        }
    }

    #[test]
    fn units_and_new_labels_make_the_return() {
        let mut r = CustomerReturn::new(header());
        r.apply(ReturnEvent::Unit(ki("A1"))).unwrap();
        assert_eq!(
            r.apply(ReturnEvent::Unit(ki("A1"))),
            Err(Refusal::Duplicate)
        );
        r.apply(ReturnEvent::Damaged).unwrap();
        assert!(r.awaiting_new_label());
        // Between "damaged" and the new code nothing else is taken, and the return cannot end.
        assert_eq!(
            r.apply(ReturnEvent::Unit(ki("A2"))),
            Err(Refusal::AwaitingNewLabel)
        );
        assert_eq!(r.summary(), Err(Refusal::AwaitingNewLabel));
        // A code in circulation or sold is someone's goods, not a fresh label.
        assert_eq!(
            r.apply(ReturnEvent::NewLabel {
                ki: ki("N1"),
                status: Some(CisStatus::Introduced)
            }),
            Err(Refusal::NotANewCode {
                status: CisStatus::Introduced
            })
        );
        r.apply(ReturnEvent::NewLabel {
            ki: ki("N1"),
            status: Some(CisStatus::Applied),
        })
        .unwrap();
        assert_eq!(
            r.apply(ReturnEvent::NewLabel {
                ki: ki("N2"),
                status: None
            }),
            Err(Refusal::NothingToReplace)
        );
        let summary = r.summary().unwrap();
        assert_eq!(summary.units, vec![ki("A1")]);
        assert_eq!(summary.relabelled, vec![ki("N1")]);
    }

    #[test]
    fn an_empty_return_does_not_finish_and_replay_rebuilds_it() {
        let r = CustomerReturn::new(header());
        assert_eq!(r.summary(), Err(Refusal::Empty));
        let mut r = CustomerReturn::new(header());
        r.apply(ReturnEvent::Unit(ki("A1"))).unwrap();
        r.apply(ReturnEvent::Damaged).unwrap();
        r.apply(ReturnEvent::NewLabel {
            ki: ki("N1"),
            status: None,
        })
        .unwrap();
        let again = CustomerReturn::replay(header(), r.events()).unwrap();
        assert_eq!(again.summary(), r.summary());
        let mut undone = again.clone();
        assert!(matches!(undone.undo(), Ok(ReturnEvent::NewLabel { .. })));
        assert!(undone.awaiting_new_label());
        assert_eq!(undone.undo(), Ok(ReturnEvent::Damaged));
        assert_eq!(undone.summary().unwrap().units, vec![ki("A1")]);
        assert_eq!(
            ReturnCause::from_code("remote_sale"),
            Some(ReturnCause::RemoteSale)
        );
        assert_eq!(ReturnReceipt::SalesReceipt.gis_mt(), "SALES_RECEIPT");
    }
}
