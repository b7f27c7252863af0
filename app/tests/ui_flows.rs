//! The touch UI driven headless through Slint's testing backend, by accessible labels as an
//! operator's taps: sign in, accept a task with a surplus and a missing code, pack a box, write
//! off with a reason and a supervisor, see rejections, switch the language. The screens are the
//! real ones, the controller and desk are the real ones, the replica is a real SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

mod common;

use common::Scratch;
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use slint::ComponentHandle as _;
use tally_app::desk::{Desk, DeskSettings};
use tally_app::terminal::controller::{Controller, CueTone, Input, Request, Setup};
use tally_app::terminal::demo;
use tally_app::terminal::inline::Inline;
use tally_domain::Lang;
use tally_domain::code::ParseOptions;
use tally_domain::operation::Capacity;
use tally_domain::status::{Inn, Timestamp};
use tally_domain::validate::Policy;
use tally_drivers::printer::{self, PrinterAddress, PrinterTimeouts};
use tally_sync::store::Store;
use tally_ui::{AppWindow, Ui};

const NOW: Timestamp = Timestamp(1_795_305_600_000);

/// The demo's replica behind the real screens.
fn terminal(scratch: &Scratch) -> (Ui, Inline) {
    terminal_with(scratch, None)
}

/// The same, with a label printer configured.
fn terminal_with(scratch: &Scratch, printer: Option<PrinterAddress>) -> (Ui, Inline) {
    i_slint_backend_testing::init_no_event_loop();
    let store = Store::open(scratch.0.join("tally.db")).unwrap();
    let data = demo::dataset();
    let mut importer = store.importer().unwrap();
    assert_eq!(
        importer
            .import_statuses(data.statuses.as_bytes(), NOW)
            .unwrap()
            .rejected,
        0
    );
    importer.import_catalog(data.catalog.as_bytes()).unwrap();
    importer.import_tasks(data.tasks.as_bytes(), NOW).unwrap();
    importer.import_block_lists(data.blocks.as_bytes()).unwrap();
    let desk = Desk::open(
        store,
        DeskSettings {
            operator: String::new(),
            own_inn: Inn::parse(demo::OUR_INN),
            parse: ParseOptions::default(),
            policy: Policy::default(),
            capacity: Capacity {
                box_units: 6,
                pallet_boxes: 4,
            },
            company_prefix: Some(demo::COMPANY_PREFIX.into()),
        },
    )
    .unwrap();
    let controller = Controller::new(
        desk,
        Setup {
            operators: demo::operators(),
            language: Lang::En,
            sounds: true,
            vibration: false,
            supervisor_for_write_off: true,
            scanners: vec!["serial:/dev/ttyACM0,9600".into()],
            hub: None,
            printer,
        },
    );
    let ui = Ui::new().unwrap();
    let inline = Inline::wire(&ui, controller, || NOW);
    (ui, inline)
}

fn app(ui: &Ui) -> &AppWindow {
    ui.window()
}

fn buttons(ui: &Ui, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(app(ui), label)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .collect()
}

/// Taps the one button with this label, which must be enabled.
fn tap(ui: &Ui, label: &str) {
    let found = buttons(ui, label);
    assert_eq!(
        found.len(),
        1,
        "buttons labelled {label:?}: {}",
        found.len()
    );
    assert_eq!(
        found[0].accessible_enabled(),
        Some(true),
        "{label:?} is disabled"
    );
    found[0].invoke_accessible_default_action();
}

/// Taps the button whose label starts with `prefix` (task and reason buttons carry details).
fn tap_starting(ui: &Ui, prefix: &str) {
    let prefix = prefix.to_string();
    let found = ElementQuery::from_root(app(ui))
        .match_accessible_role(AccessibleRole::Button)
        .match_predicate(move |e| {
            e.accessible_label()
                .is_some_and(|l| l.as_str().starts_with(&prefix))
        })
        .find_all();
    assert_eq!(found.len(), 1);
    found[0].invoke_accessible_default_action();
}

/// The accessible value of the one element with this label.
fn value(ui: &Ui, label: &str) -> String {
    let found: Vec<_> = ElementHandle::find_by_accessible_label(app(ui), label)
        .filter(|e| e.accessible_value().is_some())
        .collect();
    assert_eq!(
        found.len(),
        1,
        "elements labelled {label:?}: {}",
        found.len()
    );
    found[0].accessible_value().unwrap().to_string()
}

fn shown(ui: &Ui, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(app(ui), label)
        .next()
        .is_some()
}

fn enter_pin(ui: &Ui, pin: &str) {
    let fields: Vec<_> = ElementHandle::find_by_accessible_label(app(ui), "PIN").collect();
    assert_eq!(fields.len(), 1);
    fields[0].set_accessible_value(pin);
}

fn sign_in(ui: &Ui, pin: &str) {
    enter_pin(ui, pin);
    tap(ui, "Sign in");
}

/// The demo's codes of one kind, as a scanner sends them (real GS).
fn codes(kind: &str) -> Vec<String> {
    demo::dataset()
        .codes
        .into_iter()
        .filter(|(what, _)| what == kind)
        .map(|(_, code)| code.replace("<GS>", "\u{1d}"))
        .collect()
}

fn pending_kinds(inline: &Inline) -> Vec<(String, serde_json::Value)> {
    inline.with_controller(|c| {
        c.desk()
            .store()
            .pending_queue()
            .unwrap()
            .into_iter()
            .map(|q| (q.kind, serde_json::from_str(&q.payload).unwrap()))
            .collect()
    })
}

#[test]
fn sign_in_by_pin_and_by_badge_and_sign_out() {
    let scratch = Scratch::new("sign-in");
    let (ui, inline) = terminal(&scratch);
    // Nothing but signing in before an operator is known.
    inline.scan(&codes("our stock")[0]);
    assert!(value(&ui, "Sign-in error").contains("Sign in first"));
    sign_in(&ui, "4321");
    assert!(value(&ui, "Sign-in error").contains("Unknown PIN"));
    sign_in(&ui, "1111");
    assert_eq!(value(&ui, "Operator"), "Анна Петрова");
    // An operator is not a supervisor: no Settings.
    assert!(buttons(&ui, "Settings").is_empty());
    tap(&ui, "Sign out");
    assert!(shown(&ui, "PIN"));
    inline.scan("TALLY-BADGE:ivan");
    assert_eq!(value(&ui, "Operator"), "Иван Смирнов");
    assert_eq!(buttons(&ui, "Settings").len(), 1);
}

#[test]
fn operators_from_the_hub_sign_in_and_confirm() {
    let scratch = Scratch::new("hub-operators");
    let (ui, inline) = terminal(&scratch);
    // The hub's list in the replica, as a pull stores it (salted digests, no PIN).
    let digest = tally_wire::pin_digest("c0ffee", "2468");
    let line = format!(
        "{{\"id\":\"olga\",\"name\":\"Ольга\",\"pinSalt\":\"c0ffee\",\"pinSha256\":\"{digest}\",\"supervisor\":true}}\n"
    );
    let report = Store::open(scratch.0.join("tally.db"))
        .unwrap()
        .importer()
        .unwrap()
        .import_operators(line.as_bytes())
        .unwrap();
    assert_eq!(report.imported, 1);
    sign_in(&ui, "2468");
    assert_eq!(value(&ui, "Operator"), "Ольга");
    assert_eq!(
        buttons(&ui, "Settings").len(),
        1,
        "a supervisor from the hub"
    );
    tap(&ui, "Write-off");
    tap(&ui, "Expired");
    inline.scan(&codes("our stock")[0]);
    tap(&ui, "Finish write-off");
    enter_pin(&ui, "2468");
    tap(&ui, "Confirm");
    assert_eq!(value(&ui, "Verdict"), "Write-off finished");
}

#[test]
fn accept_a_task_with_a_surplus_and_missing_codes() {
    let scratch = Scratch::new("accept");
    let (ui, inline) = terminal(&scratch);
    sign_in(&ui, "1111");
    tap(&ui, "Acceptance");
    tap_starting(&ui, "УПД 117");
    assert_eq!(value(&ui, "Expected"), "18");
    assert_eq!(value(&ui, "Missing"), "18");

    let units = codes("delivery unit");
    for code in &units {
        inline.scan(code);
        assert_eq!(value(&ui, "Verdict"), "Accepted");
    }
    // A box label accepts the six units the task lists in it.
    inline.scan(&codes("delivery box 1")[0]);
    assert_eq!(value(&ui, "Scanned"), "10");
    // A unit the task does not list waits for a confirming tap.
    let surplus = &codes("surplus unit (not in the task)")[0];
    inline.scan(surplus);
    assert_eq!(value(&ui, "Verdict"), "Check this code");
    assert_eq!(value(&ui, "Scanned"), "10", "not counted before the tap");
    tap(&ui, "Accept anyway");
    assert_eq!(value(&ui, "Verdict"), "Accepted");
    assert_eq!(value(&ui, "Scanned"), "11");
    assert_eq!(value(&ui, "Surplus"), "1");
    assert_eq!(value(&ui, "Missing"), "8");
    // The same code again is the scanner's echo: a warning, no tap needed, not counted.
    inline.scan(&units[0]);
    assert_eq!(value(&ui, "Verdict"), "Already scanned");
    assert_eq!(value(&ui, "Scanned"), "11");

    tap(&ui, "Finish acceptance");
    let summary = value(&ui, "Discrepancy summary");
    assert!(
        summary.contains("Surplus (not in the task): 1"),
        "{summary}"
    );
    assert!(summary.contains("Missing (not scanned): 8"), "{summary}");
    tap(&ui, "Close acceptance");
    assert_eq!(value(&ui, "Verdict"), "Acceptance finished");
    assert_eq!(value(&ui, "Queued operations"), "1");
    let queue = pending_kinds(&inline);
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].0, "acceptance");
    let payload = queue[0].1.to_string();
    assert!(payload.contains("DEMO-1"), "{payload}");
    let cues = inline.cues();
    assert!(cues.iter().any(|c| c.tone == CueTone::Warning));
    assert!(cues.iter().all(|c| c.sound && !c.vibrate));
}

/// Types a code into the window as a keyboard wedge does: Shift held around each capital, GS
/// as Ctrl+], Enter at the end; every key pressed and released.
fn type_into_window(ui: &Ui, code: &str) {
    use slint::platform::{Key, WindowEvent};
    let window = app(ui).window();
    let key = |text: slint::SharedString| {
        window.dispatch_event(WindowEvent::KeyPressed { text: text.clone() });
        window.dispatch_event(WindowEvent::KeyReleased { text });
    };
    let held = |modifier: Key, text: slint::SharedString| {
        window.dispatch_event(WindowEvent::KeyPressed {
            text: modifier.into(),
        });
        key(text);
        window.dispatch_event(WindowEvent::KeyReleased {
            text: modifier.into(),
        });
    };
    for c in code.chars() {
        match c {
            '\u{1d}' => held(Key::Control, "]".into()),
            c if c.is_ascii_uppercase() => held(Key::Shift, c.to_string().into()),
            c => key(c.to_string().into()),
        }
    }
    key(Key::Return.into());
}

#[test]
fn codes_typed_into_the_window_with_shift_and_ctrl_are_read_whole() {
    let scratch = Scratch::new("typed");
    let (ui, inline) = terminal(&scratch);
    sign_in(&ui, "1111");
    tap(&ui, "Acceptance");
    tap_starting(&ui, "УПД 117");
    let units = codes("delivery unit");
    assert!(units[0].chars().any(|c| c.is_ascii_uppercase()) && units[0].contains('\u{1d}'));
    for code in &units[..2] {
        type_into_window(&ui, code);
        assert_eq!(value(&ui, "Verdict"), "Accepted", "{code:?}");
    }
    assert_eq!(value(&ui, "Scanned"), "2");
    // A modifier alone, then Enter: nothing typed, nothing scanned.
    app(&ui)
        .window()
        .dispatch_event(slint::platform::WindowEvent::KeyPressed {
            text: slint::platform::Key::Shift.into(),
        });
    type_into_window(&ui, "");
    assert_eq!(value(&ui, "Scanned"), "2");
    let queue = inline.with_controller(|c| c.desk().store().pending_queue().unwrap().len());
    assert_eq!(queue, 0, "the acceptance is still open");
}

#[test]
fn accept_a_delivery_by_quantity_with_one_unit_over() {
    let scratch = Scratch::new("accept-quantity");
    let (ui, inline) = terminal(&scratch);
    sign_in(&ui, "1111");
    tap(&ui, "Acceptance");
    tap_starting(&ui, "Поступление 55");
    assert_eq!(value(&ui, "Expected"), "3");
    assert_eq!(value(&ui, "Missing"), "3");
    let units = codes("delivery by quantity");
    // Any code of the line's GTIN fills it, no list needed.
    for code in &units[..2] {
        inline.scan(code);
        assert_eq!(value(&ui, "Verdict"), "Accepted");
    }
    assert_eq!(value(&ui, "Missing"), "1");
    let summary_short = {
        tap(&ui, "Finish acceptance");
        let text = value(&ui, "Discrepancy summary");
        tap(&ui, "Back to scanning");
        text
    };
    assert!(summary_short.contains(": 2/3, short 1"), "{summary_short}");
    inline.scan(&units[2]);
    assert_eq!(value(&ui, "Verdict"), "Accepted");
    // The fourth is past the line's quantity: a surplus, confirmed by a tap like any other.
    inline.scan(&units[3]);
    assert_eq!(value(&ui, "Verdict"), "Check this code");
    tap(&ui, "Accept anyway");
    assert_eq!(value(&ui, "Scanned"), "4");
    assert_eq!(value(&ui, "Surplus"), "1");
    assert_eq!(value(&ui, "Missing"), "0");
    tap(&ui, "Finish acceptance");
    let summary = value(&ui, "Discrepancy summary");
    assert!(
        summary.contains("Молоко 3,2% 1 л: 3/3, over 1"),
        "{summary}"
    );
    assert!(
        summary.contains("Surplus (not in the task): 1"),
        "{summary}"
    );
    tap(&ui, "Close acceptance");
    let queue = pending_kinds(&inline);
    let payload = &queue[0].1;
    assert_eq!(payload["task_id"], "DEMO-2", "{payload}");
    assert_eq!(payload["lines"][0]["accepted"], 3, "{payload}");
    assert_eq!(payload["lines"][0]["over"], 1, "{payload}");
    assert_eq!(payload["surplus"].as_array().map(Vec::len), Some(1));
}

#[test]
fn pack_a_box_under_a_generated_label() {
    let scratch = Scratch::new("pack");
    let (ui, inline) = terminal(&scratch);
    sign_in(&ui, "1111");
    tap(&ui, "Aggregation");
    tap(&ui, "Pack boxes");
    tap(&ui, "New box");
    let sscc = value(&ui, "Open container");
    assert!(
        sscc.starts_with(&format!("0{}", demo::COMPANY_PREFIX)),
        "{sscc}"
    );
    let stock = codes("our stock");
    for code in &stock[..3] {
        inline.scan(code);
        assert_eq!(value(&ui, "Verdict"), "Packed");
    }
    assert_eq!(value(&ui, "Fill level"), "3/6");
    tap(&ui, "Remove last");
    assert_eq!(value(&ui, "Fill level"), "2/6");
    // Finishing with the box open is not offered.
    assert_eq!(buttons(&ui, "Finish")[0].accessible_enabled(), Some(false));
    tap(&ui, "Close box");
    tap(&ui, "Finish");
    assert_eq!(value(&ui, "Verdict"), "Aggregation finished");
    let queue = pending_kinds(&inline);
    assert_eq!(queue[0].0, "aggregation");
    assert!(queue[0].1.to_string().contains(&sscc));
    // The packed unit is now in a box: packing it again is refused with a reason.
    tap(&ui, "Aggregation");
    tap(&ui, "Pack boxes");
    tap(&ui, "New box");
    inline.scan(&stock[0]);
    assert_eq!(value(&ui, "Verdict"), "Rejected");
    tap(&ui, "OK");
    inline.scan(&stock[5]);
    tap(&ui, "Close box");
    // Both boxes onto a pallet under a generated label.
    tap(&ui, "New pallet");
    let pallet = value(&ui, "Open container");
    assert_ne!(pallet, sscc);
    inline.scan(&format!("00{sscc}"));
    assert_eq!(value(&ui, "Fill level"), "1/4");
    tap(&ui, "Close pallet");
    tap(&ui, "Finish");
    assert_eq!(value(&ui, "Verdict"), "Aggregation finished");
    let queue = pending_kinds(&inline);
    assert_eq!(queue.len(), 2);
    assert!(queue[1].1.to_string().contains(&pallet));
}

#[test]
fn write_off_with_a_reason_and_a_supervisor() {
    let scratch = Scratch::new("write-off");
    let (ui, inline) = terminal(&scratch);
    sign_in(&ui, "1111");
    tap(&ui, "Write-off");
    tap(&ui, "Damage or loss");
    assert!(value(&ui, "Write-off reason").starts_with("Damage or loss · WO-"));
    for code in &codes("our stock")[..2] {
        inline.scan(code);
        assert_eq!(value(&ui, "Verdict"), "To write off");
    }
    assert_eq!(value(&ui, "To write off"), "2");
    tap(&ui, "Finish write-off");
    // The operator's own PIN does not confirm.
    enter_pin(&ui, "1111");
    tap(&ui, "Confirm");
    assert!(value(&ui, "Write-off error").contains("not a supervisor"));
    enter_pin(&ui, "9999");
    tap(&ui, "Confirm");
    assert_eq!(value(&ui, "Verdict"), "Write-off finished");
    let queue = pending_kinds(&inline);
    assert_eq!(queue[0].0, "write-off");
    let payload = queue[0].1.to_string();
    assert!(
        payload.contains("ivan"),
        "the supervisor is on the document: {payload}"
    );
}

#[test]
fn rejections_stay_until_acknowledged_and_wrong_screens_explain() {
    let scratch = Scratch::new("reject");
    let (ui, inline) = terminal(&scratch);
    sign_in(&ui, "1111");
    // On Home a scan has nowhere to go: the screen says where.
    inline.scan(&codes("our stock")[0]);
    assert_eq!(value(&ui, "Verdict"), "Not here");
    tap(&ui, "Write-off");
    tap(&ui, "Destruction");
    inline.scan(&codes("already written off (rejected)")[0]);
    assert_eq!(value(&ui, "Verdict"), "Rejected");
    assert!(
        value(&ui, "Reason").to_lowercase().contains("circulation"),
        "{}",
        value(&ui, "Reason")
    );
    // The next scan waits for the OK: the rejection cannot scroll away unseen.
    inline.scan(&codes("our stock")[1]);
    assert_eq!(value(&ui, "Verdict"), "Rejected");
    assert!(value(&ui, "Reason").contains("Tap OK"));
    assert_eq!(value(&ui, "To write off"), "0");
    tap(&ui, "OK");
    inline.scan(&codes("our stock")[1]);
    assert_eq!(value(&ui, "Verdict"), "To write off");
    // A blocked code is refused too.
    inline.scan(&codes("blocked by the state system (rejected)")[0]);
    assert_eq!(value(&ui, "Verdict"), "Rejected");
    tap(&ui, "OK");
    // Another operation while this one is open: back to it, with why.
    tap(&ui, "Home");
    tap(&ui, "Acceptance");
    assert_eq!(value(&ui, "Verdict"), "Finish this first");
    assert!(shown(&ui, "Write-off reason"));
    assert!(inline.cues().iter().any(|c| c.tone == CueTone::Error));
}

#[test]
fn code_info_explains_a_code() {
    let scratch = Scratch::new("info");
    let (ui, inline) = terminal(&scratch);
    sign_in(&ui, "1111");
    tap(&ui, "Code info");
    inline.scan(&codes("our stock")[0]);
    assert_eq!(value(&ui, "Code status"), "INTRODUCED");
    assert_eq!(value(&ui, "Owner (INN)"), demo::OUR_INN);
    assert_eq!(value(&ui, "Product"), "Молоко 3,2% 1 л");
    assert_eq!(value(&ui, "Product group"), "Dairy");
    inline.scan(&codes("blocked by the state system (rejected)")[0]);
    assert!(value(&ui, "Code status").to_lowercase().contains("block"));
    inline.scan("hello");
    assert_eq!(value(&ui, "Code status"), "Not a valid code");
}

#[test]
fn the_language_switches_in_settings_and_enrollment_is_scanned_there() {
    let scratch = Scratch::new("settings");
    let (ui, inline) = terminal(&scratch);
    sign_in(&ui, "9999");
    // An enrollment code outside Settings is explained, not used.
    let enrollment = r#"{"tally_enroll":1,"url":"http://hub.local:8470","code":"ABCD2345EFGH"}"#;
    inline.scan(enrollment);
    assert_eq!(value(&ui, "Verdict"), "Not here");
    assert!(inline.requests().is_empty());
    tap(&ui, "Settings");
    inline.scan(enrollment);
    assert_eq!(value(&ui, "Settings message"), "Enrolling…");
    assert_eq!(
        inline.requests(),
        vec![Request::Enroll {
            url: "http://hub.local:8470".into(),
            code: "ABCD2345EFGH".into()
        }]
    );
    tap(&ui, "Русский");
    // Every @tr string follows: the buttons are Russian now, and the controller's texts too.
    assert_eq!(buttons(&ui, "Главная").len(), 1);
    assert!(buttons(&ui, "Home").is_empty());
    tap(&ui, "Главная");
    tap(&ui, "Агрегация");
    assert_eq!(buttons(&ui, "Изменить короб").len(), 1);
    tap(&ui, "Главная");
    tap(&ui, "Списание");
    tap(&ui, "Порча или утрата");
    inline.scan(&codes("our stock")[0]);
    assert_eq!(value(&ui, "Вердикт"), "К списанию");
}

/// Every button on every screen is at least 9 mm square (84 px at 480×800 on a 4-inch panel).
fn assert_touch_targets(ui: &Ui, screen: &str) {
    let all = ElementQuery::from_root(app(ui))
        .match_accessible_role(AccessibleRole::Button)
        .find_all();
    assert!(!all.is_empty(), "{screen}: no buttons");
    for button in all {
        let size = button.size();
        let label = button.accessible_label().unwrap_or_default();
        assert!(
            size.height >= 84.0 && size.width >= 84.0,
            "{screen}: {label:?} is {}×{}",
            size.width,
            size.height
        );
    }
}

#[test]
fn every_button_is_big_enough_for_gloves() {
    let scratch = Scratch::new("targets");
    let (ui, inline) = terminal(&scratch);
    ui.show_window().unwrap();
    assert_touch_targets(&ui, "sign-in");
    sign_in(&ui, "9999");
    assert_touch_targets(&ui, "home");
    tap(&ui, "Acceptance");
    assert_touch_targets(&ui, "acceptance tasks");
    tap(&ui, "Free acceptance");
    inline.scan(&codes("already written off (rejected)")[0]);
    assert_touch_targets(&ui, "acceptance with a rejection");
    tap(&ui, "OK");
    tap(&ui, "Finish acceptance");
    assert_touch_targets(&ui, "acceptance review");
    tap(&ui, "Back to scanning");
    tap(&ui, "Home");
    tap(&ui, "Sync");
    assert_touch_targets(&ui, "sync");
    tap(&ui, "Home");
    tap(&ui, "Settings");
    assert_touch_targets(&ui, "settings");
    tap(&ui, "Home");
    tap(&ui, "Code info");
    assert_touch_targets(&ui, "code info");
}

/// The КИ of a scanned demo code (its text up to the GS).
fn ki_of(code: &str) -> String {
    code.split('\u{1d}').next().unwrap().to_string()
}

#[test]
fn change_a_packed_box_by_adding_taking_out_and_moving_in() {
    let scratch = Scratch::new("reaggregate");
    let (ui, inline) = terminal(&scratch);
    ui.show_window().unwrap();
    sign_in(&ui, "1111");
    let stock = codes("our stock");
    // A box of two packed here.
    tap(&ui, "Aggregation");
    assert_touch_targets(&ui, "aggregation start");
    tap(&ui, "Pack boxes");
    tap(&ui, "New box");
    let sscc = value(&ui, "Open container");
    inline.scan(&stock[0]);
    inline.scan(&stock[1]);
    tap(&ui, "Close box");
    tap(&ui, "Finish");
    assert_eq!(value(&ui, "Verdict"), "Aggregation finished");

    // One more goes in: the label first, then the choice.
    tap(&ui, "Aggregation");
    tap(&ui, "Change a box");
    assert_eq!(value(&ui, "Box label"), "");
    assert_touch_targets(&ui, "re-aggregation");
    inline.scan(&stock[3]);
    assert_eq!(value(&ui, "Verdict"), "Not taken");
    assert!(value(&ui, "Reason").contains("box label first"));
    tap(&ui, "OK");
    inline.scan(&format!("00{sscc}"));
    assert_eq!(value(&ui, "Verdict"), "Box scanned");
    assert_eq!(value(&ui, "Box label"), sscc);
    tap(&ui, "Add to box");
    assert_eq!(value(&ui, "Choice"), "Adding to the box");
    inline.scan(&stock[3]);
    assert_eq!(value(&ui, "Verdict"), "Added");
    assert_eq!(value(&ui, "Items scanned"), "1");
    // The choice is fixed once an item is scanned; tapping it again changes nothing.
    assert_eq!(
        buttons(&ui, "Take out of box")[0].accessible_enabled(),
        Some(false)
    );
    tap(&ui, "Add to box");
    assert_eq!(value(&ui, "Verdict"), "Added");
    inline.scan(&stock[0]);
    assert_eq!(value(&ui, "Verdict"), "Not taken");
    assert!(value(&ui, "Reason").contains("Already inside"));
    tap(&ui, "OK");
    // Another operation while this one is open: back here.
    tap(&ui, "Home");
    tap(&ui, "Write-off");
    assert_eq!(value(&ui, "Verdict"), "Finish this first");
    assert!(shown(&ui, "Box label"));
    tap(&ui, "Finish");
    assert_eq!(value(&ui, "Verdict"), "Re-aggregation finished");
    let queue = pending_kinds(&inline);
    let (kind, payload) = queue.last().unwrap();
    assert_eq!(kind, "reaggregation");
    assert_eq!(
        *payload,
        serde_json::json!({"sscc": sscc, "type": "adding", "units": [ki_of(&stock[3])]})
    );

    // One comes out; only what the box holds can.
    tap(&ui, "Aggregation");
    tap(&ui, "Change a box");
    tap(&ui, "Take out of box");
    inline.scan(&format!("00{sscc}"));
    inline.scan(&stock[4]);
    assert_eq!(value(&ui, "Verdict"), "Not taken");
    assert!(value(&ui, "Reason").contains("Not in box"));
    tap(&ui, "OK");
    inline.scan(&stock[1]);
    assert_eq!(value(&ui, "Verdict"), "Taken out");
    tap(&ui, "Finish");
    let queue = pending_kinds(&inline);
    let (kind, payload) = queue.last().unwrap();
    assert_eq!(kind, "reaggregation");
    assert_eq!(payload["type"], "removing");
    assert_eq!(payload["units"], serde_json::json!([ki_of(&stock[1])]));
    // Taken out here, it packs into another box at once.
    tap(&ui, "Aggregation");
    tap(&ui, "Pack boxes");
    tap(&ui, "New box");
    let second = value(&ui, "Open container");
    inline.scan(&stock[1]);
    assert_eq!(value(&ui, "Verdict"), "Packed");
    tap(&ui, "Close box");
    tap(&ui, "Finish");

    // And moves back into the first box, out of the second.
    tap(&ui, "Aggregation");
    tap(&ui, "Change a box");
    tap(&ui, "Move in from a box");
    assert_eq!(value(&ui, "Choice"), "Moving into the box");
    inline.scan(&format!("00{sscc}"));
    inline.scan(&stock[0]);
    assert_eq!(value(&ui, "Verdict"), "Not taken");
    assert!(value(&ui, "Reason").contains("Already inside"));
    tap(&ui, "OK");
    inline.scan(&stock[1]);
    assert_eq!(value(&ui, "Verdict"), "Moved in");
    assert_eq!(
        buttons(&ui, "Add to box")[0].accessible_enabled(),
        Some(false)
    );
    tap(&ui, "Finish");
    let queue = pending_kinds(&inline);
    let (kind, payload) = queue.last().unwrap();
    assert_eq!(kind, "reaggregation");
    assert_eq!(
        *payload,
        serde_json::json!({"sscc": sscc, "type": "moving", "units": [ki_of(&stock[1])],
                           "taken_from": [{"sscc": second, "units": [ki_of(&stock[1])]}]})
    );
}

#[test]
fn a_spoiled_label_is_replaced_by_a_new_code_in_the_write_off() {
    let scratch = Scratch::new("remark");
    let (ui, inline) = terminal(&scratch);
    ui.show_window().unwrap();
    // A fresh code for the same milk, emitted for us and not applied yet.
    let (new_ki, new_code) = demo::unit(2, "NDEMO00000001");
    let line = format!(
        "{{\"cis\":\"{new_ki}\",\"status\":\"EMITTED\",\"ownerInn\":\"{}\",\"productGroupId\":8}}\n",
        demo::OUR_INN
    );
    let report = Store::open(scratch.0.join("tally.db"))
        .unwrap()
        .importer()
        .unwrap()
        .import_statuses(line.as_bytes(), NOW)
        .unwrap();
    assert_eq!(report.rejected, 0);
    sign_in(&ui, "1111");
    tap(&ui, "Write-off");
    tap(&ui, "Code spoiled");
    let stock = codes("our stock");
    inline.scan(&stock[0]);
    assert_eq!(value(&ui, "Verdict"), "New code needed");
    assert_eq!(value(&ui, "New code needed"), ki_of(&stock[0]));
    assert_touch_targets(&ui, "write-off waiting for a new code");
    assert_eq!(
        buttons(&ui, "Finish write-off")[0].accessible_enabled(),
        Some(false)
    );
    // Another code in circulation is no new label.
    inline.scan(&stock[1]);
    assert_eq!(value(&ui, "Verdict"), "Not taken");
    assert!(value(&ui, "Reason").contains("INTRODUCED"));
    tap(&ui, "OK");
    inline.scan(&new_code);
    assert_eq!(value(&ui, "Verdict"), "Code replaced");
    assert!(!shown(&ui, "New code needed"));
    tap(&ui, "Finish write-off");
    enter_pin(&ui, "9999");
    tap(&ui, "Confirm");
    assert_eq!(value(&ui, "Verdict"), "Write-off finished");
    let queue = pending_kinds(&inline);
    assert_eq!(queue[0].0, "write-off");
    assert_eq!(
        queue[0].1["replacements"],
        serde_json::json!([{"old": ki_of(&stock[0]), "new": new_ki}])
    );
}

#[test]
fn gis_mt_refusals_and_the_status_list_age_show_on_the_sync_screen_in_both_languages() {
    let scratch = Scratch::new("verdicts");
    // Before the terminal starts: an operation finished here, GIS MT's refusal of its
    // document and a hub's word on its status list, as a round would have stored them.
    let finished = Timestamp(NOW.0 - 86_400_000);
    let operation = {
        let mut store = Store::open(scratch.0.join("tally.db")).unwrap();
        let id = store
            .begin_operation(&tally_sync::store::NewOperation {
                kind: "write-off",
                operator: "Иванова",
                header: "{}",
                started_at: finished,
            })
            .unwrap();
        let operation = store
            .finish_operation(id, finished, "{}", &Default::default())
            .unwrap();
        let verdict = serde_json::json!({"operation": operation.uuid, "type": "LK_RECEIPT",
            "pg": "milk", "state": "checked_not_ok", "at": NOW.0,
            "reasons": [{"code": "gis_mt_refused", "en": "The code is not yours",
                         "ru": "Код не принадлежит участнику"}]});
        let mut importer = store.importer().unwrap();
        let report = importer
            .import_pulled_page(
                tally_wire::Feed::Verdicts,
                tally_sync::store::PageKind::Delta,
                format!("{verdict}\n").as_bytes(),
                1,
                true,
                NOW,
            )
            .unwrap();
        assert_eq!(report.imported, 1);
        importer
            .record_statuses_as_of(Timestamp(NOW.0 - 3 * 3_600_000))
            .unwrap();
        operation
    };
    let (ui, _inline) = terminal(&scratch);
    sign_in(&ui, "9999");
    tap(&ui, "Sync");
    let row = format!(
        "write-off № {} · {} · LK_RECEIPT",
        operation.seq.0,
        finished.date()
    );
    assert_eq!(value(&ui, "Refused by GIS MT"), "1");
    assert_eq!(value(&ui, &row), "The code is not yours");
    assert_eq!(
        value(&ui, "Status list from GIS MT"),
        "Status list from GIS MT: 3 h ago"
    );

    tap(&ui, "Home");
    tap(&ui, "Settings");
    tap(&ui, "Русский");
    tap(&ui, "Главная");
    tap(&ui, "Обмен");
    assert_eq!(value(&ui, "Отклонено ГИС МТ"), "1");
    assert_eq!(value(&ui, &row), "Код не принадлежит участнику");
    assert_eq!(
        value(&ui, "Список статусов из ГИС МТ"),
        "Список статусов из ГИС МТ: 3 ч назад"
    );
}

#[test]
fn the_status_list_age_is_absent_while_no_hub_has_said() {
    let scratch = Scratch::new("no-list-age");
    let (ui, _inline) = terminal(&scratch);
    sign_in(&ui, "9999");
    tap(&ui, "Sync");
    assert_eq!(value(&ui, "Refused by GIS MT"), "0");
    assert!(!shown(&ui, "Status list from GIS MT"));
}

/// Types a number into the visible keypad labelled `label`, as the digit taps would.
fn type_number(ui: &Ui, label: &str, digits: &str) {
    let fields: Vec<_> = ElementHandle::find_by_accessible_label(app(ui), label).collect();
    assert_eq!(fields.len(), 1, "fields labelled {label:?}");
    fields[0].set_accessible_value(digits);
    assert_eq!(value(ui, label), digits, "a number shows as typed");
}

/// Flips the switch labelled `label`.
fn toggle(ui: &Ui, label: &str) {
    let found: Vec<_> = ElementHandle::find_by_accessible_label(app(ui), label)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Checkbox))
        .collect();
    assert_eq!(found.len(), 1, "switches labelled {label:?}");
    found[0].invoke_accessible_default_action();
}

/// Packs `units` into one box under a generated label and returns the label.
fn pack_box(ui: &Ui, inline: &Inline, units: &[String]) -> String {
    tap(ui, "Aggregation");
    tap(ui, "Pack boxes");
    tap(ui, "New box");
    let sscc = value(ui, "Open container");
    for code in units {
        inline.scan(code);
        assert_eq!(value(ui, "Verdict"), "Packed");
    }
    tap(ui, "Close box");
    tap(ui, "Finish");
    assert_eq!(value(ui, "Verdict"), "Aggregation finished");
    sscc
}

#[test]
fn ship_to_a_receiver_by_unit_by_box_label_and_from_an_opened_box() {
    let scratch = Scratch::new("ship");
    let (ui, inline) = terminal(&scratch);
    ui.show_window().unwrap();
    sign_in(&ui, "1111");
    let stock = codes("our stock");
    let whole = pack_box(&ui, &inline, &stock[..3]);
    let opened = pack_box(&ui, &inline, &stock[3..6]);

    tap(&ui, "Shipment");
    assert_touch_targets(&ui, "shipment start");
    // A scan before the shipment starts has nowhere to go.
    inline.scan(&stock[10]);
    assert_eq!(value(&ui, "Verdict"), "Not here");
    tap(&ui, "Ship without an order");
    assert_touch_targets(&ui, "shipment receiver");
    type_number(&ui, "Receiver's INN", "12345");
    tap(&ui, "Start");
    assert!(value(&ui, "Shipment error").contains("Not an INN"));
    type_number(&ui, "Receiver's INN", demo::OUR_INN);
    tap(&ui, "Start");
    assert!(value(&ui, "Shipment error").contains("our own INN"));
    type_number(&ui, "Receiver's INN", "7736207543");
    tap(&ui, "Start");
    assert_touch_targets(&ui, "shipment");
    assert_eq!(value(&ui, "Shipped"), "0");
    assert_eq!(
        buttons(&ui, "Finish shipment")[0].accessible_enabled(),
        Some(false)
    );

    inline.scan(&stock[10]);
    assert_eq!(value(&ui, "Verdict"), "Shipped");
    inline.scan(&stock[11]);
    tap(&ui, "Undo last");
    assert_eq!(value(&ui, "Shipped"), "1");
    // A box label ships what the box holds.
    inline.scan(&format!("00{whole}"));
    assert_eq!(value(&ui, "Verdict"), "Box shipped whole: 3 units");
    assert_eq!(value(&ui, "Shipped"), "4");
    // The next box is opened: one of its units ships, the others stay.
    toggle(&ui, "Open the next box: ship its units one by one");
    inline.scan(&format!("00{opened}"));
    inline.scan(&stock[4]);
    assert_eq!(value(&ui, "Verdict"), "Shipped");
    assert_eq!(value(&ui, "Shipped"), "5");
    // A unit of a box shipped whole is on the shipment already, and in its box.
    inline.scan(&stock[0]);
    assert_eq!(
        value(&ui, "Verdict"),
        "Rejected",
        "{}",
        value(&ui, "Reason")
    );
    assert!(value(&ui, "Reason").starts_with("Already scanned in this document."));
    tap(&ui, "OK");
    // Another operation while this one is open: back here.
    tap(&ui, "Home");
    tap(&ui, "Inventory");
    assert_eq!(value(&ui, "Verdict"), "Finish this first");
    tap(&ui, "Finish shipment");
    assert_eq!(value(&ui, "Verdict"), "Shipment finished");
    let queue = pending_kinds(&inline);
    let (kind, payload) = queue.last().unwrap();
    assert_eq!(kind, "shipment");
    let text = payload.to_string();
    assert!(text.contains("7736207543"), "{text}");
    assert!(text.contains(&whole), "{text}");
    assert!(text.contains(&opened), "the opened box is named: {text}");
    assert!(text.contains(&ki_of(&stock[4])), "{text}");
    assert!(
        !text.contains(&ki_of(&stock[11])),
        "the undone unit is not: {text}"
    );
}

#[test]
fn take_a_customer_return_and_relabel_an_item_whose_label_cannot_be_read() {
    let scratch = Scratch::new("return");
    let (ui, inline) = terminal(&scratch);
    ui.show_window().unwrap();
    sign_in(&ui, "1111");
    tap(&ui, "Return");
    assert_touch_targets(&ui, "return kinds");
    tap(&ui, "Shop sale · till receipt");
    assert_touch_targets(&ui, "return receipt");
    type_number(&ui, "Receipt number", "4471");
    tap(&ui, "Start");
    assert_touch_targets(&ui, "return");
    // Goods still in stock were never sold: not taken back.
    inline.scan(&codes("our stock")[0]);
    assert_eq!(value(&ui, "Verdict"), "Rejected");
    tap(&ui, "OK");
    // The sold one comes back.
    inline.scan(&codes("already written off (rejected)")[0]);
    assert_eq!(value(&ui, "Verdict"), "Returned");
    assert_eq!(value(&ui, "Returned"), "1");
    // An item whose label is gone: a new label, and nothing finishes until it is scanned.
    tap(&ui, "Label unreadable");
    assert_eq!(value(&ui, "Verdict"), "New label needed");
    assert!(shown(&ui, "New label needed"));
    assert_eq!(
        buttons(&ui, "Finish return")[0].accessible_enabled(),
        Some(false)
    );
    let (new_ki, new_code) = demo::unit(2, "NDEMO00000001");
    inline.scan(&new_code);
    assert_eq!(value(&ui, "Verdict"), "New label taken");
    assert_eq!(value(&ui, "New labels"), "1");
    tap(&ui, "Finish return");
    assert_eq!(value(&ui, "Verdict"), "Customer return finished");
    let queue = pending_kinds(&inline);
    let (kind, payload) = queue.last().unwrap();
    assert_eq!(kind, "return");
    let text = payload.to_string();
    assert!(text.contains("4471") && text.contains("retail"), "{text}");
    assert!(text.contains(&new_ki), "{text}");
}

#[test]
fn count_the_whole_warehouse_find_a_foreign_unit_and_settle_the_missing() {
    let scratch = Scratch::new("inventory");
    let (ui, inline) = terminal(&scratch);
    ui.show_window().unwrap();
    sign_in(&ui, "1111");
    tap(&ui, "Inventory");
    assert_touch_targets(&ui, "inventory start");
    toggle(&ui, "Write off what is missing (loss)");
    tap(&ui, "Count the whole warehouse");
    assert_touch_targets(&ui, "inventory");
    let stock = codes("our stock");
    // Nothing counted yet: nothing to undo.
    tap(&ui, "Undo last");
    assert_eq!(value(&ui, "Verdict"), "Not possible");
    tap(&ui, "OK");
    // Every unit of our stock on the shelf but the last.
    let packed = stock.len();
    for code in &stock[..packed - 1] {
        inline.scan(code);
        assert_eq!(value(&ui, "Verdict"), "Counted");
    }
    let found: usize = value(&ui, "Found").parse().unwrap();
    assert_eq!(found, packed - 1);
    let missing: usize = value(&ui, "Missing").parse().unwrap();
    assert!(missing >= 1, "the last unit of our stock is missing");
    // A supplier's unit on our shelf is not ours.
    inline.scan(&codes("delivery by quantity")[0]);
    assert_eq!(value(&ui, "Verdict"), "Not ours");
    assert_eq!(value(&ui, "Not ours"), "1");
    tap(&ui, "Finish count");
    let report = value(&ui, "Count report");
    assert!(report.contains(&ki_of(&stock[packed - 1])), "{report}");
    assert!(report.contains("Not ours: 1"), "{report}");
    assert!(report.contains("written off"), "{report}");
    // The settling write-off needs a supervisor: the operator's PIN does not do.
    tap(&ui, "Close count");
    enter_pin(&ui, "1111");
    tap(&ui, "Confirm");
    assert!(value(&ui, "Inventory error").contains("not a supervisor"));
    enter_pin(&ui, "9999");
    tap(&ui, "Confirm");
    assert_eq!(value(&ui, "Verdict"), "Inventory finished");
    let queue = pending_kinds(&inline);
    let (kind, payload) = queue.last().unwrap();
    assert_eq!(kind, "inventory");
    assert!(payload.to_string().contains("ivan"), "{payload}");
}

/// The print job the controller asked for last: the label's SSCC, its printer and its ZPL.
fn print_request(inline: &Inline) -> (String, PrinterAddress, String) {
    inline
        .requests()
        .into_iter()
        .rev()
        .find_map(|r| match r {
            Request::PrintLabel { sscc, printer, zpl } => Some((sscc, printer, zpl)),
            _ => None,
        })
        .expect("a print request")
}

#[test]
fn a_closed_box_prints_its_label_and_a_printer_that_fails_is_a_message_not_a_lost_box() {
    // A label printer on a socket: it keeps every byte it is sent.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = std::thread::spawn(move || {
        use std::io::Read as _;
        let (mut socket, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        socket.read_to_end(&mut bytes).unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let address = PrinterAddress::Network {
        host: "127.0.0.1".into(),
        port,
    };
    let scratch = Scratch::new("print");
    let (ui, inline) = terminal_with(&scratch, Some(address.clone()));
    sign_in(&ui, "1111");
    tap(&ui, "Aggregation");
    tap(&ui, "Pack boxes");
    tap(&ui, "New box");
    let sscc = value(&ui, "Open container");
    let stock = codes("our stock");
    inline.scan(&stock[0]);
    inline.scan(&stock[1]);
    assert!(
        buttons(&ui, "Print label again").is_empty(),
        "nothing closed yet"
    );
    tap(&ui, "Close box");
    assert_eq!(value(&ui, "Verdict"), "Printing the label…");
    let (label, printer_address, zpl) = print_request(&inline);
    assert_eq!(label, sscc);
    assert_eq!(printer_address, address);
    assert!(zpl.starts_with("^XA") && zpl.contains(&sscc), "{zpl}");
    // The terminal's print thread does this; here the test runs the same call.
    let result = printer::print(&printer_address, zpl.as_bytes(), PrinterTimeouts::default());
    inline.input(Input::Printed {
        sscc: label.clone(),
        result,
    });
    assert_eq!(value(&ui, "Verdict"), "Label printed");
    let bytes = received.join().unwrap();
    assert!(bytes.contains(&zpl), "the printer got the label: {bytes}");

    // The printer goes off: the reprint fails with the printer's reason and the box stays.
    let requests_before = inline.requests().len();
    tap(&ui, "Print label again");
    assert_eq!(inline.requests().len(), requests_before + 1);
    let (label, _, zpl) = print_request(&inline);
    let off = {
        let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = gone.local_addr().unwrap().port();
        PrinterAddress::Network {
            host: "127.0.0.1".into(),
            port,
        }
    };
    let result = printer::print(&off, zpl.as_bytes(), PrinterTimeouts::default());
    assert!(result.is_err());
    inline.input(Input::Printed {
        sscc: label,
        result,
    });
    assert_eq!(value(&ui, "Verdict"), "Label not printed");
    assert!(
        value(&ui, "Reason").contains("Print label again"),
        "{}",
        value(&ui, "Reason")
    );
    tap(&ui, "OK");
    tap(&ui, "Finish");
    assert_eq!(value(&ui, "Verdict"), "Aggregation finished");
    let queue = pending_kinds(&inline);
    assert!(queue[0].1.to_string().contains(&sscc));
}

#[test]
fn pick_an_order_from_the_hub_short_and_over_per_line() {
    let scratch = Scratch::new("pick");
    let (ui, inline) = terminal(&scratch);
    ui.show_window().unwrap();
    // The hub's order, as a pull stores it: two units of the stock's GTIN by count.
    let stock = codes("our stock");
    let gtin = &ki_of(&stock[0])[2..16];
    let line = format!(
        "{{\"id\":\"ORD-318\",\"number\":\"Заказ 318\",\"receiverInn\":\"7736207543\",\"date\":\"2026-12-03\",\"lines\":[{{\"gtin\":\"{gtin}\",\"quantity\":2}}]}}\n"
    );
    let report = Store::open(scratch.0.join("tally.db"))
        .unwrap()
        .importer()
        .unwrap()
        .import_orders(line.as_bytes(), NOW)
        .unwrap();
    assert_eq!(report.rejected, 0, "{report:?}");
    sign_in(&ui, "1111");
    tap(&ui, "Shipment");
    tap_starting(&ui, "Заказ 318");
    assert_eq!(value(&ui, "Ordered"), "2");
    assert_eq!(value(&ui, "Short"), "2");
    inline.scan(&stock[0]);
    assert_eq!(value(&ui, "Short"), "1");
    inline.scan(&stock[1]);
    assert_eq!(value(&ui, "Short"), "0");
    // A third is past the order's line: it ships once confirmed, counted over.
    inline.scan(&stock[2]);
    assert_eq!(value(&ui, "Verdict"), "Check this code");
    tap(&ui, "Accept anyway");
    assert_eq!(value(&ui, "Verdict"), "Shipped");
    assert_eq!(value(&ui, "Not ordered"), "1");
    tap(&ui, "Finish shipment");
    assert_eq!(value(&ui, "Verdict"), "Shipment finished");
    let queue = pending_kinds(&inline);
    let (kind, payload) = queue.last().unwrap();
    assert_eq!(kind, "shipment");
    assert_eq!(payload["order_id"], "ORD-318", "{payload}");
}
