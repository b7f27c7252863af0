//! The exchange journal: every GIS MT document the hub made, where it stands and what GIS MT
//! said, for an administrator (`/v1/journal` as JSON or CSV, `/journal` as a page).

use tally_domain::status::Timestamp;
use tally_wire::{DocumentState, JournalEntry, JournalResponse};

use crate::gismt::client::query_value;
use crate::store::link::{JournalFilter, Submission};

/// Most entries one page holds.
pub const MAX_JOURNAL_LIMIT: u32 = 5000;

/// The journal's query, as the page's form and the API take it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct JournalQuery {
    #[serde(default)]
    pub state: Vec<String>,
    pub warehouse: Option<String>,
    /// `YYYY-MM-DD`, Moscow days, both ends included.
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(default)]
    pub before: Given,
    #[serde(default)]
    pub limit: Given,
    /// `csv` for a download.
    pub format: Option<String>,
}

/// A query value as sent, an empty one included: serde_html_form reads `?limit=` into `None`
/// for an `Option`, and an empty cursor or limit is a mistake to refuse, not a default.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Given(pub Option<String>);

impl<'de> serde::Deserialize<'de> for Given {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Given, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Given(Some(text.into_owned())))
    }
}

/// Why a query was refused: `(code, en, ru)`.
pub type Refused = (&'static str, String, String);

impl JournalQuery {
    pub fn filter(&self) -> Result<JournalFilter, Refused> {
        let mut states = Vec::new();
        for name in self.state.iter().filter(|s| !s.is_empty()) {
            let state = DocumentState::from_code(name).ok_or_else(|| {
                let known = DocumentState::ALL.map(DocumentState::code).join(", ");
                (
                    "bad_query",
                    format!("Unknown state {name:?}; the states are {known}."),
                    format!("Неизвестное состояние {name:?}; состояния: {known}."),
                )
            })?;
            states.push(state);
        }
        let from = day(self.from.as_deref(), "from")?;
        // The last day named is included: the bound is the next day's Moscow midnight.
        let to = day(self.to.as_deref(), "to")?.map(|d| d.saturating_add(86_400_000));
        let before = match self.before.0.as_deref() {
            None => None,
            Some(text) => Some(cursor(text).ok_or_else(|| {
                (
                    "bad_query",
                    "\"before\" must be a next_before value of an earlier page.".to_owned(),
                    "«before» должен быть значением next_before предыдущей страницы.".to_owned(),
                )
            })?),
        };
        let limit = match self.limit.0.as_deref() {
            None => 500,
            Some(text) => whole_number::<u32>(text).ok_or(()).map_err(|()| {
                (
                    "bad_query",
                    "\"limit\" must be a whole number.".to_owned(),
                    "«limit» должен быть целым числом.".to_owned(),
                )
            })?,
        }
        .clamp(1, MAX_JOURNAL_LIMIT);
        Ok(JournalFilter {
            states,
            warehouse: self.warehouse.clone().filter(|w| !w.is_empty()),
            from,
            to,
            before,
            limit,
        })
    }

    pub fn csv(&self) -> bool {
        self.format.as_deref() == Some("csv")
    }
}

/// A `YYYY-MM-DD` day as the instant its Moscow midnight falls (ms since the epoch).
fn day(text: Option<&str>, name: &str) -> Result<Option<i64>, Refused> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let refused = || {
        (
            "bad_query",
            format!("\"{name}\" must be a date, YYYY-MM-DD."),
            format!("«{name}» должен быть датой ГГГГ-ММ-ДД."),
        )
    };
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(refused());
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return Err(refused());
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(refused()),
    };
    if day < 1 || day > days_in_month {
        return Err(refused());
    }
    // Days from the civil date (Howard Hinnant's algorithm), so any year reads, not only the
    // 2000s a GS1 date holds.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(Some(days * 86_400_000 - MOSCOW_OFFSET_MS))
}

/// Moscow is UTC+3 all year.
const MOSCOW_OFFSET_MS: i64 = 3 * 3_600_000;

/// Digits with an optional minus, as written: no `+`, no blanks.
fn whole_number<T: std::str::FromStr>(text: &str) -> Option<T> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn cursor(text: &str) -> Option<(i64, i64, i64)> {
    let parts: Vec<i64> = text.split('.').map(whole_number).collect::<Option<_>>()?;
    match parts[..] {
        [made_at, operation, position] => Some((made_at, operation, position)),
        _ => None,
    }
}

pub fn entry(s: Submission) -> JournalEntry {
    JournalEntry {
        operation: s.uuid,
        kind: s.kind,
        device_id: s.device_id,
        device: s.device,
        warehouse: s.warehouse,
        participant_inn: s.participant_inn,
        document_type: s.doc_type,
        pg: s.pg,
        gis_id: s.gis_id,
        state: s.state,
        errors: s.errors,
        made_at: s.made_at,
        sent_at: s.sending_at,
        state_at: s.state_at,
        tries: s.tries,
        last_error: s.last_error,
    }
}

/// The page of entries, with the cursor of the next when this one is full.
pub fn page(rows: Vec<Submission>, limit: u32, now: Timestamp) -> JournalResponse {
    let next_before = (rows.len() == limit as usize)
        .then(|| {
            rows.last()
                .map(|s| format!("{}.{}.{}", s.made_at, s.operation, s.position))
        })
        .flatten();
    JournalResponse {
        now: now.millis(),
        entries: rows.into_iter().map(entry).collect(),
        next_before,
    }
}

const COLUMNS: [&str; 15] = [
    "made_at",
    "operation",
    "kind",
    "device_id",
    "device",
    "warehouse",
    "participant_inn",
    "type",
    "pg",
    "gis_id",
    "state",
    "state_at",
    "tries",
    "errors",
    "last_error",
];

/// RFC 4180 CSV with times in ISO-8601 UTC, for a spreadsheet.
pub fn csv(entries: &[JournalEntry]) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for e in entries {
        let fields = [
            crate::gismt::link::iso_time(e.made_at),
            e.operation.clone(),
            e.kind.clone(),
            e.device_id.to_string(),
            e.device.clone(),
            e.warehouse.clone(),
            e.participant_inn.clone(),
            e.document_type.clone(),
            e.pg.clone(),
            e.gis_id.clone().unwrap_or_default(),
            e.state.code().to_owned(),
            crate::gismt::link::iso_time(e.state_at),
            e.tries.to_string(),
            e.errors.join("; "),
            e.last_error.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_field(text: &str) -> String {
    // A leading =, +, - or @ would run as a formula in a spreadsheet.
    let guarded = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The journal page: the filter form, a CSV link for the same selection, the table.
pub fn html(query: &JournalQuery, page: &JournalResponse, warehouses: &[String]) -> String {
    let mut selection: Vec<String> = query
        .state
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| format!("state={}", query_value(s)))
        .collect();
    for (name, value) in [
        ("warehouse", &query.warehouse),
        ("from", &query.from),
        ("to", &query.to),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            selection.push(format!("{name}={}", query_value(v)));
        }
    }
    let csv_link = format!("/v1/journal?{}", {
        let mut q = selection.clone();
        q.push("format=csv".into());
        q.push(format!("limit={MAX_JOURNAL_LIMIT}"));
        q.join("&amp;")
    });
    let state_options: String = DocumentState::ALL
        .iter()
        .map(|s| {
            let checked = query.state.iter().any(|q| q == s.code());
            format!(
                "<label><input type=\"checkbox\" name=\"state\" value=\"{0}\"{1}> {0}</label> ",
                s.code(),
                if checked { " checked" } else { "" }
            )
        })
        .collect();
    let warehouse_options: String = std::iter::once(String::new())
        .chain(warehouses.iter().cloned())
        .map(|w| {
            let selected = query.warehouse.as_deref().unwrap_or("") == w;
            format!(
                "<option value=\"{0}\"{1}>{2}</option>",
                escape(&w),
                if selected { " selected" } else { "" },
                if w.is_empty() {
                    "all / все".to_owned()
                } else {
                    escape(&w)
                }
            )
        })
        .collect();
    let rows: String = page
        .entries
        .iter()
        .map(|e| {
            format!(
                "<tr class=\"{state}\"><td>{made}</td><td>{wh}</td><td>{dev}</td><td>{kind}</td>\
                 <td><code>{op}</code></td><td>{ty}</td><td>{pg}</td><td><code>{id}</code></td>\
                 <td>{state}</td><td>{at}</td><td>{errors}</td></tr>\n",
                state = e.state.code(),
                made = crate::gismt::link::iso_time(e.made_at),
                wh = escape(&e.warehouse),
                dev = escape(&e.device),
                kind = escape(&e.kind),
                op = escape(&e.operation),
                ty = escape(&e.document_type),
                pg = escape(&e.pg),
                id = escape(e.gis_id.as_deref().unwrap_or("")),
                at = crate::gismt::link::iso_time(e.state_at),
                errors = escape(
                    &e.errors
                        .iter()
                        .cloned()
                        .chain(e.last_error.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )
        })
        .collect();
    let more = page.next_before.as_ref().map_or(String::new(), |b| {
        let mut q = selection.clone();
        q.push(format!("before={}", query_value(b)));
        format!(
            "<p><a href=\"/journal?{}\">Older / Раньше</a></p>",
            q.join("&amp;")
        )
    });
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Tally: GIS MT exchange journal</title>\n<style>\
         body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse;font-size:13px}}\
         td,th{{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}}\
         tr.checked_ok td{{background:#eefbea}} tr.checked_not_ok td,tr.processing_error td{{background:#fdeaea}}\
         tr.in_progress td,tr.sending td{{background:#fff8e0}} form{{margin-bottom:1em}}\
         </style></head><body>\n\
         <h1>GIS MT exchange journal / Журнал обмена с ГИС МТ</h1>\n\
         <form method=\"get\" action=\"/journal\">\
         <div>{state_options}</div>\
         <div><label>Warehouse / Склад <select name=\"warehouse\">{warehouse_options}</select></label> \
         <label>From / С <input type=\"date\" name=\"from\" value=\"{from}\"></label> \
         <label>To / По <input type=\"date\" name=\"to\" value=\"{to}\"></label> \
         <button type=\"submit\">Show / Показать</button> \
         <a id=\"csv\" href=\"{csv_link}\">CSV</a></div></form>\n\
         <p id=\"count\">{count} documents / документов</p>\n\
         <table id=\"journal\"><tr><th>made</th><th>warehouse</th><th>terminal</th><th>operation</th>\
         <th>UUID</th><th>type</th><th>pg</th><th>GIS MT id</th><th>state</th><th>since</th>\
         <th>errors</th></tr>\n{rows}</table>\n{more}</body></html>\n",
        from = escape(query.from.as_deref().unwrap_or("")),
        to = escape(query.to.as_deref().unwrap_or("")),
        count = page.entries.len(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_query_reads_states_moscow_days_and_the_cursor() {
        let query = JournalQuery {
            state: vec!["checked_not_ok".into(), "processing_error".into()],
            from: Some("2026-12-01".into()),
            to: Some("2026-12-01".into()),
            before: Given(Some("5.4.1".into())),
            ..JournalQuery::default()
        };
        let filter = query.filter().unwrap();
        assert_eq!(filter.states.len(), 2);
        // Midnight in Moscow is 21:00 UTC the day before.
        assert_eq!(
            crate::gismt::link::iso_time(filter.from.unwrap()),
            "2026-11-30T21:00:00.000Z"
        );
        assert_eq!(filter.to.unwrap() - filter.from.unwrap(), 86_400_000);
        assert_eq!(filter.before, Some((5, 4, 1)));
        let far = JournalQuery {
            from: Some("1999-02-28".into()),
            to: Some("2400-02-29".into()),
            ..JournalQuery::default()
        }
        .filter()
        .unwrap();
        assert_eq!(
            crate::gismt::link::iso_time(far.from.unwrap()),
            "1999-02-27T21:00:00.000Z"
        );
        assert_eq!(
            crate::gismt::link::iso_time(far.to.unwrap()),
            "2400-02-29T21:00:00.000Z"
        );
        assert_eq!(filter.limit, 500);
        for bad in [
            JournalQuery {
                state: vec!["done".into()],
                ..JournalQuery::default()
            },
            JournalQuery {
                from: Some("2026-13-01".into()),
                ..JournalQuery::default()
            },
            JournalQuery {
                to: Some("1.12.2026".into()),
                ..JournalQuery::default()
            },
            JournalQuery {
                before: Given(Some("x".into())),
                ..JournalQuery::default()
            },
            JournalQuery {
                limit: Given(Some("-1".into())),
                ..JournalQuery::default()
            },
            JournalQuery {
                limit: Given(Some("+5".into())),
                ..JournalQuery::default()
            },
            JournalQuery {
                limit: Given(Some(String::new())),
                ..JournalQuery::default()
            },
            JournalQuery {
                before: Given(Some(String::new())),
                ..JournalQuery::default()
            },
            JournalQuery {
                before: Given(Some("1.2.3.4".into())),
                ..JournalQuery::default()
            },
            JournalQuery {
                to: Some("2025-02-29".into()),
                ..JournalQuery::default()
            },
        ] {
            assert_eq!(bad.filter().unwrap_err().0, "bad_query", "{bad:?}");
        }
    }

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
