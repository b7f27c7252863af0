//! Renders every screen at 480×800 in Russian and English with the software renderer and
//! writes them as PNG files (`target/tmp/screenshots/`), so a reviewer can look at them; checks
//! the pixels that carry meaning (the verdict colours, the language switch).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::path::PathBuf;

use tally_ui::{
    AcceptanceView, AggregationView, CodeInfoView, Headless, InventoryView, ReaggregationView,
    ReturnView, Screen, SettingsView, ShipmentView, StatusLine, SyncView, Tone, Ui, VerdictView,
    View, WriteOffView, choice_row, info_row, scan_row, select_language, task_row,
};

fn status() -> StatusLine {
    StatusLine {
        operator: "Анна Петрова".into(),
        supervisor: true,
        online: false,
        cache_age: "5 h".into(),
        cache_tone: Tone::Good,
        queued: 3,
        last_sync: "09:12".into(),
        open_operation: String::new(),
    }
}

fn rows() -> Vec<tally_ui::ScanRow> {
    vec![
        scan_row(
            "0104600840749372215XyZ1a",
            "Кроссовки мужские 42",
            "",
            Tone::Good,
        ),
        scan_row(
            "0104600840749372216Rt9Qp",
            "Кроссовки мужские 42",
            "surplus",
            Tone::Warning,
        ),
        scan_row("0104650117240408211ab2C3", "Футболка L", "", Tone::Good),
    ]
}

/// The screens and what each shows, named for the files.
fn screens() -> Vec<(&'static str, View)> {
    let base = View {
        status: status(),
        ..View::default()
    };
    let good = VerdictView {
        tone: Tone::Good,
        headline: "Accepted".into(),
        reason: "Кроссовки мужские 42".into(),
        code: "0104600840749372215XyZ1a".into(),
        serial: 1,
        ..VerdictView::default()
    };
    vec![
        (
            "sign-in",
            View {
                screen: Screen::SignIn,
                ..base.clone()
            },
        ),
        (
            "home",
            View {
                screen: Screen::Home,
                ..base.clone()
            },
        ),
        (
            "acceptance-tasks",
            View {
                screen: Screen::Acceptance,
                acceptance: AcceptanceView {
                    tasks: vec![
                        task_row(
                            "t1",
                            "УПД 117 от 20.11.2026",
                            "ООО Ромашка · 48 units, 2 boxes",
                        ),
                        task_row("t2", "УПД 118 от 21.11.2026", "ИП Сидоров · 12 units"),
                    ],
                    ..AcceptanceView::default()
                },
                ..base.clone()
            },
        ),
        (
            "acceptance",
            View {
                screen: Screen::Acceptance,
                verdict: good.clone(),
                acceptance: AcceptanceView {
                    active: true,
                    title: "УПД 117".into(),
                    expected: 48,
                    scanned: 31,
                    surplus: 1,
                    missing: 18,
                    rows: rows(),
                    ..AcceptanceView::default()
                },
                ..base.clone()
            },
        ),
        (
            "aggregation",
            View {
                screen: Screen::Aggregation,
                verdict: VerdictView {
                    tone: Tone::Warning,
                    headline: "Check".into(),
                    reason: "The code was read without separators: confirm it.".into(),
                    needs_confirm: true,
                    serial: 2,
                    ..VerdictView::default()
                },
                aggregation: AggregationView {
                    active: true,
                    box_open: true,
                    level: "Box".into(),
                    sscc: "046000000000000123".into(),
                    fill: 7,
                    capacity: 12,
                    rows: rows(),
                    closed: 2,
                    ..AggregationView::default()
                },
                ..base.clone()
            },
        ),
        (
            "write-off",
            View {
                screen: Screen::WriteOff,
                verdict: VerdictView {
                    tone: Tone::Error,
                    headline: "Rejected".into(),
                    reason: "Out of circulation: the code was already written off.".into(),
                    needs_ack: true,
                    serial: 3,
                    ..VerdictView::default()
                },
                write_off: WriteOffView {
                    active: true,
                    reasons: vec![choice_row("damage_loss", "Порча, утрата")],
                    reason: "Порча, утрата".into(),
                    count: 2,
                    rows: rows(),
                    needs_supervisor: true,
                    ..WriteOffView::default()
                },
                ..base.clone()
            },
        ),
        (
            "reaggregation-start",
            View {
                screen: Screen::Reaggregation,
                ..base.clone()
            },
        ),
        (
            "reaggregation",
            View {
                screen: Screen::Reaggregation,
                verdict: VerdictView {
                    tone: Tone::Good,
                    headline: "Added".into(),
                    reason: "Кроссовки мужские 42".into(),
                    code: "0104600840749372215XyZ1a".into(),
                    serial: 4,
                    ..VerdictView::default()
                },
                reaggregation: ReaggregationView {
                    active: true,
                    sscc: "046000000000000123".into(),
                    mode: "adding".into(),
                    mode_label: "Adding to the box".into(),
                    count: 2,
                    fill: "9/12".into(),
                    rows: rows(),
                    hint: "Scan each item that goes into the box.".into(),
                },
                ..base.clone()
            },
        ),
        (
            "write-off-remark",
            View {
                screen: Screen::WriteOff,
                verdict: VerdictView {
                    tone: Tone::Warning,
                    headline: "New code needed".into(),
                    reason:
                        "The goods are in circulation: put a new label on them and scan its code."
                            .into(),
                    code: "0104600840749372215XyZ1a".into(),
                    serial: 5,
                    ..VerdictView::default()
                },
                write_off: WriteOffView {
                    active: true,
                    reason: "Код испорчен · WO-2026-11-22-101500".into(),
                    count: 1,
                    rows: vec![scan_row(
                        "0104600840749372215XyZ1a",
                        "Кроссовки мужские 42",
                        "waiting for the new code",
                        Tone::Warning,
                    )],
                    replacing: "0104600840749372215XyZ1a".into(),
                    ..WriteOffView::default()
                },
                ..base.clone()
            },
        ),
        (
            "shipment-orders",
            View {
                screen: Screen::Shipment,
                shipment: ShipmentView {
                    orders: vec![
                        task_row(
                            "o1",
                            "Заказ 318 · 2026-12-03",
                            "ИНН получателя 7736207543 · единиц 12",
                        ),
                        task_row("o2", "Заказ 319 · 2026-12-03", "ИНН получателя 7701234567 · единиц 4"),
                    ],
                    ..ShipmentView::default()
                },
                ..base.clone()
            },
        ),
        (
            "shipment",
            View {
                screen: Screen::Shipment,
                verdict: VerdictView {
                    tone: Tone::Good,
                    headline: "Box shipped whole: 6 units".into(),
                    code: "046000000000000123".into(),
                    serial: 6,
                    ..VerdictView::default()
                },
                shipment: ShipmentView {
                    active: true,
                    title: "Заказ 318 · ИНН 7736207543".into(),
                    has_order: true,
                    ordered: 12,
                    shipped: 8,
                    short: 4,
                    over: 0,
                    rows: vec![
                        scan_row("046000000000000123", "Короб, единиц: 6", "", Tone::Good),
                        scan_row(
                            "0104600840749372215XyZ1a",
                            "Кроссовки мужские 42",
                            "",
                            Tone::Good,
                        ),
                    ],
                    hint: "Scan units, or a box or pallet label to ship it whole.".into(),
                    ..ShipmentView::default()
                },
                ..base.clone()
            },
        ),
        (
            "return",
            View {
                screen: Screen::CustomerReturn,
                verdict: VerdictView {
                    tone: Tone::Warning,
                    headline: "New label needed".into(),
                    reason: "Stick a new label on the item and scan its code.".into(),
                    serial: 7,
                    ..VerdictView::default()
                },
                customer_return: ReturnView {
                    active: true,
                    title: "Возврат розничной продажи · чек 4471".into(),
                    returned: 2,
                    relabelled: 0,
                    awaiting_new_label: true,
                    rows: vec![
                        scan_row("", "Label unreadable", "a new label follows", Tone::Warning),
                        scan_row(
                            "0104600840749372215XyZ1a",
                            "Кроссовки мужские 42",
                            "",
                            Tone::Good,
                        ),
                    ],
                    hint: "Stick a new label on the item and scan its code.".into(),
                    ..ReturnView::default()
                },
                ..base.clone()
            },
        ),
        (
            "inventory",
            View {
                screen: Screen::Inventory,
                verdict: VerdictView {
                    tone: Tone::Warning,
                    headline: "Not ours".into(),
                    code: "0104650117240408211ab2C3".into(),
                    serial: 8,
                    ..VerdictView::default()
                },
                inventory: InventoryView {
                    active: true,
                    title: "Весь склад · INV-2026-12-03-101500".into(),
                    expected: 48,
                    found: 45,
                    missing: 3,
                    foreign: 1,
                    wrong_status: 0,
                    rows: rows(),
                    settles: true,
                    needs_supervisor: true,
                    hint: "Scan every unit, or a box label to count the box whole.".into(),
                    ..InventoryView::default()
                },
                ..base.clone()
            },
        ),
        (
            "inventory-report",
            View {
                screen: Screen::Inventory,
                inventory: InventoryView {
                    active: true,
                    title: "Зона 12 · INV-2026-12-03-101500".into(),
                    found: 45,
                    missing: 3,
                    foreign: 1,
                    reviewing: true,
                    summary: "Найдено: 45. Недостача: 3.\nНедостача: 3\n  0104600840749372216Rt9Qp Кроссовки мужские 42\nНе наши: 1\n  0104650117240408211ab2C3 Футболка L".into(),
                    settles: true,
                    needs_supervisor: true,
                    ..InventoryView::default()
                },
                ..base.clone()
            },
        ),
        (
            "code-info",
            View {
                screen: Screen::CodeInfo,
                code_info: CodeInfoView {
                    headline: "In circulation".into(),
                    tone: Tone::Good,
                    rows: vec![
                        info_row("GTIN", "04600840749372"),
                        info_row("Serial", "5XyZ1a"),
                        info_row("Product", "Кроссовки мужские 42"),
                        info_row("Owner", "7701234567"),
                        info_row("Box", "046000000000000123"),
                    ],
                },
                ..base.clone()
            },
        ),
        (
            "sync",
            View {
                screen: Screen::Sync,
                sync: SyncView {
                    running: true,
                    enrolled: true,
                    push_progress: 1.0,
                    pull_progress: 0.4,
                    phase: "statuses: 40 000 of 100 000".into(),
                    rejected: vec![info_row(
                        "write_off #12",
                        "Already written off by another terminal",
                    )],
                    refused: vec![info_row(
                        "write-off № 9 · 2026-12-01 · LK_RECEIPT",
                        "0104600840749372215XyZ1a: The code is not owned by the participant",
                    )],
                    status_list_age: "3 h".into(),
                    ..SyncView::default()
                },
                ..base.clone()
            },
        ),
        (
            "settings",
            View {
                screen: Screen::Settings,
                settings: SettingsView {
                    scanners: "serial:/dev/ttyACM0 (connected)".into(),
                    hub: "https://hub.local:8470 · warehouse 1".into(),
                    language: "ru".into(),
                    sounds: true,
                    vibration: false,
                    ..SettingsView::default()
                },
                ..base
            },
        ),
    ]
}

#[test]
fn every_screen_in_both_languages() {
    let headless = Headless::install(480, 800, 1.0).unwrap();
    let ui = Ui::new().unwrap();
    ui.show_window().unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let mut frames = Vec::new();
    for lang in ["en", "ru"] {
        select_language(lang).unwrap();
        for (name, view) in screens() {
            ui.show(&view);
            headless.render();
            let path = dir.join(format!("{name}-{lang}.png"));
            headless.save_png(&path).unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() > 1000);
            // The verdict's colour fills the banner edge to edge (inside its padding, no text).
            let banner = match name {
                "acceptance" => Some(((466, 200), [0x1b, 0x7f, 0x3a])),
                "aggregation" => Some(((466, 200), [0xf2, 0xa9, 0x00])),
                "write-off" => Some(((466, 300), [0xc6, 0x28, 0x28])),
                "reaggregation" => Some(((466, 200), [0x1b, 0x7f, 0x3a])),
                "shipment" => Some(((466, 200), [0x1b, 0x7f, 0x3a])),
                "inventory" => Some(((466, 200), [0xf2, 0xa9, 0x00])),
                _ => None,
            };
            if let Some(((x, y), colour)) = banner {
                assert_eq!(headless.pixel(x, y), Some(colour), "{name}-{lang}");
            }
            frames.push((name, lang, snapshot(&headless)));
        }
    }
    assert_eq!(headless.size(), (480, 800));
    // The language changes what is drawn on every screen.
    for (name, lang, frame) in frames.iter().filter(|f| f.1 == "en") {
        let ru = frames.iter().find(|f| f.0 == *name && f.1 == "ru").unwrap();
        assert_ne!(frame, &ru.2, "{name}: {lang} and ru render alike");
    }
}

fn snapshot(headless: &Headless) -> Vec<[u8; 3]> {
    let (w, h) = headless.size();
    (0..h)
        .step_by(4)
        .flat_map(|y| (0..w).step_by(4).map(move |x| (x, y)))
        .map(|(x, y)| headless.pixel(x, y).unwrap())
        .collect()
}
