//! Scripted scanner sources for demos, tests and support: payload lines from a file or
//! standard input, and recorded keyboard-wedge traces replayed through the real decoder.

use std::io::BufRead;
use std::sync::mpsc::Sender;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::scan::{ScanEvent, Source};
use crate::wedge::{WedgeConfig, WedgeDecoder, WedgeOutput, parse_trace};

/// Sends each line as one scan, bytes untouched but for the line break. Returns when the input
/// ends or the receiver is gone; an unreadable input ends it with the error.
pub fn run_lines(input: impl BufRead, events: &Sender<ScanEvent>) -> std::io::Result<()> {
    for line in input.split(b'\n') {
        let mut payload = line?;
        if payload.last() == Some(&b'\r') {
            payload.pop();
        }
        let event = ScanEvent::Scan {
            payload,
            source: Source::Script,
            symbology: None,
            received: SystemTime::now(),
        };
        if events.send(event).is_err() {
            break;
        }
    }
    Ok(())
}

/// Replays a recorded key trace (the format of [`parse_trace`]) through the decoder, as the
/// device loop would have fed it; the trace's own times decide gaps, without waiting.
pub fn run_trace(
    trace: &str,
    config: WedgeConfig,
    events: &Sender<ScanEvent>,
) -> Result<(), String> {
    let keys = parse_trace(trace)?;
    let mut decoder = WedgeDecoder::new(config);
    let mut outputs = Vec::new();
    let mut last = 0;
    for key in keys {
        last = key.at_ms;
        outputs.extend(decoder.feed(key));
    }
    outputs.extend(decoder.flush(last.saturating_add(config.gap_ms)));
    for output in outputs {
        let event = match output {
            WedgeOutput::Scan { payload, at_ms } => ScanEvent::Scan {
                payload,
                source: Source::Script,
                symbology: None,
                received: UNIX_EPOCH + Duration::from_millis(at_ms),
            },
            WedgeOutput::Dropped { reason, .. } => ScanEvent::Noise {
                source: Source::Script,
                reason: reason.code().to_string(),
            },
        };
        if events.send(event).is_err() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wedge::type_text;
    use std::sync::mpsc::channel;

    fn payloads(events: Vec<ScanEvent>) -> Vec<String> {
        events
            .into_iter()
            .map(|e| match e {
                ScanEvent::Scan { payload, .. } => payload.escape_ascii().to_string(),
                ScanEvent::Noise { reason, .. } => format!("!{reason}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn lines_become_scans_byte_exact() {
        let (tx, rx) = channel();
        run_lines(&b"01\x1d93\r\n\xff\xfe\n\nlast"[..], &tx).unwrap();
        drop(tx);
        assert_eq!(
            payloads(rx.iter().collect()),
            ["01\\x1d93", "\\xff\\xfe", "", "last"]
        );
    }

    #[test]
    fn traces_replay_through_the_decoder() {
        let (tx, rx) = channel();
        let trace = format!(
            "{} d:enter t:500 d:h t:300 d:i t:300 {}",
            type_text(b"01\x1d93", 2),
            type_text(b"106141411234567897", 2)
        );
        run_trace(&trace, WedgeConfig::default(), &tx).unwrap();
        drop(tx);
        assert_eq!(
            payloads(rx.iter().collect()),
            ["01\\x1d93", "h", "i", "106141411234567897"]
        );
        let (tx, _rx) = channel();
        assert!(run_trace("d:nokey", WedgeConfig::default(), &tx).is_err());
    }
}
