//! Camera frames recorded in the camera's own format and replayed as a [`FrameSource`], for
//! tests, demos and a support engineer's "what did the camera see".
//!
//! A recording is a directory with one file a frame, played in file-name order:
//!
//! - `<name>_<width>x<height>_<bytesperline>.yuyv`: the YUYV buffer as the driver filled it,
//!   row padding included (`_<bytesperline>` may be left out for unpadded rows);
//! - `<name>_<width>x<height>_<bytesperline>.grey`: the same for GREY;
//! - `<name>.jpg` (or `.jpeg`, `.mjpeg`): one MJPEG frame, a JPEG file as it came.
//!
//! [`record_frame`] names them `000042_640x480_1280.yuyv`. Other files in the directory are
//! not frames and are left out. Raw frames go through [`crate::image::pixel::to_luma`] like the
//! camera's, so a recording exercises the same conversion as the live camera.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::file::{ImageFileError, MAX_FILE_BYTES};
use super::frame::LumaFrame;
use super::pixel::{Layout, PixelFormat, to_luma};
use super::source::{FrameSource, SourceError};

/// How fast a recording plays.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pace {
    /// Each frame as soon as it is asked for: tests.
    AsFastAsAsked,
    /// As the camera delivered them, so many a second: demos.
    Fps(u32),
}

/// Frames from a recording directory.
#[derive(Clone, Debug)]
pub struct RecordedSource {
    frames: Vec<PathBuf>,
    next: usize,
    pace: Pace,
    looped: bool,
    started: Option<Instant>,
    played: u32,
}

impl RecordedSource {
    /// The frames of the recording in `dir`, played once as fast as asked.
    pub fn open(dir: &Path) -> io::Result<RecordedSource> {
        let mut frames: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .map(|entry| entry.path())
            .filter(|path| frame_kind(path).is_some())
            .collect();
        frames.sort();
        Ok(RecordedSource {
            frames,
            next: 0,
            pace: Pace::AsFastAsAsked,
            looped: false,
            started: None,
            played: 0,
        })
    }

    pub fn pace(mut self, pace: Pace) -> RecordedSource {
        self.pace = pace;
        self
    }

    /// Starts again after the last frame instead of ending, as a live camera never ends.
    pub fn looped(mut self, looped: bool) -> RecordedSource {
        self.looped = looped;
        self
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The next frame's file, once its time has come; `Ok(None)` when the recording ended.
    fn take(&mut self, deadline: Instant) -> Result<Option<PathBuf>, SourceError> {
        if self.next == self.frames.len() && self.looped && !self.frames.is_empty() {
            self.next = 0;
        }
        let Some(path) = self.frames.get(self.next).cloned() else {
            return Ok(None);
        };
        if let Pace::Fps(fps) = self.pace
            && fps > 0
        {
            let started = *self.started.get_or_insert_with(Instant::now);
            let due = started + Duration::from_secs(1) / fps * self.played;
            if due > deadline {
                sleep_until(deadline);
                return Err(SourceError::NoFrameYet);
            }
            sleep_until(due);
        }
        self.next += 1;
        self.played = self.played.saturating_add(1);
        Ok(Some(path))
    }
}

fn sleep_until(when: Instant) {
    let now = Instant::now();
    if when > now {
        std::thread::sleep(when - now);
    }
}

impl FrameSource for RecordedSource {
    fn next_frame(&mut self, deadline: Instant) -> Result<Option<LumaFrame>, SourceError> {
        let Some(path) = self.take(deadline)? else {
            return Ok(None);
        };
        read_frame(&path)
            .map(Some)
            .map_err(|error| SourceError::BadFrame {
                name: path.display().to_string(),
                error,
            })
    }

    fn skip_frame(&mut self, deadline: Instant) -> Result<bool, SourceError> {
        Ok(self.take(deadline)?.is_some())
    }
}

/// Reads one recorded frame file into a grey frame.
pub fn read_frame(path: &Path) -> Result<LumaFrame, ImageFileError> {
    let kind = frame_kind(path).ok_or_else(|| ImageFileError::UnsupportedFormat {
        format: path.extension().map_or_else(
            || "extensionless".into(),
            |e| e.to_string_lossy().into_owned(),
        ),
    })?;
    let io = |e: io::Error| ImageFileError::Io {
        detail: e.to_string(),
    };
    if std::fs::metadata(path).map_err(io)?.len() > MAX_FILE_BYTES {
        return Err(ImageFileError::FileTooLarge);
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let layout = match kind {
        PixelFormat::Mjpeg => Layout {
            format: PixelFormat::Mjpeg,
            width: 0,
            height: 0,
            bytes_per_line: 0,
        },
        packed => raw_layout(path, packed).ok_or_else(|| ImageFileError::Unreadable {
            detail: "a raw frame's name must end in _<width>x<height>[_<bytesperline>]".into(),
        })?,
    };
    Ok(to_luma(&layout, &bytes)?)
}

/// The format a file name says the frame is in.
fn frame_kind(path: &Path) -> Option<PixelFormat> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "yuyv" => Some(PixelFormat::Yuyv),
        "grey" => Some(PixelFormat::Grey),
        "jpg" | "jpeg" | "mjpeg" => Some(PixelFormat::Mjpeg),
        _ => None,
    }
}

/// Width, height and stride from `<name>_<W>x<H>[_<BPL>].<ext>`.
fn raw_layout(path: &Path, format: PixelFormat) -> Option<Layout> {
    let stem = path.file_stem()?.to_str()?;
    let mut parts = stem.rsplit('_');
    let last = parts.next()?;
    let (size, bytes_per_line) = match last.split_once('x') {
        Some(_) => (last, 0),
        None => (parts.next()?, last.parse().ok()?),
    };
    let (width, height) = size.split_once('x')?;
    Some(Layout {
        format,
        width: width.parse().ok()?,
        height: height.parse().ok()?,
        bytes_per_line,
    })
}

/// Writes one frame of a recording into `dir` as frame number `index`; returns its path.
/// `bytes` are the camera's buffer for `layout` (for MJPEG, the JPEG itself).
pub fn record_frame(dir: &Path, index: u64, layout: &Layout, bytes: &[u8]) -> io::Result<PathBuf> {
    let name = match layout.format {
        PixelFormat::Mjpeg => format!("{index:06}.jpg"),
        packed => format!(
            "{index:06}_{}x{}_{}.{}",
            layout.width,
            layout.height,
            layout.bytes_per_line,
            packed.name()
        ),
    };
    let path = dir.join(name);
    std::fs::write(&path, bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(format: PixelFormat, width: u32, height: u32, bytes_per_line: u32) -> Layout {
        Layout {
            format,
            width,
            height,
            bytes_per_line,
        }
    }

    #[test]
    fn file_names_carry_the_layout() {
        let cases = [
            (
                "000001_640x480_1280.yuyv",
                Some(layout(PixelFormat::Yuyv, 640, 480, 1280)),
            ),
            (
                "cam_a_640x480.yuyv",
                Some(layout(PixelFormat::Yuyv, 640, 480, 0)),
            ),
            (
                "7_320x240_384.grey",
                Some(layout(PixelFormat::Grey, 320, 240, 384)),
            ),
            ("000001_640.yuyv", None),
            ("000001_640xfoo_1280.yuyv", None),
            ("000001.yuyv", None),
        ];
        for (name, want) in cases {
            let path = Path::new(name);
            assert_eq!(
                frame_kind(path).and_then(|kind| raw_layout(path, kind)),
                want,
                "{name}"
            );
        }
        assert_eq!(
            frame_kind(Path::new("000001.jpg")),
            Some(PixelFormat::Mjpeg)
        );
        assert_eq!(frame_kind(Path::new("notes.txt")), None);
    }

    #[test]
    fn a_frame_whose_name_lies_about_its_size_is_a_bad_frame() {
        let dir = std::env::temp_dir().join(format!("tally-recorded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("000000_640x480_1280.yuyv"), vec![0u8; 1000]).unwrap();
        std::fs::write(dir.join("000001_4x2.grey"), [1u8, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        std::fs::write(dir.join("README"), b"not a frame").unwrap();
        let mut source = RecordedSource::open(&dir).unwrap();
        assert_eq!(source.len(), 2);
        let far = Instant::now() + Duration::from_secs(60);
        match source.next_frame(far) {
            Err(SourceError::BadFrame { name, error }) => {
                assert!(name.ends_with("000000_640x480_1280.yuyv"), "{name}");
                assert_eq!(
                    error,
                    ImageFileError::Unreadable {
                        detail: "a 640×480 yuyv frame needs 614400 bytes, the buffer has 1000"
                            .into()
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        let frame = source.next_frame(far).unwrap().unwrap();
        assert_eq!(frame.pixels(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(source.next_frame(far), Ok(None));

        // Skipping does not read the frame, so the bad one costs nothing; looped, the
        // recording starts again.
        let mut source = RecordedSource::open(&dir).unwrap().looped(true);
        assert_eq!(source.skip_frame(far), Ok(true));
        assert_eq!(source.skip_frame(far), Ok(true));
        assert!(matches!(
            source.next_frame(far),
            Err(SourceError::BadFrame { .. })
        ));
        assert_eq!(source.next_frame(far).unwrap().unwrap().pixels()[0], 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
