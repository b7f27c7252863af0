//! The serial scanner loop: opens the port, frames what it reads, survives unplug and replug.
//!
//! A thin loop around [`SerialFramer`]; all decisions about bytes are made there. The read
//! timeout is also the flush of frames without a terminator.

use std::io::{ErrorKind, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, SystemTime};

use crate::scan::{ScanEvent, Source};
use crate::serial_frame::{Frame, Framing, SerialFramer};

/// How one serial scanner is set up.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SerialConfig {
    /// The port, best by a stable name such as `/dev/serial/by-id/...`, which survives replug.
    pub path: String,
    pub baud: u32,
    pub framing: Framing,
    /// A pause this long ends a frame without a terminator; also how often `stop` is checked.
    pub read_timeout: Duration,
    /// How long to wait before trying a vanished port again.
    pub reconnect_every: Duration,
}

impl SerialConfig {
    pub fn new(path: impl Into<String>) -> SerialConfig {
        SerialConfig {
            path: path.into(),
            baud: 9600,
            framing: Framing::Cr,
            read_timeout: Duration::from_millis(50),
            reconnect_every: Duration::from_millis(500),
        }
    }
}

/// Reads scans until `stop` is set or the receiver is gone. Never returns an error: a port
/// that fails is reported and tried again, because the scanner may be replugged any time.
pub fn run(config: &SerialConfig, events: &Sender<ScanEvent>, stop: &Arc<AtomicBool>) {
    let source = Source::Serial {
        path: config.path.clone(),
    };
    let open = || {
        serialport::new(&config.path, config.baud)
            .timeout(config.read_timeout)
            .open()
            .map_err(|e| e.to_string())
    };
    let read = |port: &mut Box<dyn serialport::SerialPort>| {
        read_until_failure(&mut **port, config, &source, events, stop)
    };
    crate::scan::supervise(&source, events, stop, config.reconnect_every, open, read);
}

/// Reads from an open port; returns why it stopped working, or `None` when told to stop.
fn read_until_failure(
    port: &mut dyn Read,
    config: &SerialConfig,
    source: &Source,
    events: &Sender<ScanEvent>,
    stop: &Arc<AtomicBool>,
) -> Option<String> {
    let mut framer = SerialFramer::new(config.framing);
    let mut buf = [0u8; 512];
    while !stop.load(Ordering::Relaxed) {
        let frames = match port.read(&mut buf) {
            // A pty whose other side closed reads 0 bytes; a USB port that left errors out.
            Ok(0) => return Some("the port closed".into()),
            Ok(n) => framer.feed(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::Interrupted => {
                framer.idle().into_iter().collect()
            }
            Err(e) => return Some(e.to_string()),
        };
        for frame in frames {
            let event = match frame {
                Frame::Scan(payload) => ScanEvent::Scan {
                    payload,
                    source: source.clone(),
                    symbology: None,
                    received: SystemTime::now(),
                },
                Frame::Noise { bytes } => ScanEvent::Noise {
                    source: source.clone(),
                    reason: format!("{bytes} bytes outside any frame"),
                },
            };
            if events.send(event).is_err() {
                return None;
            }
        }
    }
    None
}
