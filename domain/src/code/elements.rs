//! Splits GS1 element strings into (AI, value) pairs: with separators, or by structure when a
//! scanner lost them.

use super::Rejection;
use super::normalize::Text;
use crate::gs1::{self, Ai, AiSpec, GS, ValueRule};

/// More elements than any marking code or logistic label carries.
pub(crate) const MAX_ELEMENTS: usize = 12;

/// One element: its AI and where its value sits in the text it was parsed from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Element {
    pub(crate) ai: Ai,
    pub(crate) start: u8,
    pub(crate) end: u8,
    /// Outside the predefined-length table: a GS must follow unless the element is last.
    pub(crate) separated: bool,
}

impl Element {
    pub(crate) fn value<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        &text[usize::from(self.start)..usize::from(self.end)]
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Elements {
    items: [Element; MAX_ELEMENTS],
    len: u8,
}

impl Elements {
    pub(crate) const fn new() -> Elements {
        Elements {
            items: [Element {
                ai: Ai::new(0, 2),
                start: 0,
                end: 0,
                separated: false,
            }; MAX_ELEMENTS],
            len: 0,
        }
    }

    pub(crate) fn as_slice(&self) -> &[Element] {
        &self.items[..usize::from(self.len)]
    }

    pub(crate) fn get(&self, ai: Ai) -> Option<&Element> {
        self.as_slice().iter().find(|e| e.ai == ai)
    }

    pub(crate) fn has(&self, ai: Ai) -> bool {
        self.get(ai).is_some()
    }

    pub(crate) fn push(&mut self, element: Element) -> Result<(), Rejection> {
        if self.has(element.ai) {
            return Err(Rejection::DuplicateAi { ai: element.ai });
        }
        let slot = self
            .items
            .get_mut(usize::from(self.len))
            .ok_or(Rejection::NotMarkingCode)?;
        *slot = element;
        self.len += 1;
        Ok(())
    }
}

/// What the caller already knows of a value's characters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Scanned {
    Nothing,
    Cset82,
}

/// Checks one value against its AI's format. `offset` is where the value starts in the text,
/// for positions in messages.
#[inline]
pub(crate) fn check_value(
    ai: Ai,
    spec: &AiSpec,
    value: &[u8],
    offset: usize,
    scanned: Scanned,
) -> Result<(), Rejection> {
    if value.len() < usize::from(spec.min) || value.len() > usize::from(spec.max) {
        return Err(Rejection::ValueLength { ai });
    }
    if spec.is_single() {
        // The summary is the component: no need to look the components up.
        return check_part(ai, spec.charset, spec.rule, value, offset, scanned);
    }
    // Each component takes its length from what is left, as the dictionary applies them;
    // optional ones may be missing once the data is exhausted.
    let mut pos = 0;
    for component in spec.components() {
        let rest = value.len() - pos;
        if rest == 0 && component.optional {
            break;
        }
        let take = rest.min(usize::from(component.max));
        if take < usize::from(component.min) {
            return Err(Rejection::ValueLength { ai });
        }
        let part = &value[pos..pos + take];
        let (charset, rule) = (component.charset, component.rule);
        check_part(ai, charset, rule, part, offset + pos, Scanned::Nothing)?;
        pos += take;
    }
    if pos == value.len() {
        Ok(())
    } else {
        Err(Rejection::ValueLength { ai })
    }
}

// Inlined into both callers: the call itself cost a fifth of checking a GTIN.
#[inline(always)]
fn check_part(
    ai: Ai,
    charset: gs1::Charset,
    rule: ValueRule,
    value: &[u8],
    offset: usize,
    scanned: Scanned,
) -> Result<(), Rejection> {
    let known_cset82 = scanned == Scanned::Cset82 && charset == gs1::Charset::Cset82;
    if known_cset82 {
        // The caller's scan already proved every byte is CSET 82.
    } else if let Some(i) = value.iter().position(|&b| !charset.allows(b)) {
        return Err(Rejection::ValueCharset {
            ai,
            position: offset + i + 1,
        });
    }
    if rule == ValueRule::None || rule.holds(value) {
        return Ok(());
    }
    Err(match rule {
        ValueRule::CheckDigit if ai == Ai::SSCC => Rejection::SsccCheckDigit,
        // 01, 02 and 03 are GTINs: the trade item's, the contained items', a made-to-order one.
        ValueRule::CheckDigit if ai.width() == 2 && matches!(ai.number(), 1..=3) => {
            Rejection::GtinCheckDigit
        }
        _ if rule.is_temporal() => Rejection::InvalidDate { ai },
        _ => Rejection::CheckDigit { ai },
    })
}

/// The result of reading an element string that carries its separators.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Strict {
    pub(crate) elements: Elements,
    /// A fixed-length AI outside the predefined table (8005, 7003) was not followed by GS; its
    /// length made the split safe anyway.
    pub(crate) implied_separator: bool,
}

/// Reads an element string where every variable-length field ends with GS or the text.
pub(crate) fn parse_strict(text: &[u8]) -> Result<Strict, Rejection> {
    let mut elements = Elements::new();
    let mut implied_separator = false;
    let mut pos = 0;
    while pos < text.len() {
        let (ai, spec) =
            gs1::ai_at(&text[pos..]).ok_or(Rejection::UnknownAi { position: pos + 1 })?;
        let start = pos + ai.width();
        let mut scanned = Scanned::Nothing;
        let (end, next) = if spec.is_fixed() {
            let end = start + usize::from(spec.max);
            if end > text.len() {
                return Err(Rejection::ValueLength { ai });
            }
            match text.get(end) {
                Some(&GS) => (end, end + 1),
                Some(_) if !spec.predefined => {
                    implied_separator = true;
                    (end, end)
                }
                _ => (end, end),
            }
        } else {
            // The value runs to GS or the end; the scan stops early at any character that
            // cannot be in it, which check_value then names.
            scanned = Scanned::Cset82;
            let run = text[start..]
                .iter()
                .position(|&b| !gs1::is_cset82(b))
                .map_or(text.len(), |i| start + i);
            match text.get(run) {
                None => (run, run),
                Some(&GS) => (run, run + 1),
                Some(_) => {
                    scanned = Scanned::Nothing;
                    let to_gs = text[run..]
                        .iter()
                        .position(|&b| b == GS)
                        .map_or(text.len(), |i| run + i);
                    (to_gs, to_gs)
                }
            }
        };
        check_value(ai, &spec, &text[start..end], start, scanned)?;
        elements.push(Element {
            ai,
            start: start as u8,
            end: end as u8,
            separated: !spec.predefined,
        })?;
        pos = next;
    }
    Ok(Strict {
        elements,
        implied_separator,
    })
}

/// What reading a code by its product-group structure found.
#[derive(Debug)]
// Stays on the stack on purpose: boxing the large variant would allocate on the scan path.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Recovery {
    /// Exactly one split fits. The elements point into `text`, which has no separators.
    Unique {
        text: Text,
        elements: Elements,
    },
    Ambiguous,
    NoFit,
}

/// The verification parts that follow the serial in each layout of the reference.
#[derive(Clone, Copy)]
enum Tail {
    /// `91` 4 chars, `92` 44 or 88 chars.
    Long(usize),
    /// `93` 4 chars.
    Short,
    /// `8005` price, `93` 4 chars: the tobacco block.
    Block,
}

const TAILS: [Tail; 4] = [Tail::Long(44), Tail::Long(88), Tail::Short, Tail::Block];

/// Splits a unit code whose GS separators were lost, using the fixed serial lengths of the
/// product groups and the exact offsets of the verification parts.
///
/// Never splits at the first "91" or "93": serials contain those digits. Separators that did
/// arrive must fall on the split's boundaries.
pub(crate) fn recover(text: &[u8], serial_lengths: &[u8]) -> Recovery {
    // Separators that did arrive, as positions in the separator-free text.
    let mut flat = Text::new();
    let mut gs_at = [0u8; MAX_ELEMENTS];
    let mut gs_count = 0;
    for &b in text {
        if b == GS {
            if gs_count == gs_at.len() {
                return Recovery::NoFit;
            }
            gs_at[gs_count] = flat.len() as u8;
            gs_count += 1;
        } else if !flat.push(b) {
            return Recovery::NoFit;
        }
    }
    let gs_at = &gs_at[..gs_count];
    let data = flat.as_bytes();
    if data.len() < 18 || &data[..2] != b"01" || &data[16..18] != b"21" {
        return Recovery::NoFit;
    }

    let mut found: Option<Elements> = None;
    for &serial_len in serial_lengths.iter().filter(|&&l| l > 0) {
        for tail in TAILS {
            let Some(elements) = split(data, usize::from(serial_len), tail, gs_at) else {
                continue;
            };
            if found.is_some_and(|f| f != elements) {
                return Recovery::Ambiguous;
            }
            found = Some(elements);
        }
    }
    match found {
        Some(elements) => Recovery::Unique {
            text: flat,
            elements,
        },
        None => Recovery::NoFit,
    }
}

fn split(data: &[u8], serial_len: usize, tail: Tail, gs_at: &[u8]) -> Option<Elements> {
    // Most candidates fail on their AI markers; look at those before any other work.
    let at = 18 + serial_len;
    let marked =
        |offset: usize, ai: &[u8]| data.get(at + offset..).is_some_and(|d| d.starts_with(ai));
    let plausible = match tail {
        Tail::Long(_) => marked(0, b"91") && marked(6, b"92"),
        Tail::Short => marked(0, b"93"),
        Tail::Block => marked(0, b"8005") && marked(10, b"93"),
    };
    if !plausible {
        return None;
    }
    let mut elements = Elements::new();
    let mut pos = 0;
    // Checks the value between `start` and `end` and appends it; None when it does not fit.
    let accept = |elements: &mut Elements, ai: Ai, spec: AiSpec, start: usize, end: usize| {
        check_value(ai, &spec, data.get(start..end)?, start, Scanned::Nothing).ok()?;
        let separated = !spec.predefined;
        let (start, end) = (start as u8, end as u8);
        elements
            .push(Element {
                ai,
                start,
                end,
                separated,
            })
            .ok()
    };
    let take = |elements: &mut Elements, ai: Ai, len: usize, pos: &mut usize| -> Option<()> {
        let (found, spec) = gs1::ai_at(data.get(*pos..)?)?;
        if found != ai {
            return None;
        }
        let start = *pos + ai.width();
        accept(elements, ai, spec, start, start + len)?;
        *pos = start + len;
        Some(())
    };
    take(&mut elements, Ai::GTIN, 14, &mut pos)?;
    take(&mut elements, Ai::SERIAL, serial_len, &mut pos)?;
    match tail {
        Tail::Long(signature_len) => {
            take(&mut elements, Ai::VERIFICATION_KEY, 4, &mut pos)?;
            take(&mut elements, Ai::SIGNATURE, signature_len, &mut pos)?;
        }
        Tail::Short => take(&mut elements, Ai::CRYPTO_TAIL, 4, &mut pos)?,
        Tail::Block => {
            take(&mut elements, Ai::PRICE, 6, &mut pos)?;
            take(&mut elements, Ai::CRYPTO_TAIL, 4, &mut pos)?;
        }
    }
    // What follows the verification part (weight, expiry, batch) has no separators either:
    // fixed-length fields split by length, a variable one runs to the next separator that did
    // arrive, or to the end.
    while pos < data.len() {
        let (ai, spec) = gs1::ai_at(&data[pos..])?;
        let start = pos + ai.width();
        let end = if spec.is_fixed() {
            start + usize::from(spec.max)
        } else {
            gs_at
                .iter()
                .map(|&g| usize::from(g))
                .find(|&g| g > start)
                .unwrap_or(data.len())
        };
        accept(&mut elements, ai, spec, start, end)?;
        pos = end;
    }
    // Every separator that arrived must stand where an element begins.
    let boundaries_hold = gs_at.iter().all(|&g| {
        elements
            .as_slice()
            .iter()
            .any(|e| usize::from(e.start) - e.ai.width() == usize::from(g))
    });
    boundaries_hold.then_some(elements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(text: &str) -> Result<Vec<(String, String)>, &'static str> {
        let bytes = text.replace('~', "\x1d");
        parse_strict(bytes.as_bytes())
            .map(|s| {
                s.elements
                    .as_slice()
                    .iter()
                    .map(|e| {
                        (
                            e.ai.to_string(),
                            String::from_utf8_lossy(e.value(bytes.as_bytes())).into_owned(),
                        )
                    })
                    .collect()
            })
            .map_err(|r| r.code())
    }

    #[test]
    fn strict_parse_table() {
        type Pairs = Result<Vec<(String, String)>, &'static str>;
        let ok = |pairs: &[(&str, &str)]| -> Pairs {
            Ok(pairs
                .iter()
                .map(|(a, v)| (a.to_string(), v.to_string()))
                .collect())
        };
        let cases: &[(&str, Pairs)] = &[
            (
                "010469025752852321abc~93dGh1",
                ok(&[("01", "04690257528523"), ("21", "abc"), ("93", "dGh1")]),
            ),
            (
                "0104690257528523100AB~17251231",
                ok(&[("01", "04690257528523"), ("10", "0AB"), ("17", "251231")]),
            ),
            ("0104690257528524", Err("gtin_check_digit")),
            ("01046902575285", Err("value_length")),
            ("010469025752852317250230", Err("invalid_date")),
            ("0104690257528523~21", Err("value_length")),
            ("010469025752852321a b", Err("value_charset")),
            ("01046902575285230104690257528523", Err("duplicate_ai")),
            ("0104690257528523xx", Err("unknown_ai")),
            ("21123456789012345678901", Err("value_length")),
        ];
        for (input, want) in cases {
            assert_eq!(&strict(input), want, "{input}");
        }
    }

    #[test]
    fn fixed_fields_outside_the_predefined_table_may_lack_their_separator() {
        let s = parse_strict(b"010460620308662721ABC1234\x1d800501234593abcd").unwrap();
        assert!(s.implied_separator);
        let s = parse_strict(b"010460620308662721ABC1234\x1d8005012345\x1d93abcd").unwrap();
        assert!(!s.implied_separator);
    }

    #[test]
    fn recovery_uses_serial_length_not_first_91() {
        // The serial itself contains "91": a split at the first "91" would be wrong.
        let sig = "A".repeat(44);
        let code = format!("010469025752852321ABC91ABDEF12391KEY192{sig}");
        match recover(code.as_bytes(), &[13, 7, 6]) {
            Recovery::Unique { text, elements } => {
                let serial = elements.get(Ai::SERIAL).unwrap().value(text.as_bytes());
                assert_eq!(serial, b"ABC91ABDEF123");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn recovery_refuses_two_fitting_splits() {
        // Serial 13 + long tail, or serial 6 + "93" tail + an AI 99 that swallows the rest:
        // both fit, so neither may win.
        let sig = "A".repeat(44);
        let code = format!("010469025752852321ABCDEF93WXYZ991KEY192{sig}");
        assert!(matches!(
            recover(code.as_bytes(), &[13, 7, 6]),
            Recovery::Ambiguous
        ));
        // With only the long layout's serial length configured, the split is unique.
        assert!(matches!(
            recover(code.as_bytes(), &[13]),
            Recovery::Unique { .. }
        ));
    }

    #[test]
    fn recovery_respects_separators_that_arrived() {
        // GS after the serial arrived, the one after 93 was lost: the weight is split by length.
        let ok = "010469025752852321ABCDEF\x1d93WXYZ3103000450";
        match recover(ok.as_bytes(), &[13, 7, 6]) {
            Recovery::Unique { elements, .. } => assert!(elements.has(Ai::new(3103, 4))),
            other => panic!("{other:?}"),
        }
        // A separator inside what the structure says is the serial contradicts the split.
        let bad = "010469025752852321ABC\x1dDEF93WXYZ";
        assert!(matches!(
            recover(bad.as_bytes(), &[13, 7, 6]),
            Recovery::NoFit
        ));
    }
}
