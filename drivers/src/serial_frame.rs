//! Cuts the byte stream of a serial scanner into scans by its framing; bytes stay bytes.

use std::fmt;
use std::str::FromStr;

const STX: u8 = 0x02;
const ETX: u8 = 0x03;

/// How the scanner marks where a scan ends (and, for STX/ETX, where it starts).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Framing {
    Cr,
    Lf,
    CrLf,
    /// STX payload ETX; bytes outside a frame are noise.
    StxEtx,
    /// No terminator: a pause in the stream ends the scan.
    Timeout,
}

impl Framing {
    pub fn code(self) -> &'static str {
        match self {
            Framing::Cr => "cr",
            Framing::Lf => "lf",
            Framing::CrLf => "crlf",
            Framing::StxEtx => "stx-etx",
            Framing::Timeout => "none",
        }
    }
}

impl FromStr for Framing {
    type Err = String;

    fn from_str(s: &str) -> Result<Framing, String> {
        [
            Framing::Cr,
            Framing::Lf,
            Framing::CrLf,
            Framing::StxEtx,
            Framing::Timeout,
        ]
        .into_iter()
        .find(|f| f.code() == s)
        .ok_or_else(|| format!("unknown framing {s:?}: cr, lf, crlf, stx-etx or none"))
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Longer than any scan: a frame that grows past it is line noise or a wrong baud rate.
pub const MAX_FRAME: usize = 1024;

/// What the framer hands on.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Frame {
    Scan(Vec<u8>),
    /// Bytes that could not be a scan (overlong, or outside STX/ETX), counted for diagnostics.
    Noise {
        bytes: usize,
    },
}

/// The framer's state between reads.
#[derive(Clone, Debug)]
pub struct SerialFramer {
    framing: Framing,
    buffer: Vec<u8>,
    inside: bool,
    overflowed: usize,
}

impl SerialFramer {
    pub fn new(framing: Framing) -> SerialFramer {
        SerialFramer {
            framing,
            buffer: Vec::new(),
            inside: false,
            overflowed: 0,
        }
    }

    /// Takes the bytes of one read; returns the frames they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        for &b in bytes {
            match (self.framing, b) {
                (Framing::Cr, b'\r') | (Framing::Lf, b'\n') => self.complete(&mut out),
                (Framing::CrLf, b'\n') => {
                    if self.buffer.last() == Some(&b'\r') {
                        self.buffer.pop();
                    }
                    self.complete(&mut out);
                }
                (Framing::StxEtx, STX) => {
                    if !self.buffer.is_empty() {
                        out.push(Frame::Noise {
                            bytes: self.buffer.len(),
                        });
                        self.buffer.clear();
                    }
                    self.inside = true;
                }
                (Framing::StxEtx, ETX) if self.inside => {
                    self.inside = false;
                    self.complete(&mut out);
                }
                (Framing::StxEtx, _) if !self.inside => {
                    out.push(Frame::Noise { bytes: 1 });
                }
                _ => self.push(b),
            }
        }
        merge_noise(out)
    }

    fn push(&mut self, b: u8) {
        if self.buffer.len() >= MAX_FRAME {
            self.overflowed += 1;
        } else {
            self.buffer.push(b);
        }
    }

    fn complete(&mut self, out: &mut Vec<Frame>) {
        let frame = std::mem::take(&mut self.buffer);
        let overflowed = std::mem::take(&mut self.overflowed);
        if overflowed > 0 {
            out.push(Frame::Noise {
                bytes: frame.len() + overflowed,
            });
        } else if !frame.is_empty() {
            out.push(Frame::Scan(frame));
        }
    }

    /// The read timed out: with no terminator configured, what arrived is a scan; otherwise a
    /// half frame stays pending for the rest of it.
    pub fn idle(&mut self) -> Option<Frame> {
        if self.framing != Framing::Timeout {
            return None;
        }
        let mut out = Vec::new();
        self.complete(&mut out);
        out.pop()
    }
}

fn merge_noise(frames: Vec<Frame>) -> Vec<Frame> {
    let mut out: Vec<Frame> = Vec::with_capacity(frames.len());
    for frame in frames {
        match (out.last_mut(), &frame) {
            (Some(Frame::Noise { bytes }), Frame::Noise { bytes: more }) => *bytes += more,
            _ => out.push(frame),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(framing: Framing, reads: &[&[u8]], idle_after_each: bool) -> Vec<String> {
        let mut framer = SerialFramer::new(framing);
        let mut out = Vec::new();
        for read in reads {
            out.extend(framer.feed(read));
            if idle_after_each {
                out.extend(framer.idle());
            }
        }
        out.into_iter()
            .map(|f| match f {
                Frame::Scan(b) => b.escape_ascii().to_string(),
                Frame::Noise { bytes } => format!("noise:{bytes}"),
            })
            .collect()
    }

    #[test]
    fn framings() {
        // (framing, reads, idle after each read, frames out)
        type Case<'a> = (Framing, &'a [&'a [u8]], bool, &'a [&'a str]);
        let cases: &[Case] = &[
            (
                Framing::Cr,
                &[b"01\x1d93\r02", b"\r"],
                false,
                &["01\\x1d93", "02"],
            ),
            (Framing::Lf, &[b"a\nb\n\n"], false, &["a", "b"]),
            (Framing::CrLf, &[b"a\r", b"\nb\r\n"], false, &["a", "b"]),
            // CR inside a CRLF-framed code is kept if no LF follows it directly.
            (Framing::CrLf, &[b"a\rb\r\n"], false, &["a\\rb"]),
            (
                Framing::StxEtx,
                &[b"zz\x02ab\x1d", b"c\x03\x02d\x03"],
                false,
                &["noise:2", "ab\\x1dc", "d"],
            ),
            (
                Framing::StxEtx,
                &[b"\x02ab\x02cd\x03"],
                false,
                &["noise:2", "cd"],
            ),
            (
                Framing::Timeout,
                &[b"01\x1d9", b"3"],
                true,
                &["01\\x1d9", "3"],
            ),
            (Framing::Timeout, &[b"0123"], false, &[]),
            (Framing::Cr, &[b"half"], true, &[]),
        ];
        for (framing, reads, idle, want) in cases {
            assert_eq!(run(*framing, reads, *idle), *want, "{framing} {reads:?}");
        }
    }

    #[test]
    fn overlong_frames_are_noise_not_scans() {
        let long = vec![b'7'; MAX_FRAME + 10];
        let out = run(Framing::Cr, &[&long, b"\rok\r"], false);
        assert_eq!(out, ["noise:1034", "ok"]);
    }

    #[test]
    fn framing_names() {
        for f in ["cr", "lf", "crlf", "stx-etx", "none"] {
            assert_eq!(f.parse::<Framing>().unwrap().code(), f);
        }
        assert!("etx".parse::<Framing>().is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// However the stream is cut into reads, the same scans come out.
            #[test]
            fn read_boundaries_do_not_matter(
                codes in proptest::collection::vec(proptest::collection::vec(0x1du8..0x7f, 1..60), 1..8),
                cuts in proptest::collection::vec(1usize..40, 1..20),
            ) {
                let stream: Vec<u8> = codes.iter().flat_map(|c| {
                    let mut framed = c.clone();
                    framed.extend(b"\r\n");
                    framed
                }).collect();
                let mut framer = SerialFramer::new(Framing::CrLf);
                let mut got = Vec::new();
                let mut rest = &stream[..];
                for cut in cuts.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (read, tail) = rest.split_at((*cut).min(rest.len()));
                    got.extend(framer.feed(read));
                    rest = tail;
                }
                let want: Vec<Frame> = codes.into_iter().map(Frame::Scan).collect();
                prop_assert_eq!(got, want);
            }

            /// Garbage never panics.
            #[test]
            fn garbage_is_safe(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
                for framing in [Framing::Cr, Framing::Lf, Framing::CrLf, Framing::StxEtx, Framing::Timeout] {
                    let mut framer = SerialFramer::new(framing);
                    for frame in framer.feed(&bytes) {
                        if let Frame::Scan(scan) = frame {
                            prop_assert!(!scan.is_empty() && scan.len() <= MAX_FRAME);
                        }
                    }
                    let _ = framer.idle();
                }
            }
        }
    }
}
