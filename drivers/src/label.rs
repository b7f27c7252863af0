//! The PNG preview of a box label: the same [`Layout`] the printer gets as ZPL, drawn in grey
//! pixels at the printer's 203 dpi, for the terminal's screen, tests and the README.
//!
//! Text is drawn with a monospaced ISO 8859-5 font (Russian and Latin) scaled to each line's
//! height; the printer uses its own font, so the preview matches the layout, not the glyphs.
//! The GS1-128 symbol is drawn module by module from `tally_domain::label::gs1_128_modules`,
//! so a reader of the PNG reads exactly what the label encodes.

use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::iso_8859_5::FONT_10X20;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::text::{Baseline, Text};
use image::ImageEncoder;
use image::codecs::png::PngEncoder;
use tally_domain::label::{Element, Layout, gs1_128_modules, text_advance};

use crate::image::{FrameError, LumaFrame};

const INK: u8 = 0;
const PAPER: u8 = 255;

/// Why a preview could not be drawn: a layout larger than any frame, or the PNG encoder.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("the label does not fit a frame: {0}")]
    Frame(#[from] FrameError),
    #[error("the PNG encoder failed: {0}")]
    Png(#[from] image::ImageError),
}

/// The label as a grey frame, one pixel per printer dot.
pub fn render(layout: &Layout) -> Result<LumaFrame, PreviewError> {
    let mut canvas = Canvas::new(layout.width, layout.height);
    for element in &layout.elements {
        match element {
            Element::Text { x, y, height, text } => canvas.text(*x, *y, *height, text),
            Element::Gs1_128 {
                x,
                y,
                module,
                height,
                data,
            } => {
                for (index, bar) in gs1_128_modules(data).into_iter().enumerate() {
                    if bar {
                        canvas.fill(x + index as u32 * module, *y, *module, *height);
                    }
                }
            }
        }
    }
    Ok(canvas.into_frame()?)
}

/// The label as an 8-bit grey PNG file.
pub fn png(layout: &Layout) -> Result<Vec<u8>, PreviewError> {
    let frame = render(layout)?;
    let mut out = Vec::new();
    PngEncoder::new(&mut out).write_image(
        frame.pixels(),
        frame.width(),
        frame.height(),
        image::ExtendedColorType::L8,
    )?;
    Ok(out)
}

/// A white page to draw on, in printer dots.
struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![PAPER; width as usize * height as usize],
        }
    }

    fn fill(&mut self, x: u32, y: u32, width: u32, height: u32) {
        for row in y..(y + height).min(self.height) {
            let start = row as usize * self.width as usize;
            for column in x..(x + width).min(self.width) {
                self.pixels[start + column as usize] = INK;
            }
        }
    }

    /// One line of text, each glyph of the 10 × 20 font stretched to the line's advance and
    /// height.
    fn text(&mut self, x: u32, y: u32, height: u32, text: &str) {
        let text = fold_to_font(text);
        let glyphs = text.chars().count() as u32;
        let mut line = Glyphs {
            width: glyphs * 10,
            pixels: vec![false; glyphs as usize * 10 * 20],
        };
        let style = MonoTextStyle::new(&FONT_10X20, BinaryColor::On);
        let _ = Text::with_baseline(&text, Point::zero(), style, Baseline::Top).draw(&mut line);
        let advance = text_advance(height);
        for row in 0..height {
            let source_row = (row * 20 / height.max(1)).min(19);
            for column in 0..glyphs * advance {
                let source_column =
                    (column * 10 / advance.max(1)).min(line.width.saturating_sub(1));
                let on = line.pixels[(source_row * line.width + source_column) as usize];
                if on {
                    self.fill(x + column, y + row, 1, 1);
                }
            }
        }
    }

    fn into_frame(self) -> Result<LumaFrame, FrameError> {
        LumaFrame::new(self.width, self.height, self.pixels)
    }
}

/// A line of text at the font's own size, before stretching.
struct Glyphs {
    width: u32,
    pixels: Vec<bool>,
}

impl OriginDimensions for Glyphs {
    fn size(&self) -> Size {
        Size::new(self.width, 20)
    }
}

impl DrawTarget for Glyphs {
    type Color = BinaryColor;
    type Error = std::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(point, color) in pixels {
            if let (Ok(x), Ok(y)) = (u32::try_from(point.x), u32::try_from(point.y))
                && x < self.width
                && y < 20
            {
                self.pixels[(y * self.width + x) as usize] = color.is_on();
            }
        }
        Ok(())
    }
}

/// Characters the ISO 8859-5 font lacks, as the nearest it has, so a line keeps its length.
fn fold_to_font(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '«' | '»' | '„' | '“' | '”' => '"',
            '×' => 'x',
            '…' => '~',
            '–' | '—' => '-',
            'ё' => 'е',
            'Ё' => 'Е',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_domain::gs1::{Gs1Date, Sscc};
    use tally_domain::label::{BoxLabel, layout};
    use tally_domain::operation::aggregation::Level;

    fn label() -> BoxLabel {
        BoxLabel {
            sscc: Sscc::compose(0, "4600840", 1).unwrap(),
            level: Level::Pallet,
            packer: "ООО «Склад»".into(),
            contents: vec!["12 коробок / boxes".into()],
            count: 12,
            packed_on: Gs1Date {
                year: 2026,
                month: 12,
                day: 2,
            },
        }
    }

    #[test]
    fn the_preview_s_symbol_reads_back_as_the_label_s_sscc() {
        let frame = render(&layout(&label())).unwrap();
        assert_eq!((frame.width(), frame.height()), (800, 560));
        let view = zxingcpp::ImageView::from_slice(
            frame.pixels(),
            frame.width(),
            frame.height(),
            zxingcpp::ImageFormat::Lum,
        )
        .unwrap();
        let found = zxingcpp::read()
            .formats(zxingcpp::BarcodeFormat::Code128)
            .from(view)
            .unwrap();
        assert_eq!(found.len(), 1, "one symbol on the label");
        // ]C1: GS1-128, FNC1 first; the reader shows the element string as GS1 prints it.
        assert_eq!(found[0].symbology_identifier(), "]C1");
        assert_eq!(found[0].text(), "(00)046008400000000015");
        assert_eq!(found[0].bytes(), b"00046008400000000015");
    }

    #[test]
    fn text_lands_where_the_layout_puts_it() {
        let layout = layout(&label());
        let frame = render(&layout).unwrap();
        let ink_in = |x0: u32, y0: u32, w: u32, h: u32| {
            (y0..y0 + h)
                .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
                .filter(|&(x, y)| frame.get(x, y) == Some(INK))
                .count()
        };
        for element in &layout.elements {
            if let Element::Text { x, y, height, text } = element {
                let width = text.chars().count() as u32 * text_advance(*height);
                assert!(ink_in(*x, *y, width, *height) > 0, "{text} is drawn");
            }
        }
        // The margin above the first line stays white.
        assert_eq!(ink_in(0, 0, 800, 20), 0);
        let png = png(&layout).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
