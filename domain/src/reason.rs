//! The common shape of everything the terminal tells an operator "no" or "careful" with.

use crate::lang::Lang;

/// A reason shown to the operator and stored with the scan: a stable code and a message in
/// each language. Codes are never renamed once released.
pub trait Reason {
    fn code(&self) -> &'static str;
    fn message(&self, lang: Lang) -> String;
}

impl Reason for crate::code::Rejection {
    fn code(&self) -> &'static str {
        crate::code::Rejection::code(self)
    }

    fn message(&self, lang: Lang) -> String {
        crate::code::Rejection::message(self, lang)
    }
}
