//! The camera loop driven by image files and scripted sources: one scan per code held in
//! view, from `Source::Camera` with `]d2`, bad frames and camera errors reported, and the loop
//! ending when told to.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use tally_drivers::image::camera::{self, CameraConfig};
use tally_drivers::image::synthetic::{self, Scene};
use tally_drivers::image::{
    DecodeOptions, FileSource, FrameDecoder, FrameSource, LumaFrame, SourceError, Trigger,
};
use tally_drivers::scan::{ScanEvent, Source};

const MILK: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+";
const WATER: &[u8] = b"0104603934000793215mM5k<z\"G&pT%\x1d93dGVz";

fn scene(payload: &[u8], seed: u64) -> LumaFrame {
    let symbol = synthetic::data_matrix(payload, true).unwrap();
    Scene {
        width: 640,
        height: 480,
        x: 180,
        y: 110,
        rotate: 4.0 + seed as f32,
        seed,
        ..Scene::default()
    }
    .shoot(&symbol)
    .unwrap()
}

fn blank() -> LumaFrame {
    synthetic::noise_frame(640, 480, 5).unwrap()
}

fn decoder() -> FrameDecoder {
    FrameDecoder::new(DecodeOptions {
        try_harder: true,
        deadline: Duration::from_secs(60),
        ..DecodeOptions::default()
    })
}

fn write_png(path: &Path, frame: &LumaFrame) {
    std::fs::write(path, synthetic::png(frame).unwrap()).unwrap();
}

fn drain(events: Receiver<ScanEvent>) -> Vec<ScanEvent> {
    events.try_iter().collect()
}

#[test]
fn a_code_held_in_view_is_one_scan_and_comes_back_after_it_left() {
    let dir = std::env::temp_dir().join(format!("tally-camera-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let frames: [(&str, Option<LumaFrame>); 10] = [
        ("00", Some(scene(MILK, 1))),
        ("01", Some(scene(MILK, 2))),
        ("02", Some(blank())),
        ("03", Some(scene(MILK, 3))),
        ("04", Some(scene(WATER, 4))),
        ("05", None),
        ("06", Some(scene(WATER, 5))),
        ("07", Some(blank())),
        ("08", Some(blank())),
        ("09", Some(scene(WATER, 6))),
    ];
    for (name, frame) in &frames {
        match frame {
            Some(frame) => write_png(&dir.join(format!("{name}.png")), frame),
            None => std::fs::write(dir.join(format!("{name}.png")), b"\x89PNG cut short").unwrap(),
        }
    }

    let (tx, rx) = channel();
    let config = CameraConfig {
        forget_after: 2,
        ..CameraConfig::default()
    };
    camera::run(
        &mut FileSource::new([&dir]),
        &mut decoder(),
        &config,
        &Trigger::continuous(),
        &tx,
        &AtomicBool::new(false),
    );
    drop(tx);
    let events = drain(rx);

    let mut summary = Vec::new();
    for event in &events {
        match event {
            ScanEvent::Connected { source } => {
                assert_eq!(*source, Source::Camera);
                summary.push("connected".to_string());
            }
            ScanEvent::Scan {
                payload,
                source,
                symbology,
                ..
            } => {
                assert_eq!(*source, Source::Camera);
                assert_eq!(*symbology, Some(*b"d2"));
                summary.push(if payload == MILK {
                    "milk".to_string()
                } else if payload == WATER {
                    "water".to_string()
                } else {
                    panic!("mangled payload {:?}", String::from_utf8_lossy(payload))
                });
            }
            ScanEvent::Noise { source, reason } => {
                assert_eq!(*source, Source::Camera);
                assert!(reason.contains("05.png"), "{reason}");
                summary.push("noise".to_string());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Frames 1-3 are one sighting of the milk (one blurred frame in between is tolerated),
    // 4-6 one of the water (the bad file in between too); two empty frames end that sighting.
    assert_eq!(summary, ["connected", "milk", "water", "noise", "water"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Plays a script of answers, then the same frame forever.
struct Scripted {
    script: VecDeque<Result<Option<LumaFrame>, SourceError>>,
    forever: LumaFrame,
}

impl FrameSource for Scripted {
    fn next_frame(&mut self, _deadline: Instant) -> Result<Option<LumaFrame>, SourceError> {
        self.script
            .pop_front()
            .unwrap_or_else(|| Ok(Some(self.forever.clone())))
    }
}

#[test]
fn a_camera_error_is_a_disconnection_and_stop_ends_the_loop() {
    let device_gone = || SourceError::Device {
        detail: "/dev/video0: No such device".into(),
    };
    let mut source = Scripted {
        script: VecDeque::from([
            Err(device_gone()),
            Err(device_gone()),
            Err(SourceError::NoFrameYet),
        ]),
        forever: scene(MILK, 1),
    };
    let (tx, rx) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let loop_stop = Arc::clone(&stop);
    let (done_tx, done_rx) = channel();
    std::thread::spawn(move || {
        let config = CameraConfig {
            retry_after: Duration::from_millis(1),
            ..CameraConfig::default()
        };
        camera::run(
            &mut source,
            &mut decoder(),
            &config,
            &Trigger::continuous(),
            &tx,
            &loop_stop,
        );
        done_tx.send(()).unwrap();
    });

    let next = || rx.recv_timeout(Duration::from_secs(60)).unwrap();
    // Reported once however often the camera fails, then back when frames come.
    match next() {
        ScanEvent::Disconnected { source, reason } => {
            assert_eq!(source, Source::Camera);
            assert!(reason.contains("No such device"));
        }
        other => panic!("expected a disconnection, got {other:?}"),
    }
    assert_eq!(
        next(),
        ScanEvent::Connected {
            source: Source::Camera
        }
    );
    assert!(matches!(next(), ScanEvent::Scan { payload, .. } if payload == MILK));

    // The same code stays in view: no more scans, and stop ends the loop.
    stop.store(true, Ordering::Relaxed);
    done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the loop ends when stopped");
    assert!(
        rx.try_iter()
            .all(|event| !matches!(event, ScanEvent::Scan { .. }))
    );
}

#[test]
fn the_loop_ends_when_nobody_listens() {
    let mut source = Scripted {
        script: VecDeque::new(),
        forever: scene(MILK, 1),
    };
    let (tx, rx) = channel();
    drop(rx);
    let (done_tx, done_rx) = channel();
    std::thread::spawn(move || {
        camera::run(
            &mut source,
            &mut decoder(),
            &CameraConfig::default(),
            &Trigger::continuous(),
            &tx,
            &AtomicBool::new(false),
        );
        done_tx.send(()).unwrap();
    });
    // It returns at the first event it cannot send.
    done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the loop ends without a receiver");
}
