//! The camera loop: frames in, one scan per code held in view out, as every scanner source
//! sends them.
//!
//! A camera sees the same code in frame after frame while the operator holds the item; a
//! laser scanner would have beeped once. [`RepeatFilter`] makes the camera beep once too.
//!
//! A camera in continuous mode reads whatever passes in front of it; on a packing table that
//! is too eager, so the terminal can gate it with a [`Trigger`] (a key): frames outside the
//! trigger are still taken from the camera, so the first one after a press is fresh, but
//! dropped without decoding.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// When the camera loop decodes frames.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum CaptureMode {
    /// Every frame.
    #[default]
    Continuous,
    /// While the trigger is held, from key down to key up. A press shorter than a frame still
    /// gets the next frame.
    Hold,
    /// From a press until a code is read or the trigger window runs out, as a handheld
    /// scanner's trigger works; holding the key changes nothing.
    Press,
}

/// The trigger key of a camera, shared between whoever reads the key (the terminal's keyboard
/// wedge, a touch button) and the camera loop. Clones share one trigger.
#[derive(Clone, Debug)]
pub struct Trigger {
    mode: CaptureMode,
    window: Duration,
    state: Arc<TriggerState>,
}

#[derive(Debug, Default)]
struct TriggerState {
    held: AtomicBool,
    /// Counts presses, so the loop sees a press that was released before it looked.
    presses: AtomicU64,
}

impl Trigger {
    /// A trigger for `mode`; `window` is how long a press reads in [`CaptureMode::Press`].
    pub fn new(mode: CaptureMode, window: Duration) -> Trigger {
        Trigger {
            mode,
            window,
            state: Arc::default(),
        }
    }

    /// No trigger: every frame is decoded.
    pub fn continuous() -> Trigger {
        Trigger::new(CaptureMode::Continuous, Duration::ZERO)
    }

    pub fn mode(&self) -> CaptureMode {
        self.mode
    }

    /// The key went down.
    pub fn press(&self) {
        self.state.presses.fetch_add(1, Ordering::AcqRel);
        self.state.held.store(true, Ordering::Release);
    }

    /// The key came up.
    pub fn release(&self) {
        self.state.held.store(false, Ordering::Release);
    }
}

/// The loop's side of a trigger: whether the frame about to be taken is decoded.
#[derive(Debug)]
struct Gate {
    presses_seen: u64,
    open_until: Option<Instant>,
    was_open: bool,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            presses_seen: 0,
            open_until: None,
            was_open: false,
        }
    }

    /// Whether to decode now, and whether that starts a new reading (after a closed spell).
    fn open(&mut self, trigger: &Trigger, now: Instant) -> (bool, bool) {
        let presses = trigger.state.presses.load(Ordering::Acquire);
        let pressed = presses != self.presses_seen;
        self.presses_seen = presses;
        let open = match trigger.mode {
            CaptureMode::Continuous => true,
            CaptureMode::Hold => pressed || trigger.state.held.load(Ordering::Acquire),
            CaptureMode::Press => {
                if pressed {
                    self.open_until = Some(now + trigger.window);
                }
                self.open_until.is_some_and(|until| now < until)
            }
        };
        // A new press is a new reading even when the window had not closed yet.
        let fresh = open && (!self.was_open || (pressed && trigger.mode == CaptureMode::Press));
        self.was_open = open;
        (open, fresh)
    }

    /// A code was sent: a press reads one code.
    fn scanned(&mut self, trigger: &Trigger) {
        if trigger.mode == CaptureMode::Press {
            self.open_until = None;
        }
    }
}

/// What one pull from the source gave.
enum Pulled {
    Frame(super::frame::LumaFrame),
    Skipped,
    Ended,
}

/// Pulls frames until the source ends, `stop` is set or the receiver is gone, and sends a
/// [`ScanEvent::Scan`] from [`Source::Camera`] for each new code. A frame that fails to decode
/// in time or to load is reported as noise; a camera error as a disconnection, then retried.
///
/// Frames are decoded as `trigger` says (every frame for [`Trigger::continuous`]); each press
/// or hold starts afresh, so the code still in view from the last press is read again.
pub fn run(
    source: &mut dyn FrameSource,
    decoder: &mut FrameDecoder,
    config: &CameraConfig,
    trigger: &Trigger,
    events: &Sender<ScanEvent>,
    stop: &AtomicBool,
) {
    let mut filter = RepeatFilter::new(config.forget_after);
    let mut gate = Gate::new();
    // Unknown until the first frame or error, so each state is announced once.
    let mut up: Option<bool> = None;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let (open, fresh) = gate.open(trigger, now);
        if fresh {
            filter = RepeatFilter::new(config.forget_after);
        }
        let deadline = now + config.frame_wait;
        let pulled = if open {
            source
                .next_frame(deadline)
                .map(|frame| frame.map_or(Pulled::Ended, Pulled::Frame))
        } else {
            source.skip_frame(deadline).map(|taken| {
                if taken {
                    Pulled::Skipped
                } else {
                    Pulled::Ended
                }
            })
        };
        let pulled = match pulled {
            Ok(Pulled::Ended) => return,
            Ok(pulled) => pulled,
            Err(SourceError::NoFrameYet) => continue,
            // A bad frame nobody asked to decode is no news.
            Err(SourceError::BadFrame { .. }) if !open => continue,
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
        let Pulled::Frame(frame) = pulled else {
            continue;
        };
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
            gate.scanned(trigger);
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
    fn a_press_opens_the_window_until_it_runs_out_or_a_code_is_read() {
        let trigger = Trigger::new(CaptureMode::Press, Duration::from_secs(3));
        let mut gate = Gate::new();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(gate.open(&trigger, at(0)), (false, false));
        trigger.press();
        trigger.release();
        // Released at once: a press window does not care.
        assert_eq!(gate.open(&trigger, at(10)), (true, true));
        assert_eq!(gate.open(&trigger, at(2_999)), (true, false));
        assert_eq!(gate.open(&trigger, at(3_010)), (false, false));
        trigger.press();
        assert_eq!(gate.open(&trigger, at(4_000)), (true, true));
        gate.scanned(&trigger);
        assert_eq!(gate.open(&trigger, at(4_100)), (false, false));
        // A press inside an open window starts a new reading.
        trigger.press();
        assert_eq!(gate.open(&trigger, at(5_000)), (true, true));
        trigger.press();
        assert_eq!(gate.open(&trigger, at(5_100)), (true, true));
    }

    #[test]
    fn hold_follows_the_key_and_continuous_is_always_open() {
        let trigger = Trigger::new(CaptureMode::Hold, Duration::ZERO);
        let mut gate = Gate::new();
        let now = Instant::now();
        let trace = [
            (None, (false, false)),
            (Some(true), (true, true)),
            (None, (true, false)),
            (Some(false), (false, false)),
        ];
        for (key, want) in trace {
            match key {
                Some(true) => trigger.press(),
                Some(false) => trigger.release(),
                None => {}
            }
            assert_eq!(gate.open(&trigger, now), want, "{key:?}");
        }
        let mut gate = Gate::new();
        let continuous = Trigger::continuous();
        assert_eq!(gate.open(&continuous, now), (true, true));
        gate.scanned(&continuous);
        assert_eq!(gate.open(&continuous, now), (true, false));
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
