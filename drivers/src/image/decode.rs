//! Reading one symbol in a frame: zxing-cpp, then rxing, for Data Matrix (the goods); rqrr
//! for QR (the terminal's provisioning and operator badges).
//!
//! These calls have no deadline of their own: [`super::deadline::FrameDecoder`] runs them on a
//! worker thread it can abandon.

use std::fmt;

use rqrr::{BitGrid, DeQRError, PreparedImage};
use rxing::common::{BitMatrix, HybridBinarizer};
use rxing::datamatrix::DataMatrixReader;
use rxing::qrcode::QRCodeReader;
use rxing::qrcode::decoder::qrcode_decoder;
use rxing::{
    BinaryBitmap, DecodeHints, Luma8Source, RXingResultMetadataType, RXingResultMetadataValue,
    Reader,
};
use tally_domain::code::Symbology;

use super::frame::LumaFrame;

/// Which symbologies a step looks for: goods carry Data Matrix, badges and provisioning
/// sheets carry QR. Looking for less is faster and avoids reading the wrong label on a box.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LookFor {
    pub data_matrix: bool,
    pub qr: bool,
}

impl LookFor {
    /// Marking codes: Data Matrix only.
    pub const GOODS: LookFor = LookFor {
        data_matrix: true,
        qr: false,
    };
    /// Operator badges and provisioning: QR only.
    pub const BADGES: LookFor = LookFor {
        data_matrix: false,
        qr: true,
    };
    /// Both, Data Matrix first: what a support tool looking at an unknown picture wants.
    pub const ANY: LookFor = LookFor {
        data_matrix: true,
        qr: true,
    };
}

/// One decoding attempt over a frame. The try-harder pass is about five times slower and is
/// where rxing has a reported infinite loop, so it runs only when the fast pass found nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Pass {
    Fast,
    TryHarder,
}

impl Pass {
    /// A stable name for reports: `fast` or `try_harder`.
    pub fn code(self) -> &'static str {
        match self {
            Pass::Fast => "fast",
            Pass::TryHarder => "try_harder",
        }
    }
}

impl fmt::Display for Pass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A symbol read from a frame: its AIM symbology and its data exactly as encoded. For GS1
/// symbols the leading FNC1 is the `d2`/`Q3` symbology and every later FNC1 is byte 0x1D.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Decoded {
    pub symbology: Symbology,
    pub payload: Vec<u8>,
    /// The pass that found it.
    pub pass: Pass,
}

/// Something that finds and reads one symbol in a frame. [`StandardReader`] is the real one;
/// tests put in readers that hang or panic to prove the deadline holds.
pub trait SymbolReader: Send + Sync + 'static {
    /// One attempt; `None` when no symbol of the wanted kinds could be read.
    fn read(&self, frame: &LumaFrame, look_for: LookFor, pass: Pass) -> Option<Decoded>;
}

/// zxing-cpp for Data Matrix, restricted to that format, with rxing behind it; rqrr to find
/// and read QR.
///
/// zxing-cpp's detector reads every test image rxing reads and many it does not (photos,
/// rectangular symbols, symbols without a quiet zone), in a fraction of rxing's time
/// (BENCHMARKS.md, "Data Matrix images side by side"); rxing's try-harder pass stays as the last
/// resort of a frame where zxing-cpp found nothing.
///
/// rqrr refuses QR data in GS1 mode (FNC1 mode indicators), so a grid it could not read for
/// that reason goes to rxing's QR bit-stream decoder, which reports `]Q3` and turns FNC1 into
/// GS. rqrr's grid fit is also fragile on some version 1-3 symbols (a clean, upright code can
/// come out with a wrong corner and fail error correction), so when rqrr finds a QR code it
/// cannot read, rxing's QR reader gets the frame. Frames where rqrr sees no QR code at all
/// cost nothing more. The try-harder pass is rxing's QR reader in try-harder mode.
#[derive(Clone, Copy, Default, Debug)]
pub struct StandardReader;

impl SymbolReader for StandardReader {
    fn read(&self, frame: &LumaFrame, look_for: LookFor, pass: Pass) -> Option<Decoded> {
        read_with(read_data_matrix, frame, look_for, pass)
    }
}

/// Data Matrix first with `data_matrix`, then QR: the order every reader keeps.
fn read_with(
    data_matrix: fn(&LumaFrame, Pass) -> Option<Decoded>,
    frame: &LumaFrame,
    look_for: LookFor,
    pass: Pass,
) -> Option<Decoded> {
    if look_for.data_matrix
        && let Some(found) = data_matrix(frame, pass)
    {
        return Some(found);
    }
    if look_for.qr {
        return read_qr(frame, pass);
    }
    None
}

/// Frames narrower than this are not halved: their modules would be too small to read.
const HALVE_FROM_WIDTH: u32 = 640;

fn read_data_matrix(frame: &LumaFrame, pass: Pass) -> Option<Decoded> {
    match pass {
        Pass::Fast => read_data_matrix_with_zxing_cpp(frame),
        Pass::TryHarder => read_data_matrix_with_rxing(frame, pass),
    }
}

/// rxing alone for Data Matrix, the rest as [`StandardReader`]: the reader before zxing-cpp,
/// kept so `tally bench-decode --reader rxing` measures the two side by side.
#[derive(Clone, Copy, Default, Debug)]
pub struct RxingReader;

impl SymbolReader for RxingReader {
    fn read(&self, frame: &LumaFrame, look_for: LookFor, pass: Pass) -> Option<Decoded> {
        read_with(read_data_matrix_with_rxing, frame, look_for, pass)
    }
}

fn read_data_matrix_with_rxing(frame: &LumaFrame, pass: Pass) -> Option<Decoded> {
    if let Some(found) = read_data_matrix_once(frame, pass) {
        return Some(found);
    }
    // rxing's fast detector misses some clean symbols at particular module sizes and
    // positions; the same frame at half size gives it another geometry for a quarter of the
    // cost. The try-harder pass has detectors of its own and does not need it.
    if pass == Pass::Fast && frame.width() >= HALVE_FROM_WIDTH {
        return read_data_matrix_once(&halve(frame)?, pass);
    }
    None
}

/// zxing-cpp with its own thorough defaults (rotated, inverted, mirrored and downscaled views,
/// its fallback detector), which still cost less than rxing's fast pass.
fn read_data_matrix_with_zxing_cpp(frame: &LumaFrame) -> Option<Decoded> {
    let view = zxingcpp::ImageView::from_slice(
        frame.pixels(),
        frame.width(),
        frame.height(),
        zxingcpp::ImageFormat::Lum,
    )
    .ok()?;
    let reader = zxingcpp::read()
        .formats(zxingcpp::BarcodeFormat::DataMatrix)
        .text_mode(zxingcpp::TextMode::Plain)
        .max_number_of_symbols(1);
    let barcode = reader.from(view).ok()?.into_iter().find(|b| b.is_valid())?;
    let aim = aim_of(&barcode.symbology_identifier()).unwrap_or(*b"d1");
    // With an ECI the text is what the symbol declared, sent on as UTF-8, as rxing's path does;
    // without one, or with an ECI nobody can transcode, the bytes are exactly what was encoded
    // (GS for every later FNC1).
    let payload =
        if barcode.has_eci() && barcode.content_type() != zxingcpp::ContentType::UnknownECI {
            barcode.text().into_bytes()
        } else {
            barcode.bytes()
        };
    Some(Decoded {
        symbology: Symbology::from_aim(aim),
        payload,
        pass: Pass::Fast,
    })
}

/// The frame at half width and height, each pixel the mean of four.
fn halve(frame: &LumaFrame) -> Option<LumaFrame> {
    let (width, height) = (frame.width() / 2, frame.height() / 2);
    let stride = frame.width() as usize;
    let pixels = frame.pixels();
    let mut half = Vec::with_capacity(width as usize * height as usize);
    for y in 0..height as usize {
        let top = pixels.get(2 * y * stride..(2 * y + 1) * stride)?;
        let bottom = pixels.get((2 * y + 1) * stride..(2 * y + 2) * stride)?;
        for x in 0..width as usize {
            let sum = u16::from(top[2 * x])
                + u16::from(top[2 * x + 1])
                + u16::from(bottom[2 * x])
                + u16::from(bottom[2 * x + 1]);
            half.push(((sum + 2) / 4) as u8);
        }
    }
    LumaFrame::new(width, height, half).ok()
}

fn read_data_matrix_once(frame: &LumaFrame, pass: Pass) -> Option<Decoded> {
    let source = Luma8Source::new_with_slice(frame.pixels(), frame.width(), frame.height()).ok()?;
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    let hints = DecodeHints {
        TryHarder: Some(pass == Pass::TryHarder),
        ..DecodeHints::default()
    };
    let result = DataMatrixReader
        .decode_with_hints(&mut bitmap, &hints)
        .ok()?;
    let metadata = result.getRXingResultMetadata();
    let gs1 = matches!(
        metadata.get(&RXingResultMetadataType::CONTENT_TYPE),
        Some(RXingResultMetadataValue::ContentType(t)) if t == "GS1"
    );
    let aim = match metadata.get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER) {
        Some(RXingResultMetadataValue::SymbologyIdentifier(id)) => aim_of(id),
        _ => None,
    }
    .unwrap_or(if gs1 { *b"d2" } else { *b"d1" });
    // Modifiers 4-6 say an ECI declared the character set (ISO/IEC 16022 table 10).
    let eci = matches!(aim[1], b'4'..=b'6');
    Some(Decoded {
        symbology: Symbology::from_aim(aim),
        payload: payload_from_text(result.getText(), eci),
        pass,
    })
}

fn read_qr(frame: &LumaFrame, pass: Pass) -> Option<Decoded> {
    // rqrr has no more thorough mode: its second try would only repeat the first.
    if pass == Pass::TryHarder {
        return read_qr_with_rxing(frame, pass);
    }
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let pixels = frame.pixels();
    let mut prepared = PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        pixels.get(y * width + x).copied().unwrap_or(255)
    });
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return None;
    }
    for grid in &grids {
        let mut payload = Vec::new();
        match grid.decode_to(&mut payload) {
            Ok(_) => {
                return Some(Decoded {
                    symbology: Symbology::from_aim(*b"Q1"),
                    payload,
                    pass: Pass::Fast,
                });
            }
            Err(DeQRError::UnknownDataType) => {
                if let Some(found) = read_qr_modes_rqrr_lacks(&grid.grid) {
                    return Some(found);
                }
            }
            Err(_) => {}
        }
    }
    read_qr_with_rxing(frame, pass)
}

fn read_qr_with_rxing(frame: &LumaFrame, pass: Pass) -> Option<Decoded> {
    let source = Luma8Source::new_with_slice(frame.pixels(), frame.width(), frame.height()).ok()?;
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    let hints = DecodeHints {
        TryHarder: Some(pass == Pass::TryHarder),
        ..DecodeHints::default()
    };
    let result = QRCodeReader.decode_with_hints(&mut bitmap, &hints).ok()?;
    let aim = match result
        .getRXingResultMetadata()
        .get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
    {
        Some(RXingResultMetadataValue::SymbologyIdentifier(id)) => aim_of(id),
        _ => None,
    }
    .unwrap_or(*b"Q1");
    Some(Decoded {
        symbology: Symbology::from_aim(aim),
        payload: payload_from_text(result.getText(), qr_has_eci(aim[1])),
        pass,
    })
}

/// Reads a QR grid whose data uses modes rqrr does not know (FNC1 in first or second
/// position, i.e. GS1 QR) with rxing's bit-stream decoder.
fn read_qr_modes_rqrr_lacks(grid: &dyn BitGrid) -> Option<Decoded> {
    let size = u32::try_from(grid.size()).ok()?;
    let mut bits = BitMatrix::new(size, size).ok()?;
    for y in 0..size {
        for x in 0..size {
            if grid.bit(y as usize, x as usize) {
                bits.set(x, y);
            }
        }
    }
    let result = qrcode_decoder::decode_bitmatrix(&bits).ok()?;
    let modifier = u8::try_from(result.getSymbologyModifier())
        .ok()
        .filter(|m| *m <= 9)?;
    let modifier = b'0' + modifier;
    Some(Decoded {
        symbology: Symbology::from_aim([b'Q', modifier]),
        payload: payload_from_text(result.getText(), qr_has_eci(modifier)),
        pass: Pass::Fast,
    })
}

/// QR modifiers 2, 4 and 6 say an ECI declared the character set (ISO/IEC 18004 table F.1).
fn qr_has_eci(modifier: u8) -> bool {
    matches!(modifier, b'2' | b'4' | b'6')
}

/// `]d2` → `d2`.
fn aim_of(id: &str) -> Option<[u8; 2]> {
    match id.as_bytes() {
        [b']', letter, modifier] => Some([*letter, *modifier]),
        _ => None,
    }
}

/// rxing hands back text. Without an ECI the symbol's bytes are ISO 8859-1, one character per
/// byte, so mapping each character back to its byte restores exactly what was encoded (ASCII
/// and GS included); with an ECI the text is what the symbol declared, sent on as UTF-8.
fn payload_from_text(text: &str, eci: bool) -> Vec<u8> {
    if !eci && text.chars().all(|c| u32::from(c) <= 0xFF) {
        text.chars().map(|c| u32::from(c) as u8).collect()
    } else {
        text.as_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_text_becomes_its_bytes_and_eci_text_stays_utf8() {
        assert_eq!(payload_from_text("01\u{1d}93", false), b"01\x1d93");
        assert_eq!(payload_from_text("\u{e9}", false), [0xE9]);
        assert_eq!(payload_from_text("\u{e9}", true), [0xC3, 0xA9]);
        assert_eq!(payload_from_text("Ж", false), "Ж".as_bytes());
    }

    #[test]
    fn aim_identifiers_lose_their_bracket() {
        assert_eq!(aim_of("]d2"), Some(*b"d2"));
        assert_eq!(aim_of("]Q3"), Some(*b"Q3"));
        assert_eq!(aim_of("d2"), None);
        assert_eq!(aim_of(""), None);
    }

    #[test]
    fn a_gs1_qr_grid_that_rqrr_refuses_is_read_with_its_gs() {
        let milk = b"0104600840749372215XyZ1a\x1d93Ab1+";
        let symbol = crate::image::synthetic::qr(milk, true).unwrap();
        // The drawn symbol has a four-module quiet zone.
        let size = symbol.width() as usize - 8;
        let grid = rqrr::SimpleGrid::from_func(size, |x, y| {
            symbol.get(x as u32 + 4, y as u32 + 4) == Some(0)
        });
        assert!(matches!(
            rqrr::Grid::new(grid.clone()).decode(),
            Err(DeQRError::UnknownDataType)
        ));
        let decoded = read_qr_modes_rqrr_lacks(&grid).unwrap();
        assert_eq!(decoded.symbology.to_string(), "]Q3");
        assert_eq!(decoded.payload, milk);
    }

    #[test]
    fn a_blank_frame_holds_no_symbol_in_either_pass() {
        let frame = LumaFrame::filled(320, 240, 255).unwrap();
        for pass in [Pass::Fast, Pass::TryHarder] {
            assert_eq!(StandardReader.read(&frame, LookFor::ANY, pass), None);
        }
    }
}
