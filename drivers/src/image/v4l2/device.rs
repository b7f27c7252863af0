//! One open V4L2 capture node, streaming into a few memory-mapped buffers: every ioctl and
//! every `unsafe` of the camera source is here, behind a small safe API.
#![allow(unsafe_code)] // ioctls and mmap; each use says why it is sound

use std::fs::{File, OpenOptions};
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::time::Duration;

use nix::errno::Errno;
use nix::libc::{O_NONBLOCK, c_int, c_void, off_t};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};

use super::abi::{
    self, Buffer, Capability, CaptureParm, Format, Fract, PixFormat, RequestBuffers, StreamParm,
};
use crate::image::pixel::{Layout, PixelFormat, fourcc_text};

/// What was asked of the camera.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Request {
    pub width: u32,
    pub height: u32,
    /// 0 leaves the driver's frame rate alone.
    pub fps: u32,
    pub formats: Vec<PixelFormat>,
    pub buffers: u32,
}

/// What the driver chose, which may differ from what was asked: drivers pick the nearest
/// size and rate they support.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Negotiated {
    pub layout: Layout,
    /// The frame interval the driver settled on, if it lets one be set.
    pub frame_interval: Option<Duration>,
    /// Buffers the driver gave (it may give more or fewer than asked).
    pub buffers: u32,
}

/// Why the device could not be used or stopped working, naming the device.
pub type DeviceError = String;

fn failed(path: &Path, what: &str, errno: Errno) -> DeviceError {
    format!("{}: {what}: {}", path.display(), errno.desc())
}

fn unsuitable(path: &Path, detail: String) -> DeviceError {
    format!("{}: {detail}", path.display())
}

/// One driver buffer mapped into our memory.
struct Mapping {
    ptr: NonNull<c_void>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value alone; nothing about it is
// tied to the thread that made it, so the source may be built on one thread and run on the
// camera thread.
unsafe impl Send for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are exactly what mmap returned, unmapped only here, and no
        // slice of it outlives `&self` (see `Device::dequeue`).
        let _ = unsafe { munmap(self.ptr, self.len) };
    }
}

/// A streaming capture node. Dropping it stops the stream, unmaps the buffers and closes the
/// node, in that order (fields drop in declaration order after `drop`).
pub struct Device {
    buffers: Vec<Mapping>,
    file: File,
    path: PathBuf,
    negotiated: Negotiated,
    streaming: bool,
}

/// A frame as it lies in a driver buffer, lent until it is given back.
pub struct Dequeued<'a> {
    pub bytes: &'a [u8],
    /// The driver flagged the frame as damaged.
    pub damaged: bool,
}

impl Device {
    /// Opens `path`, checks it is a streaming capture node, negotiates format, size and rate,
    /// maps the buffers and starts streaming.
    pub fn open(path: &Path, request: &Request) -> Result<Device, DeviceError> {
        // Non-blocking so DQBUF answers EAGAIN instead of hanging; poll does the waiting.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(O_NONBLOCK)
            .open(path)
            .map_err(|e| open_error(path, &e))?;
        let fd = file.as_raw_fd();
        query_caps(path, fd)?;
        let layout = set_format(path, fd, request)?;
        let frame_interval = set_rate(path, fd, request.fps)?;
        let mut device = Device {
            buffers: Vec::new(),
            file,
            path: path.to_path_buf(),
            negotiated: Negotiated {
                layout,
                frame_interval,
                buffers: 0,
            },
            streaming: false,
        };
        device.map_buffers(request.buffers)?;
        device.start()?;
        Ok(device)
    }

    pub fn negotiated(&self) -> Negotiated {
        self.negotiated
    }

    /// Waits up to `wait` for a frame; false when none came.
    pub fn wait(&self, wait: Duration) -> Result<bool, DeviceError> {
        let millis = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(0) | Err(Errno::EINTR) => return Ok(false),
            Ok(_) => {}
            Err(e) => return Err(failed(&self.path, "waiting for a frame", e)),
        }
        let revents = fds[0].revents().unwrap_or(PollFlags::empty());
        // Every buffer is queued again after use, so POLLERR is the driver failing, not
        // an empty queue.
        if revents.intersects(PollFlags::POLLERR | PollFlags::POLLHUP) {
            return Err(format!("{}: the camera went away", self.path.display()));
        }
        Ok(revents.contains(PollFlags::POLLIN))
    }

    /// Takes the next filled buffer, lends its bytes to `use_frame`, and queues it again
    /// whatever `use_frame` returns. `Ok(None)`: no frame was ready.
    pub fn dequeue<T>(
        &mut self,
        use_frame: impl FnOnce(Dequeued<'_>) -> T,
    ) -> Result<Option<T>, DeviceError> {
        let fd = self.file.as_raw_fd();
        let mut buffer = Buffer::mmap_capture(0);
        // SAFETY: `buffer` is a valid, exclusively borrowed v4l2_buffer of the kernel's
        // layout (see abi's tests), alive for the call.
        match unsafe { abi::vidioc_dqbuf(fd, &mut buffer) } {
            Ok(_) => {}
            Err(Errno::EAGAIN | Errno::EINTR) => return Ok(None),
            Err(e) => return Err(failed(&self.path, "taking a frame (VIDIOC_DQBUF)", e)),
        }
        let Some(mapping) = self.buffers.get(buffer.index as usize) else {
            return Err(unsuitable(
                &self.path,
                format!(
                    "the driver returned buffer {} of {}",
                    buffer.index,
                    self.buffers.len()
                ),
            ));
        };
        let used = (buffer.bytesused as usize).min(mapping.len);
        // SAFETY: the mapping is `mapping.len` readable bytes for as long as `self` lives;
        // the buffer is dequeued, so the driver does not write it until it is queued again
        // below, after the slice's last use inside `use_frame`.
        let bytes = unsafe { std::slice::from_raw_parts(mapping.ptr.as_ptr().cast::<u8>(), used) };
        let out = use_frame(Dequeued {
            bytes,
            damaged: buffer.flags & abi::V4L2_BUF_FLAG_ERROR != 0,
        });
        self.queue(buffer.index)?;
        Ok(Some(out))
    }

    fn queue(&mut self, index: u32) -> Result<(), DeviceError> {
        let mut buffer = Buffer::mmap_capture(index);
        // SAFETY: as for DQBUF: a valid v4l2_buffer borrowed for the call.
        unsafe { abi::vidioc_qbuf(self.file.as_raw_fd(), &mut buffer) }
            .map_err(|e| failed(&self.path, "queueing a buffer (VIDIOC_QBUF)", e))?;
        Ok(())
    }

    fn map_buffers(&mut self, count: u32) -> Result<(), DeviceError> {
        let fd = self.file.as_raw_fd();
        let mut request = RequestBuffers {
            count: count.max(2),
            type_: abi::V4L2_BUF_TYPE_VIDEO_CAPTURE,
            memory: abi::V4L2_MEMORY_MMAP,
            ..RequestBuffers::default()
        };
        // SAFETY: a valid v4l2_requestbuffers borrowed for the call.
        unsafe { abi::vidioc_reqbufs(fd, &mut request) }
            .map_err(|e| failed(&self.path, "asking for buffers (VIDIOC_REQBUFS)", e))?;
        if request.count == 0 {
            return Err(unsuitable(
                &self.path,
                "the driver gave no memory-mapped buffers".into(),
            ));
        }
        for index in 0..request.count {
            let mut buffer = Buffer::mmap_capture(index);
            // SAFETY: a valid v4l2_buffer borrowed for the call.
            unsafe { abi::vidioc_querybuf(fd, &mut buffer) }
                .map_err(|e| failed(&self.path, "asking where a buffer is (VIDIOC_QUERYBUF)", e))?;
            let Some(len) = NonZeroUsize::new(buffer.length as usize) else {
                return Err(unsuitable(&self.path, format!("buffer {index} is empty")));
            };
            // Infallible where off_t is 64 bits, not on 32-bit ARM.
            #[allow(clippy::unnecessary_fallible_conversions)]
            let offset = off_t::try_from(buffer.offset()).map_err(|_| {
                unsuitable(
                    &self.path,
                    format!("buffer {index} lies beyond what mmap reaches"),
                )
            })?;
            // SAFETY: a fresh shared mapping at an address the kernel picks, of the length and
            // offset the driver gave for this buffer; nothing else refers to that memory.
            let ptr = unsafe {
                mmap(
                    None,
                    len,
                    ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                    MapFlags::MAP_SHARED,
                    &self.file,
                    offset,
                )
            }
            .map_err(|e| failed(&self.path, "mapping a buffer", e))?;
            self.buffers.push(Mapping {
                ptr,
                len: len.get(),
            });
        }
        self.negotiated.buffers = request.count;
        Ok(())
    }

    fn start(&mut self) -> Result<(), DeviceError> {
        for index in 0..self.buffers.len() as u32 {
            self.queue(index)?;
        }
        let kind: c_int = abi::V4L2_BUF_TYPE_VIDEO_CAPTURE as c_int;
        // SAFETY: STREAMON reads one int, which lives for the call.
        unsafe { abi::vidioc_streamon(self.file.as_raw_fd(), &kind) }
            .map_err(|e| failed(&self.path, "starting the stream (VIDIOC_STREAMON)", e))?;
        self.streaming = true;
        Ok(())
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if self.streaming {
            let kind: c_int = abi::V4L2_BUF_TYPE_VIDEO_CAPTURE as c_int;
            // SAFETY: STREAMOFF reads one int, which lives for the call. A camera already
            // gone fails here, and there is nothing left to stop.
            let _ = unsafe { abi::vidioc_streamoff(self.file.as_raw_fd(), &kind) };
        }
    }
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("path", &self.path)
            .field("negotiated", &self.negotiated)
            .finish_non_exhaustive()
    }
}

fn open_error(path: &Path, e: &std::io::Error) -> DeviceError {
    let detail = match e.kind() {
        std::io::ErrorKind::NotFound => "no such device (is the camera plugged in?)".to_string(),
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (is the terminal's user in the video group?)".to_string()
        }
        _ => format!("cannot open: {e}"),
    };
    format!("{}: {detail}", path.display())
}

fn query_caps(path: &Path, fd: c_int) -> Result<Capability, DeviceError> {
    let mut caps = Capability::zeroed();
    // SAFETY: a valid v4l2_capability borrowed for the call.
    match unsafe { abi::vidioc_querycap(fd, &mut caps) } {
        Ok(_) => {}
        Err(Errno::ENOTTY | Errno::EINVAL) => {
            return Err(unsuitable(path, "not a V4L2 video device".into()));
        }
        Err(e) => {
            return Err(failed(
                path,
                "asking what the device is (VIDIOC_QUERYCAP)",
                e,
            ));
        }
    }
    let node = caps.node_caps();
    if node & abi::V4L2_CAP_VIDEO_CAPTURE == 0 {
        return Err(unsuitable(
            path,
            format!(
                "{} is not a video capture node (a camera's second node carries metadata: try \
                 the other /dev/video*)",
                caps.card()
            ),
        ));
    }
    if node & abi::V4L2_CAP_STREAMING == 0 {
        return Err(unsuitable(
            path,
            format!("{} cannot stream into memory-mapped buffers", caps.card()),
        ));
    }
    Ok(caps)
}

/// Asks for each preferred format in turn at the requested size and keeps the first the driver
/// takes as is; a driver answers S_FMT with what it can do instead of failing.
fn set_format(path: &Path, fd: c_int, request: &Request) -> Result<Layout, DeviceError> {
    let mut offered = Vec::new();
    for &format in &request.formats {
        let mut raw = Format::capture(PixFormat {
            width: request.width,
            height: request.height,
            pixelformat: format.fourcc(),
            field: abi::V4L2_FIELD_NONE,
            ..PixFormat::default()
        });
        // SAFETY: a valid v4l2_format borrowed for the call.
        match unsafe { abi::vidioc_s_fmt(fd, &mut raw) } {
            Ok(_) => {}
            Err(Errno::EINVAL) => continue,
            Err(Errno::EBUSY) => {
                return Err(unsuitable(
                    path,
                    "the camera is in use by another program".into(),
                ));
            }
            Err(e) => return Err(failed(path, "setting the format (VIDIOC_S_FMT)", e)),
        }
        let pix = raw.pix();
        if pix.pixelformat == format.fourcc() {
            return Ok(Layout {
                format,
                width: pix.width,
                height: pix.height,
                bytes_per_line: pix.bytesperline,
            });
        }
        offered.push(fourcc_text(pix.pixelformat));
    }
    let asked: Vec<&str> = request.formats.iter().map(|f| f.name()).collect();
    offered.dedup();
    Err(unsuitable(
        path,
        format!(
            "the camera offers none of {} (it answered {})",
            asked.join(", "),
            if offered.is_empty() {
                "no format".to_string()
            } else {
                offered.join(", ")
            }
        ),
    ))
}

/// Sets the frame interval to 1/fps where the driver lets it; returns what it settled on.
fn set_rate(path: &Path, fd: c_int, fps: u32) -> Result<Option<Duration>, DeviceError> {
    let mut parm = StreamParm::capture(CaptureParm::default());
    // SAFETY: a valid v4l2_streamparm borrowed for the call.
    if unsafe { abi::vidioc_g_parm(fd, &mut parm) }.is_err() {
        // Some drivers have no frame rate to speak of.
        return Ok(None);
    }
    let mut capture = parm.capture_parm();
    if capture.capability & abi::V4L2_CAP_TIMEPERFRAME == 0 {
        return Ok(None);
    }
    if fps > 0 {
        capture.timeperframe = Fract {
            numerator: 1,
            denominator: fps,
        };
        let mut parm = StreamParm::capture(capture);
        // SAFETY: a valid v4l2_streamparm borrowed for the call.
        unsafe { abi::vidioc_s_parm(fd, &mut parm) }
            .map_err(|e| failed(path, "setting the frame rate (VIDIOC_S_PARM)", e))?;
        capture = parm.capture_parm();
    }
    let Fract {
        numerator,
        denominator,
    } = capture.timeperframe;
    Ok((denominator > 0)
        .then(|| Duration::from_secs_f64(f64::from(numerator) / f64::from(denominator))))
}
