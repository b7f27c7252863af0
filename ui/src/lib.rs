//! Tally's touch UI: the Slint screens with their translations, the presenter that puts view
//! models on them, and the actions their buttons send back.
//!
//! Every Slint type stays in this crate; the application deals in [`View`] and [`Action`].

mod action;
mod catalogue;
mod headless;
mod view;

use std::cell::RefCell;

use slint::ComponentHandle;

pub use action::{Action, bind};
pub use catalogue::{russian, russian_entries};
pub use headless::Headless;
pub use view::{
    AcceptanceView, AggregationView, CodeInfoView, InventoryView, Presenter, ReaggregationView,
    ReturnView, SettingsView, ShipmentView, SignInView, StatusLine, SyncView, VerdictView, View,
    WriteOffView, choice_row, info_row, scan_row, task_row,
};

// The code Slint generates is not ours to lint.
#[allow(
    unused_qualifications,
    missing_debug_implementations,
    clippy::all,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::todo,
    clippy::unimplemented
)]
mod generated {
    slint::include_modules!();
}
pub use generated::*;

/// The UI could not start: no display backend, or the platform refused.
#[derive(Debug)]
pub struct UiError(pub String);

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the touch UI could not start: {}", self.0)
    }
}

impl std::error::Error for UiError {}

impl From<slint::PlatformError> for UiError {
    fn from(e: slint::PlatformError) -> Self {
        UiError(e.to_string())
    }
}

thread_local! {
    // The window of this thread remembers what it shows, so a view only costs its changes.
    static PRESENTER: RefCell<Presenter> = RefCell::new(Presenter::default());
}

/// The terminal's window.
pub struct Ui {
    window: AppWindow,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui").finish_non_exhaustive()
    }
}

impl Ui {
    /// Creates the window on this thread (the UI thread) with whatever backend is in place.
    pub fn new() -> Result<Ui, UiError> {
        let window = AppWindow::new()?;
        PRESENTER.with(|p| *p.borrow_mut() = Presenter::default());
        Ok(Ui { window })
    }

    pub fn window(&self) -> &AppWindow {
        &self.window
    }

    /// Sends every tap and typed code to `handler`, on the UI thread.
    pub fn on_action(&self, handler: impl Fn(Action) + 'static) {
        bind(&self.window, handler);
    }

    pub fn show(&self, view: &View) {
        PRESENTER.with(|p| p.borrow_mut().show(&self.window, view));
    }

    /// Shows views at once, on this thread: for callers that handle actions on the UI thread
    /// (UI tests, which must see each action's effect before the next).
    pub fn local_presenter(&self) -> impl Fn(&View) + 'static {
        let window = self.window.as_weak();
        move |view: &View| {
            if let Some(window) = window.upgrade() {
                PRESENTER.with(|p| p.borrow_mut().show(&window, view));
            }
        }
    }

    /// A handle other threads use to update the window.
    pub fn handle(&self) -> UiHandle {
        UiHandle(self.window.as_weak())
    }

    /// Maps the window without running the event loop (headless rendering, tests).
    pub fn show_window(&self) -> Result<(), UiError> {
        Ok(self.window.show()?)
    }

    /// Shows the window and runs the event loop until the window closes or `quit` is called.
    pub fn run(&self) -> Result<(), UiError> {
        self.window.show()?;
        slint::run_event_loop()?;
        self.window.hide()?;
        Ok(())
    }
}

/// Reaches the window from any thread.
#[derive(Clone)]
pub struct UiHandle(slint::Weak<AppWindow>);

impl std::fmt::Debug for UiHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiHandle").finish_non_exhaustive()
    }
}

impl UiHandle {
    /// Puts a view on the window; false once the event loop has ended.
    pub fn show(&self, view: View) -> bool {
        self.0
            .upgrade_in_event_loop(move |window| {
                PRESENTER.with(|p| p.borrow_mut().show(&window, &view));
            })
            .is_ok()
    }

    /// Puts a view on the window and runs `then` right after, on the UI thread, before the
    /// frame that shows it is drawn (the benchmark's stopwatch).
    pub fn show_then(&self, view: View, then: impl FnOnce() + Send + 'static) -> bool {
        self.0
            .upgrade_in_event_loop(move |window| {
                PRESENTER.with(|p| p.borrow_mut().show(&window, &view));
                then();
            })
            .is_ok()
    }

    /// Runs `f` on the UI thread after everything sent before it.
    pub fn invoke(&self, f: impl FnOnce() + Send + 'static) -> bool {
        slint::invoke_from_event_loop(f).is_ok()
    }

    pub fn quit(&self) {
        let _ = slint::quit_event_loop();
    }
}

/// Switches every `@tr` string: "ru" or "en". Needs a window to exist.
pub fn select_language(language: &str) -> Result<(), UiError> {
    slint::select_bundled_translation(language).map_err(|e| UiError(e.to_string()))
}

/// Where a terminal's scale factor comes from on the device: the DRM backend reads
/// `SLINT_SCALE_FACTOR`, so a 720×1280 panel runs the 480×800 layout at 1.5.
pub const SCALE_FACTOR_ENV: &str = "SLINT_SCALE_FACTOR";
