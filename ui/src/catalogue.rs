//! The Russian catalogue (`lang/ru/LC_MESSAGES/tally-ui.po`) read for Rust code: the texts the
//! application shows besides the `.slint` files' `@tr` strings come from the same file, so one
//! catalogue holds every word on the terminal's screen.
//!
//! Slint compiles the catalogue into the screens for `@tr`; Rust code has no such hook, so the
//! file is embedded and read once, on the first lookup. English is the message id.

use std::collections::HashMap;
use std::sync::OnceLock;

const RUSSIAN: &str = include_str!("../lang/ru/LC_MESSAGES/tally-ui.po");

/// `(msgctxt, msgid)` → `msgstr`.
type Entries = HashMap<(String, String), String>;

/// The Russian for `msgid` in `context`, or `None` when the catalogue has none (or it is empty).
pub fn russian(context: &str, msgid: &str) -> Option<&'static str> {
    static ENTRIES: OnceLock<Entries> = OnceLock::new();
    ENTRIES
        .get_or_init(|| parse(RUSSIAN))
        .get(&(context.to_owned(), msgid.to_owned()))
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

/// Every `(msgctxt, msgid, msgstr)` of the Russian catalogue, for tests that check coverage.
pub fn russian_entries() -> Vec<(String, String, String)> {
    parse(RUSSIAN)
        .into_iter()
        .map(|((context, id), text)| (context, id, text))
        .collect()
}

/// Reads a `.po` file's singular entries: `msgctxt`, `msgid`, `msgstr`, each a quoted string
/// possibly continued on the next lines. Plural entries (`msgid_plural`, `msgstr[n]`) belong
/// to the screens' `@tr` and are left out.
fn parse(po: &str) -> Entries {
    #[derive(Clone, Copy, PartialEq)]
    enum Field {
        None,
        Context,
        Id,
        Text,
        Other,
    }
    let mut entries = Entries::new();
    let (mut context, mut id, mut text) = (String::new(), String::new(), String::new());
    let mut field = Field::None;
    let mut plural = false;
    let mut flush = |context: &mut String, id: &mut String, text: &mut String, plural: bool| {
        if !id.is_empty() && !plural {
            entries.insert(
                (std::mem::take(context), std::mem::take(id)),
                std::mem::take(text),
            );
        }
        context.clear();
        id.clear();
        text.clear();
    };
    for line in po.lines().map(str::trim) {
        let continued = line.starts_with('"');
        let (next, rest) = if let Some(rest) = line.strip_prefix("msgctxt ") {
            (Field::Context, rest)
        } else if let Some(rest) = line.strip_prefix("msgid_plural ") {
            plural = true;
            (Field::Other, rest)
        } else if let Some(rest) = line.strip_prefix("msgid ") {
            (Field::Id, rest)
        } else if let Some(rest) = line.strip_prefix("msgstr[") {
            (Field::Other, rest)
        } else if let Some(rest) = line.strip_prefix("msgstr ") {
            (Field::Text, rest)
        } else if continued {
            (field, line)
        } else {
            // A comment or a blank line: an entry ends here.
            if field != Field::None {
                flush(&mut context, &mut id, &mut text, plural);
                plural = false;
            }
            field = Field::None;
            continue;
        };
        // A new msgctxt, or a msgid without a msgctxt before it, starts the next entry.
        if !continued
            && (next == Field::Context || (next == Field::Id && field != Field::Context))
            && field != Field::None
        {
            flush(&mut context, &mut id, &mut text, plural);
            plural = false;
        }
        field = next;
        let value = unquote(rest);
        match field {
            Field::Context => context.push_str(&value),
            Field::Id => id.push_str(&value),
            Field::Text => text.push_str(&value),
            Field::None | Field::Other => {}
        }
    }
    flush(&mut context, &mut id, &mut text, plural);
    entries
}

/// The text of one quoted `.po` string, escapes undone; `"` around it, or after `[n] `.
fn unquote(quoted: &str) -> String {
    let inner = quoted
        .find('"')
        .map_or("", |start| &quoted[start + 1..])
        .strip_suffix('"')
        .unwrap_or("");
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_contexts_continued_strings_and_escapes_and_skips_plurals() {
        let po = r#"
msgid ""
msgstr ""
"Language: ru\n"

#: a
msgctxt "Terminal"
msgid "Say \"hi\""
msgstr "Скажи «привет»"

msgctxt "Terminal"
msgid ""
"Two "
"lines\n"
msgstr "Две "
"строки\n"

msgctxt "Page"
msgid "{n} scan"
msgid_plural "{n} scans"
msgstr[0] "{n} скан"
msgstr[1] "{n} скана"

msgid "No context"
msgstr "Без контекста"
"#;
        let entries = parse(po);
        let get = |c: &str, i: &str| entries.get(&(c.to_owned(), i.to_owned())).cloned();
        assert_eq!(
            get("Terminal", "Say \"hi\"").as_deref(),
            Some("Скажи «привет»")
        );
        assert_eq!(
            get("Terminal", "Two lines\n").as_deref(),
            Some("Две строки\n")
        );
        assert_eq!(get("", "No context").as_deref(), Some("Без контекста"));
        assert_eq!(get("Page", "{n} scan"), None);
        // The header is the empty msgid: not a message.
        assert_eq!(entries.len(), 3, "{entries:?}");
    }

    #[test]
    fn the_bundled_catalogue_answers_a_screen_string() {
        assert_eq!(russian("TitleRow", "Home"), Some("Главная"));
        assert_eq!(russian("TitleRow", "No such text"), None);
    }
}
