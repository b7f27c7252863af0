//! The wedge loop against a virtual keyboard made through /dev/uinput (opt-in: needs the
//! kernel's uinput, which this machine and CI lack). Run with
//! `cargo test -p tally-drivers --features uinput-tests --test wedge_uinput` on a terminal.
#![cfg(feature = "uinput-tests")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed setup is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::time::Duration;

use evdev::uinput::VirtualDevice;
use evdev::{AttributeSet, EventType, InputEvent, KeyCode};
use tally_drivers::scan::ScanEvent;
use tally_drivers::wedge::{parse_trace, type_text};
use tally_drivers::wedge_device::{self, WedgeDeviceConfig};

#[test]
fn a_virtual_scanner_types_a_code_through_the_grabbed_device() {
    let keys: AttributeSet<KeyCode> = (1u16..=120).map(KeyCode::new).collect();
    let mut scanner = VirtualDevice::builder()
        .unwrap()
        .name("tally test scanner")
        .with_keys(&keys)
        .unwrap()
        .build()
        .unwrap();
    let node = scanner
        .enumerate_dev_nodes_blocking()
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let config = WedgeDeviceConfig::new(node.to_string_lossy());
    let (tx, rx) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || wedge_device::run(&config, &tx, &stop))
    };
    assert!(matches!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        ScanEvent::Connected { .. }
    ));
    let code = b"0104600840749372215XyZ1a\x1d93Ab1+";
    let trace = format!("{} d:enter u:enter", type_text(code, 1));
    for key in parse_trace(&trace).unwrap() {
        scanner
            .emit(&[InputEvent::new(EventType::KEY.0, key.code, key.value)])
            .unwrap();
    }
    match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
        ScanEvent::Scan { payload, .. } => assert_eq!(payload, code),
        other => panic!("{other:?}"),
    }
    drop(scanner);
    assert!(matches!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        ScanEvent::Disconnected { .. }
    ));
    stop.store(true, Ordering::Relaxed);
    worker.join().unwrap();
}
