//! The keyboard-wedge device loop: opens the scanner's evdev node, grabs it, feeds its key
//! events to [`WedgeDecoder`], and survives unplug and replug.
//!
//! All decisions about keys are the decoder's; this loop only moves events and waits. Grabbing
//! (`EVIOCGRAB`) keeps the scanner's keystrokes from reaching any other program, the UI's
//! libinput included.

use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use evdev::{Device, EventType};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::scan::{ScanEvent, Source};
use crate::wedge::{KeyEvent, WedgeConfig, WedgeDecoder, WedgeOutput};

/// How one keyboard-wedge scanner is set up.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WedgeDeviceConfig {
    /// The event node, best by a stable name such as `/dev/input/by-id/usb-...-event-kbd`.
    pub path: String,
    pub decoder: WedgeConfig,
    /// Take the device exclusively (the default; off only for diagnostics).
    pub grab: bool,
    /// Also send every key event ([`ScanEvent::Keys`]) for recording traces.
    pub record_keys: bool,
    pub reconnect_every: Duration,
}

impl WedgeDeviceConfig {
    pub fn new(path: impl Into<String>) -> WedgeDeviceConfig {
        WedgeDeviceConfig {
            path: path.into(),
            decoder: WedgeConfig::default(),
            grab: true,
            record_keys: false,
            reconnect_every: Duration::from_millis(500),
        }
    }
}

/// How often the loop looks at `stop` while the scanner is silent.
const STOP_CHECK: Duration = Duration::from_millis(200);

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Reads scans until `stop` is set or the receiver is gone. A device that fails is reported
/// and opened again, because scanners get unplugged.
pub fn run(config: &WedgeDeviceConfig, events: &Sender<ScanEvent>, stop: &Arc<AtomicBool>) {
    let source = Source::Wedge {
        path: config.path.clone(),
    };
    let read = |device: &mut Device| read_until_failure(device, config, &source, events, stop);
    crate::scan::supervise(
        &source,
        events,
        stop,
        config.reconnect_every,
        || open(config),
        read,
    );
}

fn open(config: &WedgeDeviceConfig) -> Result<Device, String> {
    let mut device =
        Device::open(&config.path).map_err(|e| format!("cannot open {}: {e}", config.path))?;
    if config.grab {
        device
            .grab()
            .map_err(|e| format!("cannot take {} exclusively: {e}", config.path))?;
    }
    device
        .set_nonblocking(true)
        .map_err(|e| format!("cannot read {} without blocking: {e}", config.path))?;
    Ok(device)
}

/// Moves events from the device to the decoder; returns why the device stopped working, or
/// `None` when told to stop.
fn read_until_failure(
    device: &mut Device,
    config: &WedgeDeviceConfig,
    source: &Source,
    events: &Sender<ScanEvent>,
    stop: &Arc<AtomicBool>,
) -> Option<String> {
    let mut decoder = WedgeDecoder::new(config.decoder);
    while !stop.load(Ordering::Relaxed) {
        // Sleep until a key arrives, the pending scan's gap runs out, or it is time to look at
        // `stop`: a scan without a terminator is complete exactly at its deadline.
        let now = millis(SystemTime::now());
        let wait = decoder
            .deadline()
            .map_or(STOP_CHECK, |d| Duration::from_millis(d.saturating_sub(now)))
            .min(STOP_CHECK);
        let timeout = PollTimeout::from(u16::try_from(wait.as_millis()).unwrap_or(u16::MAX));
        let mut fds = [PollFd::new(device.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Some(format!("waiting for keys failed: {e}")),
        }
        let hung_up = fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR));
        let mut outputs = Vec::new();
        let mut keys = Vec::new();
        match device.fetch_events() {
            Ok(batch) => {
                for event in batch.filter(|e| e.event_type() == EventType::KEY) {
                    let key = KeyEvent {
                        code: event.code(),
                        value: event.value(),
                        at_ms: millis(event.timestamp()),
                    };
                    outputs.extend(decoder.feed(key));
                    keys.push(key);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            // ENODEV: the scanner was unplugged.
            Err(e) => return Some(e.to_string()),
        }
        if hung_up {
            return Some("the device went away".into());
        }
        outputs.extend(decoder.flush(millis(SystemTime::now())));
        if config.record_keys && !keys.is_empty() {
            let recorded = ScanEvent::Keys {
                source: source.clone(),
                events: keys,
            };
            if events.send(recorded).is_err() {
                return None;
            }
        }
        for output in outputs {
            if events.send(scan_event(output, source)).is_err() {
                return None;
            }
        }
    }
    None
}

fn scan_event(output: WedgeOutput, source: &Source) -> ScanEvent {
    match output {
        WedgeOutput::Scan { payload, at_ms } => ScanEvent::Scan {
            payload,
            source: source.clone(),
            symbology: None,
            received: UNIX_EPOCH + Duration::from_millis(at_ms),
        },
        WedgeOutput::Dropped { reason, .. } => ScanEvent::Noise {
            source: source.clone(),
            reason: reason.code().to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn a_missing_device_is_reported_once_and_the_loop_stops_on_request() {
        let config = WedgeDeviceConfig {
            reconnect_every: Duration::from_millis(5),
            ..WedgeDeviceConfig::new("/dev/input/by-id/no-such-scanner-event-kbd")
        };
        let (tx, rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let worker = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || run(&config, &tx, &stop))
        };
        let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        match first {
            ScanEvent::Disconnected { reason, .. } => assert!(reason.contains("cannot open")),
            other => panic!("{other:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
        stop.store(true, Ordering::Relaxed);
        worker.join().unwrap();
        // Retries were silent: one report for one outage.
        assert!(rx.try_iter().next().is_none());
    }

    #[test]
    fn decoder_outputs_become_scan_events() {
        let source = Source::Wedge {
            path: "/dev/input/event7".into(),
        };
        let scan = scan_event(
            WedgeOutput::Scan {
                payload: b"01\x1d93".to_vec(),
                at_ms: 1_000,
            },
            &source,
        );
        assert_eq!(
            scan,
            ScanEvent::Scan {
                payload: b"01\x1d93".to_vec(),
                source: source.clone(),
                symbology: None,
                received: UNIX_EPOCH + Duration::from_secs(1),
            }
        );
        let noise = scan_event(
            WedgeOutput::Dropped {
                reason: crate::wedge::DropReason::HumanTyping,
                at_ms: 0,
            },
            &source,
        );
        assert!(matches!(noise, ScanEvent::Noise { reason, .. } if reason == "human_typing"));
    }
}
