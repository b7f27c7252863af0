//! The code info screen: everything the terminal knows of one scanned code.

use tally_domain::Rejection;
use tally_domain::reason::Reason as _;
use tally_domain::status::Parent;
use tally_domain::validate::Outcome;
use tally_ui::{CodeInfoView, Tone, info_row};

use crate::desk::CodeReport;
use crate::terminal::text::Texts;

/// A scan that is no code at all.
pub fn unreadable(t: Texts, rejection: &Rejection, payload: &[u8]) -> CodeInfoView {
    CodeInfoView {
        headline: t.s("Not a valid code"),
        tone: Tone::Error,
        rows: vec![
            info_row(&t.s("Why"), &rejection.message(t.lang())),
            info_row(&t.s("Scanned"), &String::from_utf8_lossy(payload)),
        ],
    }
}

pub fn view(t: Texts, report: &CodeReport) -> CodeInfoView {
    let lang = t.lang();
    let code = &report.code;
    let mut rows = Vec::new();
    let mut row = |label: String, value: String| rows.push(info_row(&label, &value));
    row(t.s("Kind"), code.kind().code().to_string());
    if let Some(gtin) = code.gtin() {
        row("GTIN".into(), gtin.to_string());
    }
    if let Some(serial) = code.serial() {
        row(t.s("Serial"), serial.to_string());
    }
    if let Some(sscc) = code.sscc() {
        row("SSCC".into(), sscc.to_string());
    }
    if let Some(item) = &report.catalog {
        row(t.s("Product"), item.name.clone());
    }
    let group = report
        .status
        .as_ref()
        .and_then(|s| s.product_group)
        .or_else(|| report.catalog.as_ref().and_then(|c| c.product_group));
    if let Some(group) = group {
        row(t.s("Product group"), group.name(lang).to_string());
    }
    match &report.status {
        Some(status) => {
            row(
                t.s("Status"),
                format!(
                    "{} ({})",
                    status.status.api_name(),
                    status.status_ex.api_name()
                ),
            );
            if let Some(owner) = status.owner {
                row(t.s("Owner (INN)"), owner.to_string());
            }
            if let Some(parent) = &status.parent {
                let label = match parent {
                    Parent::Sscc(_) => t.s("In box"),
                    _ => t.s("In package"),
                };
                row(label, parent.to_string());
            }
            if let Some(expiry) = status.expiry.or(code.expiry()) {
                row(t.s("Expiry"), expiry.to_string());
            }
            if let Some(price) = status.max_retail_price.or(code.max_retail_price()) {
                row(
                    t.s("Max retail price"),
                    format!("{}.{:02} ₽", price / 100, price % 100),
                );
            }
            if status.blocked {
                row(t.s("Blocked"), t.s("yes"));
            }
        }
        None => row(t.s("Status"), t.s("not in the terminal's status list")),
    }
    if let Some(contents) = &report.contents {
        row(
            t.s("Packed here"),
            t.f("{n} items", &[("n", &contents.len())]),
        );
    }
    if code.repairs().recovered() {
        row(
            t.s("Scanner"),
            t.s(
                "the code was repaired (separators or keyboard layout): check the scanner settings",
            ),
        );
    }
    for (finding, _) in &report.verdict.findings {
        row(t.s("Note"), finding.message(lang));
    }
    let headline = match (&report.status, report.verdict.headline()) {
        (_, Some(finding)) if report.verdict.outcome != Outcome::Accept => finding.message(lang),
        (Some(status), _) => status.status.api_name().to_string(),
        (None, _) => t.s("Unknown code"),
    };
    CodeInfoView {
        headline,
        tone: match report.verdict.outcome {
            Outcome::Accept => Tone::Good,
            Outcome::Warn => Tone::Warning,
            Outcome::Reject => Tone::Error,
        },
        rows,
    }
}
