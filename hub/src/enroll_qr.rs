//! The enrollment code as a QR code a terminal can scan: printed in the terminal window with
//! block characters, so a supervisor can enroll a device without typing.

use rxing::qrcode::QRCodeWriter;
use rxing::{BarcodeFormat, EncodeHints, Writer};
use serde_json::json;

/// Modules of white around the symbol, as the QR specification asks.
const QUIET: i64 = 4;

/// What the QR code carries: the hub's address and the one-time code, as JSON text, so the
/// terminal needs no other input.
pub fn payload(hub_url: &str, code: &str) -> String {
    json!({"tally_enroll": 1, "url": hub_url, "code": code}).to_string()
}

/// The QR code of `text` drawn with `█`, `▀`, `▄` and spaces, two rows of modules per line
/// (dark modules as ink, so it reads on a light terminal background).
pub fn render(text: &str) -> Result<String, String> {
    let hints = EncodeHints {
        Margin: Some("0".into()),
        ErrorCorrection: Some("M".into()),
        ..EncodeHints::default()
    };
    // The encoder has been seen to panic on unusual input; a panic must not take the hub's
    // command down with a backtrace instead of a reason.
    let bits = std::panic::catch_unwind(|| {
        QRCodeWriter.encode_with_hints(text, &BarcodeFormat::QR_CODE, 0, 0, &hints)
    })
    .map_err(|_| "the QR encoder failed on this text".to_string())?
    .map_err(|e| e.to_string())?;
    let (w, h) = (i64::from(bits.getWidth()), i64::from(bits.getHeight()));
    let dark = |x: i64, y: i64| {
        (0..w).contains(&x)
            && (0..h).contains(&y)
            && bits.get(u32::try_from(x).unwrap_or(0), u32::try_from(y).unwrap_or(0))
    };
    let mut out = String::new();
    let mut y = -QUIET;
    while y < h + QUIET {
        for x in -QUIET..w + QUIET {
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
        y += 2;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_drivers::image::decode::{LookFor, Pass, StandardReader, SymbolReader};
    use tally_drivers::image::frame::LumaFrame;

    /// Turns the printed characters back into pixels, 6 per module, as a camera would see them.
    fn photograph(printed: &str) -> LumaFrame {
        const SCALE: usize = 6;
        let lines: Vec<Vec<char>> = printed.lines().map(|l| l.chars().collect()).collect();
        let width = lines.iter().map(Vec::len).max().unwrap_or(0) * SCALE;
        let height = lines.len() * 2 * SCALE;
        let mut pixels = vec![255u8; width * height];
        for (row, line) in lines.iter().enumerate() {
            for (col, c) in line.iter().enumerate() {
                let (top, bottom) = match c {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    _ => (false, false),
                };
                for (half, dark) in [(0, top), (1, bottom)] {
                    if !dark {
                        continue;
                    }
                    for dy in 0..SCALE {
                        let y = (row * 2 + half) * SCALE + dy;
                        let start = y * width + col * SCALE;
                        pixels[start..start + SCALE].fill(0);
                    }
                }
            }
        }
        LumaFrame::new(width as u32, height as u32, pixels).unwrap()
    }

    #[test]
    fn the_printed_code_scans_back_to_the_enrollment() {
        let text = payload("https://hub.example:8443", "RW33E8FF3Z9V");
        let printed = render(&text).unwrap();
        let frame = photograph(&printed);
        let read = StandardReader
            .read(&frame, LookFor::BADGES, Pass::TryHarder)
            .expect("the printed QR code reads");
        assert_eq!(String::from_utf8(read.payload).unwrap(), text);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["code"], "RW33E8FF3Z9V");
    }
}
