//! The camera loop over recorded camera frames: codes drawn by `synthetic`, turned into the
//! YUYV, GREY and MJPEG buffers a camera hands over, written as a recording and replayed.
//! One scan per code held in view, the same `ScanEvent`s as a scanner sends, and in trigger
//! modes only the frames inside the trigger decoded.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use tally_drivers::image::camera::{self, CameraConfig, CaptureMode, Trigger};
use tally_drivers::image::synthetic::{self, Scene};
use tally_drivers::image::{
    DecodeOptions, Decoded, FrameDecoder, FrameSource, Layout, LookFor, LumaFrame, Pass,
    PixelFormat, RecordedSource, SourceError, StandardReader, SymbolReader, record_frame,
};
use tally_drivers::scan::{ScanEvent, Source};

const MILK: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+";
const WATER: &[u8] = b"0104603934000793215mM5k<z\"G&pT%\x1d93dGVz";

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;

fn scene(payload: &[u8], seed: u64) -> LumaFrame {
    let symbol = synthetic::data_matrix(payload, true).unwrap();
    Scene {
        width: WIDTH,
        height: HEIGHT,
        x: 180,
        y: 110,
        rotate: 4.0 + seed as f32,
        seed,
        ..Scene::default()
    }
    .shoot(&symbol)
    .unwrap()
}

/// What the camera looks at, frame by frame: a code's payload, or nothing.
fn view(script: &[Option<&'static [u8]>]) -> Vec<LumaFrame> {
    script
        .iter()
        .enumerate()
        .map(|(i, seen)| match seen {
            Some(payload) => scene(payload, i as u64 + 1),
            None => synthetic::noise_frame(WIDTH, HEIGHT, i as u64 + 100).unwrap(),
        })
        .collect()
}

/// The frames as a camera delivering `format` would, written as a recording in a fresh
/// directory. Raw rows are padded, as drivers align them.
fn record(name: &str, format: PixelFormat, frames: &[LumaFrame]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tally-rec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (index, frame) in frames.iter().enumerate() {
        let (bytes_per_line, bytes) = match format {
            PixelFormat::Yuyv => (
                WIDTH * 2 + 64,
                synthetic::yuyv(frame, WIDTH * 2 + 64).unwrap(),
            ),
            PixelFormat::Grey => (WIDTH + 32, synthetic::grey(frame, WIDTH + 32).unwrap()),
            PixelFormat::Mjpeg => (0, synthetic::jpeg(frame, 90).unwrap()),
        };
        let layout = Layout {
            format,
            width: WIDTH,
            height: HEIGHT,
            bytes_per_line,
        };
        record_frame(&dir, index as u64, &layout, &bytes).unwrap();
    }
    dir
}

/// The real reader, counting the frames it was given (fast passes: one a frame).
#[derive(Default)]
struct Counting {
    frames: AtomicUsize,
}

impl SymbolReader for Counting {
    fn read(&self, frame: &LumaFrame, look_for: LookFor, pass: Pass) -> Option<Decoded> {
        if pass == Pass::Fast {
            self.frames.fetch_add(1, Ordering::Relaxed);
        }
        StandardReader.read(frame, look_for, pass)
    }
}

/// The loop over `source` until it ends; the events it sent, as short words, and how many
/// frames were decoded.
fn run(source: &mut dyn FrameSource, trigger: &Trigger) -> (Vec<String>, usize) {
    let reader = Arc::new(Counting::default());
    let mut decoder = FrameDecoder::with_reader(
        Arc::clone(&reader) as Arc<dyn SymbolReader>,
        DecodeOptions {
            try_harder: true,
            deadline: Duration::from_secs(60),
            ..DecodeOptions::default()
        },
    );
    let config = CameraConfig {
        forget_after: 2,
        ..CameraConfig::default()
    };
    let (tx, rx) = channel();
    camera::run(
        source,
        &mut decoder,
        &config,
        trigger,
        &tx,
        &AtomicBool::new(false),
    );
    drop(tx);
    let events = rx.try_iter().map(|event| word(&event)).collect();
    (events, reader.frames.load(Ordering::Relaxed))
}

fn word(event: &ScanEvent) -> String {
    match event {
        ScanEvent::Connected { source } => {
            assert_eq!(*source, Source::Camera);
            "connected".into()
        }
        ScanEvent::Scan {
            payload,
            source,
            symbology,
            ..
        } => {
            // Exactly what a scanner's scan carries: the bytes with GS, the AIM symbology.
            assert_eq!(*source, Source::Camera);
            assert_eq!(*symbology, Some(*b"d2"));
            if payload == MILK {
                "milk".into()
            } else if payload == WATER {
                "water".into()
            } else {
                panic!("mangled payload {:?}", String::from_utf8_lossy(payload))
            }
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn recorded_yuyv_grey_and_mjpeg_frames_scan_once_per_code_in_view() {
    let frames = view(&[
        Some(MILK),
        Some(MILK),
        None,
        Some(MILK),
        Some(WATER),
        Some(WATER),
        None,
        None,
        Some(WATER),
    ]);
    for format in PixelFormat::ALL {
        let dir = record(format.name(), format, &frames);
        let mut source = RecordedSource::open(&dir).unwrap();
        assert_eq!(source.len(), frames.len());
        let (events, decoded) = run(&mut source, &Trigger::continuous());
        // One blurred frame inside a sighting is tolerated; two end it, so the water held
        // up again is a second scan.
        assert_eq!(events, ["connected", "milk", "water", "water"], "{format}");
        assert_eq!(decoded, frames.len(), "{format}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_press_reads_one_code_and_frames_after_it_are_not_decoded() {
    let frames = view(&[Some(MILK), Some(MILK), Some(WATER), Some(WATER)]);
    let dir = record("press", PixelFormat::Yuyv, &frames);
    // A window far longer than the test: it is the scan that closes it.
    let trigger = Trigger::new(CaptureMode::Press, Duration::from_secs(600));
    trigger.press();
    trigger.release();
    let (events, decoded) = run(&mut RecordedSource::open(&dir).unwrap(), &trigger);
    assert_eq!(events, ["connected", "milk"]);
    assert_eq!(decoded, 1);

    // Without a press nothing is decoded, though every frame is taken from the camera.
    let idle = Trigger::new(CaptureMode::Press, Duration::from_secs(600));
    let (events, decoded) = run(&mut RecordedSource::open(&dir).unwrap(), &idle);
    assert_eq!(events, ["connected"]);
    assert_eq!(decoded, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What the operator does with the trigger key after a given frame was taken.
#[derive(Clone, Copy, Debug)]
enum Key {
    Down,
    Up,
    /// Down and up before the next frame arrives.
    Tap,
}

/// A recording with a hand on the trigger key.
struct Operator {
    frames: RecordedSource,
    trigger: Trigger,
    after_frame: HashMap<usize, Key>,
    taken: usize,
}

impl Operator {
    fn act(&mut self) {
        match self.after_frame.get(&self.taken) {
            Some(Key::Down) => self.trigger.press(),
            Some(Key::Up) => self.trigger.release(),
            Some(Key::Tap) => {
                self.trigger.press();
                self.trigger.release();
            }
            None => {}
        }
        self.taken += 1;
    }
}

impl FrameSource for Operator {
    fn next_frame(&mut self, deadline: Instant) -> Result<Option<LumaFrame>, SourceError> {
        let frame = self.frames.next_frame(deadline);
        self.act();
        frame
    }

    fn skip_frame(&mut self, deadline: Instant) -> Result<bool, SourceError> {
        let taken = self.frames.skip_frame(deadline);
        self.act();
        taken
    }
}

#[test]
fn hold_mode_decodes_while_the_key_is_down_and_a_tap_gets_one_frame() {
    let frames = view(&[
        Some(MILK),
        Some(MILK),
        Some(WATER),
        Some(WATER),
        Some(MILK),
        Some(MILK),
        Some(WATER),
    ]);
    let dir = record("hold", PixelFormat::Grey, &frames);
    let trigger = Trigger::new(CaptureMode::Hold, Duration::ZERO);
    let mut operator = Operator {
        frames: RecordedSource::open(&dir).unwrap(),
        trigger: trigger.clone(),
        // Held over frames 2 and 3, tapped between frames 4 and 5.
        after_frame: HashMap::from([(1, Key::Down), (3, Key::Up), (4, Key::Tap)]),
        taken: 0,
    };
    let (events, decoded) = run(&mut operator, &trigger);
    // The milk of frames 0-1 and 4 and the water of frame 6 pass unread.
    assert_eq!(events, ["connected", "water", "milk"]);
    assert_eq!(decoded, 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn each_press_reads_the_code_in_view_again() {
    // The same code stays under the camera; pressing again is asking for it again.
    let frames = view(&[Some(MILK), Some(MILK), Some(MILK), Some(MILK)]);
    let dir = record("again", PixelFormat::Mjpeg, &frames);
    let trigger = Trigger::new(CaptureMode::Press, Duration::from_secs(600));
    trigger.press();
    let mut operator = Operator {
        frames: RecordedSource::open(&dir).unwrap(),
        trigger: trigger.clone(),
        after_frame: HashMap::from([(1, Key::Tap)]),
        taken: 0,
    };
    let (events, decoded) = run(&mut operator, &trigger);
    assert_eq!(events, ["connected", "milk", "milk"]);
    assert_eq!(decoded, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}
