//! A real V4L2 camera (opt-in: this machine and CI have none): frames of the negotiated size
//! stream from it, the device is released on drop, and the camera loop runs over it. Run with
//! `cargo test -p tally-drivers --features camera-tests --test camera_v4l2` on a terminal or
//! a workstation with a webcam; `TALLY_TEST_CAMERA=/dev/video2` picks another node.
#![cfg(feature = "camera-tests")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use tally_drivers::image::camera::{self, CameraConfig, Trigger};
use tally_drivers::image::{
    CameraSettings, DecodeOptions, FrameDecoder, FrameSource, PixelFormat, RecordedSource,
    SourceError, V4l2Source,
};
use tally_drivers::scan::{ScanEvent, Source};

fn settings() -> CameraSettings {
    let device = std::env::var("TALLY_TEST_CAMERA").unwrap_or_else(|_| "/dev/video0".into());
    CameraSettings {
        device: PathBuf::from(device),
        width: 640,
        height: 480,
        fps: 15,
        ..CameraSettings::default()
    }
}

/// Up to `count` frames, allowing a minute for a slow camera to start.
fn frames(source: &mut V4l2Source, count: usize) -> Vec<tally_drivers::image::LumaFrame> {
    let until = Instant::now() + Duration::from_secs(60);
    let mut frames = Vec::new();
    while frames.len() < count && Instant::now() < until {
        match source.next_frame(Instant::now() + Duration::from_secs(2)) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => panic!("a live camera never ends"),
            // A USB camera may hand over a damaged first frame or two.
            Err(SourceError::NoFrameYet | SourceError::BadFrame { .. }) => {}
            Err(SourceError::Device { detail }) => panic!("{detail}"),
        }
    }
    frames
}

#[test]
fn a_real_camera_streams_frames_of_the_size_it_negotiated() {
    for format in PixelFormat::ALL {
        let settings = CameraSettings {
            formats: vec![format],
            ..settings()
        };
        let mut source = match V4l2Source::open(&settings) {
            Ok(source) => source,
            // A camera offers some of the three formats, rarely all.
            Err(SourceError::Device { detail }) if detail.contains("offers none of") => {
                eprintln!("{format}: {detail}");
                continue;
            }
            Err(other) => panic!("{other}"),
        };
        let negotiated = source
            .negotiated()
            .expect("an open source knows its format");
        eprintln!("{format}: {negotiated:?}");
        assert_eq!(negotiated.layout.format, format);
        assert!(negotiated.buffers >= 2, "{negotiated:?}");
        let got = frames(&mut source, 5);
        assert_eq!(got.len(), 5, "{format}");
        for frame in &got {
            assert_eq!(
                (frame.width(), frame.height()),
                (negotiated.layout.width, negotiated.layout.height)
            );
        }
        assert!(
            source
                .skip_frame(Instant::now() + Duration::from_secs(5))
                .is_ok()
        );
        // Dropping stops the stream and frees the buffers: a second open would fail with
        // EBUSY otherwise.
        drop(source);
        let mut again = V4l2Source::open(&settings).unwrap();
        assert_eq!(frames(&mut again, 1).len(), 1);
    }
}

#[test]
fn frames_recorded_from_the_camera_replay_the_same() {
    let dir = std::env::temp_dir().join(format!("tally-camera-rec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut source = V4l2Source::open(&settings()).unwrap();
    source.record_into(Some(dir.clone()));
    let live = frames(&mut source, 3);
    source.record_into(None);
    drop(source);
    let mut replay = RecordedSource::open(&dir).unwrap();
    let far = Instant::now() + Duration::from_secs(60);
    let mut replayed = Vec::new();
    loop {
        match replay.next_frame(far) {
            Ok(Some(frame)) => replayed.push(frame),
            Ok(None) => break,
            Err(_) => {}
        }
    }
    // A frame that failed to convert was recorded too, before it was refused.
    assert!(replayed.len() >= live.len());
    assert!(live.iter().all(|frame| replayed.contains(frame)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_camera_loop_runs_over_the_real_camera() {
    let mut source = V4l2Source::new(&settings());
    let (tx, rx) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let loop_stop = Arc::clone(&stop);
    let worker = std::thread::spawn(move || {
        let mut decoder = FrameDecoder::new(DecodeOptions::default());
        camera::run(
            &mut source,
            &mut decoder,
            &CameraConfig::default(),
            &Trigger::continuous(),
            &tx,
            &loop_stop,
        );
    });
    let first = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(
        first,
        ScanEvent::Connected {
            source: Source::Camera
        }
    );
    stop.store(true, Ordering::Relaxed);
    worker.join().unwrap();
}
