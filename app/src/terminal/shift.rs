//! The operator's shift as a pure state machine: the screen, who is signed in, which
//! operation is open (by its screen), the verdict on show and what waits for a tap (a warned
//! scan to confirm, a rejection to acknowledge). No store, no clock, no language: the
//! controller tells it what happened and asks it where things go.

use tally_ui::{Screen, Tone, VerdictView};

use super::config::Operator;

/// The shift's state.
#[derive(Clone, Debug, Default)]
pub struct Shift {
    screen: Screen,
    operator: Option<Operator>,
    /// The screen of the operation open on the desk.
    open: Option<Screen>,
    verdict: VerdictView,
    /// A warned scan waiting for its confirming tap.
    pending: Option<Vec<u8>>,
    /// Acceptance and inventory: the summary is shown instead of the scan list.
    reviewing: bool,
}

/// Where a navigation ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Navigation {
    Moved,
    /// Settings are a supervisor's.
    Forbidden,
    /// Another operation is open: the operator is sent back to it.
    Busy(Screen),
}

/// Where a scan goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScanRoute {
    /// An enrollment code on the Settings screen.
    Enroll,
    /// An enrollment code anywhere else.
    EnrollElsewhere,
    /// Nobody is signed in: a badge, or nothing.
    SignIn,
    /// A rejection is on show: it is acknowledged first.
    AwaitAcknowledgement,
    CodeInfo,
    /// Into the open operation (the terminal moves to its screen).
    Operation,
    /// No operation is open; the screen says what to start.
    NotHere(Screen),
}

/// The screens an operation is worked on.
pub fn is_operation(screen: Screen) -> bool {
    matches!(
        screen,
        Screen::Acceptance
            | Screen::Aggregation
            | Screen::Reaggregation
            | Screen::WriteOff
            | Screen::Shipment
            | Screen::CustomerReturn
            | Screen::Inventory
    )
}

impl Shift {
    /// The state a terminal starts in, with the operation the desk recovered, if any.
    pub fn new(open: Option<Screen>) -> Shift {
        Shift {
            screen: Screen::SignIn,
            open,
            ..Shift::default()
        }
    }

    pub fn screen(&self) -> Screen {
        self.screen
    }

    pub fn operator(&self) -> Option<&Operator> {
        self.operator.as_ref()
    }

    pub fn is_supervisor(&self) -> bool {
        self.operator.as_ref().is_some_and(|o| o.supervisor)
    }

    pub fn open(&self) -> Option<Screen> {
        self.open
    }

    pub fn verdict(&self) -> &VerdictView {
        &self.verdict
    }

    pub fn reviewing(&self) -> bool {
        self.reviewing
    }

    /// Back to the operation that was open when the terminal stopped, or home.
    pub fn sign_in(&mut self, operator: Operator) {
        self.operator = Some(operator);
        self.clear_verdict();
        self.screen = self.open.unwrap_or(Screen::Home);
    }

    pub fn sign_out(&mut self) {
        self.operator = None;
        self.screen = Screen::SignIn;
        self.clear_verdict();
    }

    /// A tap on a screen's button. A message that waits for a tap stays on show.
    pub fn navigate(&mut self, to: Screen) -> Navigation {
        if to == Screen::Settings && !self.is_supervisor() {
            return Navigation::Forbidden;
        }
        if let Some(open) = self.open
            && is_operation(to)
            && open != to
        {
            self.screen = open;
            return Navigation::Busy(open);
        }
        if self.screen != to && !self.verdict.needs_ack && !self.verdict.needs_confirm {
            self.clear_verdict();
        }
        self.screen = to;
        Navigation::Moved
    }

    /// Where a scan goes now; `enrollment` says the scan is a hub's enrollment code.
    pub fn route_scan(&self, enrollment: bool) -> ScanRoute {
        if enrollment {
            return if self.screen == Screen::Settings && self.is_supervisor() {
                ScanRoute::Enroll
            } else {
                ScanRoute::EnrollElsewhere
            };
        }
        if self.operator.is_none() {
            return ScanRoute::SignIn;
        }
        if self.verdict.needs_ack {
            // A rejection never scrolls away unseen.
            return ScanRoute::AwaitAcknowledgement;
        }
        if self.screen == Screen::CodeInfo {
            return ScanRoute::CodeInfo;
        }
        match self.open {
            Some(_) => ScanRoute::Operation,
            None => ScanRoute::NotHere(self.screen),
        }
    }

    /// A scan went into the open operation: its screen shows, the list rather than a summary.
    pub fn scanning(&mut self) {
        if let Some(open) = self.open {
            self.screen = open;
        }
        self.reviewing = false;
    }

    /// An operation began on `screen`.
    pub fn began(&mut self, screen: Screen) {
        self.open = Some(screen);
        self.reviewing = false;
        self.clear_verdict();
        self.screen = screen;
    }

    /// The open operation was finished (queued for upload): home, with the verdict saying so.
    pub fn finished(&mut self) {
        self.open = None;
        self.reviewing = false;
        self.screen = Screen::Home;
    }

    pub fn review(&mut self, on: bool) {
        self.reviewing = on && self.open.is_some();
    }

    /// A verdict to show; `serial` moves so a repeated one flashes again.
    pub fn show(&mut self, tone: Tone, headline: String, reason: String, code: String) {
        self.pending = None;
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

    /// The verdict on show stays until OK is tapped.
    pub fn require_acknowledgement(&mut self) {
        self.verdict.needs_ack = true;
    }

    /// The verdict on show is a warning about `payload`, which counts once confirmed.
    pub fn await_confirmation(&mut self, payload: Vec<u8>) {
        self.verdict.needs_confirm = true;
        self.pending = Some(payload);
    }

    /// The confirming tap: the warned scan, if one waits.
    pub fn confirm(&mut self) -> Option<Vec<u8>> {
        self.pending.take()
    }

    /// A line added to the verdict on show (a reminder), once.
    pub fn remind(&mut self, line: &str) {
        if !self.verdict.reason.ends_with(line) {
            self.verdict.reason = format!("{}\n{line}", self.verdict.reason)
                .trim_start()
                .to_string();
        }
    }

    pub fn clear_verdict(&mut self) {
        self.show(Tone::Neutral, String::new(), String::new(), String::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::config::Pin;

    fn operator(supervisor: bool) -> Operator {
        Operator {
            id: "anna".into(),
            name: "Anna".into(),
            pin: Pin::Plain("1234".into()),
            badge: None,
            supervisor,
        }
    }

    /// One step of a trace: what happened, and the screen after it.
    enum Step {
        SignIn(bool),
        SignOut,
        Navigate(Screen, Navigation),
        Scan(ScanRoute),
        Began(Screen),
        Rejected,
        Warned,
        Confirm(bool),
        Acknowledge,
        Finished,
    }

    fn run(start: Option<Screen>, steps: &[(Step, Screen)]) -> Shift {
        let mut shift = Shift::new(start);
        for (index, (step, screen)) in steps.iter().enumerate() {
            match step {
                Step::SignIn(supervisor) => shift.sign_in(operator(*supervisor)),
                Step::SignOut => shift.sign_out(),
                Step::Navigate(to, expected) => {
                    assert_eq!(shift.navigate(*to), *expected, "step {index}");
                }
                Step::Scan(expected) => {
                    let route = shift.route_scan(false);
                    assert_eq!(route, *expected, "step {index}");
                    if route == ScanRoute::Operation {
                        shift.scanning();
                    }
                }
                Step::Began(screen) => shift.began(*screen),
                Step::Rejected => {
                    shift.show(Tone::Error, "Rejected".into(), String::new(), String::new());
                    shift.require_acknowledgement();
                }
                Step::Warned => {
                    shift.show(Tone::Warning, "Check".into(), String::new(), String::new());
                    shift.await_confirmation(b"code".to_vec());
                }
                Step::Confirm(some) => assert_eq!(shift.confirm().is_some(), *some),
                Step::Acknowledge => shift.clear_verdict(),
                Step::Finished => shift.finished(),
            }
            assert_eq!(shift.screen(), *screen, "screen after step {index}");
        }
        shift
    }

    #[test]
    fn a_shift_signs_in_works_an_operation_and_goes_home_when_it_is_finished() {
        let shift = run(
            None,
            &[
                (Step::Scan(ScanRoute::SignIn), Screen::SignIn),
                (Step::SignIn(false), Screen::Home),
                (Step::Scan(ScanRoute::NotHere(Screen::Home)), Screen::Home),
                (
                    Step::Navigate(Screen::Shipment, Navigation::Moved),
                    Screen::Shipment,
                ),
                (
                    Step::Scan(ScanRoute::NotHere(Screen::Shipment)),
                    Screen::Shipment,
                ),
                (Step::Began(Screen::Shipment), Screen::Shipment),
                (
                    Step::Navigate(Screen::Home, Navigation::Moved),
                    Screen::Home,
                ),
                // A scan anywhere goes into the open operation, and its screen comes back.
                (Step::Scan(ScanRoute::Operation), Screen::Shipment),
                (Step::Finished, Screen::Home),
                (Step::Scan(ScanRoute::NotHere(Screen::Home)), Screen::Home),
            ],
        );
        assert_eq!(shift.open(), None);
    }

    #[test]
    fn an_open_operation_keeps_the_operator_from_starting_another() {
        let shift = run(
            Some(Screen::Inventory),
            &[
                // The terminal stopped with a count open: signing in goes back to it.
                (Step::SignIn(false), Screen::Inventory),
                (
                    Step::Navigate(Screen::WriteOff, Navigation::Busy(Screen::Inventory)),
                    Screen::Inventory,
                ),
                (
                    Step::Navigate(Screen::Sync, Navigation::Moved),
                    Screen::Sync,
                ),
                (
                    Step::Navigate(Screen::Settings, Navigation::Forbidden),
                    Screen::Sync,
                ),
                (
                    Step::Navigate(Screen::CodeInfo, Navigation::Moved),
                    Screen::CodeInfo,
                ),
                (Step::Scan(ScanRoute::CodeInfo), Screen::CodeInfo),
                (Step::SignOut, Screen::SignIn),
                (Step::SignIn(true), Screen::Inventory),
                (
                    Step::Navigate(Screen::Settings, Navigation::Moved),
                    Screen::Settings,
                ),
            ],
        );
        assert_eq!(shift.open(), Some(Screen::Inventory));
    }

    #[test]
    fn a_rejection_waits_for_its_tap_and_a_warning_for_its_confirmation() {
        let mut shift = run(
            None,
            &[
                (Step::SignIn(false), Screen::Home),
                (Step::Began(Screen::CustomerReturn), Screen::CustomerReturn),
                (Step::Rejected, Screen::CustomerReturn),
                (
                    Step::Scan(ScanRoute::AwaitAcknowledgement),
                    Screen::CustomerReturn,
                ),
                // Leaving the screen keeps the message that waits for a tap.
                (
                    Step::Navigate(Screen::Home, Navigation::Moved),
                    Screen::Home,
                ),
                (Step::Scan(ScanRoute::AwaitAcknowledgement), Screen::Home),
                (Step::Acknowledge, Screen::Home),
                (Step::Scan(ScanRoute::Operation), Screen::CustomerReturn),
                (Step::Warned, Screen::CustomerReturn),
                (Step::Confirm(true), Screen::CustomerReturn),
                (Step::Confirm(false), Screen::CustomerReturn),
            ],
        );
        shift.remind("Tap OK.");
        shift.remind("Tap OK.");
        assert_eq!(shift.verdict().reason.matches("Tap OK.").count(), 1);
        // A new verdict drops a warned scan nobody confirmed.
        shift.show(Tone::Warning, "Check".into(), String::new(), String::new());
        shift.await_confirmation(b"x".to_vec());
        let serial = shift.verdict().serial;
        shift.show(Tone::Good, "Accepted".into(), String::new(), String::new());
        assert_eq!(shift.confirm(), None);
        assert_eq!(shift.verdict().serial, serial.wrapping_add(1));
    }

    #[test]
    fn an_enrollment_code_is_a_supervisors_in_settings() {
        let mut shift = Shift::new(None);
        assert_eq!(shift.route_scan(true), ScanRoute::EnrollElsewhere);
        shift.sign_in(operator(true));
        assert_eq!(shift.route_scan(true), ScanRoute::EnrollElsewhere);
        assert_eq!(shift.navigate(Screen::Settings), Navigation::Moved);
        assert_eq!(shift.route_scan(true), ScanRoute::Enroll);
    }
}
