//! What 1C's site exchange keeps in the store: its nodes, their sessions, the files of an
//! exchange until they are imported, and the exchange's log; one face over both backends.

use tally_domain::status::Timestamp;

use super::{Result, Store, random_text, sha256};

/// A node 1C signs in as: its login and what its exchange may touch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnecNode {
    pub name: String,
    pub warehouse: String,
    /// Comma-separated CIDRs 1C may call from; empty: any address.
    pub allow: String,
    /// "Do not overwrite products already created".
    pub keep_existing: bool,
}

/// One line of the exchange's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnecLogLine {
    pub node: String,
    pub at: i64,
    pub exchange: String,
    pub mode: String,
    pub filename: Option<String>,
    /// `success`, `failure` or `progress`, as answered.
    pub outcome: String,
    pub message: String,
}

const PASSWORD_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

impl Store {
    /// Adds a node and answers its password (only its digest is kept); `None` when a node of
    /// that name exists.
    pub fn onec_add_node(&self, node: &OnecNode, now: Timestamp) -> Result<Option<String>> {
        let password = random_text(24, PASSWORD_ALPHABET)?;
        let added = both!(self, s => s.onec_add_node(node, &sha256(&password), now.millis()))?;
        Ok(added.then_some(password))
    }

    /// The node whose login and password these are.
    pub fn onec_sign_in(&self, name: &str, password: &str) -> Result<Option<OnecNode>> {
        both!(self, s => s.onec_node(name, Some(&sha256(password))))
    }

    /// Starts a node's exchange: a session for the cookie, and the files of an exchange it
    /// never finished dropped.
    pub fn onec_start(&self, node: &str, cookie: &str, now: Timestamp) -> Result<()> {
        both!(self, s => s.onec_start(node, &sha256(cookie), now.millis()))
    }

    /// The node of a session's cookie, if the session is younger than `max_age_ms`.
    pub fn onec_session(
        &self,
        cookie: &str,
        now: Timestamp,
        max_age_ms: i64,
    ) -> Result<Option<OnecNode>> {
        both!(self, s => s.onec_session(&sha256(cookie), now.millis() - max_age_ms))
    }

    /// Appends a fragment to one of the node's exchange files.
    pub fn onec_append(&self, node: &str, filename: &str, bytes: &[u8]) -> Result<()> {
        both!(self, s => s.onec_append(node, filename, bytes))
    }

    /// The whole file, its fragments in order; `None` when none arrived.
    pub fn onec_file(&self, node: &str, filename: &str) -> Result<Option<Vec<u8>>> {
        both!(self, s => s.onec_file(node, filename))
    }

    /// The catalog line of a GTIN as the terminals pull it; `None` when the catalog has none
    /// (or it was removed).
    pub fn catalog_item(&self, gtin: &str) -> Result<Option<String>> {
        let line = both!(self, s => s.catalog_item(gtin))?;
        Ok(line.filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .map(|v| v.get("remove").and_then(serde_json::Value::as_bool) != Some(true))
                .unwrap_or(false)
        }))
    }

    pub fn onec_log(&self, line: &OnecLogLine) -> Result<()> {
        both!(self, s => s.onec_log(line))
    }

    /// The node's log, newest first.
    pub fn onec_log_of(&self, node: &str, limit: u32) -> Result<Vec<OnecLogLine>> {
        both!(self, s => s.onec_log_of(node, limit))
    }
}

/// A cookie value for a new session.
pub fn new_cookie() -> Result<String> {
    random_text(32, PASSWORD_ALPHABET)
}
