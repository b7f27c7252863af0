//! The bounds of what a device may send, declared once for both sides: the hub refuses past
//! them before anything is written, and the terminal batches its queue to stay inside them.

use crate::document::OperationDocument;
use crate::protocol::{EnrollRequest, PushRequest, PushedOperation};

/// Most codes (units and labels) one operation may name. An operation past it is answered
/// `rejected` (`too_many_codes`) without the hub reading its codes; a whole truck's
/// acceptance of loose units stays under it.
pub const MAX_OPERATION_CODES: usize = 50_000;
/// Most codes one push may name, counting each operation at most [`MAX_OPERATION_CODES`] + 1;
/// the terminal starts a new batch before it.
pub const MAX_PUSH_CODES: usize = 200_000;
/// The longest name a person or device goes by (a device name, an operator, a supervisor).
pub const MAX_NAME_CHARS: usize = 128;
/// The longest version string.
pub const MAX_VERSION_CHARS: usize = 64;
/// The longest other text field of a document (a document number, a GIS MT code, a task id,
/// an enrollment code, an unreadable document's kind).
pub const MAX_FIELD_CHARS: usize = 256;

/// A text field past its bound: which one, and the bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Oversized {
    pub field: String,
    pub limit: usize,
}

fn check(field: &str, value: &str, limit: usize) -> Result<(), Oversized> {
    if value.chars().count() > limit {
        return Err(Oversized {
            field: field.to_owned(),
            limit,
        });
    }
    Ok(())
}

impl OperationDocument {
    /// Every code the document names, counted with repeats.
    pub fn code_count(&self) -> usize {
        match self {
            OperationDocument::Acceptance(d) => {
                d.accepted.len()
                    + d.boxes.len()
                    + d.rejected.len()
                    + d.surplus.len()
                    + d.missing.len()
            }
            OperationDocument::Aggregation(d) => {
                d.aggregates.iter().map(|a| 1 + a.children.len()).sum()
            }
            OperationDocument::Disaggregation(d) => d.labels.len(),
            OperationDocument::Reaggregation(d) => 1 + d.units.len(),
            OperationDocument::WriteOff(d) => d.codes.len() + 2 * d.replacements.len(),
            OperationDocument::Shipment(d) => {
                d.units.len() + d.labels.len() + d.opened.len() + d.over.len() + d.missing.len()
            }
            OperationDocument::Return(d) => d.units.len() + d.relabelled.len(),
            OperationDocument::Inventory(d) => {
                d.found.len()
                    + d.labels.len()
                    + d.opened.len()
                    + d.foreign.len()
                    + d.wrong_status.len()
                    + d.unknown.len()
                    + d.missing.len()
            }
        }
    }

    fn oversized(&self) -> Result<(), Oversized> {
        match self {
            OperationDocument::Acceptance(d) => {
                if let Some(task) = &d.task_id {
                    check("task_id", task, MAX_FIELD_CHARS)?;
                }
                Ok(())
            }
            OperationDocument::WriteOff(d) => {
                check("document_number", &d.document_number, MAX_FIELD_CHARS)?;
                if let Some(supervisor) = &d.supervisor {
                    check("supervisor", supervisor, MAX_NAME_CHARS)?;
                }
                for value in [&d.gis_mt_document, &d.gis_mt_reason].into_iter().flatten() {
                    check("gis_mt_document", value, MAX_FIELD_CHARS)?;
                }
                Ok(())
            }
            OperationDocument::Shipment(d) => {
                check("document_number", &d.document_number, MAX_FIELD_CHARS)?;
                if let Some(order) = &d.order_id {
                    check("order_id", order, MAX_FIELD_CHARS)?;
                }
                Ok(())
            }
            OperationDocument::Return(d) => {
                check("document_number", &d.document_number, MAX_FIELD_CHARS)?;
                if let Some(name) = &d.receipt_name {
                    check("receipt_name", name, MAX_FIELD_CHARS)?;
                }
                Ok(())
            }
            OperationDocument::Inventory(d) => {
                check("document_number", &d.document_number, MAX_FIELD_CHARS)?;
                if let Some(zone) = &d.zone {
                    check("zone", zone, MAX_FIELD_CHARS)?;
                }
                if let Some(supervisor) = &d.supervisor {
                    check("supervisor", supervisor, MAX_NAME_CHARS)?;
                }
                Ok(())
            }
            OperationDocument::Aggregation(_)
            | OperationDocument::Disaggregation(_)
            | OperationDocument::Reaggregation(_) => Ok(()),
        }
    }
}

impl PushedOperation {
    /// The codes this operation counts for against [`MAX_PUSH_CODES`].
    pub fn weight(&self) -> usize {
        match &self.document {
            Ok(document) => document.code_count().min(MAX_OPERATION_CODES + 1),
            Err(_) => 1,
        }
    }
}

impl PushRequest {
    /// The first text field past its bound, if any.
    pub fn oversized(&self) -> Result<(), Oversized> {
        check(
            "device.app_version",
            &self.device.app_version,
            MAX_VERSION_CHARS,
        )?;
        for operation in &self.operations {
            check("operator", &operation.operator, MAX_NAME_CHARS)?;
            check("uuid", &operation.uuid, MAX_FIELD_CHARS)?;
            match &operation.document {
                Ok(document) => document.oversized()?,
                Err(unreadable) => check("kind", &unreadable.kind, MAX_FIELD_CHARS)?,
            }
        }
        Ok(())
    }

    /// The codes the push counts for against [`MAX_PUSH_CODES`].
    pub fn weight(&self) -> usize {
        self.operations.iter().map(PushedOperation::weight).sum()
    }
}

impl EnrollRequest {
    /// The first text field past its bound, if any.
    pub fn oversized(&self) -> Result<(), Oversized> {
        check("code", &self.code, MAX_FIELD_CHARS)?;
        check("device_name", &self.device_name, MAX_NAME_CHARS)?;
        check("app_version", &self.app_version, MAX_VERSION_CHARS)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_name_past_its_bound_is_named_and_one_at_it_passes() {
        let at = EnrollRequest {
            code: "ABC".into(),
            device_name: "т".repeat(MAX_NAME_CHARS),
            app_version: "0.1.0".into(),
        };
        assert_eq!(at.oversized(), Ok(()), "characters, not bytes");
        let past = EnrollRequest {
            device_name: "т".repeat(MAX_NAME_CHARS + 1),
            ..at
        };
        assert_eq!(
            past.oversized(),
            Err(Oversized {
                field: "device_name".into(),
                limit: MAX_NAME_CHARS
            })
        );
    }
}
