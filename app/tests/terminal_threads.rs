//! The whole terminal as it runs, threads and all, in one process: `tally --demo`'s hub and
//! enrollment, the startup sync, a scripted scanner on its own thread, the desk thread, and the
//! event loop of a headless window drawing with the software renderer. One test: Slint takes
//! one platform per process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::sync::mpsc::channel;
use std::time::{Duration, Instant, SystemTime};

use tally_app::terminal::config::Config;
use tally_app::terminal::controller::Input;
use tally_app::terminal::{Event, Options, Terminal, demo};
use tally_drivers::scan::{ScanEvent, Source};
use tally_sync::store::Reader;
use tally_ui::{Action, Headless, Ui};

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn demo_terminal_syncs_scans_and_uploads_through_its_threads() {
    let dir = std::env::temp_dir().join(format!("tally-threads-{}", std::process::id()));
    // SAFETY: set before any thread of this test process reads the environment.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("TALLY_DATA_DIR", &dir)
    };
    let mut config = Config::parse("sounds = false\nvibration = false\n").unwrap();
    let demo = demo::start(&mut config, &Options::default()).unwrap();
    let db = config.db_path();

    let headless = Headless::install(480, 800, 1.0).unwrap();
    let ui = Ui::new().unwrap();
    let (scanner, scans) = channel();
    let terminal = Terminal::start(config, &ui, vec![scans]).unwrap();
    let events = terminal.events();
    let handle = ui.handle();
    let stock: Vec<String> = demo::dataset()
        .codes
        .into_iter()
        .filter(|(what, _)| what == "our stock")
        .map(|(_, code)| code.replace("<GS>", "\u{1d}"))
        .take(3)
        .collect();

    let driver = std::thread::spawn(move || {
        let reader = Reader::open(&db).unwrap();
        // The terminal syncs on start: the demo hub's statuses arrive in the replica.
        wait_for("the startup sync", || {
            reader.stats(tally_app::cli::now()).unwrap().status_rows == 50
                && reader.operators().unwrap().len() == 2
        });
        let act = |action| {
            events
                .send(Event::Input(Input::Action(action), None))
                .unwrap()
        };
        // The operators came from the hub: the config file names none.
        act(Action::SignIn { pin: "1111".into() });
        act(Action::StartWriteOff {
            reason: "damage_loss".into(),
        });
        // Scans come from a scanner thread, as a serial or wedge scanner's do.
        for code in &stock {
            scanner
                .send(ScanEvent::Scan {
                    payload: code.clone().into_bytes(),
                    source: Source::Script,
                    symbology: None,
                    received: SystemTime::now(),
                })
                .unwrap();
        }
        wait_for("three scans in the journal", || {
            reader
                .open_operations()
                .unwrap()
                .first()
                .map(|o| o.entries.len())
                == Some(3)
        });
        act(Action::WriteOffFinish);
        wait_for("the write-off waiting for its supervisor", || {
            reader.open_operations().unwrap().len() == 1
        });
        act(Action::WriteOffConfirm { pin: "9999".into() });
        wait_for("the write-off in the queue", || {
            reader.open_operations().unwrap().is_empty()
        });
        act(Action::SyncNow);
        // Uploaded: the hub accepted it, the queue is empty again.
        wait_for("the upload", || {
            reader.queue_depth().unwrap() == 0 && reader.pending_queue().unwrap().is_empty()
        });
        handle.quit();
    });
    ui.run().unwrap();
    driver.join().unwrap();
    // The event loop drew frames all along.
    assert_eq!(headless.size(), (480, 800));
    terminal.stop();
    let reader = Reader::open(dir.join("tally.db")).unwrap();
    assert_eq!(reader.queue_depth().unwrap(), 0);
    assert!(reader.last_sync().unwrap().is_some());
    assert!(demo.hub_url.starts_with("http://127.0.0.1:"));
    // The hub holds the write-off, once.
    let hub = tally_hub::store::Store::open(dir.join("demo-hub.db")).unwrap();
    assert_eq!(hub.operation_count().unwrap(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
