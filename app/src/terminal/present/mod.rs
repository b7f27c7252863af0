//! Presenters: one a screen, each turning the shift's state and a snapshot of the store into
//! that screen's view. They read nothing themselves: the snapshot is read once per input and
//! catalogue names come from a cache kept across inputs.

pub mod acceptance;
pub mod aggregation;
pub mod code_info;
pub mod customer_return;
pub mod inventory;
pub mod reaggregation;
pub mod settings;
pub mod shipment;
pub mod status;
pub mod sync;
pub mod write_off;

use std::collections::HashMap;

use tally_domain::code::MarkingCode;
use tally_domain::gs1::Gtin;
use tally_domain::reason::Reason as _;
use tally_domain::status::Timestamp;
use tally_domain::validate::Verdict;
use tally_sync::store::{OrderSummary, RefusedVerdict, RejectedOperation, Store, TaskSummary};

use super::shift::Shift;
use super::text::Texts;
use crate::desk::DeskSettings;
use crate::operation_log::OperationState;

/// Lists show the newest rows first and no more than this; the counters show the totals.
pub const LIST_ROWS: usize = 100;

/// What the screens show of the store, read once per input.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub tasks: Vec<TaskSummary>,
    pub orders: Vec<OrderSummary>,
    pub queued: u64,
    pub last_sync: Option<Timestamp>,
    pub cache_age_ms: Option<i64>,
    pub rejected: Vec<RejectedOperation>,
    pub refused: Vec<RefusedVerdict>,
    pub status_list_age_ms: Option<i64>,
}

impl Snapshot {
    /// The store as it stands at `now`; a part that cannot be read shows empty and is logged,
    /// so a failing query never takes the screen down.
    pub fn read(store: &Store, now: Timestamp) -> Snapshot {
        fn or_log<T: Default>(what: &str, result: tally_sync::store::Result<T>) -> T {
            result.unwrap_or_else(|error| {
                tracing::error!("reading {what}: {error}");
                T::default()
            })
        }
        Snapshot {
            tasks: or_log("tasks", store.tasks()),
            orders: or_log("orders", store.orders()),
            queued: or_log("the queue", store.queue_depth()),
            last_sync: or_log("the last sync", store.last_sync()),
            cache_age_ms: or_log("the status list's age", store.cache_age_ms(now)),
            rejected: or_log("rejected operations", store.rejected_operations()),
            refused: or_log("refused documents", store.refused_verdicts()),
            status_list_age_ms: or_log("GIS MT's list age", store.status_list_age_ms(now)),
        }
    }
}

/// Catalogue names of GTINs, remembered across inputs: lists ask for the same few over and
/// over. Forgotten after a sync, which may bring a new catalogue.
#[derive(Debug, Default)]
pub struct Names(HashMap<Gtin, String>);

impl Names {
    pub fn forget(&mut self) {
        self.0.clear();
    }

    /// A lookup that reads the store only for GTINs it has not seen.
    pub fn with<'a>(&'a mut self, store: &'a Store) -> NameOf<'a> {
        NameOf { names: self, store }
    }
}

/// The catalogue's name of a GTIN, or empty.
#[derive(Debug)]
pub struct NameOf<'a> {
    names: &'a mut Names,
    store: &'a Store,
}

impl NameOf<'_> {
    pub fn of(&mut self, gtin: Gtin) -> String {
        if let Some(name) = self.names.0.get(&gtin) {
            return name.clone();
        }
        match self.store.catalog_item(gtin) {
            Ok(item) => {
                let name = item.map(|i| i.name).unwrap_or_default();
                self.names.0.insert(gtin, name.clone());
                name
            }
            Err(error) => {
                tracing::warn!("catalogue lookup of {gtin}: {error}");
                String::new()
            }
        }
    }

    pub fn of_code(&mut self, code: &MarkingCode) -> String {
        code.gtin().map_or_else(String::new, |gtin| self.of(gtin))
    }
}

/// What every presenter is given.
#[derive(Debug)]
pub struct Scene<'a> {
    pub t: Texts,
    pub shift: &'a Shift,
    pub operation: Option<&'a OperationState>,
    pub settings: &'a DeskSettings,
    pub snapshot: &'a Snapshot,
    pub now: Timestamp,
}

/// The operation's name as the operator knows it, by its screen.
pub fn operation_name(t: Texts, screen: tally_ui::Screen) -> String {
    use tally_ui::Screen;
    match screen {
        Screen::Acceptance => t.s("Acceptance"),
        Screen::Aggregation => t.s("Aggregation"),
        Screen::Reaggregation => t.s("Re-aggregation"),
        Screen::WriteOff => t.s("Write-off"),
        Screen::Shipment => t.s("Shipment"),
        Screen::CustomerReturn => t.s("Customer return"),
        Screen::Inventory => t.s("Inventory"),
        _ => String::new(),
    }
}

/// The screen an operation is worked on.
pub fn screen_of(operation: &OperationState) -> tally_ui::Screen {
    use tally_ui::Screen;
    match operation {
        OperationState::Acceptance(_) => Screen::Acceptance,
        OperationState::Aggregation(_) | OperationState::Disaggregation(_) => Screen::Aggregation,
        OperationState::Reaggregation(_) => Screen::Reaggregation,
        OperationState::WriteOff(_) => Screen::WriteOff,
        OperationState::Shipment(_) => Screen::Shipment,
        OperationState::Return(_) => Screen::CustomerReturn,
        OperationState::Inventory(_) => Screen::Inventory,
    }
}

pub fn findings_text(verdict: &Verdict, t: Texts) -> String {
    verdict
        .findings
        .iter()
        .map(|(f, _)| f.message(t.lang()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The code as staff read it off the label: КИ for units, SSCC for boxes.
pub fn shown_code(code: &MarkingCode) -> String {
    match (code.ki(), code.sscc()) {
        (Some(ki), _) => ki.to_string(),
        (None, Some(sscc)) => sscc.to_string(),
        (None, None) => code.canonical().to_string(),
    }
}

pub fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub fn fraction(done: u64, total: u64) -> f32 {
    if total == 0 {
        1.0
    } else {
        (done as f32 / total as f32).clamp(0.0, 1.0)
    }
}

/// "12 min", "5 h", "3 d".
pub fn format_age(ms: i64, t: Texts) -> String {
    let minutes = ms.max(0) / 60_000;
    if minutes < 60 {
        t.f("{n} min", &[("n", &minutes)])
    } else if minutes < 48 * 60 {
        t.f("{n} h", &[("n", &(minutes / 60))])
    } else {
        t.f("{n} d", &[("n", &(minutes / (24 * 60)))])
    }
}

/// A summary's list of codes: its label and count, then the first twenty with their names.
pub fn code_list(
    lines: &mut Vec<String>,
    label: &str,
    codes: &[tally_domain::code::Ki],
    names: &mut NameOf<'_>,
) {
    const SHOWN: usize = 20;
    if codes.is_empty() {
        return;
    }
    lines.push(format!("{label}: {}", codes.len()));
    for ki in codes.iter().take(SHOWN) {
        let name = names.of(ki.gtin());
        lines.push(format!("  {ki} {name}").trim_end().to_string());
    }
    if codes.len() > SHOWN {
        lines.push(format!("  … +{}", codes.len() - SHOWN));
    }
}
