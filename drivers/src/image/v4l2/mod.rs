//! A live camera as a [`FrameSource`]: a V4L2 capture node (`/dev/video0`) streaming YUYV,
//! MJPEG or GREY into memory-mapped buffers, each frame turned grey by [`crate::image::pixel`].
//!
//! The device is opened on first use and again after it fails, because USB cameras get
//! unplugged: a failure is one [`SourceError::Device`] naming the node, and the next call tries
//! to open it afresh (the camera loop waits its `retry_after` in between).
//!
//! How the terminal runs it, with a trigger key:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::sync::atomic::AtomicBool;
//! use std::sync::mpsc::channel;
//!
//! use tally_drivers::image::{
//!     CameraConfig, CameraSettings, DecodeOptions, FrameDecoder, V4l2Source, camera,
//! };
//!
//! let mut settings = CameraSettings::from_spec("camera:/dev/video0")?;
//! settings.set("size", "1280x720")?;
//! settings.set("mode", "press")?;
//! let trigger = settings.trigger();
//! // Fails now, naming the device, if it is missing or not a camera; `V4l2Source::new`
//! // would wait for it instead.
//! let mut source = V4l2Source::open(&settings)?;
//! eprintln!("camera: {:?}", source.negotiated());
//! let (events, scans) = channel();
//! let stop = Arc::new(AtomicBool::new(false));
//! let key = trigger.clone();
//! let camera_stop = Arc::clone(&stop);
//! std::thread::spawn(move || {
//!     let mut decoder = FrameDecoder::new(DecodeOptions::default());
//!     let config = CameraConfig::default();
//!     camera::run(&mut source, &mut decoder, &config, &trigger, &events, &camera_stop);
//! });
//! // The trigger key's down and up (from the keyboard wedge, say):
//! key.press();
//! key.release();
//! let scan = scans.recv()?; // a ScanEvent, as every scanner sends
//! # drop(scan);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod abi;
mod device;

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::file::ImageFileError;
use super::frame::LumaFrame;
use super::pixel::to_luma;
use super::recorded::record_frame;
use super::settings::CameraSettings;
use super::source::{FrameSource, SourceError};
use device::{Device, Request};

pub use device::Negotiated;

/// Buffers asked of the driver: one being converted, one filling, and slack so a slow decode
/// drops old frames rather than stalling the driver.
const BUFFERS: u32 = 4;

// The integrator opens the camera on one thread (to fail early) and runs the loop on another.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<V4l2Source>();
};

/// Frames from a V4L2 camera.
#[derive(Debug)]
pub struct V4l2Source {
    path: PathBuf,
    request: Request,
    device: Option<Device>,
    recording: Option<Recording>,
}

/// Where raw frames are being written, and the next frame's number.
#[derive(Debug)]
struct Recording {
    dir: PathBuf,
    next: u64,
}

impl V4l2Source {
    /// A source for the camera in `settings`, opened on the first frame asked for: the
    /// terminal may start before the camera is plugged in.
    pub fn new(settings: &CameraSettings) -> V4l2Source {
        V4l2Source {
            path: settings.device.clone(),
            request: Request {
                width: settings.width,
                height: settings.height,
                fps: settings.fps,
                formats: settings.formats.clone(),
                buffers: BUFFERS,
            },
            device: None,
            recording: None,
        }
    }

    /// Also writes every frame taken, raw as the camera gave it, into `dir` as a recording
    /// ([`crate::image::recorded`]) that a [`crate::image::RecordedSource`] replays: what the
    /// camera saw on the terminal, for a test or a support case. `None` stops recording.
    pub fn record_into(&mut self, dir: Option<PathBuf>) {
        self.recording = dir.map(|dir| Recording { dir, next: 0 });
    }

    /// The same, opened now: for a command that should fail at once, with a reason naming the
    /// device, when it is missing, not a camera, busy, or offers none of the formats.
    pub fn open(settings: &CameraSettings) -> Result<V4l2Source, SourceError> {
        let mut source = V4l2Source::new(settings);
        source.device()?;
        Ok(source)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The format, size, frame interval and buffers the driver chose, while the device is open.
    pub fn negotiated(&self) -> Option<Negotiated> {
        self.device.as_ref().map(Device::negotiated)
    }

    fn device(&mut self) -> Result<&mut Device, SourceError> {
        if self.device.is_none() {
            let device = Device::open(&self.path, &self.request)
                .map_err(|detail| SourceError::Device { detail })?;
            self.device = Some(device);
        }
        self.device.as_mut().ok_or_else(|| SourceError::Device {
            detail: format!("{}: not open", self.path.display()),
        })
    }

    /// The next frame, converted when `convert`; a failed device is closed so the next call
    /// opens it again.
    fn take(&mut self, deadline: Instant, convert: bool) -> Result<Option<LumaFrame>, SourceError> {
        let name = self.path.display().to_string();
        let mut recording = self.recording.take();
        let taken = self.take_recording(deadline, convert, &name, recording.as_mut());
        self.recording = recording;
        taken
    }

    fn take_recording(
        &mut self,
        deadline: Instant,
        convert: bool,
        name: &str,
        recording: Option<&mut Recording>,
    ) -> Result<Option<LumaFrame>, SourceError> {
        let device = self.device()?;
        let layout = device.negotiated().layout;
        let wait = deadline.saturating_duration_since(Instant::now());
        let taken = match device.wait(wait) {
            Ok(true) => device.dequeue(|frame| {
                if frame.damaged {
                    return Err(SourceError::BadFrame {
                        name: name.to_string(),
                        error: ImageFileError::Unreadable {
                            detail: "the driver flagged the frame as damaged".into(),
                        },
                    });
                }
                if let Some(recording) = recording {
                    let written =
                        record_frame(&recording.dir, recording.next, &layout, frame.bytes);
                    recording.next += 1;
                    if let Err(e) = written {
                        return Err(SourceError::BadFrame {
                            name: recording.dir.display().to_string(),
                            error: ImageFileError::Io {
                                detail: format!("recording the frame: {e}"),
                            },
                        });
                    }
                }
                if !convert {
                    return Ok(None);
                }
                to_luma(&layout, frame.bytes)
                    .map(Some)
                    .map_err(|e| SourceError::BadFrame {
                        name: name.to_string(),
                        error: e.into(),
                    })
            }),
            Ok(false) => return Err(SourceError::NoFrameYet),
            Err(detail) => Err(detail),
        };
        match taken {
            Ok(Some(frame)) => frame,
            Ok(None) => Err(SourceError::NoFrameYet),
            Err(detail) => {
                self.device = None;
                Err(SourceError::Device { detail })
            }
        }
    }
}

impl FrameSource for V4l2Source {
    fn next_frame(&mut self, deadline: Instant) -> Result<Option<LumaFrame>, SourceError> {
        match self.take(deadline, true)? {
            Some(frame) => Ok(Some(frame)),
            // A live camera never ends.
            None => Err(SourceError::NoFrameYet),
        }
    }

    /// Dequeues and gives back the buffer without converting it: outside a trigger window the
    /// loop still drains the camera, so the first frame after a press is a fresh one.
    fn skip_frame(&mut self, deadline: Instant) -> Result<bool, SourceError> {
        self.take(deadline, false).map(|_| true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(device: &str) -> CameraSettings {
        CameraSettings {
            device: device.into(),
            ..CameraSettings::default()
        }
    }

    #[test]
    fn a_missing_device_is_named_and_tried_again_later() {
        let path = std::env::temp_dir().join(format!("tally-no-video-{}", std::process::id()));
        let error = V4l2Source::open(&settings(&path.to_string_lossy())).unwrap_err();
        let SourceError::Device { detail } = error else {
            panic!("{error:?}");
        };
        assert!(detail.contains(&*path.to_string_lossy()), "{detail}");
        assert!(detail.contains("no such device"), "{detail}");
        // The lazy source reports the same on every call, and would open a camera that came.
        let mut source = V4l2Source::new(&settings(&path.to_string_lossy()));
        for _ in 0..2 {
            assert!(matches!(
                source.next_frame(Instant::now()),
                Err(SourceError::Device { .. })
            ));
        }
        assert!(source.negotiated().is_none());
    }

    #[test]
    fn a_file_that_is_not_a_camera_says_so() {
        // /dev/null takes no V4L2 ioctl (ENOTTY); a regular file neither.
        let file = std::env::temp_dir().join(format!("tally-not-video-{}", std::process::id()));
        std::fs::write(&file, b"not a camera").unwrap();
        for path in [Path::new("/dev/null"), file.as_path()] {
            let error = V4l2Source::open(&settings(&path.to_string_lossy())).unwrap_err();
            assert_eq!(
                error,
                SourceError::Device {
                    detail: format!("{}: not a V4L2 video device", path.display())
                }
            );
        }
        std::fs::remove_file(&file).unwrap();
    }
}
