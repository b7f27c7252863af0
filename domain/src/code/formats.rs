//! The consumer-unit formats of the product groups: how long the serial is, which verification
//! part follows it, and which AIs may stand before the serial or after the verification part.
//!
//! Two rules read this table. Recovery of lost separators tries only these formats, so a split
//! that is arithmetically possible but matches no product group (a 6-character serial followed
//! by an AI 99) never makes a code ambiguous. And a КИ without a verification part whose serial
//! length no group uses is flagged as a scan probably cut short.

use crate::gs1::Ai;
use crate::product_group::ProductGroup;

/// The verification part that follows the serial.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tail {
    /// `91` 4 characters, then `92` 44 or 88 characters.
    Long,
    /// `93` 4 characters.
    Short,
    /// `8005` the price in 6 digits, then `93` 4 characters: the tobacco block.
    Block,
    /// None: the КИ is the whole code.
    Bare,
}

/// A run of AIs, such as `335n` (3350-3355), that a format allows in some place.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct AiRun {
    first: u16,
    last: u16,
    width: u8,
}

impl AiRun {
    const fn one(number: u16, width: u8) -> AiRun {
        AiRun {
            first: number,
            last: number,
            width,
        }
    }

    const fn range(first: u16, last: u16, width: u8) -> AiRun {
        AiRun { first, last, width }
    }

    pub(crate) fn contains(&self, ai: Ai) -> bool {
        ai.width() == usize::from(self.width) && (self.first..=self.last).contains(&ai.number())
    }
}

/// One product group's consumer unit as the marking rules lay it out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Format {
    // The groups and the source document the row; the parser needs only the layout, the tests
    // read both.
    #[allow(dead_code)]
    pub(crate) groups: &'static [ProductGroup],
    pub(crate) serial: u8,
    pub(crate) tail: Tail,
    /// AIs that may stand between the GTIN and the serial, each at most once, in any order.
    pub(crate) before: &'static [AiRun],
    /// AIs that may follow the verification part, each at most once, in any order.
    pub(crate) after: &'static [AiRun],
    /// Where the layout is documented. `[U]` marks what the reference has not confirmed.
    #[allow(dead_code)]
    pub(crate) source: &'static str,
}

const EXPIRY: AiRun = AiRun::one(17, 2);
const BATCH: AiRun = AiRun::one(10, 2);
const NET_WEIGHT_KG: AiRun = AiRun::one(3103, 4);
const EXPIRY_TIME: AiRun = AiRun::one(7003, 4);
const VOLUME_L: AiRun = AiRun::range(3350, 3355, 4);

/// The formats of `../shared/docs/marking-codes.md` §3 ("Layout per product group"), row by row.
/// The tobacco pack (29 characters without AIs) is not here: it has no element string, and the
/// parser reads it by its fixed positions.
pub(crate) const FORMATS: &[Format] = &[
    Format {
        groups: &[ProductGroup::LightIndustry, ProductGroup::Shoes],
        serial: 13,
        tail: Tail::Long,
        before: &[],
        after: &[],
        source: "marking-codes.md §3, light industry and shoes: 01 21(13) GS 91(4) GS 92(44, 88 in older codes)",
    },
    Format {
        groups: &[
            ProductGroup::Perfumery,
            ProductGroup::Tires,
            ProductGroup::Electronics,
            ProductGroup::Bicycle,
            ProductGroup::Wheelchairs,
        ],
        serial: 13,
        tail: Tail::Long,
        before: &[],
        after: &[],
        source: "marking-codes.md §3, perfume, tires, cameras, bicycles, wheelchairs: the long form, serial 13 [U: some sources say up to 20]",
    },
    Format {
        groups: &[ProductGroup::Pharma],
        serial: 13,
        tail: Tail::Long,
        before: &[EXPIRY, BATCH],
        after: &[EXPIRY, BATCH],
        source: "marking-codes.md §3, pharma (MDLP): 01 21(13) GS 91 GS 92, optional 17 expiry and 10 batch, sometimes before 21",
    },
    Format {
        groups: &[ProductGroup::Milk],
        serial: 6,
        tail: Tail::Short,
        before: &[],
        after: &[NET_WEIGHT_KG, EXPIRY, EXPIRY_TIME],
        source: "marking-codes.md §3, milk: 01 21(6) GS 93(4) [GS 3103 weight] [17 or 7003 expiry] (EAEU milk AI table, docs.cntd.ru/document/603206926)",
    },
    Format {
        groups: &[ProductGroup::Water],
        serial: 13,
        tail: Tail::Short,
        before: &[],
        after: &[],
        source: "marking-codes.md §3, packaged water: 01 21(13) GS 93(4) (markirovka.ru, code composition for water)",
    },
    Format {
        groups: &[ProductGroup::Beer, ProductGroup::NonAlcoholicBeer],
        serial: 7,
        tail: Tail::Short,
        before: &[],
        after: &[VOLUME_L],
        source: "marking-codes.md §3, beer and non-alcoholic beer: 01 21(7 [U]) GS 93(4), draft kegs may add a 335n volume",
    },
    Format {
        groups: &[
            ProductGroup::Supplements,
            ProductGroup::Antiseptics,
            ProductGroup::SoftDrinks,
        ],
        serial: 13,
        tail: Tail::Short,
        before: &[],
        after: &[],
        source: "marking-codes.md §3, dietary supplements, antiseptics, soft drinks and other short-form groups: 01 21(13 [U]) GS 93(4)",
    },
    Format {
        groups: &[ProductGroup::Tobacco],
        serial: 7,
        tail: Tail::Block,
        before: &[],
        after: &[],
        source: "marking-codes.md §3, tobacco block: 01 21(7) GS 8005(6, kopecks) GS 93(4)",
    },
    Format {
        groups: &[ProductGroup::NicotineDevices],
        serial: 13,
        tail: Tail::Bare,
        before: &[],
        after: &[],
        source: "marking-codes.md §3, e-cigarettes: the КИ is 31 characters, 01 + 14 + 21 + 13 (markirovka.ru, e-cigarettes)",
    },
];

const fn same_runs(a: &[AiRun], b: &[AiRun]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i].first != b[i].first || a[i].last != b[i].last || a[i].width != b[i].width {
            return false;
        }
        i += 1;
    }
    true
}

const fn contains_runs(outer: &[AiRun], inner: &[AiRun]) -> bool {
    let mut i = 0;
    while i < inner.len() {
        let mut found = false;
        let mut j = 0;
        while j < outer.len() {
            if same_runs(
                std::slice::from_ref(&outer[j]),
                std::slice::from_ref(&inner[i]),
            ) {
                found = true;
            }
            j += 1;
        }
        if !found {
            return false;
        }
        i += 1;
    }
    true
}

const fn same_tail(a: Tail, b: Tail) -> bool {
    matches!(
        (a, b),
        (Tail::Long, Tail::Long)
            | (Tail::Short, Tail::Short)
            | (Tail::Block, Tail::Block)
            | (Tail::Bare, Tail::Bare)
    )
}

/// Whether every split `inner` allows, `outer` allows too: then searching `inner` finds nothing
/// new, and recovery skips it.
const fn subsumes(outer: &Format, inner: &Format) -> bool {
    outer.serial == inner.serial
        && same_tail(outer.tail, inner.tail)
        && contains_runs(outer.before, inner.before)
        && contains_runs(outer.after, inner.after)
}

/// The formats recovery searches: those with a verification part to find, less those another
/// format subsumes (the first of identical ones stays). Computed once, at compile time.
pub(crate) static SEARCHED: [bool; FORMATS.len()] = {
    let mut searched = [false; FORMATS.len()];
    let mut i = 0;
    while i < FORMATS.len() {
        let mut keep = !matches!(FORMATS[i].tail, Tail::Bare);
        let mut j = 0;
        while j < FORMATS.len() {
            if j != i && subsumes(&FORMATS[j], &FORMATS[i]) {
                // Identical formats: the earlier one is searched.
                let identical = subsumes(&FORMATS[i], &FORMATS[j]);
                if !identical || j < i {
                    keep = false;
                }
            }
            j += 1;
        }
        searched[i] = keep;
        i += 1;
    }
    searched
};

/// The serial length of `group`'s КИ, where the reference gives one (the tobacco pack's is
/// the block's 7).
pub(crate) fn serial_length_of(group: ProductGroup) -> Option<usize> {
    FORMATS
        .iter()
        .find(|f| f.groups.contains(&group))
        .map(|f| usize::from(f.serial))
}

/// Whether some product group's КИ has a serial of `len` characters (the tobacco pack's is 7,
/// as in the block).
pub(crate) fn serial_length_is_known(len: usize) -> bool {
    FORMATS.iter().any(|f| usize::from(f.serial) == len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_names_its_groups_and_source() {
        for f in FORMATS {
            assert!(!f.groups.is_empty(), "{f:?}");
            assert!(f.source.starts_with("marking-codes.md §3"), "{f:?}");
        }
    }

    #[test]
    fn recovery_searches_one_format_per_structure() {
        // The plain long forms are special cases of pharma's; the 13-character short groups
        // share water's; e-cigarettes have no verification part to find.
        let searched: Vec<&[ProductGroup]> = FORMATS
            .iter()
            .zip(SEARCHED.iter())
            .filter(|(_, s)| **s)
            .map(|(f, _)| f.groups)
            .collect();
        assert_eq!(
            searched,
            [
                FORMATS[2].groups,
                FORMATS[3].groups,
                FORMATS[4].groups,
                FORMATS[5].groups,
                FORMATS[7].groups,
            ]
        );
    }

    #[test]
    fn serial_length_of_each_group() {
        let cases: &[(ProductGroup, Option<usize>)] = &[
            (ProductGroup::LightIndustry, Some(13)),
            (ProductGroup::Shoes, Some(13)),
            (ProductGroup::Pharma, Some(13)),
            (ProductGroup::Milk, Some(6)),
            (ProductGroup::Water, Some(13)),
            (ProductGroup::Beer, Some(7)),
            (ProductGroup::Tobacco, Some(7)),
            (ProductGroup::NicotineDevices, Some(13)),
            // Groups the reference gives no layout for.
            (ProductGroup::Alcohol, None),
            (ProductGroup::Toys, None),
        ];
        for &(group, want) in cases {
            assert_eq!(serial_length_of(group), want, "{group}");
        }
    }

    #[test]
    fn serial_lengths_of_the_reference() {
        let cases: &[(usize, bool)] = &[(13, true), (7, true), (6, true), (10, false), (20, false)];
        for &(len, want) in cases {
            assert_eq!(serial_length_is_known(len), want, "{len}");
        }
    }
}
