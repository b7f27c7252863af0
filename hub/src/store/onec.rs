//! What 1C's site exchange keeps in the store: its nodes, their sessions, the files of an
//! exchange until they are imported, and the exchange's log; one face over both backends.

use tally_domain::code::Ki;
use tally_domain::gs1::Sscc;
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

    /// The names of the files of the node's exchange.
    pub fn onec_file_names(&self, node: &str) -> Result<Vec<String>> {
        both!(self, s => s.onec_file_names(node))
    }

    /// Writes a file of the node's exchange whole (one unpacked from its zip archive).
    pub fn onec_replace_file(&self, node: &str, filename: &str, bytes: &[u8]) -> Result<()> {
        both!(self, s => s.onec_replace_file(node, filename, bytes))
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

/// An applied operation of a warehouse, as a result for the books.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultRow {
    /// The hub's number of the operation: the cursor of `/v1/results`.
    pub id: i64,
    pub uuid: String,
    pub kind: String,
    pub device: String,
    pub warehouse: String,
    pub operator: String,
    pub started_at: i64,
    pub finished_at: i64,
    /// The pushed document's JSON (`payload` of the operation).
    pub payload: String,
}

/// A GIS MT document an operation made, and how far it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultSubmission {
    pub operation: i64,
    pub document_type: String,
    pub pg: String,
    pub state: String,
    pub gis_id: Option<String>,
}

/// What one label holds on the hub's list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelContents {
    /// The boxes on a pallet built on a terminal.
    pub boxes: Vec<Sscc>,
    /// The units whose parent is this label (of a pallet: those directly on it).
    pub units: Vec<Ki>,
}

/// The operation kinds that are results for the books: what changed the warehouse's stock.
pub const RESULT_KINDS: [&str; 3] = ["acceptance", "write-off", "shipment"];

impl Store {
    /// Applied operations of a warehouse (every warehouse when `None`) after the cursor
    /// `after`, oldest first.
    pub fn results_page(
        &self,
        warehouse: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ResultRow>> {
        both!(self, s => s.results_page(warehouse, after, limit))
    }

    /// One applied operation's result by its UUID, `None` when there is none (unknown, not
    /// applied, or of a kind that is no result).
    pub fn result_of(&self, uuid: &str) -> Result<Option<ResultRow>> {
        both!(self, s => s.result_of(uuid))
    }

    /// The results 1C has not confirmed, at most `limit`, sent as a new batch of the node: of
    /// its warehouse, received since the node was added. A result of an earlier batch that
    /// 1C never confirmed is in this one again.
    pub fn onec_query(&self, node: &str, limit: u32, now: Timestamp) -> Result<Vec<ResultRow>> {
        both!(self, s => s.onec_query(node, limit, now.millis()))
    }

    /// 1C's `success`: the node's last batch is confirmed and never sent again. Answers how
    /// many results it held (0 when nothing was waiting for confirmation).
    pub fn onec_confirm(&self, node: &str, now: Timestamp) -> Result<u64> {
        both!(self, s => s.onec_confirm(node, now.millis()))
    }

    /// The GIS MT documents of these operations.
    pub fn result_submissions(&self, operations: &[i64]) -> Result<Vec<ResultSubmission>> {
        if operations.is_empty() {
            return Ok(Vec::new());
        }
        both!(self, s => s.result_submissions(operations))
    }

    /// What these labels hold now, as the hub's list says: a box its units (by their
    /// `parent`), a pallet its boxes (built on a terminal: `labels.parent`; known to GIS MT:
    /// its status's `child[]`) and theirs. Three reads whatever the number of labels; a label
    /// the hub knows nothing inside is absent.
    pub fn label_contents(
        &self,
        labels: &[Sscc],
    ) -> Result<std::collections::HashMap<Sscc, LabelContents>> {
        let mut contents: std::collections::HashMap<Sscc, LabelContents> =
            std::collections::HashMap::new();
        if labels.is_empty() {
            return Ok(contents);
        }
        let names: Vec<String> = labels.iter().map(ToString::to_string).collect();
        let mut parent_of: std::collections::HashMap<Sscc, Sscc> = std::collections::HashMap::new();
        for (pallet, inner) in both!(self, s => s.boxes_on(&names))? {
            if let (Some(pallet), Some(inner)) = (
                Sscc::from_digits(pallet.as_bytes()),
                Sscc::from_digits(inner.as_bytes()),
            ) {
                contents.entry(pallet).or_default().boxes.push(inner);
                parent_of.insert(inner, pallet);
            }
        }
        // A pallet only GIS MT knows names its boxes as its children on the list.
        for (key, item) in self.items_of(tally_wire::Feed::Statuses, &names)? {
            let Some(pallet) = Sscc::from_digits(key.as_bytes()) else {
                continue;
            };
            for inner in crate::push::label_children(&item) {
                let entry = contents.entry(pallet).or_default();
                if !entry.boxes.contains(&inner) {
                    entry.boxes.push(inner);
                    parent_of.insert(inner, pallet);
                }
            }
        }
        let mut holders = names;
        holders.extend(parent_of.keys().map(ToString::to_string));
        for (parent, key) in both!(self, s => s.units_in(&holders))? {
            let (Some(parent), Some(ki)) =
                (Sscc::from_digits(parent.as_bytes()), Ki::from_key(&key))
            else {
                continue;
            };
            let entry = contents.entry(parent).or_default();
            entry.units.push(ki);
        }
        for entry in contents.values_mut() {
            entry.boxes.sort();
            entry.units.sort();
        }
        Ok(contents)
    }

    /// Feed items by key (tasks and orders by id, catalog lines by GTIN), in one read.
    pub fn items_of(
        &self,
        feed: tally_wire::Feed,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, String>> {
        if keys.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        both!(self, s => s.items_of(feed.name(), keys))
    }
}

/// A cookie value for a new session.
pub fn new_cookie() -> Result<String> {
    random_text(32, PASSWORD_ALPHABET)
}
