//! The few V4L2 structs and ioctls a streaming capture needs, laid out by hand after
//! `linux/videodev2.h` (no bindgen, so no libclang in the cross build).
//!
//! Each struct is `#[repr(C)]` with the kernel's field order, its unions as Rust unions, so
//! the compiler gives the same padding as C on every Linux target; the tests pin the sizes and
//! offsets and the ioctl numbers to what the kernel headers give on x86_64 and aarch64 (the
//! same there: both LP64 with a 16-byte `struct timeval`). The ioctl numbers are built by
//! nix from `size_of` these structs, so a wrong layout shows as a wrong number too.
#![allow(unsafe_code)] // the ioctl wrappers nix generates are unsafe fns

use nix::libc::{c_int, c_ulong, c_void, timeval};

pub const V4L2_BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
pub const V4L2_MEMORY_MMAP: u32 = 1;
pub const V4L2_FIELD_NONE: u32 = 1;

pub const V4L2_CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
pub const V4L2_CAP_STREAMING: u32 = 0x0400_0000;
pub const V4L2_CAP_DEVICE_CAPS: u32 = 0x8000_0000;
/// In `v4l2_captureparm.capability`: the driver takes a frame interval.
pub const V4L2_CAP_TIMEPERFRAME: u32 = 0x1000;

/// The driver marks a frame it knows is damaged (a dropped USB packet) but still hands over.
pub const V4L2_BUF_FLAG_ERROR: u32 = 0x0040;

/// `struct v4l2_capability` (VIDIOC_QUERYCAP).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Capability {
    pub driver: [u8; 16],
    pub card: [u8; 32],
    pub bus_info: [u8; 32],
    pub version: u32,
    pub capabilities: u32,
    pub device_caps: u32,
    pub reserved: [u32; 3],
}

impl Capability {
    pub fn zeroed() -> Capability {
        Capability {
            driver: [0; 16],
            card: [0; 32],
            bus_info: [0; 32],
            version: 0,
            capabilities: 0,
            device_caps: 0,
            reserved: [0; 3],
        }
    }

    /// What this node can do: `device_caps` when the driver fills it (a camera has a capture
    /// node and a metadata node, and `capabilities` is the union of both).
    pub fn node_caps(&self) -> u32 {
        if self.capabilities & V4L2_CAP_DEVICE_CAPS != 0 {
            self.device_caps
        } else {
            self.capabilities
        }
    }

    /// The card name, for messages.
    pub fn card(&self) -> String {
        let end = self
            .card
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.card.len());
        String::from_utf8_lossy(&self.card[..end]).into_owned()
    }
}

/// `struct v4l2_pix_format`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PixFormat {
    pub width: u32,
    pub height: u32,
    pub pixelformat: u32,
    pub field: u32,
    pub bytesperline: u32,
    pub sizeimage: u32,
    pub colorspace: u32,
    pub priv_: u32,
    pub flags: u32,
    /// A union of `ycbcr_enc` and `hsv_enc`, both `__u32`.
    pub ycbcr_enc: u32,
    pub quantization: u32,
    pub xfer_func: u32,
}

/// The `fmt` union of `struct v4l2_format`. Its other members include `struct v4l2_window`,
/// which holds pointers: hence the pointer-aligned member, which puts the union at offset 8 on
/// 64-bit targets as in C.
#[repr(C)]
#[derive(Clone, Copy)]
pub union FormatUnion {
    pub pix: PixFormat,
    pub raw_data: [u8; 200],
    pub align: [*mut c_void; 0],
}

/// `struct v4l2_format` (VIDIOC_S_FMT).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Format {
    pub type_: u32,
    pub fmt: FormatUnion,
}

impl Format {
    pub fn capture(pix: PixFormat) -> Format {
        let mut raw = Format {
            type_: V4L2_BUF_TYPE_VIDEO_CAPTURE,
            fmt: FormatUnion { raw_data: [0; 200] },
        };
        raw.fmt.pix = pix;
        raw
    }

    pub fn pix(&self) -> PixFormat {
        // SAFETY: every bit pattern is a valid PixFormat (plain u32s), and the union was
        // initialised whole through `raw_data` before `pix` was written over its start.
        unsafe { self.fmt.pix }
    }
}

/// `struct v4l2_fract`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fract {
    pub numerator: u32,
    pub denominator: u32,
}

/// `struct v4l2_captureparm`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CaptureParm {
    pub capability: u32,
    pub capturemode: u32,
    pub timeperframe: Fract,
    pub extendedmode: u32,
    pub readbuffers: u32,
    pub reserved: [u32; 4],
}

/// The `parm` union of `struct v4l2_streamparm` (all its members are 4-byte aligned).
#[repr(C)]
#[derive(Clone, Copy)]
pub union StreamParmUnion {
    pub capture: CaptureParm,
    pub raw_data: [u8; 200],
}

/// `struct v4l2_streamparm` (VIDIOC_S_PARM).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct StreamParm {
    pub type_: u32,
    pub parm: StreamParmUnion,
}

impl StreamParm {
    pub fn capture(capture: CaptureParm) -> StreamParm {
        let mut raw = StreamParm {
            type_: V4L2_BUF_TYPE_VIDEO_CAPTURE,
            parm: StreamParmUnion { raw_data: [0; 200] },
        };
        raw.parm.capture = capture;
        raw
    }

    pub fn capture_parm(&self) -> CaptureParm {
        // SAFETY: as for `Format::pix`: plain integers over a union initialised whole.
        unsafe { self.parm.capture }
    }
}

/// `struct v4l2_requestbuffers` (VIDIOC_REQBUFS).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestBuffers {
    pub count: u32,
    pub type_: u32,
    pub memory: u32,
    pub capabilities: u32,
    pub flags: u8,
    pub reserved: [u8; 3],
}

/// `struct v4l2_timecode`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Timecode {
    pub type_: u32,
    pub flags: u32,
    pub frames: u8,
    pub seconds: u8,
    pub minutes: u8,
    pub hours: u8,
    pub userbits: [u8; 4],
}

/// The `m` union of `struct v4l2_buffer`: an `unsigned long` and a pointer make it 8 bytes
/// on 64-bit targets.
#[repr(C)]
#[derive(Clone, Copy)]
pub union BufferM {
    pub offset: u32,
    pub userptr: c_ulong,
    pub planes: *mut c_void,
    pub fd: i32,
}

/// `struct v4l2_buffer` (VIDIOC_QUERYBUF, QBUF, DQBUF). The `struct timeval` is what makes
/// its size depend on the target: 88 bytes on 64-bit Linux.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Buffer {
    pub index: u32,
    pub type_: u32,
    pub bytesused: u32,
    pub flags: u32,
    pub field: u32,
    pub timestamp: timeval,
    pub timecode: Timecode,
    pub sequence: u32,
    pub memory: u32,
    pub m: BufferM,
    pub length: u32,
    pub reserved2: u32,
    /// A union of `__u32 reserved` and `__s32 request_fd`.
    pub request_fd: i32,
}

impl Buffer {
    /// A memory-mapped capture buffer, by index (0 for DQBUF, which fills it in).
    pub fn mmap_capture(index: u32) -> Buffer {
        Buffer {
            index,
            type_: V4L2_BUF_TYPE_VIDEO_CAPTURE,
            bytesused: 0,
            flags: 0,
            field: 0,
            timestamp: timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            timecode: Timecode::default(),
            sequence: 0,
            memory: V4L2_MEMORY_MMAP,
            // `userptr` is the widest member: it zeroes the whole union.
            m: BufferM { userptr: 0 },
            length: 0,
            reserved2: 0,
            request_fd: 0,
        }
    }

    /// Where to mmap this buffer, as QUERYBUF said.
    pub fn offset(&self) -> u32 {
        // SAFETY: for V4L2_MEMORY_MMAP the kernel fills `offset`; it is a plain u32 in
        // a union that was initialised whole.
        unsafe { self.m.offset }
    }
}

nix::ioctl_read!(vidioc_querycap, b'V', 0, Capability);
nix::ioctl_readwrite!(vidioc_s_fmt, b'V', 5, Format);
nix::ioctl_readwrite!(vidioc_reqbufs, b'V', 8, RequestBuffers);
nix::ioctl_readwrite!(vidioc_querybuf, b'V', 9, Buffer);
nix::ioctl_readwrite!(vidioc_qbuf, b'V', 15, Buffer);
nix::ioctl_readwrite!(vidioc_dqbuf, b'V', 17, Buffer);
nix::ioctl_write_ptr!(vidioc_streamon, b'V', 18, c_int);
nix::ioctl_write_ptr!(vidioc_streamoff, b'V', 19, c_int);
nix::ioctl_readwrite!(vidioc_g_parm, b'V', 21, StreamParm);
nix::ioctl_readwrite!(vidioc_s_parm, b'V', 22, StreamParm);

#[cfg(test)]
mod tests {
    use std::mem::{offset_of, size_of};

    use super::*;

    // Sizes, offsets and ioctl numbers as a C program including linux/videodev2.h printed
    // them, built by gcc for x86_64 and by aarch64-linux-gnu-gcc (Debian 12's kernel headers):
    // the two agree on every number below.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn layouts_match_the_kernel_headers_on_64_bit_linux() {
        assert_eq!(size_of::<Capability>(), 104);
        assert_eq!(size_of::<PixFormat>(), 48);
        assert_eq!(size_of::<Format>(), 208);
        assert_eq!(offset_of!(Format, fmt), 8);
        assert_eq!(size_of::<CaptureParm>(), 40);
        assert_eq!(size_of::<StreamParm>(), 204);
        assert_eq!(size_of::<RequestBuffers>(), 20);
        assert_eq!(size_of::<Buffer>(), 88);
        assert_eq!(offset_of!(Buffer, timestamp), 24);
        assert_eq!(offset_of!(Buffer, sequence), 56);
        assert_eq!(offset_of!(Buffer, m), 64);
        assert_eq!(offset_of!(Buffer, length), 72);
        assert_eq!(offset_of!(Buffer, request_fd), 80);
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn ioctl_numbers_match_the_kernel_headers_on_64_bit_linux() {
        let numbers = [
            (
                "VIDIOC_QUERYCAP",
                nix::request_code_read!(b'V', 0, size_of::<Capability>()),
                0x8068_5600,
            ),
            (
                "VIDIOC_S_FMT",
                nix::request_code_readwrite!(b'V', 5, size_of::<Format>()),
                0xc0d0_5605,
            ),
            (
                "VIDIOC_REQBUFS",
                nix::request_code_readwrite!(b'V', 8, size_of::<RequestBuffers>()),
                0xc014_5608,
            ),
            (
                "VIDIOC_QUERYBUF",
                nix::request_code_readwrite!(b'V', 9, size_of::<Buffer>()),
                0xc058_5609,
            ),
            (
                "VIDIOC_QBUF",
                nix::request_code_readwrite!(b'V', 15, size_of::<Buffer>()),
                0xc058_560f,
            ),
            (
                "VIDIOC_DQBUF",
                nix::request_code_readwrite!(b'V', 17, size_of::<Buffer>()),
                0xc058_5611,
            ),
            (
                "VIDIOC_STREAMON",
                nix::request_code_write!(b'V', 18, size_of::<c_int>()),
                0x4004_5612,
            ),
            (
                "VIDIOC_STREAMOFF",
                nix::request_code_write!(b'V', 19, size_of::<c_int>()),
                0x4004_5613,
            ),
            (
                "VIDIOC_G_PARM",
                nix::request_code_readwrite!(b'V', 21, size_of::<StreamParm>()),
                0xc0cc_5615,
            ),
            (
                "VIDIOC_S_PARM",
                nix::request_code_readwrite!(b'V', 22, size_of::<StreamParm>()),
                0xc0cc_5616,
            ),
        ];
        for (name, built, kernel) in numbers {
            assert_eq!(built, kernel, "{name}");
        }
    }

    #[test]
    fn a_format_keeps_the_pixel_format_written_into_it() {
        let pix = PixFormat {
            width: 640,
            height: 480,
            pixelformat: 0x5659_5559,
            ..PixFormat::default()
        };
        let format = Format::capture(pix);
        assert_eq!(format.type_, V4L2_BUF_TYPE_VIDEO_CAPTURE);
        assert_eq!(format.pix().width, 640);
        assert_eq!(format.pix().pixelformat, 0x5659_5559);
        let mut caps = Capability::zeroed();
        caps.card[..9].copy_from_slice(b"UVC Cam\0x");
        assert_eq!(caps.card(), "UVC Cam");
        caps.capabilities = V4L2_CAP_DEVICE_CAPS | V4L2_CAP_VIDEO_CAPTURE;
        caps.device_caps = V4L2_CAP_STREAMING;
        assert_eq!(caps.node_caps(), V4L2_CAP_STREAMING);
    }
}
