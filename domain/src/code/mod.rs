//! Marking codes: turns whatever a scanner delivered into a typed, checked code.
//!
//! [`parse`] takes the raw payload of one scan and answers with a [`MarkingCode`] or a
//! [`Rejection`]. It undoes scanner artefacts (AIM prefixes, suffixes, FNC1, GS stand-ins, a
//! Russian keyboard layout), reads the GS1 structure, restores lost separators only where the
//! product group's fixed lengths make the split certain, and says what it repaired.
//! It never panics and never allocates on its way to a valid code.

mod elements;
mod formats;
mod layout;
mod normalize;
mod rejection;

use std::fmt;

pub use layout::mangle_through_russian_layout;
pub use rejection::Rejection;

/// The serial length of `group`'s КИ where the reference gives one: 13 for the long form and
/// water, 7 for tobacco and beer, 6 for milk.
pub fn serial_length(group: ProductGroup) -> Option<usize> {
    formats::serial_length_of(group)
}

use crate::gs1::{self, Ai, AiSpec, GS, Gs1Date, Gs1DateTime, Gtin, Sscc};
use crate::lang::Lang;
use crate::product_group::ProductGroup;
use elements::{Element, Elements, Recovery};
use normalize::{AngleStandIn, Cleaned, Text};

/// The longest code Tally accepts, after cleaning. Long-form codes with an 88-character
/// signature and optional fields stay under 200.
pub const MAX_CODE_LEN: usize = 255;

/// The longest serial (AI 21 is X..20).
pub const MAX_SERIAL_LEN: usize = 20;

/// How this terminal's scanners are set up; where the parser needs to be told.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ParseOptions {
    /// A character the scanner sends instead of GS (keyboard wedges that cannot type 0x1D are
    /// often set to `|` or `#`, which never occur in codes).
    pub gs_substitute: Option<u8>,
    /// Serial lengths of the product groups handled here, tried when separators were lost:
    /// they select the groups' formats (`formats::FORMATS`) that recovery searches, and a
    /// length no format has is tried as the plain long and short form. Zeros are unused
    /// slots. The reference: 13 (long form, water, ...), 7 (tobacco, beer), 6 (milk).
    pub recovery_serial_lengths: [u8; 4],
    /// Restore codes typed through the Russian keyboard layout when the mapping is certain.
    pub repair_keyboard_layout: bool,
}

impl Default for ParseOptions {
    fn default() -> ParseOptions {
        ParseOptions {
            gs_substitute: None,
            recovery_serial_lengths: [13, 7, 6, 0],
            repair_keyboard_layout: true,
        }
    }
}

/// The symbology the scanner reported through its AIM identifier (`]d2` and so on).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Symbology {
    aim: [u8; 2],
}

impl Symbology {
    pub const GS1_DATA_MATRIX: Symbology = Symbology { aim: *b"d2" };

    pub fn from_aim(aim: [u8; 2]) -> Symbology {
        Symbology { aim }
    }

    /// The AIM identifier without its `]`, such as `d2`.
    pub fn aim(&self) -> [u8; 2] {
        self.aim
    }

    /// A stable name: `gs1_datamatrix`, `datamatrix`, `gs1_qr`, `qr`, `gs1_128`, `code128`,
    /// `ean13`, `ean8`, `gs1_databar`, `pdf417` or `other`.
    pub fn name(&self) -> &'static str {
        match &self.aim {
            b"d2" => "gs1_datamatrix",
            [b'd', _] => "datamatrix",
            b"Q3" => "gs1_qr",
            [b'Q', _] => "qr",
            b"C1" => "gs1_128",
            [b'C', _] => "code128",
            b"E0" => "ean13",
            b"E4" => "ean8",
            [b'e', _] => "gs1_databar",
            [b'L', _] => "pdf417",
            _ => "other",
        }
    }

    /// Whether the symbol carried FNC1 in first position, as every marking code must.
    pub fn is_gs1(&self) -> bool {
        matches!(&self.aim, b"d2" | b"Q3" | b"C1" | [b'e', _])
    }
}

impl fmt::Display for Symbology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "]{}{}", char::from(self.aim[0]), char::from(self.aim[1]))
    }
}

/// What the parser had to undo or restore to read the code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Repairs {
    pub aim_stripped: bool,
    pub suffix_stripped: bool,
    pub fnc1_stripped: bool,
    pub gs_stand_in_replaced: bool,
    /// Separators were missing and the split was derived from the layout's fixed lengths.
    pub gs_recovered: bool,
    /// The code was typed through the Russian keyboard layout and mapped back.
    pub layout_repaired: bool,
    /// The code was written in human-readable form, `(01)...(21)...`, as printed under a
    /// symbol or in a document, and turned into an element string.
    pub human_readable: bool,
}

impl Repairs {
    /// True when the code was restored rather than read as sent: validation may ask the
    /// operator to confirm such a scan, and support should fix the scanner setup.
    pub fn recovered(&self) -> bool {
        self.gs_recovered || self.layout_repaired
    }

    /// Stable names of the repairs made, in a fixed order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        [
            (self.aim_stripped, "aim_stripped"),
            (self.suffix_stripped, "suffix_stripped"),
            (self.fnc1_stripped, "fnc1_stripped"),
            (self.gs_stand_in_replaced, "gs_stand_in_replaced"),
            (self.gs_recovered, "gs_recovered"),
            (self.layout_repaired, "layout_repaired"),
            (self.human_readable, "human_readable"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
    }
}

/// What a scanned code identifies.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CodeKind {
    /// Consumer unit, long form: `01` `21` GS `91` GS `92` (light industry, shoes, pharma...).
    UnitLong,
    /// Consumer unit, short form: `01` `21` GS `93` (milk, water, beer...).
    UnitShort,
    /// Tobacco pack: 29 characters without AIs, carrying the maximum retail price.
    TobaccoPack,
    /// Group package (КИГУ) such as a tobacco block: `01` `21` GS `8005` GS `93`.
    GroupPackage,
    /// Transport package (КИТУ) labelled with an SSCC: `00` + 18 digits or the bare digits.
    Sscc,
    /// A plain GTIN or EAN of unmarked goods.
    Gtin,
    /// GTIN and serial without a verification part: a КИ typed from a document or printed in
    /// human-readable form; it identifies a unit but proves nothing.
    KiOnly,
    /// A valid GS1 element string that names no marked item and no package: a lot, a date, a
    /// price, a count, internal data, without a GTIN or an SSCC. Not a marking code: [`parse`]
    /// refuses it as `not_marking_code`, and [`read_gs1_data`] reads it, so that the operator and
    /// support can see what was scanned.
    Gs1Data,
}

impl CodeKind {
    /// A stable name for JSON and logs.
    pub fn code(self) -> &'static str {
        match self {
            CodeKind::UnitLong => "unit_long",
            CodeKind::UnitShort => "unit_short",
            CodeKind::TobaccoPack => "tobacco_pack",
            CodeKind::GroupPackage => "group_package",
            CodeKind::Sscc => "sscc",
            CodeKind::Gtin => "gtin",
            CodeKind::KiOnly => "ki_only",
            CodeKind::Gs1Data => "gs1_data",
        }
    }

    /// What the kind is, for the operator.
    pub fn describe(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (CodeKind::UnitLong | CodeKind::UnitShort, Lang::En) => "Marking code of an item",
            (CodeKind::UnitLong | CodeKind::UnitShort, Lang::Ru) => "Код маркировки товара",
            (CodeKind::TobaccoPack, Lang::En) => "Marking code of a tobacco pack",
            (CodeKind::TobaccoPack, Lang::Ru) => "Код маркировки пачки",
            (CodeKind::GroupPackage, Lang::En) => "Marking code of a group package",
            (CodeKind::GroupPackage, Lang::Ru) => "Код маркировки групповой упаковки",
            (CodeKind::Sscc, Lang::En) => "Transport package label (SSCC)",
            (CodeKind::Sscc, Lang::Ru) => "Код транспортной упаковки (SSCC)",
            (CodeKind::Gtin, Lang::En) => "Product barcode (GTIN), not a marking code",
            (CodeKind::Gtin, Lang::Ru) => "Штрихкод товара (GTIN), а не код маркировки",
            (CodeKind::KiOnly, Lang::En) => "Identification code without its verification part",
            (CodeKind::KiOnly, Lang::Ru) => "Код идентификации без кода проверки",
            (CodeKind::Gs1Data, Lang::En) => {
                "GS1 data without a GTIN and serial (a lot, a date, internal data): not a marking code"
            }
            (CodeKind::Gs1Data, Lang::Ru) => {
                "Данные GS1 без GTIN и серийного номера (партия, дата, служебные данные): это не код маркировки"
            }
        }
    }

    /// Whether the kind names one marked item (and so has a [`Ki`]).
    pub fn has_ki(self) -> bool {
        matches!(
            self,
            CodeKind::UnitLong
                | CodeKind::UnitShort
                | CodeKind::TobaccoPack
                | CodeKind::GroupPackage
                | CodeKind::KiOnly
        )
    }
}

/// Which product group a code's layout points to; the catalogue knows for sure.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GroupGuess {
    Known(ProductGroup),
    OneOf(&'static [ProductGroup]),
    Unknown,
}

const LONG_FORM_GROUPS: &[ProductGroup] = &[
    ProductGroup::LightIndustry,
    ProductGroup::Shoes,
    ProductGroup::Perfumery,
    ProductGroup::Tires,
    ProductGroup::Electronics,
    ProductGroup::Pharma,
    ProductGroup::Bicycle,
    ProductGroup::Wheelchairs,
];
const SEVEN_CHAR_SHORT_GROUPS: &[ProductGroup] =
    &[ProductGroup::Beer, ProductGroup::NonAlcoholicBeer];
const THIRTEEN_CHAR_SHORT_GROUPS: &[ProductGroup] = &[
    ProductGroup::Water,
    ProductGroup::Supplements,
    ProductGroup::Antiseptics,
    ProductGroup::SoftDrinks,
];

/// The EAEU country that issued a code, from the first character of newer serials.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Country {
    Armenia,
    Belarus,
    Kazakhstan,
    Kyrgyzstan,
    Russia,
}

impl Country {
    pub fn code(self) -> &'static str {
        match self {
            Country::Armenia => "AM",
            Country::Belarus => "BY",
            Country::Kazakhstan => "KZ",
            Country::Kyrgyzstan => "KG",
            Country::Russia => "RU",
        }
    }
}

/// The identification code (КИ): GTIN and serial. The key of every status lookup, document
/// and queue row; the verification part is not part of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ki {
    gtin: Gtin,
    serial: [u8; MAX_SERIAL_LEN],
    serial_len: u8,
}

impl Ki {
    /// A КИ from its parts; `None` when the serial is empty, too long or not CSET 82.
    pub fn new(gtin: Gtin, serial: &[u8]) -> Option<Ki> {
        if serial.is_empty()
            || serial.len() > MAX_SERIAL_LEN
            || !serial.iter().all(|&b| gs1::is_cset82(b))
        {
            return None;
        }
        let mut ki = Ki {
            gtin,
            serial: [0; MAX_SERIAL_LEN],
            serial_len: serial.len() as u8,
        };
        ki.serial[..serial.len()].copy_from_slice(serial);
        Some(ki)
    }

    /// Reads the `cis` of GIS MT: `01`GTIN`21`serial, or GTIN + 7-character serial for a
    /// tobacco pack, or any full marking code.
    pub fn from_cis(cis: &str) -> Option<Ki> {
        let b = cis.as_bytes();
        if b.len() == 21
            && let Some(gtin) = Gtin::from_digits(&b[..14])
        {
            return Ki::new(gtin, &b[14..]);
        }
        if b.len() >= 19
            && b.starts_with(b"01")
            && &b[16..18] == b"21"
            && !b.contains(&GS)
            && let Some(gtin) = Gtin::from_digits(&b[2..16])
            && let Some(ki) = Ki::new(gtin, &b[18..])
        {
            return Some(ki);
        }
        parse(b, &ParseOptions::default()).ok()?.ki()
    }

    pub fn gtin(&self) -> Gtin {
        self.gtin
    }

    pub fn serial(&self) -> &str {
        // Only CSET 82 bytes get in, and they are ASCII.
        std::str::from_utf8(&self.serial[..usize::from(self.serial_len)]).unwrap_or_default()
    }

    /// The compact key for the status cache: 6 bytes of GTIN (big-endian, so keys sort by
    /// GTIN) followed by the serial. 19 bytes for a 13-character serial.
    pub fn key(&self) -> KiKey {
        let mut bytes = [0u8; KI_KEY_MAX];
        bytes[..6].copy_from_slice(&self.gtin.value().to_be_bytes()[2..]);
        let n = usize::from(self.serial_len);
        bytes[6..6 + n].copy_from_slice(&self.serial[..n]);
        KiKey {
            bytes,
            len: (6 + n) as u8,
        }
    }

    /// The inverse of [`Ki::key`].
    pub fn from_key(key: &[u8]) -> Option<Ki> {
        let (gtin, serial) = key.split_at_checked(6)?;
        let mut value = [0u8; 8];
        value[2..].copy_from_slice(gtin);
        Ki::new(Gtin::from_value(u64::from_be_bytes(value))?, serial)
    }
}

impl fmt::Display for Ki {
    /// The GS1 form `01`GTIN`21`serial.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "01{}21{}", self.gtin, self.serial())
    }
}

impl fmt::Debug for Ki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ki({self})")
    }
}

const KI_KEY_MAX: usize = 6 + MAX_SERIAL_LEN;

/// The bytes of [`Ki::key`], without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct KiKey {
    bytes: [u8; KI_KEY_MAX],
    len: u8,
}

impl KiKey {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The verification part ("crypto tail") of a code, as the code carries it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Verification<'a> {
    /// AI 91, the verification key id (4 characters).
    pub key: Option<&'a str>,
    /// AI 92, the signature (44 or 88 characters).
    pub signature: Option<&'a str>,
    /// AI 93 or the last 4 characters of a tobacco pack.
    pub tail: Option<&'a str>,
}

/// A scanned code, read and checked. Holds its canonical text inline (no heap), so it can be
/// copied across threads and stored cheaply.
#[derive(Clone, Copy)]
pub struct MarkingCode {
    kind: CodeKind,
    text: Text,
    elements: Elements,
    symbology: Option<Symbology>,
    repairs: Repairs,
}

const TOBACCO_PRICE: std::ops::Range<usize> = 21..25;
/// The serial of a tobacco pack and of a tobacco block.
const TOBACCO_SERIAL_LEN: usize = 7;
const TOBACCO_TAIL: std::ops::Range<usize> = 25..29;

/// The alphabet of the base-80 maximum retail price in tobacco pack codes.
const BASE80: &[u8; 80] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!\"%&'*+-./_,:;=<>?";

fn base80_digit(b: u8) -> Option<u32> {
    BASE80.iter().position(|&c| c == b).map(|i| i as u32)
}

fn as_str(bytes: &[u8]) -> &str {
    // Every byte in a MarkingCode's text passed a CSET 82, digit or GS check: all ASCII.
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl MarkingCode {
    pub fn kind(&self) -> CodeKind {
        self.kind
    }

    /// The code as documents need it: elements in scan order, a real GS byte after every
    /// variable-length field that is not last, no prefixes or suffixes (the КМ).
    pub fn canonical(&self) -> &str {
        as_str(self.text.as_bytes())
    }

    pub fn symbology(&self) -> Option<Symbology> {
        self.symbology
    }

    pub fn repairs(&self) -> Repairs {
        self.repairs
    }

    /// The GS1 elements in scan order (none for a tobacco pack, which has no AIs).
    pub fn elements(&self) -> impl Iterator<Item = (Ai, &str)> {
        self.elements
            .as_slice()
            .iter()
            .map(|e| (e.ai, as_str(e.value(self.text.as_bytes()))))
    }

    pub fn element(&self, ai: Ai) -> Option<&str> {
        self.elements
            .get(ai)
            .map(|e| as_str(e.value(self.text.as_bytes())))
    }

    pub fn gtin(&self) -> Option<Gtin> {
        match self.kind {
            CodeKind::TobaccoPack => Gtin::from_digits(&self.text.as_bytes()[..14]),
            _ => self
                .element(Ai::GTIN)
                .and_then(|g| Gtin::from_digits(g.as_bytes())),
        }
    }

    pub fn serial(&self) -> Option<&str> {
        match self.kind {
            CodeKind::TobaccoPack => Some(as_str(&self.text.as_bytes()[14..21])),
            _ => self.element(Ai::SERIAL),
        }
    }

    /// The КИ, for kinds that identify one marked item.
    pub fn ki(&self) -> Option<Ki> {
        if !self.kind.has_ki() {
            return None;
        }
        Ki::new(self.gtin()?, self.serial()?.as_bytes())
    }

    /// The КИ as GIS MT writes it in `cis`: `01`GTIN`21`serial, or GTIN + serial for a
    /// tobacco pack.
    pub fn cis(&self) -> Option<String> {
        let ki = self.ki()?;
        Some(match self.kind {
            CodeKind::TobaccoPack => format!("{}{}", ki.gtin(), ki.serial()),
            _ => ki.to_string(),
        })
    }

    pub fn sscc(&self) -> Option<Sscc> {
        self.element(Ai::SSCC)
            .and_then(|s| Sscc::from_digits(s.as_bytes()))
    }

    pub fn verification(&self) -> Verification<'_> {
        match self.kind {
            CodeKind::TobaccoPack => Verification {
                tail: Some(as_str(&self.text.as_bytes()[TOBACCO_TAIL])),
                ..Verification::default()
            },
            _ => Verification {
                key: self.element(Ai::VERIFICATION_KEY),
                signature: self.element(Ai::SIGNATURE),
                tail: self.element(Ai::CRYPTO_TAIL),
            },
        }
    }

    /// Maximum retail price in kopecks: base 80 in a tobacco pack, AI 8005 in a block.
    pub fn max_retail_price(&self) -> Option<u32> {
        match self.kind {
            CodeKind::TobaccoPack => self.text.as_bytes()[TOBACCO_PRICE]
                .iter()
                .try_fold(0u32, |acc, &b| Some(acc * 80 + base80_digit(b)?)),
            _ => self.element(Ai::PRICE).and_then(|p| p.parse().ok()),
        }
    }

    /// Expiry date from AI 17 or the date part of AI 7003.
    pub fn expiry(&self) -> Option<Gs1Date> {
        self.element(Ai::EXPIRY)
            .or_else(|| self.element(Ai::EXPIRY_TIME).map(|t| &t[..6]))
            .and_then(|d| Gs1Date::from_yymmdd(d.as_bytes()))
    }

    /// Expiry date and minute from AI 7003, when the code carries it (milk with a short shelf
    /// life). The clock is the reader's to choose: GIS MT's is Moscow's.
    pub fn expiry_time(&self) -> Option<Gs1DateTime> {
        self.element(Ai::EXPIRY_TIME)
            .and_then(|t| Gs1DateTime::from_yymmddhhmm(t.as_bytes()))
    }

    /// A КИ without a verification part whose serial has a length no product group uses
    /// (`../shared/docs/marking-codes.md` §3: 13, 7 or 6 characters): most likely a scan cut
    /// short, possibly a КИ of a group whose length the reference does not confirm. The
    /// terminal should not take such a scan without a fresh one; [`Rejection::SerialLength`]
    /// is the reason to give. A КИ whose group is known is judged by that group's length
    /// instead ([`MarkingCode::serial_fits`], the validator's `serial_length` finding): seven
    /// characters are tobacco's, yet a shoe КИ cut short.
    pub fn is_possibly_truncated(&self) -> bool {
        self.kind == CodeKind::KiOnly
            && !formats::serial_length_is_known(self.serial().map_or(0, str::len))
    }

    /// Whether a КИ without a verification part has a serial of `group`'s length
    /// (`../shared/docs/marking-codes.md` §3); one that has not was cut short or is another
    /// group's code. `None` when the code is no bare КИ or the reference gives `group` no
    /// serial length.
    pub fn serial_fits(&self, group: ProductGroup) -> Option<bool> {
        if self.kind != CodeKind::KiOnly {
            return None;
        }
        let expected = formats::serial_length_of(group)?;
        Some(self.serial().map_or(0, str::len) == expected)
    }

    /// The issuing country named by the first character of the serial. Newer serials follow
    /// this rule; older ones may not, so it is a hint, not a fact.
    pub fn serial_country_hint(&self) -> Option<Country> {
        if !self.kind.has_ki() {
            return None;
        }
        match self.serial()?.as_bytes().first()? {
            b'1' => Some(Country::Armenia),
            b'2' => Some(Country::Belarus),
            b'3' => Some(Country::Kazakhstan),
            b'4' => Some(Country::Kyrgyzstan),
            b'5' | b'E' | b'e' => Some(Country::Russia),
            _ => None,
        }
    }

    /// The product group the layout points to.
    pub fn product_group(&self) -> GroupGuess {
        let serial_len = self.serial().map_or(0, str::len);
        match self.kind {
            CodeKind::TobaccoPack | CodeKind::GroupPackage => {
                GroupGuess::Known(ProductGroup::Tobacco)
            }
            CodeKind::UnitLong => GroupGuess::OneOf(LONG_FORM_GROUPS),
            CodeKind::UnitShort
                if serial_len == 6
                    || self.element(Ai::new(3103, 4)).is_some()
                    || self.element(Ai::EXPIRY_TIME).is_some() =>
            {
                GroupGuess::Known(ProductGroup::Milk)
            }
            CodeKind::UnitShort if serial_len == 7 => GroupGuess::OneOf(SEVEN_CHAR_SHORT_GROUPS),
            CodeKind::UnitShort if serial_len == 13 => {
                GroupGuess::OneOf(THIRTEEN_CHAR_SHORT_GROUPS)
            }
            _ => GroupGuess::Unknown,
        }
    }
}

impl fmt::Debug for MarkingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MarkingCode")
            .field("kind", &self.kind)
            .field("canonical", &self.canonical().escape_debug().to_string())
            .field("repairs", &self.repairs)
            .finish()
    }
}

impl PartialEq for MarkingCode {
    fn eq(&self, other: &MarkingCode) -> bool {
        self.kind == other.kind && self.text.as_bytes() == other.text.as_bytes()
    }
}

impl Eq for MarkingCode {}

/// Reads one scan payload as a marking code, a box label or a product barcode.
///
/// A valid GS1 element string that carries none of them (a lot, a date, internal data) is
/// refused as [`Rejection::NotMarkingCode`]: no operation can take it, and a caller that
/// matched only on `Ok` must not mistake it for a code. [`read_gs1_data`] reads the same scan
/// and keeps such data, so the operator and support can see the elements that were read.
pub fn parse(raw: &[u8], options: &ParseOptions) -> Result<MarkingCode, Rejection> {
    read(raw, options, Gs1DataIs::Refused)
}

/// Reads one scan as [`parse`] does, and also answers a valid element string that is no
/// marking code, as a [`MarkingCode`] of kind [`CodeKind::Gs1Data`] with its elements.
///
/// Where `parse` refuses with `not_marking_code` because the scan is GS1 data, this is how to
/// show what the scan held; every other refusal is the same as `parse`'s.
pub fn read_gs1_data(raw: &[u8], options: &ParseOptions) -> Result<MarkingCode, Rejection> {
    read(raw, options, Gs1DataIs::Read)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Gs1DataIs {
    Refused,
    Read,
}

fn read(raw: &[u8], options: &ParseOptions, data: Gs1DataIs) -> Result<MarkingCode, Rejection> {
    // Judged by reference and returned as read: moving the code through a closure cost a copy
    // of its text on every scan.
    let usable = |read: &Result<MarkingCode, Rejection>| match read {
        Ok(code) => data == Gs1DataIs::Read || code.kind != CodeKind::Gs1Data,
        Err(_) => false,
    };
    let cleaned = normalize::clean(raw, options.gs_substitute, AngleStandIn::Replace)?;
    let first = parse_cleaned(&cleaned, options);
    if usable(&first) {
        return first;
    }
    if cleaned.replaced_angle_stand_in {
        // `<` and `>` are legal in serials and tails: "<GS>" may have been the code itself.
        let kept = normalize::clean(raw, options.gs_substitute, AngleStandIn::Keep)?;
        let second = parse_cleaned(&kept, options);
        if usable(&second) {
            return second;
        }
    }
    match first {
        Ok(_) => Err(Rejection::NotMarkingCode),
        refused => refused,
    }
}

fn parse_cleaned(cleaned: &Cleaned, options: &ParseOptions) -> Result<MarkingCode, Rejection> {
    let bytes = cleaned.text.as_bytes();
    if bytes.is_ascii() {
        return parse_text(bytes, cleaned.symbology, cleaned.repairs, options);
    }
    if layout::looks_russian(bytes) {
        if !options.repair_keyboard_layout {
            return Err(Rejection::KeyboardLayout);
        }
        let repaired = layout::repair(bytes)?;
        let repairs = Repairs {
            layout_repaired: true,
            ..cleaned.repairs
        };
        return parse_text(repaired.as_bytes(), cleaned.symbology, repairs, options)
            .map_err(|_| Rejection::KeyboardLayout);
    }
    let position = bytes.iter().position(|b| !b.is_ascii()).unwrap_or(0) + 1;
    Err(Rejection::InvalidByte { position })
}

fn parse_text(
    bytes: &[u8],
    symbology: Option<Symbology>,
    repairs: Repairs,
    options: &ParseOptions,
) -> Result<MarkingCode, Rejection> {
    let has_gs = bytes.contains(&GS);
    let code = |kind, text, elements, repairs| MarkingCode {
        kind,
        text,
        elements,
        symbology,
        repairs,
    };

    // FNC1 in first position (a GS1 symbology, a leading FNC1 or GS) proves an element string:
    // its digits are AIs, never a bare GTIN or SSCC (`]C1` 106141411234567897 is a batch, not
    // a box label; a GS1-128 label always carries the `00`).
    let framed = repairs.fnc1_stripped || symbology.is_some_and(|s| s.is_gs1());
    if !framed && bytes.iter().all(u8::is_ascii_digit) {
        let elements = || parse_elements(bytes, symbology, repairs, options);
        match bytes.len() {
            8 | 12 | 13 | 14 => {
                // Digits that fail as a GTIN may still be an element string (an expiry date
                // alone is eight digits): it is read as one before the check digit is blamed.
                let Some(gtin) = Gtin::from_digits(bytes) else {
                    return elements().map_err(|_| Rejection::GtinCheckDigit);
                };
                let (text, elements) = single_element(Ai::GTIN, &gtin.digits());
                return Ok(code(CodeKind::Gtin, text, elements, repairs));
            }
            // Eighteen digits that fail as an SSCC stay a mistyped SSCC: a box label is what
            // the operator scans in a warehouse, and its reason must say so.
            18 => {
                let Some(sscc) = Sscc::from_digits(bytes) else {
                    return Err(Rejection::SsccCheckDigit);
                };
                let (text, elements) = single_element(Ai::SSCC, &sscc.digits());
                return Ok(code(CodeKind::Sscc, text, elements, repairs));
            }
            // Shorter than any GTIN: GS1 data if it reads as such, else a number (a price tag,
            // a quantity) that is no code at all. Text from the human-readable form says it is
            // GS1 and keeps its field-level reasons.
            0..8 if !repairs.human_readable => {
                return elements().map_err(|_| Rejection::NotMarkingCode);
            }
            _ => {}
        }
    }
    if !has_gs && is_tobacco_pack(bytes) {
        let mut text = Text::new();
        // 29 bytes always fit.
        let _ = text.extend(bytes);
        return Ok(code(CodeKind::TobaccoPack, text, Elements::new(), repairs));
    }
    if !has_gs && is_excise_stamp(bytes) {
        return Err(Rejection::ExciseStamp);
    }
    if bytes.first() == Some(&b'(') && !repairs.human_readable {
        let text = from_human_readable(bytes)?;
        let repairs = Repairs {
            human_readable: true,
            ..repairs
        };
        return parse_text(text.as_bytes(), symbology, repairs, options);
    }
    parse_elements(bytes, symbology, repairs, options)
}

/// GS1 data whose canonical text is nothing but digits of a GTIN's length with a valid check
/// digit, or of an SSCC's length, would read back as a product barcode or a box label
/// (`(20)12 (17)260106` is `201217260106`, a valid GTIN-12): it cannot be kept as what it is,
/// and it is no marking code either way.
///
/// So would any element string (GS1 data or a КИ) whose canonical text holds no GS and has
/// the shape of a tobacco pack (29 characters) or an excise stamp: the separator that told
/// them apart in the scan falls away after a fixed-length AI (fuzzing found `(20)30(401)…`,
/// and `(20)39(01)…(21)0000001`, a КИ behind an internal variant).
fn reads_back_as_a_number(code: &MarkingCode) -> bool {
    let text = code.text.as_bytes();
    let digits = text.iter().all(u8::is_ascii_digit)
        && match text.len() {
            8 | 12 | 13 | 14 => Gtin::from_digits(text).is_some(),
            18 => true,
            _ => false,
        };
    let other_shape = !text.contains(&GS) && (is_tobacco_pack(text) || is_excise_stamp(text));
    (code.kind == CodeKind::Gs1Data && digits)
        || (code.kind != CodeKind::TobaccoPack && other_shape)
}

/// Reads a GS1 element string, restoring lost separators where the product groups' formats
/// allow exactly one split.
fn parse_elements(
    bytes: &[u8],
    symbology: Option<Symbology>,
    repairs: Repairs,
    options: &ParseOptions,
) -> Result<MarkingCode, Rejection> {
    if gs1::ai_spec_at(bytes).is_none() {
        return Err(Rejection::NotMarkingCode);
    }
    let recovered = |text: Text, elements: Elements| -> Result<MarkingCode, Rejection> {
        let kind = classify(&elements, text.as_bytes())?;
        let repairs = Repairs {
            gs_recovered: true,
            ..repairs
        };
        build(kind, text.as_bytes(), &elements, symbology, repairs)
    };
    let lengths = &options.recovery_serial_lengths;
    match elements::parse_strict(bytes) {
        Ok(strict) => {
            let kind = classify(&strict.elements, bytes);
            // A code read as sent that is not a whole code, or a КИ whose serial runs to the
            // end, may be one whose separators were lost: its structure decides.
            if kind.is_err() || serial_may_have_swallowed(&strict.elements, bytes) {
                match elements::recover(bytes, lengths) {
                    Recovery::Unique { text, elements } => return recovered(text, elements),
                    Recovery::Ambiguous => return Err(Rejection::AmbiguousSeparator),
                    Recovery::NoFit => {}
                }
            }
            let repairs = Repairs {
                gs_recovered: strict.implied_separator,
                ..repairs
            };
            build(kind?, bytes, &strict.elements, symbology, repairs)
        }
        Err(rejection) => match elements::recover(bytes, lengths) {
            Recovery::Unique { text, elements } => recovered(text, elements),
            Recovery::Ambiguous => Err(Rejection::AmbiguousSeparator),
            // A variable field too long in a code without any separator: they were lost.
            Recovery::NoFit => match rejection {
                Rejection::ValueLength { ai } if !bytes.contains(&GS) && !is_fixed(ai) => {
                    Err(Rejection::MissingSeparator)
                }
                other => Err(other),
            },
        },
    }
}

fn is_fixed(ai: Ai) -> bool {
    gs1::ai_at(ai.digits().as_bytes()).is_some_and(|(_, spec)| spec.is_fixed())
}

fn single_element(ai: Ai, digits: &[u8]) -> (Text, Elements) {
    let mut source = Text::new();
    let _ = source.extend(ai.digits().as_bytes()) && source.extend(digits);
    match elements::parse_strict(source.as_bytes()) {
        Ok(strict) => (source, strict.elements),
        // Unreachable for a checked GTIN or SSCC; an empty element list is still safe.
        Err(_) => (source, Elements::new()),
    }
}

/// A КИ without any verification part whose serial runs to the end of the text had no
/// separator after it, whatever separators stand elsewhere (one after the fixed-length GTIN
/// proves nothing): the serial may have swallowed the verification part.
fn serial_may_have_swallowed(elements: &Elements, text: &[u8]) -> bool {
    // The cheapest and most selective test first: most scans end with a verification part.
    let serial_runs_to_end = elements
        .get(Ai::SERIAL)
        .is_some_and(|e| usize::from(e.end) == text.len());
    serial_runs_to_end
        && elements.has(Ai::GTIN)
        && ![
            Ai::VERIFICATION_KEY,
            Ai::SIGNATURE,
            Ai::CRYPTO_TAIL,
            Ai::PRICE,
        ]
        .iter()
        .any(|&ai| elements.has(ai))
}

fn classify(elements: &Elements, text: &[u8]) -> Result<CodeKind, Rejection> {
    let has = |ai| elements.has(ai);
    if has(Ai::SSCC) {
        return Ok(CodeKind::Sscc);
    }
    let verification = has(Ai::VERIFICATION_KEY) || has(Ai::SIGNATURE) || has(Ai::CRYPTO_TAIL);
    match (has(Ai::GTIN), has(Ai::SERIAL)) {
        (true, true) => classify_unit(elements, text),
        (true, false) if verification => Err(Rejection::IncompleteCode {
            missing: Ai::SERIAL,
        }),
        (true, false) => Ok(CodeKind::Gtin),
        (false, true) => Err(Rejection::IncompleteCode { missing: Ai::GTIN }),
        (false, false) => Ok(CodeKind::Gs1Data),
    }
}

/// The AIs that open a verification part: 91 (then 92) in the long form, 93 in the short form,
/// 8005 (then 93) in the tobacco block.
fn opens_verification(ai: Ai) -> bool {
    ai == Ai::VERIFICATION_KEY || ai == Ai::SIGNATURE || ai == Ai::CRYPTO_TAIL || ai == Ai::PRICE
}

/// A code with GTIN and serial. Its format is the verification part that starts first after
/// the serial; AIs after that part are extra data whatever their numbers, so a block or a short
/// code that carries a 91 or 92 of its own after its tail still reads as what it is.
fn classify_unit(elements: &Elements, text: &[u8]) -> Result<CodeKind, Rejection> {
    let has = |ai| elements.has(ai);
    let len = |ai| {
        elements
            .get(ai)
            .map_or(0, |e: &Element| e.value(text).len())
    };
    let tail_ok = |ai, allowed: &[usize]| {
        if allowed.contains(&len(ai)) {
            Ok(())
        } else {
            Err(Rejection::VerificationLength { ai })
        }
    };
    let all = elements.as_slice();
    let serial_at = all.iter().position(|e| e.ai == Ai::SERIAL).unwrap_or(0);
    let opener = all[serial_at..]
        .iter()
        .chain(all[..serial_at].iter())
        .map(|e| e.ai)
        .find(|&ai| opens_verification(ai));
    match opener {
        Some(ai) if ai == Ai::VERIFICATION_KEY || ai == Ai::SIGNATURE => {
            match (has(Ai::VERIFICATION_KEY), has(Ai::SIGNATURE)) {
                (true, false) => Err(Rejection::IncompleteCode {
                    missing: Ai::SIGNATURE,
                }),
                (false, _) => Err(Rejection::IncompleteCode {
                    missing: Ai::VERIFICATION_KEY,
                }),
                (true, true) => {
                    tail_ok(Ai::VERIFICATION_KEY, &[4])?;
                    tail_ok(Ai::SIGNATURE, &[44, 88])?;
                    Ok(CodeKind::UnitLong)
                }
            }
        }
        Some(ai) if ai == Ai::CRYPTO_TAIL => {
            tail_ok(Ai::CRYPTO_TAIL, &[4])?;
            Ok(CodeKind::UnitShort)
        }
        Some(_) => {
            // 8005 first: the tobacco block's order, but a price alone makes nothing tobacco
            // (other groups carry one too). A block's 7-character serial without 93 is a block
            // missing its tail; another serial without 93 is a bare КИ with a price; with 93,
            // a serial that is not the block's is a short-form code with a price.
            let block_serial = len(Ai::SERIAL) == TOBACCO_SERIAL_LEN;
            if !has(Ai::CRYPTO_TAIL) && !block_serial {
                return Ok(CodeKind::KiOnly);
            }
            if !has(Ai::CRYPTO_TAIL) {
                return Err(Rejection::IncompleteCode {
                    missing: Ai::CRYPTO_TAIL,
                });
            }
            tail_ok(Ai::CRYPTO_TAIL, &[4])?;
            Ok(if block_serial {
                CodeKind::GroupPackage
            } else {
                CodeKind::UnitShort
            })
        }
        // A bare КИ. One whose serial length no group uses is flagged, not refused
        // (`MarkingCode::is_possibly_truncated`): the hub re-reads every pushed КИ through
        // this parser, and the reference leaves several groups' lengths unconfirmed.
        None => Ok(CodeKind::KiOnly),
    }
}

/// Makes the code with its canonical text: the elements in scan order, a GS after every field
/// that needs one. Most scans already are canonical and are taken over in one copy.
fn build(
    kind: CodeKind,
    source: &[u8],
    elements: &Elements,
    symbology: Option<Symbology>,
    repairs: Repairs,
) -> Result<MarkingCode, Rejection> {
    let mut code = MarkingCode {
        kind,
        text: Text::new(),
        elements: *elements,
        symbology,
        repairs,
    };
    if is_canonical(source, elements) {
        // It fits: it came out of a Text.
        let _ = code.text.extend(source);
        if reads_back_as_a_number(&code) {
            return Err(Rejection::NotMarkingCode);
        }
        return Ok(code);
    }
    code.elements = Elements::new();
    let all = elements.as_slice();
    for (i, e) in all.iter().enumerate() {
        let value = e.value(source);
        let start = code.text.len() + e.ai.width();
        let needs_gs = e.separated && i + 1 < all.len();
        let fits = code.text.extend(e.ai.digits().as_bytes())
            && code.text.extend(value)
            && (!needs_gs || code.text.push(GS));
        if !fits {
            return Err(Rejection::TooLong);
        }
        code.elements.push(Element {
            start: start as u8,
            end: (start + value.len()) as u8,
            ..*e
        })?;
    }
    if reads_back_as_a_number(&code) {
        return Err(Rejection::NotMarkingCode);
    }
    Ok(code)
}

fn is_canonical(source: &[u8], elements: &Elements) -> bool {
    let all = elements.as_slice();
    let mut pos = 0;
    for (i, e) in all.iter().enumerate() {
        if usize::from(e.start) != pos + e.ai.width() {
            return false;
        }
        pos = usize::from(e.end);
        if e.separated && i + 1 < all.len() {
            if source.get(pos) != Some(&GS) {
                return false;
            }
            pos += 1;
        }
    }
    pos == source.len()
}

/// The AI written as `(01)` at the start of `bytes`, if it is one this terminal knows.
fn bracketed_ai(bytes: &[u8]) -> Option<(Ai, AiSpec)> {
    let rest = bytes.strip_prefix(b"(")?;
    let (ai, spec) = gs1::ai_at(rest)?;
    (rest.get(ai.width()) == Some(&b')')).then_some((ai, spec))
}

/// Turns `(01)04600840749372(21)5XyZ1a(93)Ab1+` into an element string with GS where GS1
/// needs one. A value runs to the next bracketed known AI: `(` is legal in values, so a value
/// that contains a bracketed AI of its own cannot be written in this form. Each value must have
/// a length its AI allows: a short one would otherwise run into the next field once the
/// brackets are gone (`(17)9(90)217` is not `17990217`).
fn from_human_readable(bytes: &[u8]) -> Result<Text, Rejection> {
    let mut text = Text::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let (ai, spec) = bracketed_ai(&bytes[pos..]).ok_or(Rejection::NotMarkingCode)?;
        let start = pos + ai.width() + 2;
        let end = (start..bytes.len())
            .find(|&i| bytes[i] == b'(' && bracketed_ai(&bytes[i..]).is_some())
            .unwrap_or(bytes.len());
        if !(usize::from(spec.min)..=usize::from(spec.max)).contains(&(end - start)) {
            return Err(Rejection::ValueLength { ai });
        }
        let needs_gs = !spec.predefined && end < bytes.len();
        let fits = text.extend(ai.digits().as_bytes())
            && text.extend(&bytes[start..end])
            && (!needs_gs || text.push(GS));
        if !fits {
            return Err(Rejection::TooLong);
        }
        pos = end;
    }
    Ok(text)
}

fn is_tobacco_pack(b: &[u8]) -> bool {
    b.len() == 29
        && Gtin::from_digits(&b[..14]).is_some()
        && b[14..21].iter().all(|&c| gs1::is_cset82(c))
        && b[TOBACCO_PRICE].iter().all(|&c| base80_digit(c).is_some())
        && b[TOBACCO_TAIL].iter().all(|&c| gs1::is_cset82(c))
}

/// EGAIS excise stamps: 68 (old) or 150 (new) upper-case letters and digits in a PDF417.
fn is_excise_stamp(b: &[u8]) -> bool {
    (b.len() == 68 || b.len() == 150)
        && b.iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests;
