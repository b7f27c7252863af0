//! What a support engineer or a dirty lens feeds the image path: random bytes, truncated and
//! foreign files, empty files, blank and noisy frames. Each ends in a stated reason, never a
//! panic.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tally_domain::Lang;
use tally_domain::reason::Reason;
use tally_drivers::image::synthetic::{self, Scene};
use tally_drivers::image::{
    DecodeFailure, DecodeOptions, FileSource, FrameDecoder, FrameSource, LookFor, LumaFrame,
    SourceError, read_image, read_image_file,
};

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tally-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sample_png() -> Vec<u8> {
    let symbol = synthetic::data_matrix(b"0104600840749372215XyZ1a\x1d93Ab1+", true).unwrap();
    synthetic::png(&synthetic::scale(&symbol, 4.0).unwrap()).unwrap()
}

fn every_pass() -> FrameDecoder {
    FrameDecoder::new(DecodeOptions {
        look_for: LookFor::ANY,
        try_harder: true,
        deadline: Duration::from_secs(60),
    })
}

#[test]
fn broken_files_each_have_a_reason_in_both_languages() {
    let png = sample_png();
    let mut random = vec![0u8; 4096];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for b in &mut random {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *b = state as u8;
    }
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("empty", Vec::new(), "empty_file"),
        ("random bytes", random, "unreadable_image"),
        (
            "truncated PNG",
            png[..png.len() / 2].to_vec(),
            "unreadable_image",
        ),
        ("PNG signature only", png[..8].to_vec(), "unreadable_image"),
        (
            "text",
            b"0104600840749372215XyZ1a\x1d93Ab1+\n".to_vec(),
            "unreadable_image",
        ),
        (
            "GIF",
            b"GIF89a\x10\x00\x10\x00\x80\x00\x00".to_vec(),
            "unsupported_format",
        ),
    ];
    for (name, bytes, code) in cases {
        let error = read_image(&bytes).expect_err(name);
        assert_eq!(error.code(), code, "{name}: {error}");
        assert!(!error.message(Lang::En).is_empty());
        assert!(
            error
                .message(Lang::Ru)
                .chars()
                .any(|c| ('а'..='я').contains(&c)),
            "{name}: {}",
            error.message(Lang::Ru)
        );
    }
    assert!(read_image(&png).is_ok());
}

#[test]
fn a_truncated_jpeg_decodes_to_a_frame_or_a_reason_never_a_panic() {
    let frame = Scene::default()
        .shoot(&synthetic::data_matrix(b"0104600840749372215XyZ1a\x1d93Ab1+", true).unwrap())
        .unwrap();
    let jpeg = synthetic::jpeg(&frame, 75).unwrap();
    // JPEG decoders may fill in a cut-short picture; whichever they do, the result is a frame
    // of the declared size or the `unreadable_image` reason.
    for cut in [3, 100, jpeg.len() / 3, jpeg.len() - 10] {
        match read_image(&jpeg[..cut]) {
            Ok(partial) => assert_eq!((partial.width(), partial.height()), (1280, 720)),
            Err(error) => assert_eq!(error.code(), "unreadable_image", "cut at {cut}: {error}"),
        }
    }
}

#[test]
fn missing_files_and_directories_are_reasons_too() {
    let dir = scratch_dir("garbage-files");
    let missing = read_image_file(&dir.join("nope.png")).unwrap_err();
    assert_eq!(missing.code(), "cannot_read_file");
    let directory = read_image_file(&dir).unwrap_err();
    assert_eq!(directory.code(), "cannot_read_file");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_source_reports_bad_files_and_goes_on() {
    let dir = scratch_dir("garbage-source");
    std::fs::write(dir.join("1-good.png"), sample_png()).unwrap();
    std::fs::write(dir.join("2-empty.png"), b"").unwrap();
    std::fs::write(dir.join("3-notes.txt"), b"not a picture").unwrap();
    std::fs::write(dir.join("4-good.png"), sample_png()).unwrap();
    let mut source = FileSource::new([dir.clone(), dir.join("5-missing.png")]);
    let far = Instant::now() + Duration::from_secs(1);

    let mut seen = Vec::new();
    loop {
        match source.next_frame(far) {
            Ok(Some(_)) => seen.push("frame".to_string()),
            Ok(None) => break,
            Err(SourceError::BadFrame { name, error }) => {
                assert_eq!(
                    source.current().map(|p| p.display().to_string()),
                    Some(name)
                );
                seen.push(error.code().to_string());
            }
            Err(other) => panic!("a file source has no device: {other}"),
        }
    }
    assert_eq!(
        seen,
        [
            "frame",
            "empty_file",
            "unreadable_image",
            "frame",
            "cannot_read_file"
        ]
    );
    // An ended source stays ended.
    assert_eq!(source.next_frame(far), Ok(None));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn blank_and_noise_frames_hold_no_code() {
    let mut decoder = every_pass();
    let frames = [
        LumaFrame::filled(1280, 720, 255).unwrap(),
        LumaFrame::filled(1280, 720, 0).unwrap(),
        synthetic::noise_frame(1280, 720, 3).unwrap(),
        synthetic::noise_frame(64, 48, 4).unwrap(),
        LumaFrame::filled(1, 1, 128).unwrap(),
    ];
    for frame in frames {
        let size = (frame.width(), frame.height());
        assert_eq!(
            decoder.decode(frame),
            Err(DecodeFailure::NoCodeFound),
            "{size:?}"
        );
    }
    assert_eq!(DecodeFailure::NoCodeFound.code(), "no_code_found");
}

#[test]
fn frames_whose_pixels_do_not_match_their_size_are_refused() {
    assert!(LumaFrame::new(1280, 720, vec![0; 1280 * 719]).is_err());
    assert!(LumaFrame::new(0, 0, Vec::new()).is_err());
}
