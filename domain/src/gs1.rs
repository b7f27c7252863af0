//! GS1 building blocks of marking codes: application identifiers, check digits, character sets.

use std::fmt;

/// The group separator: how every FNC1 after the first reaches the software.
pub const GS: u8 = 0x1D;

/// GS1 mod-10 check digit of `digits` (ASCII, without the check digit).
///
/// Weights run 3,1,3,1... from the rightmost digit leftwards, so the same
/// function serves GTIN-8/12/13/14 and SSCC-18.
pub fn check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// True when `digits` are all ASCII digits and the last one is the GS1 check digit of the rest.
pub fn check_digit_is_valid(digits: &[u8]) -> bool {
    match digits.split_last() {
        Some((last, body)) if digits.iter().all(u8::is_ascii_digit) => {
            check_digit(body) == last - b'0'
        }
        _ => false,
    }
}

fn digits_value(digits: &[u8]) -> u64 {
    digits
        .iter()
        .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'))
}

fn write_padded(f: &mut fmt::Formatter<'_>, value: u64, width: usize) -> fmt::Result {
    write!(f, "{value:0width$}")
}

/// `value` as exactly N ASCII digits, zero-padded on the left.
fn padded_digits<const N: usize>(mut value: u64) -> [u8; N] {
    let mut out = [b'0'; N];
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out
}

/// A trade item number, always held in its 14-digit form as GIS MT does.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Gtin(u64);

impl Gtin {
    /// A GTIN-8, -12, -13 or -14 written in ASCII digits with a valid check digit.
    pub fn from_digits(digits: &[u8]) -> Option<Gtin> {
        match digits.len() {
            8 | 12 | 13 | 14 if check_digit_is_valid(digits) => Some(Gtin(digits_value(digits))),
            _ => None,
        }
    }

    /// The numeric value (the 14 digits read as a number).
    pub fn value(self) -> u64 {
        self.0
    }

    /// Rebuilds a GTIN from [`Gtin::value`]; `None` when it is not a valid GTIN-14.
    pub fn from_value(value: u64) -> Option<Gtin> {
        (value < 100_000_000_000_000)
            .then(|| Gtin::from_digits(&padded_digits::<14>(value)))
            .flatten()
    }

    /// The 14 ASCII digits, zero-padded.
    pub fn digits(self) -> [u8; 14] {
        padded_digits(self.0)
    }

    /// Technical GTINs are issued by the national catalogue for goods without a GS1 number.
    pub fn is_technical(self) -> bool {
        self.digits().starts_with(b"029")
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_padded(f, self.0, 14)
    }
}

/// A Serial Shipping Container Code: the label of a box or pallet (AI `00`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Sscc(u64);

impl Sscc {
    /// Eighteen ASCII digits with a valid check digit.
    pub fn from_digits(digits: &[u8]) -> Option<Sscc> {
        (digits.len() == 18 && check_digit_is_valid(digits)).then(|| Sscc(digits_value(digits)))
    }

    /// Builds the SSCC for `extension` (0-9), a GS1 company prefix (7-10 digits) and a serial
    /// reference that fills the remaining digits; `None` when the parts do not fit.
    pub fn compose(extension: u8, company_prefix: &str, serial_reference: u64) -> Option<Sscc> {
        let prefix = company_prefix.as_bytes();
        if extension > 9
            || !(7..=10).contains(&prefix.len())
            || !prefix.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        let reference_digits = 16 - prefix.len();
        if serial_reference >= 10u64.pow(reference_digits as u32) {
            return None;
        }
        let mut body = padded_digits::<17>(serial_reference);
        body[0] = b'0' + extension;
        body[1..1 + prefix.len()].copy_from_slice(prefix);
        let mut all = [0u8; 18];
        all[..17].copy_from_slice(&body);
        all[17] = b'0' + check_digit(&body);
        Sscc::from_digits(&all)
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// Rebuilds an SSCC from [`Sscc::value`]; `None` when the check digit is wrong.
    pub fn from_value(value: u64) -> Option<Sscc> {
        (value < 1_000_000_000_000_000_000)
            .then(|| Sscc::from_digits(&padded_digits::<18>(value)))
            .flatten()
    }

    /// The 18 ASCII digits, zero-padded.
    pub fn digits(self) -> [u8; 18] {
        padded_digits(self.0)
    }
}

impl fmt::Display for Sscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_padded(f, self.0, 18)
    }
}

/// An application identifier such as `01`, `240` or `3103`, leading zeros kept.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Ai {
    number: u16,
    width: u8,
}

impl Ai {
    pub const SSCC: Ai = Ai::new(0, 2);
    pub const GTIN: Ai = Ai::new(1, 2);
    pub const CONTENT: Ai = Ai::new(2, 2);
    pub const BATCH: Ai = Ai::new(10, 2);
    pub const EXPIRY: Ai = Ai::new(17, 2);
    pub const SERIAL: Ai = Ai::new(21, 2);
    pub const COUNT: Ai = Ai::new(37, 2);
    pub const EXPIRY_TIME: Ai = Ai::new(7003, 4);
    pub const PRICE: Ai = Ai::new(8005, 4);
    pub const VERIFICATION_KEY: Ai = Ai::new(91, 2);
    pub const SIGNATURE: Ai = Ai::new(92, 2);
    pub const CRYPTO_TAIL: Ai = Ai::new(93, 2);

    pub const fn new(number: u16, width: u8) -> Ai {
        Ai { number, width }
    }

    pub fn number(self) -> u16 {
        self.number
    }

    /// How many digits the AI itself takes.
    pub fn width(self) -> usize {
        usize::from(self.width)
    }

    /// Where the decimal point stands in the value of a measure or amount AI: the AI's last
    /// digit in 310n-369n (weights, lengths, areas, volumes) and 390n-395n (amounts, prices,
    /// percentages); `None` for other AIs. `3103` `000450` is 0.450 kg.
    pub fn decimals(self) -> Option<u8> {
        (self.width == 4 && matches!(self.number, 3100..=3699 | 3900..=3959))
            .then_some((self.number % 10) as u8)
    }

    /// The AI's digits as they stand in the code.
    pub fn digits(self) -> AiDigits {
        let mut bytes = [b'0'; 4];
        let mut v = self.number;
        for slot in bytes[..self.width()].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        AiDigits {
            bytes,
            len: self.width,
        }
    }
}

impl fmt::Display for Ai {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$}", self.number, width = self.width())
    }
}

/// The digits of an [`Ai`], without allocating.
#[derive(Clone, Copy, Debug)]
pub struct AiDigits {
    bytes: [u8; 4],
    len: u8,
}

impl AiDigits {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Which characters a field may hold: the dictionary's types N, X, Y and Z.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Charset {
    Numeric,
    /// GS1 "CSET 82", the alphanumeric set of variable fields (type X).
    Cset82,
    /// GS1 "CSET 39" (type Y): digits, upper-case letters, `#`, `-` and `/`; only AI 8010.
    Cset39,
    /// The file-safe base64 set with `=` padding (type Z); only AI 8030, the digital signature.
    Cset64,
}

impl Charset {
    pub fn allows(self, byte: u8) -> bool {
        match self {
            Charset::Numeric => byte.is_ascii_digit(),
            Charset::Cset82 => is_cset82(byte),
            Charset::Cset39 => {
                byte.is_ascii_digit() || byte.is_ascii_uppercase() || b"#-/".contains(&byte)
            }
            Charset::Cset64 => byte.is_ascii_alphanumeric() || b"-_=".contains(&byte),
        }
    }
}

/// What else a field's value must satisfy beyond its charset and length: the dictionary's
/// linters that decide whether a scan is readable.
///
/// The dictionary names more linters (country, currency and media-type code lists, IBAN,
/// company-prefix and percent-encoding rules); the parser does not run them. They judge the
/// business content of logistics and coupon data, their code lists change between releases,
/// and a warehouse terminal must never refuse a pallet label over a currency code: what it needs
/// is to split the element string safely (lengths, character sets) and to catch misreads (check
/// digits, dates that cannot exist).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ValueRule {
    None,
    /// The GS1 mod-10 check digit (`csum`).
    CheckDigit,
    /// YYMMDD; DD may be 00 ("end of month") (`yymmd0`).
    Date,
    /// YYMMDDhhmm.
    DateTime,
    /// YYMMDD naming a real day: DD 00 is not allowed (`yymmdd`).
    DateExact,
    /// YYYYMMDD naming a real day (`yyyymmdd`).
    LongDate,
    /// hhmm, a time of day (`hhmi`).
    HourMinute,
    /// hh, 00-23 (`hh`).
    Hour,
    /// mm, 00-59 (`mi`).
    Minute,
    /// ss, 00-59 (`ss`).
    Second,
    /// Two check characters over CSET 82, as in the GMN (8013) and MUDI (8014) (`csumalpha`).
    CheckCharacters,
}

impl ValueRule {
    /// Whether `value` (already of the right length and charset) satisfies the rule.
    #[inline]
    pub fn holds(self, value: &[u8]) -> bool {
        match self {
            ValueRule::None => true,
            ValueRule::CheckDigit => check_digit_is_valid(value),
            ValueRule::Date => date_exists(value),
            ValueRule::DateTime => date_time_exists(value),
            ValueRule::DateExact => date_exists(value) && value.get(4..6) != Some(b"00"),
            ValueRule::LongDate => long_date_exists(value),
            ValueRule::HourMinute => {
                value.len() == 4 && time_part(&value[..2], 24) && time_part(&value[2..], 60)
            }
            ValueRule::Hour => time_part(value, 24),
            ValueRule::Minute | ValueRule::Second => time_part(value, 60),
            ValueRule::CheckCharacters => check_characters_are_valid(value),
        }
    }

    /// Whether the rule is about a date or a time of day (its failure is an impossible date).
    pub fn is_temporal(self) -> bool {
        !matches!(
            self,
            ValueRule::None | ValueRule::CheckDigit | ValueRule::CheckCharacters
        )
    }
}

/// One component of an AI's value as the dictionary writes it, such as `N13,csum` or `[X..17]`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Component {
    pub charset: Charset,
    pub min: u8,
    pub max: u8,
    /// May be left out when the data ends before it (`[...]` in the dictionary).
    pub optional: bool,
    pub rule: ValueRule,
}

/// The format of one AI's value.
///
/// Small on purpose (it is returned for every element of every scan): the components and the
/// title stay in the table and are looked up by [`AiSpec::components`] and [`AiSpec::title`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AiSpec {
    /// The shortest and longest value, over all components.
    pub min: u8,
    pub max: u8,
    /// The charset every character belongs to: that of the only component, or the widest one.
    pub charset: Charset,
    /// The rule of a one-component value; values of several components carry theirs per
    /// component.
    pub rule: ValueRule,
    /// In the GS1 table of predefined lengths: never followed by a separator.
    pub predefined: bool,
    /// The entry of the table this format comes from.
    entry: u8,
    /// Whether the value has one component, so `charset` and `rule` say everything.
    single: bool,
}

impl AiSpec {
    pub fn is_fixed(&self) -> bool {
        self.min == self.max
    }

    /// Whether the value has a single component, fully described by `charset` and `rule`.
    pub fn is_single(&self) -> bool {
        self.single
    }

    /// The value's components in order: one for most AIs, several for values such as 7003
    /// (date, then time) or 421 (country, then postal code).
    pub fn components(&self) -> &'static [Component] {
        AI_TABLE
            .get(usize::from(self.entry))
            .map_or(&[], |e| e.components)
    }

    /// The dictionary's data title, such as `SSCC` or `BATCH/LOT`.
    pub fn title(&self) -> &'static str {
        AI_TABLE
            .get(usize::from(self.entry))
            .map_or("", |e| e.title)
    }
}

/// One line of the dictionary: an AI or a range of AIs sharing a format.
#[derive(Clone, Copy, Debug)]
struct AiEntry {
    first: u16,
    last: u16,
    width: u8,
    predefined: bool,
    components: &'static [Component],
    title: &'static str,
}

const fn part(charset: Charset, min: u8, max: u8, optional: bool, rule: ValueRule) -> Component {
    Component {
        charset,
        min,
        max,
        optional,
        rule,
    }
}

const fn entry(
    first: u16,
    last: u16,
    width: u8,
    predefined: bool,
    components: &'static [Component],
    title: &'static str,
) -> AiEntry {
    AiEntry {
        first,
        last,
        width,
        predefined,
        components,
        title,
    }
}

/// The summary of an entry's components that every lookup returns.
const fn spec_of(e: &AiEntry, index: usize) -> AiSpec {
    let (mut min, mut max, mut i) = (0u8, 0u8, 0);
    let mut charset = Charset::Numeric;
    while i < e.components.len() {
        let c = e.components[i];
        if !c.optional {
            min += c.min;
        }
        max += c.max;
        // X is wider than N; Y and Z occur alone.
        charset = match (charset, c.charset) {
            (Charset::Numeric, other) => other,
            (wide, _) => wide,
        };
        i += 1;
    }
    let (rule, single) = match e.components {
        [only] => (only.rule, true),
        _ => (ValueRule::None, false),
    };
    AiSpec {
        min,
        max,
        charset,
        rule,
        predefined: e.predefined,
        entry: index as u8,
        single,
    }
}

/// The complete AI table, generated from the GS1 Barcode Syntax Dictionary in `domain/data/`.
///
/// Release: the text is `gs1-syntax-dictionary.txt` of gs1/gs1-syntax-dictionary at commit
/// f7e477f17d482ed1a61409719d50623c9132866d, the newest version available when it was copied.
/// Its header says `Release: UNSET` (the date is stamped only into tagged releases); its content
/// is the 2025-01-30 release or later: it has that release's `hhmi` linter and AIs 7041 and 716,
/// the 2025 copyright, and (423)/(425) as lists of N3 components.
///
/// Generated rather than hand-written so that a new release is a file swap and a script run,
/// and a `const` table rather than a build script or a parse at start-up so that the lookup
/// costs nothing and the crate keeps building without build-time code; the test
/// `table_matches_the_dictionary` parses the text independently and compares.
mod table {
    use super::Charset::{Cset39 as Y, Cset64 as Z, Cset82 as X, Numeric as N};
    use super::ValueRule::{
        CheckCharacters, CheckDigit, Date, DateExact, Hour, HourMinute, LongDate, Minute, None,
        Second,
    };
    use super::{AiEntry, entry, part};

    include!("../data/gs1_ai_table.rs");
}

static AI_TABLE: [AiEntry; table::AI_TABLE_ENTRIES.len()] = table::AI_TABLE_ENTRIES;

/// The format summary of every entry, computed once at compile time.
static AI_SPECS: [AiSpec; table::AI_TABLE_ENTRIES.len()] = {
    let mut specs = [spec_of(&table::AI_TABLE_ENTRIES[0], 0); table::AI_TABLE_ENTRIES.len()];
    let mut i = 0;
    while i < specs.len() {
        specs[i] = spec_of(&table::AI_TABLE_ENTRIES[i], i);
        i += 1;
    }
    specs
};

/// Where an AI sits in the index: its digits left-aligned in four places, which is unique
/// because the first two digits of an AI fix how many digits it has.
const fn index_key(number: u16, width: u8) -> usize {
    let number = number as usize;
    match width {
        2 => number * 100,
        3 => number * 10,
        _ => number,
    }
}

/// Entry number + 1 of every AI, by [`index_key`]; 0 for digits that name no AI. One load
/// finds an AI's format, as fast as the hand-written match this replaced.
static AI_INDEX: [u8; 10_000] = {
    let mut index = [0u8; 10_000];
    let mut i = 0;
    while i < table::AI_TABLE_ENTRIES.len() {
        let e = &table::AI_TABLE_ENTRIES[i];
        let mut n = e.first;
        while n <= e.last {
            index[index_key(n, e.width)] = (i + 1) as u8;
            n += 1;
        }
        i += 1;
    }
    index
};

/// How many digits the AIs starting with each two digits have; 0 where GS1 assigns none.
static AI_WIDTH: [u8; 100] = {
    let mut widths = [0u8; 100];
    let mut i = 0;
    while i < table::AI_TABLE_ENTRIES.len() {
        let e = &table::AI_TABLE_ENTRIES[i];
        // A range of two-digit AIs (91-99) spans several prefixes.
        let mut n = e.first;
        while n <= e.last {
            widths[index_key(n, e.width) / 100] = e.width;
            n += 1;
        }
        i += 1;
    }
    widths
};

/// Identifies the AI that `bytes` start with, with its value format.
///
/// `None` when the start is not digits or names no AI of the current GS1 table.
#[inline]
pub fn ai_at(bytes: &[u8]) -> Option<(Ai, AiSpec)> {
    ai_spec_at(bytes).map(|(ai, spec)| (ai, *spec))
}

/// [`ai_at`] with the format by reference: an AI and a pointer come back in two registers,
/// where the copied format made the parser store it in pieces and read it back whole, a
/// stall on every element of every scan.
#[inline]
pub(crate) fn ai_spec_at(bytes: &[u8]) -> Option<(Ai, &'static AiSpec)> {
    let digit = |i: usize| -> Option<u16> {
        bytes
            .get(i)
            .filter(|b| b.is_ascii_digit())
            .map(|b| u16::from(b - b'0'))
    };
    let head = digit(0)? * 10 + digit(1)?;
    let width = AI_WIDTH[usize::from(head)];
    if width == 0 {
        return None;
    }
    let mut number = head;
    for i in 2..usize::from(width) {
        number = number * 10 + digit(i)?;
    }
    let slot = usize::from(AI_INDEX[index_key(number, width)]).checked_sub(1)?;
    Some((Ai::new(number, width), AI_SPECS.get(slot)?))
}

/// Every AI of the table with its format, in the dictionary's order.
pub fn known_ais() -> impl Iterator<Item = (Ai, AiSpec)> {
    AI_TABLE
        .iter()
        .zip(AI_SPECS.iter())
        .flat_map(|(e, &spec)| (e.first..=e.last).map(move |n| (Ai::new(n, e.width), spec)))
}

/// CSET 82 in GS1's order, which the check character pair weights by.
const CSET82_ORDER: &[u8; 82] =
    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

const fn cset82_table() -> [bool; 256] {
    let allowed = CSET82_ORDER;
    let mut table = [false; 256];
    let mut i = 0;
    while i < allowed.len() {
        table[allowed[i] as usize] = true;
        i += 1;
    }
    table
}

static CSET82: [bool; 256] = cset82_table();

/// True for the 82 characters GS1 allows in alphanumeric fields.
pub fn is_cset82(byte: u8) -> bool {
    CSET82[usize::from(byte)]
}

fn two_digits(bytes: &[u8]) -> u8 {
    (bytes[0] - b'0') * 10 + (bytes[1] - b'0')
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// Whether a GS1 YYMMDD date exists; DD 00 means the month's last day.
///
/// Leap years are judged in the 2000s: codes carry dates within decades of today, and the
/// only century year in reach, 2000, is a leap year.
pub fn date_exists(yymmdd: &[u8]) -> bool {
    if yymmdd.len() != 6 || !yymmdd.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let year = 2000 + u16::from(two_digits(&yymmdd[0..2]));
    let month = two_digits(&yymmdd[2..4]);
    let day = two_digits(&yymmdd[4..6]);
    (1..=12).contains(&month) && day <= days_in_month(year, month)
}

/// Whether a GS1 YYMMDDhhmm instant exists.
pub fn date_time_exists(value: &[u8]) -> bool {
    value.len() == 10
        && date_exists(&value[..6])
        && value[6..].iter().all(u8::is_ascii_digit)
        && two_digits(&value[6..8]) < 24
        && two_digits(&value[8..10]) < 60
}

/// Whether two digits are a number below `limit` (hours below 24, minutes and seconds below 60).
fn time_part(digits: &[u8], limit: u8) -> bool {
    digits.len() == 2 && digits.iter().all(u8::is_ascii_digit) && two_digits(digits) < limit
}

/// Whether a YYYYMMDD date exists (DD 00 is not a day here).
pub fn long_date_exists(yyyymmdd: &[u8]) -> bool {
    if yyyymmdd.len() != 8 || !yyyymmdd.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let year =
        u16::from(two_digits(&yyyymmdd[0..2])) * 100 + u16::from(two_digits(&yyyymmdd[2..4]));
    let month = two_digits(&yyyymmdd[4..6]);
    let day = two_digits(&yyyymmdd[6..8]);
    (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day)
}

/// The 32 characters of alphanumeric check pairs, and the primes that weight the characters.
const CSET32: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const PRIMES: [u16; 23] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
];

/// Whether the last two characters of a CSET 82 value are its GS1 check character pair
/// (`csumalpha`, GS1 General Specifications "check character calculation"): the characters
/// before them, each as its index in CSET 82, weighted by primes rising from the right, summed
/// modulo 1021, split into two CSET 32 characters.
pub fn check_characters_are_valid(value: &[u8]) -> bool {
    let Some(body_len) = value.len().checked_sub(2) else {
        return false;
    };
    // AIs with check pairs are at most 25 characters: 23 weights suffice.
    if body_len > PRIMES.len() {
        return false;
    }
    let mut sum: u32 = 0;
    for (i, &c) in value[..body_len].iter().enumerate() {
        let Some(index) = CSET82_ORDER.iter().position(|&x| x == c) else {
            return false;
        };
        sum += index as u32 * u32::from(PRIMES[body_len - 1 - i]);
    }
    let sum = (sum % 1021) as usize;
    value[body_len] == CSET32[sum >> 5] && value[body_len + 1] == CSET32[sum & 31]
}

/// A calendar date as GS1 writes it, resolved to a full year.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Gs1Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Gs1Date {
    /// Reads YYMMDD (DD 00 becomes the last day of the month) in the 2000s.
    pub fn from_yymmdd(yymmdd: &[u8]) -> Option<Gs1Date> {
        if !date_exists(yymmdd) {
            return None;
        }
        let year = 2000 + u16::from(two_digits(&yymmdd[0..2]));
        let month = two_digits(&yymmdd[2..4]);
        let day = match two_digits(&yymmdd[4..6]) {
            0 => days_in_month(year, month),
            d => d,
        };
        Some(Gs1Date { year, month, day })
    }

    /// Days since 1970-01-01 (Howard Hinnant's days-from-civil), negative before it.
    pub fn day_number(self) -> i64 {
        let (month, day) = (i64::from(self.month), i64::from(self.day));
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let yoe = year - era * 400;
        let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl fmt::Display for Gs1Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A date and minute as GS1 writes it (AI 7003, YYMMDDhhmm), in no time zone of its own: the
/// reader decides which clock it is on.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Gs1DateTime {
    pub date: Gs1Date,
    pub hour: u8,
    pub minute: u8,
}

impl Gs1DateTime {
    /// Reads YYMMDDhhmm (DD 00 becomes the last day of the month, as in [`Gs1Date`]).
    pub fn from_yymmddhhmm(value: &[u8]) -> Option<Gs1DateTime> {
        if !date_time_exists(value) {
            return None;
        }
        Some(Gs1DateTime {
            date: Gs1Date::from_yymmdd(&value[..6])?,
            hour: two_digits(&value[6..8]),
            minute: two_digits(&value[8..10]),
        })
    }
}

impl fmt::Display for Gs1DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:02}:{:02}", self.date, self.hour, self.minute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_of_reference_examples() {
        for valid in [
            "04690257528523",
            "04600840749372",
            "09506000134352",
            "4606203086627",
            "96385074",
            "106141411234567897",
        ] {
            assert!(check_digit_is_valid(valid.as_bytes()), "{valid}");
        }
        for invalid in ["04690257528524", "", "0469025752852x", "1"] {
            assert!(!check_digit_is_valid(invalid.as_bytes()), "{invalid}");
        }
    }

    #[test]
    fn gtin_keeps_fourteen_digits() {
        let ean13 = Gtin::from_digits(b"4606203086627").unwrap();
        assert_eq!(ean13.to_string(), "04606203086627");
        assert_eq!(Gtin::from_value(ean13.value()), Some(ean13));
        assert!(Gtin::from_digits(b"02900000000001").is_some_and(|g| g.is_technical()));
        assert!(Gtin::from_digits(b"460620308662").is_none());
    }

    #[test]
    fn sscc_compose_fills_reference_and_check_digit() {
        let sscc = Sscc::compose(1, "0614141", 123456789).unwrap();
        assert_eq!(sscc.to_string(), "106141411234567897");
        assert!(Sscc::compose(1, "0614141", 1_000_000_000).is_none());
        assert!(Sscc::compose(10, "0614141", 1).is_none());
        assert!(Sscc::compose(0, "06141", 1).is_none());
    }

    #[test]
    fn ai_table() {
        type Spec<'a> = Option<(&'a str, u8, u8, bool)>;
        let cases: &[(&str, Spec)] = &[
            ("0104", Some(("01", 14, 14, true))),
            ("21abc", Some(("21", 1, 20, false))),
            ("2401", Some(("240", 1, 30, false))),
            ("3103000", Some(("3103", 6, 6, true))),
            ("7003", Some(("7003", 10, 10, false))),
            ("8005", Some(("8005", 6, 6, false))),
            ("93ab", Some(("93", 1, 90, false))),
            // The logistics AIs of a pallet label, and AIs of recent General Specifications.
            ("02", Some(("02", 14, 14, true))),
            ("37", Some(("37", 1, 8, false))),
            ("400", Some(("400", 1, 30, false))),
            ("410", Some(("410", 13, 13, true))),
            ("413", Some(("413", 13, 13, true))),
            ("420", Some(("420", 1, 20, false))),
            ("90", Some(("90", 1, 30, false))),
            ("235", Some(("235", 1, 28, false))),
            ("03", Some(("03", 14, 14, true))),
            ("7041", Some(("7041", 1, 4, false))),
            ("8006", Some(("8006", 18, 18, false))),
            ("253", Some(("253", 13, 30, false))),
            ("4330", Some(("4330", 6, 7, false))),
            // Digits GS1 assigns no AI: the prefix is unknown, or the AI in it is.
            ("04", None),
            ("236", None),
            ("3106", None),
            ("8015", None),
            ("89", None),
            ("4x", None),
            ("9", None),
        ];
        for (input, want) in cases {
            let got =
                ai_at(input.as_bytes()).map(|(ai, s)| (ai.to_string(), s.min, s.max, s.predefined));
            let want = want.map(|(a, min, max, p)| (a.to_string(), min, max, p));
            assert_eq!(got, want, "{input}");
        }
        assert_eq!(Ai::new(1, 2).digits().as_bytes(), b"01");
        assert_eq!(Ai::new(7003, 4).digits().as_bytes(), b"7003");
    }

    #[test]
    fn decimals_come_from_the_last_digit_of_measures_and_amounts() {
        let cases: &[(u16, u8, Option<u8>)] = &[
            (3103, 4, Some(3)),
            (3100, 4, Some(0)),
            (3355, 4, Some(5)),
            (3922, 4, Some(2)),
            (3955, 4, Some(5)),
            (8005, 4, None),
            (37, 2, None),
            (7003, 4, None),
        ];
        for &(number, width, want) in cases {
            assert_eq!(Ai::new(number, width).decimals(), want, "{number}");
        }
    }

    /// One entry of the dictionary text, read without the generator script.
    struct DictEntry {
        first: u16,
        last: u16,
        width: u8,
        predefined: bool,
        components: Vec<Component>,
        title: String,
    }

    fn rule_of(linter: &str) -> Option<ValueRule> {
        Some(match linter {
            "csum" => ValueRule::CheckDigit,
            "csumalpha" => ValueRule::CheckCharacters,
            "yymmd0" => ValueRule::Date,
            "yymmdd" => ValueRule::DateExact,
            "yyyymmdd" => ValueRule::LongDate,
            "hhmi" => ValueRule::HourMinute,
            "hh" => ValueRule::Hour,
            "mi" => ValueRule::Minute,
            "ss" => ValueRule::Second,
            _ => return None,
        })
    }

    fn component(token: &str) -> Option<Component> {
        let (kind, linters) = token.split_once(',').unwrap_or((token, ""));
        let optional = kind.starts_with('[');
        let kind = kind.trim_start_matches('[').trim_end_matches(']');
        let charset = match kind.chars().next()? {
            'N' => Charset::Numeric,
            'X' => Charset::Cset82,
            'Y' => Charset::Cset39,
            'Z' => Charset::Cset64,
            _ => return None,
        };
        let (variable, length) = match kind[1..].strip_prefix("..") {
            Some(max) => (true, max.parse::<u8>().ok()?),
            None => (false, kind[1..].parse::<u8>().ok()?),
        };
        let rules: Vec<ValueRule> = linters.split(',').filter_map(rule_of).collect();
        assert!(rules.len() <= 1, "{token}");
        Some(Component {
            charset,
            min: if variable { 1 } else { length },
            max: length,
            optional,
            rule: rules.first().copied().unwrap_or(ValueRule::None),
        })
    }

    fn dictionary() -> Vec<DictEntry> {
        let text = include_str!("../data/gs1-syntax-dictionary.txt");
        let flags = "*?!\"$%&'()+,-./:;<=>@[\\]^_`{|}~";
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|line| {
                let (body, title) = line.split_once('#').unwrap_or((line, ""));
                let mut tokens = body.split_whitespace().peekable();
                let ais = tokens.next().unwrap();
                let (first, last) = ais.split_once('-').unwrap_or((ais, ais));
                let predefined = tokens
                    .next_if(|t| t.chars().all(|c| flags.contains(c)))
                    .is_some_and(|t| t.contains('*'));
                let components: Vec<Component> = tokens.map_while(component).collect();
                assert!(!components.is_empty(), "{line}");
                DictEntry {
                    first: first.parse().unwrap(),
                    last: last.parse().unwrap(),
                    width: first.len() as u8,
                    predefined,
                    components,
                    title: title.trim().to_string(),
                }
            })
            .collect()
    }

    /// The generated table says what the dictionary text says, AI by AI, and knows no AI the
    /// dictionary does not list.
    #[test]
    fn table_matches_the_dictionary() {
        let entries = dictionary();
        assert_eq!(entries.len(), AI_TABLE.len());
        let mut listed = std::collections::HashSet::new();
        for e in &entries {
            for n in e.first..=e.last {
                let digits = format!("{n:0width$}", width = usize::from(e.width));
                let (ai, spec) = ai_at(digits.as_bytes()).unwrap_or_else(|| panic!("{digits}"));
                assert_eq!(
                    (ai.number(), ai.width()),
                    (n, usize::from(e.width)),
                    "{digits}"
                );
                assert_eq!(spec.predefined, e.predefined, "{digits}");
                assert_eq!(spec.components(), &e.components[..], "{digits}");
                assert_eq!(spec.title(), e.title, "{digits}");
                assert_eq!(spec.is_single(), e.components.len() == 1, "{digits}");
                let min: u8 = e
                    .components
                    .iter()
                    .filter(|c| !c.optional)
                    .map(|c| c.min)
                    .sum();
                let max: u8 = e.components.iter().map(|c| c.max).sum();
                assert_eq!((spec.min, spec.max), (min, max), "{digits}");
                listed.insert(digits);
            }
        }
        for n in 0..10_000u16 {
            let digits = format!("{n:04}");
            if let Some((ai, _)) = ai_at(digits.as_bytes()) {
                assert!(
                    listed.contains(&ai.to_string()),
                    "{ai} is not in the dictionary"
                );
            }
        }
        assert_eq!(known_ais().count(), listed.len());
    }

    /// The test vectors of the dictionary's reference linters (`lint_csum.c`, `lint_yymmd0.c`,
    /// `lint_yymmdd.c`, `lint_hhmm.c`) and of the barcode engine (`ai.c`, the GMN check pair).
    #[test]
    fn reference_linter_vectors() {
        let cases: &[(ValueRule, &str, bool)] = &[
            (ValueRule::CheckDigit, "02345673", true),
            (ValueRule::CheckDigit, "12345673", false),
            (ValueRule::CheckDigit, "416000336108", true),
            (ValueRule::CheckDigit, "416000336109", false),
            (ValueRule::CheckDigit, "1234567890128", true),
            (ValueRule::CheckDigit, "1234567890129", false),
            (ValueRule::CheckDigit, "12345678901231", true),
            (ValueRule::CheckDigit, "12345678901232", false),
            (ValueRule::CheckDigit, "123456789012345675", true),
            (ValueRule::CheckDigit, "123456789012345670", false),
            (ValueRule::CheckDigit, " 23456789012345675", false),
            (ValueRule::CheckDigit, "", false),
            (ValueRule::Date, "000606", true),
            (ValueRule::Date, "990606", true),
            (ValueRule::Date, "x00131", false),
            (ValueRule::Date, "20013x", false),
            (ValueRule::Date, "11111", false),
            (ValueRule::Date, "1111111", false),
            (ValueRule::Date, "200010", false),
            (ValueRule::Date, "201310", false),
            (ValueRule::Date, "200132", false),
            (ValueRule::Date, "200229", true),
            (ValueRule::Date, "200230", false),
            (ValueRule::Date, "200431", false),
            (ValueRule::Date, "210229", false),
            (ValueRule::Date, "240229", true),
            (ValueRule::Date, "000229", true),
            (ValueRule::Date, "960229", true),
            (ValueRule::Date, "960230", false),
            (ValueRule::Date, "200600", true),
            (ValueRule::DateExact, "200131", true),
            (ValueRule::DateExact, "240229", true),
            (ValueRule::DateExact, "210229", false),
            (ValueRule::DateExact, "200600", false),
            (ValueRule::HourMinute, "0000", true),
            (ValueRule::HourMinute, "2359", true),
            (ValueRule::HourMinute, "2400", false),
            (ValueRule::HourMinute, "0060", false),
            (ValueRule::HourMinute, "x000", false),
            (ValueRule::HourMinute, "111", false),
            (ValueRule::HourMinute, "11111", false),
            (ValueRule::Hour, "23", true),
            (ValueRule::Hour, "24", false),
            (ValueRule::Minute, "59", true),
            (ValueRule::Second, "60", false),
            (ValueRule::LongDate, "20240229", true),
            (ValueRule::LongDate, "21000229", false),
            (ValueRule::LongDate, "20000229", true),
            (ValueRule::LongDate, "20241200", false),
            (
                ValueRule::CheckCharacters,
                "1987654Ad4X4bL5ttr2310c2K",
                true,
            ),
            (
                ValueRule::CheckCharacters,
                "1987654Ad4X4bL5ttr2310cXK",
                false,
            ),
            (ValueRule::CheckCharacters, "K", false),
        ];
        for &(rule, value, want) in cases {
            assert_eq!(rule.holds(value.as_bytes()), want, "{rule:?} {value}");
        }
    }

    #[test]
    fn charsets_of_the_dictionary_types() {
        assert!(Charset::Cset39.allows(b'#') && !Charset::Cset82.allows(b'#'));
        assert!(!Charset::Cset39.allows(b'a'));
        assert!(Charset::Cset64.allows(b'_') && Charset::Cset64.allows(b'='));
        assert!(!Charset::Cset64.allows(b'+') && !Charset::Cset64.allows(b'/'));
    }

    #[test]
    fn dates() {
        assert!(date_exists(b"240229"));
        assert!(!date_exists(b"250229"));
        assert!(date_exists(b"251200"));
        assert!(!date_exists(b"251301"));
        assert!(!date_exists(b"250431"));
        assert!(date_time_exists(b"2512312359"));
        assert!(!date_time_exists(b"2512312400"));
        assert_eq!(
            Gs1Date::from_yymmdd(b"250200").unwrap().to_string(),
            "2025-02-28"
        );
    }

    #[test]
    fn date_times() {
        let cases: [(&[u8], Option<&str>); 7] = [
            (b"2611221400", Some("2026-11-22 14:00")),
            (b"2512312359", Some("2025-12-31 23:59")),
            (b"2402290000", Some("2024-02-29 00:00")),
            (b"2502000930", Some("2025-02-28 09:30")),
            (b"2512312400", None),
            (b"2512311260", None),
            (b"261122140", None),
        ];
        for (value, want) in cases {
            let got = Gs1DateTime::from_yymmddhhmm(value).map(|t| t.to_string());
            assert_eq!(got.as_deref(), want, "{value:?}");
        }
    }

    #[test]
    fn day_numbers() {
        let cases = [
            ((1970, 1, 1), 0),
            ((1969, 12, 31), -1),
            ((2000, 2, 29), 11_016),
            ((2000, 3, 1), 11_017),
            ((2026, 11, 22), 20_779),
        ];
        for ((year, month, day), want) in cases {
            let date = Gs1Date { year, month, day };
            assert_eq!(date.day_number(), want, "{date}");
        }
    }

    #[test]
    fn cset82_excludes_space_hash_and_backslash() {
        for b in [b' ', b'#', b'\\', b'@', b'[', GS] {
            assert!(!is_cset82(b));
        }
        for b in [b'<', b'>', b'&', b'"', b'\'', b'%', b'/', b';', b'+', b'='] {
            assert!(is_cset82(b));
        }
    }
}
