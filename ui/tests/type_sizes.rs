//! No text under 16 px at 480×800: every font size written in the screens' sources, and every
//! size the theme hands out, is checked here, so a new label cannot slip below it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::path::Path;

fn sources() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slint"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Pixel sizes following `key` (`font-size:` uses, theme size declarations).
fn sizes_after(text: &str, key: &str) -> Vec<u32> {
    text.match_indices(key)
        .filter_map(|(at, _)| {
            let rest = text[at + key.len()..].trim_start();
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (!digits.is_empty() && rest[digits.len()..].starts_with("px"))
                .then(|| digits.parse().unwrap())
        })
        .collect()
}

#[test]
fn no_text_is_smaller_than_16_px() {
    let files = sources();
    assert!(files.len() >= 5, "{files:?}");
    let mut checked = 0;
    for (name, text) in &files {
        for size in sizes_after(text, "font-size:") {
            assert!(size >= 16, "{name}: font-size {size}px");
            checked += 1;
        }
        // The theme's named sizes (body, small, title, headline) are what most text uses.
        for key in [
            "<length> body:",
            "<length> small:",
            "<length> title:",
            "<length> headline:",
        ] {
            for size in sizes_after(text, key) {
                assert!(size >= 16, "{name}: {key} {size}px");
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 6,
        "only {checked} sizes found: the check reads nothing"
    );
    // Every font-size in the sources is either a literal (checked above) or a theme size.
    for (name, text) in &files {
        for (at, _) in text.match_indices("font-size:") {
            let rest = text[at + "font-size:".len()..].trim_start();
            assert!(
                rest.starts_with(|c: char| c.is_ascii_digit()) || rest.starts_with("Theme."),
                "{name}: font-size from elsewhere: {}",
                &rest[..rest.len().min(30)]
            );
        }
    }
}

#[test]
fn the_check_catches_a_small_size() {
    assert_eq!(sizes_after("font-size: 12px;", "font-size:"), vec![12]);
    assert_eq!(
        sizes_after("out property <length> small: 14px;", "<length> small:"),
        vec![14]
    );
}
