//! A camera's pixel formats (YUYV, MJPEG, GREY) and their conversion to the grey frames the
//! decoders take, as pure functions over a buffer and its layout.
//!
//! The same functions serve the V4L2 source (over a mapped driver buffer) and recorded frames
//! (over a file's bytes), so what a test replays is converted exactly as the camera's would be.
//! A buffer that does not match its layout is an error naming the sizes, never a panic: a
//! camera that hands over a short frame mid-unplug must cost one frame.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::file::{ImageFileError, read_image};
use super::frame::{FrameError, LumaFrame};

/// The capture formats Tally asks a camera for. Every UVC webcam offers YUYV or MJPEG;
/// industrial and scanner engines often give GREY.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PixelFormat {
    /// Packed 4:2:2, `Y0 U Y1 V`: two bytes a pixel, the luma at even offsets.
    Yuyv,
    /// One JPEG image a frame (motion JPEG), possibly without its Huffman tables.
    Mjpeg,
    /// One byte of luma a pixel.
    Grey,
}

impl PixelFormat {
    pub const ALL: [PixelFormat; 3] = [PixelFormat::Yuyv, PixelFormat::Mjpeg, PixelFormat::Grey];

    /// The V4L2 fourcc (`V4L2_PIX_FMT_YUYV`, `_MJPEG`, `_GREY`), little-endian as the kernel
    /// builds it.
    pub fn fourcc(self) -> u32 {
        u32::from_le_bytes(match self {
            PixelFormat::Yuyv => *b"YUYV",
            PixelFormat::Mjpeg => *b"MJPG",
            PixelFormat::Grey => *b"GREY",
        })
    }

    pub fn from_fourcc(fourcc: u32) -> Option<PixelFormat> {
        PixelFormat::ALL.into_iter().find(|f| f.fourcc() == fourcc)
    }

    /// The name used in the config and in recorded file names.
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Yuyv => "yuyv",
            PixelFormat::Mjpeg => "mjpeg",
            PixelFormat::Grey => "grey",
        }
    }

    /// Bytes a pixel for the packed formats; `None` for MJPEG, whose frames vary in size.
    pub fn bytes_per_pixel(self) -> Option<u32> {
        match self {
            PixelFormat::Yuyv => Some(2),
            PixelFormat::Grey => Some(1),
            PixelFormat::Mjpeg => None,
        }
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fourcc as its four characters, for messages about formats Tally does not take.
pub fn fourcc_text(fourcc: u32) -> String {
    fourcc
        .to_le_bytes()
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

/// A pixel format name that is not one of `yuyv`, `mjpeg`, `grey`.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
#[error("unknown pixel format {given:?}: use yuyv, mjpeg or grey")]
pub struct UnknownPixelFormat {
    pub given: String,
}

impl FromStr for PixelFormat {
    type Err = UnknownPixelFormat;

    /// The config's names, with the kernel's spellings (`MJPG`, `GRAY`, `Y8`) as aliases
    /// because that is what `v4l2-ctl --list-formats` prints.
    fn from_str(s: &str) -> Result<PixelFormat, UnknownPixelFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "yuyv" | "yuy2" | "yuv422" => Ok(PixelFormat::Yuyv),
            "mjpeg" | "mjpg" | "jpeg" => Ok(PixelFormat::Mjpeg),
            "grey" | "gray" | "y8" => Ok(PixelFormat::Grey),
            _ => Err(UnknownPixelFormat { given: s.into() }),
        }
    }
}

/// How a raw frame's bytes are laid out, as the driver reported it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Layout {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes from one row to the next, padding included; 0 means unpadded (drivers report 0
    /// for compressed formats, and some for packed ones too).
    pub bytes_per_line: u32,
}

impl Layout {
    /// The row stride in bytes, for the packed formats.
    fn stride(&self, bytes_per_pixel: u32) -> Result<usize, ConvertError> {
        let row = u64::from(self.width) * u64::from(bytes_per_pixel);
        let stride = if self.bytes_per_line == 0 {
            row
        } else {
            u64::from(self.bytes_per_line)
        };
        if stride < row {
            return Err(ConvertError::RowTooShort {
                bytes_per_line: self.bytes_per_line,
                needed: row,
            });
        }
        usize::try_from(stride).map_err(|_| ConvertError::RowTooShort {
            bytes_per_line: self.bytes_per_line,
            needed: row,
        })
    }
}

/// Why a raw frame could not become a grey frame.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum ConvertError {
    #[error("{bytes_per_line} bytes a line cannot hold a row of {needed} bytes")]
    RowTooShort { bytes_per_line: u32, needed: u64 },
    #[error("a {width}×{height} {format} frame needs {needed} bytes, the buffer has {actual}")]
    BufferTooShort {
        format: PixelFormat,
        width: u32,
        height: u32,
        needed: u64,
        actual: usize,
    },
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("the MJPEG frame does not decode: {0}")]
    Jpeg(ImageFileError),
}

impl From<ConvertError> for ImageFileError {
    /// A frame that fails to convert is a damaged image, as a damaged file would be.
    fn from(e: ConvertError) -> ImageFileError {
        match e {
            ConvertError::Jpeg(inner) => inner,
            other => ImageFileError::Unreadable {
                detail: other.to_string(),
            },
        }
    }
}

/// The grey frame in `bytes`, laid out as `layout` says.
pub fn to_luma(layout: &Layout, bytes: &[u8]) -> Result<LumaFrame, ConvertError> {
    match layout.format {
        PixelFormat::Yuyv => packed_luma(layout, bytes, 2),
        PixelFormat::Grey => packed_luma(layout, bytes, 1),
        PixelFormat::Mjpeg => read_image(&with_huffman_tables(bytes)).map_err(ConvertError::Jpeg),
    }
}

/// The JPEG with the standard Huffman tables put in when it has none. UVC cameras leave them
/// out of MJPEG frames (the tables are fixed by the OpenDML MJPEG convention), and a JPEG
/// decoder without them cannot read the scan; libv4l and ffmpeg put them back the same way.
fn with_huffman_tables(jpeg: &[u8]) -> Cow<'_, [u8]> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Cow::Borrowed(jpeg);
    }
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        match jpeg[at + 1] {
            // Fill bytes before a marker.
            0xFF => at += 1,
            0xC4 => return Cow::Borrowed(jpeg),
            0xDA => {
                let mut out = Vec::with_capacity(jpeg.len() + 420);
                out.extend_from_slice(&jpeg[..at]);
                out.extend_from_slice(&standard_dht_segment());
                out.extend_from_slice(&jpeg[at..]);
                return Cow::Owned(out);
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => at += 2,
            _ => at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]])),
        }
    }
    Cow::Borrowed(jpeg)
}

/// A DHT segment holding the four standard tables.
fn standard_dht_segment() -> Vec<u8> {
    let body: usize = STANDARD_HUFFMAN_TABLES
        .iter()
        .map(|(_, counts, values)| 1 + counts.len() + values.len())
        .sum();
    let mut segment = vec![0xFF, 0xC4];
    segment.extend_from_slice(&u16::try_from(body + 2).unwrap_or(u16::MAX).to_be_bytes());
    for (class_and_id, counts, values) in STANDARD_HUFFMAN_TABLES {
        segment.push(class_and_id);
        segment.extend_from_slice(&counts);
        segment.extend_from_slice(values);
    }
    segment
}

/// The Huffman tables of ITU-T T.81 Annex K.3 (K.3 to K.6): class and id, the 16 code
/// counts by length, then the values.
const STANDARD_HUFFMAN_TABLES: [(u8, [u8; 16], &[u8]); 4] = [
    // dc luma
    (
        0x00,
        [
            0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00,
        ],
        &[
            0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
        ],
    ),
    // dc chroma
    (
        0x01,
        [
            0x00, 0x03, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00,
            0x00, 0x00,
        ],
        &[
            0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
        ],
    ),
    // ac luma
    (
        0x10,
        [
            0x00, 0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05, 0x05, 0x04, 0x04, 0x00, 0x00,
            0x01, 0x7D,
        ],
        &[
            0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51,
            0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1,
            0x15, 0x52, 0xD1, 0xF0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18,
            0x19, 0x1A, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
            0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57,
            0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75,
            0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x92,
            0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
            0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3,
            0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8,
            0xD9, 0xDA, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2,
            0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
        ],
    ),
    // ac chroma
    (
        0x11,
        [
            0x00, 0x02, 0x01, 0x02, 0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01,
            0x02, 0x77,
        ],
        &[
            0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07,
            0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09,
            0x23, 0x33, 0x52, 0xF0, 0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25,
            0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38,
            0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56,
            0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74,
            0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
            0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5,
            0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA,
            0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6,
            0xD7, 0xD8, 0xD9, 0xDA, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2,
            0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
        ],
    ),
];

/// The luma byte of each pixel of a packed format: the first of every `bytes_per_pixel`,
/// row by row, skipping each row's padding.
fn packed_luma(
    layout: &Layout,
    bytes: &[u8],
    bytes_per_pixel: u32,
) -> Result<LumaFrame, ConvertError> {
    let (width, height) = (layout.width, layout.height);
    // Refuses an empty or oversized frame first; `height - 1` below needs a row.
    let mut frame = LumaFrame::filled(width, height, 0)?;
    let stride = layout.stride(bytes_per_pixel)?;
    let row = width as usize * bytes_per_pixel as usize;
    // The last row may come without its padding.
    let needed = stride as u64 * u64::from(height - 1) + row as u64;
    if (bytes.len() as u64) < needed {
        return Err(ConvertError::BufferTooShort {
            format: layout.format,
            width,
            height,
            needed,
            actual: bytes.len(),
        });
    }
    let step = bytes_per_pixel as usize;
    for (out, src) in frame
        .pixels_mut()
        .chunks_exact_mut(width as usize)
        .zip(bytes.chunks(stride))
    {
        if step == 1 {
            out.copy_from_slice(&src[..row]);
        } else {
            for (o, s) in out.iter_mut().zip(src[..row].iter().step_by(step)) {
                *o = *s;
            }
        }
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::synthetic;

    fn picture() -> LumaFrame {
        let pixels = (0..6 * 3).map(|i| (i * 13) as u8).collect();
        LumaFrame::new(6, 3, pixels).unwrap()
    }

    #[test]
    fn yuyv_gives_its_luma_bytes_with_or_without_padding() {
        let frame = picture();
        for bytes_per_line in [0, 12, 16, 64] {
            let raw = synthetic::yuyv(&frame, bytes_per_line).unwrap();
            let layout = Layout {
                format: PixelFormat::Yuyv,
                width: 6,
                height: 3,
                bytes_per_line,
            };
            assert_eq!(to_luma(&layout, &raw).unwrap(), frame, "{bytes_per_line}");
        }
    }

    #[test]
    fn grey_rows_are_copied_without_their_padding() {
        let frame = picture();
        for bytes_per_line in [0, 6, 8, 32] {
            let raw = synthetic::grey(&frame, bytes_per_line).unwrap();
            let layout = Layout {
                format: PixelFormat::Grey,
                width: 6,
                height: 3,
                bytes_per_line,
            };
            assert_eq!(to_luma(&layout, &raw).unwrap(), frame, "{bytes_per_line}");
        }
    }

    #[test]
    fn a_last_row_without_padding_is_whole() {
        let frame = picture();
        let mut raw = synthetic::grey(&frame, 8).unwrap();
        raw.truncate(8 * 2 + 6);
        let layout = Layout {
            format: PixelFormat::Grey,
            width: 6,
            height: 3,
            bytes_per_line: 8,
        };
        assert_eq!(to_luma(&layout, &raw).unwrap(), frame);
    }

    #[test]
    fn mjpeg_decodes_to_its_luma() {
        let symbol = synthetic::data_matrix(b"0104600840749372215XyZ1a\x1d93Ab1+", true).unwrap();
        let frame = synthetic::scale(&symbol, 4.0).unwrap();
        let jpeg = synthetic::jpeg(&frame, 95).unwrap();
        let layout = Layout {
            format: PixelFormat::Mjpeg,
            width: frame.width(),
            height: frame.height(),
            bytes_per_line: 0,
        };
        let decoded = to_luma(&layout, &jpeg).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (frame.width(), frame.height())
        );
        // Lossy, but a module's black and white stay far apart.
        let worst = decoded
            .pixels()
            .iter()
            .zip(frame.pixels())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst < 64, "{worst}");
    }

    #[test]
    fn mjpeg_without_huffman_tables_uses_the_standard_ones() {
        // UVC cameras send MJPEG frames without DHT segments; the standard tables are
        // implied. The encoder writes exactly those, so dropping them leaves the frame such a
        // camera would send, and it must read as the whole JPEG does.
        let frame = synthetic::scale(&picture(), 8.0).unwrap();
        let jpeg = synthetic::jpeg(&frame, 90).unwrap();
        let stripped = without_segment(&jpeg, 0xC4);
        assert!(stripped.len() < jpeg.len());
        let layout = Layout {
            format: PixelFormat::Mjpeg,
            width: 0,
            height: 0,
            bytes_per_line: 0,
        };
        assert_eq!(
            to_luma(&layout, &stripped).unwrap(),
            to_luma(&layout, &jpeg).unwrap()
        );
    }

    /// The JPEG without its marker segments of the given kind (before the scan data).
    fn without_segment(jpeg: &[u8], marker: u8) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        let mut at = 2;
        while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
            let kind = jpeg[at + 1];
            let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
            if kind == 0xDA {
                break;
            }
            if kind != marker {
                out.extend_from_slice(&jpeg[at..at + 2 + len]);
            }
            at += 2 + len;
        }
        out.extend_from_slice(&jpeg[at..]);
        out
    }

    #[test]
    fn wrong_buffers_are_errors_not_panics() {
        let yuyv = |width, height, bytes_per_line| Layout {
            format: PixelFormat::Yuyv,
            width,
            height,
            bytes_per_line,
        };
        let cases: [(Layout, usize, ConvertError); 4] = [
            (
                yuyv(6, 3, 0),
                35,
                ConvertError::BufferTooShort {
                    format: PixelFormat::Yuyv,
                    width: 6,
                    height: 3,
                    needed: 36,
                    actual: 35,
                },
            ),
            (
                yuyv(6, 3, 16),
                16 * 2 + 11,
                ConvertError::BufferTooShort {
                    format: PixelFormat::Yuyv,
                    width: 6,
                    height: 3,
                    needed: 44,
                    actual: 43,
                },
            ),
            (
                yuyv(6, 3, 10),
                100,
                ConvertError::RowTooShort {
                    bytes_per_line: 10,
                    needed: 12,
                },
            ),
            (
                yuyv(0, 3, 0),
                100,
                ConvertError::Frame(FrameError::NoPixels {
                    width: 0,
                    height: 3,
                }),
            ),
        ];
        for (layout, len, want) in cases {
            assert_eq!(to_luma(&layout, &vec![0; len]), Err(want), "{layout:?}");
        }
        let mjpeg = Layout {
            format: PixelFormat::Mjpeg,
            ..yuyv(6, 3, 0)
        };
        assert!(matches!(
            to_luma(&mjpeg, b"\xFF\xD8\xFF\xE0 cut short"),
            Err(ConvertError::Jpeg(_))
        ));
        assert!(matches!(
            to_luma(&mjpeg, b""),
            Err(ConvertError::Jpeg(ImageFileError::Empty))
        ));
    }

    #[test]
    fn format_names_and_fourccs() {
        let cases = [
            ("yuyv", Ok(PixelFormat::Yuyv)),
            ("YUYV", Ok(PixelFormat::Yuyv)),
            ("mjpeg", Ok(PixelFormat::Mjpeg)),
            ("MJPG", Ok(PixelFormat::Mjpeg)),
            (" grey ", Ok(PixelFormat::Grey)),
            ("gray", Ok(PixelFormat::Grey)),
            ("h264", Err(())),
            ("", Err(())),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<PixelFormat>().map_err(|_| ()), want, "{text}");
        }
        // The kernel's v4l2_fourcc('Y','U','Y','V') etc. (videodev2.h).
        assert_eq!(PixelFormat::Yuyv.fourcc(), 0x5659_5559);
        assert_eq!(PixelFormat::Mjpeg.fourcc(), 0x4750_4A4D);
        assert_eq!(PixelFormat::Grey.fourcc(), 0x5945_5247);
        for format in PixelFormat::ALL {
            assert_eq!(PixelFormat::from_fourcc(format.fourcc()), Some(format));
            assert_eq!(format.name().parse(), Ok(format));
        }
        assert_eq!(fourcc_text(u32::from_le_bytes(*b"H264")), "H264");
    }
}
