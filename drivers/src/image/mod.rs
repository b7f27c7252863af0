//! Camera and image-file scanning: grey frames in, Data Matrix and QR payloads out, each frame
//! under a deadline.
//!
//! - [`frame`]: [`LumaFrame`], the grey picture every decoder takes.
//! - [`file`]: PNG and JPEG files into frames, with a reason for anything else.
//! - [`pixel`]: a camera's YUYV, MJPEG and GREY buffers into frames.
//! - [`decode`]: one symbol from one frame (rxing for Data Matrix, rqrr for QR), bytes exact.
//! - [`deadline`]: [`FrameDecoder`], the same on a worker thread it abandons when it overruns.
//! - [`source`]: the [`FrameSource`] trait every source implements, and [`FileSource`].
//! - [`v4l2`]: [`V4l2Source`], a live V4L2 camera (`camera:/dev/video0`).
//! - [`recorded`]: [`RecordedSource`], camera frames recorded in the camera's format, replayed.
//! - [`settings`]: [`CameraSettings`], the camera's device, size, rate, formats and trigger
//!   mode from config strings.
//! - [`camera`]: the loop from a source to [`crate::scan::ScanEvent`]s, one per code in view,
//!   continuous or gated by a [`Trigger`].
//! - [`synthetic`]: codes drawn as a camera sees them, for tests and benchmarks.

pub mod camera;
pub mod deadline;
pub mod decode;
pub mod file;
pub mod frame;
pub mod pixel;
pub mod recorded;
pub mod settings;
pub mod source;
pub mod synthetic;
pub mod v4l2;

pub use camera::{CameraConfig, CaptureMode, RepeatFilter, Trigger};
pub use deadline::{DecodeFailure, DecodeOptions, FrameDecoder};
pub use decode::{Decoded, LookFor, Pass, RxingReader, StandardReader, SymbolReader};
pub use file::{ImageFileError, read_image, read_image_file};
pub use frame::{FrameError, LumaFrame};
pub use pixel::{ConvertError, Layout, PixelFormat};
pub use recorded::{Pace, RecordedSource, record_frame};
pub use settings::{CameraSettings, SettingsError};
pub use source::{FileSource, FrameSource, SourceError};
pub use v4l2::{Negotiated, V4l2Source};
