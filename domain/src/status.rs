//! What GIS MT says about a code (its status, owner, package, parent), as the terminal caches it.

use std::fmt;

use crate::code::Ki;
use crate::gs1::{Gs1Date, Gs1DateTime, Gtin, Sscc};
use crate::product_group::ProductGroup;

macro_rules! api_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $n:literal, $api:literal;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[repr(u8)]
        pub enum $name {
            $($variant = $n,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The value as True API writes it.
            pub fn api_name(self) -> &'static str {
                match self {
                    $($name::$variant => $api,)*
                }
            }

            pub fn from_api_name(name: &str) -> Option<$name> {
                match name {
                    $($api => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// A small stable number for compact storage.
            pub fn number(self) -> u8 {
                self as u8
            }

            pub fn from_number(n: u8) -> Option<$name> {
                match n {
                    $($n => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.api_name())
            }
        }
    };
}

api_enum! {
    /// `status` of a code in GIS MT.
    CisStatus {
        Emitted = 0, "EMITTED";
        Applied = 1, "APPLIED";
        Introduced = 2, "INTRODUCED";
        WrittenOff = 3, "WRITTEN_OFF";
        Retired = 4, "RETIRED";
        Withdrawn = 5, "WITHDRAWN";
        IntroducedReturned = 6, "INTRODUCED_RETURNED";
        Disaggregation = 7, "DISAGGREGATION";
        Disaggregated = 8, "DISAGGREGATED";
        AppliedNotPaid = 9, "APPLIED_NOT_PAID";
    }
}

api_enum! {
    /// `statusEx`, the extended status (`EMPTY` when none). `Other` stands for a value this
    /// terminal does not know yet, so a new status never fails an import.
    ///
    /// The replica packs the number into five bits (`sync::store::codec`: a nibble and a high
    /// bit of its own, so rows written before the fifth bit read unchanged); 15 stays `Other`.
    StatusEx {
        Empty = 0, "EMPTY";
        WaitShipment = 1, "WAIT_SHIPMENT";
        WaitTransferToOwner = 2, "WAIT_TRANSFER_TO_OWNER";
        WaitRemark = 3, "WAIT_REMARK";
        ReservedNotUsed = 4, "RESERVED_NOT_USED";
        InGrayZone = 5, "IN_GRAY_ZONE";
        LostInventory = 6, "LOST_INVENTORY";
        Exported = 7, "EXPORTED";
        ConnectTap = 8, "CONNECT_TAP";
        MovingByUd = 9, "MOVING_BY_UD";
        LoanRetired = 10, "LOAN_RETIRED";
        RemarkRetired = 11, "REMARK_RETIRED";
        FtsRespondNotOk = 12, "FTS_RESPOND_NOT_OK";
        FtsRespondWaiting = 13, "FTS_RESPOND_WAITING";
        FtsControl = 14, "FTS_CONTROL";
        Other = 15, "OTHER";
        RetiredCancellation = 16, "RETIRED_CANCELLATION";
        PrimResponseWaiting = 17, "PRIM_RESPONSE_WAITING";
    }
}

api_enum! {
    /// `packageType`: what level of packaging the code marks. `Other` keeps a type this
    /// terminal does not know yet (newer answers add types), rather than refusing the code.
    /// Stored in four bits like [`StatusEx`] (`sync::store::codec`): 11..=15 are still free.
    PackageType {
        Unit = 0, "UNIT";
        Group = 1, "GROUP";
        Level1 = 2, "LEVEL1";
        Level2 = 3, "LEVEL2";
        Level3 = 4, "LEVEL3";
        Level4 = 5, "LEVEL4";
        Level5 = 6, "LEVEL5";
        Atk = 7, "ATK";
        Bundle = 8, "BUNDLE";
        Set = 9, "SET";
        Other = 10, "OTHER";
    }
}

impl StatusEx {
    /// Reads `statusEx`, mapping values this terminal does not know to [`StatusEx::Other`].
    pub fn from_api_lenient(name: &str) -> StatusEx {
        StatusEx::from_api_name(name).unwrap_or(StatusEx::Other)
    }
}

impl PackageType {
    /// Reads `packageType`, mapping types this terminal does not know to [`PackageType::Other`].
    pub fn from_api_lenient(name: &str) -> PackageType {
        PackageType::from_api_name(name).unwrap_or(PackageType::Other)
    }

    /// Whether a group package (КИГУ, `GROUP`) exists in this product group: only milk and
    /// water multipacks are `GROUP`; a tobacco block, for one, is `LEVEL1` (marking-codes.md
    /// §1, after Spoleto.TrueApi `Enums/PackType.cs`).
    pub fn is_group_allowed(group: ProductGroup) -> bool {
        matches!(group, ProductGroup::Milk | ProductGroup::Water)
    }

    /// Whether a code of this package type can belong to the product group. Only `GROUP` is
    /// restricted; the other types are not known to be tied to groups, so they are not judged.
    pub fn fits_group(self, group: ProductGroup) -> bool {
        self != PackageType::Group || PackageType::is_group_allowed(group)
    }
}

/// A taxpayer id (ИНН): 10 digits for an organisation, 12 for a person, with check digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Inn {
    digits: [u8; 12],
    len: u8,
}

impl Inn {
    /// Parses an INN and verifies its check digits.
    pub fn parse(text: &str) -> Option<Inn> {
        let b = text.as_bytes();
        if !(b.len() == 10 || b.len() == 12) || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut d = [0u32; 12];
        for (slot, c) in d.iter_mut().zip(b) {
            *slot = u32::from(c - b'0');
        }
        let check = |weights: &[u32]| -> u32 {
            weights.iter().zip(&d).map(|(w, x)| w * x).sum::<u32>() % 11 % 10
        };
        let ok = if b.len() == 10 {
            check(&[2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[9]
        } else {
            check(&[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[10]
                && check(&[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[11]
        };
        if !ok {
            return None;
        }
        let mut digits = [0u8; 12];
        digits[..b.len()].copy_from_slice(b);
        Some(Inn {
            digits,
            len: b.len() as u8,
        })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.digits[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Display for Inn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Inn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Inn({})", self.as_str())
    }
}

/// The aggregate a code sits in: a box or pallet label, or a group package.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Parent {
    Sscc(Sscc),
    Code(Ki),
}

impl fmt::Display for Parent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Parent::Sscc(s) => write!(f, "{s}"),
            Parent::Code(k) => write!(f, "{k}"),
        }
    }
}

/// Everything the terminal keeps offline about one code (True API `cisInfo`, trimmed).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CodeStatus {
    pub status: CisStatus,
    pub status_ex: StatusEx,
    pub owner: Option<Inn>,
    pub product_group: Option<ProductGroup>,
    pub package_type: PackageType,
    pub parent: Option<Parent>,
    pub expiry: Option<Gs1Date>,
    /// Maximum retail price in kopecks.
    pub max_retail_price: Option<u32>,
    /// Blocked by the state system (a recall, a court order): no operation may touch it.
    pub blocked: bool,
}

/// Which block list a code is on.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BlockHit {
    Code,
    Gtin(Gtin),
    /// A production series (GTIN + batch, AI 10).
    Series,
}

/// Moscow's offset from UTC: +3 all year since 26 October 2014 (no daylight saving). Dates and
/// times on Russian marking codes are read on Moscow's clock; an expiry before 2014 would be
/// an hour off, and is long past anyway.
const MOSCOW_OFFSET_MS: i64 = 3 * 3_600_000;

/// An instant as milliseconds since the Unix epoch (UTC). The domain never reads a clock: the
/// caller passes one in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_hours(self, hours: i64) -> Timestamp {
        Timestamp(self.0 + hours * 3_600_000)
    }

    /// The calendar date in Moscow at this instant: from 21:00 UTC it is already tomorrow.
    pub fn moscow_date(self) -> Gs1Date {
        Timestamp(self.0 + MOSCOW_OFFSET_MS).date()
    }

    /// The instant a Moscow wall clock shows this date and time.
    pub fn at_moscow(date: Gs1Date, hour: u8, minute: u8) -> Timestamp {
        let minutes = date.day_number() * 1440 + i64::from(hour) * 60 + i64::from(minute);
        Timestamp(minutes * 60_000 - MOSCOW_OFFSET_MS)
    }

    /// [`Timestamp::at_moscow`] for a GS1 date-time (AI 7003).
    pub fn at_moscow_time(time: Gs1DateTime) -> Timestamp {
        Timestamp::at_moscow(time.date, time.hour, time.minute)
    }

    /// The instant a Moscow day ends: midnight, Moscow time, of the day after.
    pub fn end_of_moscow_day(date: Gs1Date) -> Timestamp {
        Timestamp::at_moscow(date, 0, 0).plus_hours(24)
    }

    /// The UTC calendar date of this instant.
    pub fn date(self) -> Gs1Date {
        // Howard Hinnant's days-to-civil algorithm.
        let days = self.0.div_euclid(86_400_000);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
        Gs1Date { year, month, day }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names_round_trip() {
        for &s in CisStatus::ALL {
            assert_eq!(CisStatus::from_api_name(s.api_name()), Some(s));
            assert_eq!(CisStatus::from_number(s.number()), Some(s));
        }
        for &p in PackageType::ALL {
            assert_eq!(PackageType::from_api_name(p.api_name()), Some(p));
            assert_eq!(PackageType::from_number(p.number()), Some(p));
        }
        for &s in StatusEx::ALL {
            assert_eq!(StatusEx::from_api_name(s.api_name()), Some(s));
            assert_eq!(StatusEx::from_number(s.number()), Some(s));
        }
        assert_eq!(StatusEx::from_api_lenient("SOMETHING_NEW"), StatusEx::Other);
        assert_eq!(
            StatusEx::from_api_lenient("WAIT_SHIPMENT"),
            StatusEx::WaitShipment
        );
    }

    #[test]
    fn lenient_names() {
        let status_ex = [
            ("EMPTY", StatusEx::Empty),
            ("MOVING_BY_UD", StatusEx::MovingByUd),
            ("LOAN_RETIRED", StatusEx::LoanRetired),
            ("REMARK_RETIRED", StatusEx::RemarkRetired),
            ("FTS_RESPOND_NOT_OK", StatusEx::FtsRespondNotOk),
            ("FTS_RESPOND_WAITING", StatusEx::FtsRespondWaiting),
            ("FTS_CONTROL", StatusEx::FtsControl),
            ("RETIRED_CANCELLATION", StatusEx::RetiredCancellation),
            ("PRIM_RESPONSE_WAITING", StatusEx::PrimResponseWaiting),
            ("fts_control", StatusEx::Other),
            ("", StatusEx::Other),
        ];
        for (name, want) in status_ex {
            assert_eq!(StatusEx::from_api_lenient(name), want, "{name:?}");
        }
        let package = [
            ("UNIT", PackageType::Unit),
            ("GROUP", PackageType::Group),
            ("LEVEL1", PackageType::Level1),
            ("LEVEL5", PackageType::Level5),
            ("ATK", PackageType::Atk),
            ("BUNDLE", PackageType::Bundle),
            ("SET", PackageType::Set),
            ("BOX", PackageType::Other),
            ("LEVEL6", PackageType::Other),
            ("unit", PackageType::Other),
            ("", PackageType::Other),
        ];
        for (name, want) in package {
            assert_eq!(PackageType::from_api_lenient(name), want, "{name:?}");
        }
    }

    /// The replica packs both into four bits (`sync::store::codec`); 15 is the unknown
    /// `statusEx` there, so a new value must not take it.
    #[test]
    fn numbers_fit_the_replicas_bits() {
        for &s in StatusEx::ALL {
            assert!(s.number() < 32, "{s}");
            assert_eq!(s == StatusEx::Other, s.number() == 15, "{s}");
        }
        for &p in PackageType::ALL {
            assert!(p.number() < 16, "{p}");
        }
    }

    #[test]
    fn group_packages_are_milk_and_water_only() {
        use ProductGroup as G;
        let cases = [
            (G::Milk, true),
            (G::Water, true),
            (G::Tobacco, false),
            (G::Beer, false),
            (G::OtherTobacco, false),
            (G::LightIndustry, false),
            (G::SoftDrinks, false),
        ];
        for (group, want) in cases {
            assert_eq!(PackageType::is_group_allowed(group), want, "{group:?}");
            assert_eq!(PackageType::Group.fits_group(group), want, "{group:?}");
        }
        let allowed = ProductGroup::ALL
            .iter()
            .filter(|&&g| PackageType::is_group_allowed(g))
            .count();
        assert_eq!(allowed, 2);
        // A tobacco block is LEVEL1, a pack a unit: neither is judged by group.
        for p in [PackageType::Level1, PackageType::Unit, PackageType::Other] {
            assert!(p.fits_group(G::Tobacco), "{p}");
        }
    }

    #[test]
    fn inn_check_digits() {
        for valid in ["7707083893", "500100732259", "7736207543", "0274062111"] {
            assert!(Inn::parse(valid).is_some(), "{valid}");
        }
        for invalid in [
            "7707083894",
            "500100732258",
            "12345",
            "77070838930",
            "770708389x",
        ] {
            assert!(Inn::parse(invalid).is_none(), "{invalid}");
        }
    }

    #[test]
    fn timestamps_to_dates() {
        let cases = [
            (0, "1970-01-01"),
            (951_782_400_000, "2000-02-29"),
            (1_795_305_600_000, "2026-11-22"),
            (-86_400_000, "1969-12-31"),
        ];
        for (ms, want) in cases {
            assert_eq!(Timestamp(ms).date().to_string(), want, "{ms}");
        }
    }

    const NOV_22_UTC: i64 = 1_795_305_600_000; // 2026-11-22T00:00Z
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 3_600_000;

    #[test]
    fn moscow_dates() {
        let cases = [
            (NOV_22_UTC, "2026-11-22"),
            (NOV_22_UTC + 20 * HOUR + 59 * MINUTE, "2026-11-22"),
            // 21:00 UTC is midnight in Moscow.
            (NOV_22_UTC + 21 * HOUR, "2026-11-23"),
            (NOV_22_UTC + 23 * HOUR + 30 * MINUTE, "2026-11-23"),
            (NOV_22_UTC - 3 * HOUR - 1, "2026-11-21"),
            (NOV_22_UTC - 3 * HOUR, "2026-11-22"),
            // Summer too: no daylight saving since 2014.
            (1_782_864_000_000, "2026-07-01"),
            (1_782_864_000_000 + 21 * HOUR, "2026-07-02"),
        ];
        for (ms, want) in cases {
            assert_eq!(Timestamp(ms).moscow_date().to_string(), want, "{ms}");
        }
    }

    #[test]
    fn moscow_wall_clock_to_instants() {
        let nov_22 = Gs1Date {
            year: 2026,
            month: 11,
            day: 22,
        };
        let cases = [
            ((0, 0), NOV_22_UTC - 3 * HOUR),
            ((3, 0), NOV_22_UTC),
            ((14, 0), NOV_22_UTC + 11 * HOUR),
            ((23, 59), NOV_22_UTC + 20 * HOUR + 59 * MINUTE),
        ];
        for ((hour, minute), want) in cases {
            let at = Timestamp::at_moscow(nov_22, hour, minute);
            assert_eq!(at, Timestamp(want), "{hour}:{minute}");
            assert_eq!(at.moscow_date(), nov_22);
        }
        assert_eq!(
            Timestamp::end_of_moscow_day(nov_22),
            Timestamp(NOV_22_UTC + 21 * HOUR)
        );
        let time = Gs1DateTime {
            date: nov_22,
            hour: 14,
            minute: 0,
        };
        assert_eq!(
            Timestamp::at_moscow_time(time),
            Timestamp(NOV_22_UTC + 11 * HOUR)
        );
    }
}
