//! How one cached code's facts fit in a few bytes of a row: the packed `flags` integer, dates as
//! day numbers, parents as an integer (SSCC) or a key blob (КИ).
//!
//! SQLite stores an integer in the fewest bytes that hold it (0 and 1 take none), so the fields
//! most often zero go to the high bits: a unit in circulation with no extended status packs into
//! two bytes.

use tally_domain::code::Ki;
use tally_domain::gs1::{Gs1Date, Gtin, Sscc};
use tally_domain::product_group::ProductGroup;
use tally_domain::status::{CisStatus, PackageType, Parent, StatusEx, Timestamp};

const GROUP_BITS: u32 = 6;
const STATUS_SHIFT: u32 = 6;
const PACKAGE_SHIFT: u32 = 10;
const STATUS_EX_SHIFT: u32 = 14;
const BLOCKED_BIT: i64 = 1 << 18;
/// The fifth bit of `statusEx`, above the blocked flag: rows written before it existed have it
/// clear and read unchanged.
const STATUS_EX_HIGH_BIT: i64 = 1 << 19;
const NIBBLE: i64 = 0xF;

/// The enum-valued facts of one code, as they are packed into `statuses.flags`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Flags {
    pub status: CisStatus,
    pub status_ex: StatusEx,
    pub package_type: PackageType,
    pub product_group: Option<ProductGroup>,
    pub blocked: bool,
}

impl Flags {
    pub fn pack(&self) -> i64 {
        // A group id that does not fit the field is stored as "unknown" rather than corrupting
        // its neighbours; GIS MT ids are below 64 today.
        let group = self
            .product_group
            .map(|g| i64::from(g.id()))
            .filter(|&id| id < 1 << GROUP_BITS)
            .unwrap_or(0);
        group
            | i64::from(self.status.number()) << STATUS_SHIFT
            | i64::from(self.package_type.number()) << PACKAGE_SHIFT
            | (i64::from(self.status_ex.number()) & NIBBLE) << STATUS_EX_SHIFT
            | if self.status_ex.number() & 0x10 != 0 {
                STATUS_EX_HIGH_BIT
            } else {
                0
            }
            | if self.blocked { BLOCKED_BIT } else { 0 }
    }

    /// `None` when the value holds a number this build does not know: a newer terminal wrote it,
    /// or the file is damaged.
    pub fn unpack(value: i64) -> Option<Flags> {
        let nibble = |shift: u32| ((value >> shift) & NIBBLE) as u8;
        let group = (value & ((1 << GROUP_BITS) - 1)) as u8;
        if !(0..STATUS_EX_HIGH_BIT << 1).contains(&value) {
            return None;
        }
        let high = if value & STATUS_EX_HIGH_BIT != 0 {
            0x10
        } else {
            0
        };
        Some(Flags {
            status: CisStatus::from_number(nibble(STATUS_SHIFT))?,
            status_ex: StatusEx::from_number(nibble(STATUS_EX_SHIFT) | high)?,
            package_type: PackageType::from_number(nibble(PACKAGE_SHIFT))?,
            product_group: match group {
                0 => None,
                id => Some(ProductGroup::from_id(id)?),
            },
            blocked: value & BLOCKED_BIT != 0,
        })
    }
}

/// Days since 1970-01-01: two bytes in a row until 2059.
pub(crate) fn day_number(date: Gs1Date) -> i64 {
    date.day_number()
}

pub(crate) fn date_of_day(day: i64) -> Gs1Date {
    Timestamp(day * 86_400_000).date()
}

pub(crate) use tally_wire::text::parse_iso_date;

/// A GTIN as an INTEGER column: its value is below 10^14, so it always fits.
pub(crate) fn gtin_column(gtin: Gtin) -> i64 {
    gtin.value() as i64
}

/// An SSCC as an INTEGER column: its value is below 10^18, so it always fits.
pub(crate) fn sscc_column(sscc: Sscc) -> i64 {
    sscc.value() as i64
}

/// The `parent` column: an SSCC as its numeric value, any other aggregate as its КИ key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ParentColumn {
    Sscc(i64),
    Code(tally_domain::code::KiKey),
}

impl rusqlite::ToSql for ParentColumn {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            ParentColumn::Sscc(value) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            ParentColumn::Code(key) => ToSqlOutput::Borrowed(ValueRef::Blob(key.as_bytes())),
        })
    }
}

/// Reads the `parent` column back; `Err` carries what was wrong with it.
pub(crate) fn parent_from_column(
    value: rusqlite::types::ValueRef<'_>,
) -> Result<Option<Parent>, String> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(n) => u64::try_from(n)
            .ok()
            .and_then(Sscc::from_value)
            .map(|s| Some(Parent::Sscc(s)))
            .ok_or_else(|| format!("parent {n} is not an SSCC")),
        ValueRef::Blob(key) => Ki::from_key(key)
            .map(|k| Some(Parent::Code(k)))
            .ok_or_else(|| "parent blob is not a КИ key".to_owned()),
        other => Err(format!("parent of type {:?}", other.data_type())),
    }
}

/// An aggregated item's column value: the same two shapes as a parent.
pub(crate) fn item_column(item: &super::AggregateItem) -> ParentColumn {
    match item {
        super::AggregateItem::Code(ki) => ParentColumn::Code(ki.key()),
        super::AggregateItem::Box(sscc) => ParentColumn::Sscc(sscc_column(*sscc)),
    }
}

pub(crate) fn item_from_column(
    value: rusqlite::types::ValueRef<'_>,
) -> Result<super::AggregateItem, String> {
    match parent_from_column(value)? {
        Some(Parent::Code(ki)) => Ok(super::AggregateItem::Code(ki)),
        Some(Parent::Sscc(sscc)) => Ok(super::AggregateItem::Box(sscc)),
        None => Err("aggregated item is NULL".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_for_every_value() {
        let groups = std::iter::once(None).chain(ProductGroup::ALL.iter().copied().map(Some));
        for group in groups {
            for &status in CisStatus::ALL {
                for &status_ex in StatusEx::ALL {
                    for &package_type in PackageType::ALL {
                        for blocked in [false, true] {
                            let flags = Flags {
                                status,
                                status_ex,
                                package_type,
                                product_group: group,
                                blocked,
                            };
                            assert_eq!(Flags::unpack(flags.pack()), Some(flags), "{flags:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_plain_unit_in_circulation_packs_into_two_bytes() {
        let flags = Flags {
            status: CisStatus::Introduced,
            status_ex: StatusEx::Empty,
            package_type: PackageType::Unit,
            product_group: Some(ProductGroup::Pyrotechnics),
            blocked: false,
        };
        assert!(flags.pack() < 1 << 15, "{}", flags.pack());
    }

    #[test]
    fn unknown_numbers_are_not_read_as_something_else() {
        for bad in [
            -1,
            1 << 20,
            10 << STATUS_SHIFT,
            11 << PACKAGE_SHIFT,
            63,
            // 31, beyond the last statusEx number.
            STATUS_EX_HIGH_BIT | 15 << STATUS_EX_SHIFT,
        ] {
            assert_eq!(Flags::unpack(bad), None, "{bad}");
        }
    }

    #[test]
    fn day_numbers_match_the_calendar() {
        for (text, day) in [
            ("1970-01-01", 0),
            ("2000-02-29", 11_016),
            ("2026-11-22", 20_779),
            ("2059-09-18", 32_767),
        ] {
            let date = parse_iso_date(text).unwrap();
            assert_eq!(day_number(date), day, "{text}");
            assert_eq!(date_of_day(day), date);
        }
        for day in (-1000..80_000).step_by(7) {
            assert_eq!(day_number(date_of_day(day)), day);
        }
    }

    #[test]
    fn iso_dates_and_date_times_are_read_and_impossible_ones_refused() {
        let ok = [
            ("2027-03-01", "2027-03-01"),
            ("2027-03-01T00:00:00.000Z", "2027-03-01"),
            ("2027-03-01T23:59:59+03:00", "2027-03-01"),
            ("2024-02-29", "2024-02-29"),
        ];
        for (text, want) in ok {
            assert_eq!(parse_iso_date(text).unwrap().to_string(), want, "{text}");
        }
        for bad in [
            "2023-02-29",
            "2027-13-01",
            "2027-00-10",
            "2027-01-00",
            "2027-1-01",
            "27-03-01",
            "2027-03-01X",
            "",
            "abcd-ef-gh",
        ] {
            assert_eq!(parse_iso_date(bad), None, "{bad}");
        }
    }
}
