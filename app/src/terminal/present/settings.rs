//! The settings screen: scanners and their state, the hub, language, sounds and vibration.

use std::collections::HashMap;

use tally_ui::SettingsView;

use crate::terminal::controller::Setup;
use crate::terminal::text::Texts;

pub fn view(
    t: Texts,
    setup: &Setup,
    connected: &HashMap<String, bool>,
    message: &str,
) -> SettingsView {
    let scanners = if setup.scanners.is_empty() {
        t.s("none configured")
    } else {
        setup
            .scanners
            .iter()
            .map(|s| match connected.get(s) {
                Some(true) => format!("{s} ✓"),
                Some(false) => format!("{s} ✗"),
                None => s.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    SettingsView {
        scanners,
        hub: setup.hub.clone().unwrap_or_else(|| t.s("not enrolled")),
        language: crate::terminal::lang_code(t.lang()).into(),
        sounds: setup.sounds,
        vibration: setup.vibration,
        message: message.to_owned(),
    }
}
