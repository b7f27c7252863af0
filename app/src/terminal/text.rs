//! The words the controller and its presenters show, in the operator's language, through the
//! one catalogue the screens' `@tr` strings use (`ui/lang/ru/LC_MESSAGES/tally-ui.po`, context
//! `Terminal`): English is the message id, Russian its translation.
//!
//! Placeholders are named (`{name}`), so a translation may put them in another order.

use std::fmt::Display;

use tally_domain::Lang;

/// The catalogue's context for texts of Rust code, apart from the `.slint` components'.
pub const CONTEXT: &str = "Terminal";

/// Texts in one language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Texts(pub Lang);

impl Texts {
    /// `en` in this language. A message the catalogue lacks shows in English (the translation
    /// test keeps that from shipping).
    pub fn s(self, en: &'static str) -> String {
        self.pick(en).to_owned()
    }

    /// `en` in this language with its `{name}` placeholders filled.
    pub fn f(self, en: &'static str, args: &[(&str, &dyn Display)]) -> String {
        let mut text = self.pick(en).to_owned();
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), &value.to_string());
        }
        text
    }

    pub fn lang(self) -> Lang {
        self.0
    }

    fn pick(self, en: &'static str) -> &'static str {
        match self.0 {
            Lang::En => en,
            Lang::Ru => tally_ui::russian(CONTEXT, en).unwrap_or(en),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// Every message id the terminal's sources pass to `s` or `f`.
    fn used() -> BTreeSet<String> {
        fn walk(dir: &Path, found: &mut BTreeSet<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, found);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (at, _) in text.match_indices(".s(").chain(text.match_indices(".f(")) {
                    let before = text[..at].trim_end();
                    if !(before.ends_with('t') || before.ends_with("t()")) {
                        continue;
                    }
                    let rest = text[at + 3..].trim_start();
                    let Some(rest) = rest.strip_prefix('"') else {
                        continue;
                    };
                    let end = rest.find('"').unwrap();
                    found.insert(rest[..end].to_string());
                }
            }
        }
        let mut found = BTreeSet::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/terminal"),
            &mut found,
        );
        found
    }

    fn placeholders(text: &str) -> BTreeSet<&str> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect()
    }

    #[test]
    fn every_text_of_the_terminal_is_in_the_catalogue_in_russian() {
        let used = used();
        assert!(used.len() > 100, "{}", used.len());
        let catalogue: Vec<(String, String)> = tally_ui::russian_entries()
            .into_iter()
            .filter(|(context, _, _)| context == CONTEXT)
            .map(|(_, id, text)| (id, text))
            .collect();
        for id in &used {
            let ru = catalogue
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, text)| text)
                .unwrap_or_else(|| panic!("{id:?} is not in the catalogue"));
            assert!(
                ru.chars()
                    .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap())),
                "{id:?} → {ru:?} is not Russian"
            );
            assert_eq!(placeholders(id), placeholders(ru), "{id:?} → {ru:?}");
        }
        // Nothing in the catalogue's block that the code no longer says.
        for (id, _) in &catalogue {
            assert!(used.contains(id), "{id:?} is in the catalogue but not used");
        }
    }

    #[test]
    fn no_text_is_written_as_an_inline_english_russian_pair() {
        fn walk(dir: &Path) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path);
                    continue;
                }
                if path.ends_with("text.rs") {
                    continue; // this test's own patterns
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let compact: String = text.split_whitespace().collect();
                // What a `Lang::Ru` arm gives is picked from elsewhere (a domain message, a
                // language code), never Russian typed in place.
                for (at, _) in compact.match_indices("Lang::Ru=>") {
                    let arm: String = compact[at..].chars().skip(10).take(40).collect();
                    assert!(
                        !arm.chars()
                            .any(|c| ('а'..='я').contains(&c) || ('А'..='Я').contains(&c)),
                        "{}: {arm}",
                        path.display()
                    );
                }
            }
        }
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/terminal"));
    }

    #[test]
    fn placeholders_are_filled_in_either_language() {
        let en = Texts(Lang::En).f("{name} finished", &[("name", &"Shipment")]);
        assert_eq!(en, "Shipment finished");
        let ru = Texts(Lang::Ru).f("{name} finished", &[("name", &"Отгрузка")]);
        assert_eq!(ru, "Отгрузка: завершено");
        assert_eq!(Texts(Lang::Ru).s("Not here"), "Не здесь");
    }
}
