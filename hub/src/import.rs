//! `tally-hub import`: statuses (`cisInfo` lines), block lists, the catalog and tasks from JSON
//! lines (plain or gzip) into the hub's list and change log.
//!
//! The lines have the shapes `tally_sync::store::import` reads on the terminal, because they go
//! to the terminals unchanged through the pull feeds; here each is checked enough that a
//! terminal will not refuse it (a КИ, a status name, an INN, a GTIN, an id). A bad line is
//! reported by number and skipped; the good ones are written in one transaction. A task line
//! may name its `"warehouse"`: then only that warehouse's terminals pull it. A status line
//! `{"cis", "remove": true}` stops tracking that code (it leaves the list and the terminals).

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;
use serde_json::Value;
use tally_domain::code::Ki;
use tally_domain::gs1::Gtin;
use tally_domain::status::{CisStatus, Inn};
use tally_sync::wire::Feed;

use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the input: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A line left out, numbered from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedLine {
    pub line: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: u64,
    pub rejected: Vec<RejectedLine>,
}

/// Reads `input` (gzip told apart by its magic bytes) into `feed`.
pub fn import(
    store: &mut Store,
    feed: Feed,
    input: impl Read,
) -> Result<ImportReport, ImportError> {
    let mut input = BufReader::new(input);
    let gzip = input.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let lines: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::new(MultiGzDecoder::new(input)))
    } else {
        Box::new(input)
    };
    let batch = store.import_batch()?;
    let mut report = ImportReport::default();
    for (index, line) in lines.split(b'\n').enumerate() {
        let line_number = index as u64 + 1;
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let checked = serde_json::from_str::<Value>(&text)
            .map_err(|e| format!("not JSON: {e}"))
            .and_then(|item| check(feed, item));
        match checked {
            Ok(Checked::Status(ki, item)) => {
                batch.status(&ki, &item)?;
                report.imported += 1;
            }
            Ok(Checked::RemoveStatus(ki)) => {
                batch.remove_status(&ki)?;
                report.imported += 1;
            }
            Ok(Checked::Item(key, item)) => {
                let warehouse = item.get("warehouse").and_then(Value::as_str);
                batch.item(feed, &key, &item, warehouse)?;
                report.imported += 1;
            }
            Err(reason) => report.rejected.push(RejectedLine {
                line: line_number,
                reason,
            }),
        }
    }
    batch.commit()?;
    Ok(report)
}

enum Checked {
    Status(Ki, Value),
    RemoveStatus(Ki),
    Item(String, Value),
}

fn field<'a>(item: &'a Value, name: &str) -> Result<&'a str, String> {
    item.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("\"{name}\" is missing or not a string"))
}

fn gtin(item: &Value) -> Result<Gtin, String> {
    let text = field(item, "gtin")?;
    Gtin::from_digits(text.as_bytes()).ok_or_else(|| format!("\"gtin\" {text} is not a GTIN"))
}

fn ki(cis: &str) -> Result<Ki, String> {
    Ki::from_cis(cis).ok_or_else(|| format!("\"{cis}\" is not a marking code"))
}

fn check(feed: Feed, item: Value) -> Result<Checked, String> {
    if !item.is_object() {
        return Err("not a JSON object".into());
    }
    match feed {
        Feed::Statuses => {
            let ki = ki(field(&item, "cis")?)?;
            if item.get("remove").and_then(Value::as_bool) == Some(true) {
                return Ok(Checked::RemoveStatus(ki));
            }
            let status = field(&item, "status")?;
            if CisStatus::from_api_name(status).is_none() {
                return Err(format!("\"status\" {status} is not a GIS MT status"));
            }
            if let Some(owner) = item.get("ownerInn").filter(|v| !v.is_null())
                && owner.as_str().and_then(Inn::parse).is_none()
            {
                return Err("\"ownerInn\" is not a valid INN".into());
            }
            Ok(Checked::Status(ki, item))
        }
        Feed::Catalog => {
            let gtin = gtin(&item)?;
            field(&item, "name")?;
            Ok(Checked::Item(gtin.to_string(), item))
        }
        Feed::Blocks => {
            let key = match field(&item, "kind")? {
                "code" => format!("code:{}", ki(field(&item, "cis")?)?),
                "gtin" => format!("gtin:{}", gtin(&item)?),
                "series" => format!("series:{}:{}", gtin(&item)?, field(&item, "batch")?),
                other => return Err(format!("\"kind\" {other} is not code, gtin or series")),
            };
            Ok(Checked::Item(key, item))
        }
        Feed::Tasks => {
            let id = match item.get("id") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err("\"id\" is missing".into()),
            };
            // A task names the warehouse it is for; only that warehouse's terminals pull it.
            match item.get("warehouse") {
                None | Some(Value::Null) => {}
                Some(Value::String(w)) if !w.trim().is_empty() => {}
                Some(_) => return Err("\"warehouse\" must name a warehouse".into()),
            }
            Ok(Checked::Item(id, item))
        }
        Feed::Operators => operator(item),
    }
}

/// An operator line: `{"id", "name", "pin", "badge"?, "supervisor"?, "warehouse"?}`. The PIN
/// is replaced by a salted digest here, so the hub's log and every terminal only ever hold that.
fn operator(mut item: Value) -> Result<Checked, String> {
    let id = field(&item, "id")?.to_string();
    if item.get("remove").and_then(Value::as_bool) == Some(true) {
        return Ok(Checked::Item(id, item));
    }
    field(&item, "name")?;
    let pin = field(&item, "pin")?;
    if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err("\"pin\" must be 4 to 8 digits".into());
    }
    match item.get("badge") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => return Err("\"badge\" must be a string".into()),
    }
    match item.get("supervisor") {
        None | Some(Value::Null) | Some(Value::Bool(_)) => {}
        Some(_) => return Err("\"supervisor\" must be true or false".into()),
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no randomness for the PIN salt: {e}"))?;
    let salt: String = salt.iter().map(|b| format!("{b:02x}")).collect();
    let digest = tally_sync::wire::pin_digest(&salt, pin);
    if let Value::Object(map) = &mut item {
        map.remove("pin");
        map.insert("pinSalt".into(), Value::String(salt));
        map.insert("pinSha256".into(), Value::String(digest));
    }
    Ok(Checked::Item(id, item))
}
