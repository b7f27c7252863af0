//! Box and pallet labels: what a label generated on the terminal says, laid out once in
//! printer dots, and that layout as ZPL for the warehouse's label printer and as the modules of
//! its GS1-128 symbol for the PNG preview.
//!
//! One [`Layout`] feeds both outputs, so the preview shows what the printer prints: the same
//! texts at the same places and the same SSCC in the same symbology (the printer draws its own
//! bars from `^BC`; both are GS1-128 of the same element string).

use std::fmt::Write as _;

use crate::gs1::{Gs1Date, Gtin, Sscc};
use crate::operation::aggregation::{Aggregate, Child, Level};

/// Dots per millimetre of a 203 dpi printer, the resolution of most warehouse label printers.
pub const DOTS_PER_MM: u32 = 8;

/// What a generated label says.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BoxLabel {
    pub sscc: Sscc,
    pub level: Level,
    /// The warehouse or company that packed it.
    pub packer: String,
    /// One line per product in it, such as `04600840749372 Молоко 3,2% × 12`; a pallet says
    /// how many boxes instead.
    pub contents: Vec<String>,
    /// Units (or, for a pallet, boxes and loose units) inside.
    pub count: u32,
    /// The packing date, on Moscow's calendar.
    pub packed_on: Gs1Date,
}

impl BoxLabel {
    /// The label of a closed box or pallet: a box lists its units per GTIN with the product's
    /// name where `name_of` knows it; a pallet counts its boxes and loose units.
    pub fn of(
        aggregate: &Aggregate,
        packer: &str,
        packed_on: Gs1Date,
        name_of: impl Fn(Gtin) -> Option<String>,
    ) -> BoxLabel {
        let mut per_gtin: Vec<(Gtin, u32)> = Vec::new();
        let mut boxes = 0u32;
        for child in &aggregate.children {
            match child {
                Child::Unit(ki) => match per_gtin.iter_mut().find(|(g, _)| *g == ki.gtin()) {
                    Some((_, count)) => *count += 1,
                    None => per_gtin.push((ki.gtin(), 1)),
                },
                Child::Box(_) => boxes += 1,
            }
        }
        let mut contents = Vec::new();
        if boxes > 0 {
            contents.push(format!("Коробок/Boxes: {boxes}"));
        }
        for (gtin, count) in &per_gtin {
            let name = name_of(*gtin).unwrap_or_default();
            contents.push(format!("{gtin} {name} × {count}").replace("  ", " "));
        }
        BoxLabel {
            sscc: aggregate.sscc,
            level: aggregate.level,
            packer: packer.to_string(),
            contents,
            count: aggregate.children.len() as u32,
            packed_on,
        }
    }
}

/// The label's size: 100 × 70 mm, the common box label of warehouse printers.
pub const WIDTH_DOTS: u32 = 100 * DOTS_PER_MM;
pub const HEIGHT_DOTS: u32 = 70 * DOTS_PER_MM;

/// A label in printer dots, origin top left.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Layout {
    pub width: u32,
    pub height: u32,
    pub elements: Vec<Element>,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Element {
    /// One line of text whose capitals are `height` dots tall.
    Text {
        x: u32,
        y: u32,
        height: u32,
        text: String,
    },
    /// A GS1-128 symbol of `data` (an element string, such as `00` + 18 digits), each module
    /// `module` dots wide, the bars `height` dots tall.
    Gs1_128 {
        x: u32,
        y: u32,
        module: u32,
        height: u32,
        data: String,
    },
}

/// Where everything goes on a [`BoxLabel`].
pub fn layout(label: &BoxLabel) -> Layout {
    let margin = 4 * DOTS_PER_MM;
    let text_width = WIDTH_DOTS - 2 * margin;
    let mut elements = Vec::new();
    let mut text = |y: u32, height: u32, text: String| {
        elements.push(Element::Text {
            x: margin,
            y,
            height,
            text: fit(&text, text_width, height),
        });
    };
    text(24, 32, label.packer.clone());
    let (ru, en) = match label.level {
        Level::Box => ("КОРОБКА", "BOX"),
        Level::Pallet => ("ПАЛЛЕТА", "PALLET"),
    };
    text(66, 44, format!("{ru} / {en}"));
    let mut y = 124;
    for line in label.contents.iter().take(3) {
        text(y, 26, line.clone());
        y += 34;
    }
    if label.contents.len() > 3 {
        text(y, 26, format!("… +{}", label.contents.len() - 3));
    }
    let packed = &label.packed_on;
    text(
        268,
        26,
        format!(
            "Шт./Qty: {}   Упак./Packed: {:02}.{:02}.{:04}",
            label.count, packed.day, packed.month, packed.year
        ),
    );
    let data = format!("00{}", label.sscc);
    let module = 3;
    let width = gs1_128_modules(&data).len() as u32 * module;
    elements.push(Element::Gs1_128 {
        x: WIDTH_DOTS.saturating_sub(width) / 2,
        y: 316,
        module,
        height: 160,
        data,
    });
    let human = human_readable_sscc(label.sscc);
    let height = 32;
    let human_width = human.chars().count() as u32 * text_advance(height);
    elements.push(Element::Text {
        x: WIDTH_DOTS.saturating_sub(human_width) / 2,
        y: 490,
        height,
        text: human,
    });
    Layout {
        width: WIDTH_DOTS,
        height: HEIGHT_DOTS,
        elements,
    }
}

/// `(00) 046008400000000015`, as GS1 prints the SSCC under its symbol.
pub fn human_readable_sscc(sscc: Sscc) -> String {
    format!("(00) {sscc}")
}

/// How far one character advances at a text height: the preview's monospaced font and a
/// conservative figure for the printer's, so a line that fits here fits on paper.
pub fn text_advance(height: u32) -> u32 {
    (height * 3).div_ceil(5)
}

/// The text cut to what fits in `width` dots, with an ellipsis where it was cut.
fn fit(text: &str, width: u32, height: u32) -> String {
    let most = (width / text_advance(height)) as usize;
    if text.chars().count() <= most {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(most.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The layout as one ZPL II label: UTF-8 text (`^CI28`), each field hex-escaped where ZPL
/// would read a control character (`^FH`), the SSCC through the printer's own Code 128 in UCC
/// mode, which starts it with FNC1 (GS1-128).
pub fn zpl(layout: &Layout) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "^XA\n^CI28\n^PW{}\n^LL{}\n^LH0,0\n",
        layout.width, layout.height
    );
    for element in &layout.elements {
        match element {
            Element::Text { x, y, height, text } => {
                let width = text_advance(*height);
                let _ = writeln!(
                    out,
                    "^FO{x},{y}^A0N,{height},{width}^FH_^FD{}^FS",
                    zpl_escape(text)
                );
            }
            Element::Gs1_128 {
                x,
                y,
                module,
                height,
                data,
            } => {
                // Mode D takes the AI in parentheses and inserts FNC1 itself.
                let (ai, value) = data.split_at(2.min(data.len()));
                let _ = writeln!(
                    out,
                    "^FO{x},{y}^BY{module}^BCN,{height},N,N,N,D^FD({ai}){value}^FS"
                );
            }
        }
    }
    out.push_str("^PQ1\n^XZ\n");
    out
}

/// `^`, `~` and the escape character itself as `^FH` hex escapes; control characters dropped.
fn zpl_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '^' => out.push_str("_5E"),
            '~' => out.push_str("_7E"),
            '_' => out.push_str("_5F"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Code 128's symbol patterns (ISO/IEC 15417): the widths of bar, space, bar, space, bar,
/// space in modules for values 0 to 105; every symbol is 11 modules.
const PATTERNS: [[u8; 6]; 106] = [
    [2, 1, 2, 2, 2, 2],
    [2, 2, 2, 1, 2, 2],
    [2, 2, 2, 2, 2, 1],
    [1, 2, 1, 2, 2, 3],
    [1, 2, 1, 3, 2, 2],
    [1, 3, 1, 2, 2, 2],
    [1, 2, 2, 2, 1, 3],
    [1, 2, 2, 3, 1, 2],
    [1, 3, 2, 2, 1, 2],
    [2, 2, 1, 2, 1, 3],
    [2, 2, 1, 3, 1, 2],
    [2, 3, 1, 2, 1, 2],
    [1, 1, 2, 2, 3, 2],
    [1, 2, 2, 1, 3, 2],
    [1, 2, 2, 2, 3, 1],
    [1, 1, 3, 2, 2, 2],
    [1, 2, 3, 1, 2, 2],
    [1, 2, 3, 2, 2, 1],
    [2, 2, 3, 2, 1, 1],
    [2, 2, 1, 1, 3, 2],
    [2, 2, 1, 2, 3, 1],
    [2, 1, 3, 2, 1, 2],
    [2, 2, 3, 1, 1, 2],
    [3, 1, 2, 1, 3, 1],
    [3, 1, 1, 2, 2, 2],
    [3, 2, 1, 1, 2, 2],
    [3, 2, 1, 2, 2, 1],
    [3, 1, 2, 2, 1, 2],
    [3, 2, 2, 1, 1, 2],
    [3, 2, 2, 2, 1, 1],
    [2, 1, 2, 1, 2, 3],
    [2, 1, 2, 3, 2, 1],
    [2, 3, 2, 1, 2, 1],
    [1, 1, 1, 3, 2, 3],
    [1, 3, 1, 1, 2, 3],
    [1, 3, 1, 3, 2, 1],
    [1, 1, 2, 3, 1, 3],
    [1, 3, 2, 1, 1, 3],
    [1, 3, 2, 3, 1, 1],
    [2, 1, 1, 3, 1, 3],
    [2, 3, 1, 1, 1, 3],
    [2, 3, 1, 3, 1, 1],
    [1, 1, 2, 1, 3, 3],
    [1, 1, 2, 3, 3, 1],
    [1, 3, 2, 1, 3, 1],
    [1, 1, 3, 1, 2, 3],
    [1, 1, 3, 3, 2, 1],
    [1, 3, 3, 1, 2, 1],
    [3, 1, 3, 1, 2, 1],
    [2, 1, 1, 3, 3, 1],
    [2, 3, 1, 1, 3, 1],
    [2, 1, 3, 1, 1, 3],
    [2, 1, 3, 3, 1, 1],
    [2, 1, 3, 1, 3, 1],
    [3, 1, 1, 1, 2, 3],
    [3, 1, 1, 3, 2, 1],
    [3, 3, 1, 1, 2, 1],
    [3, 1, 2, 1, 1, 3],
    [3, 1, 2, 3, 1, 1],
    [3, 3, 2, 1, 1, 1],
    [3, 1, 4, 1, 1, 1],
    [2, 2, 1, 4, 1, 1],
    [4, 3, 1, 1, 1, 1],
    [1, 1, 1, 2, 2, 4],
    [1, 1, 1, 4, 2, 2],
    [1, 2, 1, 1, 2, 4],
    [1, 2, 1, 4, 2, 1],
    [1, 4, 1, 1, 2, 2],
    [1, 4, 1, 2, 2, 1],
    [1, 1, 2, 2, 1, 4],
    [1, 1, 2, 4, 1, 2],
    [1, 2, 2, 1, 1, 4],
    [1, 2, 2, 4, 1, 1],
    [1, 4, 2, 1, 1, 2],
    [1, 4, 2, 2, 1, 1],
    [2, 4, 1, 2, 1, 1],
    [2, 2, 1, 1, 1, 4],
    [4, 1, 3, 1, 1, 1],
    [2, 4, 1, 1, 1, 2],
    [1, 3, 4, 1, 1, 1],
    [1, 1, 1, 2, 4, 2],
    [1, 2, 1, 1, 4, 2],
    [1, 2, 1, 2, 4, 1],
    [1, 1, 4, 2, 1, 2],
    [1, 2, 4, 1, 1, 2],
    [1, 2, 4, 2, 1, 1],
    [4, 1, 1, 2, 1, 2],
    [4, 2, 1, 1, 1, 2],
    [4, 2, 1, 2, 1, 1],
    [2, 1, 2, 1, 4, 1],
    [2, 1, 4, 1, 2, 1],
    [4, 1, 2, 1, 2, 1],
    [1, 1, 1, 1, 4, 3],
    [1, 1, 1, 3, 4, 1],
    [1, 3, 1, 1, 4, 1],
    [1, 1, 4, 1, 1, 3],
    [1, 1, 4, 3, 1, 1],
    [4, 1, 1, 1, 1, 3],
    [4, 1, 1, 3, 1, 1],
    [1, 1, 3, 1, 4, 1],
    [1, 1, 4, 1, 3, 1],
    [3, 1, 1, 1, 4, 1],
    [4, 1, 1, 1, 3, 1],
    [2, 1, 1, 4, 1, 2],
    [2, 1, 1, 2, 1, 4],
    [2, 1, 1, 2, 3, 2],
];
/// The stop pattern with its termination bar: 13 modules.
const STOP: [u8; 7] = [2, 3, 3, 1, 1, 1, 2];
const START_B: u8 = 104;
const START_C: u8 = 105;
const CODE_B: u8 = 100;
const CODE_C: u8 = 99;
const FNC1: u8 = 102;

/// The symbol values of GS1-128 for an element string: FNC1 after the start, digit pairs in
/// code set C, anything else (and a last odd digit) in code set B. A GS (0x1D) in `data`, which
/// ends a variable-length element, becomes FNC1 too. Characters Code 128 B cannot carry
/// (outside ASCII 32-126) are left out; labels carry digits and the ASCII of GS1's character
/// set 82 only.
fn gs1_128_values(data: &str) -> Vec<u8> {
    let bytes = data.as_bytes();
    let digits_at = |i: usize| {
        bytes
            .iter()
            .skip(i)
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut in_c = digits_at(0) >= 2;
    let mut values = vec![if in_c { START_C } else { START_B }, FNC1];
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == 0x1D {
            values.push(FNC1);
            i += 1;
            continue;
        }
        let run = digits_at(i);
        // Code C pays off for four digits or more, or two that end the data.
        let wants_c = run >= 4 || (run >= 2 && run == bytes.len() - i);
        if in_c && run >= 2 {
            values.push((bytes[i] - b'0') * 10 + (bytes[i + 1] - b'0'));
            i += 2;
        } else if !in_c && wants_c {
            values.push(CODE_C);
            in_c = true;
        } else if in_c {
            values.push(CODE_B);
            in_c = false;
        } else {
            if (32..=126).contains(&byte) {
                values.push(byte - 32);
            }
            i += 1;
        }
    }
    let checksum = values
        .iter()
        .enumerate()
        .map(|(position, &value)| u32::from(value) * (position.max(1) as u32))
        .sum::<u32>()
        % 103;
    values.push(checksum as u8);
    values
}

/// The modules of the GS1-128 symbol of `data`, `true` for a bar, without quiet zones (ten
/// modules each side are the printer's and the preview's margin).
pub fn gs1_128_modules(data: &str) -> Vec<bool> {
    let mut modules = Vec::new();
    let mut push = |widths: &[u8]| {
        for (index, &width) in widths.iter().enumerate() {
            let bar = index % 2 == 0;
            modules.extend(std::iter::repeat_n(bar, usize::from(width)));
        }
    };
    for value in gs1_128_values(data) {
        push(&PATTERNS[usize::from(value)]);
    }
    push(&STOP);
    modules
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label() -> BoxLabel {
        BoxLabel {
            sscc: Sscc::compose(0, "4600840", 1).unwrap(),
            level: Level::Box,
            packer: "ООО «Склад» ^ Moscow".into(),
            contents: vec!["04600840749372 Молоко 3,2% × 12".into()],
            count: 12,
            packed_on: Gs1Date {
                year: 2026,
                month: 12,
                day: 2,
            },
        }
    }

    #[test]
    fn a_box_label_lists_its_units_per_gtin_and_a_pallet_its_boxes() {
        let milk = |serial: &str| {
            Child::Unit(crate::code::Ki::from_cis(&format!("0104600840749372215{serial}")).unwrap())
        };
        let aggregate = Aggregate {
            sscc: Sscc::compose(0, "4600840", 1).unwrap(),
            level: Level::Box,
            children: vec![milk("XyZ1a"), milk("XyZ1b"), milk("XyZ1c")],
            status: None,
        };
        let date = label().packed_on;
        let named = BoxLabel::of(&aggregate, "Склад", date, |_| {
            Some("Молоко 3,2%".into())
        });
        assert_eq!(named.contents, ["04600840749372 Молоко 3,2% × 3"]);
        assert_eq!(named.count, 3);
        let unnamed = BoxLabel::of(&aggregate, "Склад", date, |_| None);
        assert_eq!(unnamed.contents, ["04600840749372 × 3"]);
        let pallet = Aggregate {
            level: Level::Pallet,
            children: vec![
                Child::Box(aggregate.sscc),
                Child::Box(Sscc::compose(0, "4600840", 2).unwrap()),
            ],
            ..aggregate
        };
        let label = BoxLabel::of(&pallet, "Склад", date, |_| None);
        assert_eq!(label.contents, ["Коробок/Boxes: 2"]);
        assert_eq!(label.level, Level::Pallet);
    }

    #[test]
    fn every_pattern_is_eleven_modules_and_the_stop_thirteen() {
        for (value, pattern) in PATTERNS.iter().enumerate() {
            assert_eq!(
                pattern.iter().map(|&w| u32::from(w)).sum::<u32>(),
                11,
                "{value}"
            );
        }
        assert_eq!(STOP.iter().map(|&w| u32::from(w)).sum::<u32>(), 13);
    }

    #[test]
    fn an_sscc_is_start_c_fnc1_ten_pairs_and_its_checksum() {
        let values = gs1_128_values("00046008400000000017");
        assert_eq!(&values[..2], &[START_C, FNC1]);
        assert_eq!(&values[2..12], &[0, 4, 60, 8, 40, 0, 0, 0, 0, 17]);
        let sum: u32 = u32::from(START_C)
            + values[1..12]
                .iter()
                .enumerate()
                .map(|(i, &v)| u32::from(v) * (i as u32 + 1))
                .sum::<u32>();
        assert_eq!(u32::from(values[12]), sum % 103);
        assert_eq!(values.len(), 13);
        // 13 symbols of 11 modules and the stop.
        assert_eq!(gs1_128_modules("00046008400000000017").len(), 13 * 11 + 13);
    }

    #[test]
    fn letters_and_odd_digits_switch_to_code_b_and_back() {
        // 10 (batch) "AB1" then GS then 17 (expiry) 261231.
        let values = gs1_128_values("10AB1\u{1d}17261231");
        assert_eq!(
            values[..values.len() - 1],
            [
                START_C, FNC1, 10, CODE_B, 33, 34, 17, FNC1, CODE_C, 17, 26, 12, 31
            ]
        );
    }

    #[test]
    fn the_layout_puts_the_sscc_symbol_and_its_text_on_the_label() {
        let layout = layout(&label());
        assert_eq!((layout.width, layout.height), (800, 560));
        let symbol = layout
            .elements
            .iter()
            .find_map(|e| match e {
                Element::Gs1_128 {
                    x, data, module, ..
                } => Some((*x, data.clone(), *module)),
                Element::Text { .. } => None,
            })
            .unwrap();
        assert_eq!(symbol.1, "00046008400000000015");
        // Centred, with room for the quiet zones.
        let width = gs1_128_modules(&symbol.1).len() as u32 * symbol.2;
        assert!(symbol.0 >= 10 * symbol.2 && symbol.0 + width + 10 * symbol.2 <= 800);
        let texts: Vec<&str> = layout
            .elements
            .iter()
            .filter_map(|e| match e {
                Element::Text { text, .. } => Some(text.as_str()),
                Element::Gs1_128 { .. } => None,
            })
            .collect();
        assert!(texts.contains(&"КОРОБКА / BOX"));
        assert!(texts.contains(&"(00) 046008400000000015"));
        assert!(
            texts
                .iter()
                .any(|t| t.contains("12") && t.contains("02.12.2026"))
        );
    }

    #[test]
    fn zpl_carries_the_texts_escaped_and_the_sscc_as_gs1_128() {
        let zpl = zpl(&layout(&label()));
        assert!(zpl.starts_with("^XA\n^CI28\n^PW800\n^LL560\n"), "{zpl}");
        assert!(zpl.ends_with("^XZ\n"));
        assert!(
            zpl.contains("^BCN,160,N,N,N,D^FD(00)046008400000000015^FS"),
            "{zpl}"
        );
        // The caret in the packer's name would start a ZPL command.
        assert!(zpl.contains("^FDООО «Склад» _5E Moscow^FS"), "{zpl}");
        assert!(zpl.contains("^FDКОРОБКА / BOX^FS"));
    }

    #[test]
    fn long_lines_are_cut_to_the_label_with_an_ellipsis() {
        let mut long = label();
        long.contents = vec!["Я".repeat(200); 5];
        let layout = layout(&long);
        for element in &layout.elements {
            if let Element::Text {
                x, height, text, ..
            } = element
            {
                let width = text.chars().count() as u32 * text_advance(*height);
                assert!(x + width <= layout.width, "{text}");
            }
        }
        assert!(zpl(&layout).contains("… +2"));
    }
}
