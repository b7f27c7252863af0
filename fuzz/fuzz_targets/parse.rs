//! Fuzzes the scan parser: no input may panic, and whatever parses must re-parse to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tally_domain::code::{ParseOptions, parse};

fuzz_target!(|data: &[u8]| {
    let plain = ParseOptions::default();
    let substitute = ParseOptions {
        gs_substitute: Some(b'#'),
        recovery_serial_lengths: [13, 7, 6, 20],
        repair_keyboard_layout: true,
    };
    for options in [&plain, &substitute] {
        if let Ok(code) = parse(data, options) {
            let again = parse(code.canonical().as_bytes(), &plain);
            assert_eq!(again, Ok(code), "canonical form is not a fixed point");
            let _ = code.ki().map(|ki| ki.key());
            let _ = (code.max_retail_price(), code.expiry(), code.product_group());
        }
    }
});
