//! Image files (PNG, JPEG, WebP) turned into luma frames, with a reason for everything else.
//!
//! A support engineer feeds `tally decode` whatever a customer sent: screenshots with
//! transparent backgrounds, phone photos, PDFs renamed to `.png`, empty files. Each must end
//! in a frame or in a reason, never in a crash or an out-of-memory kill.

use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use image::{DynamicImage, ImageError, ImageFormat, ImageReader, Limits};
use tally_domain::Lang;
use tally_domain::reason::Reason;
use thiserror::Error;

use super::frame::{FrameError, LumaFrame, MAX_PIXELS};

/// Files larger than this are refused before they are read: a camera JPEG of a label is a
/// few megabytes, and reading `/dev/zero` must end.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Why a file gave no frame.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum ImageFileError {
    #[error("the file is empty")]
    Empty,
    #[error("{format} images are not supported, only PNG, JPEG and WebP")]
    UnsupportedFormat { format: String },
    #[error("not a PNG, JPEG or WebP file")]
    NotAnImage,
    #[error("a damaged or cut-short image: {detail}")]
    Unreadable { detail: String },
    #[error("the image is too large ({width}×{height})")]
    TooLarge { width: u32, height: u32 },
    #[error("the file is larger than {MAX_FILE_BYTES} bytes")]
    FileTooLarge,
    #[error("cannot read the file: {detail}")]
    Io { detail: String },
}

impl Reason for ImageFileError {
    fn code(&self) -> &'static str {
        match self {
            ImageFileError::Empty => "empty_file",
            ImageFileError::UnsupportedFormat { .. } => "unsupported_format",
            ImageFileError::NotAnImage | ImageFileError::Unreadable { .. } => "unreadable_image",
            ImageFileError::TooLarge { .. } | ImageFileError::FileTooLarge => "image_too_large",
            ImageFileError::Io { .. } => "cannot_read_file",
        }
    }

    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (ImageFileError::Empty, Lang::En) => "The file is empty.".into(),
            (ImageFileError::Empty, Lang::Ru) => "Файл пуст.".into(),
            (ImageFileError::UnsupportedFormat { format }, Lang::En) => {
                format!("{format} images are not supported: use PNG, JPEG or WebP.")
            }
            (ImageFileError::UnsupportedFormat { format }, Lang::Ru) => {
                format!("Изображения {format} не поддерживаются: используйте PNG, JPEG или WebP.")
            }
            (ImageFileError::NotAnImage, Lang::En) => {
                "The file is not a PNG, JPEG or WebP image.".into()
            }
            (ImageFileError::NotAnImage, Lang::Ru) => {
                "Файл не является изображением PNG, JPEG или WebP.".into()
            }
            (ImageFileError::Unreadable { detail }, Lang::En) => {
                format!("The image is damaged or cut short ({detail}).")
            }
            (ImageFileError::Unreadable { detail }, Lang::Ru) => {
                format!("Изображение повреждено или обрезано ({detail}).")
            }
            (ImageFileError::TooLarge { width, height }, Lang::En) => {
                format!("The image is too large ({width}×{height}): at most {MAX_PIXELS} pixels.")
            }
            (ImageFileError::TooLarge { width, height }, Lang::Ru) => format!(
                "Изображение слишком большое ({width}×{height}): не более {MAX_PIXELS} пикселей."
            ),
            (ImageFileError::FileTooLarge, Lang::En) => {
                format!("The file is too large: at most {MAX_FILE_BYTES} bytes.")
            }
            (ImageFileError::FileTooLarge, Lang::Ru) => {
                format!("Файл слишком большой: не более {MAX_FILE_BYTES} байт.")
            }
            (ImageFileError::Io { detail }, Lang::En) => format!("Cannot read the file: {detail}."),
            (ImageFileError::Io { detail }, Lang::Ru) => {
                format!("Не удалось прочитать файл: {detail}.")
            }
        }
    }
}

/// Reads an image file into a grey frame.
pub fn read_image_file(path: &Path) -> Result<LumaFrame, ImageFileError> {
    let io = |e: std::io::Error| ImageFileError::Io {
        detail: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ImageFileError::FileTooLarge);
    }
    read_image(&bytes)
}

/// Decodes the bytes of a PNG, JPEG or WebP file into a grey frame.
pub fn read_image(bytes: &[u8]) -> Result<LumaFrame, ImageFileError> {
    if bytes.is_empty() {
        return Err(ImageFileError::Empty);
    }
    let format = match image::guess_format(bytes) {
        Ok(format @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => format,
        Ok(other) => {
            return Err(ImageFileError::UnsupportedFormat {
                format: format_name(other),
            });
        }
        Err(_) => return Err(ImageFileError::NotAnImage),
    };
    // The decoders are fuzzed upstream, but a panic on a customer's file must still end as a
    // reason rather than take the terminal down.
    catch_unwind(AssertUnwindSafe(|| decode(bytes, format))).unwrap_or_else(|_| {
        Err(ImageFileError::Unreadable {
            detail: "the image decoder failed on this file".into(),
        })
    })
}

fn decode(bytes: &[u8], format: ImageFormat) -> Result<LumaFrame, ImageFileError> {
    let unreadable = |e: ImageError| ImageFileError::Unreadable {
        detail: e.to_string(),
    };
    // The header first, so a huge declared size is refused before anything is allocated.
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(unreadable)?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageFileError::TooLarge { width, height });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    // RGBA with 16 bits per channel is the most a PNG can ask for.
    limits.max_alloc = Some(MAX_PIXELS * 8 + (1 << 20));
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        ImageError::Limits(_) => ImageFileError::TooLarge { width, height },
        other => unreadable(other),
    })?;
    to_frame(image)
}

/// Grey, with transparency laid over white: codes exported from label software often sit on a
/// transparent background whose hidden colour is black.
fn to_frame(image: DynamicImage) -> Result<LumaFrame, ImageFileError> {
    let (width, height) = (image.width(), image.height());
    let pixels = if image.color().has_alpha() {
        image
            .into_luma_alpha8()
            .pixels()
            .map(|p| {
                let [luma, alpha] = p.0;
                let (luma, alpha) = (u32::from(luma), u32::from(alpha));
                ((luma * alpha + 255 * (255 - alpha) + 127) / 255) as u8
            })
            .collect()
    } else {
        image.into_luma8().into_raw()
    };
    LumaFrame::new(width, height, pixels).map_err(|e| match e {
        FrameError::TooLarge { width, height } => ImageFileError::TooLarge { width, height },
        other => ImageFileError::Unreadable {
            detail: other.to_string(),
        },
    })
}

fn format_name(format: ImageFormat) -> String {
    format
        .extensions_str()
        .first()
        .map_or_else(|| format!("{format:?}"), |ext| ext.to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_foreign_bytes_have_their_own_reasons() {
        assert_eq!(read_image(b""), Err(ImageFileError::Empty));
        assert_eq!(
            read_image(b"hello, this is text"),
            Err(ImageFileError::NotAnImage)
        );
        assert_eq!(
            read_image(b"GIF89a\x01\x00\x01\x00"),
            Err(ImageFileError::UnsupportedFormat {
                format: "GIF".into()
            })
        );
    }

    #[test]
    fn a_header_declaring_a_huge_png_is_refused_before_decoding() {
        // A valid PNG signature, an IHDR claiming 60000×60000 pixels and an empty IDAT: a
        // few dozen bytes that would ask for 3.6 GB.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut header = 60_000u32.to_be_bytes().to_vec();
        header.extend_from_slice(&60_000u32.to_be_bytes());
        header.extend_from_slice(&[8, 0, 0, 0, 0]);
        for (kind, data) in [(b"IHDR", header), (b"IDAT", Vec::new())] {
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = png.len();
            png.extend_from_slice(kind);
            png.extend_from_slice(&data);
            let crc = crc32(&png[start..]);
            png.extend_from_slice(&crc.to_be_bytes());
        }
        assert_eq!(
            read_image(&png),
            Err(ImageFileError::TooLarge {
                width: 60_000,
                height: 60_000
            })
        );
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
