//! What the operator does on the screens, as one enum the application handles.

use slint::ComponentHandle;

use crate::{
    AcceptanceScreen, AggregationScreen, AppWindow, InventoryScreen, ReaggregationScreen,
    ReturnScreen, Screen, SettingsScreen, ShipmentScreen, SignIn, SyncScreen, Terminal, Verdict,
    WriteOffScreen,
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
    /// The label of the box or pallet closed last, printed again.
    ReprintLabel,
    StartReaggregation,
    ReaggregationAdding,
    ReaggregationRemoving,
    ReaggregationMoving,
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
    /// A shipment against an order from the hub, or (`order` empty) free to `receiver`'s INN.
    StartShipment {
        order: Option<String>,
        receiver: String,
    },
    /// The next label scanned is opened rather than taken whole (shipment and inventory).
    OpenNextLabel(bool),
    ShipmentUndo,
    ShipmentFinish,
    /// `kind` is `cause:receipt` (`retail:receipt`), `receipt` the receipt's number.
    StartReturn {
        kind: String,
        receipt: String,
    },
    /// The item in hand has a label nobody can read: the next scan is its new label.
    ReturnDamaged,
    ReturnUndo,
    ReturnFinish,
    /// A count of `zone` (empty: the whole warehouse); `settle` writes off what is missing.
    StartInventory {
        zone: String,
        settle: bool,
    },
    InventoryUndo,
    InventoryReview,
    InventoryBackToScanning,
    InventoryConfirm {
        pin: String,
    },
    InventoryFinish,
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
        ($global:ty, $setter:ident, |$a:ident, $b:ident| $action:expr) => {{
            let h = handler.clone();
            window.global::<$global>().$setter(move |$a, $b| h($action));
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
    on!(ReaggregationScreen, on_choose_moving, || {
        Action::ReaggregationMoving
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
    on!(AggregationScreen, on_reprint, || Action::ReprintLabel);
    on!(ShipmentScreen, on_start, |order, receiver| {
        Action::StartShipment {
            order: (!order.is_empty()).then(|| order.into()),
            receiver: receiver.into(),
        }
    });
    on!(
        ShipmentScreen,
        on_set_open_next,
        |on| Action::OpenNextLabel(on)
    );
    on!(ShipmentScreen, on_undo, || Action::ShipmentUndo);
    on!(ShipmentScreen, on_finish, || Action::ShipmentFinish);
    on!(ReturnScreen, on_start, |kind, receipt| {
        Action::StartReturn {
            kind: kind.into(),
            receipt: receipt.into(),
        }
    });
    on!(ReturnScreen, on_damaged, || Action::ReturnDamaged);
    on!(ReturnScreen, on_undo, || Action::ReturnUndo);
    on!(ReturnScreen, on_finish, || Action::ReturnFinish);
    on!(InventoryScreen, on_start, |zone, settle| {
        Action::StartInventory {
            zone: zone.into(),
            settle,
        }
    });
    on!(InventoryScreen, on_set_open_next, |on| {
        Action::OpenNextLabel(on)
    });
    on!(InventoryScreen, on_undo, || Action::InventoryUndo);
    on!(InventoryScreen, on_review, || Action::InventoryReview);
    on!(InventoryScreen, on_back_to_scanning, || {
        Action::InventoryBackToScanning
    });
    on!(InventoryScreen, on_confirm, |pin| {
        Action::InventoryConfirm { pin: pin.into() }
    });
    on!(InventoryScreen, on_finish, || Action::InventoryFinish);
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
