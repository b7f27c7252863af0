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

/// Keeps a device in service until `stop` is set or the receiver is gone: opens it, reports it
/// connected, lets `read` run until the device fails, reports the failure, and tries again
/// every `retry`. An outage is reported once, however many reopen attempts it takes, because
/// scanners get unplugged and plugged back in all shift long.
///
/// `read` returns why the device stopped working, or `None` when it was told to stop.
pub(crate) fn supervise<D>(
    source: &Source,
    events: &std::sync::mpsc::Sender<ScanEvent>,
    stop: &std::sync::atomic::AtomicBool,
    retry: std::time::Duration,
    mut open: impl FnMut() -> Result<D, String>,
    mut read: impl FnMut(&mut D) -> Option<String>,
) {
    use std::sync::atomic::Ordering;
    let down = |reason: String| ScanEvent::Disconnected {
        source: source.clone(),
        reason,
    };
    let mut announced_down = false;
    while !stop.load(Ordering::Relaxed) {
        let mut device = match open() {
            Ok(device) => device,
            Err(reason) => {
                if !announced_down {
                    announced_down = true;
                    if events.send(down(reason)).is_err() {
                        return;
                    }
                }
                std::thread::sleep(retry);
                continue;
            }
        };
        let connected = ScanEvent::Connected {
            source: source.clone(),
        };
        if events.send(connected).is_err() {
            return;
        }
        match read(&mut device) {
            Some(reason) => {
                announced_down = true;
                if events.send(down(reason)).is_err() {
                    return;
                }
            }
            None => return,
        }
    }
}
