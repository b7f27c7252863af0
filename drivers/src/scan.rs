//! The one event every scanner source sends: what was read, from where, and when.

use std::fmt;
use std::time::SystemTime;

/// Which kind of source produced a scan.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Source {
    Serial {
        path: String,
    },
    Wedge {
        path: String,
    },
    Camera,
    /// A file or standard input driving a demo or a test.
    Script,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Serial { path } => write!(f, "serial:{path}"),
            Source::Wedge { path } => write!(f, "evdev:{path}"),
            Source::Camera => f.write_str("camera"),
            Source::Script => f.write_str("script"),
        }
    }
}

/// What a scanner source reports over its channel.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ScanEvent {
    /// One scan: the payload exactly as it arrived (GS and all), the AIM symbology when the
    /// source knows it, and when it was received.
    Scan {
        payload: Vec<u8>,
        source: Source,
        symbology: Option<[u8; 2]>,
        received: SystemTime,
    },
    /// The device went away or came back; the UI shows it, the loop keeps trying.
    Connected {
        source: Source,
    },
    Disconnected {
        source: Source,
        reason: String,
    },
    /// Bytes or keys that were not a scan, with why (for diagnostics).
    Noise {
        source: Source,
        reason: String,
    },
    /// Raw key events of a keyboard-wedge scanner, sent only when recording is asked for, so
    /// a support engineer can replay exactly what the scanner typed.
    Keys {
        source: Source,
        events: Vec<crate::wedge::KeyEvent>,
    },
}
