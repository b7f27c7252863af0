//! What the operator does on the screens, as one enum the application handles.

use slint::ComponentHandle;

use crate::{
    AcceptanceScreen, AggregationScreen, AppWindow, ReaggregationScreen, Screen, SettingsScreen,
    SignIn, SyncScreen, Terminal, Verdict, WriteOffScreen,
};

/// A tap or a typed code. Texts are what the screen passed, untouched.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Navigate(Screen),
    SignIn {
        pin: String,
    },
    SignOut,
    /// A keyboard-wedge scanner typing into the window (desktop, demo).
    KeyboardScan(String),
    ConfirmWarning,
    Acknowledge,
    StartAcceptance {
        task: Option<String>,
    },
    AcceptanceUndo,
    AcceptanceReview,
    AcceptanceBackToScanning,
    AcceptanceFinish,
    StartAggregation,
    StartUnpacking,
    OpenGeneratedBox,
    OpenGeneratedPallet,
    AggregationRemoveLast,
    AggregationClose,
    AggregationFinish,
    StartReaggregation,
    ReaggregationAdding,
    ReaggregationRemoving,
    ReaggregationUndo,
    ReaggregationFinish,
    StartWriteOff {
        reason: String,
    },
    WriteOffUndo,
    WriteOffConfirm {
        pin: String,
    },
    WriteOffFinish,
    SyncNow,
    SetLanguage(String),
    SetSounds(bool),
    SetVibration(bool),
}

/// Routes every callback of the window to `handler`.
pub fn bind(window: &AppWindow, handler: impl Fn(Action) + 'static) {
    let handler = std::rc::Rc::new(handler);
    macro_rules! on {
        ($global:ty, $setter:ident, || $action:expr) => {{
            let h = handler.clone();
            window.global::<$global>().$setter(move || h($action));
        }};
        ($global:ty, $setter:ident, |$arg:ident| $action:expr) => {{
            let h = handler.clone();
            window.global::<$global>().$setter(move |$arg| h($action));
        }};
    }
    on!(Terminal, on_navigate, |screen| Action::Navigate(screen));
    on!(Terminal, on_sign_out, || Action::SignOut);
    on!(Terminal, on_keyboard_scan, |text| Action::KeyboardScan(
        text.into()
    ));
    on!(Verdict, on_confirm, || Action::ConfirmWarning);
    on!(Verdict, on_acknowledge, || Action::Acknowledge);
    on!(SignIn, on_submit, |pin| Action::SignIn { pin: pin.into() });
    on!(AcceptanceScreen, on_start, |task| Action::StartAcceptance {
        task: (!task.is_empty()).then(|| task.into()),
    });
    on!(AcceptanceScreen, on_undo, || Action::AcceptanceUndo);
    on!(AcceptanceScreen, on_review, || Action::AcceptanceReview);
    on!(AcceptanceScreen, on_back_to_scanning, || {
        Action::AcceptanceBackToScanning
    });
    on!(AcceptanceScreen, on_finish, || Action::AcceptanceFinish);
    on!(AggregationScreen, on_start, || Action::StartAggregation);
    on!(AggregationScreen, on_start_unpacking, || {
        Action::StartUnpacking
    });
    on!(AggregationScreen, on_open_generated_box, || {
        Action::OpenGeneratedBox
    });
    on!(AggregationScreen, on_open_generated_pallet, || {
        Action::OpenGeneratedPallet
    });
    on!(AggregationScreen, on_remove_last, || {
        Action::AggregationRemoveLast
    });
    on!(AggregationScreen, on_close, || Action::AggregationClose);
    on!(AggregationScreen, on_finish, || Action::AggregationFinish);
    on!(ReaggregationScreen, on_start, || Action::StartReaggregation);
    on!(ReaggregationScreen, on_choose_adding, || {
        Action::ReaggregationAdding
    });
    on!(ReaggregationScreen, on_choose_removing, || {
        Action::ReaggregationRemoving
    });
    on!(ReaggregationScreen, on_undo, || Action::ReaggregationUndo);
    on!(ReaggregationScreen, on_finish, || {
        Action::ReaggregationFinish
    });
    on!(WriteOffScreen, on_start, |reason| Action::StartWriteOff {
        reason: reason.into()
    });
    on!(WriteOffScreen, on_undo, || Action::WriteOffUndo);
    on!(WriteOffScreen, on_confirm, |pin| Action::WriteOffConfirm {
        pin: pin.into()
    });
    on!(WriteOffScreen, on_finish, || Action::WriteOffFinish);
    on!(SyncScreen, on_sync_now, || Action::SyncNow);
    on!(SettingsScreen, on_set_language, |lang| Action::SetLanguage(
        lang.into()
    ));
    on!(SettingsScreen, on_set_sounds, |on| Action::SetSounds(on));
    on!(SettingsScreen, on_set_vibration, |on| Action::SetVibration(
        on
    ));
}
