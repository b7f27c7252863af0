//! The terminal between its screens and its desk: every tap, scan and sync report goes in, the
//! view to show and the cue to play come out. The shift's state machine (`shift`) decides
//! where things go, the desk records them, the presenters (`present`) turn both into the
//! screens' views; this module ties them together. The clock is passed in.

use std::collections::HashMap;

use anyhow::Context as _;
use serde_json::Value;
use tally_domain::Lang;
use tally_domain::code::{CodeKind, parse};
use tally_domain::label::{self, BoxLabel};
use tally_domain::operation::{
    Acceptance, Aggregation, Counted, Disaggregation, Inventory, InventoryEvent, InventoryHeader,
    Level, Reaggregation, ReaggregationMode, Refusal, ReturnEvent, ReturnHeader, Shipment,
    ShipmentEvent, ShipmentHeader, WriteOff, WriteOffEvent, WriteOffHeader, WriteOffReason,
};
use tally_domain::reason::Reason as _;
use tally_domain::status::{Inn, Timestamp};
use tally_domain::validate::Outcome;
use tally_drivers::printer::{PrintError, PrinterAddress};
use tally_sync::engine::WorkerEvent;
use tally_ui::{CodeInfoView, Screen, SignInView, Tone, View};

pub use tally_ui::Action;

use super::config::Operator;
use super::present::{
    self, Names, Scene, Snapshot, findings_text, operation_name, screen_of, shown_code,
};
use super::shift::{Navigation, ScanRoute, Shift};
use super::text::Texts;
use crate::desk::{Command, Desk, Inspection, ScanOutcome};
use crate::operation_log::OperationState;

/// A finished enrollment: the hub's address and the SSCC serial range it gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrollment {
    pub hub: String,
    pub sscc_serials: Option<tally_wire::SerialRange>,
}

/// Something that happened to the terminal.
#[derive(Debug)]
pub enum Input {
    Action(Action),
    /// One scan from any scanner, with the source's name for diagnostics.
    Scan {
        payload: Vec<u8>,
        source: String,
    },
    /// A scanner came or went.
    Scanner {
        source: String,
        connected: bool,
    },
    Sync(WorkerEvent),
    /// The sync thread's answer to an enrollment.
    Enrolled(Result<Enrollment, String>),
    /// Once a minute: ages and clocks on the status line.
    Tick,
    /// A label printed, or why it was not.
    Printed {
        sscc: String,
        result: Result<(), PrintError>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CueTone {
    Good,
    Warning,
    Error,
}

/// How the terminal answers a verdict besides the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cue {
    pub tone: CueTone,
    pub sound: bool,
    pub vibrate: bool,
}

/// Work for other threads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    SyncNow,
    Enroll {
        url: String,
        code: String,
    },
    /// The UI thread switches its `@tr` strings.
    Language(Lang),
    /// A box or pallet label to print, as ZPL.
    PrintLabel {
        sscc: String,
        printer: PrinterAddress,
        zpl: String,
    },
}

#[derive(Debug)]
pub struct Output {
    pub view: View,
    pub cue: Option<Cue>,
    pub requests: Vec<Request>,
}

/// What the controller needs to know of the installation.
#[derive(Clone, Debug)]
pub struct Setup {
    pub operators: Vec<Operator>,
    pub language: Lang,
    pub sounds: bool,
    pub vibration: bool,
    pub supervisor_for_write_off: bool,
    /// How the scanners are configured, for the Settings screen.
    pub scanners: Vec<String>,
    /// The hub this terminal is enrolled with, if any.
    pub hub: Option<String>,
    /// The label printer for the boxes and pallets this terminal labels.
    pub printer: Option<PrinterAddress>,
}

/// What a screen remembers between inputs besides the shift: errors under its keypads, the
/// last code looked up, the sync worker's news.
#[derive(Debug, Default)]
struct Screens {
    sign_in_error: String,
    write_off_error: String,
    shipment_error: String,
    return_error: String,
    inventory_error: String,
    /// Shipment and inventory: the next label scanned is opened.
    open_next: bool,
    code_info: CodeInfoView,
    sync: present::sync::SyncState,
    settings_message: String,
    scanners: HashMap<String, bool>,
}

pub struct Controller {
    desk: Desk,
    setup: Setup,
    lang: Lang,
    shift: Shift,
    screens: Screens,
    names: Names,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("shift", &self.shift)
            .field("desk", &self.desk)
            .finish_non_exhaustive()
    }
}

impl Controller {
    pub fn new(desk: Desk, setup: Setup) -> Controller {
        let open = desk.operation().map(screen_of);
        let mut screens = Screens::default();
        screens.sync.view.enrolled = setup.hub.is_some();
        Controller {
            desk,
            lang: setup.language,
            shift: Shift::new(open),
            screens,
            names: Names::default(),
            setup,
        }
    }

    pub fn desk(&self) -> &Desk {
        &self.desk
    }

    pub fn language(&self) -> Lang {
        self.lang
    }

    fn t(&self) -> Texts {
        Texts(self.lang)
    }

    /// Handles one input; never fails: a storage error is shown as a rejection to acknowledge
    /// and logged, and the terminal goes on.
    pub fn handle(&mut self, input: Input, now: Timestamp) -> Output {
        let mut requests = Vec::new();
        let cue = match self.dispatch(input, now, &mut requests) {
            Ok(cue) => cue,
            Err(error) => {
                tracing::error!("{error:#}");
                let t = self.t();
                self.shift.show(
                    Tone::Error,
                    t.s("Terminal error"),
                    format!("{error:#}"),
                    String::new(),
                );
                self.shift.require_acknowledgement();
                Some(CueTone::Error)
            }
        };
        Output {
            view: self.view(now),
            cue: cue.map(|tone| Cue {
                tone,
                sound: self.setup.sounds,
                vibrate: self.setup.vibration,
            }),
            requests,
        }
    }

    fn dispatch(
        &mut self,
        input: Input,
        now: Timestamp,
        requests: &mut Vec<Request>,
    ) -> anyhow::Result<Option<CueTone>> {
        match input {
            Input::Action(action) => self.action(action, now, requests),
            Input::Scan { payload, source } => {
                tracing::debug!(source, bytes = payload.len(), "scan");
                self.scan(payload, now, requests)
            }
            Input::Scanner { source, connected } => {
                self.screens.scanners.insert(source, connected);
                Ok(None)
            }
            Input::Sync(event) => {
                if matches!(event, WorkerEvent::Finished(Ok(_))) {
                    // A round may bring a new catalogue.
                    self.names.forget();
                }
                self.screens.sync.event(self.t(), event);
                Ok(None)
            }
            Input::Enrolled(result) => Ok(Some(self.enrolled(result, requests))),
            Input::Tick => Ok(None),
            Input::Printed { sscc, result } => Ok(Some(self.printed(&sscc, result))),
        }
    }

    fn action(
        &mut self,
        action: Action,
        now: Timestamp,
        requests: &mut Vec<Request>,
    ) -> anyhow::Result<Option<CueTone>> {
        if self.shift.operator().is_none() {
            return Ok(match action {
                Action::SignIn { pin } => Some(self.sign_in_with(|o| o.pin.matches(&pin))),
                Action::KeyboardScan(text) => self.scan(text.into_bytes(), now, requests)?,
                Action::SetLanguage(lang) => {
                    self.set_language(&lang, requests);
                    None
                }
                _ => None,
            });
        }
        let t = self.t();
        match action {
            Action::Navigate(screen) => Ok(self.navigate(screen)),
            Action::SignIn { .. } => Ok(None),
            Action::SignOut => {
                self.shift.sign_out();
                self.screens.sign_in_error.clear();
                Ok(None)
            }
            Action::KeyboardScan(text) => self.scan(text.into_bytes(), now, requests),
            Action::ConfirmWarning => match self.shift.confirm() {
                Some(payload) => self.scan_into_operation(&payload, true, now),
                None => Ok(None),
            },
            Action::Acknowledge => {
                self.shift.clear_verdict();
                Ok(None)
            }
            Action::StartAcceptance { task } => {
                let task = match task {
                    Some(id) => Some(
                        self.desk
                            .store()
                            .task(&id)?
                            .with_context(|| format!("task {id} is gone from the replica"))?
                            .acceptance_task(),
                    ),
                    None => None,
                };
                self.begin(OperationState::Acceptance(Acceptance::new(task)), now)
            }
            Action::AcceptanceUndo
            | Action::WriteOffUndo
            | Action::ReaggregationUndo
            | Action::ShipmentUndo
            | Action::ReturnUndo
            | Action::InventoryUndo => self.undo(),
            Action::AcceptanceReview | Action::InventoryReview => {
                self.shift.review(true);
                Ok(None)
            }
            Action::AcceptanceBackToScanning | Action::InventoryBackToScanning => {
                self.shift.review(false);
                Ok(None)
            }
            Action::AcceptanceFinish
            | Action::AggregationFinish
            | Action::ReaggregationFinish
            | Action::WriteOffFinish
            | Action::ShipmentFinish
            | Action::ReturnFinish
            | Action::InventoryFinish => self.finish(now),
            Action::StartReaggregation => {
                let box_units = self.desk.settings().capacity.box_units;
                self.begin(
                    OperationState::Reaggregation(Reaggregation::new(box_units)),
                    now,
                )
            }
            Action::ReaggregationAdding => self.choose_mode(ReaggregationMode::Adding, now),
            Action::ReaggregationRemoving => self.choose_mode(ReaggregationMode::Removing, now),
            Action::ReaggregationMoving => self.choose_mode(ReaggregationMode::Moving, now),
            Action::StartAggregation => {
                let capacity = self.desk.settings().capacity;
                self.begin(OperationState::Aggregation(Aggregation::new(capacity)), now)
            }
            Action::StartUnpacking => {
                self.begin(OperationState::Disaggregation(Disaggregation::new()), now)
            }
            Action::OpenGeneratedBox => self.open_generated(Level::Box, now),
            Action::OpenGeneratedPallet => self.open_generated(Level::Pallet, now),
            Action::AggregationRemoveLast => {
                let last = match self.desk.operation() {
                    Some(OperationState::Aggregation(g)) => {
                        g.open_aggregate().and_then(|a| a.children.last().copied())
                    }
                    _ => None,
                };
                match last {
                    Some(child) => self.command(Command::Remove(child), now),
                    None => Ok(self.refusal(Refusal::NothingToUndo)),
                }
            }
            Action::AggregationClose => {
                let cue = self.command(Command::Close, now)?;
                // A box this terminal labelled gets its label as it closes.
                if cue == Some(CueTone::Good)
                    && let Some(sscc) = self.last_closed()
                    && self.is_ours(sscc)
                    && self.setup.printer.is_some()
                {
                    self.print(sscc, now, requests);
                }
                Ok(cue)
            }
            Action::ReprintLabel => Ok(match self.last_closed() {
                Some(sscc) if self.setup.printer.is_some() => {
                    self.print(sscc, now, requests);
                    None
                }
                Some(_) => Some(self.explain_no_printer()),
                None => None,
            }),
            Action::StartWriteOff { reason } => {
                let reason = WriteOffReason::from_code(&reason)
                    .with_context(|| format!("unknown write-off reason {reason:?}"))?;
                let header = WriteOffHeader {
                    reason,
                    document_number: document_number("WO", now),
                    document_date: now.date(),
                    needs_supervisor: self.setup.supervisor_for_write_off,
                };
                self.screens.write_off_error.clear();
                self.begin(OperationState::WriteOff(WriteOff::new(header)), now)
            }
            Action::WriteOffConfirm { pin } | Action::InventoryConfirm { pin } => {
                self.confirm_by_supervisor(&pin, now)
            }
            Action::StartShipment { order, receiver } => self.start_shipment(order, &receiver, now),
            Action::OpenNextLabel(on) => {
                self.screens.open_next = on;
                Ok(None)
            }
            Action::StartReturn { kind, receipt } => self.start_return(&kind, &receipt, now),
            Action::ReturnDamaged => self.command(Command::Damaged, now).map(|cue| {
                if cue == Some(CueTone::Good) {
                    self.shift.show(
                        Tone::Warning,
                        t.s("New label needed"),
                        t.s("Stick a new label on the item and scan its code."),
                        String::new(),
                    );
                    Some(CueTone::Warning)
                } else {
                    cue
                }
            }),
            Action::StartInventory { zone, settle } => self.start_inventory(&zone, settle, now),
            Action::SyncNow => {
                if self.setup.hub.is_some() {
                    requests.push(Request::SyncNow);
                }
                Ok(None)
            }
            Action::SetLanguage(lang) => {
                self.set_language(&lang, requests);
                Ok(None)
            }
            Action::SetSounds(on) => {
                self.setup.sounds = on;
                Ok(None)
            }
            Action::SetVibration(on) => {
                self.setup.vibration = on;
                Ok(None)
            }
        }
    }

    fn set_language(&mut self, lang: &str, requests: &mut Vec<Request>) {
        let lang = if lang == "ru" { Lang::Ru } else { Lang::En };
        self.lang = lang;
        requests.push(Request::Language(lang));
    }

    /// Everyone who may sign in: the hub's list (pulled into the replica) and the config file's.
    fn operators(&self) -> Vec<Operator> {
        let mut operators: Vec<Operator> = match self.desk.store().operators() {
            Ok(stored) => stored.into_iter().map(Operator::from).collect(),
            Err(error) => {
                tracing::error!("reading operators: {error}");
                Vec::new()
            }
        };
        operators.extend(self.setup.operators.iter().cloned());
        operators
    }

    fn sign_in_with(&mut self, matches: impl Fn(&Operator) -> bool) -> CueTone {
        match self.operators().into_iter().find(|o| matches(o)) {
            Some(operator) => {
                self.desk.set_operator(&operator.id);
                self.screens.sign_in_error.clear();
                self.shift.sign_in(operator);
                CueTone::Good
            }
            None => {
                self.screens.sign_in_error = self
                    .t()
                    .s("Unknown PIN or badge: try again or ask your supervisor.");
                CueTone::Error
            }
        }
    }

    fn navigate(&mut self, screen: Screen) -> Option<CueTone> {
        match self.shift.navigate(screen) {
            Navigation::Moved => {
                self.screens.settings_message.clear();
                None
            }
            Navigation::Forbidden => None,
            Navigation::Busy(open) => {
                let t = self.t();
                let name = operation_name(t, open);
                self.shift.show(
                    Tone::Warning,
                    t.s("Finish this first"),
                    t.f(
                        "{name} is open: finish it before starting another.",
                        &[("name", &name)],
                    ),
                    String::new(),
                );
                Some(CueTone::Warning)
            }
        }
    }

    /// Routes a scan to the screen that expects it, or explains where to go.
    fn scan(
        &mut self,
        payload: Vec<u8>,
        now: Timestamp,
        requests: &mut Vec<Request>,
    ) -> anyhow::Result<Option<CueTone>> {
        let t = self.t();
        let text = String::from_utf8_lossy(&payload);
        let enrollment = enrollment(&text);
        match self.shift.route_scan(enrollment.is_some()) {
            ScanRoute::Enroll => {
                if let Some((url, code)) = enrollment {
                    self.screens.settings_message = t.s("Enrolling…");
                    requests.push(Request::Enroll { url, code });
                }
                Ok(Some(CueTone::Good))
            }
            ScanRoute::EnrollElsewhere => Ok(Some(
                self.explain(t.s("An enrollment code is scanned in Settings, by a supervisor.")),
            )),
            ScanRoute::SignIn => {
                let badge = text.trim();
                if self
                    .operators()
                    .iter()
                    .any(|o| o.badge.as_deref() == Some(badge))
                {
                    return Ok(Some(
                        self.sign_in_with(|o| o.badge.as_deref() == Some(badge)),
                    ));
                }
                self.screens.sign_in_error =
                    t.s("Sign in first: enter your PIN or scan your badge.");
                Ok(Some(CueTone::Error))
            }
            ScanRoute::AwaitAcknowledgement => {
                self.shift
                    .remind(&t.s("Tap OK on this message before the next scan."));
                Ok(Some(CueTone::Error))
            }
            ScanRoute::CodeInfo => self.inspect(&payload, now),
            ScanRoute::Operation => {
                self.shift.scanning();
                if self.screens.open_next
                    && let Some(sscc) = self.label_of(&payload)
                {
                    self.screens.open_next = false;
                    return self.command(
                        Command::Open {
                            sscc,
                            level: Level::Box,
                        },
                        now,
                    );
                }
                self.scan_into_operation(&payload, false, now)
            }
            ScanRoute::NotHere(screen) => Ok(Some(self.explain(match screen {
                Screen::Acceptance => t.s("Choose a task or start a free acceptance first."),
                Screen::Aggregation => t.s("Tap “Pack boxes” or “Unpack a box” first."),
                Screen::WriteOff => t.s("Choose the write-off reason first."),
                Screen::Reaggregation => t.s("Tap “Start” first."),
                Screen::Shipment => t.s("Choose an order or ship without one first."),
                Screen::CustomerReturn => t.s("Choose the kind of return and its receipt first."),
                Screen::Inventory => t.s("Start the count first."),
                _ => t.s("Open an operation to work with codes, or Code info to look one up."),
            }))),
        }
    }

    /// The SSCC a scan is, if it is a box or pallet label.
    fn label_of(&self, payload: &[u8]) -> Option<tally_domain::gs1::Sscc> {
        parse(payload, &self.desk.settings().parse)
            .ok()
            .and_then(|code| code.sscc())
    }

    fn explain(&mut self, reason: String) -> CueTone {
        let headline = self.t().s("Not here");
        self.shift
            .show(Tone::Warning, headline, reason, String::new());
        CueTone::Warning
    }

    fn explain_no_printer(&mut self) -> CueTone {
        let t = self.t();
        self.shift.show(
            Tone::Warning,
            t.s("No label printer"),
            t.s("This terminal has no label printer configured (terminal.printer): print the label with `tally label` at the desk."),
            String::new(),
        );
        CueTone::Warning
    }

    /// The box or pallet the open aggregation closed last.
    fn last_closed(&self) -> Option<tally_domain::gs1::Sscc> {
        match self.desk.operation() {
            Some(OperationState::Aggregation(g)) => g.closed().last().map(|a| a.sscc),
            _ => None,
        }
    }

    /// A label this terminal made: its company prefix after the extension digit. A
    /// pre-printed label scanned into a box is on the box already.
    fn is_ours(&self, sscc: tally_domain::gs1::Sscc) -> bool {
        self.desk
            .settings()
            .company_prefix
            .as_deref()
            .is_some_and(|prefix| {
                sscc.to_string()
                    .get(1..)
                    .is_some_and(|d| d.starts_with(prefix))
            })
    }

    /// Sends the label of closed box `sscc` to the printer; the box is in the journal already,
    /// so a printer that fails costs a message, never the box.
    fn print(
        &mut self,
        sscc: tally_domain::gs1::Sscc,
        now: Timestamp,
        requests: &mut Vec<Request>,
    ) {
        let (Some(printer), Some(OperationState::Aggregation(g))) =
            (self.setup.printer.clone(), self.desk.operation())
        else {
            return;
        };
        let Some(aggregate) = g.closed().iter().rev().find(|a| a.sscc == sscc) else {
            return;
        };
        let packer = self
            .shift
            .operator()
            .map(|o| o.name.clone())
            .unwrap_or_default();
        let reader = self.desk.store().reader().ok();
        let name_of = |gtin| {
            reader
                .as_ref()
                .and_then(|r| r.catalog_item(gtin).ok().flatten())
                .map(|item| item.name)
        };
        let label = BoxLabel::of(aggregate, &packer, now.moscow_date(), name_of);
        requests.push(Request::PrintLabel {
            sscc: sscc.to_string(),
            printer,
            zpl: label::zpl(&label::layout(&label)),
        });
        let t = self.t();
        self.shift.show(
            Tone::Neutral,
            t.s("Printing the label…"),
            String::new(),
            sscc.to_string(),
        );
    }

    fn printed(&mut self, sscc: &str, result: Result<(), PrintError>) -> CueTone {
        let t = self.t();
        match result {
            Ok(()) => {
                self.shift.show(
                    Tone::Good,
                    t.s("Label printed"),
                    String::new(),
                    sscc.to_owned(),
                );
                CueTone::Good
            }
            Err(error) => {
                // The operator sees why (off, out of paper, head open) and reprints once it is
                // fixed: the box itself is safe in the journal.
                self.shift.show(
                    Tone::Error,
                    t.s("Label not printed"),
                    format!(
                        "{}\n{}",
                        error.message(self.lang),
                        t.s("The box is kept: tap “Print label again” once the printer is ready.")
                    ),
                    sscc.to_owned(),
                );
                self.shift.require_acknowledgement();
                CueTone::Error
            }
        }
    }

    fn scan_into_operation(
        &mut self,
        payload: &[u8],
        confirmed: bool,
        now: Timestamp,
    ) -> anyhow::Result<Option<CueTone>> {
        let outcome = self.desk.scan(payload, confirmed, now)?;
        let t = self.t();
        let lang = self.lang;
        Ok(Some(match outcome {
            ScanOutcome::Unreadable(rejection) => {
                self.shift.show(
                    Tone::Error,
                    t.s("Not a valid code"),
                    rejection.message(lang),
                    String::from_utf8_lossy(payload).chars().take(60).collect(),
                );
                self.shift.require_acknowledgement();
                CueTone::Error
            }
            ScanOutcome::Refused { code, verdict }
                if verdict
                    .findings
                    .iter()
                    .all(|(f, _)| f.code() == "duplicate_in_document") =>
            {
                // A double scan is the scanner's echo, not news: amber, and no tap needed.
                self.shift.show(
                    Tone::Warning,
                    t.s("Already scanned"),
                    findings_text(&verdict, t),
                    shown_code(&code),
                );
                CueTone::Warning
            }
            ScanOutcome::Refused { code, verdict } => {
                self.shift.show(
                    Tone::Error,
                    t.s("Rejected"),
                    findings_text(&verdict, t),
                    shown_code(&code),
                );
                self.shift.require_acknowledgement();
                CueTone::Error
            }
            ScanOutcome::NeedsConfirmation { code, verdict } => {
                self.shift.show(
                    Tone::Warning,
                    t.s("Check this code"),
                    findings_text(&verdict, t),
                    shown_code(&code),
                );
                self.shift.await_confirmation(payload.to_vec());
                CueTone::Warning
            }
            ScanOutcome::NotTaken { code, refusal, .. } => {
                // A double scan is the scanner's echo, not news; anything else waits for OK.
                let duplicate = refusal == Refusal::Duplicate;
                let (tone, headline) = if duplicate {
                    (Tone::Warning, t.s("Already scanned"))
                } else {
                    (Tone::Error, t.s("Not taken"))
                };
                self.shift
                    .show(tone, headline, refusal.message(lang), shown_code(&code));
                if duplicate {
                    CueTone::Warning
                } else {
                    self.shift.require_acknowledgement();
                    CueTone::Error
                }
            }
            ScanOutcome::Recorded { code, verdict, .. } => {
                // A re-marked code: the goods stay, and the operator now scans the new label.
                if let Some(OperationState::WriteOff(w)) = self.desk.operation()
                    && w.awaiting_replacement().is_some()
                {
                    self.shift.show(
                        Tone::Warning,
                        t.s("New code needed"),
                        t.s("The goods are in circulation: put a new label on them and scan its code."),
                        shown_code(&code),
                    );
                    return Ok(Some(CueTone::Warning));
                }
                let (tone, headline) = self.recorded_headline(code.kind(), code.sscc());
                let mut reason = self.names.with(self.desk.store()).of_code(&code);
                if verdict.outcome == Outcome::Warn {
                    reason = format!("{reason}\n{}", findings_text(&verdict, t))
                        .trim()
                        .to_string();
                }
                self.shift.show(tone, headline, reason, shown_code(&code));
                if tone == Tone::Good {
                    CueTone::Good
                } else {
                    CueTone::Warning
                }
            }
        }))
    }

    /// What the banner says of a scan the operation took, by what the operation did with it:
    /// green, except a counted unit that is not ours in stock, which the count reports.
    fn recorded_headline(
        &self,
        kind: CodeKind,
        sscc: Option<tally_domain::gs1::Sscc>,
    ) -> (Tone, String) {
        let t = self.t();
        let good = |text: String| (Tone::Good, text);
        match (self.desk.operation(), kind) {
            (Some(OperationState::Aggregation(g)), CodeKind::Sscc)
                if g.open_aggregate().is_some_and(|a| Some(a.sscc) == sscc) =>
            {
                good(t.s("Box opened"))
            }
            (Some(OperationState::Aggregation(_)), _) => good(t.s("Packed")),
            (Some(OperationState::Disaggregation(_)), _) => good(t.s("To unpack")),
            (Some(OperationState::WriteOff(w)), _)
                if matches!(w.events().last(), Some(WriteOffEvent::Replacement { .. })) =>
            {
                good(t.s("Code replaced"))
            }
            (Some(OperationState::WriteOff(_)), _) => good(t.s("To write off")),
            (Some(OperationState::Reaggregation(_)), CodeKind::Sscc) => good(t.s("Box scanned")),
            (Some(OperationState::Reaggregation(r)), _) => match r.mode() {
                Some(ReaggregationMode::Removing) => good(t.s("Taken out")),
                Some(ReaggregationMode::Moving) => good(t.s("Moved in")),
                _ => good(t.s("Added")),
            },
            (Some(OperationState::Shipment(s)), _) => match s.events().last() {
                Some(ShipmentEvent::Label(label)) => {
                    good(t.f("Box shipped whole: {n} units", &[("n", &label.units.len())]))
                }
                _ => good(t.s("Shipped")),
            },
            (Some(OperationState::Return(r)), _) => match r.events().last() {
                Some(ReturnEvent::NewLabel { .. }) => good(t.s("New label taken")),
                _ => good(t.s("Returned")),
            },
            (Some(OperationState::Inventory(i)), _) => match i.events().last() {
                Some(InventoryEvent::Label(label)) => {
                    good(t.f("Box counted whole: {n} units", &[("n", &label.units.len())]))
                }
                Some(InventoryEvent::Unit { counted, .. }) => match counted {
                    Counted::Ours => good(t.s("Counted")),
                    Counted::Foreign => (Tone::Warning, t.s("Not ours")),
                    Counted::WrongStatus(_) => (Tone::Warning, t.s("Wrong status")),
                    Counted::Unknown => (Tone::Warning, t.s("Unknown to the terminal")),
                },
                _ => good(t.s("Counted")),
            },
            _ => good(t.s("Accepted")),
        }
    }

    fn begin(&mut self, state: OperationState, now: Timestamp) -> anyhow::Result<Option<CueTone>> {
        if let Some(open) = self.shift.open() {
            // One operation at a time: back to the one that is open.
            let _ = self.shift.navigate(open);
            return Ok(None);
        }
        let screen = screen_of(&state);
        self.desk.begin(state, now)?;
        self.screens.open_next = false;
        self.shift.began(screen);
        Ok(None)
    }

    /// A shipment to the receiver the operator typed (or the order's).
    fn start_shipment(
        &mut self,
        order: Option<String>,
        receiver: &str,
        now: Timestamp,
    ) -> anyhow::Result<Option<CueTone>> {
        let t = self.t();
        let order = match order {
            None => None,
            Some(id) => match self.desk.store().order(&id)? {
                Some(order) => Some(order),
                None => {
                    // Picked on another terminal, or withdrawn by 1C since the list was shown.
                    self.screens.shipment_error = t.f(
                        "Order {id} is not on this terminal: sync and choose again.",
                        &[("id", &id)],
                    );
                    return Ok(Some(CueTone::Error));
                }
            },
        };
        if let Some(order) = order {
            let Some(receiver) = order.receiver_inn.or_else(|| Inn::parse(receiver.trim())) else {
                self.screens.shipment_error = t.f(
                    "Order {number} names no receiver: ship without an order and type the receiver's INN.",
                    &[("number", &order.number)],
                );
                return Ok(Some(CueTone::Error));
            };
            self.screens.shipment_error.clear();
            let header = ShipmentHeader {
                receiver,
                document_number: order.number.clone(),
                document_date: now.moscow_date(),
            };
            return self.begin(
                OperationState::Shipment(Shipment::new(header, Some(order.shipment_order()))),
                now,
            );
        }
        let Some(receiver) = Inn::parse(receiver.trim()) else {
            self.screens.shipment_error =
                t.s("Not an INN: 10 digits for a company, 12 for an entrepreneur.");
            return Ok(Some(CueTone::Error));
        };
        if self.desk.settings().own_inn == Some(receiver) {
            self.screens.shipment_error =
                t.s("That is our own INN: goods are shipped to someone else.");
            return Ok(Some(CueTone::Error));
        }
        self.screens.shipment_error.clear();
        let header = ShipmentHeader {
            receiver,
            document_number: document_number("SH", now),
            document_date: now.moscow_date(),
        };
        self.begin(OperationState::Shipment(Shipment::new(header, None)), now)
    }

    fn start_return(
        &mut self,
        kind: &str,
        receipt: &str,
        now: Timestamp,
    ) -> anyhow::Result<Option<CueTone>> {
        let t = self.t();
        let kind = present::customer_return::kinds(t)
            .into_iter()
            .find(|(cause, receipt, _)| present::customer_return::kind_id(*cause, *receipt) == kind)
            .with_context(|| format!("unknown kind of return {kind:?}"))?;
        let number = receipt.trim();
        if number.is_empty() {
            self.screens.return_error = t.s("Type the receipt's number.");
            return Ok(Some(CueTone::Error));
        }
        self.screens.return_error.clear();
        let header = ReturnHeader {
            cause: kind.0,
            receipt: kind.1,
            receipt_name: None,
            document_number: number.to_owned(),
            document_date: now.moscow_date(),
            paid: true,
        };
        self.begin(
            OperationState::Return(tally_domain::operation::CustomerReturn::new(header)),
            now,
        )
    }

    /// A count of a zone (its boxes say what they hold) or of the whole warehouse (against
    /// the replica's stock of ours, with this terminal's own operations laid over).
    fn start_inventory(
        &mut self,
        zone: &str,
        settle: bool,
        now: Timestamp,
    ) -> anyhow::Result<Option<CueTone>> {
        let t = self.t();
        let zone = Some(zone.trim())
            .filter(|z| !z.is_empty())
            .map(str::to_owned);
        let expected = match (&zone, self.desk.settings().own_inn) {
            (Some(_), _) => Vec::new(),
            (None, Some(inn)) => {
                let store = self.desk.store();
                let synced = store.last_sync()?.max(store.statuses_refreshed_at()?);
                store.stock_of(&inn, synced)?
            }
            (None, None) => {
                self.screens.inventory_error = t.s(
                    "This terminal does not know our INN, so it cannot tell what the warehouse owns: count a zone, or set own_inn in its configuration.",
                );
                return Ok(Some(CueTone::Error));
            }
        };
        self.screens.inventory_error.clear();
        let header = InventoryHeader {
            zone,
            document_number: document_number("INV", now),
            document_date: now.moscow_date(),
            settle: settle.then_some(WriteOffReason::DamageLoss),
            needs_supervisor: self.setup.supervisor_for_write_off,
        };
        self.begin(
            OperationState::Inventory(Inventory::new(header, expected)),
            now,
        )
    }

    fn refusal(&mut self, refusal: Refusal) -> Option<CueTone> {
        let t = self.t();
        self.shift.show(
            Tone::Error,
            t.s("Not possible"),
            refusal.message(self.lang),
            String::new(),
        );
        self.shift.require_acknowledgement();
        Some(CueTone::Error)
    }

    fn undo(&mut self) -> anyhow::Result<Option<CueTone>> {
        match self.desk.undo()? {
            Ok(()) => {
                let headline = self.t().s("Undone");
                self.shift
                    .show(Tone::Neutral, headline, String::new(), String::new());
                Ok(None)
            }
            Err(refusal) => Ok(self.refusal(refusal)),
        }
    }

    fn command(&mut self, command: Command, now: Timestamp) -> anyhow::Result<Option<CueTone>> {
        match self.desk.command(command, now)? {
            Ok(_) => {
                self.shift.clear_verdict();
                Ok(Some(CueTone::Good))
            }
            Err(refusal) => Ok(self.refusal(refusal)),
        }
    }

    /// Adding or removing; tapping the choice already made changes nothing.
    fn choose_mode(
        &mut self,
        mode: ReaggregationMode,
        now: Timestamp,
    ) -> anyhow::Result<Option<CueTone>> {
        if let Some(OperationState::Reaggregation(r)) = self.desk.operation()
            && r.mode() == Some(mode)
        {
            return Ok(None);
        }
        self.command(Command::Mode(mode), now)
    }

    fn open_generated(&mut self, level: Level, now: Timestamp) -> anyhow::Result<Option<CueTone>> {
        if self.desk.settings().company_prefix.is_none() {
            let t = self.t();
            self.shift.show(
                Tone::Error,
                t.s("No label here"),
                t.s("This terminal has no GS1 company prefix to make labels: scan a printed SSCC label."),
                String::new(),
            );
            self.shift.require_acknowledgement();
            return Ok(Some(CueTone::Error));
        }
        self.command(Command::OpenGenerated(level), now)
    }

    /// A supervisor's PIN confirms a write-off, or the write-off that settles a count.
    fn confirm_by_supervisor(
        &mut self,
        pin: &str,
        now: Timestamp,
    ) -> anyhow::Result<Option<CueTone>> {
        let Some(supervisor) = self
            .operators()
            .into_iter()
            .find(|o| o.supervisor && o.pin.matches(pin))
        else {
            let message = self.t().s("This PIN is not a supervisor's.");
            if matches!(self.desk.operation(), Some(OperationState::Inventory(_))) {
                self.screens.inventory_error = message;
            } else {
                self.screens.write_off_error = message;
            }
            return Ok(Some(CueTone::Error));
        };
        self.screens.write_off_error.clear();
        self.screens.inventory_error.clear();
        match self.desk.command(
            Command::Confirm {
                supervisor: supervisor.id,
            },
            now,
        )? {
            Ok(_) => self.finish(now),
            Err(refusal) => Ok(self.refusal(refusal)),
        }
    }

    fn finish(&mut self, now: Timestamp) -> anyhow::Result<Option<CueTone>> {
        let Some(screen) = self.shift.open() else {
            return Ok(None);
        };
        let t = self.t();
        match self.desk.finish(now)? {
            Ok(queued) => {
                let name = operation_name(t, screen);
                self.shift.finished();
                self.shift.show(
                    Tone::Good,
                    t.f("{name} finished", &[("name", &name)]),
                    t.f("Queued for upload as No. {seq}.", &[("seq", &queued.seq.0)]),
                    String::new(),
                );
                Ok(Some(CueTone::Good))
            }
            Err(refusal) => {
                self.shift.review(false);
                Ok(self.refusal(refusal))
            }
        }
    }

    fn inspect(&mut self, payload: &[u8], now: Timestamp) -> anyhow::Result<Option<CueTone>> {
        let t = self.t();
        self.screens.code_info = match self.desk.inspect(payload, now)? {
            Inspection::Unreadable(rejection) => {
                present::code_info::unreadable(t, &rejection, payload)
            }
            Inspection::Code(report) => present::code_info::view(t, &report),
        };
        Ok(Some(match self.screens.code_info.tone {
            Tone::Good => CueTone::Good,
            Tone::Error => CueTone::Error,
            _ => CueTone::Warning,
        }))
    }

    fn enrolled(
        &mut self,
        result: Result<Enrollment, String>,
        requests: &mut Vec<Request>,
    ) -> CueTone {
        let t = self.t();
        match result {
            Ok(Enrollment { hub, sscc_serials }) => {
                // The labels this terminal prints from now on come from the hub's range.
                if let Some(range) = sscc_serials
                    && let Err(error) = self.desk.adopt_sscc_serials(range)
                {
                    tracing::error!(%error, "adopting the SSCC serial range");
                }
                self.screens.settings_message =
                    t.f("Enrolled with {hub}. Syncing now.", &[("hub", &hub)]);
                self.setup.hub = Some(hub);
                self.screens.sync.view.enrolled = true;
                requests.push(Request::SyncNow);
                CueTone::Good
            }
            Err(error) => {
                self.screens.settings_message =
                    t.f("Enrollment failed: {error}", &[("error", &error)]);
                CueTone::Error
            }
        }
    }

    /// The whole view at `now`: the store is read once, then every presenter builds its
    /// screen from the same snapshot.
    pub fn view(&mut self, now: Timestamp) -> View {
        let snapshot = Snapshot::read(self.desk.store(), now);
        let scene = Scene {
            t: self.t(),
            shift: &self.shift,
            operation: self.desk.operation(),
            settings: self.desk.settings(),
            snapshot: &snapshot,
            now,
        };
        let screens = &self.screens;
        let mut names = self.names.with(self.desk.store());
        View {
            screen: self.shift.screen(),
            status: present::status::view(&scene, screens.sync.online),
            verdict: self.shift.verdict().clone(),
            sign_in: SignInView {
                error: screens.sign_in_error.clone(),
            },
            acceptance: present::acceptance::view(&scene, &mut names),
            aggregation: present::aggregation::view(&scene, &mut names),
            reaggregation: present::reaggregation::view(&scene, &mut names),
            write_off: present::write_off::view(&scene, &mut names, &screens.write_off_error),
            shipment: present::shipment::view(
                &scene,
                &mut names,
                screens.open_next,
                &screens.shipment_error,
            ),
            customer_return: present::customer_return::view(
                &scene,
                &mut names,
                &screens.return_error,
            ),
            inventory: present::inventory::view(
                &scene,
                &mut names,
                screens.open_next,
                &screens.inventory_error,
            ),
            code_info: screens.code_info.clone(),
            sync: present::sync::view(&scene, &screens.sync),
            settings: present::settings::view(
                scene.t,
                &self.setup,
                &screens.scanners,
                &screens.settings_message,
            ),
        }
    }
}

/// The enrollment QR code the hub prints: `{"tally_enroll":1,"url":...,"code":...}`.
fn enrollment(text: &str) -> Option<(String, String)> {
    let value: Value = serde_json::from_str(text.trim()).ok()?;
    if value.get("tally_enroll")?.as_i64()? != 1 {
        return None;
    }
    Some((
        value.get("url")?.as_str()?.to_string(),
        value.get("code")?.as_str()?.to_string(),
    ))
}

/// A document's number made on the terminal (`WO-2026-12-03-101500`): unique per terminal and
/// second, readable on paper.
fn document_number(prefix: &str, now: Timestamp) -> String {
    let date = now.date();
    let seconds_of_day = now.0.rem_euclid(86_400_000) / 1000;
    format!(
        "{prefix}-{date}-{:02}{:02}{:02}",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
}
