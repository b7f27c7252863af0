//! The serial loop against a real pseudo-terminal: byte-exact scans, and a scanner that is
//! unplugged and plugged back in behind a stable link name, as `/dev/serial/by-id` gives.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed setup is a failed test

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serialport::{SerialPort, TTYPort};
use tally_drivers::scan::ScanEvent;
use tally_drivers::serial::{self, SerialConfig};
use tally_drivers::serial_frame::Framing;

/// A pty pair whose slave is reachable through `link`; returns the master end.
fn plug_in(link: &std::path::Path) -> TTYPort {
    let (master, slave) = TTYPort::pair().expect("a pseudo-terminal pair");
    let name = slave.name().expect("the slave's path");
    // The loop opens the slave by path, like a real device node.
    drop(slave);
    let tmp = link.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&name, &tmp).unwrap();
    std::fs::rename(&tmp, link).unwrap();
    master
}

/// The next event that is not noise, waiting at most a few seconds.
fn next(events: &Receiver<ScanEvent>) -> ScanEvent {
    loop {
        match events.recv_timeout(Duration::from_secs(10)) {
            Ok(ScanEvent::Noise { .. }) => continue,
            Ok(event) => return event,
            Err(e) => panic!("no event from the serial loop: {e}"),
        }
    }
}

fn payload(event: ScanEvent) -> Vec<u8> {
    match event {
        ScanEvent::Scan { payload, .. } => payload,
        other => panic!("expected a scan, got {other:?}"),
    }
}

#[test]
fn scans_arrive_byte_exact_and_the_loop_survives_replug() {
    let dir = std::env::temp_dir().join(format!("tally-serial-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("scanner");
    let mut master = plug_in(&link);

    let config = SerialConfig {
        framing: Framing::CrLf,
        read_timeout: Duration::from_millis(20),
        reconnect_every: Duration::from_millis(20),
        ..SerialConfig::new(link.to_string_lossy())
    };
    let (tx, rx) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || serial::run(&config, &tx, &stop))
    };
    assert!(matches!(next(&rx), ScanEvent::Connected { .. }));

    // GS, a byte above 0x7F and quote characters all arrive untouched; two scans in one write.
    let first = b"0104600840749372215XyZ1a\x1d93Ab1+";
    let second = b"]d2\x1d01\xe8<>&\"'";
    let mut wire = Vec::new();
    for code in [&first[..], &second[..]] {
        wire.extend_from_slice(code);
        wire.extend_from_slice(b"\r\n");
    }
    master.write_all(&wire).unwrap();
    assert_eq!(payload(next(&rx)), first);
    assert_eq!(payload(next(&rx)), second);

    // Unplug: the master goes away, the loop reports it and keeps trying.
    drop(master);
    assert!(matches!(next(&rx), ScanEvent::Disconnected { .. }));

    // Plug back in (a new pty behind the same link): the loop reconnects by itself.
    let mut master = plug_in(&link);
    loop {
        match next(&rx) {
            ScanEvent::Connected { .. } => break,
            ScanEvent::Disconnected { .. } => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
    master.write_all(b"106141411234567897\r\n").unwrap();
    assert_eq!(payload(next(&rx)), b"106141411234567897");

    stop.store(true, Ordering::Relaxed);
    worker.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn garbage_on_the_line_never_stops_the_loop() {
    let dir = std::env::temp_dir().join(format!("tally-serial-garbage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("scanner");
    let mut master = plug_in(&link);
    let config = SerialConfig {
        framing: Framing::StxEtx,
        read_timeout: Duration::from_millis(20),
        ..SerialConfig::new(link.to_string_lossy())
    };
    let (tx, rx) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || serial::run(&config, &tx, &stop))
    };
    assert!(matches!(next(&rx), ScanEvent::Connected { .. }));
    let garbage: Vec<u8> = (0..4000u32)
        .map(|i| (i * 7919 % 251) as u8)
        .filter(|b| *b != 2 && *b != 3)
        .collect();
    master.write_all(&garbage).unwrap();
    master.write_all(b"\x02ok\x03").unwrap();
    assert_eq!(payload(next(&rx)), b"ok");
    stop.store(true, Ordering::Relaxed);
    worker.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
