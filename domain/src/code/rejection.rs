//! Why a scan is not a usable marking code: a stable code and messages in both languages.

use std::fmt;

use crate::gs1::Ai;
use crate::lang::Lang;

/// The reason a payload was not accepted as a marking code.
///
/// Not an error: bad scans are everyday input. `code()` is stable and safe to store, match on
/// and send to the hub; messages are for people and may be reworded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rejection {
    /// Nothing left after stripping prefixes, suffixes and whitespace.
    Empty,
    /// Longer than any marking code can be.
    TooLong,
    /// A byte that no scanner setting explains (binary data, a control character, a stray
    /// non-Latin letter). `position` is 1-based in the cleaned text.
    InvalidByte {
        position: usize,
    },
    /// The scanner typed through a Russian keyboard layout and the text cannot be turned back.
    KeyboardLayout,
    /// Text that has no marking-code structure at all (a URL, a word, a price tag number), or
    /// valid GS1 data without a GTIN, serial or SSCC (a lot, a date, internal data), whose
    /// elements [`super::read_gs1_data`] still reads.
    NotMarkingCode,
    /// An alcohol excise stamp (EGAIS PDF417), which sits beside the Data Matrix.
    ExciseStamp,
    /// Digits that do not name an application identifier used in marking.
    UnknownAi {
        position: usize,
    },
    /// A field shorter or longer than its AI allows.
    ValueLength {
        ai: Ai,
    },
    /// A character not allowed in the field (`position` is 1-based in the cleaned text).
    ValueCharset {
        ai: Ai,
        position: usize,
    },
    /// The same AI twice.
    DuplicateAi {
        ai: Ai,
    },
    GtinCheckDigit,
    SsccCheckDigit,
    /// A date field naming a day that does not exist.
    InvalidDate {
        ai: Ai,
    },
    /// GS separators were lost and the code's structure does not allow a safe split.
    MissingSeparator,
    /// GS separators were lost and more than one split fits the structure.
    AmbiguousSeparator,
    /// An element that the rest of the code requires is absent.
    IncompleteCode {
        missing: Ai,
    },
    /// A verification part of the wrong length (91 and 93 take 4 characters, 92 takes 44 or 88).
    VerificationLength {
        ai: Ai,
    },
    /// A check digit or check character pair that does not match, in a field other than a GTIN
    /// or an SSCC (a GLN in 410-417, a GSRN, a GMN...).
    CheckDigit {
        ai: Ai,
    },
    /// GTIN and serial without a verification part, and a serial of a length no product group
    /// uses: a scan cut short, or a code whose separators were lost beyond repair. `parse`
    /// flags such a КИ ([`super::MarkingCode::is_possibly_truncated`]) rather than refusing it,
    /// because the hub re-reads pushed КИ through it; this is the reason for a caller that
    /// refuses on the flag.
    SerialLength {
        length: usize,
    },
}

impl Rejection {
    /// A stable snake_case identifier.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::TooLong => "too_long",
            Rejection::InvalidByte { .. } => "invalid_byte",
            Rejection::KeyboardLayout => "keyboard_layout",
            Rejection::NotMarkingCode => "not_marking_code",
            Rejection::ExciseStamp => "excise_stamp",
            Rejection::UnknownAi { .. } => "unknown_ai",
            Rejection::ValueLength { .. } => "value_length",
            Rejection::ValueCharset { .. } => "value_charset",
            Rejection::DuplicateAi { .. } => "duplicate_ai",
            Rejection::GtinCheckDigit => "gtin_check_digit",
            Rejection::SsccCheckDigit => "sscc_check_digit",
            Rejection::InvalidDate { .. } => "invalid_date",
            Rejection::MissingSeparator => "missing_separator",
            Rejection::AmbiguousSeparator => "ambiguous_separator",
            Rejection::IncompleteCode { .. } => "incomplete_code",
            Rejection::VerificationLength { .. } => "verification_length",
            Rejection::CheckDigit { .. } => "check_digit",
            Rejection::SerialLength { .. } => "serial_length",
        }
    }

    /// Every stable code, for documentation and for tests that keep them unique.
    pub const ALL_CODES: &'static [&'static str] = &[
        "empty",
        "too_long",
        "invalid_byte",
        "keyboard_layout",
        "not_marking_code",
        "excise_stamp",
        "unknown_ai",
        "value_length",
        "value_charset",
        "duplicate_ai",
        "gtin_check_digit",
        "sscc_check_digit",
        "invalid_date",
        "missing_separator",
        "ambiguous_separator",
        "incomplete_code",
        "verification_length",
        "check_digit",
        "serial_length",
    ];

    /// The message for the operator or the support engineer.
    pub fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.message_en(),
            Lang::Ru => self.message_ru(),
        }
    }

    fn message_en(&self) -> String {
        match *self {
            Rejection::Empty => "Nothing was scanned.".into(),
            Rejection::TooLong => "Too long to be a marking code.".into(),
            Rejection::InvalidByte { position } => format!(
                "Unexpected character at position {position}: this is not a marking code, or the scanner sends data in a wrong mode."
            ),
            Rejection::KeyboardLayout => "The scanner typed the code through the Russian keyboard layout and it cannot be restored. Switch the scanner to US English keyboard mode (or the terminal to the English layout) and scan again.".into(),
            Rejection::NotMarkingCode => "Not a marking code: scan the Data Matrix code of the item.".into(),
            Rejection::ExciseStamp => "This is an alcohol excise stamp, not a marking code: scan the Data Matrix code.".into(),
            Rejection::UnknownAi { position } => {
                format!("Unknown application identifier at position {position}.")
            }
            Rejection::ValueLength { ai } => format!("Field ({ai}) has a wrong length."),
            Rejection::ValueCharset { ai, position } => format!(
                "Field ({ai}) holds a character that is not allowed, at position {position}."
            ),
            Rejection::DuplicateAi { ai } => format!("Field ({ai}) appears twice."),
            Rejection::GtinCheckDigit => {
                "The GTIN check digit is wrong: the code is damaged or mistyped.".into()
            }
            Rejection::SsccCheckDigit => {
                "The SSCC check digit is wrong: the label is damaged or mistyped.".into()
            }
            Rejection::InvalidDate { ai } => {
                format!("Field ({ai}) holds a date or time that does not exist.")
            }
            Rejection::MissingSeparator => "The scanner dropped the GS separators and the code cannot be restored. Set the scanner to transmit GS (FNC1) and scan again.".into(),
            Rejection::AmbiguousSeparator => "The scanner dropped the GS separators and the code can be read in more than one way. Set the scanner to transmit GS (FNC1) and scan again.".into(),
            Rejection::IncompleteCode { missing } => {
                format!("The code is incomplete: field ({missing}) is missing.")
            }
            Rejection::VerificationLength { ai } => format!(
                "The verification part ({ai}) has a wrong length: the code is damaged or the scanner dropped a separator."
            ),
            Rejection::CheckDigit { ai } => format!(
                "The check digit of field ({ai}) is wrong: the label is damaged or mistyped."
            ),
            Rejection::SerialLength { length } => format!(
                "The code has no verification part and its serial has {length} characters, a length no product group uses: the scan was cut short or the code is damaged. Scan it again."
            ),
        }
    }

    fn message_ru(&self) -> String {
        match *self {
            Rejection::Empty => "Ничего не отсканировано.".into(),
            Rejection::TooLong => "Слишком длинная строка для кода маркировки.".into(),
            Rejection::InvalidByte { position } => format!(
                "Недопустимый символ в позиции {position}: это не код маркировки или сканер передаёт данные в неверном режиме."
            ),
            Rejection::KeyboardLayout => "Сканер ввёл код в русской раскладке клавиатуры, восстановить его нельзя. Переключите сканер в режим английской (US) клавиатуры или терминал на английскую раскладку и отсканируйте снова.".into(),
            Rejection::NotMarkingCode => "Это не код маркировки: отсканируйте код Data Matrix на товаре.".into(),
            Rejection::ExciseStamp => "Это акцизная марка алкоголя, а не код маркировки: отсканируйте код Data Matrix.".into(),
            Rejection::UnknownAi { position } => {
                format!("Неизвестный идентификатор применения в позиции {position}.")
            }
            Rejection::ValueLength { ai } => format!("Поле ({ai}) неверной длины."),
            Rejection::ValueCharset { ai, position } => {
                format!("Поле ({ai}) содержит недопустимый символ в позиции {position}.")
            }
            Rejection::DuplicateAi { ai } => format!("Поле ({ai}) встречается дважды."),
            Rejection::GtinCheckDigit => {
                "Неверная контрольная цифра GTIN: код повреждён или введён с ошибкой.".into()
            }
            Rejection::SsccCheckDigit => {
                "Неверная контрольная цифра SSCC: этикетка повреждена или введена с ошибкой.".into()
            }
            Rejection::InvalidDate { ai } => {
                format!("Поле ({ai}) содержит несуществующую дату или время.")
            }
            Rejection::MissingSeparator => "Сканер потерял разделители GS, восстановить код нельзя. Настройте сканер на передачу GS (FNC1) и отсканируйте снова.".into(),
            Rejection::AmbiguousSeparator => "Сканер потерял разделители GS, и код читается неоднозначно. Настройте сканер на передачу GS (FNC1) и отсканируйте снова.".into(),
            Rejection::IncompleteCode { missing } => {
                format!("Код неполный: нет поля ({missing}).")
            }
            Rejection::VerificationLength { ai } => format!(
                "Код проверки ({ai}) неверной длины: код повреждён или сканер потерял разделитель."
            ),
            Rejection::CheckDigit { ai } => format!(
                "Неверная контрольная цифра в поле ({ai}): этикетка повреждена или введена с ошибкой."
            ),
            Rejection::SerialLength { length } => format!(
                "В коде нет кода проверки, а серийный номер из {length} символов — такой длины нет ни в одной товарной группе: код считан не полностью или повреждён. Отсканируйте снова."
            ),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_en())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_rejection() -> Vec<Rejection> {
        let ai = Ai::SERIAL;
        vec![
            Rejection::Empty,
            Rejection::TooLong,
            Rejection::InvalidByte { position: 3 },
            Rejection::KeyboardLayout,
            Rejection::NotMarkingCode,
            Rejection::ExciseStamp,
            Rejection::UnknownAi { position: 1 },
            Rejection::ValueLength { ai },
            Rejection::ValueCharset { ai, position: 5 },
            Rejection::DuplicateAi { ai },
            Rejection::GtinCheckDigit,
            Rejection::SsccCheckDigit,
            Rejection::InvalidDate { ai },
            Rejection::MissingSeparator,
            Rejection::AmbiguousSeparator,
            Rejection::IncompleteCode { missing: ai },
            Rejection::VerificationLength { ai },
            Rejection::CheckDigit { ai },
            Rejection::SerialLength { length: 10 },
        ]
    }

    #[test]
    fn every_reason_has_a_listed_code_and_two_messages() {
        let all = every_rejection();
        let codes: Vec<&str> = all.iter().map(Rejection::code).collect();
        assert_eq!(codes, Rejection::ALL_CODES);
        for r in all {
            let en = r.message(Lang::En);
            let ru = r.message(Lang::Ru);
            assert!(en.is_ascii() && !en.is_empty(), "{en}");
            assert!(
                ru.chars().any(|c| ('а'..='я').contains(&c)),
                "Russian message for {} is not Russian: {ru}",
                r.code()
            );
        }
    }
}
