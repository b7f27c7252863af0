//! The camera's settings as the terminal's config and command line give them: which device,
//! what size, rate and pixel formats, and whether it reads continuously or on a trigger.
//!
//! drivers has no serde, so each value is parsed from the string a TOML file or a
//! `--source camera:/dev/video0` spec holds, with an error naming the setting and what it takes.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

use super::camera::{CaptureMode, Trigger};
use super::pixel::PixelFormat;

/// How to open and run one camera.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CameraSettings {
    /// The capture node; best a stable name such as `/dev/v4l/by-id/usb-…-video-index0`.
    pub device: PathBuf,
    /// The size asked for; the driver picks the nearest it has (see `V4l2Source::negotiated`).
    pub width: u32,
    pub height: u32,
    /// Frames a second asked for; 0 leaves the camera's own rate. Also the pace of a recording
    /// replayed in its place.
    pub fps: u32,
    /// Pixel formats in order of preference; the first the camera offers is used.
    pub formats: Vec<PixelFormat>,
    pub mode: CaptureMode,
    /// How long a trigger press keeps the camera reading (`CaptureMode::Press`).
    pub trigger_window: Duration,
}

impl Default for CameraSettings {
    /// 720p at 15 fps: modules of a marking code on a label are several pixels wide at arm's
    /// length, and a small ARM board decodes that many frames. YUYV first because it needs no
    /// decompression; MJPEG for cameras that only give their full size compressed.
    fn default() -> CameraSettings {
        CameraSettings {
            device: PathBuf::from("/dev/video0"),
            width: 1280,
            height: 720,
            fps: 15,
            formats: vec![PixelFormat::Yuyv, PixelFormat::Mjpeg, PixelFormat::Grey],
            mode: CaptureMode::Continuous,
            trigger_window: Duration::from_secs(3),
        }
    }
}

/// A setting that could not be read.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum SettingsError {
    #[error("a camera source is camera:<device>, such as camera:/dev/video0, not {given:?}")]
    Spec { given: String },
    #[error("unknown camera setting {key:?}: {}", KEYS.join(", "))]
    UnknownKey { key: String },
    #[error("camera {key} {given:?}: {expected}")]
    Value {
        key: &'static str,
        given: String,
        expected: &'static str,
    },
}

/// The keys [`CameraSettings::set`] takes.
pub const KEYS: [&str; 8] = [
    "device",
    "size",
    "width",
    "height",
    "fps",
    "formats",
    "mode",
    "trigger_window",
];

impl CameraSettings {
    /// The defaults with the device of a `camera:/dev/video0` source spec.
    pub fn from_spec(spec: &str) -> Result<CameraSettings, SettingsError> {
        let device = spec
            .strip_prefix("camera:")
            .map(str::trim)
            .filter(|path| !path.is_empty())
            .ok_or_else(|| SettingsError::Spec { given: spec.into() })?;
        Ok(CameraSettings {
            device: PathBuf::from(device),
            ..CameraSettings::default()
        })
    }

    /// A fresh trigger for these settings' mode and window, to hand to the key that presses
    /// it and to [`crate::image::camera::run`].
    pub fn trigger(&self) -> Trigger {
        Trigger::new(self.mode, self.trigger_window)
    }

    /// Sets one value from its config string:
    ///
    /// | key | value |
    /// | --- | --- |
    /// | `device` | a path, `/dev/video0` |
    /// | `size` | `1280x720` |
    /// | `width`, `height`, `fps` | a number (`fps = 0`: the camera's own rate) |
    /// | `formats` | names in order of preference, `yuyv,mjpeg,grey` |
    /// | `mode` | `continuous`, `hold` or `press` |
    /// | `trigger_window` | `3s`, `1500ms` or `2.5s` |
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SettingsError> {
        let text = value.trim();
        match key {
            "device" if !text.is_empty() => self.device = PathBuf::from(text),
            "device" => return Err(invalid("device", value, "a path such as /dev/video0")),
            "size" => (self.width, self.height) = parse_size(value)?,
            "width" => self.width = dimension("width", value)?,
            "height" => self.height = dimension("height", value)?,
            "fps" => {
                self.fps = text
                    .parse()
                    .ok()
                    .filter(|fps| *fps <= 1000)
                    .ok_or_else(|| invalid("fps", value, "frames a second, 0 to 1000"))?;
            }
            "formats" => self.formats = parse_formats(value)?,
            "mode" => self.mode = value.parse()?,
            "trigger_window" => self.trigger_window = parse_window(value)?,
            other => {
                return Err(SettingsError::UnknownKey { key: other.into() });
            }
        }
        Ok(())
    }
}

fn invalid(key: &'static str, given: &str, expected: &'static str) -> SettingsError {
    SettingsError::Value {
        key,
        given: given.into(),
        expected,
    }
}

/// The largest side asked for: past 8K no camera delivers, and a typo like 12800 should say so.
const MAX_SIDE: u32 = 8192;

fn dimension(key: &'static str, value: &str) -> Result<u32, SettingsError> {
    value
        .trim()
        .parse()
        .ok()
        .filter(|side| (1..=MAX_SIDE).contains(side))
        .ok_or_else(|| invalid(key, value, "pixels, 1 to 8192"))
}

/// `1280x720` (or `1280×720`) into width and height.
pub fn parse_size(value: &str) -> Result<(u32, u32), SettingsError> {
    let bad = || invalid("size", value, "width x height, such as 1280x720");
    let (width, height) = value.trim().split_once(['x', 'X', '×']).ok_or_else(bad)?;
    Ok((
        dimension("size", width).map_err(|_| bad())?,
        dimension("size", height).map_err(|_| bad())?,
    ))
}

/// `yuyv,mjpeg` into formats in that order, each once.
pub fn parse_formats(value: &str) -> Result<Vec<PixelFormat>, SettingsError> {
    let expected = "pixel formats in order of preference, such as yuyv,mjpeg,grey";
    let mut formats = Vec::new();
    for name in value.split(',') {
        let format: PixelFormat = name
            .parse()
            .map_err(|_| invalid("formats", value, expected))?;
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    Ok(formats)
}

/// `3s`, `1500ms` or `2.5s`, between a tenth of a second and a minute.
pub fn parse_window(value: &str) -> Result<Duration, SettingsError> {
    let bad = || {
        invalid(
            "trigger_window",
            value,
            "a time such as 3s or 1500ms, 0.1s to 60s",
        )
    };
    let text = value.trim();
    let window = if let Some(ms) = text.strip_suffix("ms") {
        Duration::from_millis(ms.trim().parse().map_err(|_| bad())?)
    } else if let Some(s) = text.strip_suffix('s') {
        let seconds: f64 = s.trim().parse().map_err(|_| bad())?;
        Duration::try_from_secs_f64(seconds).map_err(|_| bad())?
    } else {
        return Err(bad());
    };
    if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&window) {
        return Err(bad());
    }
    Ok(window)
}

impl FromStr for CaptureMode {
    type Err = SettingsError;

    fn from_str(s: &str) -> Result<CaptureMode, SettingsError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "continuous" => Ok(CaptureMode::Continuous),
            "hold" => Ok(CaptureMode::Hold),
            "press" => Ok(CaptureMode::Press),
            _ => Err(invalid(
                "mode",
                s,
                "continuous (every frame), hold (while the trigger is held) or press (a window \
                 after each press)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_spec_names_the_device() {
        let cases = [
            ("camera:/dev/video0", Ok("/dev/video0")),
            (
                "camera:/dev/v4l/by-id/usb-cam-video-index0",
                Ok("/dev/v4l/by-id/usb-cam-video-index0"),
            ),
            ("camera:", Err(())),
            ("camera", Err(())),
            ("serial:/dev/ttyACM0", Err(())),
        ];
        for (spec, want) in cases {
            let got = CameraSettings::from_spec(spec);
            assert_eq!(
                got.as_ref()
                    .map(|s| s.device.to_string_lossy().into_owned())
                    .map_err(|_| ()),
                want.map(String::from),
                "{spec}"
            );
            if let Ok(settings) = got {
                assert_eq!(settings.width, CameraSettings::default().width);
            }
        }
        assert_eq!(
            CameraSettings::from_spec("camera").unwrap_err().to_string(),
            "a camera source is camera:<device>, such as camera:/dev/video0, not \"camera\""
        );
    }

    #[test]
    fn each_setting_reads_its_config_string() {
        let mut settings = CameraSettings::default();
        for (key, value) in [
            ("device", "/dev/video2"),
            ("size", "640x480"),
            ("fps", "30"),
            ("formats", "mjpeg, grey,mjpeg"),
            ("mode", "Press"),
            ("trigger_window", "1500ms"),
        ] {
            settings.set(key, value).unwrap();
        }
        assert_eq!(
            settings,
            CameraSettings {
                device: "/dev/video2".into(),
                width: 640,
                height: 480,
                fps: 30,
                formats: vec![PixelFormat::Mjpeg, PixelFormat::Grey],
                mode: CaptureMode::Press,
                trigger_window: Duration::from_millis(1500),
            }
        );
        settings.set("width", "1920").unwrap();
        settings.set("height", "1080").unwrap();
        settings.set("mode", "hold").unwrap();
        settings.set("trigger_window", "2.5s").unwrap();
        assert_eq!((settings.width, settings.height), (1920, 1080));
        assert_eq!(settings.mode, CaptureMode::Hold);
        assert_eq!(settings.trigger_window, Duration::from_millis(2500));
        assert_eq!(settings.trigger().mode(), CaptureMode::Hold);
    }

    #[test]
    fn a_wrong_value_names_the_setting_and_what_it_takes() {
        let cases: [(&str, &str, &str); 14] = [
            (
                "size",
                "1280",
                "camera size \"1280\": width x height, such as 1280x720",
            ),
            (
                "size",
                "0x720",
                "camera size \"0x720\": width x height, such as 1280x720",
            ),
            (
                "size",
                "99999x720",
                "camera size \"99999x720\": width x height, such as 1280x720",
            ),
            ("width", "-1", "camera width \"-1\": pixels, 1 to 8192"),
            ("height", "", "camera height \"\": pixels, 1 to 8192"),
            (
                "fps",
                "fast",
                "camera fps \"fast\": frames a second, 0 to 1000",
            ),
            (
                "fps",
                "5000",
                "camera fps \"5000\": frames a second, 0 to 1000",
            ),
            (
                "formats",
                "yuyv,h264",
                "camera formats \"yuyv,h264\": pixel formats in order of preference, such as \
                 yuyv,mjpeg,grey",
            ),
            (
                "formats",
                "",
                "camera formats \"\": pixel formats in order of preference, such as \
                 yuyv,mjpeg,grey",
            ),
            (
                "mode",
                "trigger",
                "camera mode \"trigger\": continuous (every frame), hold (while the trigger is \
                 held) or press (a window after each press)",
            ),
            (
                "trigger_window",
                "3",
                "camera trigger_window \"3\": a time such as 3s or 1500ms, 0.1s to 60s",
            ),
            (
                "trigger_window",
                "10ms",
                "camera trigger_window \"10ms\": a time such as 3s or 1500ms, 0.1s to 60s",
            ),
            (
                "trigger_window",
                "-1s",
                "camera trigger_window \"-1s\": a time such as 3s or 1500ms, 0.1s to 60s",
            ),
            (
                "device",
                " ",
                "camera device \" \": a path such as /dev/video0",
            ),
        ];
        for (key, value, message) in cases {
            let mut settings = CameraSettings::default();
            let error = settings.set(key, value).unwrap_err();
            assert_eq!(error.to_string(), message, "{key} = {value:?}");
            assert_eq!(settings, CameraSettings::default(), "{key} = {value:?}");
        }
        assert_eq!(
            CameraSettings::default()
                .set("resolution", "640x480")
                .unwrap_err()
                .to_string(),
            "unknown camera setting \"resolution\": device, size, width, height, fps, formats, \
             mode, trigger_window"
        );
    }
}
