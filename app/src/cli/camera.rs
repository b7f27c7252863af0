//! Camera sources for `tally scan`, `tally work` and the terminal: a V4L2 camera
//! (`camera:/dev/video0`) or a recording of one (`recorded:DIR`), each read by the camera loop
//! with the frame decoder's deadline, and a trigger key on an evdev device for the press and
//! hold modes.
//!
//! Settings ride in the spec after `;` (`camera:/dev/video0;size=1280x720;fps=15;mode=press;
//! trigger=/dev/input/event2:f12`) so one string configures a camera in `--source` and in the
//! terminal's `scanners` list alike.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, anyhow};
use tally_drivers::image::{
    CameraConfig, CameraSettings, CaptureMode, DecodeOptions, FrameDecoder, FrameSource, Pace,
    RecordedSource, Trigger, V4l2Source, camera,
};
use tally_drivers::scan::ScanEvent;
use tally_drivers::wedge::key_code;

/// A camera or a recording of one, with its settings and trigger key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CameraSpec {
    /// The spec as given, for logs and `Display`.
    pub text: String,
    pub input: CameraInput,
    pub settings: CameraSettings,
    /// The key that presses the trigger, in `press` and `hold` modes.
    pub trigger_key: Option<TriggerKey>,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum CameraInput {
    Device,
    Recording(PathBuf),
}

/// An evdev device and the key on it that works the trigger (a terminal's scan button).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TriggerKey {
    pub device: PathBuf,
    pub key: u16,
}

impl CameraSpec {
    /// `camera:PATH[;KEY=VALUE…]` or `recorded:DIR[;KEY=VALUE…]`; `kind` and `rest` are the
    /// two sides of the first `:`.
    pub fn parse(text: &str, kind: &str, rest: &str) -> Result<CameraSpec, String> {
        let mut parts = rest.split(';');
        let path = parts.next().unwrap_or("").trim();
        if path.is_empty() {
            return Err(format!("{text:?}: {kind}: needs a path"));
        }
        let (input, mut settings) = match kind {
            "camera" => {
                let settings = CameraSettings::from_spec(&format!("camera:{path}"))
                    .map_err(|e| format!("{text:?}: {e}"))?;
                (CameraInput::Device, settings)
            }
            _ => (
                CameraInput::Recording(PathBuf::from(path)),
                CameraSettings {
                    // A recording plays as fast as it is read unless an fps is given.
                    fps: 0,
                    ..CameraSettings::default()
                },
            ),
        };
        let mut trigger_key = None;
        for part in parts.filter(|p| !p.trim().is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{text:?}: {part:?} is not KEY=VALUE"))?;
            match key.trim() {
                "trigger" => {
                    trigger_key =
                        Some(parse_trigger_key(value).map_err(|e| format!("{text:?}: {e}"))?)
                }
                key => settings
                    .set(key, value)
                    .map_err(|e| format!("{text:?}: {e}"))?,
            }
        }
        if settings.mode != CaptureMode::Continuous && trigger_key.is_none() {
            return Err(format!(
                "{text:?}: mode={} needs trigger=/dev/input/eventN:KEY, the key that presses it",
                mode_name(settings.mode)
            ));
        }
        Ok(CameraSpec {
            text: text.to_string(),
            input,
            settings,
            trigger_key,
        })
    }

    /// Starts the camera loop on its own thread, and the trigger key's reader beside it; both
    /// stop when `stop` is set.
    pub fn start(
        &self,
        events: Sender<ScanEvent>,
        stop: &Arc<AtomicBool>,
    ) -> anyhow::Result<JoinHandle<()>> {
        let mut source: Box<dyn FrameSource + Send> = match &self.input {
            CameraInput::Device => Box::new(V4l2Source::new(&self.settings)),
            CameraInput::Recording(dir) => {
                let pace = match self.settings.fps {
                    0 => Pace::AsFastAsAsked,
                    fps => Pace::Fps(fps),
                };
                Box::new(
                    RecordedSource::open(dir)
                        .with_context(|| format!("opening the recording {}", dir.display()))?
                        .pace(pace),
                )
            }
        };
        let trigger = self.settings.trigger();
        if let Some(key) = &self.trigger_key {
            start_trigger_key(key, trigger.clone(), stop)?;
        }
        let stop = Arc::clone(stop);
        let thread = std::thread::Builder::new()
            .name("tally-scanner-camera".into())
            .spawn(move || {
                let mut decoder = FrameDecoder::new(DecodeOptions::default());
                let config = CameraConfig::default();
                camera::run(
                    source.as_mut(),
                    &mut decoder,
                    &config,
                    &trigger,
                    &events,
                    &stop,
                );
            })?;
        Ok(thread)
    }
}

fn mode_name(mode: CaptureMode) -> &'static str {
    match mode {
        CaptureMode::Continuous => "continuous",
        CaptureMode::Hold => "hold",
        CaptureMode::Press => "press",
    }
}

/// `/dev/input/event2:f12`: the device, then the evdev key name as `--gs-key` takes it.
fn parse_trigger_key(value: &str) -> Result<TriggerKey, String> {
    let (device, key) = value
        .trim()
        .rsplit_once(':')
        .ok_or_else(|| format!("trigger={value:?}: expected /dev/input/eventN:KEY"))?;
    let code = key_code(key).ok_or_else(|| format!("trigger={value:?}: unknown key {key:?}"))?;
    if device.is_empty() {
        return Err(format!("trigger={value:?}: expected /dev/input/eventN:KEY"));
    }
    Ok(TriggerKey {
        device: PathBuf::from(device),
        key: code,
    })
}

/// Reads the trigger key's down and up from its device; a device that cannot be read is
/// retried every second, as scanners are, so a replugged button works again.
fn start_trigger_key(
    key: &TriggerKey,
    trigger: Trigger,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let key = key.clone();
    let stop = Arc::clone(stop);
    std::thread::Builder::new()
        .name("tally-camera-trigger".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Err(error) = read_trigger_key(&key.device, key.key, &trigger, &stop) {
                    tracing::warn!("camera trigger {}: {error:#}", key.device.display());
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        })
        .map_err(|e| anyhow!("starting the trigger key's thread: {e}"))?;
    Ok(())
}

fn read_trigger_key(
    device: &Path,
    code: u16,
    trigger: &Trigger,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let mut device = evdev::Device::open(device).context("opening")?;
    // A blocking read: the thread is not joined, and a key event or the process's end frees it.
    while !stop.load(Ordering::Relaxed) {
        let batch = device.fetch_events().context("reading")?;
        for event in batch.filter(|e| e.event_type() == evdev::EventType::KEY && e.code() == code) {
            match event.value() {
                1 => trigger.press(),
                0 => trigger.release(),
                // 2 is autorepeat while held: the trigger is already down.
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_specs_carry_their_settings_and_trigger_key() {
        let spec = CameraSpec::parse(
            "camera:/dev/video2;size=640x480;fps=30;formats=mjpeg,grey;mode=press;trigger=/dev/input/event4:f12",
            "camera",
            "/dev/video2;size=640x480;fps=30;formats=mjpeg,grey;mode=press;trigger=/dev/input/event4:f12",
        )
        .unwrap();
        assert_eq!(spec.input, CameraInput::Device);
        assert_eq!(spec.settings.device, PathBuf::from("/dev/video2"));
        assert_eq!((spec.settings.width, spec.settings.height), (640, 480));
        assert_eq!(spec.settings.fps, 30);
        assert_eq!(spec.settings.mode, CaptureMode::Press);
        assert_eq!(
            spec.trigger_key,
            Some(TriggerKey {
                device: "/dev/input/event4".into(),
                key: key_code("f12").unwrap(),
            })
        );

        let recorded = CameraSpec::parse("recorded:frames", "recorded", "frames").unwrap();
        assert_eq!(recorded.input, CameraInput::Recording("frames".into()));
        assert_eq!(
            recorded.settings.fps, 0,
            "a recording plays as fast as read"
        );
    }

    #[test]
    fn bad_camera_specs_say_what_is_wrong() {
        for (rest, wanted) in [
            ("", "needs a path"),
            ("/dev/video0;size", "is not KEY=VALUE"),
            ("/dev/video0;size=huge", "size"),
            ("/dev/video0;zoom=2", "zoom"),
            ("/dev/video0;mode=press", "needs trigger="),
            (
                "/dev/video0;mode=hold;trigger=/dev/input/event1:nokey",
                "unknown key",
            ),
            (
                "/dev/video0;mode=hold;trigger=f12",
                "expected /dev/input/eventN:KEY",
            ),
        ] {
            let text = format!("camera:{rest}");
            let error = CameraSpec::parse(&text, "camera", rest).unwrap_err();
            assert!(error.contains(wanted), "{rest}: {error}");
        }
    }
}
