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

/// Which characters a field may hold.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Charset {
    Numeric,
    /// GS1 "CSET 82", the alphanumeric set of variable fields.
    Cset82,
}

impl Charset {
    pub fn allows(self, byte: u8) -> bool {
        match self {
            Charset::Numeric => byte.is_ascii_digit(),
            Charset::Cset82 => is_cset82(byte),
        }
    }
}

/// What else a field's value must satisfy beyond its charset and length.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ValueRule {
    None,
    CheckDigit,
    /// YYMMDD; DD may be 00 ("end of month").
    Date,
    /// YYMMDDhhmm.
    DateTime,
}

/// The format of one AI's value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AiSpec {
    pub min: u8,
    pub max: u8,
    pub charset: Charset,
    pub rule: ValueRule,
    /// In the GS1 table of predefined lengths: never followed by a separator.
    pub predefined: bool,
}

impl AiSpec {
    const fn fixed(len: u8, rule: ValueRule, predefined: bool) -> AiSpec {
        AiSpec {
            min: len,
            max: len,
            charset: Charset::Numeric,
            rule,
            predefined,
        }
    }

    const fn variable(max: u8, charset: Charset) -> AiSpec {
        AiSpec {
            min: 1,
            max,
            charset,
            rule: ValueRule::None,
            predefined: false,
        }
    }

    pub fn is_fixed(&self) -> bool {
        self.min == self.max
    }
}

/// Identifies the AI that `bytes` start with, with its value format.
///
/// `None` when the start is not digits or names an AI this terminal does not know; only AIs
/// seen on marking codes and logistic labels are listed, so an unknown one is a real anomaly.
pub fn ai_at(bytes: &[u8]) -> Option<(Ai, AiSpec)> {
    let digit = |i: usize| -> Option<u16> {
        bytes
            .get(i)
            .filter(|b| b.is_ascii_digit())
            .map(|b| u16::from(b - b'0'))
    };
    let head = digit(0)? * 10 + digit(1)?;
    let width: u8 = match head {
        23..=25 | 40..=42 => 3,
        31..=36 | 39 | 70..=72 | 80..=82 => 4,
        _ => 2,
    };
    let mut number = head;
    for i in 2..usize::from(width) {
        number = number * 10 + digit(i)?;
    }
    let spec = match (width, number) {
        (2, 0) => AiSpec::fixed(18, ValueRule::CheckDigit, true),
        (2, 1 | 2) => AiSpec::fixed(14, ValueRule::CheckDigit, true),
        (2, 10 | 21 | 22) => AiSpec::variable(20, Charset::Cset82),
        (2, 11 | 13 | 15 | 16 | 17) => AiSpec::fixed(6, ValueRule::Date, true),
        (2, 20) => AiSpec::fixed(2, ValueRule::None, true),
        (2, 30 | 37) => AiSpec::variable(8, Charset::Numeric),
        (2, 91..=99) => AiSpec::variable(90, Charset::Cset82),
        (3, 240 | 241) => AiSpec::variable(30, Charset::Cset82),
        // 31nn-36nn: measures such as 3103 net weight or 335n volume, N6 with nn decimals.
        (4, 3100..=3699) => AiSpec::fixed(6, ValueRule::None, true),
        (4, 7003) => AiSpec::fixed(10, ValueRule::DateTime, false),
        (4, 8005) => AiSpec::fixed(6, ValueRule::None, false),
        _ => return None,
    };
    Some((Ai::new(number, width), spec))
}

const fn cset82_table() -> [bool; 256] {
    let allowed =
        b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
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
            ("8006", None),
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
