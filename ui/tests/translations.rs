//! Every `@tr` string of the screens has a Russian translation in the bundled catalogue, so no
//! English text shows on a Russian terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up is a failed test

use std::collections::BTreeSet;
use std::path::Path;

fn tr_strings() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (at, _) in text.match_indices("@tr(\"") {
            let rest = &text[at + 5..];
            let end = rest.find('"').unwrap();
            found.insert(rest[..end].to_string());
        }
    }
    found
}

/// msgid → msgstr of the Russian catalogue.
fn catalogue() -> Vec<(String, String)> {
    let po = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("lang/ru/LC_MESSAGES/tally-ui.po"),
    )
    .unwrap();
    let mut pairs = Vec::new();
    let mut id = None;
    for line in po.lines() {
        if let Some(rest) = line.strip_prefix("msgid \"") {
            id = Some(rest.trim_end_matches('"').to_string());
        } else if let Some(rest) = line.strip_prefix("msgstr \"")
            && let Some(id) = id.take()
        {
            pairs.push((id, rest.trim_end_matches('"').to_string()));
        }
    }
    pairs
}

#[test]
fn every_string_is_translated_to_russian() {
    let strings = tr_strings();
    assert!(strings.len() > 50, "{}", strings.len());
    let catalogue = catalogue();
    for s in &strings {
        let translations: Vec<_> = catalogue.iter().filter(|(id, _)| id == s).collect();
        assert!(!translations.is_empty(), "{s:?} is not in the catalogue");
        for (_, ru) in translations {
            assert!(!ru.is_empty(), "{s:?} has no Russian");
            assert!(
                ru.chars()
                    .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)))
                    || ru == "ОК",
                "{s:?} → {ru:?} is not Russian"
            );
        }
    }
}
