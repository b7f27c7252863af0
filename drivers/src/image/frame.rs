//! A grey picture as the decoders take it: one byte of brightness per pixel, row by row.

use thiserror::Error;

/// The largest frame accepted, in pixels: a 24-megapixel photo fits. Past it a decode would
/// overrun any deadline anyway, and the terminal has little memory to spare.
pub const MAX_PIXELS: u64 = 25_000_000;

/// An 8-bit grayscale frame (a camera's luma plane, or an image file turned grey).
#[derive(Clone, PartialEq, Eq)]
pub struct LumaFrame {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

/// Why pixels could not make a frame.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum FrameError {
    #[error("a frame needs pixels, not {width}×{height}")]
    NoPixels { width: u32, height: u32 },
    #[error("a {width}×{height} frame needs {expected} bytes, got {actual}")]
    WrongLength {
        width: u32,
        height: u32,
        expected: u64,
        actual: usize,
    },
    #[error("{width}×{height} is more than the {MAX_PIXELS} pixels a frame may have")]
    TooLarge { width: u32, height: u32 },
}

impl LumaFrame {
    /// Takes `pixels` as `height` rows of `width` bytes, without row padding.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Result<LumaFrame, FrameError> {
        let expected = check_size(width, height)?;
        if pixels.len() as u64 != expected {
            return Err(FrameError::WrongLength {
                width,
                height,
                expected,
                actual: pixels.len(),
            });
        }
        Ok(LumaFrame {
            width,
            height,
            pixels,
        })
    }

    /// A frame of one brightness: a blank view, or a canvas to draw on.
    pub fn filled(width: u32, height: u32, level: u8) -> Result<LumaFrame, FrameError> {
        let len = check_size(width, height)?;
        let pixels = vec![level; usize::try_from(len).unwrap_or(usize::MAX)];
        LumaFrame::new(width, height, pixels)
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    pub fn pixels_mut(&mut self) -> &mut [u8] {
        &mut self.pixels
    }

    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// The brightness at (x, y); `None` outside the frame.
    pub fn get(&self, x: u32, y: u32) -> Option<u8> {
        if x >= self.width || y >= self.height {
            return None;
        }
        self.pixels
            .get(y as usize * self.width as usize + x as usize)
            .copied()
    }
}

/// The number of bytes a frame of this size holds, if it may exist.
fn check_size(width: u32, height: u32) -> Result<u64, FrameError> {
    if width == 0 || height == 0 {
        return Err(FrameError::NoPixels { width, height });
    }
    let len = u64::from(width) * u64::from(height);
    if len > MAX_PIXELS {
        return Err(FrameError::TooLarge { width, height });
    }
    Ok(len)
}

// Frames are megabytes of pixels: debug output shows their size, not their bytes.
impl std::fmt::Debug for LumaFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LumaFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_must_match_the_size() {
        assert!(LumaFrame::new(4, 2, vec![0; 8]).is_ok());
        assert_eq!(
            LumaFrame::new(4, 2, vec![0; 7]),
            Err(FrameError::WrongLength {
                width: 4,
                height: 2,
                expected: 8,
                actual: 7
            })
        );
        assert_eq!(
            LumaFrame::new(0, 2, Vec::new()),
            Err(FrameError::NoPixels {
                width: 0,
                height: 2
            })
        );
        assert_eq!(
            LumaFrame::filled(100_000, 100_000, 255),
            Err(FrameError::TooLarge {
                width: 100_000,
                height: 100_000
            })
        );
    }

    #[test]
    fn get_reads_rows_left_to_right() {
        let frame = LumaFrame::new(3, 2, vec![1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(frame.get(2, 0), Some(3));
        assert_eq!(frame.get(0, 1), Some(4));
        assert_eq!(frame.get(3, 0), None);
        assert_eq!(frame.get(0, 2), None);
    }
}
