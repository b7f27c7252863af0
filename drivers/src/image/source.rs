//! Where frames come from: the [`FrameSource`] trait a camera implements, and [`FileSource`],
//! images from disk for tests, demos and `tally decode`.
//!
//! The live camera ([`super::v4l2::V4l2Source`]) and recorded camera frames
//! ([`super::recorded::RecordedSource`]) are more `FrameSource`s; the decoders and the camera
//! loop only ever see this trait.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Instant;

use thiserror::Error;

use super::file::{ImageFileError, read_image_file};
use super::frame::LumaFrame;

/// Why a source gave no frame this time.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum SourceError {
    /// Nothing arrived before the deadline; ask again.
    #[error("no frame before the deadline")]
    NoFrameYet,
    /// One frame (one file) was unusable; the next call moves on.
    #[error("{name}: {error}")]
    BadFrame { name: String, error: ImageFileError },
    /// The device failed or went away; the loop reports it and keeps asking, and the source
    /// reopens the device when it can.
    #[error("camera: {detail}")]
    Device { detail: String },
}

/// A producer of grey frames.
pub trait FrameSource {
    /// The next frame, waiting no later than `deadline`. `Ok(None)` means the source has
    /// ended (every file read); a live camera never ends, it answers `NoFrameYet` instead.
    fn next_frame(&mut self, deadline: Instant) -> Result<Option<LumaFrame>, SourceError>;

    /// Takes the next frame and throws it away, as the camera loop does outside a trigger
    /// window; false when the source has ended. A camera overrides it to skip converting the
    /// frame (an MJPEG decode costs more than the rest of a frame's handling).
    fn skip_frame(&mut self, deadline: Instant) -> Result<bool, SourceError> {
        self.next_frame(deadline).map(|frame| frame.is_some())
    }
}

/// Frames from image files, in the order given; a directory stands for the files in it,
/// sorted by name (not recursively). Files are read when their turn comes, so the source
/// costs nothing up front and a bad file is one [`SourceError::BadFrame`] among good frames.
#[derive(Clone, Debug, Default)]
pub struct FileSource {
    pending: VecDeque<PathBuf>,
    current: Option<PathBuf>,
}

impl FileSource {
    pub fn new<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>) -> FileSource {
        FileSource {
            pending: paths.into_iter().map(Into::into).collect(),
            current: None,
        }
    }

    /// The file behind the frame or error the last call returned.
    pub fn current(&self) -> Option<&Path> {
        self.current.as_deref()
    }

    /// Replaces a directory at the front of the queue by its files.
    fn expand(&mut self, dir: PathBuf) -> Result<(), SourceError> {
        let entries = std::fs::read_dir(&dir).map_err(|e| SourceError::BadFrame {
            name: dir.display().to_string(),
            error: ImageFileError::Io {
                detail: e.to_string(),
            },
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .map(|entry| entry.path())
            .collect();
        files.sort();
        for file in files.into_iter().rev() {
            self.pending.push_front(file);
        }
        Ok(())
    }
}

impl FrameSource for FileSource {
    fn next_frame(&mut self, _deadline: Instant) -> Result<Option<LumaFrame>, SourceError> {
        loop {
            let Some(path) = self.pending.pop_front() else {
                self.current = None;
                return Ok(None);
            };
            if path.is_dir() {
                self.current = Some(path.clone());
                self.expand(path)?;
                continue;
            }
            let frame = read_image_file(&path)
                .map(Some)
                .map_err(|error| SourceError::BadFrame {
                    name: path.display().to_string(),
                    error,
                });
            self.current = Some(path);
            return frame;
        }
    }
}
