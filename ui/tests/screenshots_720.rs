//! The 480×800 layout on a 720×1280 panel: the same screens at scale factor 1.5, every
//! element half as large again, written to `target/tmp/screenshots/home-720x1280.png`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::path::PathBuf;

use tally_ui::{Headless, Screen, StatusLine, Tone, Ui, VerdictView, View};

#[test]
fn the_layout_scales_to_720_by_1280() {
    let headless = Headless::install(720, 1280, 1.5).unwrap();
    let ui = Ui::new().unwrap();
    ui.show_window().unwrap();
    ui.show(&View {
        screen: Screen::Home,
        status: StatusLine {
            operator: "Анна Петрова".into(),
            online: true,
            cache_age: "12 min".into(),
            cache_tone: Tone::Good,
            ..StatusLine::default()
        },
        verdict: VerdictView {
            tone: Tone::Error,
            headline: "Rejected".into(),
            reason: "Out of circulation".into(),
            needs_ack: true,
            serial: 1,
            ..VerdictView::default()
        },
        ..View::default()
    });
    assert!(headless.render());
    assert_eq!(headless.size(), (720, 1280));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    headless.save_png(&dir.join("home-720x1280.png")).unwrap();
    // The status bar (44 px at 480×800) is 66 px tall here: its dark colour reaches y = 60
    // and stops before y = 70.
    assert_eq!(headless.pixel(700, 60), Some([0x1f, 0x24, 0x30]));
    assert_ne!(headless.pixel(700, 70), Some([0x1f, 0x24, 0x30]));
}
