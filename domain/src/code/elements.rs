//! Splits GS1 element strings into (AI, value) pairs: with separators, or by structure when a
//! scanner lost them.

use super::Rejection;
use super::formats::{FORMATS, Format, SEARCHED, Tail};
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
    let holds = match rule {
        ValueRule::None => true,
        // Every marking code and label has a GTIN or an SSCC: their check stays inline.
        ValueRule::CheckDigit => gs1::check_digit_is_valid(value),
        _ => rule.holds(value),
    };
    if holds {
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
            gs1::ai_spec_at(&text[pos..]).ok_or(Rejection::UnknownAi { position: pos + 1 })?;
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
                // Not CSET 82, which is an error in most fields but not in a CSET 39 one (8010
                // allows `#`): the value still ends at its separator.
                Some(_) => {
                    scanned = Scanned::Nothing;
                    match text[run..].iter().position(|&b| b == GS) {
                        Some(i) => (run + i, run + i + 1),
                        None => (text.len(), text.len()),
                    }
                }
            }
        };
        check_value(ai, spec, &text[start..end], start, scanned)?;
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

/// Splits a unit code whose GS separators were lost, by the product groups' real formats
/// ([`FORMATS`]): their serial lengths, the verification parts at the exact offsets after the
/// serial, and the few AIs each group places before the serial or after the verification part.
///
/// Never splits at the first "91" or "93": serials contain those digits. A split that only
/// arithmetic allows (a serial length with a tail and an arbitrary AI after it) is not a
/// candidate, so it cannot make a code ambiguous. Separators that did arrive must fall on the
/// split's boundaries, and after one any AI may start, since the separator proves where it does.
///
/// `serial_lengths` selects the formats this terminal handles; a length no format has (a
/// group the reference marks unconfirmed) is tried as the plain long and short form.
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
    let mut search = Search {
        data: flat.as_bytes(),
        gs_at: &gs_at[..gs_count],
        found: None,
        ambiguous: false,
    };
    // Every format starts with the GTIN: read it once.
    let mut elements = Elements::new();
    let Some(after_gtin) = search.take(&mut elements, Ai::GTIN, 0, 14) else {
        return Recovery::NoFit;
    };
    let configured = |len: u8| serial_lengths.contains(&len);
    for (format, _) in FORMATS
        .iter()
        .zip(SEARCHED.iter())
        .filter(|(f, searched)| **searched && configured(f.serial))
    {
        search.before_serial(format, &elements, after_gtin);
    }
    for &len in serial_lengths {
        if len == 0 || FORMATS.iter().any(|f| f.serial == len) {
            continue;
        }
        for tail in [Tail::Long, Tail::Short] {
            let generic = Format {
                groups: &[],
                serial: len,
                tail,
                before: &[],
                after: &[],
                source: "a serial length configured for this terminal",
            };
            search.before_serial(&generic, &elements, after_gtin);
        }
    }
    match (search.ambiguous, search.found) {
        (true, _) => Recovery::Ambiguous,
        (false, Some(elements)) => Recovery::Unique {
            text: flat,
            elements,
        },
        (false, None) => Recovery::NoFit,
    }
}

/// The state of one recovery: the separator-free data, where separators arrived, and the
/// splits found so far.
struct Search<'d> {
    data: &'d [u8],
    gs_at: &'d [u8],
    found: Option<Elements>,
    ambiguous: bool,
}

impl Search<'_> {
    fn marked(&self, at: usize, ai: &[u8]) -> bool {
        self.data.get(at..).is_some_and(|d| d.starts_with(ai))
    }

    fn separated_at(&self, pos: usize) -> bool {
        self.gs_at.iter().any(|&g| usize::from(g) == pos)
    }

    /// The first separator that arrived after `pos`: no value starting at `pos` may run past it.
    fn next_separator(&self, pos: usize) -> usize {
        self.gs_at
            .iter()
            .map(|&g| usize::from(g))
            .find(|&g| g > pos)
            .unwrap_or(self.data.len())
    }

    /// Checks the value between `start` and `end` and appends it; false when it does not fit.
    fn accept(
        &self,
        elements: &mut Elements,
        ai: Ai,
        spec: &AiSpec,
        start: usize,
        end: usize,
    ) -> bool {
        let fits = end <= self.next_separator(start)
            && self
                .data
                .get(start..end)
                .is_some_and(|value| check_value(ai, spec, value, start, Scanned::Nothing).is_ok());
        fits && elements
            .push(Element {
                ai,
                start: start as u8,
                end: end as u8,
                separated: !spec.predefined,
            })
            .is_ok()
    }

    /// Reads `ai` at `pos` with a value of exactly `len` characters; the position after it.
    fn take(&self, elements: &mut Elements, ai: Ai, pos: usize, len: usize) -> Option<usize> {
        let (found, spec) = gs1::ai_spec_at(self.data.get(pos..)?)?;
        if found != ai {
            return None;
        }
        let start = pos + ai.width();
        self.accept(elements, ai, spec, start, start + len)
            .then_some(start + len)
    }

    /// Where a value of `spec` starting at `start` may end: its length if fixed; if variable,
    /// every length the format could mean (`enumerate`) or the run to the next separator.
    fn ends(
        &self,
        spec: &AiSpec,
        start: usize,
        enumerate: bool,
    ) -> std::ops::RangeInclusive<usize> {
        let limit = self.next_separator(start);
        if spec.is_fixed() {
            let end = start + usize::from(spec.max);
            end..=end
        } else if enumerate {
            (start + usize::from(spec.min))..=limit.min(start + usize::from(spec.max))
        } else {
            limit..=limit
        }
    }

    /// Between the GTIN and the serial: the format's AIs there (pharma's 17 and 10), then 21.
    fn before_serial(&mut self, format: &Format, elements: &Elements, pos: usize) {
        if self.ambiguous {
            return;
        }
        if self.marked(pos, b"21") {
            self.serial(format, elements, pos);
        }
        if format.before.is_empty() {
            return;
        }
        let Some((ai, spec)) = self.data.get(pos..).and_then(gs1::ai_spec_at) else {
            return;
        };
        if elements.has(ai) || !format.before.iter().any(|r| r.contains(ai)) {
            return;
        }
        let start = pos + ai.width();
        for end in self.ends(spec, start, true) {
            // Only the serial or another of the format's AIs may follow: look before checking.
            let next_fits = self.marked(end, b"21")
                || self
                    .data
                    .get(end..)
                    .and_then(gs1::ai_spec_at)
                    .is_some_and(|(next, _)| format.before.iter().any(|r| r.contains(next)));
            let mut e = *elements;
            if next_fits && self.accept(&mut e, ai, spec, start, end) {
                self.before_serial(format, &e, end);
            }
        }
    }

    /// `21` and the format's serial length, then the verification part at its exact offset.
    fn serial(&mut self, format: &Format, elements: &Elements, pos: usize) {
        // Most candidates fail on their AI markers; look at those before any other work.
        let at = pos + 2 + usize::from(format.serial);
        let plausible = match format.tail {
            Tail::Long => self.marked(at, b"91") && self.marked(at + 6, b"92"),
            Tail::Short => self.marked(at, b"93"),
            Tail::Block => self.marked(at, b"8005") && self.marked(at + 10, b"93"),
            Tail::Bare => false,
        };
        if !plausible {
            return;
        }
        let mut e = *elements;
        let Some(pos) = self.take(&mut e, Ai::SERIAL, pos, usize::from(format.serial)) else {
            return;
        };
        match format.tail {
            Tail::Long => {
                let mut with_key = e;
                let Some(pos) = self.take(&mut with_key, Ai::VERIFICATION_KEY, pos, 4) else {
                    return;
                };
                for signature in [44, 88] {
                    let mut e = with_key;
                    if let Some(pos) = self.take(&mut e, Ai::SIGNATURE, pos, signature) {
                        self.after_tail(format, &e, pos);
                    }
                }
            }
            Tail::Short => {
                if let Some(pos) = self.take(&mut e, Ai::CRYPTO_TAIL, pos, 4) {
                    self.after_tail(format, &e, pos);
                }
            }
            Tail::Block => {
                let pos = self
                    .take(&mut e, Ai::PRICE, pos, 6)
                    .and_then(|pos| self.take(&mut e, Ai::CRYPTO_TAIL, pos, 4));
                if let Some(pos) = pos {
                    self.after_tail(format, &e, pos);
                }
            }
            Tail::Bare => {}
        }
    }

    /// After the verification part: the format's AIs (milk's weight and expiry, pharma's expiry
    /// and batch, a keg's volume), or any AI where a separator arrived.
    fn after_tail(&mut self, format: &Format, elements: &Elements, pos: usize) {
        if self.ambiguous {
            return;
        }
        if pos == self.data.len() {
            self.record(elements);
            return;
        }
        let Some((ai, spec)) = gs1::ai_spec_at(&self.data[pos..]) else {
            return;
        };
        let listed = format.after.iter().any(|r| r.contains(ai));
        if elements.has(ai) || !(listed || self.separated_at(pos)) {
            return;
        }
        let start = pos + ai.width();
        for end in self.ends(spec, start, listed) {
            let next_fits = end == self.data.len()
                || self.separated_at(end)
                || self
                    .data
                    .get(end..)
                    .and_then(gs1::ai_spec_at)
                    .is_some_and(|(next, _)| format.after.iter().any(|r| r.contains(next)));
            let mut e = *elements;
            if next_fits && self.accept(&mut e, ai, spec, start, end) {
                self.after_tail(format, &e, end);
            }
        }
    }

    /// A complete split: kept if every separator that arrived stands where an element begins.
    fn record(&mut self, elements: &Elements) {
        let boundaries_hold = self.gs_at.iter().all(|&g| {
            elements
                .as_slice()
                .iter()
                .any(|e| usize::from(e.start) - e.ai.width() == usize::from(g))
        });
        if !boundaries_hold {
            return;
        }
        match self.found {
            Some(found) if found != *elements => self.ambiguous = true,
            _ => self.found = Some(*elements),
        }
    }
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
            // CSET 39 allows `#`, which is not CSET 82: the value still ends at its separator.
            ("8010AB#1~99X", ok(&[("8010", "AB#1"), ("99", "X")])),
            ("8010AB#a~99X", Err("value_charset")),
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

    /// The split recovery finds, as `AI value` pairs joined by ` | `, or why it found none.
    fn recovered(text: &str, lengths: &[u8]) -> String {
        match recover(text.as_bytes(), lengths) {
            Recovery::Unique { text, elements } => elements
                .as_slice()
                .iter()
                .map(|e| {
                    let value = String::from_utf8_lossy(e.value(text.as_bytes())).into_owned();
                    format!("{} {value}", e.ai)
                })
                .collect::<Vec<_>>()
                .join(" | "),
            Recovery::Ambiguous => "ambiguous".into(),
            Recovery::NoFit => "no fit".into(),
        }
    }

    #[test]
    fn recovery_by_the_product_groups_formats() {
        let sig = "A".repeat(44);
        let long = |serial: &str| format!("010469025752852321{serial}91KEY192{sig}");
        let tail = format!("91 KEY1 | 92 {sig}");
        let all: &[u8] = &[13, 7, 6];
        let cases: Vec<(String, &[u8], String)> = vec![
            // The serial contains "91": the split is at the serial's length, not at the first 91.
            (
                long("ABC91ABDEF123"),
                all,
                format!("01 04690257528523 | 21 ABC91ABDEF123 | {tail}"),
            ),
            // The serial contains "93": a 6-character serial with a 93 tail and an AI 99 after
            // it adds up arithmetically, but no group's format has a 99 there. Only the long
            // form fits.
            (
                long("ABCDEF93WXYZ9"),
                all,
                format!("01 04690257528523 | 21 ABCDEF93WXYZ9 | {tail}"),
            ),
            (long("ABCDEF93WXYZ9"), &[6], "no fit".into()),
            // Pharma: expiry and batch before the serial, their separators lost too.
            (
                format!("01046902575285231726123110LOT-721ABCDEFGHIJKLM91KEY192{sig}"),
                all,
                format!("01 04690257528523 | 17 261231 | 10 LOT-7 | 21 ABCDEFGHIJKLM | {tail}"),
            ),
            // A batch that contains "21" ends where the serial and its tail fit.
            (
                format!("010469025752852310AB21CD21ABCDEFGHIJKLM91KEY192{sig}"),
                all,
                format!("01 04690257528523 | 10 AB21CD | 21 ABCDEFGHIJKLM | {tail}"),
            ),
            // Pharma's expiry and batch after the signature.
            (
                format!("{}17261231102A-77", long("ABCDEFGHIJKLM")),
                all,
                format!("01 04690257528523 | 21 ABCDEFGHIJKLM | {tail} | 17 261231 | 10 2A-77"),
            ),
            // A batch "ABC17261231", or a batch "ABC" and an expiry: the format allows both.
            (
                format!("{}10ABC17261231", long("ABCDEFGHIJKLM")),
                all,
                "ambiguous".into(),
            ),
            // Milk: weight and expiry after the tail.
            (
                "0104600840749372215XyZ1a93Ab1+310300045017261231".into(),
                all,
                "01 04600840749372 | 21 5XyZ1a | 93 Ab1+ | 3103 000450 | 17 261231".into(),
            ),
            // A tobacco block; an AI after its tail is read where its separator arrived, and
            // refused where it did not (no group's block carries one there).
            (
                "0104606203086627210000001800515000093ab12\x1d240XYZ".into(),
                all,
                "01 04606203086627 | 21 0000001 | 8005 150000 | 93 ab12 | 240 XYZ".into(),
            ),
            (
                "0104606203086627210000001800515000093ab12240XYZ".into(),
                all,
                "no fit".into(),
            ),
            // A serial length configured for a group the reference does not describe.
            (
                format!("010469025752852321ABCDEFGHIJKLMNOPQRST91KEY192{sig}"),
                &[13, 7, 6, 20],
                format!("01 04690257528523 | 21 ABCDEFGHIJKLMNOPQRST | {tail}"),
            ),
            (
                format!("010469025752852321ABCDEFGHIJKLMNOPQRST91KEY192{sig}"),
                all,
                "no fit".into(),
            ),
        ];
        for (text, lengths, want) in &cases {
            assert_eq!(&recovered(text, lengths), want, "{}", text.escape_debug());
        }
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
