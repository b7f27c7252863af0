//! What the emulator holds: codes, sign-in keys, tokens, documents, faults and counters. Plain
//! data behind one mutex; the HTTP side (`server`) and the judging of documents (`rules`) work
//! on it.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One code as `cises/info` answers it (`cisInfo`), fields as seeded.
pub type CisInfo = Map<String, Value>;

/// A token lives ten hours, as GIS MT's do.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 3600);

/// A participant's token.
#[derive(Debug, Clone)]
pub struct Token {
    pub inn: String,
    pub expires: Instant,
}

/// A document's `status` as the True API writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocStatus {
    InProgress,
    CheckedOk,
    CheckedNotOk,
}

/// A document `create` took.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub doc_type: String,
    pub pg: String,
    /// The signer's participant, from the token.
    pub inn: String,
    pub status: DocStatus,
    pub errors: Vec<String>,
    /// The body as submitted (decoded `product_document`).
    pub content: Value,
    pub received_at: i64,
    /// `doc/{id}/info` reads so far.
    pub reads: u32,
}

/// What a fault does to the next requests under its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Status {
        status: u16,
        retry_after: Option<u32>,
    },
    Stall,
    Drop,
    DropAfter,
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub path: String,
    pub kind: FaultKind,
    pub count: u32,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    pub sign_ins: u64,
    pub creates: u64,
    pub info_reads: u64,
    pub cises_info_calls: u64,
    pub faults_left: u64,
}

#[derive(Debug, Default)]
pub struct State {
    /// By `cis` as seeded (or the SSCC an aggregation registered).
    pub codes: HashMap<String, CisInfo>,
    /// Codes shipped (`LP_SHIP_GOODS`) and not yet accepted: to whom.
    pub pending: HashMap<String, String>,
    /// Sign-in keys not used yet: uuid → data.
    pub keys: HashMap<String, String>,
    pub tokens: HashMap<String, Token>,
    /// In the order created.
    pub documents: Vec<Document>,
    pub faults: Vec<Fault>,
    pub refused: HashSet<String>,
    pub stats: Stats,
    pub checking_polls: u32,
    /// The export service's tasks, in the order created.
    pub exports: Vec<crate::dispenser::Export>,
}

/// The forms one code may be written in: as given, without a crypto tail (after the first GS),
/// an SSCC with or without its AI `00`, a tobacco pack by its 21 characters or in GS1 form.
pub fn spellings(code: &str) -> Vec<String> {
    let mut out = vec![code.to_owned()];
    let ki = code.split('\u{1d}').next().unwrap_or(code);
    if ki != code {
        out.push(ki.to_owned());
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if ki.len() == 20 && ki.starts_with("00") && digits(ki) {
        out.push(ki[2..].to_owned());
    }
    if ki.len() == 18 && digits(ki) {
        out.push(format!("00{ki}"));
    }
    if ki.len() == 21 && ki.is_char_boundary(14) && digits(&ki[..14]) {
        out.push(format!("01{}21{}", &ki[..14], &ki[14..]));
    }
    if ki.len() == 25
        && ki.starts_with("01")
        && ki.is_char_boundary(16)
        && digits(&ki[2..16])
        && ki[16..].starts_with("21")
    {
        out.push(format!("{}{}", &ki[2..16], &ki[18..]));
    }
    out
}

impl State {
    /// The key under which `code` is held, in any of its spellings.
    pub fn resolve(&self, code: &str) -> Option<String> {
        spellings(code)
            .into_iter()
            .find(|k| self.codes.contains_key(k))
    }

    /// The first live fault under `path`, used up by one.
    pub fn take_fault(&mut self, path: &str) -> Option<FaultKind> {
        let fault = self
            .faults
            .iter_mut()
            .find(|f| f.count > 0 && path.starts_with(&f.path))?;
        fault.count -= 1;
        let kind = fault.kind;
        self.faults.retain(|f| f.count > 0);
        Some(kind)
    }

    pub fn stats(&self) -> Stats {
        Stats {
            faults_left: self.faults.iter().map(|f| u64::from(f.count)).sum(),
            ..self.stats
        }
    }

    /// The participant a bearer token stands for, if it is live.
    pub fn participant(&self, token: &str) -> Option<String> {
        self.tokens
            .get(token)
            .filter(|t| t.expires > Instant::now())
            .map(|t| t.inn.clone())
    }
}

/// A string field of a `cisInfo`, `""` when absent.
pub fn field<'a>(info: &'a CisInfo, name: &str) -> &'a str {
    info.get(name).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::spellings;

    #[test]
    fn spellings_of_codes() {
        let unit = "0104600123456782215AbC12\u{1d}93dGVz";
        assert!(spellings(unit).contains(&"0104600123456782215AbC12".to_owned()));
        assert!(spellings("00046012345000000012").contains(&"046012345000000012".to_owned()));
        assert!(
            spellings("04600123456782x-5Qt=K").contains(&"010460012345678221x-5Qt=K".to_owned())
        );
        assert!(
            spellings("010460012345678221x-5Qt=K").contains(&"04600123456782x-5Qt=K".to_owned())
        );
    }
}
