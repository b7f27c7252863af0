//! The terminal between its screens and its desk: every tap, scan and sync report goes in, the
//! view to show and the cue to play come out. It owns the desk (and with it the store's writer);
//! the clock is passed in.

use std::collections::HashMap;

use anyhow::Context as _;
use serde_json::Value;
use tally_domain::Lang;
use tally_domain::code::{CodeKind, Ki, MarkingCode};
use tally_domain::gs1::Gtin;
use tally_domain::operation::{
    Acceptance, AcceptanceEvent, AcceptanceSummary, Aggregation, Child, Disaggregation, Level,
    Reaggregation, ReaggregationMode, Refusal, WriteOff, WriteOffEvent, WriteOffHeader,
    WriteOffReason,
};
use tally_domain::reason::Reason;
use tally_domain::status::{Parent, Timestamp};
use tally_domain::validate::{Expectation, Outcome, Verdict};
use tally_sync::engine::{Progress, RoundSummary, WorkerEvent};
use tally_ui::{
    AcceptanceView, AggregationView, CodeInfoView, ReaggregationView, Screen, SettingsView,
    SignInView, StatusLine, SyncView, Tone, VerdictView, View, WriteOffView, choice_row, info_row,
    scan_row, task_row,
};

pub use tally_ui::Action;

use super::config::Operator;
use crate::desk::{CodeReport, Command, Desk, Inspection, ScanOutcome};
use crate::operation_log::OperationState;

/// Lists show the newest rows first and no more than this; the counters show the totals.
const LIST_ROWS: usize = 100;

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
}

pub struct Controller {
    desk: Desk,
    setup: Setup,
    lang: Lang,
    screen: Screen,
    operator: Option<Operator>,
    verdict: VerdictView,
    /// A warned scan waiting for its confirming tap.
    pending: Option<Vec<u8>>,
    reviewing: bool,
    sign_in_error: String,
    write_off_error: String,
    code_info: CodeInfoView,
    sync: SyncView,
    online: bool,
    settings_message: String,
    scanners: HashMap<String, bool>,
    names: HashMap<Gtin, String>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("screen", &self.screen)
            .field("desk", &self.desk)
            .finish_non_exhaustive()
    }
}

impl Controller {
    pub fn new(desk: Desk, setup: Setup) -> Controller {
        let lang = setup.language;
        let enrolled = setup.hub.is_some();
        Controller {
            desk,
            lang,
            screen: Screen::SignIn,
            operator: None,
            verdict: VerdictView::default(),
            pending: None,
            reviewing: false,
            sign_in_error: String::new(),
            write_off_error: String::new(),
            code_info: CodeInfoView::default(),
            sync: SyncView {
                enrolled,
                ..SyncView::default()
            },
            online: false,
            settings_message: String::new(),
            scanners: HashMap::new(),
            names: HashMap::new(),
            setup,
        }
    }

    pub fn desk(&self) -> &Desk {
        &self.desk
    }

    pub fn language(&self) -> Lang {
        self.lang
    }

    /// Handles one input; never fails: a storage error is shown as a rejection to acknowledge
    /// and logged, and the terminal goes on.
    pub fn handle(&mut self, input: Input, now: Timestamp) -> Output {
        let mut requests = Vec::new();
        let cue = match self.dispatch(input, now, &mut requests) {
            Ok(cue) => cue,
            Err(error) => {
                tracing::error!("{error:#}");
                self.show_verdict(
                    Tone::Error,
                    self.say("Terminal error", "Ошибка терминала"),
                    format!("{error:#}"),
                    String::new(),
                );
                self.verdict.needs_ack = true;
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

    fn say(&self, en: &str, ru: &str) -> String {
        match self.lang {
            Lang::En => en.to_string(),
            Lang::Ru => ru.to_string(),
        }
    }

    fn show_verdict(&mut self, tone: Tone, headline: String, reason: String, code: String) {
        self.verdict = VerdictView {
            tone,
            headline,
            reason,
            code,
            needs_confirm: false,
            needs_ack: false,
            serial: self.verdict.serial.wrapping_add(1),
        };
    }

    fn clear_verdict(&mut self) {
        self.pending = None;
        self.show_verdict(Tone::Neutral, String::new(), String::new(), String::new());
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
                self.scanners.insert(source, connected);
                Ok(None)
            }
            Input::Sync(event) => {
                self.sync_event(event);
                Ok(None)
            }
            Input::Enrolled(result) => Ok(Some(self.enrolled(result, requests))),
            Input::Tick => Ok(None),
        }
    }

    fn action(
        &mut self,
        action: Action,
        now: Timestamp,
        requests: &mut Vec<Request>,
    ) -> anyhow::Result<Option<CueTone>> {
        if self.operator.is_none() {
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
        match action {
            Action::Navigate(screen) => Ok(self.navigate(screen)),
            Action::SignIn { .. } => Ok(None),
            Action::SignOut => {
                self.operator = None;
                self.screen = Screen::SignIn;
                self.sign_in_error.clear();
                self.clear_verdict();
                Ok(None)
            }
            Action::KeyboardScan(text) => self.scan(text.into_bytes(), now, requests),
            Action::ConfirmWarning => match self.pending.take() {
                Some(payload) => self.scan_into_operation(&payload, true, now),
                None => Ok(None),
            },
            Action::Acknowledge => {
                self.clear_verdict();
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
            Action::AcceptanceUndo | Action::WriteOffUndo | Action::ReaggregationUndo => {
                self.undo()
            }
            Action::AcceptanceReview => {
                self.reviewing = true;
                Ok(None)
            }
            Action::AcceptanceBackToScanning => {
                self.reviewing = false;
                Ok(None)
            }
            Action::AcceptanceFinish
            | Action::AggregationFinish
            | Action::ReaggregationFinish
            | Action::WriteOffFinish => self.finish(now),
            Action::StartReaggregation => {
                let box_units = self.desk.settings().capacity.box_units;
                self.begin(
                    OperationState::Reaggregation(Reaggregation::new(box_units)),
                    now,
                )
            }
            Action::ReaggregationAdding => self.choose_mode(ReaggregationMode::Adding, now),
            Action::ReaggregationRemoving => self.choose_mode(ReaggregationMode::Removing, now),
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
            Action::AggregationClose => self.command(Command::Close, now),
            Action::StartWriteOff { reason } => {
                let reason = WriteOffReason::from_code(&reason)
                    .with_context(|| format!("unknown write-off reason {reason:?}"))?;
                let header = WriteOffHeader {
                    reason,
                    document_number: document_number(now),
                    document_date: now.date(),
                    needs_supervisor: self.setup.supervisor_for_write_off,
                };
                self.write_off_error.clear();
                self.begin(OperationState::WriteOff(WriteOff::new(header)), now)
            }
            Action::WriteOffConfirm { pin } => self.confirm_write_off(&pin, now),
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
                self.operator = Some(operator);
                self.sign_in_error.clear();
                self.clear_verdict();
                // Back to the operation that was open when the terminal stopped.
                self.screen = self.open_screen().unwrap_or(Screen::Home);
                CueTone::Good
            }
            None => {
                self.sign_in_error = self.say(
                    "Unknown PIN or badge: try again or ask your supervisor.",
                    "Неизвестный PIN-код или бейдж: попробуйте ещё раз или обратитесь к старшему смены.",
                );
                CueTone::Error
            }
        }
    }

    /// The screen of the operation that is open, if one is. A shipment, a customer return and
    /// an inventory have no touch screen yet (issue 16): they are worked with `tally work
    /// shipment|return|inventory` and left to it.
    fn open_screen(&self) -> Option<Screen> {
        self.desk.operation().and_then(|op| match op {
            OperationState::Acceptance(_) => Some(Screen::Acceptance),
            OperationState::Aggregation(_) | OperationState::Disaggregation(_) => {
                Some(Screen::Aggregation)
            }
            OperationState::Reaggregation(_) => Some(Screen::Reaggregation),
            OperationState::WriteOff(_) => Some(Screen::WriteOff),
            OperationState::Shipment(_)
            | OperationState::Return(_)
            | OperationState::Inventory(_) => None,
        })
    }

    fn operation_name(&self, screen: Screen) -> String {
        match screen {
            Screen::Acceptance => self.say("Acceptance", "Приёмка"),
            Screen::Aggregation => self.say("Aggregation", "Агрегация"),
            Screen::Reaggregation => self.say("Re-aggregation", "Переагрегация"),
            Screen::WriteOff => self.say("Write-off", "Списание"),
            _ => String::new(),
        }
    }

    fn navigate(&mut self, screen: Screen) -> Option<CueTone> {
        let is_operation = matches!(
            screen,
            Screen::Acceptance | Screen::Aggregation | Screen::Reaggregation | Screen::WriteOff
        );
        if screen == Screen::Settings && !self.operator.as_ref().is_some_and(|o| o.supervisor) {
            return None;
        }
        if let Some(open) = self.open_screen()
            && is_operation
            && open != screen
        {
            self.screen = open;
            let name = self.operation_name(open);
            self.show_verdict(
                Tone::Warning,
                self.say("Finish this first", "Сначала завершите это"),
                match self.lang {
                    Lang::En => format!("{name} is open: finish it before starting another."),
                    Lang::Ru => format!(
                        "Открыта операция «{name}»: завершите её, прежде чем начинать другую."
                    ),
                },
                String::new(),
            );
            return Some(CueTone::Warning);
        }
        if self.screen != screen && !self.verdict.needs_ack && !self.verdict.needs_confirm {
            self.clear_verdict();
        }
        self.settings_message.clear();
        self.screen = screen;
        None
    }

    /// Routes a scan to the screen that expects it, or explains where to go.
    fn scan(
        &mut self,
        payload: Vec<u8>,
        now: Timestamp,
        requests: &mut Vec<Request>,
    ) -> anyhow::Result<Option<CueTone>> {
        let text = String::from_utf8_lossy(&payload);
        if let Some((url, code)) = enrollment(&text) {
            if self.screen == Screen::Settings {
                self.settings_message = self.say("Enrolling…", "Подключение…");
                requests.push(Request::Enroll { url, code });
                return Ok(Some(CueTone::Good));
            }
            return Ok(Some(self.explain(
                "An enrollment code is scanned in Settings, by a supervisor.",
                "Код подключения сканирует старший смены в Настройках.",
            )));
        }
        if self.operator.is_none() {
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
            self.sign_in_error = self.say(
                "Sign in first: enter your PIN or scan your badge.",
                "Сначала войдите: введите PIN-код или отсканируйте бейдж.",
            );
            return Ok(Some(CueTone::Error));
        }
        if self.verdict.needs_ack {
            // A rejection never scrolls away unseen: the next scan waits for the tap.
            let reminder = self.say(
                "Tap OK on this message before the next scan.",
                "Нажмите «ОК» на этом сообщении, прежде чем сканировать дальше.",
            );
            if !self.verdict.reason.ends_with(&reminder) {
                self.verdict.reason = format!("{}\n{reminder}", self.verdict.reason)
                    .trim_start()
                    .to_string();
            }
            return Ok(Some(CueTone::Error));
        }
        if self.screen == Screen::CodeInfo {
            return self.inspect(&payload, now);
        }
        match self.open_screen() {
            Some(open) => {
                if self.screen != open {
                    self.screen = open;
                }
                self.reviewing = false;
                self.scan_into_operation(&payload, false, now)
            }
            None => Ok(Some(match self.screen {
                Screen::Acceptance => self.explain(
                    "Choose a task or start a free acceptance first.",
                    "Сначала выберите задание или начните приёмку без задания.",
                ),
                Screen::Aggregation => self.explain(
                    "Tap “Pack boxes” or “Unpack a box” first.",
                    "Сначала нажмите «Упаковать в короба» или «Расформировать короб».",
                ),
                Screen::WriteOff => self.explain(
                    "Choose the write-off reason first.",
                    "Сначала выберите причину списания.",
                ),
                Screen::Reaggregation => self.explain(
                    "Tap “Start” first.",
                    "Сначала нажмите «Начать».",
                ),
                _ => self.explain(
                    "Open Acceptance, Aggregation or Write-off to work with codes, or Code info to look one up.",
                    "Откройте Приёмку, Агрегацию или Списание, чтобы работать с кодами, или «Сведения о коде», чтобы проверить код.",
                ),
            })),
        }
    }

    fn explain(&mut self, en: &str, ru: &str) -> CueTone {
        let reason = self.say(en, ru);
        self.show_verdict(
            Tone::Warning,
            self.say("Not here", "Не здесь"),
            reason,
            String::new(),
        );
        CueTone::Warning
    }

    fn scan_into_operation(
        &mut self,
        payload: &[u8],
        confirmed: bool,
        now: Timestamp,
    ) -> anyhow::Result<Option<CueTone>> {
        let outcome = self.desk.scan(payload, confirmed, now)?;
        let lang = self.lang;
        Ok(Some(match outcome {
            ScanOutcome::Unreadable(rejection) => {
                self.show_verdict(
                    Tone::Error,
                    self.say("Not a valid code", "Код не распознан"),
                    rejection.message(lang),
                    String::from_utf8_lossy(payload).chars().take(60).collect(),
                );
                self.verdict.needs_ack = true;
                CueTone::Error
            }
            ScanOutcome::Refused { code, verdict }
                if verdict
                    .findings
                    .iter()
                    .all(|(f, _)| f.code() == "duplicate_in_document") =>
            {
                // A double scan is the scanner's echo, not news: amber, and no tap needed.
                self.show_verdict(
                    Tone::Warning,
                    self.say("Already scanned", "Уже отсканирован"),
                    findings_text(&verdict, lang),
                    shown_code(&code),
                );
                CueTone::Warning
            }
            ScanOutcome::Refused { code, verdict } => {
                self.show_verdict(
                    Tone::Error,
                    self.say("Rejected", "Отклонено"),
                    findings_text(&verdict, lang),
                    shown_code(&code),
                );
                self.verdict.needs_ack = true;
                CueTone::Error
            }
            ScanOutcome::NeedsConfirmation { code, verdict } => {
                self.show_verdict(
                    Tone::Warning,
                    self.say("Check this code", "Проверьте код"),
                    findings_text(&verdict, lang),
                    shown_code(&code),
                );
                self.verdict.needs_confirm = true;
                self.pending = Some(payload.to_vec());
                CueTone::Warning
            }
            ScanOutcome::NotTaken { code, refusal, .. } => {
                let duplicate = refusal == Refusal::Duplicate;
                self.show_verdict(
                    if duplicate {
                        Tone::Warning
                    } else {
                        Tone::Error
                    },
                    if duplicate {
                        self.say("Already scanned", "Уже отсканирован")
                    } else {
                        self.say("Not taken", "Не принято")
                    },
                    refusal.message(lang),
                    shown_code(&code),
                );
                // A double scan is the scanner's echo, not news; anything else waits for OK.
                self.verdict.needs_ack = !duplicate;
                if duplicate {
                    CueTone::Warning
                } else {
                    CueTone::Error
                }
            }
            ScanOutcome::Recorded { code, verdict, .. } => {
                // A re-marked code: the goods stay, and the operator now scans the new label.
                if let Some(OperationState::WriteOff(w)) = self.desk.operation()
                    && w.awaiting_replacement().is_some()
                {
                    self.show_verdict(
                        Tone::Warning,
                        self.say("New code needed", "Нужен новый код"),
                        self.say(
                            "The goods are in circulation: put a new label on them and scan its code.",
                            "Товар в обороте: наклейте на него новую этикетку и отсканируйте её код.",
                        ),
                        shown_code(&code),
                    );
                    return Ok(Some(CueTone::Warning));
                }
                let headline = match (self.desk.operation(), code.kind()) {
                    (Some(OperationState::Aggregation(g)), CodeKind::Sscc)
                        if g.open_aggregate()
                            .is_some_and(|a| Some(a.sscc) == code.sscc()) =>
                    {
                        self.say("Box opened", "Короб открыт")
                    }
                    (Some(OperationState::Aggregation(_)), _) => self.say("Packed", "Упакован"),
                    (Some(OperationState::Disaggregation(_)), _) => {
                        self.say("To unpack", "К расформированию")
                    }
                    (Some(OperationState::WriteOff(w)), _)
                        if matches!(w.events().last(), Some(WriteOffEvent::Replacement { .. })) =>
                    {
                        self.say("Code replaced", "Код заменён")
                    }
                    (Some(OperationState::WriteOff(_)), _) => {
                        self.say("To write off", "К списанию")
                    }
                    (Some(OperationState::Reaggregation(_)), CodeKind::Sscc) => {
                        self.say("Box scanned", "Короб отсканирован")
                    }
                    (Some(OperationState::Reaggregation(r)), _) => match r.mode() {
                        Some(ReaggregationMode::Removing) => self.say("Taken out", "Изъят"),
                        _ => self.say("Added", "Добавлен"),
                    },
                    _ => self.say("Accepted", "Принят"),
                };
                let mut reason = self.product_name(&code);
                if verdict.outcome == Outcome::Warn {
                    reason = format!("{reason}\n{}", findings_text(&verdict, lang))
                        .trim()
                        .to_string();
                }
                self.show_verdict(Tone::Good, headline, reason, shown_code(&code));
                CueTone::Good
            }
        }))
    }

    fn begin(&mut self, state: OperationState, now: Timestamp) -> anyhow::Result<Option<CueTone>> {
        if let Some(open) = self.open_screen() {
            self.screen = open;
            return Ok(None);
        }
        if let Some(open) = self.desk.operation() {
            // Open with no screen of its own (a shipment, worked headless): left to it.
            let kind = open.kind_name();
            self.show_verdict(
                Tone::Warning,
                self.say("Finish this first", "Сначала завершите это"),
                match self.lang {
                    Lang::En => format!("A {kind} is open on this terminal: finish it with `tally work {kind}`."),
                    Lang::Ru => format!("На терминале открыта операция {kind}: завершите её командой `tally work {kind}`."),
                },
                String::new(),
            );
            return Ok(Some(CueTone::Warning));
        }
        self.desk.begin(state, now)?;
        self.reviewing = false;
        self.clear_verdict();
        self.screen = self.open_screen().unwrap_or(Screen::Home);
        Ok(None)
    }

    fn refusal(&mut self, refusal: Refusal) -> Option<CueTone> {
        self.show_verdict(
            Tone::Error,
            self.say("Not possible", "Невозможно"),
            refusal.message(self.lang),
            String::new(),
        );
        self.verdict.needs_ack = true;
        Some(CueTone::Error)
    }

    fn undo(&mut self) -> anyhow::Result<Option<CueTone>> {
        match self.desk.undo()? {
            Ok(()) => {
                self.show_verdict(
                    Tone::Neutral,
                    self.say("Undone", "Отменено"),
                    String::new(),
                    String::new(),
                );
                Ok(None)
            }
            Err(refusal) => Ok(self.refusal(refusal)),
        }
    }

    fn command(&mut self, command: Command, now: Timestamp) -> anyhow::Result<Option<CueTone>> {
        match self.desk.command(command, now)? {
            Ok(_) => {
                self.clear_verdict();
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
            self.show_verdict(
                Tone::Error,
                self.say("No label here", "Этикетки нет"),
                self.say(
                    "This terminal has no GS1 company prefix to make labels: scan a printed SSCC label.",
                    "У терминала нет префикса предприятия GS1 для этикеток: отсканируйте напечатанную этикетку SSCC.",
                ),
                String::new(),
            );
            self.verdict.needs_ack = true;
            return Ok(Some(CueTone::Error));
        }
        self.command(Command::OpenGenerated(level), now)
    }

    fn confirm_write_off(&mut self, pin: &str, now: Timestamp) -> anyhow::Result<Option<CueTone>> {
        let Some(supervisor) = self
            .operators()
            .into_iter()
            .find(|o| o.supervisor && o.pin.matches(pin))
        else {
            self.write_off_error = self.say(
                "This PIN is not a supervisor's.",
                "Этот PIN-код не принадлежит старшему смены.",
            );
            return Ok(Some(CueTone::Error));
        };
        self.write_off_error.clear();
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
        let Some(screen) = self.open_screen() else {
            return Ok(None);
        };
        match self.desk.finish(now)? {
            Ok(queued) => {
                self.reviewing = false;
                let name = self.operation_name(screen);
                self.show_verdict(
                    Tone::Good,
                    match self.lang {
                        Lang::En => format!("{name} finished"),
                        Lang::Ru => format!("{name}: завершено"),
                    },
                    match self.lang {
                        Lang::En => format!("Queued for upload as No. {}.", queued.seq.0),
                        Lang::Ru => format!("В очереди на выгрузку под № {}.", queued.seq.0),
                    },
                    String::new(),
                );
                self.screen = Screen::Home;
                Ok(Some(CueTone::Good))
            }
            Err(refusal) => {
                self.reviewing = false;
                Ok(self.refusal(refusal))
            }
        }
    }

    fn inspect(&mut self, payload: &[u8], now: Timestamp) -> anyhow::Result<Option<CueTone>> {
        let lang = self.lang;
        match self.desk.inspect(payload, now)? {
            Inspection::Unreadable(rejection) => {
                self.code_info = CodeInfoView {
                    headline: self.say("Not a valid code", "Код не распознан"),
                    tone: Tone::Error,
                    rows: vec![
                        info_row(&self.say("Why", "Почему"), &rejection.message(lang)),
                        info_row(
                            &self.say("Scanned", "Считано"),
                            &String::from_utf8_lossy(payload),
                        ),
                    ],
                };
                Ok(Some(CueTone::Error))
            }
            Inspection::Code(report) => {
                let tone = match report.verdict.outcome {
                    Outcome::Accept => Tone::Good,
                    Outcome::Warn => Tone::Warning,
                    Outcome::Reject => Tone::Error,
                };
                self.code_info = self.code_report(&report);
                self.code_info.tone = tone;
                Ok(Some(match tone {
                    Tone::Good => CueTone::Good,
                    Tone::Error => CueTone::Error,
                    _ => CueTone::Warning,
                }))
            }
        }
    }

    fn code_report(&mut self, report: &CodeReport) -> CodeInfoView {
        let lang = self.lang;
        let code = &report.code;
        let mut rows = Vec::new();
        let mut row = |label: String, value: String| rows.push(info_row(&label, &value));
        row(self.say("Kind", "Вид"), code.kind().code().to_string());
        if let Some(gtin) = code.gtin() {
            row("GTIN".into(), gtin.to_string());
        }
        if let Some(serial) = code.serial() {
            row(self.say("Serial", "Серийный номер"), serial.to_string());
        }
        if let Some(sscc) = code.sscc() {
            row("SSCC".into(), sscc.to_string());
        }
        if let Some(item) = &report.catalog {
            row(self.say("Product", "Товар"), item.name.clone());
        }
        let group = report
            .status
            .as_ref()
            .and_then(|s| s.product_group)
            .or_else(|| report.catalog.as_ref().and_then(|c| c.product_group));
        if let Some(group) = group {
            row(
                self.say("Product group", "Товарная группа"),
                match lang {
                    Lang::En => group.name_en(),
                    Lang::Ru => group.name_ru(),
                }
                .to_string(),
            );
        }
        match &report.status {
            Some(status) => {
                row(
                    self.say("Status", "Статус"),
                    format!(
                        "{} ({})",
                        status.status.api_name(),
                        status.status_ex.api_name()
                    ),
                );
                if let Some(owner) = status.owner {
                    row(self.say("Owner (INN)", "Владелец (ИНН)"), owner.to_string());
                }
                if let Some(parent) = &status.parent {
                    let label = match parent {
                        Parent::Sscc(_) => self.say("In box", "В коробе"),
                        _ => self.say("In package", "В упаковке"),
                    };
                    row(label, parent.to_string());
                }
                if let Some(expiry) = status.expiry.or(code.expiry()) {
                    row(self.say("Expiry", "Годен до"), expiry.to_string());
                }
                if let Some(price) = status.max_retail_price.or(code.max_retail_price()) {
                    row(
                        self.say("Max retail price", "МРЦ"),
                        format!("{}.{:02} ₽", price / 100, price % 100),
                    );
                }
                if status.blocked {
                    row(self.say("Blocked", "Заблокирован"), self.say("yes", "да"));
                }
            }
            None => row(
                self.say("Status", "Статус"),
                self.say(
                    "not in the terminal's status list",
                    "нет в списке статусов терминала",
                ),
            ),
        }
        if let Some(contents) = &report.contents {
            row(
                self.say("Packed here", "Упаковано здесь"),
                match lang {
                    Lang::En => format!("{} items", contents.len()),
                    Lang::Ru => format!("вложений: {}", contents.len()),
                },
            );
        }
        if code.repairs().recovered() {
            row(
                self.say("Scanner", "Сканер"),
                self.say(
                    "the code was repaired (separators or keyboard layout): check the scanner settings",
                    "код восстановлен (разделители или раскладка): проверьте настройки сканера",
                ),
            );
        }
        for (finding, _) in &report.verdict.findings {
            row(self.say("Note", "Замечание"), finding.message(lang));
        }
        let headline = match (&report.status, report.verdict.headline()) {
            (_, Some(finding)) if report.verdict.outcome != Outcome::Accept => {
                finding.message(lang)
            }
            (Some(status), _) => status.status.api_name().to_string(),
            (None, _) => self.say("Unknown code", "Неизвестный код"),
        };
        CodeInfoView {
            headline,
            tone: Tone::Neutral,
            rows,
        }
    }

    fn sync_event(&mut self, event: WorkerEvent) {
        match event {
            WorkerEvent::Started(_) => {
                self.sync.running = true;
                self.sync.push_progress = 0.0;
                self.sync.pull_progress = 0.0;
                self.sync.phase = self.say("Connecting to the hub…", "Соединение с сервером…");
            }
            WorkerEvent::Progress(Progress::Push { sent, total }) => {
                self.online = true;
                self.sync.push_progress = fraction(sent as u64, total as u64);
                self.sync.phase = match self.lang {
                    Lang::En => format!("Upload: {sent} of {total} operations"),
                    Lang::Ru => format!("Выгрузка: {sent} из {total} операций"),
                };
            }
            WorkerEvent::Progress(Progress::Pull {
                feed, items, total, ..
            }) => {
                self.online = true;
                self.sync.push_progress = 1.0;
                // Feeds do not say their size up front: the bar moves per feed.
                let index = tally_wire::Feed::ALL
                    .iter()
                    .position(|f| *f == feed)
                    .unwrap_or(0);
                self.sync.pull_progress = index as f32 / tally_wire::Feed::ALL.len() as f32;
                self.sync.phase = match self.lang {
                    Lang::En => format!("Download {}: {total} (+{items})", feed.name()),
                    Lang::Ru => format!("Загрузка {}: {total} (+{items})", feed.name()),
                };
            }
            WorkerEvent::Finished(result) => {
                self.sync.running = false;
                match result {
                    Ok(summary) => {
                        self.online = true;
                        self.sync.push_progress = 1.0;
                        self.sync.pull_progress = 1.0;
                        self.sync.phase.clear();
                        self.sync.result = self.round_text(&summary);
                        self.sync.result_tone = if summary.rejected > 0 {
                            Tone::Warning
                        } else {
                            Tone::Good
                        };
                    }
                    Err(error) => {
                        self.online = false;
                        self.sync.phase.clear();
                        self.sync.result = match self.lang {
                            Lang::En => format!("Sync failed: {error}. The queue is kept."),
                            Lang::Ru => {
                                format!("Обмен не удался: {error}. Очередь сохранена.")
                            }
                        };
                        self.sync.result_tone = Tone::Error;
                    }
                }
            }
        }
    }

    fn round_text(&self, summary: &RoundSummary) -> String {
        let pulled: u64 = summary.feeds.iter().map(|f| f.items).sum();
        match self.lang {
            Lang::En => format!(
                "Uploaded: {} accepted, {} already there, {} rejected. Downloaded {pulled} changes.",
                summary.accepted, summary.duplicate, summary.rejected
            ),
            Lang::Ru => format!(
                "Выгружено: принято {}, уже было {}, отклонено {}. Загружено изменений: {pulled}.",
                summary.accepted, summary.duplicate, summary.rejected
            ),
        }
    }

    fn enrolled(
        &mut self,
        result: Result<Enrollment, String>,
        requests: &mut Vec<Request>,
    ) -> CueTone {
        match result {
            Ok(Enrollment { hub, sscc_serials }) => {
                // The labels this terminal prints from now on come from the hub's range.
                if let Some(range) = sscc_serials
                    && let Err(error) = self.desk.adopt_sscc_serials(range)
                {
                    tracing::error!(%error, "adopting the SSCC serial range");
                }
                self.settings_message = match self.lang {
                    Lang::En => format!("Enrolled with {hub}. Syncing now."),
                    Lang::Ru => format!("Терминал подключён к {hub}. Начат обмен."),
                };
                self.setup.hub = Some(hub);
                self.sync.enrolled = true;
                requests.push(Request::SyncNow);
                CueTone::Good
            }
            Err(error) => {
                self.settings_message = match self.lang {
                    Lang::En => format!("Enrollment failed: {error}"),
                    Lang::Ru => format!("Подключение не удалось: {error}"),
                };
                CueTone::Error
            }
        }
    }

    fn product_name(&mut self, code: &MarkingCode) -> String {
        code.gtin()
            .map_or_else(String::new, |gtin| self.name_of(gtin))
    }

    /// The catalogue's name of a GTIN, remembered: lists ask for the same few over and over.
    fn name_of(&mut self, gtin: Gtin) -> String {
        if let Some(name) = self.names.get(&gtin) {
            return name.clone();
        }
        let name = match self.desk.store().catalog_item(gtin) {
            Ok(item) => item.map(|i| i.name).unwrap_or_default(),
            Err(error) => {
                tracing::warn!("catalogue lookup of {gtin}: {error}");
                return String::new();
            }
        };
        self.names.insert(gtin, name.clone());
        name
    }

    /// The whole view at `now`.
    pub fn view(&mut self, now: Timestamp) -> View {
        View {
            screen: self.screen,
            status: self.status_line(now),
            verdict: self.verdict.clone(),
            sign_in: SignInView {
                error: self.sign_in_error.clone(),
            },
            acceptance: self.acceptance_view(),
            aggregation: self.aggregation_view(),
            reaggregation: self.reaggregation_view(),
            write_off: self.write_off_view(),
            code_info: self.code_info.clone(),
            sync: self.sync_view(now),
            settings: self.settings_view(),
        }
    }

    fn status_line(&self, now: Timestamp) -> StatusLine {
        let store = self.desk.store();
        let queued = store.queue_depth().unwrap_or(0);
        let last_sync = store.last_sync().ok().flatten();
        let age = store.cache_age_ms(now).ok().flatten();
        let limit_ms = self.desk.settings().policy.max_cache_age_hours * 3_600_000;
        let cache_tone = match age {
            None => Tone::Error,
            Some(age) if age >= limit_ms => Tone::Error,
            Some(age) if age * 4 >= limit_ms * 3 => Tone::Warning,
            Some(_) => Tone::Good,
        };
        StatusLine {
            operator: self
                .operator
                .as_ref()
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            supervisor: self.operator.as_ref().is_some_and(|o| o.supervisor),
            online: self.online,
            cache_age: match age {
                Some(age) => format_age(age, self.lang),
                None => self.say("none", "нет"),
            },
            cache_tone,
            queued: i32::try_from(queued).unwrap_or(i32::MAX),
            last_sync: match last_sync {
                Some(at) => match self.lang {
                    Lang::En => format!("sync {} ago", format_age(now.0 - at.0, self.lang)),
                    Lang::Ru => format!("обмен {} назад", format_age(now.0 - at.0, self.lang)),
                },
                None => self.say("never synced", "обмена не было"),
            },
            open_operation: self
                .open_screen()
                .map(|s| self.operation_name(s))
                .unwrap_or_default(),
        }
    }

    fn acceptance_view(&mut self) -> AcceptanceView {
        let tasks = self
            .desk
            .store()
            .tasks()
            .unwrap_or_default()
            .iter()
            .map(|t| {
                let detail = match self.lang {
                    Lang::En => format!(
                        "INN {} · {} units, {} boxes",
                        t.sender_inn, t.units, t.boxes
                    ),
                    Lang::Ru => format!(
                        "ИНН {} · единиц {}, коробов {}",
                        t.sender_inn, t.units, t.boxes
                    ),
                };
                task_row(&t.id, &format!("{} · {}", t.number, t.date), &detail)
            })
            .collect();
        let Some(OperationState::Acceptance(a)) = self.desk.operation() else {
            return AcceptanceView {
                tasks,
                ..AcceptanceView::default()
            };
        };
        let counters = a.counters();
        let title = a.task().map_or_else(
            || self.say("Free acceptance", "Приёмка без задания"),
            |t| t.number.clone(),
        );
        let summary = a.summary();
        let events: Vec<AcceptanceEvent> =
            a.events().iter().rev().take(LIST_ROWS).copied().collect();
        // Judged on the finished picture: a unit that filled a quantity line is expected even
        // once the line is full, and only the units past it are surplus.
        let expectations: Vec<Expectation> = events
            .iter()
            .map(|e| match e {
                AcceptanceEvent::Unit(ki) if summary.surplus.contains(ki) => {
                    Expectation::NotExpected
                }
                _ => Expectation::Expected,
            })
            .collect();
        let summary_text = self.summary_text(&summary);
        let rows = events
            .iter()
            .zip(expectations)
            .map(|(event, expectation)| match event {
                AcceptanceEvent::Unit(ki) => {
                    let surplus = expectation == Expectation::NotExpected;
                    let note = if surplus {
                        self.say("surplus", "излишек")
                    } else {
                        String::new()
                    };
                    let name = self.name_of(ki.gtin());
                    scan_row(
                        &ki.to_string(),
                        &name,
                        &note,
                        if surplus { Tone::Warning } else { Tone::Good },
                    )
                }
                AcceptanceEvent::Box(sscc) => {
                    scan_row(&sscc.to_string(), &self.say("Box", "Короб"), "", Tone::Good)
                }
                AcceptanceEvent::Exclude(ki) => scan_row(
                    &ki.to_string(),
                    &self.name_of(ki.gtin()),
                    &self.say("excluded", "исключён"),
                    Tone::Error,
                ),
            })
            .collect();
        AcceptanceView {
            active: true,
            tasks,
            title,
            expected: count(counters.expected),
            scanned: count(counters.scanned),
            surplus: count(counters.surplus),
            missing: count(counters.missing),
            rows,
            reviewing: self.reviewing,
            summary: summary_text,
        }
    }

    fn summary_text(&mut self, summary: &AcceptanceSummary) -> String {
        let (surplus, missing) = (&summary.surplus, &summary.missing);
        let accepted = summary.accepted.len();
        let mut lines = vec![match self.lang {
            Lang::En => format!("Accepted: {accepted}."),
            Lang::Ru => format!("Принято: {accepted}."),
        }];
        // Goods the task asks for by count: each line's count, and how far off it is.
        let mut off_by_quantity = false;
        for line in &summary.lines {
            let name = self.name_of(line.gtin);
            let (filled, over, short) = (line.filled.len(), line.over.len(), line.short());
            off_by_quantity |= over > 0 || short > 0;
            let off = match (self.lang, over, short) {
                (_, 0, 0) => String::new(),
                (Lang::En, 0, short) => format!(", short {short}"),
                (Lang::Ru, 0, short) => format!(", недостача {short}"),
                (Lang::En, over, _) => format!(", over {over}"),
                (Lang::Ru, over, _) => format!(", излишек {over}"),
            };
            let label = if name.is_empty() {
                line.gtin.to_string()
            } else {
                format!("{} {name}", line.gtin)
            };
            lines.push(format!("{label}: {filled}/{}{off}", line.expected));
        }
        for (label, codes) in [
            (
                self.say("Surplus (not in the task)", "Излишек (нет в задании)"),
                surplus,
            ),
            (
                self.say("Missing (not scanned)", "Недостача (не отсканировано)"),
                missing,
            ),
        ] {
            if codes.is_empty() {
                continue;
            }
            lines.push(format!("{label}: {}", codes.len()));
            for ki in codes.iter().take(20) {
                let name = self.name_of(ki.gtin());
                lines.push(format!("  {ki} {name}").trim_end().to_string());
            }
            if codes.len() > 20 {
                lines.push(format!("  … +{}", codes.len() - 20));
            }
        }
        if surplus.is_empty() && missing.is_empty() && !off_by_quantity {
            lines.push(self.say("No discrepancies.", "Расхождений нет."));
        }
        lines.join("\n")
    }

    fn aggregation_view(&mut self) -> AggregationView {
        let capacity = self.desk.settings().capacity;
        match self.desk.operation() {
            Some(OperationState::Aggregation(g)) => {
                let open = g.open_aggregate().cloned();
                let closed = count(g.closed().len());
                let hint = self.say(
                    "Scan a box label or tap “New box”; a pallet label or “New pallet” for boxes.",
                    "Отсканируйте этикетку короба или нажмите «Новый короб»; для коробов — этикетку палеты или «Новая палета».",
                );
                let Some(open) = open else {
                    return AggregationView {
                        active: true,
                        closed,
                        hint,
                        ..AggregationView::default()
                    };
                };
                let rows = open
                    .children
                    .iter()
                    .rev()
                    .take(LIST_ROWS)
                    .map(|child| match child {
                        Child::Unit(ki) => {
                            let name = self.name_of(ki.gtin());
                            scan_row(&ki.to_string(), &name, "", Tone::Good)
                        }
                        Child::Box(sscc) => {
                            scan_row(&sscc.to_string(), &self.say("Box", "Короб"), "", Tone::Good)
                        }
                    })
                    .collect();
                let (level, cap) = match open.level {
                    Level::Box => (self.say("Box", "Короб"), capacity.box_units),
                    Level::Pallet => (self.say("Pallet", "Палета"), capacity.pallet_boxes),
                };
                AggregationView {
                    active: true,
                    unpacking: false,
                    box_open: true,
                    pallet: open.level == Level::Pallet,
                    level,
                    sscc: open.sscc.to_string(),
                    fill: count(open.children.len()),
                    capacity: i32::try_from(cap).unwrap_or(i32::MAX),
                    rows,
                    closed,
                    hint,
                }
            }
            Some(OperationState::Disaggregation(d)) => AggregationView {
                active: true,
                unpacking: true,
                rows: d
                    .labels()
                    .iter()
                    .rev()
                    .take(LIST_ROWS)
                    .map(|sscc| scan_row(&sscc.to_string(), "", "", Tone::Good))
                    .collect(),
                closed: count(d.labels().len()),
                hint: self.say(
                    "Scan the label of each box to unpack, then tap “Finish”.",
                    "Отсканируйте этикетку каждого расформируемого короба и нажмите «Завершить».",
                ),
                ..AggregationView::default()
            },
            _ => AggregationView::default(),
        }
    }

    fn write_off_view(&mut self) -> WriteOffView {
        let reasons = WriteOffReason::ALL
            .iter()
            .map(|r| {
                choice_row(
                    r.code(),
                    match self.lang {
                        Lang::En => r.name_en(),
                        Lang::Ru => r.name_ru(),
                    },
                )
            })
            .collect();
        let Some(OperationState::WriteOff(w)) = self.desk.operation() else {
            return WriteOffView {
                reasons,
                ..WriteOffView::default()
            };
        };
        let header = w.header().clone();
        let codes: Vec<Ki> = w.codes().copied().collect();
        let replacements: HashMap<Ki, Ki> = w.replacements().collect();
        let replacing = w.awaiting_replacement();
        let confirmed = w
            .events()
            .iter()
            .any(|e| matches!(e, WriteOffEvent::Confirmed { .. }));
        let rows = codes
            .iter()
            .rev()
            .take(LIST_ROWS)
            .map(|ki| {
                let name = self.name_of(ki.gtin());
                // A re-marked code shows its new one, or that it still waits for it.
                match (replacements.get(ki), replacing == Some(*ki)) {
                    (Some(new), _) => {
                        let note = match self.lang {
                            Lang::En => format!("new code {new}"),
                            Lang::Ru => format!("новый код {new}"),
                        };
                        scan_row(&ki.to_string(), &name, &note, Tone::Good)
                    }
                    (None, true) => scan_row(
                        &ki.to_string(),
                        &name,
                        &self.say("waiting for the new code", "ждёт новый код"),
                        Tone::Warning,
                    ),
                    (None, false) => scan_row(&ki.to_string(), &name, "", Tone::Good),
                }
            })
            .collect();
        WriteOffView {
            active: true,
            reasons,
            reason: match self.lang {
                Lang::En => format!("{} · {}", header.reason.name_en(), header.document_number),
                Lang::Ru => format!("{} · {}", header.reason.name_ru(), header.document_number),
            },
            count: count(codes.len()),
            rows,
            needs_supervisor: header.needs_supervisor,
            confirmed,
            error: self.write_off_error.clone(),
            replacing: replacing.map(|ki| ki.to_string()).unwrap_or_default(),
        }
    }

    fn reaggregation_view(&mut self) -> ReaggregationView {
        let Some(OperationState::Reaggregation(r)) = self.desk.operation() else {
            return ReaggregationView::default();
        };
        let (sscc, mode, fill) = (r.sscc(), r.mode(), r.fill());
        let units: Vec<Ki> = r.units().iter().rev().take(LIST_ROWS).copied().collect();
        let count = count(r.units().len());
        let capacity = r.box_units();
        let mode_label = match mode {
            Some(ReaggregationMode::Adding) => self.say("Adding to the box", "Добавление в короб"),
            Some(ReaggregationMode::Removing) => {
                self.say("Taking out of the box", "Изъятие из короба")
            }
            None => String::new(),
        };
        let hint = match (sscc, mode) {
            (None, _) => self.say(
                "Scan the label of the closed box.",
                "Отсканируйте этикетку закрытого короба.",
            ),
            (Some(_), None) => self.say(
                "Choose: add items to the box or take them out.",
                "Выберите: добавить товары в короб или изъять их.",
            ),
            (Some(_), Some(ReaggregationMode::Adding)) => self.say(
                "Scan each item that goes into the box.",
                "Отсканируйте каждый товар, который кладёте в короб.",
            ),
            (Some(_), Some(ReaggregationMode::Removing)) => self.say(
                "Scan each item you take out of the box.",
                "Отсканируйте каждый товар, который вынимаете из короба.",
            ),
        };
        let note = match mode {
            Some(ReaggregationMode::Removing) => self.say("taken out", "изъят"),
            _ => self.say("added", "добавлен"),
        };
        let rows = units
            .iter()
            .map(|ki| {
                let name = self.name_of(ki.gtin());
                scan_row(&ki.to_string(), &name, &note, Tone::Good)
            })
            .collect();
        ReaggregationView {
            active: true,
            sscc: sscc.map(|s| s.to_string()).unwrap_or_default(),
            mode: mode.map(|m| m.code().to_string()).unwrap_or_default(),
            mode_label,
            count,
            fill: fill.map(|n| format!("{n}/{capacity}")).unwrap_or_default(),
            rows,
            hint,
        }
    }

    fn sync_view(&self, now: Timestamp) -> SyncView {
        let store = self.desk.store();
        let rejected = store
            .rejected_operations()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                info_row(
                    &format!("{} № {}", r.operation.kind, r.operation.seq.0),
                    &self.reasons_text(&r.reasons),
                )
            })
            .collect();
        let refused = store
            .refused_verdicts()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                // The operation as the operator knows it (kind, number, the day it was
                // finished), and which of its GIS MT documents was refused.
                let label = format!(
                    "{} № {} · {} · {}",
                    r.operation.kind,
                    r.operation.seq.0,
                    r.operation.finished_at.date(),
                    r.verdict.document_type
                );
                let reasons = if r.verdict.reasons.is_empty() {
                    self.say("GIS MT gave no reason", "ГИС МТ не указала причину")
                } else {
                    self.reasons_text(&r.verdict.reasons)
                };
                info_row(&label, &reasons)
            })
            .collect();
        let status_list_age = store
            .status_list_age_ms(now)
            .ok()
            .flatten()
            .map(|age| format_age(age, self.lang))
            .unwrap_or_default();
        SyncView {
            rejected,
            refused,
            status_list_age,
            ..self.sync.clone()
        }
    }

    /// Reasons in the UI's language, one a line, each after the code it is about.
    fn reasons_text(&self, reasons: &[tally_wire::OperationReason]) -> String {
        let lines: Vec<String> = reasons
            .iter()
            .map(|reason| {
                let text = match self.lang {
                    Lang::En => &reason.en,
                    Lang::Ru => &reason.ru,
                };
                match &reason.subject {
                    Some(subject) => format!("{subject}: {text}"),
                    None => text.clone(),
                }
            })
            .collect();
        lines.join("\n")
    }

    fn settings_view(&self) -> SettingsView {
        let scanners = if self.setup.scanners.is_empty() {
            self.say("none configured", "не настроены")
        } else {
            self.setup
                .scanners
                .iter()
                .map(|s| match self.scanners.get(s) {
                    Some(true) => format!("{s} ✓"),
                    Some(false) => format!("{s} ✗"),
                    None => s.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        SettingsView {
            scanners,
            hub: self
                .setup
                .hub
                .clone()
                .unwrap_or_else(|| self.say("not enrolled", "не подключён")),
            language: match self.lang {
                Lang::En => "en".into(),
                Lang::Ru => "ru".into(),
            },
            sounds: self.setup.sounds,
            vibration: self.setup.vibration,
            message: self.settings_message.clone(),
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

fn findings_text(verdict: &Verdict, lang: Lang) -> String {
    verdict
        .findings
        .iter()
        .map(|(f, _)| f.message(lang))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The code as staff read it off the label: КИ for units, SSCC for boxes.
fn shown_code(code: &MarkingCode) -> String {
    match (code.ki(), code.sscc()) {
        (Some(ki), _) => ki.to_string(),
        (None, Some(sscc)) => sscc.to_string(),
        (None, None) => code.canonical().to_string(),
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn fraction(done: u64, total: u64) -> f32 {
    if total == 0 {
        1.0
    } else {
        (done as f32 / total as f32).clamp(0.0, 1.0)
    }
}

/// "12 min", "5 h", "3 d".
fn format_age(ms: i64, lang: Lang) -> String {
    let minutes = ms.max(0) / 60_000;
    let (n, en, ru) = if minutes < 60 {
        (minutes, "min", "мин")
    } else if minutes < 48 * 60 {
        (minutes / 60, "h", "ч")
    } else {
        (minutes / (24 * 60), "d", "дн")
    };
    match lang {
        Lang::En => format!("{n} {en}"),
        Lang::Ru => format!("{n} {ru}"),
    }
}

/// A write-off document's number: unique per terminal and second, readable on paper.
fn document_number(now: Timestamp) -> String {
    let date = now.date();
    let seconds_of_day = now.0.rem_euclid(86_400_000) / 1000;
    format!(
        "WO-{date}-{:02}{:02}{:02}",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
}
