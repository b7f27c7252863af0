//! The keyboard-wedge decoder: key events of a USB-HID scanner in, scans out.
//!
//! A pure state machine (events and their kernel times in, [`WedgeOutput`] out) so every case
//! is a short text trace in a test. Key codes are physical positions (Linux input key codes)
//! read through a fixed US table: the host's keyboard layout never touches the code.
//!
//! GS reaches us as Ctrl+], as Alt + a numpad number (Alt+0029), or as a configured substitute
//! key (F8 by default); all become byte 0x1D. A scan ends on Enter or Tab, or when no key came
//! for `gap_ms`. A scanner types a whole code in tens of milliseconds; a person types slower,
//! so keys far apart inside one burst mean somebody typed into the scanner's stream, and the
//! burst is dropped with a reason instead of being merged into a code.

use std::fmt;

/// Linux input key codes used by scanners (from `linux/input-event-codes.h`).
pub mod key {
    pub const ESC: u16 = 1;
    pub const N1: u16 = 2;
    pub const N0: u16 = 11;
    pub const MINUS: u16 = 12;
    pub const EQUAL: u16 = 13;
    pub const BACKSPACE: u16 = 14;
    pub const TAB: u16 = 15;
    pub const LEFTBRACE: u16 = 26;
    pub const RIGHTBRACE: u16 = 27;
    pub const ENTER: u16 = 28;
    pub const LEFTCTRL: u16 = 29;
    pub const SEMICOLON: u16 = 39;
    pub const APOSTROPHE: u16 = 40;
    pub const GRAVE: u16 = 41;
    pub const LEFTSHIFT: u16 = 42;
    pub const BACKSLASH: u16 = 43;
    pub const COMMA: u16 = 51;
    pub const DOT: u16 = 52;
    pub const SLASH: u16 = 53;
    pub const RIGHTSHIFT: u16 = 54;
    pub const KPASTERISK: u16 = 55;
    pub const LEFTALT: u16 = 56;
    pub const SPACE: u16 = 57;
    pub const CAPSLOCK: u16 = 58;
    pub const F1: u16 = 59;
    pub const F8: u16 = 66;
    pub const F10: u16 = 68;
    pub const KP7: u16 = 71;
    pub const KP8: u16 = 72;
    pub const KP9: u16 = 73;
    pub const KPMINUS: u16 = 74;
    pub const KP4: u16 = 75;
    pub const KP5: u16 = 76;
    pub const KP6: u16 = 77;
    pub const KPPLUS: u16 = 78;
    pub const KP1: u16 = 79;
    pub const KP2: u16 = 80;
    pub const KP3: u16 = 81;
    pub const KP0: u16 = 82;
    pub const KPDOT: u16 = 83;
    pub const F11: u16 = 87;
    pub const F12: u16 = 88;
    pub const KPENTER: u16 = 96;
    pub const RIGHTCTRL: u16 = 97;
    pub const KPSLASH: u16 = 98;
    pub const RIGHTALT: u16 = 100;
}

/// Key names as traces write them (the Linux names without `KEY_`, lower case).
const NAMES: &[(&str, u16)] = &[
    ("esc", 1),
    ("1", 2),
    ("2", 3),
    ("3", 4),
    ("4", 5),
    ("5", 6),
    ("6", 7),
    ("7", 8),
    ("8", 9),
    ("9", 10),
    ("0", 11),
    ("minus", 12),
    ("equal", 13),
    ("backspace", 14),
    ("tab", 15),
    ("q", 16),
    ("w", 17),
    ("e", 18),
    ("r", 19),
    ("t", 20),
    ("y", 21),
    ("u", 22),
    ("i", 23),
    ("o", 24),
    ("p", 25),
    ("leftbrace", 26),
    ("rightbrace", 27),
    ("enter", 28),
    ("leftctrl", 29),
    ("a", 30),
    ("s", 31),
    ("d", 32),
    ("f", 33),
    ("g", 34),
    ("h", 35),
    ("j", 36),
    ("k", 37),
    ("l", 38),
    ("semicolon", 39),
    ("apostrophe", 40),
    ("grave", 41),
    ("leftshift", 42),
    ("backslash", 43),
    ("z", 44),
    ("x", 45),
    ("c", 46),
    ("v", 47),
    ("b", 48),
    ("n", 49),
    ("m", 50),
    ("comma", 51),
    ("dot", 52),
    ("slash", 53),
    ("rightshift", 54),
    ("kpasterisk", 55),
    ("leftalt", 56),
    ("space", 57),
    ("capslock", 58),
    ("f1", 59),
    ("f2", 60),
    ("f3", 61),
    ("f4", 62),
    ("f5", 63),
    ("f6", 64),
    ("f7", 65),
    ("f8", 66),
    ("f9", 67),
    ("f10", 68),
    ("kp7", 71),
    ("kp8", 72),
    ("kp9", 73),
    ("kpminus", 74),
    ("kp4", 75),
    ("kp5", 76),
    ("kp6", 77),
    ("kpplus", 78),
    ("kp1", 79),
    ("kp2", 80),
    ("kp3", 81),
    ("kp0", 82),
    ("kpdot", 83),
    ("f11", 87),
    ("f12", 88),
    ("kpenter", 96),
    ("rightctrl", 97),
    ("kpslash", 98),
    ("rightalt", 100),
];

pub fn key_name(code: u16) -> Option<&'static str> {
    NAMES.iter().find(|(_, c)| *c == code).map(|(n, _)| *n)
}

pub fn key_code(name: &str) -> Option<u16> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// The US layout: (unshifted, shifted) characters of a key, if it types one.
fn us_chars(code: u16) -> Option<(u8, u8)> {
    const ROW_NUM: &[u8; 10] = b"1234567890";
    const ROW_NUM_SHIFT: &[u8; 10] = b"!@#$%^&*()";
    Some(match code {
        2..=11 => (
            ROW_NUM[usize::from(code - 2)],
            ROW_NUM_SHIFT[usize::from(code - 2)],
        ),
        12 => (b'-', b'_'),
        13 => (b'=', b'+'),
        16..=25 => {
            let c = b"qwertyuiop"[usize::from(code - 16)];
            (c, c.to_ascii_uppercase())
        }
        26 => (b'[', b'{'),
        27 => (b']', b'}'),
        30..=38 => {
            let c = b"asdfghjkl"[usize::from(code - 30)];
            (c, c.to_ascii_uppercase())
        }
        39 => (b';', b':'),
        40 => (b'\'', b'"'),
        41 => (b'`', b'~'),
        43 => (b'\\', b'|'),
        44..=50 => {
            let c = b"zxcvbnm"[usize::from(code - 44)];
            (c, c.to_ascii_uppercase())
        }
        51 => (b',', b'<'),
        52 => (b'.', b'>'),
        53 => (b'/', b'?'),
        55 => (b'*', b'*'),
        57 => (b' ', b' '),
        74 => (b'-', b'-'),
        78 => (b'+', b'+'),
        83 => (b'.', b'.'),
        98 => (b'/', b'/'),
        _ => return None,
    })
}

fn numpad_digit(code: u16) -> Option<u8> {
    Some(match code {
        key::KP0 => 0,
        key::KP1 => 1,
        key::KP2 => 2,
        key::KP3 => 3,
        key::KP4 => 4,
        key::KP5 => 5,
        key::KP6 => 6,
        key::KP7 => 7,
        key::KP8 => 8,
        key::KP9 => 9,
        _ => return None,
    })
}

/// One key event: the key, press (1), release (0) or autorepeat (2), and its kernel time.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct KeyEvent {
    pub code: u16,
    pub value: i32,
    pub at_ms: u64,
}

/// How the decoder is set up for one scanner.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct WedgeConfig {
    /// A key the scanner presses for GS (F8 is a common setting); `None` for none.
    pub gs_key: Option<u16>,
    /// Silence after which a scan without a terminator is complete.
    pub gap_ms: u64,
    /// Inside one scan, keys further apart than this were typed by a person.
    pub max_key_interval_ms: u64,
}

impl Default for WedgeConfig {
    fn default() -> WedgeConfig {
        WedgeConfig {
            gs_key: Some(key::F8),
            gap_ms: 80,
            max_key_interval_ms: 40,
        }
    }
}

/// What the decoder hands on.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum WedgeOutput {
    /// A complete scan: the bytes as the scanner meant them, GS included.
    Scan { payload: Vec<u8>, at_ms: u64 },
    /// Keys that were not a scan: somebody typed, or the stream broke.
    Dropped { reason: DropReason, at_ms: u64 },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DropReason {
    /// Keys came at a person's pace inside what looked like a scan.
    HumanTyping,
    /// Alt + numpad digits that name no byte (above 255).
    BadAltCode,
}

impl DropReason {
    pub fn code(self) -> &'static str {
        match self {
            DropReason::HumanTyping => "human_typing",
            DropReason::BadAltCode => "bad_alt_code",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The decoder's state between events.
#[derive(Clone, Debug, Default)]
pub struct WedgeDecoder {
    config: WedgeConfig,
    shift: u8,
    ctrl: u8,
    alt: u8,
    caps_lock: bool,
    /// Digits typed on the numpad while Alt is held.
    alt_code: Option<u32>,
    buffer: Vec<u8>,
    first_at: u64,
    last_at: u64,
    slow: bool,
}

impl WedgeDecoder {
    pub fn new(config: WedgeConfig) -> WedgeDecoder {
        WedgeDecoder {
            config,
            ..WedgeDecoder::default()
        }
    }

    /// The time after which [`WedgeDecoder::flush`] must be called if no key comes, or `None`
    /// when nothing is pending.
    pub fn deadline(&self) -> Option<u64> {
        (!self.buffer.is_empty()).then(|| self.last_at + self.config.gap_ms)
    }

    /// Ends a scan that got no terminator once its gap has passed.
    pub fn flush(&mut self, now_ms: u64) -> Option<WedgeOutput> {
        match self.deadline() {
            Some(deadline) if now_ms >= deadline => self.finish(),
            _ => None,
        }
    }

    fn finish(&mut self) -> Option<WedgeOutput> {
        if self.buffer.is_empty() {
            return None;
        }
        let payload = std::mem::take(&mut self.buffer);
        let at_ms = self.first_at;
        if std::mem::take(&mut self.slow) {
            return Some(WedgeOutput::Dropped {
                reason: DropReason::HumanTyping,
                at_ms,
            });
        }
        Some(WedgeOutput::Scan { payload, at_ms })
    }

    fn push(&mut self, byte: u8, at_ms: u64) {
        if self.buffer.is_empty() {
            self.first_at = at_ms;
        } else if at_ms.saturating_sub(self.last_at) > self.config.max_key_interval_ms {
            self.slow = true;
        }
        self.last_at = at_ms;
        self.buffer.push(byte);
    }

    /// Takes one event; returns what it completed (at most two outputs: a scan cut by the gap
    /// and, rarely, the one the event itself ended).
    pub fn feed(&mut self, event: KeyEvent) -> Vec<WedgeOutput> {
        let mut out = Vec::new();
        // A key after the gap starts a new scan: the old one is complete.
        if let Some(deadline) = self.deadline()
            && event.at_ms >= deadline
            && let Some(done) = self.finish()
        {
            out.push(done);
        }
        let pressed = event.value != 0;
        let count = |n: &mut u8| {
            *n = if pressed {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            };
        };
        match event.code {
            key::LEFTSHIFT | key::RIGHTSHIFT if event.value != 2 => count(&mut self.shift),
            key::LEFTCTRL | key::RIGHTCTRL if event.value != 2 => count(&mut self.ctrl),
            key::LEFTALT | key::RIGHTALT if event.value != 2 => {
                count(&mut self.alt);
                if !pressed && self.alt == 0 {
                    match self.alt_code.take() {
                        Some(n) if n <= 255 => self.push(n as u8, event.at_ms),
                        Some(_) => out.push(WedgeOutput::Dropped {
                            reason: DropReason::BadAltCode,
                            at_ms: event.at_ms,
                        }),
                        None => {}
                    }
                }
            }
            // Releases carry no character; autorepeat is a held key, never a scanner's intent.
            _ if event.value != 1 => {}
            key::CAPSLOCK => self.caps_lock = !self.caps_lock,
            key::ENTER | key::KPENTER | key::TAB => out.extend(self.finish()),
            code if self.alt > 0 && numpad_digit(code).is_some() => {
                let digit = u32::from(numpad_digit(code).unwrap_or_default());
                self.alt_code = Some(
                    self.alt_code
                        .unwrap_or(0)
                        .saturating_mul(10)
                        .saturating_add(digit),
                );
            }
            code if Some(code) == self.config.gs_key => self.push(0x1D, event.at_ms),
            key::RIGHTBRACE if self.ctrl > 0 => self.push(0x1D, event.at_ms),
            code => {
                if let Some((plain, shifted)) = us_chars(code)
                    && self.ctrl == 0
                {
                    let letter = plain.is_ascii_lowercase();
                    let upper = (self.shift > 0) != (letter && self.caps_lock);
                    self.push(if upper { shifted } else { plain }, event.at_ms);
                }
            }
        }
        out
    }
}

/// A parsed trace: `d:KEY` press, `u:KEY` release, `r:KEY` autorepeat, `t:N` N ms pass.
/// KEY is a Linux key name without `KEY_`, lower case, or `#N` for a key code without a name.
///
/// Support engineers record traces on a terminal (`tally scan --source evdev:PATH --record
/// FILE`) and attach them to a ticket; the same trace replays here exactly.
pub fn parse_trace(text: &str) -> Result<Vec<KeyEvent>, String> {
    let mut now = 0u64;
    let mut events = Vec::new();
    for word in text.split_whitespace() {
        let (op, arg) = word
            .split_once(':')
            .ok_or_else(|| format!("{word:?}: expected op:arg"))?;
        let value = match op {
            "t" => {
                now += arg
                    .parse::<u64>()
                    .map_err(|_| format!("{word:?}: bad time"))?;
                continue;
            }
            "d" => 1,
            "u" => 0,
            "r" => 2,
            _ => return Err(format!("{word:?}: unknown op {op:?}")),
        };
        let code = match arg.strip_prefix('#') {
            Some(number) => number.parse::<u16>().ok(),
            None => key_code(arg),
        }
        .ok_or_else(|| format!("{word:?}: unknown key {arg:?}"))?;
        events.push(KeyEvent {
            code,
            value,
            at_ms: now,
        });
    }
    Ok(events)
}

/// Writes key events as a trace, times relative to `since_ms` (the inverse of [`parse_trace`]).
pub fn format_trace(events: &[KeyEvent], since_ms: u64) -> String {
    let mut now = since_ms;
    let mut words = Vec::with_capacity(events.len() * 2);
    for event in events {
        if event.at_ms > now {
            words.push(format!("t:{}", event.at_ms - now));
            now = event.at_ms;
        }
        let op = match event.value {
            0 => "u",
            2 => "r",
            _ => "d",
        };
        match key_name(event.code) {
            Some(name) => words.push(format!("{op}:{name}")),
            None => words.push(format!("{op}:#{}", event.code)),
        }
    }
    words.join(" ")
}

/// Writes text as a scanner types it: press and release per key, Shift where needed, GS as
/// Ctrl+], `step_ms` between keys. For tests and demos.
pub fn type_text(text: &[u8], step_ms: u64) -> String {
    let mut out = Vec::new();
    for &b in text {
        if b == 0x1D {
            out.push("d:leftctrl d:rightbrace u:rightbrace u:leftctrl".to_string());
        } else if let Some((code, shifted)) = NAMES
            .iter()
            .filter_map(|&(name, code)| us_chars(code).map(|chars| (name, chars)))
            .find_map(|(name, (plain, shift))| {
                (plain == b)
                    .then_some((name, false))
                    .or((shift == b).then_some((name, true)))
            })
        {
            if shifted {
                out.push(format!("d:leftshift d:{code} u:{code} u:leftshift"));
            } else {
                out.push(format!("d:{code} u:{code}"));
            }
        }
        out.push(format!("t:{step_ms}"));
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a trace and shows what came out: scans with GS as `~`, drops as `!reason`.
    fn run(trace: &str, config: WedgeConfig) -> Vec<String> {
        let mut decoder = WedgeDecoder::new(config);
        let mut outputs = Vec::new();
        let mut last = 0;
        for event in parse_trace(trace).unwrap() {
            last = event.at_ms;
            outputs.extend(decoder.feed(event));
        }
        outputs.extend(decoder.flush(last + 10_000));
        outputs
            .into_iter()
            .map(|o| match o {
                WedgeOutput::Scan { payload, .. } => {
                    String::from_utf8_lossy(&payload).replace('\x1d', "~")
                }
                WedgeOutput::Dropped { reason, .. } => format!("!{reason}"),
            })
            .collect()
    }

    fn check(cases: &[(&str, &[&str])]) {
        for (trace, want) in cases {
            assert_eq!(run(trace, WedgeConfig::default()), *want, "{trace}");
        }
    }

    #[test]
    fn characters_through_the_us_table() {
        check(&[
            ("d:0 u:0 d:1 u:1 d:enter u:enter", &["01"]),
            ("d:leftshift d:a u:a u:leftshift d:b u:b d:tab", &["Ab"]),
            (
                "d:capslock u:capslock d:a u:a d:leftshift d:b u:b u:leftshift d:1 d:enter",
                &["Ab1"],
            ),
            (
                "d:leftshift d:comma d:dot d:slash d:apostrophe u:leftshift d:enter",
                &["<>?\""],
            ),
            (
                "d:slash d:semicolon d:minus d:equal d:kpplus d:enter",
                &["/;-=+"],
            ),
        ]);
    }

    #[test]
    fn every_form_of_gs_becomes_one_byte() {
        check(&[
            (
                "d:2 d:1 d:leftctrl d:rightbrace u:rightbrace u:leftctrl d:9 d:3 d:enter",
                &["21~93"],
            ),
            (
                "d:2 d:1 d:leftalt d:kp0 d:kp0 d:kp2 d:kp9 u:leftalt d:9 d:3 d:enter",
                &["21~93"],
            ),
            ("d:2 d:1 d:f8 u:f8 d:9 d:3 d:enter", &["21~93"]),
            // Any Alt+numpad number is a byte: Alt+65 is "A".
            ("d:leftalt d:kp6 d:kp5 u:leftalt d:enter", &["A"]),
            (
                "d:leftalt d:kp9 d:kp9 d:kp9 u:leftalt d:enter",
                &["!bad_alt_code"],
            ),
        ]);
    }

    #[test]
    fn scans_end_on_terminators_and_gaps() {
        check(&[
            // Two rapid scans, each ended by Enter.
            ("d:1 d:enter t:5 d:2 d:enter", &["1", "2"]),
            // No terminator: the gap ends each scan.
            ("d:1 t:5 d:2 t:200 d:3 t:5 d:4", &["12", "34"]),
            // Autorepeat is not a new character.
            ("d:1 r:1 r:1 u:1 d:enter", &["1"]),
            // An empty Enter is nothing.
            ("d:enter d:enter", &[]),
        ]);
    }

    #[test]
    fn human_typing_is_not_merged_into_a_scan() {
        check(&[("d:1 t:5 d:2 t:60 d:3 d:enter", &["!human_typing"])]);
        // A person's keys well apart are each their own (dropped) burst, and the scanner's
        // next code comes through intact.
        let trace = format!("d:h t:300 d:i t:300 {}", type_text(b"0104600840749372", 3));
        assert_eq!(
            run(&trace, WedgeConfig::default()),
            ["h", "i", "0104600840749372"]
        );
    }

    #[test]
    fn typed_text_round_trips() {
        let code = b"0104600840749372215XyZ1a\x1d93Ab1+\x1d3103000450";
        let trace = format!("{} d:enter", type_text(code, 2));
        assert_eq!(
            run(&trace, WedgeConfig::default()),
            ["0104600840749372215XyZ1a~93Ab1+~3103000450"]
        );
    }

    #[test]
    fn traces_format_and_parse_back() {
        let trace = "d:leftshift t:3 d:a u:a u:leftshift t:10 d:#240 r:#240 u:#240 d:enter";
        let events = parse_trace(trace).unwrap();
        assert_eq!(format_trace(&events, 0), trace);
        assert_eq!(parse_trace(&format_trace(&events, 0)).unwrap(), events);
    }

    #[test]
    fn bad_traces_are_reported() {
        for bad in ["x:1", "d:nosuchkey", "t:abc", "d", "d:#", "d:#99999"] {
            assert!(parse_trace(bad).is_err(), "{bad}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any code of CSET 82 characters and GS, typed by a scanner, decodes byte-exact.
            #[test]
            fn typed_codes_decode_exactly(code in proptest::collection::vec(
                proptest::sample::select(
                    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz\x1d".to_vec()
                ), 1..120)) {
                let trace = format!("{} d:enter", type_text(&code, 2));
                let mut decoder = WedgeDecoder::new(WedgeConfig::default());
                let out: Vec<WedgeOutput> = parse_trace(&trace).unwrap().into_iter().flat_map(|e| decoder.feed(e)).collect();
                prop_assert_eq!(out, vec![WedgeOutput::Scan { payload: code.clone(), at_ms: 0 }]);
            }

            /// Random key events never panic, and nothing is ever left pending past its deadline.
            #[test]
            fn random_events_are_safe(events in proptest::collection::vec((0u16..120, 0i32..3, 0u64..200), 0..300)) {
                let mut decoder = WedgeDecoder::new(WedgeConfig::default());
                let mut now = 0;
                for (code, value, step) in events {
                    now += step;
                    let _ = decoder.feed(KeyEvent { code, value, at_ms: now });
                }
                let _ = decoder.flush(now + 1_000);
                prop_assert_eq!(decoder.deadline(), None);
            }
        }
    }
}
