//! The camera loop: frames in, one scan per code held in view out, as every scanner source
//! sends them.
//!
//! A camera sees the same code in frame after frame while the operator holds the item; a
//! laser scanner would have beeped once. [`RepeatFilter`] makes the camera beep once too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant, SystemTime};

use tally_domain::code::Symbology;

use super::deadline::{DecodeFailure, FrameDecoder};
use super::decode::Decoded;
use super::source::{FrameSource, SourceError};
use crate::scan::{ScanEvent, Source};

/// How the camera loop paces itself.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CameraConfig {
    /// How long to wait for a frame; also how often `stop` is checked.
    pub frame_wait: Duration,
    /// A code in view is sent once, and again only after this many frames in a row without
    /// it: a blurred frame or two while the item moves must not make a second scan.
    pub forget_after: u32,
    /// The pause after a camera error before asking for frames again.
    pub retry_after: Duration,
}

impl Default for CameraConfig {
    fn default() -> CameraConfig {
        CameraConfig {
            frame_wait: Duration::from_millis(100),
            forget_after: 5,
            retry_after: Duration::from_millis(500),
        }
    }
}

/// Lets a code through the first time it is seen, then holds it back while it stays in view.
#[derive(Clone, Debug)]
pub struct RepeatFilter {
    last: Option<(Symbology, Vec<u8>)>,
    misses: u32,
    forget_after: u32,
}

impl RepeatFilter {
    /// `forget_after` frames without the code let it be scanned again (at least one).
    pub fn new(forget_after: u32) -> RepeatFilter {
        RepeatFilter {
            last: None,
            misses: 0,
            forget_after: forget_after.max(1),
        }
    }

    /// Takes what one frame showed; true when it is a scan to send.
    pub fn admit(&mut self, seen: Option<&Decoded>) -> bool {
        let Some(seen) = seen else {
            if self.last.is_some() {
                self.misses += 1;
                if self.misses >= self.forget_after {
                    self.last = None;
                }
            }
            return false;
        };
        self.misses = 0;
        let same = self.last.as_ref().is_some_and(|(symbology, payload)| {
            *symbology == seen.symbology && *payload == seen.payload
        });
        if !same {
            self.last = Some((seen.symbology, seen.payload.clone()));
        }
        !same
    }
}

/// Pulls frames until the source ends, `stop` is set or the receiver is gone, and sends a
/// [`ScanEvent::Scan`] from [`Source::Camera`] for each new code. A frame that fails to decode
/// in time or to load is reported as noise; a camera error as a disconnection, then retried.
pub fn run(
    source: &mut dyn FrameSource,
    decoder: &mut FrameDecoder,
    config: &CameraConfig,
    events: &Sender<ScanEvent>,
    stop: &AtomicBool,
) {
    let mut filter = RepeatFilter::new(config.forget_after);
    // Unknown until the first frame or error, so each state is announced once.
    let mut up: Option<bool> = None;
    while !stop.load(Ordering::Relaxed) {
        let frame = match source.next_frame(Instant::now() + config.frame_wait) {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(SourceError::NoFrameYet) => continue,
            Err(bad @ SourceError::BadFrame { .. }) => {
                filter.admit(None);
                if !send(events, noise(bad.to_string())) {
                    return;
                }
                continue;
            }
            Err(SourceError::Device { detail }) => {
                if up != Some(false) {
                    up = Some(false);
                    let event = ScanEvent::Disconnected {
                        source: Source::Camera,
                        reason: detail,
                    };
                    if !send(events, event) {
                        return;
                    }
                }
                std::thread::sleep(config.retry_after);
                continue;
            }
        };
        if up != Some(true) {
            up = Some(true);
            if !send(
                events,
                ScanEvent::Connected {
                    source: Source::Camera,
                },
            ) {
                return;
            }
        }
        let seen = match decoder.decode(frame) {
            Ok(decoded) => Some(decoded),
            Err(DecodeFailure::NoCodeFound) => None,
            Err(failure) => {
                if !send(events, noise(failure.to_string())) {
                    return;
                }
                None
            }
        };
        if filter.admit(seen.as_ref())
            && let Some(decoded) = seen
        {
            let event = ScanEvent::Scan {
                payload: decoded.payload,
                source: Source::Camera,
                symbology: Some(decoded.symbology.aim()),
                received: SystemTime::now(),
            };
            if !send(events, event) {
                return;
            }
        }
    }
}

fn noise(reason: String) -> ScanEvent {
    ScanEvent::Noise {
        source: Source::Camera,
        reason,
    }
}

/// False when nobody listens any more, which ends the loop.
fn send(events: &Sender<ScanEvent>, event: ScanEvent) -> bool {
    events.send(event).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::decode::Pass;

    fn code(text: &str) -> Decoded {
        Decoded {
            symbology: Symbology::GS1_DATA_MATRIX,
            payload: text.as_bytes().to_vec(),
            pass: Pass::Fast,
        }
    }

    #[test]
    fn a_code_held_in_view_is_sent_once() {
        let mut filter = RepeatFilter::new(3);
        let a = code("A");
        assert!(filter.admit(Some(&a)));
        assert!(!filter.admit(Some(&a)));
        // Two blurred frames are fewer than three: still the same sighting.
        assert!(!filter.admit(None));
        assert!(!filter.admit(None));
        assert!(!filter.admit(Some(&a)));
    }

    #[test]
    fn a_code_gone_long_enough_or_replaced_is_sent_again() {
        let mut filter = RepeatFilter::new(2);
        let (a, b) = (code("A"), code("B"));
        assert!(filter.admit(Some(&a)));
        assert!(filter.admit(Some(&b)));
        assert!(filter.admit(Some(&a)));
        assert!(!filter.admit(None));
        assert!(!filter.admit(None));
        assert!(filter.admit(Some(&a)));
    }

    #[test]
    fn the_same_bytes_in_another_symbology_are_another_code() {
        let mut filter = RepeatFilter::new(1);
        let dm = code("A");
        let qr = Decoded {
            symbology: Symbology::from_aim(*b"Q1"),
            ..dm.clone()
        };
        assert!(filter.admit(Some(&dm)));
        assert!(filter.admit(Some(&qr)));
    }
}
