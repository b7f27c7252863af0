//! Marking codes drawn as a camera would see them, for tests, benchmarks and demos: symbols
//! from rxing's encoders, then scaled, turned, put on a box in a larger frame, blurred and
//! noised, all deterministic.
//!
//! Nothing here runs on the scan path; it lives in the library (like `tally_sync::synthetic`)
//! so the integration tests, the benchmark and a demo draw the same pictures.

use std::f32::consts::PI;
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::ImageEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use rxing::common::BitMatrix;
use rxing::datamatrix::DataMatrixWriter;
use rxing::datamatrix::encoder::SymbolShapeHint;
use rxing::qrcode::QRCodeWriter;
use rxing::{BarcodeFormat, EncodeHints, Writer};
use thiserror::Error;

use super::frame::{FrameError, LumaFrame};

/// Why a picture could not be drawn.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum SynthError {
    #[error("the encoder refused the payload: {0}")]
    Encode(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("writing the image failed: {0}")]
    Image(String),
}

/// Quiet zone around a drawn symbol, in modules. GS1 asks for one module around Data Matrix
/// and four around QR; printers give at least that.
const DATA_MATRIX_QUIET: u32 = 2;
const QR_QUIET: u32 = 4;

/// A Data Matrix of `payload`, one pixel per module, black on white, square as marking codes
/// are. With `gs1`, it starts with FNC1 and every 0x1D in the payload becomes an FNC1, so a
/// reader reports `]d2` and gives the GS back.
pub fn data_matrix(payload: &[u8], gs1: bool) -> Result<LumaFrame, SynthError> {
    let mut hints = EncodeHints {
        DataMatrixShape: Some(SymbolShapeHint::FORCE_SQUARE),
        Margin: Some("0".into()),
        ..EncodeHints::default()
    };
    if gs1 {
        // The GS1 hint is only read by the minimal encoder, which the compact hint selects.
        hints.Gs1Format = Some(true);
        hints.DataMatrixCompact = Some(true);
    }
    let text = latin1(payload);
    // rxing 0.9.3's minimal encoder trips an assertion when it puts a GS inside a C40
    // segment (an upper-case serial followed by GS does it): a refused payload, not a crash.
    let bits = catch_unwind(AssertUnwindSafe(|| {
        DataMatrixWriter.encode_with_hints(&text, &BarcodeFormat::DATA_MATRIX, 0, 0, &hints)
    }))
    .map_err(|_| SynthError::Encode("the Data Matrix encoder failed on this payload".into()))?
    .map_err(|e| SynthError::Encode(e.to_string()))?;
    draw(&bits, DATA_MATRIX_QUIET)
}

/// A QR code of `payload`, one pixel per module; with `gs1`, in FNC1-first mode (`]Q3`).
pub fn qr(payload: &[u8], gs1: bool) -> Result<LumaFrame, SynthError> {
    let hints = EncodeHints {
        Margin: Some("0".into()),
        Gs1Format: Some(gs1),
        ErrorCorrection: Some("M".into()),
        ..EncodeHints::default()
    };
    let text = latin1(payload);
    let bits = catch_unwind(AssertUnwindSafe(|| {
        QRCodeWriter.encode_with_hints(&text, &BarcodeFormat::QR_CODE, 0, 0, &hints)
    }))
    .map_err(|_| SynthError::Encode("the QR encoder failed on this payload".into()))?
    .map_err(|e| SynthError::Encode(e.to_string()))?;
    draw(&bits, QR_QUIET)
}

/// The encoders take text; each byte as its ISO 8859-1 character is what they write back as
/// that byte.
fn latin1(payload: &[u8]) -> String {
    payload.iter().map(|&b| char::from(b)).collect()
}

fn draw(bits: &BitMatrix, quiet: u32) -> Result<LumaFrame, SynthError> {
    let (w, h) = (bits.getWidth(), bits.getHeight());
    let mut frame = LumaFrame::filled(w + 2 * quiet, h + 2 * quiet, 255)?;
    let stride = frame.width() as usize;
    let pixels = frame.pixels_mut();
    for y in 0..h {
        for x in 0..w {
            if bits.get(x, y) {
                pixels[(y + quiet) as usize * stride + (x + quiet) as usize] = 0;
            }
        }
    }
    Ok(frame)
}

/// How a drawn symbol appears in a camera frame.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Scene {
    pub width: u32,
    pub height: u32,
    /// Pixels per module.
    pub scale: f32,
    /// Counter-clockwise, in degrees.
    pub rotate: f32,
    /// Where the symbol's top-left corner lands.
    pub x: u32,
    pub y: u32,
    /// Ink and paper brightness: print on a label is never 0 and 255.
    pub ink: u8,
    pub paper: u8,
    /// The box around the label.
    pub background: u8,
    /// Box-blur radius in pixels (focus and motion); 0 for none.
    pub blur: u32,
    /// Uniform sensor noise, plus or minus this much.
    pub noise: u8,
    pub seed: u64,
}

impl Default for Scene {
    /// A 720p frame with the code a little off-centre, slightly turned, soft and grainy: the
    /// ordinary case at a packing table.
    fn default() -> Scene {
        Scene {
            width: 1280,
            height: 720,
            scale: 6.0,
            rotate: 12.0,
            x: 520,
            y: 230,
            ink: 40,
            paper: 215,
            background: 140,
            blur: 1,
            noise: 10,
            seed: 1,
        }
    }
}

impl Scene {
    /// The symbol (black on white, as drawn above) as this scene shows it.
    pub fn shoot(&self, symbol: &LumaFrame) -> Result<LumaFrame, SynthError> {
        let mut label = scale(symbol, self.scale)?;
        tone(&mut label, self.ink, self.paper);
        let label = rotate(&label, self.rotate, self.background)?;
        let mut frame = LumaFrame::filled(self.width, self.height, self.background)?;
        place(&mut frame, &label, self.x, self.y);
        let mut frame = blur(&frame, self.blur)?;
        add_noise(&mut frame, self.noise, self.seed);
        Ok(frame)
    }
}

/// Resized by `factor` with bilinear sampling, as a lens blends neighbouring modules.
pub fn scale(frame: &LumaFrame, factor: f32) -> Result<LumaFrame, SynthError> {
    let width = ((frame.width() as f32 * factor).round() as u32).max(1);
    let height = ((frame.height() as f32 * factor).round() as u32).max(1);
    let mut out = LumaFrame::filled(width, height, 0)?;
    for y in 0..height {
        for x in 0..width {
            let sx = (x as f32 + 0.5) / factor - 0.5;
            let sy = (y as f32 + 0.5) / factor - 0.5;
            let value = sample(frame, sx, sy, 255);
            out.pixels_mut()[y as usize * width as usize + x as usize] = value;
        }
    }
    Ok(out)
}

/// Turned counter-clockwise by `degrees` about its centre, on a canvas grown to hold it, the
/// uncovered corners filled with `background`.
pub fn rotate(frame: &LumaFrame, degrees: f32, background: u8) -> Result<LumaFrame, SynthError> {
    let (sin, cos) = (degrees * PI / 180.0).sin_cos();
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let out_w = (w * cos.abs() + h * sin.abs()).round().max(1.0) as u32;
    let out_h = (w * sin.abs() + h * cos.abs()).round().max(1.0) as u32;
    let mut out = LumaFrame::filled(out_w, out_h, background)?;
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (ocx, ocy) = (out_w as f32 / 2.0, out_h as f32 / 2.0);
    for y in 0..out_h {
        for x in 0..out_w {
            // Back from the output pixel to where it came from (y grows downwards).
            let dx = x as f32 + 0.5 - ocx;
            let dy = y as f32 + 0.5 - ocy;
            let sx = cos * dx - sin * dy + cx - 0.5;
            let sy = sin * dx + cos * dy + cy - 0.5;
            let value = sample(frame, sx, sy, background);
            out.pixels_mut()[y as usize * out_w as usize + x as usize] = value;
        }
    }
    Ok(out)
}

/// Bilinear sample at a fractional position; `outside` beyond the edges.
fn sample(frame: &LumaFrame, x: f32, y: f32, outside: u8) -> u8 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: f32, yi: f32| -> f32 {
        if xi < 0.0 || yi < 0.0 {
            return f32::from(outside);
        }
        frame
            .get(xi as u32, yi as u32)
            .map_or(f32::from(outside), f32::from)
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
    (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
}

/// Maps black to `ink` and white to `paper`.
pub fn tone(frame: &mut LumaFrame, ink: u8, paper: u8) {
    let (ink, paper) = (f32::from(ink), f32::from(paper));
    for p in frame.pixels_mut() {
        *p = (ink + (paper - ink) * f32::from(*p) / 255.0).round() as u8;
    }
}

/// Copies `label` onto `frame` with its top-left corner at (x, y), clipped to the frame.
pub fn place(frame: &mut LumaFrame, label: &LumaFrame, x: u32, y: u32) {
    let (fw, fh) = (frame.width(), frame.height());
    let stride = fw as usize;
    let pixels = frame.pixels_mut();
    for ly in 0..label.height() {
        let Some(ty) = y.checked_add(ly).filter(|ty| *ty < fh) else {
            break;
        };
        for lx in 0..label.width() {
            let Some(tx) = x.checked_add(lx).filter(|tx| *tx < fw) else {
                break;
            };
            if let Some(value) = label.get(lx, ly) {
                pixels[ty as usize * stride + tx as usize] = value;
            }
        }
    }
}

/// A box blur of the given radius, horizontal then vertical, edges repeated.
pub fn blur(frame: &LumaFrame, radius: u32) -> Result<LumaFrame, SynthError> {
    if radius == 0 {
        return Ok(frame.clone());
    }
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let r = radius as isize;
    let pass = |src: &[u8], horizontal: bool| -> Vec<u8> {
        let mut out = vec![0u8; src.len()];
        for y in 0..h {
            for x in 0..w {
                let mut sum = 0u32;
                for d in -r..=r {
                    let (sx, sy) = if horizontal {
                        ((x as isize + d).clamp(0, w as isize - 1) as usize, y)
                    } else {
                        (x, (y as isize + d).clamp(0, h as isize - 1) as usize)
                    };
                    sum += u32::from(src[sy * w + sx]);
                }
                out[y * w + x] = (sum / (2 * radius + 1)) as u8;
            }
        }
        out
    };
    let once = pass(frame.pixels(), true);
    let twice = pass(&once, false);
    Ok(LumaFrame::new(frame.width(), frame.height(), twice)?)
}

/// Adds uniform noise of plus or minus `amplitude`, the same for the same seed.
pub fn add_noise(frame: &mut LumaFrame, amplitude: u8, seed: u64) {
    if amplitude == 0 {
        return;
    }
    let mut random = XorShift::new(seed);
    let span = 2 * u64::from(amplitude) + 1;
    for p in frame.pixels_mut() {
        let delta = (random.next() % span) as i32 - i32::from(amplitude);
        *p = (i32::from(*p) + delta).clamp(0, 255) as u8;
    }
}

/// A frame of pure noise: what a camera shows with the lens covered and the gain up.
pub fn noise_frame(width: u32, height: u32, seed: u64) -> Result<LumaFrame, SynthError> {
    let mut frame = LumaFrame::filled(width, height, 0)?;
    let mut random = XorShift::new(seed);
    for p in frame.pixels_mut() {
        *p = (random.next() >> 56) as u8;
    }
    Ok(frame)
}

/// The frame as an 8-bit grey PNG file.
pub fn png(frame: &LumaFrame) -> Result<Vec<u8>, SynthError> {
    let mut out = Vec::new();
    encode(frame, PngEncoder::new(&mut out))?;
    Ok(out)
}

/// The frame as a grey JPEG file of the given quality (1-100).
pub fn jpeg(frame: &LumaFrame, quality: u8) -> Result<Vec<u8>, SynthError> {
    let mut out = Vec::new();
    encode(frame, JpegEncoder::new_with_quality(&mut out, quality))?;
    Ok(out)
}

/// The frame as a lossless grey WebP file.
pub fn webp(frame: &LumaFrame) -> Result<Vec<u8>, SynthError> {
    let mut out = Vec::new();
    encode(frame, WebPEncoder::new_lossless(&mut out))?;
    Ok(out)
}

/// The frame's grey pixels through one of the `image` crate's encoders.
fn encode(frame: &LumaFrame, encoder: impl ImageEncoder) -> Result<(), SynthError> {
    encoder
        .write_image(
            frame.pixels(),
            frame.width(),
            frame.height(),
            image::ExtendedColorType::L8,
        )
        .map_err(|e| SynthError::Image(e.to_string()))
}

/// The frame as a camera's YUYV buffer: each pixel's luma followed by a chroma byte that
/// alternates U and V (a faint colour cast, so a converter that took the wrong bytes shows),
/// each row padded to `bytes_per_line` (0 for none).
pub fn yuyv(frame: &LumaFrame, bytes_per_line: u32) -> Result<Vec<u8>, SynthError> {
    let row = frame.width() as usize * 2;
    let stride = padded(row, bytes_per_line)?;
    let mut out = vec![0x5A; stride * frame.height() as usize];
    for (dst, src) in out
        .chunks_exact_mut(stride)
        .zip(frame.pixels().chunks_exact(frame.width() as usize))
    {
        for (x, (pair, &luma)) in dst[..row].chunks_exact_mut(2).zip(src).enumerate() {
            pair[0] = luma;
            pair[1] = if x % 2 == 0 { 110 } else { 150 };
        }
    }
    Ok(out)
}

/// The frame as a camera's GREY buffer, each row padded to `bytes_per_line` (0 for none).
pub fn grey(frame: &LumaFrame, bytes_per_line: u32) -> Result<Vec<u8>, SynthError> {
    let row = frame.width() as usize;
    let stride = padded(row, bytes_per_line)?;
    let mut out = vec![0x5A; stride * frame.height() as usize];
    for (dst, src) in out
        .chunks_exact_mut(stride)
        .zip(frame.pixels().chunks_exact(row))
    {
        dst[..row].copy_from_slice(src);
    }
    Ok(out)
}

fn padded(row: usize, bytes_per_line: u32) -> Result<usize, SynthError> {
    match bytes_per_line as usize {
        0 => Ok(row),
        stride if stride >= row => Ok(stride),
        stride => Err(SynthError::Image(format!(
            "{stride} bytes a line cannot hold a row of {row} bytes"
        ))),
    }
}

/// xorshift64*: deterministic, dependency-free, plenty for pixel noise.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        // Zero is the one state xorshift never leaves.
        XorShift(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_turn_swaps_the_sides_and_moves_the_corner() {
        // A dark top-left pixel ends up bottom-left after a counter-clockwise quarter turn.
        let mut frame = LumaFrame::filled(4, 2, 255).unwrap();
        frame.pixels_mut()[0] = 0;
        let turned = rotate(&frame, 90.0, 128).unwrap();
        assert_eq!((turned.width(), turned.height()), (2, 4));
        assert_eq!(turned.get(0, 3), Some(0));
        assert_eq!(turned.get(0, 0), Some(255));
    }

    #[test]
    fn noise_is_reproducible_and_bounded() {
        let mut a = LumaFrame::filled(64, 64, 128).unwrap();
        let mut b = a.clone();
        add_noise(&mut a, 10, 7);
        add_noise(&mut b, 10, 7);
        assert_eq!(a, b);
        assert!(a.pixels().iter().all(|&p| (118..=138).contains(&p)));
        assert!(a.pixels().iter().any(|&p| p != 128));
    }

    #[test]
    fn a_payload_the_encoder_chokes_on_is_an_error_not_a_panic() {
        // An all-capitals serial then GS: rxing 0.9.3 asserts inside its C40 encoder.
        let result = data_matrix(b"010469025752852321ABCDEFGHIJKLM\x1d91EE10\x1d92AAAA", true);
        assert!(matches!(result, Ok(_) | Err(SynthError::Encode(_))));
    }

    #[test]
    fn a_drawn_symbol_has_its_quiet_zone() {
        let symbol = data_matrix(b"0104600840749372215XyZ1a\x1d93Ab1+", true).unwrap();
        assert_eq!(symbol.width(), symbol.height());
        // The quiet zone is white and the L-shaped finder starts right inside it.
        assert_eq!(symbol.get(0, 0), Some(255));
        assert_eq!(symbol.get(1, symbol.height() - 2), Some(255));
        assert_eq!(
            symbol.get(DATA_MATRIX_QUIET, symbol.height() - 1 - DATA_MATRIX_QUIET),
            Some(0)
        );
    }
}
