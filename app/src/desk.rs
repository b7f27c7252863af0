//! The scan desk: the one open operation, fed by scans and by the operator's commands.
//!
//! A scan is parsed, judged against the replica, applied to the operation and committed to the
//! journal, in that order; it counts as done only once the commit returned. A restart rebuilds
//! the open operation from its journal; undo removes the last event from both.

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};
use tally_domain::code::{CodeKind, Ki, MarkingCode, ParseOptions, Rejection, parse};
use tally_domain::gs1::{Ai, Sscc};
use tally_domain::operation::{
    AcceptanceEvent, AggregationEvent, Capacity, Child, Counted, InventoryEvent, Level,
    PackedLabel, ReaggregationEvent, ReaggregationMode, Refusal, ReturnEvent, ShipmentEvent,
    WriteOffEvent,
};
use tally_domain::product_group::ProductGroup;
use tally_domain::reason::Reason;
use tally_domain::status::{CisStatus, CodeStatus, Inn, Parent, StatusEx, Timestamp};
use tally_domain::validate::{
    Context, Expectation, Facts, OperationKind, Outcome as VerdictOutcome, Policy, Verdict,
    validate, validate_label,
};
use tally_sync::store::{
    AggregateItem, CatalogItem, Effects, LocalStatuses, NewOperation, NewScan, OperationId,
    QueuedOperation, ScanId, Store,
};

use crate::operation_log::{Entry, OperationState};

/// How this terminal works: who is signed in and the integrator's rules.
#[derive(Clone, Debug)]
pub struct DeskSettings {
    pub operator: String,
    pub own_inn: Option<Inn>,
    pub parse: ParseOptions,
    pub policy: Policy,
    pub capacity: Capacity,
    /// GS1 company prefix for SSCC labels this terminal generates.
    pub company_prefix: Option<String>,
}

/// What became of one scan.
#[derive(Clone, Debug)]
pub enum ScanOutcome {
    /// Not a code at all; nothing recorded.
    Unreadable(Rejection),
    /// Refused by validation; nothing recorded.
    Refused { code: MarkingCode, verdict: Verdict },
    /// Needs a confirming tap: scan again confirmed. Nothing recorded yet.
    NeedsConfirmation { code: MarkingCode, verdict: Verdict },
    /// The operation does not take it (duplicate, box full, ...); nothing recorded.
    NotTaken {
        code: MarkingCode,
        verdict: Verdict,
        refusal: Refusal,
    },
    /// Committed to the journal: now, and only now, it may show as accepted.
    Recorded {
        code: MarkingCode,
        verdict: Verdict,
        scan: ScanId,
    },
}

/// What the Code info screen shows of one scan.
#[derive(Clone, Debug)]
pub enum Inspection {
    Unreadable(Rejection),
    Code(Box<CodeReport>),
}

#[derive(Clone, Debug)]
pub struct CodeReport {
    pub code: MarkingCode,
    /// As judged for looking up: nothing refused, everything explained.
    pub verdict: Verdict,
    /// The cached status, with a box built here and not yet synced as its parent.
    pub status: Option<CodeStatus>,
    pub catalog: Option<CatalogItem>,
    /// For a box label: what this terminal packed into it.
    pub contents: Option<Vec<AggregateItem>>,
}

/// What the operator does besides scanning.
#[derive(Clone, Debug)]
pub enum Command {
    /// Opens a box or pallet under a label this terminal generates.
    OpenGenerated(Level),
    /// Opens a box or pallet under a printed label (a scanned label alone opens a box).
    Open {
        sscc: Sscc,
        level: Level,
    },
    /// Takes a unit out of the open box, or a box off the open pallet.
    Remove(Child),
    Close,
    /// Takes an accepted unit back out of an acceptance (damaged, wrong goods).
    Exclude(Ki),
    /// A supervisor confirms a write-off.
    Confirm {
        supervisor: String,
    },
    /// Re-aggregation: units go into the box or come out of it.
    Mode(ReaggregationMode),
    /// Customer return: the item in hand has a label nobody can read; the next scan is the
    /// code of its new label.
    Damaged,
}

struct Open {
    id: OperationId,
    state: OperationState,
    next_seq: u32,
}

/// The desk: the store's writer and the open operation.
pub struct Desk {
    store: Store,
    settings: DeskSettings,
    open: Option<Open>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("store", &self.store)
            .field("open", &self.open.as_ref().map(|o| o.state.kind_name()))
            .finish()
    }
}

/// A verdict for scans no rule applies to (box labels).
fn plain_accept() -> Verdict {
    Verdict {
        outcome: VerdictOutcome::Accept,
        findings: Vec::new(),
    }
}

impl Desk {
    /// Opens the desk, rebuilding the operation that was open when the terminal stopped.
    pub fn open(store: Store, settings: DeskSettings) -> anyhow::Result<Desk> {
        let mut open = None;
        if let Some(op) = store.open_operations()?.into_iter().last() {
            let header: Value = serde_json::from_str(&op.header).context("operation header")?;
            let entries = op
                .entries
                .iter()
                .map(|e| {
                    Ok(Entry {
                        action: e.action.clone(),
                        code: e.code.clone(),
                        detail: serde_json::from_str(&e.detail).context("journal detail")?,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let state = OperationState::restore(&op.kind, &header, &entries)
                .with_context(|| format!("restoring open operation {}", op.id.0))?;
            let next_seq = op.entries.last().map_or(0, |e| e.seq + 1);
            open = Some(Open {
                id: op.id,
                state,
                next_seq,
            });
        }
        Ok(Desk {
            store,
            settings,
            open,
        })
    }

    pub fn operation(&self) -> Option<&OperationState> {
        self.open.as_ref().map(|o| &o.state)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Starts an operation; one at a time.
    pub fn begin(&mut self, state: OperationState, now: Timestamp) -> anyhow::Result<()> {
        if let Some(open) = &self.open {
            bail!("{} is still open: finish it first", open.state.kind_name());
        }
        let header = state.header(self.settings.capacity).to_string();
        let id = self.store.begin_operation(&NewOperation {
            kind: state.kind_name(),
            operator: &self.settings.operator,
            header: &header,
            started_at: now,
        })?;
        self.open = Some(Open {
            id,
            state,
            next_seq: 0,
        });
        Ok(())
    }

    /// One scan from any scanner. `confirmed` is the operator's tap on a warning.
    pub fn scan(
        &mut self,
        raw: &[u8],
        confirmed: bool,
        now: Timestamp,
    ) -> anyhow::Result<ScanOutcome> {
        let open = self
            .open
            .as_ref()
            .ok_or_else(|| anyhow!("no operation is open"))?;
        let code = match parse(raw, &self.settings.parse) {
            Ok(code) => code,
            Err(rejection) => return Ok(ScanOutcome::Unreadable(rejection)),
        };
        if let OperationState::WriteOff(w) = &open.state
            && let Some(old) = w.awaiting_replacement()
        {
            return self.new_label(code, Some(old), now);
        }
        if let OperationState::Return(r) = &open.state
            && r.awaiting_new_label()
        {
            return self.new_label(code, None, now);
        }
        // A box label in re-aggregation: what this terminal knows the box holds.
        let contents = match (&open.state, code.sscc()) {
            (OperationState::Reaggregation(_), Some(sscc)) => self.store.aggregate_items(sscc)?,
            _ => None,
        };
        // A label in a shipment ships what it holds, as this terminal knows it now; the
        // journal keeps that list, so a restart ships the same units.
        let label_units = match (&open.state, code.sscc()) {
            (OperationState::Shipment(_) | OperationState::Inventory(_), Some(sscc))
                if code.kind() == CodeKind::Sscc =>
            {
                Some(self.store.label_units(sscc)?)
            }
            _ => None,
        };
        let (verdict, status) = match code.sscc() {
            Some(sscc) if code.kind() == CodeKind::Sscc => {
                (self.judge_label(sscc, &open.state)?, None)
            }
            _ => self.judge(&code, Some(&open.state), now)?,
        };
        match verdict.outcome {
            VerdictOutcome::Reject => return Ok(ScanOutcome::Refused { code, verdict }),
            VerdictOutcome::Warn if !confirmed => {
                return Ok(ScanOutcome::NeedsConfirmation { code, verdict });
            }
            _ => {}
        }
        // Where the unit sits, for re-aggregation: the replica's box, else one built here.
        let parent = match (&open.state, code.ki()) {
            (OperationState::Reaggregation(_), Some(ki)) => match status.and_then(|s| s.parent) {
                Some(Parent::Sscc(sscc)) => Some(sscc),
                _ => self.store.aggregate_of(&AggregateItem::Code(ki))?,
            },
            _ => None,
        };
        // A counted unit is judged by what the replica (and this terminal's own operations)
        // say of it now, and the judgement goes into the journal with it.
        let counted = Counted::of(status.as_ref(), self.settings.own_inn);
        let scanned = Scanned {
            counted,
            status: status.as_ref(),
            parent,
            contents: contents.as_deref(),
            label_units: label_units.as_deref(),
        };
        let applied = match self.open.as_mut() {
            Some(open) => apply_scan(&mut open.state, &code, &scanned),
            None => return Err(anyhow!("no operation is open")),
        };
        if let Err(refusal) = applied {
            return Ok(ScanOutcome::NotTaken {
                code,
                verdict,
                refusal,
            });
        }
        let scan = self.commit_last(now, &verdict, Some(&code))?;
        Ok(ScanOutcome::Recorded {
            code,
            verdict,
            scan,
        })
    }

    /// A box or pallet label judged by what GIS MT says of it, in the open operation: a
    /// supplier's box at acceptance, our own box to open or unpack.
    fn judge_label(&self, sscc: Sscc, state: &OperationState) -> anyhow::Result<Verdict> {
        let status = self.store.label_status(sscc)?;
        let supplier = match state {
            OperationState::Acceptance(a) => a.task().and_then(|t| t.sender),
            _ => None,
        };
        let context = Context {
            operation: state.kind(),
            own_inn: self.settings.own_inn,
            supplier_inn: supplier,
            product_group: None,
        };
        Ok(validate_label(
            status.as_ref(),
            &context,
            &self.settings.policy,
        ))
    }

    /// The scan after a re-marked code (write-off, `old`) or after an item whose label cannot
    /// be read (customer return): the code of the new label for the goods. It is judged by one
    /// rule, that it is fresh (not in circulation, not out of it), which the operation decides
    /// from the status the replica and this terminal's own operations give.
    fn new_label(
        &mut self,
        code: MarkingCode,
        old: Option<Ki>,
        now: Timestamp,
    ) -> anyhow::Result<ScanOutcome> {
        let verdict = plain_accept();
        let Some(new) = code.ki() else {
            let refusal = match old {
                Some(old) => Refusal::AwaitingReplacement { old },
                None => Refusal::AwaitingNewLabel,
            };
            return Ok(ScanOutcome::NotTaken {
                code,
                verdict,
                refusal,
            });
        };
        let mut status = self.store.status(&new)?.map(|s| s.status);
        let last_sync = self
            .store
            .last_sync()?
            .max(self.store.statuses_refreshed_at()?);
        // A code this terminal already put on goods (or wrote off) is not fresh, whether or
        // not the replica has heard of it yet.
        if let Some(local) = self.store.local_status(&new)?
            && last_sync.is_none_or(|synced| local.at > synced)
        {
            status = Some(local.status);
        }
        let applied = match (self.open.as_mut().map(|o| &mut o.state), old) {
            (Some(OperationState::WriteOff(w)), Some(old)) => {
                w.apply(WriteOffEvent::Replacement { old, new, status })
            }
            (Some(OperationState::Return(r)), None) => {
                r.apply(ReturnEvent::NewLabel { ki: new, status })
            }
            _ => return Err(anyhow!("no operation waits for a new label")),
        };
        if let Err(refusal) = applied {
            return Ok(ScanOutcome::NotTaken {
                code,
                verdict,
                refusal,
            });
        }
        let scan = self.commit_last(now, &verdict, Some(&code))?;
        Ok(ScanOutcome::Recorded {
            code,
            verdict,
            scan,
        })
    }

    /// What the replica and the document say about a code.
    fn judge(
        &self,
        code: &MarkingCode,
        state: Option<&OperationState>,
        now: Timestamp,
    ) -> anyhow::Result<(Verdict, Option<CodeStatus>)> {
        let ki = code.ki();
        let mut status = match &ki {
            Some(ki) => self.store.status(ki)?,
            None => None,
        };
        let last_sync = self
            .store
            .last_sync()?
            .max(self.store.statuses_refreshed_at()?);
        // What this terminal's own finished operations did, until a later sync brings the
        // hub's word: a unit accepted here is ours, one written off here is out of circulation.
        if let (Some(ki), Some(cached)) = (&ki, status.as_mut())
            && let Some(local) = self.store.local_status(ki)?
            && last_sync.is_none_or(|synced| local.at > synced)
        {
            cached.status = local.status;
            if let Some(owner) = local.owner {
                // Accepted here: ours now, no longer waiting for the shipment to arrive.
                cached.owner = Some(owner);
                cached.status_ex = StatusEx::Empty;
            }
        }
        // Taken out of its box here: no longer in it, until the hub's word arrives.
        if let (Some(ki), Some(cached)) = (&ki, status.as_mut())
            && let Some(at) = self.store.local_unboxed(ki)?
            && last_sync.is_none_or(|synced| at > synced)
        {
            cached.parent = None;
        }
        // A box built on this terminal and not yet synced holds the unit as surely as GIS MT.
        if let (Some(ki), Some(cached)) = (&ki, status.as_mut())
            && cached.parent.is_none()
            && let Some(sscc) = self.store.aggregate_of(&AggregateItem::Code(*ki))?
        {
            cached.parent = Some(Parent::Sscc(sscc));
        }
        let block = match code.gtin() {
            Some(gtin) => self
                .store
                .block_hit(ki.as_ref(), gtin, code.element(Ai::BATCH))?,
            None => None,
        };
        let catalog_group = match code.gtin() {
            Some(gtin) => self.store.catalog_item(gtin)?.and_then(|c| c.product_group),
            None => None,
        };
        let (duplicate, expectation, supplier, group) = match (state, &ki) {
            (Some(OperationState::Acceptance(a)), Some(ki)) => (
                a.contains(ki),
                a.expectation(ki),
                a.task().and_then(|t| t.sender),
                a.task().and_then(|t| t.product_group),
            ),
            (Some(OperationState::WriteOff(w)), Some(ki)) => {
                (w.contains(ki), Expectation::NoList, None, None)
            }
            (Some(OperationState::Shipment(s)), Some(ki)) => {
                (s.contains(ki), s.expectation(ki), None, None)
            }
            (Some(OperationState::Return(r)), Some(ki)) => {
                (r.contains(ki), Expectation::NoList, None, None)
            }
            (Some(OperationState::Inventory(i)), Some(ki)) => {
                (i.contains(ki), Expectation::NoList, None, None)
            }
            (Some(OperationState::Reaggregation(r)), Some(ki)) => {
                // What goes into a box joins its product group: the first unit added, else
                // the first this terminal packed into it.
                let group = match (r.mode(), r.sscc()) {
                    (Some(ReaggregationMode::Adding | ReaggregationMode::Moving), Some(sscc)) => {
                        let first = match r.units().first() {
                            Some(unit) => Some(*unit),
                            None => self.store.aggregate_items(sscc)?.and_then(|items| {
                                items.into_iter().find_map(|i| match i {
                                    AggregateItem::Code(unit) => Some(unit),
                                    AggregateItem::Box(_) => None,
                                })
                            }),
                        };
                        match first {
                            Some(unit) => self.group_of(&unit)?,
                            None => None,
                        }
                    }
                    _ => None,
                };
                (r.contains(ki), Expectation::NoList, None, group)
            }
            (Some(OperationState::Aggregation(g)), Some(ki)) => {
                // One box, one product group: GIS MT takes one group per aggregation
                // document, so the box's first unit sets it for the rest.
                let first = g.open_aggregate().and_then(|a| {
                    a.children.iter().find_map(|c| match c {
                        Child::Unit(unit) => Some(*unit),
                        Child::Box(_) => None,
                    })
                });
                let group = match first {
                    Some(unit) => self.group_of(&unit)?,
                    None => None,
                };
                (
                    g.open_aggregate()
                        .is_some_and(|a| a.children.contains(&Child::Unit(*ki))),
                    Expectation::NoList,
                    None,
                    group,
                )
            }
            _ => (false, Expectation::NoList, None, None),
        };
        // Re-aggregation is about a unit's box: the operation judges it against the box
        // scanned (in it to take out, in none to add), with its own reasons, not the rules.
        let judged = match state {
            Some(OperationState::Reaggregation(_)) => status.map(|mut s| {
                if matches!(s.parent, Some(Parent::Sscc(_))) {
                    s.parent = None;
                }
                s
            }),
            // A unit of a box the operator opened in this shipment is out of it already.
            Some(OperationState::Shipment(shipment)) => status.map(|mut s| {
                if let Some(Parent::Sscc(sscc)) = s.parent
                    && shipment.is_opened(sscc)
                {
                    s.parent = None;
                }
                s
            }),
            _ => status,
        };
        let facts = Facts {
            status: judged.as_ref(),
            block,
            catalog_group,
            last_sync,
            duplicate_in_document: duplicate,
            expectation,
        };
        let context = Context {
            operation: state.map_or(OperationKind::Info, OperationState::kind),
            own_inn: self.settings.own_inn,
            supplier_inn: supplier,
            product_group: group,
        };
        let verdict = validate(code, &facts, &context, &self.settings.policy, now);
        Ok((verdict, status))
    }

    /// Takes the SSCC serial range the hub gave at enrollment.
    pub fn adopt_sscc_serials(&mut self, range: tally_wire::SerialRange) -> anyhow::Result<()> {
        self.store.adopt_sscc_serials(range.first, range.last)?;
        Ok(())
    }

    /// A unit's product group: its cached status says it, else the catalog knows its GTIN.
    fn group_of(&self, ki: &Ki) -> anyhow::Result<Option<ProductGroup>> {
        if let Some(pg) = self.store.status(ki)?.and_then(|s| s.product_group) {
            return Ok(Some(pg));
        }
        Ok(self
            .store
            .catalog_item(ki.gtin())?
            .and_then(|c| c.product_group))
    }

    /// Everything the replica knows about a scan, judged for looking it up: the Code info
    /// screen. Changes nothing.
    pub fn inspect(&self, raw: &[u8], now: Timestamp) -> anyhow::Result<Inspection> {
        let code = match parse(raw, &self.settings.parse) {
            Ok(code) => code,
            Err(rejection) => return Ok(Inspection::Unreadable(rejection)),
        };
        let (verdict, status) = self.judge(&code, None, now)?;
        let catalog = match code.gtin() {
            Some(gtin) => self.store.catalog_item(gtin)?,
            None => None,
        };
        let contents = match code.sscc() {
            Some(sscc) => self.store.aggregate_items(sscc)?,
            None => None,
        };
        Ok(Inspection::Code(Box::new(CodeReport {
            code,
            verdict,
            status,
            catalog,
            contents,
        })))
    }

    /// Who is signed in: operations begun from now on carry their id.
    pub fn set_operator(&mut self, operator: &str) {
        operator.clone_into(&mut self.settings.operator);
    }

    pub fn settings(&self) -> &DeskSettings {
        &self.settings
    }

    /// A command from the operator; refused commands change nothing.
    pub fn command(
        &mut self,
        command: Command,
        now: Timestamp,
    ) -> anyhow::Result<Result<ScanId, Refusal>> {
        // A generated label takes a serial only when the operation can open it.
        let label = match &command {
            Command::OpenGenerated(_) => {
                match self.operation() {
                    Some(OperationState::Aggregation(g)) => {
                        if let Some(a) = g.open_aggregate() {
                            return Ok(Err(Refusal::AlreadyOpen { sscc: a.sscc }));
                        }
                    }
                    _ => return Ok(Err(Refusal::WrongChild)),
                }
                let prefix = self
                    .settings
                    .company_prefix
                    .clone()
                    .ok_or_else(|| anyhow!("no GS1 company prefix is configured"))?;
                let serial = self.store.next_sscc_serial()?;
                Some(Sscc::compose(0, &prefix, serial).ok_or_else(|| {
                    anyhow!("SSCC serial {serial} does not fit company prefix {prefix}")
                })?)
            }
            _ => None,
        };
        // Inventory: an opened box expects what this terminal knows it holds.
        let opened_units = match (self.operation(), &command) {
            (Some(OperationState::Inventory(_)), Command::Open { sscc, .. }) => {
                self.store.label_units(*sscc)?
            }
            _ => Vec::new(),
        };
        let open = self
            .open
            .as_mut()
            .ok_or_else(|| anyhow!("no operation is open"))?;
        let applied = match (&mut open.state, command) {
            (OperationState::Aggregation(g), Command::OpenGenerated(level)) => match label {
                Some(sscc) => g.apply(AggregationEvent::Open { sscc, level }),
                None => Err(Refusal::NothingOpen),
            },
            (OperationState::Aggregation(g), Command::Open { sscc, level }) => {
                g.apply(AggregationEvent::Open { sscc, level })
            }
            (OperationState::Aggregation(g), Command::Remove(child)) => {
                g.apply(AggregationEvent::Remove(child))
            }
            (OperationState::Aggregation(g), Command::Close) => g.apply(AggregationEvent::Close),
            (OperationState::Acceptance(a), Command::Exclude(ki)) => {
                a.apply(AcceptanceEvent::Exclude(ki))
            }
            (OperationState::WriteOff(w), Command::Confirm { supervisor }) => {
                w.apply(WriteOffEvent::Confirmed { supervisor })
            }
            (OperationState::Reaggregation(r), Command::Mode(mode)) => {
                r.apply(ReaggregationEvent::Mode(mode))
            }
            // Opening a label in a shipment breaks it up: its units ship one by one.
            (OperationState::Shipment(s), Command::Open { sscc, .. }) => {
                s.apply(ShipmentEvent::Open(sscc))
            }
            (OperationState::Shipment(s), Command::Remove(Child::Unit(ki))) => {
                s.apply(ShipmentEvent::Remove(ki))
            }
            (OperationState::Return(r), Command::Damaged) => r.apply(ReturnEvent::Damaged),
            (OperationState::Inventory(i), Command::Open { sscc, .. }) => {
                i.apply(InventoryEvent::Open(PackedLabel {
                    sscc,
                    units: opened_units,
                }))
            }
            (OperationState::Inventory(i), Command::Confirm { supervisor }) => {
                i.apply(InventoryEvent::Confirmed { supervisor })
            }
            _ => Err(Refusal::WrongChild),
        };
        if let Err(refusal) = applied {
            return Ok(Err(refusal));
        }
        Ok(Ok(self.commit_last(now, &plain_accept(), None)?))
    }

    /// Writes the operation's last event to the journal; on failure the event is taken back,
    /// so memory never runs ahead of the disk.
    fn commit_last(
        &mut self,
        now: Timestamp,
        verdict: &Verdict,
        code: Option<&MarkingCode>,
    ) -> anyhow::Result<ScanId> {
        let open = self
            .open
            .as_mut()
            .ok_or_else(|| anyhow!("no operation is open"))?;
        let entry = open
            .state
            .last_entry()
            .ok_or_else(|| anyhow!("nothing to record"))?;
        let mut detail = entry.detail.clone();
        if let Value::Object(map) = &mut detail {
            map.insert(
                "findings".into(),
                json!(
                    verdict
                        .findings
                        .iter()
                        .map(|(f, _)| f.code())
                        .collect::<Vec<_>>()
                ),
            );
            if let Some(code) = code {
                map.insert("km".into(), json!(code.canonical()));
            }
        }
        let detail = detail.to_string();
        let ki = code.and_then(MarkingCode::ki);
        let scan = NewScan {
            seq: open.next_seq,
            at: now,
            action: &entry.action,
            code: &entry.code,
            ki,
            verdict: verdict.outcome.code(),
            detail: &detail,
        };
        match self.store.record_scan(open.id, &scan) {
            Ok(id) => {
                open.next_seq += 1;
                Ok(id)
            }
            Err(error) => {
                let _ = open.state.undo();
                Err(error.into())
            }
        }
    }

    /// Undoes the last scan or command of the open operation.
    pub fn undo(&mut self) -> anyhow::Result<Result<(), Refusal>> {
        let open = self
            .open
            .as_mut()
            .ok_or_else(|| anyhow!("no operation is open"))?;
        if self.store.undo_last_scan(open.id)?.is_none() {
            return Ok(Err(Refusal::NothingToUndo));
        }
        open.next_seq = open.next_seq.saturating_sub(1);
        Ok(open.state.undo())
    }

    /// Finishes the open operation into one queue row; refused when the document is not
    /// complete (an open box, a missing confirmation, nothing scanned).
    pub fn finish(&mut self, now: Timestamp) -> anyhow::Result<Result<QueuedOperation, Refusal>> {
        let open = self
            .open
            .as_ref()
            .ok_or_else(|| anyhow!("no operation is open"))?;
        let payload = match open.state.document(now) {
            Ok(document) => document.payload().to_string(),
            Err(refusal) => return Ok(Err(refusal)),
        };
        // The replica learns of boxes built or unpacked here, and of units accepted or written
        // off, in the transaction that queues the operation: the next scan of a packed unit is
        // judged "already in a box" before the hub confirms anything, and a failure of any of
        // it leaves the operation open with nothing queued.
        let mut effects = Effects::default();
        match &open.state {
            OperationState::Aggregation(g) => {
                for aggregate in g.closed() {
                    let items: Vec<AggregateItem> = aggregate
                        .children
                        .iter()
                        .map(|c| match c {
                            Child::Unit(ki) => AggregateItem::Code(*ki),
                            Child::Box(sscc) => AggregateItem::Box(*sscc),
                        })
                        .collect();
                    effects.aggregates.push((aggregate.sscc, items));
                }
            }
            OperationState::Disaggregation(d) => effects.unpacked = d.labels().to_vec(),
            OperationState::Acceptance(a) => effects.statuses.push(LocalStatuses {
                codes: a.summary().accepted,
                status: CisStatus::Introduced,
                owner: self.settings.own_inn,
            }),
            OperationState::Reaggregation(r) => {
                if let (Some(sscc), Some(mode)) = (r.sscc(), r.mode()) {
                    // `Effects.aggregates` replaces a box's whole list, so the new list is
                    // what this terminal knew of the box with the change made.
                    let known = self.store.aggregate_items(sscc)?;
                    let had_list = known.is_some();
                    let mut items = known.unwrap_or_default();
                    let units = r.units().iter().map(|ki| AggregateItem::Code(*ki));
                    match mode {
                        ReaggregationMode::Adding | ReaggregationMode::Moving => {
                            items.extend(units)
                        }
                        ReaggregationMode::Removing => {
                            let out: Vec<AggregateItem> = units.collect();
                            items.retain(|i| !out.contains(i));
                        }
                    }
                    // A move empties the boxes the units came from of them, where this
                    // terminal keeps their lists.
                    if mode == ReaggregationMode::Moving {
                        for (from, moved) in r.summary().map(|s| s.taken_from).unwrap_or_default() {
                            if let Some(mut left) = self.store.aggregate_items(from)? {
                                left.retain(
                                    |i| !matches!(i, AggregateItem::Code(ki) if moved.contains(ki)),
                                );
                                effects.aggregates.push((from, left));
                            }
                        }
                    }
                    // A box only GIS MT knows gets a list of what was added here, so those
                    // units count as packed before the next sync; units taken out of any box
                    // are out of it here at once, whatever the replica's parent says.
                    if had_list || mode != ReaggregationMode::Removing {
                        effects.aggregates.push((sscc, items));
                    }
                    if mode == ReaggregationMode::Removing {
                        effects.unboxed = r.units().to_vec();
                    }
                }
            }
            OperationState::WriteOff(w) => {
                effects.statuses.push(LocalStatuses {
                    codes: w.codes().copied().collect(),
                    status: CisStatus::Retired,
                    owner: None,
                });
                // A new label goes on goods that stay ours and in circulation.
                let new: Vec<Ki> = w.replacements().map(|(_, new)| new).collect();
                if !new.is_empty() {
                    effects.statuses.push(LocalStatuses {
                        codes: new,
                        status: CisStatus::Introduced,
                        owner: self.settings.own_inn,
                    });
                }
            }
            // Opened boxes are unpacked here at once. What shipped stays ours and in
            // circulation until the receiver accepts; the hub refuses shipping it twice.
            OperationState::Shipment(s) => {
                let opened = s.summary().opened;
                for sscc in &opened {
                    effects.unboxed.extend(self.store.label_units(*sscc)?);
                }
                effects.unpacked = opened;
            }
            // What came back, and the new labels on returned goods, are ours and in
            // circulation again.
            OperationState::Return(r) => effects.statuses.push(LocalStatuses {
                codes: r.units().chain(r.relabelled()).copied().collect(),
                status: CisStatus::Introduced,
                owner: self.settings.own_inn,
            }),
            // A settled count writes off what it did not find, as a write-off would.
            OperationState::Inventory(i) => {
                if i.header().settle.is_some() {
                    effects.statuses.push(LocalStatuses {
                        codes: i.summary().missing,
                        status: CisStatus::Retired,
                        owner: None,
                    });
                }
            }
        }
        let queued = self
            .store
            .finish_operation(open.id, now, &payload, &effects)?;
        self.open = None;
        Ok(Ok(queued))
    }
}

/// What the desk looked up for one scan, beyond the code itself.
struct Scanned<'a> {
    /// Inventory: how the unit stands.
    counted: Counted,
    status: Option<&'a CodeStatus>,
    /// Re-aggregation: the box the unit sits in.
    parent: Option<Sscc>,
    /// Re-aggregation: what a box built here holds.
    contents: Option<&'a [AggregateItem]>,
    /// Shipment: the units a scanned label holds.
    label_units: Option<&'a [Ki]>,
}

/// Turns a scanned code into the open operation's event and applies it.
fn apply_scan(
    state: &mut OperationState,
    code: &MarkingCode,
    scanned: &Scanned<'_>,
) -> Result<(), Refusal> {
    let ki = code.ki();
    let sscc = code.sscc();
    let status = scanned.status.map(|s| s.status);
    match (state, ki, sscc) {
        (OperationState::Acceptance(a), Some(ki), _) => a.apply(AcceptanceEvent::Unit(ki)),
        (OperationState::Acceptance(a), None, Some(sscc)) => a.apply(AcceptanceEvent::Box(sscc)),
        (OperationState::Aggregation(g), Some(ki), _) => g.apply(AggregationEvent::Add {
            child: Child::Unit(ki),
            status,
        }),
        (OperationState::Aggregation(g), None, Some(sscc)) => match g.open_aggregate() {
            None => g.apply(AggregationEvent::Open {
                sscc,
                level: Level::Box,
            }),
            Some(a) if a.level == Level::Pallet => g.apply(AggregationEvent::Add {
                child: Child::Box(sscc),
                status: None,
            }),
            Some(a) => Err(Refusal::AlreadyOpen { sscc: a.sscc }),
        },
        (OperationState::Disaggregation(d), None, Some(sscc)) => d.add(sscc),
        (OperationState::Reaggregation(r), Some(ki), _) => r.apply(ReaggregationEvent::Unit {
            ki,
            parent: scanned.parent,
        }),
        (OperationState::Reaggregation(r), None, Some(sscc)) => {
            let contents = scanned.contents;
            // A pallet built here holds boxes: re-aggregation changes boxes of units.
            if contents
                .is_some_and(|items| items.iter().any(|i| matches!(i, AggregateItem::Box(_))))
            {
                return Err(Refusal::NotABox { sscc });
            }
            r.apply(ReaggregationEvent::Box {
                sscc,
                units: contents.map(|items| u32::try_from(items.len()).unwrap_or(u32::MAX)),
            })
        }
        (OperationState::WriteOff(w), Some(ki), _) => {
            // A code reason on goods in circulation is re-marking: the goods stay, and the
            // next scan is the new label's code.
            let in_circulation = matches!(
                status,
                Some(CisStatus::Introduced | CisStatus::IntroducedReturned)
            );
            if w.header().reason.is_code_reason() && in_circulation {
                w.apply(WriteOffEvent::Remark(ki))
            } else {
                w.apply(WriteOffEvent::Unit(ki))
            }
        }
        (OperationState::Shipment(s), Some(ki), _) => s.apply(ShipmentEvent::Unit(ki)),
        (OperationState::Return(r), Some(ki), _) => r.apply(ReturnEvent::Unit(ki)),
        (OperationState::Inventory(i), Some(ki), _) => i.apply(InventoryEvent::Unit {
            ki,
            counted: scanned.counted,
        }),
        (OperationState::Inventory(i), None, Some(sscc)) => {
            i.apply(InventoryEvent::Label(PackedLabel {
                sscc,
                units: scanned.label_units.unwrap_or_default().to_vec(),
            }))
        }
        (OperationState::Shipment(s), None, Some(sscc)) => {
            s.apply(ShipmentEvent::Label(PackedLabel {
                sscc,
                units: scanned.label_units.unwrap_or_default().to_vec(),
            }))
        }
        _ => Err(Refusal::WrongChild),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_domain::gs1::Gs1Date;
    use tally_domain::operation::{
        Acceptance, Aggregation, Disaggregation, Reaggregation, Shipment, ShipmentHeader, WriteOff,
        WriteOffHeader, WriteOffReason,
    };

    const NOW: Timestamp = Timestamp(1_795_305_600_000);
    const OURS: &str = "7707083893";
    const SUPPLIER: &str = "7736207543";

    fn code(serial: &str) -> String {
        format!("0104600840749372215{serial}\x1d93Ab1+")
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tally-desk-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("replica.db")
    }

    /// A replica where units XyZ1a..XyZ1e belong to the supplier and XyZ2a..XyZ2e to us.
    fn replica(path: &std::path::Path) -> Store {
        let store = Store::open(path).unwrap();
        let mut lines = String::new();
        for (prefix, owner) in [("XyZ1", SUPPLIER), ("XyZ2", OURS)] {
            for s in ["a", "b", "c", "d", "e"] {
                lines.push_str(&format!(
                    r#"{{"cis":"01046008407493722159{prefix}{s}","status":"INTRODUCED","ownerInn":"{owner}","productGroupId":8}}"#
                ));
                lines.push('\n');
            }
        }
        let mut importer = store.importer().unwrap();
        let report = importer.import_statuses(lines.as_bytes(), NOW).unwrap();
        assert_eq!(report.rejected, 0);
        store
    }

    fn settings() -> DeskSettings {
        DeskSettings {
            operator: "op-7".into(),
            own_inn: Inn::parse(OURS),
            parse: ParseOptions::default(),
            policy: Policy::default(),
            capacity: Capacity {
                box_units: 2,
                pallet_boxes: 2,
            },
            company_prefix: Some("4600840".into()),
        }
    }

    fn outcome(o: &ScanOutcome) -> String {
        match o {
            ScanOutcome::Unreadable(r) => format!("unreadable {}", r.code()),
            ScanOutcome::Refused { verdict, .. } => {
                format!("refused {}", verdict.headline().map_or("", |f| f.code()))
            }
            ScanOutcome::NeedsConfirmation { verdict, .. } => {
                format!("confirm {}", verdict.headline().map_or("", |f| f.code()))
            }
            ScanOutcome::NotTaken { refusal, .. } => format!("not taken {}", refusal.code()),
            ScanOutcome::Recorded { .. } => "recorded".into(),
        }
    }

    #[test]
    fn acceptance_survives_a_restart_and_finishes_into_one_queue_row() {
        let path = scratch("accept");
        let mut desk = Desk::open(replica(&path), settings()).unwrap();
        desk.begin(OperationState::Acceptance(Acceptance::new(None)), NOW)
            .unwrap();
        let steps = [
            (code("9XyZ1a"), false, "recorded"),
            (code("9XyZ1a"), false, "refused duplicate_in_document"),
            (code("9XyZ2a"), false, "confirm already_ours"),
            (code("9XyZ9z"), false, "confirm unknown_code"),
            (code("9XyZ9z"), true, "recorded"),
            ("hello".to_string(), false, "unreadable not_marking_code"),
            (code("9XyZ1b"), false, "recorded"),
        ];
        for (raw, confirmed, want) in &steps {
            let got = desk.scan(raw.as_bytes(), *confirmed, NOW).unwrap();
            assert_eq!(outcome(&got), *want, "{raw}");
        }
        // The terminal stops here; a new desk on the same file rebuilds the open acceptance.
        drop(desk);
        let mut desk = Desk::open(Store::open(&path).unwrap(), settings()).unwrap();
        let Some(OperationState::Acceptance(a)) = desk.operation() else {
            panic!("the acceptance did not survive the restart");
        };
        assert_eq!(a.counters().scanned, 3);
        assert_eq!(desk.undo().unwrap(), Ok(()));
        let queued = desk.finish(NOW).unwrap().unwrap();
        assert_eq!(queued.kind, "acceptance");
        let payload: Value = serde_json::from_str(&queued.payload).unwrap();
        assert_eq!(
            payload["accepted"],
            json!(["01046008407493722159XyZ1a", "01046008407493722159XyZ9z"])
        );
        assert!(desk.operation().is_none());
        assert_eq!(desk.store().pending_queue().unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn what_this_terminal_accepted_or_wrote_off_counts_until_the_next_sync() {
        let path = scratch("local-status");
        let mut desk = Desk::open(replica(&path), settings()).unwrap();
        desk.begin(OperationState::Acceptance(Acceptance::new(None)), NOW)
            .unwrap();
        for serial in ["9XyZ1c", "9XyZ1d"] {
            let got = desk.scan(code(serial).as_bytes(), false, NOW).unwrap();
            assert_eq!(outcome(&got), "recorded");
        }
        let accepted = Timestamp(NOW.0 + 60_000);
        desk.finish(accepted).unwrap().unwrap();
        // Accepted here, so ours at once: it can be written off before any sync.
        let header = WriteOffHeader {
            reason: WriteOffReason::DamageLoss,
            document_number: "WO-1".into(),
            document_date: Gs1Date::from_yymmdd(b"261122").unwrap(),
            needs_supervisor: false,
        };
        desk.begin(OperationState::WriteOff(WriteOff::new(header)), accepted)
            .unwrap();
        let got = desk
            .scan(code("9XyZ1c").as_bytes(), false, accepted)
            .unwrap();
        assert_eq!(outcome(&got), "recorded");
        let written_off = Timestamp(accepted.0 + 60_000);
        desk.finish(written_off).unwrap().unwrap();
        // Written off here: out of circulation at once; the supplier's unit not accepted here
        // is still the supplier's; the accepted one packs.
        desk.begin(
            OperationState::Aggregation(Aggregation::new(settings().capacity)),
            written_off,
        )
        .unwrap();
        desk.command(Command::OpenGenerated(Level::Box), written_off)
            .unwrap()
            .unwrap();
        let scan = |desk: &mut Desk, serial: &str, at: Timestamp| {
            outcome(&desk.scan(code(serial).as_bytes(), false, at).unwrap())
        };
        assert_eq!(
            scan(&mut desk, "9XyZ1c", written_off),
            "refused out_of_circulation"
        );
        assert_eq!(
            scan(&mut desk, "9XyZ1e", written_off),
            "refused foreign_owner"
        );
        assert_eq!(scan(&mut desk, "9XyZ1d", written_off), "recorded");
        // A sync after those operations brings the hub's word; the local one steps back (this
        // replica never heard from a hub, so it still says the supplier's).
        let synced = Timestamp(written_off.0 + 60_000);
        desk.store.record_sync(synced, None).unwrap();
        assert_eq!(desk.undo().unwrap(), Ok(()));
        assert_eq!(scan(&mut desk, "9XyZ1d", synced), "refused foreign_owner");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn aggregation_with_generated_labels_and_capacity() {
        let path = scratch("aggregate");
        let mut desk = Desk::open(replica(&path), settings()).unwrap();
        desk.begin(
            OperationState::Aggregation(Aggregation::new(settings().capacity)),
            NOW,
        )
        .unwrap();
        assert_eq!(
            outcome(&desk.scan(code("9XyZ2a").as_bytes(), false, NOW).unwrap()),
            "not taken nothing_open"
        );
        desk.command(Command::OpenGenerated(Level::Box), NOW)
            .unwrap()
            .unwrap();
        assert_eq!(
            outcome(&desk.scan(code("9XyZ2a").as_bytes(), false, NOW).unwrap()),
            "recorded"
        );
        assert_eq!(
            outcome(&desk.scan(code("9XyZ1c").as_bytes(), false, NOW).unwrap()),
            "refused foreign_owner"
        );
        assert_eq!(
            outcome(&desk.scan(code("9XyZ2b").as_bytes(), false, NOW).unwrap()),
            "recorded"
        );
        assert_eq!(
            outcome(&desk.scan(code("9XyZ2c").as_bytes(), false, NOW).unwrap()),
            "not taken full"
        );
        assert_eq!(
            desk.finish(NOW).unwrap().err().map(|r| r.code()),
            Some("already_open")
        );
        desk.command(Command::Close, NOW).unwrap().unwrap();
        // A scanned label opens the next box.
        assert_eq!(
            outcome(&desk.scan(b"00046008400000000018", false, NOW).unwrap()),
            "unreadable sscc_check_digit"
        );
        let label = Sscc::compose(0, "4600840", 900).unwrap();
        assert_eq!(
            outcome(
                &desk
                    .scan(format!("00{label}").as_bytes(), false, NOW)
                    .unwrap()
            ),
            "recorded"
        );
        assert_eq!(
            outcome(&desk.scan(code("9XyZ2c").as_bytes(), false, NOW).unwrap()),
            "recorded"
        );
        desk.command(Command::Close, NOW).unwrap().unwrap();
        let queued = desk.finish(NOW).unwrap().unwrap();
        let payload: Value = serde_json::from_str(&queued.payload).unwrap();
        let aggregates = payload["aggregates"].as_array().unwrap();
        assert_eq!(aggregates.len(), 2);
        assert_eq!(
            aggregates[0]["sscc"],
            Sscc::compose(0, "4600840", 1).unwrap().to_string()
        );
        assert_eq!(aggregates[0]["children"].as_array().unwrap().len(), 2);
        assert_eq!(aggregates[1]["sscc"], label.to_string());

        // The replica now knows those units are packed; a pallet takes the boxes.
        desk.begin(
            OperationState::Aggregation(Aggregation::new(settings().capacity)),
            NOW,
        )
        .unwrap();
        desk.command(Command::OpenGenerated(Level::Box), NOW)
            .unwrap()
            .unwrap();
        assert_eq!(
            outcome(&desk.scan(code("9XyZ2a").as_bytes(), false, NOW).unwrap()),
            "refused in_aggregate"
        );
        assert_eq!(
            outcome(&desk.scan(code("9XyZ2d").as_bytes(), false, NOW).unwrap()),
            "recorded"
        );
        desk.command(
            Command::Remove(Child::Unit(
                Ki::from_cis("01046008407493722159XyZ2d").unwrap(),
            )),
            NOW,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            desk.finish(NOW).unwrap().err().map(|r| r.code()),
            Some("already_open")
        );
        desk.undo().unwrap().unwrap();
        desk.command(Command::Close, NOW).unwrap().unwrap();
        let pallet = Sscc::compose(1, "4600840", 77).unwrap();
        desk.command(
            Command::Open {
                sscc: pallet,
                level: Level::Pallet,
            },
            NOW,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            outcome(
                &desk
                    .scan(format!("00{label}").as_bytes(), false, NOW)
                    .unwrap()
            ),
            "recorded"
        );
        assert_eq!(
            outcome(&desk.scan(code("9XyZ2e").as_bytes(), false, NOW).unwrap()),
            "not taken wrong_child"
        );
        desk.command(Command::Close, NOW).unwrap().unwrap();
        desk.finish(NOW).unwrap().unwrap();
        assert_eq!(
            desk.store()
                .aggregate_of(&AggregateItem::Box(label))
                .unwrap(),
            Some(pallet)
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_shipment_ships_whole_boxes_as_the_replica_knows_them_and_survives_a_restart() {
        let path = scratch("shipment");
        let store = replica(&path);
        let whole = Sscc::compose(0, "4600840", 81).unwrap();
        let opened = Sscc::compose(0, "4600840", 82).unwrap();
        let mut lines = Vec::new();
        for (sscc, prefix) in [(whole, "XyZ3"), (opened, "XyZ4")] {
            lines.push(format!(r#"{{"cis":"{sscc}","status":"INTRODUCED","ownerInn":"{OURS}","packageType":"LEVEL1"}}"#));
            for s in ["a", "b"] {
                lines.push(format!(
                    r#"{{"cis":"01046008407493722159{prefix}{s}","status":"INTRODUCED","ownerInn":"{OURS}","productGroupId":8,"parent":"{sscc}"}}"#
                ));
            }
        }
        import(&store, &lines);
        assert_eq!(
            store.label_units(whole).unwrap(),
            vec![ki("9XyZ3a"), ki("9XyZ3b")]
        );
        let mut desk = Desk::open(store, settings()).unwrap();
        let header = ShipmentHeader {
            receiver: Inn::parse(SUPPLIER).unwrap(),
            document_number: "РН-17".into(),
            document_date: Gs1Date {
                year: 2026,
                month: 12,
                day: 2,
            },
        };
        desk.begin(OperationState::Shipment(Shipment::new(header, None)), NOW)
            .unwrap();
        scan_all(
            &mut desk,
            &[
                (&code("9XyZ2a"), "recorded"),
                (&code("9XyZ1a"), "refused foreign_owner"),
                (&label(whole), "recorded"),
                (&code("9XyZ3a"), "refused duplicate_in_document"),
                // A unit of a packed box alone: the operator confirms taking it out.
                (&code("9XyZ4a"), "confirm in_aggregate"),
            ],
        );
        // Opened, the box ships unit by unit with no warning.
        let open = Command::Open {
            sscc: opened,
            level: Level::Box,
        };
        assert!(desk.command(open, NOW).unwrap().is_ok());
        scan_all(
            &mut desk,
            &[
                (&code("9XyZ4a"), "recorded"),
                (&label(opened), "not taken opened"),
            ],
        );
        drop(desk);

        let mut desk = Desk::open(Store::open(&path).unwrap(), settings()).unwrap();
        let Some(OperationState::Shipment(s)) = desk.operation() else {
            panic!("the shipment is rebuilt from its journal");
        };
        assert_eq!(s.label_of(&ki("9XyZ3b")), Some(whole));
        let queued = desk.finish(NOW).unwrap().unwrap();
        let payload: Value = serde_json::from_str(&queued.payload).unwrap();
        assert_eq!(
            payload["units"],
            serde_json::json!([ki("9XyZ2a").to_string(), ki("9XyZ4a").to_string()])
        );
        assert_eq!(payload["labels"], serde_json::json!([whole.to_string()]));
        assert_eq!(payload["opened"], serde_json::json!([opened.to_string()]));
        assert_eq!(payload["receiver_inn"], SUPPLIER);
        // Unpacked here at once: the other unit of the opened box is loose on this terminal.
        assert!(desk.store().local_unboxed(&ki("9XyZ4b")).unwrap().is_some());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn box_labels_are_judged_by_what_gis_mt_says_of_them() {
        let path = scratch("labels");
        let store = replica(&path);
        let ours = Sscc::compose(0, "4600840", 71).unwrap();
        let foreign = Sscc::compose(0, "4600840", 72).unwrap();
        let gone = Sscc::compose(0, "4600840", 73).unwrap();
        let unknown = Sscc::compose(0, "4600840", 74).unwrap();
        let lines = [
            format!(r#"{{"cis":"{ours}","status":"INTRODUCED","ownerInn":"{OURS}","packageType":"LEVEL1"}}"#),
            format!(r#"{{"cis":"{foreign}","status":"INTRODUCED","ownerInn":"{SUPPLIER}","packageType":"LEVEL1"}}"#),
            format!(r#"{{"cis":"{gone}","status":"WRITTEN_OFF","ownerInn":"{OURS}","packageType":"LEVEL1"}}"#),
        ]
        .join("\n");
        let report = store
            .importer()
            .unwrap()
            .import_statuses(lines.as_bytes(), NOW)
            .unwrap();
        assert_eq!(report.rejected, 0);
        let mut desk = Desk::open(store, settings()).unwrap();
        desk.begin(OperationState::Disaggregation(Disaggregation::new()), NOW)
            .unwrap();
        let label = |sscc: Sscc| format!("00{sscc}");
        for (sscc, expected) in [
            (foreign, "refused foreign_owner"),
            (gone, "refused out_of_circulation"),
            (ours, "recorded"),
            (unknown, "recorded"),
        ] {
            assert_eq!(
                outcome(&desk.scan(label(sscc).as_bytes(), false, NOW).unwrap()),
                expected,
                "{sscc}"
            );
        }
    }

    #[test]
    fn a_box_takes_one_product_group() {
        let path = scratch("one-group");
        let store = replica(&path);
        let water = "0104690257528523215WaTer1";
        let line = format!(
            r#"{{"cis":"{water}","status":"INTRODUCED","ownerInn":"{OURS}","productGroupId":13}}"#
        );
        let report = store
            .importer()
            .unwrap()
            .import_statuses(line.as_bytes(), NOW)
            .unwrap();
        assert_eq!(report.rejected, 0);
        let mut desk = Desk::open(store, settings()).unwrap();
        desk.begin(
            OperationState::Aggregation(Aggregation::new(settings().capacity)),
            NOW,
        )
        .unwrap();
        desk.command(Command::OpenGenerated(Level::Box), NOW)
            .unwrap()
            .unwrap();
        assert_eq!(
            outcome(&desk.scan(code("9XyZ2a").as_bytes(), false, NOW).unwrap()),
            "recorded"
        );
        let scanned = format!("{water}\x1d93Wa1+");
        assert_eq!(
            outcome(&desk.scan(scanned.as_bytes(), false, NOW).unwrap()),
            "refused wrong_product_group",
            "a milk box takes no water"
        );
        assert_eq!(
            outcome(&desk.scan(code("9XyZ2b").as_bytes(), false, NOW).unwrap()),
            "recorded"
        );
    }

    #[test]
    fn write_off_needs_its_supervisor() {
        let path = scratch("writeoff");
        let mut desk = Desk::open(replica(&path), settings()).unwrap();
        let header = WriteOffHeader {
            reason: WriteOffReason::DamageLoss,
            document_number: "АКТ-1".into(),
            document_date: Gs1Date {
                year: 2026,
                month: 11,
                day: 22,
            },
            needs_supervisor: true,
        };
        desk.begin(OperationState::WriteOff(WriteOff::new(header)), NOW)
            .unwrap();
        assert!(
            desk.begin(OperationState::Acceptance(Acceptance::new(None)), NOW)
                .is_err()
        );
        assert_eq!(
            outcome(&desk.scan(code("9XyZ2d").as_bytes(), false, NOW).unwrap()),
            "recorded"
        );
        assert_eq!(
            desk.finish(NOW).unwrap().err(),
            Some(Refusal::SupervisorRequired)
        );
        desk.command(
            Command::Confirm {
                supervisor: "sv-1".into(),
            },
            NOW,
        )
        .unwrap()
        .unwrap();
        drop(desk);
        let mut desk = Desk::open(Store::open(&path).unwrap(), settings()).unwrap();
        let queued = desk.finish(NOW).unwrap().unwrap();
        let payload: Value = serde_json::from_str(&queued.payload).unwrap();
        assert_eq!(payload["gis_mt_reason"], "DAMAGE_LOSS");
        assert_eq!(payload["supervisor"], "sv-1");
        assert_eq!(payload["codes"], json!(["01046008407493722159XyZ2d"]));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    /// Adds status lines to a replica, as a pull would.
    fn import(store: &Store, lines: &[String]) {
        let text = lines.join("\n");
        let report = store
            .importer()
            .unwrap()
            .import_statuses(text.as_bytes(), NOW)
            .unwrap();
        assert_eq!(report.rejected, 0, "{text}");
    }

    fn ki(serial: &str) -> Ki {
        Ki::from_cis(&format!("0104600840749372215{serial}")).unwrap()
    }

    fn label(sscc: Sscc) -> String {
        format!("00{sscc}")
    }

    fn items(desk: &Desk, sscc: Sscc) -> Option<Vec<AggregateItem>> {
        desk.store()
            .aggregate_items(sscc)
            .unwrap()
            .map(|mut items| {
                items.sort_by_key(|i| match i {
                    AggregateItem::Code(ki) => ki.to_string(),
                    AggregateItem::Box(sscc) => sscc.to_string(),
                });
                items
            })
    }

    fn scan_all(desk: &mut Desk, steps: &[(&str, &str)]) {
        for (raw, want) in steps {
            let got = desk.scan(raw.as_bytes(), false, NOW).unwrap();
            assert_eq!(outcome(&got), *want, "{raw:?}");
        }
    }

    #[test]
    fn a_move_empties_the_box_a_unit_came_from_and_fills_the_other() {
        let path = scratch("reaggregate-move");
        let settings = DeskSettings {
            capacity: Capacity {
                box_units: 3,
                pallet_boxes: 2,
            },
            ..settings()
        };
        let mut desk = Desk::open(replica(&path), settings.clone()).unwrap();
        let pack = |desk: &mut Desk, units: &[&str]| -> Sscc {
            desk.begin(
                OperationState::Aggregation(Aggregation::new(settings.capacity)),
                NOW,
            )
            .unwrap();
            desk.command(Command::OpenGenerated(Level::Box), NOW)
                .unwrap()
                .unwrap();
            for unit in units {
                scan_all(desk, &[(&code(unit), "recorded")]);
            }
            desk.command(Command::Close, NOW).unwrap().unwrap();
            desk.finish(NOW).unwrap().unwrap();
            match desk
                .store()
                .aggregate_of(&AggregateItem::Code(ki(units[0])))
                .unwrap()
            {
                Some(sscc) => sscc,
                None => panic!("{} was not packed", units[0]),
            }
        };
        let from = pack(&mut desk, &["9XyZ2a", "9XyZ2b"]);
        let to = pack(&mut desk, &["9XyZ2c"]);
        assert_ne!(from, to);

        desk.begin(
            OperationState::Reaggregation(Reaggregation::new(settings.capacity.box_units)),
            NOW,
        )
        .unwrap();
        desk.command(Command::Mode(ReaggregationMode::Moving), NOW)
            .unwrap()
            .unwrap();
        scan_all(
            &mut desk,
            &[
                (&label(to), "recorded"),
                (&code("9XyZ2c"), "not taken already_inside"),
                (&code("9XyZ2a"), "recorded"),
            ],
        );
        let queued = desk.finish(NOW).unwrap().unwrap();
        let payload: Value = serde_json::from_str(&queued.payload).unwrap();
        assert_eq!(
            payload,
            json!({"sscc": to.to_string(), "type": "moving", "units": [ki("9XyZ2a").to_string()],
                   "taken_from": [{"sscc": from.to_string(), "units": [ki("9XyZ2a").to_string()]}]})
        );
        assert_eq!(
            items(&desk, from),
            Some(vec![AggregateItem::Code(ki("9XyZ2b"))])
        );
        assert_eq!(
            items(&desk, to),
            Some(vec![
                AggregateItem::Code(ki("9XyZ2a")),
                AggregateItem::Code(ki("9XyZ2c")),
            ])
        );
        assert_eq!(
            desk.store()
                .aggregate_of(&AggregateItem::Code(ki("9XyZ2a")))
                .unwrap(),
            Some(to)
        );
    }

    #[test]
    fn reaggregation_adds_to_and_takes_from_a_box_built_here() {
        let path = scratch("reaggregate-local");
        let settings = DeskSettings {
            capacity: Capacity {
                box_units: 3,
                pallet_boxes: 2,
            },
            ..settings()
        };
        let mut desk = Desk::open(replica(&path), settings.clone()).unwrap();
        // A box of two built here.
        desk.begin(
            OperationState::Aggregation(Aggregation::new(settings.capacity)),
            NOW,
        )
        .unwrap();
        desk.command(Command::OpenGenerated(Level::Box), NOW)
            .unwrap()
            .unwrap();
        let boxed = Sscc::compose(0, "4600840", 1).unwrap();
        scan_all(
            &mut desk,
            &[(&code("9XyZ2a"), "recorded"), (&code("9XyZ2b"), "recorded")],
        );
        desk.command(Command::Close, NOW).unwrap().unwrap();
        desk.finish(NOW).unwrap().unwrap();

        // One more unit goes in.
        desk.begin(
            OperationState::Reaggregation(Reaggregation::new(settings.capacity.box_units)),
            NOW,
        )
        .unwrap();
        scan_all(
            &mut desk,
            &[
                (&code("9XyZ2c"), "not taken box_first"),
                (&label(boxed), "recorded"),
                (&code("9XyZ2c"), "not taken choose_mode"),
            ],
        );
        desk.command(Command::Mode(ReaggregationMode::Adding), NOW)
            .unwrap()
            .unwrap();
        assert_eq!(
            desk.command(Command::Mode(ReaggregationMode::Adding), NOW)
                .unwrap()
                .err()
                .map(|r| r.code()),
            Some("already_chosen")
        );
        scan_all(
            &mut desk,
            &[
                // The validator lets the box question through; the operation answers it.
                (&code("9XyZ2a"), "not taken already_inside"),
                (&code("9XyZ1c"), "refused foreign_owner"),
                (&code("9XyZ2c"), "recorded"),
                (&code("9XyZ2c"), "refused duplicate_in_document"),
                (&code("9XyZ2d"), "not taken full"),
            ],
        );
        assert_eq!(
            desk.command(Command::Mode(ReaggregationMode::Removing), NOW)
                .unwrap()
                .err()
                .map(|r| r.code()),
            Some("mode_fixed")
        );
        // A restart rebuilds it from the journal.
        drop(desk);
        let mut desk = Desk::open(Store::open(&path).unwrap(), settings.clone()).unwrap();
        let Some(OperationState::Reaggregation(r)) = desk.operation() else {
            panic!("the re-aggregation did not survive the restart");
        };
        assert_eq!(r.units(), &[ki("9XyZ2c")]);
        assert_eq!(r.fill(), Some(3));
        let queued = desk.finish(NOW).unwrap().unwrap();
        assert_eq!(queued.kind, "reaggregation");
        let payload: Value = serde_json::from_str(&queued.payload).unwrap();
        assert_eq!(
            payload,
            json!({"sscc": boxed.to_string(), "type": "adding", "units": [ki("9XyZ2c").to_string()]})
        );
        assert_eq!(
            items(&desk, boxed),
            Some(vec![
                AggregateItem::Code(ki("9XyZ2a")),
                AggregateItem::Code(ki("9XyZ2b")),
                AggregateItem::Code(ki("9XyZ2c")),
            ])
        );
        // Packed here now: another box refuses it.
        desk.begin(
            OperationState::Aggregation(Aggregation::new(settings.capacity)),
            NOW,
        )
        .unwrap();
        desk.command(Command::OpenGenerated(Level::Box), NOW)
            .unwrap()
            .unwrap();
        scan_all(
            &mut desk,
            &[
                (&code("9XyZ2c"), "refused in_aggregate"),
                (&code("9XyZ2d"), "recorded"),
            ],
        );
        desk.command(Command::Close, NOW).unwrap().unwrap();
        desk.finish(NOW).unwrap().unwrap();

        // One unit comes out; only what the box holds can.
        desk.begin(
            OperationState::Reaggregation(Reaggregation::new(settings.capacity.box_units)),
            NOW,
        )
        .unwrap();
        desk.command(Command::Mode(ReaggregationMode::Removing), NOW)
            .unwrap()
            .unwrap();
        scan_all(
            &mut desk,
            &[
                (&label(boxed), "recorded"),
                (&code("9XyZ2d"), "not taken not_in_box"),
                (&code("9XyZ2a"), "recorded"),
            ],
        );
        let queued = desk.finish(NOW).unwrap().unwrap();
        let payload: Value = serde_json::from_str(&queued.payload).unwrap();
        assert_eq!(payload["type"], "removing");
        assert_eq!(
            items(&desk, boxed),
            Some(vec![
                AggregateItem::Code(ki("9XyZ2b")),
                AggregateItem::Code(ki("9XyZ2c")),
            ])
        );
        assert_eq!(
            desk.store()
                .aggregate_of(&AggregateItem::Code(ki("9XyZ2a")))
                .unwrap(),
            None
        );

        // Taken out, it packs again; and a pallet is not a box to change.
        desk.begin(
            OperationState::Aggregation(Aggregation::new(settings.capacity)),
            NOW,
        )
        .unwrap();
        desk.command(Command::OpenGenerated(Level::Box), NOW)
            .unwrap()
            .unwrap();
        scan_all(&mut desk, &[(&code("9XyZ2a"), "recorded")]);
        desk.command(Command::Close, NOW).unwrap().unwrap();
        desk.command(Command::OpenGenerated(Level::Pallet), NOW)
            .unwrap()
            .unwrap();
        let Some(OperationState::Aggregation(g)) = desk.operation() else {
            panic!("no aggregation");
        };
        let pallet = g.open_aggregate().unwrap().sscc;
        scan_all(&mut desk, &[(&label(boxed), "recorded")]);
        desk.command(Command::Close, NOW).unwrap().unwrap();
        desk.finish(NOW).unwrap().unwrap();
        desk.begin(
            OperationState::Reaggregation(Reaggregation::new(settings.capacity.box_units)),
            NOW,
        )
        .unwrap();
        scan_all(&mut desk, &[(&label(pallet), "not taken not_a_box")]);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn reaggregation_of_a_box_only_the_replica_knows() {
        let path = scratch("reaggregate-replica");
        let store = replica(&path);
        let boxed = Sscc::compose(0, "4600840", 500).unwrap();
        let water = "0104690257528523215WaTer1";
        import(
            &store,
            &[
                format!(
                    r#"{{"cis":"01046008407493722159BoX1a","status":"INTRODUCED","ownerInn":"{OURS}","productGroupId":8,"parent":"{boxed}"}}"#
                ),
                format!(
                    r#"{{"cis":"01046008407493722159BoX1b","status":"INTRODUCED","ownerInn":"{OURS}","productGroupId":8,"parent":"{boxed}"}}"#
                ),
                format!(
                    r#"{{"cis":"{water}","status":"INTRODUCED","ownerInn":"{OURS}","productGroupId":13}}"#
                ),
            ],
        );
        let mut desk = Desk::open(store, settings()).unwrap();
        desk.begin(
            OperationState::Reaggregation(Reaggregation::new(settings().capacity.box_units)),
            NOW,
        )
        .unwrap();
        scan_all(&mut desk, &[(&label(boxed), "recorded")]);
        desk.command(Command::Mode(ReaggregationMode::Removing), NOW)
            .unwrap()
            .unwrap();
        scan_all(
            &mut desk,
            &[
                (&code("9XyZ2a"), "not taken not_in_box"),
                (&code("9BoX1a"), "recorded"),
            ],
        );
        // Finished after the replica's last refresh: it stands over the replica's parent.
        let queued = desk.finish(NOW.plus_hours(1)).unwrap().unwrap();
        let payload: Value = serde_json::from_str(&queued.payload).unwrap();
        assert_eq!(payload["units"], json!([ki("9BoX1a").to_string()]));
        // Nothing here knew the box's list, so nothing is recorded for it.
        assert_eq!(items(&desk, boxed), None);

        desk.begin(
            OperationState::Reaggregation(Reaggregation::new(settings().capacity.box_units)),
            NOW,
        )
        .unwrap();
        desk.command(Command::Mode(ReaggregationMode::Adding), NOW)
            .unwrap()
            .unwrap();
        let scanned_water = format!("{water}\x1d93Wa1+");
        scan_all(
            &mut desk,
            &[
                (&label(boxed), "recorded"),
                (&code("9BoX1b"), "not taken already_inside"),
                (&code("9XyZ2e"), "recorded"),
                // Only GIS MT knows what else is inside: no capacity applies (a box of 2).
                (&code("9XyZ2d"), "recorded"),
                (&scanned_water, "refused wrong_product_group"),
            ],
        );
        desk.finish(NOW).unwrap().unwrap();
        // What was added here counts as packed until the hub's word arrives.
        assert_eq!(
            items(&desk, boxed),
            Some(vec![
                AggregateItem::Code(ki("9XyZ2d")),
                AggregateItem::Code(ki("9XyZ2e")),
            ])
        );
        desk.begin(
            OperationState::Aggregation(Aggregation::new(settings().capacity)),
            NOW,
        )
        .unwrap();
        desk.command(Command::OpenGenerated(Level::Box), NOW)
            .unwrap()
            .unwrap();
        scan_all(
            &mut desk,
            &[
                (&code("9XyZ2e"), "refused in_aggregate"),
                // Taken out of the box above: free to pack before the hub's word arrives.
                (&code("9BoX1a"), "recorded"),
            ],
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_spoiled_label_on_goods_in_circulation_is_replaced_by_a_new_code() {
        let path = scratch("remark");
        let store = replica(&path);
        import(
            &store,
            &[
                format!(
                    r#"{{"cis":"01046008407493722159NeW1a","status":"EMITTED","ownerInn":"{OURS}","productGroupId":8}}"#
                ),
                format!(
                    r#"{{"cis":"01046008407493722159ApPl1","status":"APPLIED","ownerInn":"{OURS}","productGroupId":8}}"#
                ),
            ],
        );
        let mut desk = Desk::open(store, settings()).unwrap();
        let header = WriteOffHeader {
            reason: WriteOffReason::CodeSpoiled,
            document_number: "АКТ-7".into(),
            document_date: Gs1Date::from_yymmdd(b"261122").unwrap(),
            needs_supervisor: false,
        };
        desk.begin(OperationState::WriteOff(WriteOff::new(header)), NOW)
            .unwrap();
        let awaiting = |desk: &Desk| match desk.operation() {
            Some(OperationState::WriteOff(w)) => w.awaiting_replacement(),
            _ => None,
        };
        let sscc = Sscc::compose(0, "4600840", 9).unwrap();
        // An applied code not in circulation yet is cancelled, not re-marked: no prompt.
        scan_all(&mut desk, &[(&code("9ApPl1"), "recorded")]);
        assert_eq!(awaiting(&desk), None);
        scan_all(&mut desk, &[(&code("9XyZ2a"), "recorded")]);
        assert_eq!(awaiting(&desk), Some(ki("9XyZ2a")));
        scan_all(
            &mut desk,
            &[
                // The next scan is the new code, and must be one.
                (&code("9XyZ2b"), "not taken not_a_new_code"),
                (&label(sscc), "not taken awaiting_replacement"),
                (
                    "0104690257528523215WaTer1\x1d93Wa1+",
                    "not taken other_product",
                ),
                (&code("9XyZ2a"), "not taken duplicate"),
            ],
        );
        assert_eq!(
            desk.finish(NOW).unwrap().err().map(|r| r.code()),
            Some("awaiting_replacement")
        );
        // The prompt survives a restart.
        drop(desk);
        let mut desk = Desk::open(Store::open(&path).unwrap(), settings()).unwrap();
        assert_eq!(awaiting(&desk), Some(ki("9XyZ2a")));
        scan_all(
            &mut desk,
            &[
                (&code("9NeW1a"), "recorded"),
                (&code("9XyZ2c"), "recorded"),
                // Not in the replica yet: a code just printed is fresh too.
                (&code("9NeW2a"), "recorded"),
            ],
        );
        assert_eq!(awaiting(&desk), None);
        // Finished after the last import, so this terminal's word is the newer one.
        let queued = desk.finish(Timestamp(NOW.0 + 60_000)).unwrap().unwrap();
        let payload: Value = serde_json::from_str(&queued.payload).unwrap();
        assert_eq!(
            payload["codes"],
            json!([
                ki("9ApPl1").to_string(),
                ki("9XyZ2a").to_string(),
                ki("9XyZ2c").to_string()
            ])
        );
        assert_eq!(
            payload["replacements"],
            json!([
                {"old": ki("9XyZ2a").to_string(), "new": ki("9NeW1a").to_string()},
                {"old": ki("9XyZ2c").to_string(), "new": ki("9NeW2a").to_string()},
            ])
        );
        // The new label is on our goods in circulation at once; the old code is gone.
        desk.begin(
            OperationState::Aggregation(Aggregation::new(settings().capacity)),
            NOW,
        )
        .unwrap();
        desk.command(Command::OpenGenerated(Level::Box), NOW)
            .unwrap()
            .unwrap();
        scan_all(
            &mut desk,
            &[
                (&code("9XyZ2a"), "refused out_of_circulation"),
                (&code("9NeW1a"), "recorded"),
            ],
        );
        desk.command(Command::Close, NOW).unwrap().unwrap();
        desk.finish(NOW).unwrap().unwrap();
        // A used new code is no new code for the next write-off.
        let header = WriteOffHeader {
            reason: WriteOffReason::CodeLost,
            document_number: "АКТ-8".into(),
            document_date: Gs1Date::from_yymmdd(b"261122").unwrap(),
            needs_supervisor: false,
        };
        desk.begin(OperationState::WriteOff(WriteOff::new(header)), NOW)
            .unwrap();
        scan_all(
            &mut desk,
            &[
                (&code("9XyZ2d"), "recorded"),
                (&code("9NeW1a"), "not taken not_a_new_code"),
            ],
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
