//! Runs the fuzz target's invariant over its seeds, so `cargo test` checks them without
//! `cargo fuzz`: no panic, and every canonical form re-parses to itself (through `parse`, and
//! through `read_gs1_data` for GS1 data that is no marking code).

use std::path::Path;

use tally_domain::code::{CodeKind, ParseOptions, parse, read_gs1_data};

#[test]
fn every_seed_keeps_the_fuzz_invariant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/parse");
    let plain = ParseOptions::default();
    // The second set of options of fuzz/fuzz_targets/parse.rs.
    let substitute = ParseOptions {
        gs_substitute: Some(b'#'),
        recovery_serial_lengths: [13, 7, 6, 20],
        repair_keyboard_layout: true,
    };
    let mut seeds = 0;
    let mut parsed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        seeds += 1;
        for options in [&plain, &substitute] {
            if let Ok(code) = parse(&data, options) {
                parsed += 1;
                let again = parse(code.canonical().as_bytes(), &plain);
                assert_eq!(again, Ok(code), "{}", path.display());
            }
            // GS1 data that parse refuses reads back to itself through read_gs1_data.
            if let Ok(code) = read_gs1_data(&data, options) {
                parsed += usize::from(code.kind() == CodeKind::Gs1Data);
                let again = read_gs1_data(code.canonical().as_bytes(), &plain);
                assert_eq!(again, Ok(code), "{}", path.display());
            }
        }
    }
    // The seeds are real codes: most of them parse.
    assert!(seeds >= 20, "{seeds} seeds in {}", dir.display());
    assert!(parsed >= seeds, "{parsed} of {seeds} seeds parsed");
}
