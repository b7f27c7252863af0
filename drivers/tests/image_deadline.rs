//! The deadline holds whatever the reader does: a reader that never returns costs one frame
//! and a leaked thread, a reader that panics costs one frame, and the decoder keeps working.
//! The tests assert outcomes, not durations.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tally_domain::Lang;
use tally_domain::code::Symbology;
use tally_domain::reason::Reason;
use tally_drivers::image::synthetic::{self, Scene};
use tally_drivers::image::{
    DecodeFailure, DecodeOptions, Decoded, FrameDecoder, LookFor, LumaFrame, Pass, SymbolReader,
};

/// Reads every frame as "OK" except those whose first pixel is 0 (hang) or 1 (panic), and,
/// when `hang_when_trying_harder`, hangs in every try-harder pass: rxing's reported bug.
#[derive(Default)]
struct Stub {
    hang_when_trying_harder: bool,
    calls: AtomicUsize,
}

impl SymbolReader for Stub {
    fn read(&self, frame: &LumaFrame, _look_for: LookFor, pass: Pass) -> Option<Decoded> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let hang = frame.pixels().first() == Some(&0)
            || (pass == Pass::TryHarder && self.hang_when_trying_harder);
        if hang {
            loop {
                std::thread::park();
            }
        }
        if frame.pixels().first() == Some(&1) {
            panic!("a reader bug");
        }
        if pass == Pass::Fast && self.hang_when_trying_harder {
            return None;
        }
        Some(Decoded {
            symbology: Symbology::GS1_DATA_MATRIX,
            payload: b"OK".to_vec(),
            pass,
        })
    }
}

fn frame(first_pixel: u8) -> LumaFrame {
    let mut frame = LumaFrame::filled(16, 16, 200).unwrap_or_else(|e| panic!("{e}"));
    frame.pixels_mut()[0] = first_pixel;
    frame
}

fn options(try_harder: bool) -> DecodeOptions {
    DecodeOptions {
        look_for: LookFor::GOODS,
        try_harder,
        deadline: Duration::from_secs(1),
    }
}

#[test]
fn a_reader_that_never_returns_times_out_and_the_next_frame_is_read() {
    let mut decoder = FrameDecoder::with_reader(Arc::new(Stub::default()), options(false));
    assert_eq!(
        decoder.decode(frame(200)).map(|d| d.payload),
        Ok(b"OK".to_vec())
    );

    let timeout = decoder.decode(frame(0)).unwrap_err();
    assert_eq!(
        timeout,
        DecodeFailure::Timeout {
            after: Duration::from_secs(1),
            pass: Pass::Fast
        }
    );
    assert_eq!(timeout.code(), "timeout");
    assert!(timeout.message(Lang::En).contains("1000 ms"));
    assert!(timeout.message(Lang::Ru).contains("1000 мс"));
    assert_eq!(decoder.abandoned_workers(), 1);
    // A fast-pass overrun is not rxing's try-harder loop: nothing is switched off.
    assert!(!decoder.try_harder_suspended());

    // The stuck worker was replaced: the next frame is read as if nothing happened.
    assert_eq!(
        decoder.decode(frame(200)).map(|d| d.payload),
        Ok(b"OK".to_vec())
    );
    assert_eq!(decoder.abandoned_workers(), 1);
}

#[test]
fn a_try_harder_overrun_switches_the_try_harder_pass_off() {
    let stub = Arc::new(Stub {
        hang_when_trying_harder: true,
        ..Stub::default()
    });
    let mut decoder = FrameDecoder::with_reader(stub.clone(), options(true));
    assert_eq!(
        decoder.decode(frame(200)),
        Err(DecodeFailure::Timeout {
            after: Duration::from_secs(1),
            pass: Pass::TryHarder
        })
    );
    assert!(decoder.try_harder_suspended());
    // Later frames get the fast pass only: an answer, not another leaked thread.
    let calls_before = stub.calls.load(Ordering::SeqCst);
    assert_eq!(decoder.decode(frame(200)), Err(DecodeFailure::NoCodeFound));
    assert_eq!(stub.calls.load(Ordering::SeqCst), calls_before + 1);
    assert_eq!(decoder.abandoned_workers(), 1);
}

#[test]
fn a_reader_that_panics_costs_one_frame() {
    let mut decoder = FrameDecoder::with_reader(Arc::new(Stub::default()), options(false));
    let failure = decoder.decode(frame(1)).unwrap_err();
    assert_eq!(failure, DecodeFailure::ReaderFailed);
    assert_eq!(failure.code(), "decoder_failed");
    assert_eq!(
        decoder.decode(frame(200)).map(|d| d.payload),
        Ok(b"OK".to_vec())
    );
    assert_eq!(decoder.abandoned_workers(), 0);
}

#[test]
fn a_deadline_of_zero_gives_the_real_decoder_no_time() {
    let symbol = synthetic::data_matrix(b"0104600840749372215XyZ1a\x1d93Ab1+", true)
        .unwrap_or_else(|e| panic!("{e}"));
    let frame = Scene::default()
        .shoot(&symbol)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut decoder = FrameDecoder::new(DecodeOptions {
        deadline: Duration::ZERO,
        ..DecodeOptions::default()
    });
    assert!(matches!(
        decoder.decode(frame),
        Err(DecodeFailure::Timeout {
            pass: Pass::Fast,
            ..
        })
    ));
}
