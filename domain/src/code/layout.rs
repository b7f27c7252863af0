//! Turns a code typed through the Russian (ЙЦУКЕН) keyboard layout back into what was scanned.
//!
//! A keyboard-wedge scanner presses keys; with a Russian layout active, the OS turns `q` into
//! `й` and `/` into `.`. Reading key codes in the driver avoids this; this module is the fallback
//! for text that already went through the layout.

use super::Rejection;
use super::normalize::Text;

/// The US key behind each character the Russian layout produces, where they differ.
///
/// Characters missing here come out of both layouts the same (digits, `!%*()-_=+`), or cannot
/// come out of the Russian layout at all (Latin letters).
fn us_key(c: char) -> Option<char> {
    let lower = match c.to_lowercase().next()? {
        'й' => 'q',
        'ц' => 'w',
        'у' => 'e',
        'к' => 'r',
        'е' => 't',
        'н' => 'y',
        'г' => 'u',
        'ш' => 'i',
        'щ' => 'o',
        'з' => 'p',
        'ф' => 'a',
        'ы' => 's',
        'в' => 'd',
        'а' => 'f',
        'п' => 'g',
        'р' => 'h',
        'о' => 'j',
        'л' => 'k',
        'д' => 'l',
        'я' => 'z',
        'ч' => 'x',
        'с' => 'c',
        'м' => 'v',
        'и' => 'b',
        'т' => 'n',
        'ь' => 'm',
        // Keys whose shifted and unshifted Russian letters sit on US punctuation.
        'х' => return Some(if c.is_uppercase() { '{' } else { '[' }),
        'ъ' => return Some(if c.is_uppercase() { '}' } else { ']' }),
        'ж' => return Some(if c.is_uppercase() { ':' } else { ';' }),
        'э' => return Some(if c.is_uppercase() { '"' } else { '\'' }),
        'б' => return Some(if c.is_uppercase() { '<' } else { ',' }),
        'ю' => return Some(if c.is_uppercase() { '>' } else { '.' }),
        'ё' => return Some(if c.is_uppercase() { '~' } else { '`' }),
        // Punctuation that the Russian layout moves to other keys.
        '.' => '/',
        ',' => '?',
        '"' => '@',
        '№' => '#',
        ';' => '$',
        ':' => '^',
        '?' => '&',
        '/' => '|',
        _ => return None,
    };
    Some(if c.is_uppercase() {
        lower.to_ascii_uppercase()
    } else {
        lower
    })
}

fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{04FF}').contains(&c)
}

/// Whether the text looks typed through the Russian layout (it holds Cyrillic letters).
pub(crate) fn looks_russian(text: &[u8]) -> bool {
    std::str::from_utf8(text).is_ok_and(|s| s.chars().any(is_cyrillic))
}

/// Maps every character back to its US key.
///
/// Refuses when the text mixes Latin and Cyrillic letters (only part of it went through the
/// layout, so no single mapping is right) or when a character maps to something no marking
/// code contains (the original cannot be known).
pub(crate) fn repair(text: &[u8]) -> Result<Text, Rejection> {
    let s = std::str::from_utf8(text).map_err(|_| Rejection::KeyboardLayout)?;
    let mut out = Text::new();
    for c in s.chars() {
        if c.is_ascii_alphabetic() {
            return Err(Rejection::KeyboardLayout);
        }
        let mapped = us_key(c).unwrap_or(c);
        if !mapped.is_ascii() {
            return Err(Rejection::KeyboardLayout);
        }
        let byte = mapped as u8;
        if !(crate::gs1::is_cset82(byte) || byte == crate::gs1::GS) || !out.push(byte) {
            return Err(Rejection::KeyboardLayout);
        }
    }
    Ok(out)
}

/// Types `text` as the Russian layout would: the inverse of [`repair`], for tests and demos.
pub fn mangle_through_russian_layout(text: &str) -> String {
    text.chars()
        .map(|c| {
            RUSSIAN_OUTPUTS
                .iter()
                .copied()
                .find(|&r| us_key(r) == Some(c))
                .unwrap_or(c)
        })
        .collect()
}

const RUSSIAN_OUTPUTS: &[char] = &[
    'й', 'ц', 'у', 'к', 'е', 'н', 'г', 'ш', 'щ', 'з', 'х', 'ъ', 'ф', 'ы', 'в', 'а', 'п', 'р', 'о',
    'л', 'д', 'ж', 'э', 'я', 'ч', 'с', 'м', 'и', 'т', 'ь', 'б', 'ю', 'ё', 'Й', 'Ц', 'У', 'К', 'Е',
    'Н', 'Г', 'Ш', 'Щ', 'З', 'Х', 'Ъ', 'Ф', 'Ы', 'В', 'А', 'П', 'Р', 'О', 'Л', 'Д', 'Ж', 'Э', 'Я',
    'Ч', 'С', 'М', 'И', 'Т', 'Ь', 'Б', 'Ю', 'Ё', '.', ',', '"', '№', ';', ':', '?', '/',
];

#[cfg(test)]
mod tests {
    use super::*;

    fn repaired(s: &str) -> Result<String, &'static str> {
        repair(s.as_bytes())
            .map(|t| String::from_utf8_lossy(t.as_bytes()).into_owned())
            .map_err(|r| r.code())
    }

    #[test]
    fn repairs_unambiguous_text() {
        assert_eq!(
            repaired("0104600000000000211фиСв"),
            Ok("0104600000000000211abCd".into())
        );
        assert_eq!(repaired("йЙ.,?б"), Ok("qQ/?&,".into()));
        assert_eq!(repaired("БЮбю"), Ok("<>,.".into()));
    }

    #[test]
    fn refuses_mixed_or_impossible_text() {
        for bad in ["abcф", "фх", "ф\"", "ф;", "ф:", "ф№", "ёф", "ф/"] {
            assert_eq!(repaired(bad), Err("keyboard_layout"), "{bad}");
        }
    }

    #[test]
    fn mangling_inverts_repair() {
        let code = "0104600000000000211AbC&?/<>%\"'";
        let mangled = mangle_through_russian_layout(code);
        assert!(looks_russian(mangled.as_bytes()));
        assert_eq!(repaired(&mangled), Ok(code.into()));
    }
}
