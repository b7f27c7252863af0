//! How the domain's identifiers are written in JSON: as the text GIS MT and the books use.
//!
//! `domain` knows no serde, so the contract spells each identifier here once: a КИ as
//! `01`GTIN`21`serial, an SSCC as its 18 digits (20 with the AI `00` also read), an INN as its
//! digits, a date as `YYYY-MM-DD`, a write-off reason and a status by their stable names.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use tally_domain::code::Ki;
use tally_domain::gs1::{Gs1Date, Gtin, Sscc};
use tally_domain::operation::{ReturnCause, ReturnReceipt, WriteOffReason};
use tally_domain::status::{CisStatus, Inn};

/// A domain value with one text form on the wire.
pub trait TextForm: Sized {
    /// What a wrong value is called in an error ("a КИ", "an SSCC").
    const WHAT: &'static str;
    fn to_text(&self) -> String;
    fn from_text(text: &str) -> Option<Self>;
}

impl TextForm for Ki {
    const WHAT: &'static str = "a marking code (01 GTIN 21 serial)";
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text(text: &str) -> Option<Ki> {
        Ki::from_cis(text)
    }
}

impl TextForm for Sscc {
    const WHAT: &'static str = "an SSCC (18 digits)";
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text(text: &str) -> Option<Sscc> {
        sscc_of(text)
    }
}

impl TextForm for Gtin {
    const WHAT: &'static str = "a GTIN (14 digits)";
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text(text: &str) -> Option<Gtin> {
        Gtin::from_digits(text.as_bytes())
    }
}

impl TextForm for Inn {
    const WHAT: &'static str = "an INN";
    fn to_text(&self) -> String {
        self.as_str().to_owned()
    }
    fn from_text(text: &str) -> Option<Inn> {
        Inn::parse(text)
    }
}

impl TextForm for Gs1Date {
    const WHAT: &'static str = "a date (YYYY-MM-DD)";
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text(text: &str) -> Option<Gs1Date> {
        parse_iso_date(text)
    }
}

impl TextForm for WriteOffReason {
    const WHAT: &'static str = "a write-off reason";
    fn to_text(&self) -> String {
        self.code().to_owned()
    }
    fn from_text(text: &str) -> Option<WriteOffReason> {
        WriteOffReason::from_code(text)
    }
}

impl TextForm for ReturnCause {
    const WHAT: &'static str = "a return cause (retail or remote_sale)";
    fn to_text(&self) -> String {
        self.code().to_owned()
    }
    fn from_text(text: &str) -> Option<ReturnCause> {
        ReturnCause::from_code(text)
    }
}

impl TextForm for ReturnReceipt {
    const WHAT: &'static str = "a return document type (receipt, sales_receipt or other)";
    fn to_text(&self) -> String {
        self.code().to_owned()
    }
    fn from_text(text: &str) -> Option<ReturnReceipt> {
        ReturnReceipt::from_code(text)
    }
}

impl TextForm for CisStatus {
    const WHAT: &'static str = "a GIS MT status";
    fn to_text(&self) -> String {
        self.api_name().to_owned()
    }
    fn from_text(text: &str) -> Option<CisStatus> {
        CisStatus::from_api_name(text)
    }
}

/// An SSCC as 18 digits, or 20 with its AI `00`.
pub fn sscc_of(text: &str) -> Option<Sscc> {
    let b = text.as_bytes();
    let digits = match b.len() {
        20 if b.starts_with(b"00") => &b[2..],
        _ => b,
    };
    Sscc::from_digits(digits)
}

/// Reads `YYYY-MM-DD`, alone or as the start of an ISO date-time (`2027-03-01T00:00:00Z`): the
/// calendar date as written, whatever the offset that follows. `None` for a date that does not
/// exist.
pub fn parse_iso_date(text: &str) -> Option<Gs1Date> {
    let b = text.as_bytes();
    if b.len() < 10 || (b.len() > 10 && b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u16> {
        let digits = &b[range];
        digits.iter().all(u8::is_ascii_digit).then(|| {
            digits
                .iter()
                .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'))
        })
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&day).then_some(Gs1Date {
        year,
        month: month as u8,
        day: day as u8,
    })
}

fn invalid<E: de::Error, T: TextForm>(text: &str) -> E {
    E::custom(format_args!("{text:?} is not {}", T::WHAT))
}

struct TextVisitor<T>(std::marker::PhantomData<T>);

impl<T: TextForm> de::Visitor<'_> for TextVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::WHAT)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::from_text(v).ok_or_else(|| invalid::<E, T>(v))
    }
}

/// One value: `#[serde(with = "crate::text::one")]`.
pub mod one {
    use super::*;

    pub fn serialize<T: TextForm, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_text())
    }

    pub fn deserialize<'de, T: TextForm, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        d.deserialize_str(TextVisitor(std::marker::PhantomData))
    }
}

/// An optional value, `null` or absent for none: `#[serde(default, with = "crate::text::opt")]`.
pub mod opt {
    use super::*;

    pub fn serialize<T: TextForm, S: Serializer>(
        value: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_str(&v.to_text()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: TextForm, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => T::from_text(&text)
                .map(Some)
                .ok_or_else(|| invalid::<D::Error, T>(&text)),
        }
    }
}

/// A list: `#[serde(with = "crate::text::list")]`.
pub mod list {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<T: TextForm, S: Serializer>(values: &[T], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(values.len()))?;
        for v in values {
            seq.serialize_element(&v.to_text())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, T: TextForm, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        struct Seq<T>(std::marker::PhantomData<T>);
        impl<'de, T: TextForm> de::Visitor<'de> for Seq<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a list of {}", T::WHAT)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(text) = seq.next_element::<std::borrow::Cow<'de, str>>()? {
                    out.push(T::from_text(&text).ok_or_else(|| invalid::<A::Error, T>(&text))?);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Seq(std::marker::PhantomData))
    }
}
