//! Undoes what scanners do to a code on its way in: AIM prefixes, suffixes, FNC1, GS stand-ins.

use super::{MAX_CODE_LEN, Rejection, Repairs, Symbology};
use crate::gs1::GS;

/// Inputs longer than this are rejected before any work: no scanner setting inflates a
/// marking code (at most about 150 characters) this much, so it is a stuck key or a file.
const MAX_RAW_LEN: usize = 4 * MAX_CODE_LEN;

/// A short byte string on the stack, so the happy path of a scan never allocates.
#[derive(Clone, Copy)]
pub(crate) struct Text {
    bytes: [u8; MAX_CODE_LEN],
    len: u8,
}

impl Text {
    pub(crate) const fn new() -> Text {
        Text {
            bytes: [0; MAX_CODE_LEN],
            len: 0,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Appends `bytes`; false when the text would exceed [`MAX_CODE_LEN`].
    #[must_use]
    pub(crate) fn extend(&mut self, bytes: &[u8]) -> bool {
        let start = self.len();
        let Some(slot) = self.bytes.get_mut(start..start + bytes.len()) else {
            return false;
        };
        slot.copy_from_slice(bytes);
        self.len += bytes.len() as u8;
        true
    }

    #[must_use]
    pub(crate) fn push(&mut self, byte: u8) -> bool {
        match self.bytes.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = byte;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Removes `byte` from both ends; says whether it removed any at the start and the end.
    fn trim(&mut self, byte: u8) -> (bool, bool) {
        let all = self.as_bytes();
        let lead = all.iter().take_while(|&&b| b == byte).count();
        let trail = all[lead..].iter().rev().take_while(|&&b| b == byte).count();
        let len = all.len() - lead - trail;
        self.bytes.copy_within(lead..lead + len, 0);
        self.len = len as u8;
        (lead > 0, trail > 0)
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_bytes().escape_ascii().to_string())
    }
}

/// What the scanner sent, cleaned of transport artefacts, ready for the structure parser.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cleaned {
    pub(crate) text: Text,
    pub(crate) symbology: Option<Symbology>,
    pub(crate) repairs: Repairs,
    /// A `<GS>` stand-in was replaced: `<` and `>` are legal code characters, so the caller
    /// may have to try again without that replacement.
    pub(crate) replaced_angle_stand_in: bool,
}

/// How to treat textual stand-ins that are also legal code characters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum AngleStandIn {
    Replace,
    Keep,
}

const STAND_INS: &[&[u8]] = &[
    b"\\u001d",
    b"\\u001D",
    b"\\x1d",
    b"\\x1D",
    "\u{241D}".as_bytes(),
];

/// Bytes that may start a GS stand-in, and control characters no code contains.
static NEEDS_A_LOOK: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b != GS as usize;
        b += 1;
    }
    table[0x7F] = true;
    table[b'<' as usize] = true;
    table[b'\\' as usize] = true;
    table[0xE2] = true;
    table
};

fn is_padding(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0)
}

/// Strips and replaces scanner artefacts; rejects only what no scanner setting explains.
pub(crate) fn clean(
    raw: &[u8],
    gs_substitute: Option<u8>,
    angle: AngleStandIn,
) -> Result<Cleaned, Rejection> {
    if raw.len() > MAX_RAW_LEN {
        return Err(Rejection::TooLong);
    }
    let mut repairs = Repairs::default();
    let start = raw
        .iter()
        .position(|&b| !is_padding(b))
        .unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|&b| !is_padding(b))
        .map_or(start, |i| i + 1);
    if start > 0 || end < raw.len() {
        repairs.suffix_stripped = true;
    }
    let mut body = &raw[start..end];

    let mut symbology = None;
    if let [b']', letter, modifier, rest @ ..] = body
        && letter.is_ascii_alphabetic()
        && modifier.is_ascii_alphanumeric()
    {
        symbology = Some(Symbology::from_aim([*letter, *modifier]));
        repairs.aim_stripped = true;
        body = rest;
    }
    // A raw FNC1 codeword (232) leaks through some serial engines, sometimes after a Latin-1 to
    // UTF-8 conversion.
    if let Some(rest) = body
        .strip_prefix(&[0xE8])
        .or(body.strip_prefix("è".as_bytes()))
    {
        repairs.fnc1_stripped = true;
        body = rest;
    }

    // Separators at either end are not part of the code: a leading one is how some engines
    // send the FNC1 in first position, a trailing one comes from suffix settings.
    let lead = body.iter().take_while(|&&b| b == GS).count();
    let trail = body[lead..].iter().rev().take_while(|&&b| b == GS).count();
    repairs.fnc1_stripped |= lead > 0;
    repairs.suffix_stripped |= trail > 0;
    body = &body[lead..body.len() - trail];

    let mut text = Text::new();
    let mut replaced_angle_stand_in = false;
    // One pass finds the first byte that needs a look: a possible stand-in or a control
    // character. Everything before it is copied as is, which for a well-configured scanner is
    // the whole code.
    let plain = body
        .iter()
        .position(|&b| NEEDS_A_LOOK[usize::from(b)] || Some(b) == gs_substitute)
        .unwrap_or(body.len());
    if !text.extend(&body[..plain]) {
        return Err(Rejection::TooLong);
    }
    let mut i = plain;
    while i < body.len() {
        let b = body[i];
        let mut consumed = 1;
        let out = if Some(b) == gs_substitute {
            repairs.gs_stand_in_replaced = true;
            GS
        } else if b == b'<'
            && angle == AngleStandIn::Replace
            && body[i..].len() >= 4
            && body[i..i + 4].eq_ignore_ascii_case(b"<GS>")
        {
            repairs.gs_stand_in_replaced = true;
            replaced_angle_stand_in = true;
            consumed = 4;
            GS
        } else if let Some(stand_in) = STAND_INS.iter().find(|s| body[i..].starts_with(s)) {
            repairs.gs_stand_in_replaced = true;
            consumed = stand_in.len();
            GS
        } else if (b < 0x20 && b != GS) || b == 0x7F {
            return Err(Rejection::InvalidByte {
                position: text.len() + 1,
            });
        } else {
            b
        };
        if !text.push(out) {
            return Err(Rejection::TooLong);
        }
        i += consumed;
    }
    if repairs.gs_stand_in_replaced {
        let (lead, trail) = text.trim(GS);
        repairs.fnc1_stripped |= lead;
        repairs.suffix_stripped |= trail;
    }
    if text.len() == 0 {
        return Err(Rejection::Empty);
    }
    Ok(Cleaned {
        text,
        symbology,
        repairs,
        replaced_angle_stand_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(raw: &[u8]) -> String {
        match clean(raw, Some(b'|'), AngleStandIn::Replace) {
            Ok(c) => c.text.as_bytes().escape_ascii().to_string(),
            Err(r) => format!("!{}", r.code()),
        }
    }

    #[test]
    fn scanner_artefacts() {
        let cases: &[(&[u8], &str)] = &[
            (b"]d20104\x1d93ab\r\n", "0104\\x1d93ab"),
            (b"\xe80104", "0104"),
            ("è0104".as_bytes(), "0104"),
            (b"\x1d0104\x1d", "0104"),
            (b"01<GS>93", "01\\x1d93"),
            (b"01<gs>93", "01\\x1d93"),
            (b"01\\u001d93", "01\\x1d93"),
            (b"01\\x1D93", "01\\x1d93"),
            ("01\u{241D}93".as_bytes(), "01\\x1d93"),
            (b"01|93", "01\\x1d93"),
            (b"  0104\t", "0104"),
            (b"\r\n", "!empty"),
            (b"]d2", "!empty"),
            (b"01\x0793", "!invalid_byte"),
            (b"01\x7f", "!invalid_byte"),
            (&[b'1'; 5000], "!too_long"),
            (&[b'1'; 300], "!too_long"),
        ];
        for (raw, want) in cases {
            assert_eq!(cleaned(raw), *want, "{}", raw.escape_ascii());
        }
    }

    #[test]
    fn angle_stand_in_can_be_kept() {
        let c = clean(b"21<GS>", None, AngleStandIn::Keep).unwrap();
        assert_eq!(c.text.as_bytes(), b"21<GS>");
        assert!(!c.replaced_angle_stand_in);
    }

    #[test]
    fn aim_identifier_is_reported() {
        let c = clean(b"]Q3abc", None, AngleStandIn::Replace).unwrap();
        assert_eq!(c.symbology, Some(Symbology::from_aim(*b"Q3")));
        assert!(c.repairs.aim_stripped);
    }
}
