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

/// What a keyboard wedge typed, without the text of keys that type nothing. Slint gives every
/// key press a text: Shift, Control, Alt, Caps Lock and the like are control characters
/// (`Key.Shift` is U+0010), arrows and function keys are in the private use area from U+F700.
/// A scanner emulating Shift before each capital would otherwise put U+0010 into the code.
/// GS (Ctrl+], the window's own translation) is the one control character a code carries.
fn wedge_text(typed: &str) -> String {
    const GS: char = '\u{1d}';
    typed
        .chars()
        .filter(|&c| c == GS || !(c.is_control() || ('\u{F700}'..='\u{F8FF}').contains(&c)))
        .collect()
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
    {
        let h = handler.clone();
        window.global::<Terminal>().on_keyboard_scan(move |typed| {
            let text = wedge_text(&typed);
            if !text.is_empty() {
                h(Action::KeyboardScan(text));
            }
        });
    }
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

#[cfg(test)]
mod tests {
    use super::wedge_text;

    #[test]
    fn keys_that_type_nothing_leave_no_text() {
        // Shift (U+0010) before a capital, Control, an arrow key, a tab; GS stays.
        let typed =
            "0104600840749372\u{10}21\u{10}S\u{10}D\u{10}E\u{10}M\u{10}O\u{1d}\u{11}93\u{F700}\tAb";
        assert_eq!(wedge_text(typed), "010460084074937221SDEMO\u{1d}93Ab");
        assert_eq!(wedge_text("\u{10}\u{14}"), "");
    }
}
