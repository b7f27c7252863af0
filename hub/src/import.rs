//! `tally-hub import`: statuses, block lists, the catalog, tasks, orders to pick and operators
//! from JSON lines (plain or gzip) into the hub's list and change log.
//!
//! The lines go to the terminals unchanged through the pull feeds, so each is judged by the
//! parser the terminals use (`tally_wire::feed`): what a terminal would refuse, the hub refuses
//! here, with the line number and the reason. The good lines are written in one transaction.
//! A task or order line may name its `"warehouse"`: then only that warehouse's terminals pull
//! it. A
//! status line `{"cis", "remove": true}` stops tracking that code (it leaves the list and the
//! terminals). Statuses also come as the True API answers `cises/info`: one JSON array of
//! `{"cisInfo", "errorCode", "errorMessage"}` (a file as downloaded), or such objects one per
//! line; an entry with an error and no `cisInfo` is reported, not imported.

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tally_domain::code::Ki;
use tally_domain::lang::Lang;
use tally_domain::reason::Reason;
use tally_wire::Feed;
use tally_wire::feed::{self, RejectReason, StatusRecord, Subject};

use crate::store::{ImportBatch, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the input: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The longest line read, as on the terminal (`tally_sync::store::MAX_LINE_BYTES`): a task of
/// ten thousand codes fits; a longer line is refused without being held whole.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The largest `cises/info` answer read as one JSON array (a whole download is one line).
pub const MAX_ANSWER_BYTES: usize = 256 << 20;

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
pub fn import(store: &Store, feed: Feed, input: impl Read) -> Result<ImportReport, ImportError> {
    let mut input = BufReader::new(input);
    let gzip = input.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut lines: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::new(MultiGzDecoder::new(input)))
    } else {
        Box::new(input)
    };
    let mut batch = store.import_batch()?;
    let mut report = ImportReport::default();
    if feed == Feed::Statuses && starts_with_array(&mut lines)? {
        let mut whole = Vec::new();
        lines
            .take(MAX_ANSWER_BYTES as u64 + 1)
            .read_to_end(&mut whole)?;
        if whole.len() > MAX_ANSWER_BYTES {
            report.rejected.push(RejectedLine {
                line: 1,
                reason: format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
            });
        } else {
            match serde_json::from_slice::<Vec<Box<RawValue>>>(&whole) {
                Ok(entries) => {
                    for (index, entry) in entries.iter().enumerate() {
                        let checked = status_entry(entry.get().as_bytes());
                        store_line(&mut batch, feed, index as u64 + 1, checked, &mut report)?;
                    }
                }
                Err(e) => report.rejected.push(RejectedLine {
                    line: 1,
                    reason: format!("not_json: the cises/info answer is not a JSON array: {e}"),
                }),
            }
        }
        batch.commit()?;
        return Ok(report);
    }
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = (&mut lines)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.len() > MAX_LINE_BYTES && !line.ends_with(b"\n") {
            // Skip the rest of the line without holding it.
            loop {
                let buf = lines.fill_buf()?;
                if buf.is_empty() {
                    break;
                }
                match buf.iter().position(|b| *b == b'\n') {
                    Some(at) => {
                        lines.consume(at + 1);
                        break;
                    }
                    None => {
                        let n = buf.len();
                        lines.consume(n);
                    }
                }
            }
            report.rejected.push(RejectedLine {
                line: number,
                reason: format!(
                    "{}: {}",
                    RejectReason::LineTooLong.code(),
                    RejectReason::LineTooLong.message(Lang::En)
                ),
            });
            continue;
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let checked = check(feed, text);
        store_line(&mut batch, feed, number, checked, &mut report)?;
    }
    batch.commit()?;
    Ok(report)
}

/// Whether the input's first non-blank byte opens a JSON array.
fn starts_with_array(input: &mut dyn BufRead) -> io::Result<bool> {
    loop {
        let buf = input.fill_buf()?;
        let Some(&first) = buf.first() else {
            return Ok(false);
        };
        if first.is_ascii_whitespace() {
            input.consume(1);
            continue;
        }
        return Ok(first == b'[');
    }
}

fn store_line(
    batch: &mut ImportBatch<'_>,
    feed: Feed,
    line: u64,
    checked: Result<Checked, String>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    match checked {
        Ok(Checked::Status(ki, item)) => batch.status(&ki, &item)?,
        Ok(Checked::RemoveStatus(ki)) => batch.remove_status(&ki)?,
        Ok(Checked::Item(key, item)) => {
            let warehouse = item.get("warehouse").and_then(Value::as_str);
            batch.item(feed, &key, &item, warehouse)?;
            if feed == Feed::Tasks {
                // A new task's codes are read from GIS MT at once, so the acceptance judges
                // them against what GIS MT says now, not what the supplier's file said.
                batch.queue_refresh(&task_codes(&item), clock())?;
            }
        }
        Err(reason) => {
            report.rejected.push(RejectedLine { line, reason });
            return Ok(());
        }
    }
    report.imported += 1;
    Ok(())
}

/// The codes a task line names (loose units, boxes and their units), as `cises/info` takes them.
fn task_codes(item: &Value) -> Vec<String> {
    let texts = |list: Option<&Value>| -> Vec<String> {
        list.and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut codes = texts(item.get("units"));
    for task_box in item
        .get("boxes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        codes.extend(
            task_box
                .get("sscc")
                .and_then(Value::as_str)
                .map(str::to_owned),
        );
        codes.extend(texts(task_box.get("units")));
    }
    codes
}

/// The import's clock: only the refresh queue's order reads it.
fn clock() -> tally_domain::status::Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    tally_domain::status::Timestamp(millis)
}

enum Checked {
    Status(Ki, Value),
    RemoveStatus(Ki),
    Item(String, Value),
}

fn refused(reason: RejectReason) -> String {
    format!("{}: {}", reason.code(), reason.message(Lang::En))
}

/// One entry of a `cises/info` answer, or a flat `cisInfo` line.
fn status_entry(text: &[u8]) -> Result<Checked, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        cis_info: Option<Box<RawValue>>,
        error_code: Option<Value>,
        error_message: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(text).map_err(|e| format!("not_json: {e}"))?;
    match answer.cis_info {
        Some(info) => check(Feed::Statuses, info.get().as_bytes()),
        None => Err(format!(
            "gis_mt_error: GIS MT answered {} {}",
            answer
                .error_code
                .map_or_else(String::new, |c| c.to_string()),
            answer.error_message.unwrap_or_default()
        )),
    }
}

fn check(feed: Feed, text: &[u8]) -> Result<Checked, String> {
    let item: Value = serde_json::from_slice(text).map_err(|e| format!("not_json: {e}"))?;
    let Some(fields) = item.as_object() else {
        return Err(refused(RejectReason::WrongFields));
    };
    if feed == Feed::Statuses && fields.contains_key("cisInfo") {
        return status_entry(text);
    }
    match feed {
        Feed::Statuses => match feed::parse_status(text).map_err(refused)? {
            StatusRecord::Remove(Subject::Unit(ki)) => Ok(Checked::RemoveStatus(ki)),
            StatusRecord::Status {
                subject: Subject::Unit(ki),
                ..
            } => Ok(Checked::Status(ki, item)),
            // A box or pallet label: the terminals keep its status to judge the box; the
            // hub's own list of units does not hold labels.
            record => Ok(Checked::Item(record.subject().to_string(), item)),
        },
        Feed::Catalog => {
            let record = feed::parse_catalog(text).map_err(refused)?;
            Ok(Checked::Item(record.gtin.to_string(), item))
        }
        Feed::Blocks => {
            let record = feed::parse_block(text).map_err(refused)?;
            Ok(Checked::Item(record.blocked.key(), item))
        }
        Feed::Tasks => {
            let record = feed::parse_task(text).map_err(refused)?;
            warehouse_named(&item)?;
            Ok(Checked::Item(record.id, item))
        }
        Feed::Orders => {
            let record = feed::parse_order(text).map_err(refused)?;
            warehouse_named(&item)?;
            Ok(Checked::Item(record.id, item))
        }
        Feed::Operators => operator(item),
        // The hub writes verdicts itself as GIS MT answers; a file cannot claim one.
        Feed::Verdicts => {
            Err("verdicts are made by the hub from GIS MT's answers, not imported".into())
        }
    }
}

/// A task or an order names the warehouse it is for, or none: only that warehouse's terminals
/// pull it.
fn warehouse_named(item: &Value) -> Result<(), String> {
    match item.get("warehouse") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(w)) if !w.trim().is_empty() => Ok(()),
        Some(_) => Err("\"warehouse\" must name a warehouse".into()),
    }
}

fn field<'a>(item: &'a Value, name: &str) -> Result<&'a str, String> {
    item.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("\"{name}\" is missing or not a string"))
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
    let digest = tally_wire::pin_digest(&salt, pin);
    if let Value::Object(map) = &mut item {
        map.remove("pin");
        map.insert("pinSalt".into(), Value::String(salt));
        map.insert("pinSha256".into(), Value::String(digest));
    }
    let line = serde_json::to_vec(&item).map_err(|e| e.to_string())?;
    feed::parse_operator(&line).map_err(refused)?;
    Ok(Checked::Item(id, item))
}
