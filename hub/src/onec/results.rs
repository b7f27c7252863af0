//! What the warehouse did, for the books: each applied acceptance, write-off or shipment as a
//! result document, written as CommerceML for 1C's sale exchange and as JSON for `/v1/results`.
//!
//! A result is built from the operation's pushed document, the task or order it worked (what
//! 1C asked for, line by line, when 1C sent it), the catalog's names and the GIS MT documents
//! the hub made of it. Lines are per GTIN: the quantity taken into stock (accepted, or written off),
//! what the task expected, how far off it came (over, short), and the marking codes of the
//! line. The CommerceML shape (`docs/1c-exchange.md`): one `Документ` per result, its `Товар`
//! lines with `Количество` and the codes in `КодыМаркировки/КодМаркировки`, the rest in
//! `ЗначенияРеквизитов`, which 1C's exchange settings map to document fields.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;
use tally_domain::code::Ki;
use tally_domain::gs1::{Gtin, Sscc};
use tally_domain::status::Timestamp;
use tally_wire::{Feed, OperationDocument};

use crate::store::Store;
use crate::store::onec::{LabelContents, ResultRow, ResultSubmission};

/// One result document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultDocument {
    /// The operation's UUID: stable, what 1C keys the document by.
    pub id: String,
    /// The hub's number of the operation, the cursor of `/v1/results`.
    pub cursor: i64,
    /// `acceptance`, `write-off` or `shipment`.
    pub kind: String,
    /// The task's or order's (1C's) document number, else the warehouse's own.
    pub number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The order a shipment was picked against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    pub warehouse: String,
    pub device: String,
    pub operator: String,
    /// When the operation was finished, ms since the epoch, and its Moscow wall-clock date
    /// and time as 1C writes them.
    pub finished_at: i64,
    pub date: String,
    pub time: String,
    /// Of a shipment: the date of its outgoing document (the UPD), `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_date: Option<String>,
    /// The supplier of an acceptance against a task, the receiver of a shipment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterparty_inn: Option<String>,
    /// A write-off's reason (`damage_loss`, …) and its Russian name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_ru: Option<String>,
    pub lines: Vec<ResultLine>,
    /// Units accepted that the task never listed or past a line's quantity: not taken. Of a
    /// shipment: shipped past the order.
    pub surplus: Vec<String>,
    /// Codes the task (or order) listed that were not found (or not shipped).
    pub missing: Vec<String>,
    /// Units refused back to the supplier after their box was accepted.
    pub rejected: Vec<String>,
    /// Box and pallet labels a shipment shipped whole (their units are counted in the lines
    /// picked against an order; their codes are the label's, not listed one by one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Damaged labels replaced by new codes on goods that stay (`old → new`).
    pub remarked: Vec<Remark>,
    /// The GIS MT documents the hub made of it, and their state.
    pub gismt: Vec<GisState>,
}

/// A line per GTIN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultLine {
    pub gtin: String,
    /// 1C's `Ид` of the goods when the task came from 1C.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub name: String,
    /// What the task asked for; `None` without a task (a free acceptance, a write-off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<u32>,
    /// Units taken into stock (or written off): the codes below.
    pub quantity: u32,
    pub over: u32,
    pub short: u32,
    pub codes: Vec<String>,
    /// Of a shipment: the labels shipped whole that hold this line's goods, as the outgoing
    /// UPD lists them (`НомСредИдентТов`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<LinePackage>,
}

/// A label shipped whole, as one goods line sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinePackage {
    /// The label shipped: a box, or a pallet.
    pub sscc: String,
    /// Of a pallet built on a terminal: its boxes that hold this line's goods (empty for a
    /// box, or a pallet whose units sit on it directly).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub boxes: Vec<String>,
    /// This line's units inside.
    pub units: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Remark {
    pub old: String,
    pub new: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GisState {
    #[serde(rename = "type")]
    pub document_type: String,
    pub pg: String,
    /// `waiting`, `in_progress`, `checked_ok`, `checked_not_ok`, …
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gis_id: Option<String>,
}

/// What the task asked of one GTIN.
#[derive(Default)]
struct Asked {
    reference: Option<String>,
    name: Option<String>,
    quantity: u32,
}

const MOSCOW_OFFSET_MS: i64 = 3 * 3_600_000;

fn wall_clock(at: i64) -> (String, String) {
    let local = at + MOSCOW_OFFSET_MS;
    let date = Timestamp(local).date().to_string();
    let second = local.rem_euclid(86_400_000) / 1000;
    let time = format!(
        "{:02}:{:02}:{:02}",
        second / 3600,
        second / 60 % 60,
        second % 60
    );
    (date, time)
}

/// What the task asked per GTIN, in the task's order: from 1C's lines (`ordered`) when 1C
/// sent the task, else from its codes and lines by count.
fn asked_of(task: &Value) -> Vec<(Gtin, Asked)> {
    let mut asked: Vec<(Gtin, Asked)> = Vec::new();
    let mut add = |gtin: Gtin, quantity: u32, reference: Option<&str>, name: Option<&str>| {
        let i = match asked.iter().position(|(g, _)| *g == gtin) {
            Some(i) => i,
            None => {
                asked.push((gtin, Asked::default()));
                asked.len() - 1
            }
        };
        let entry = &mut asked[i].1;
        entry.quantity += quantity;
        if entry.reference.is_none() {
            entry.reference = reference.filter(|r| !r.is_empty()).map(str::to_owned);
        }
        if entry.name.is_none() {
            entry.name = name.filter(|n| !n.is_empty()).map(str::to_owned);
        }
    };
    let gtin_of = |v: &Value| {
        v.get("gtin")
            .and_then(Value::as_str)
            .and_then(|g| Gtin::from_digits(g.as_bytes()))
    };
    let quantity_of = |v: &Value| {
        v.get("quantity")
            .and_then(Value::as_u64)
            .and_then(|q| u32::try_from(q).ok())
            .unwrap_or(0)
    };
    if let Some(ordered) = task.get("ordered").and_then(Value::as_array) {
        for line in ordered {
            if let Some(gtin) = gtin_of(line) {
                let text = |k: &str| line.get(k).and_then(Value::as_str);
                add(gtin, quantity_of(line), text("ref"), text("name"));
            }
        }
        return asked;
    }
    let units = task
        .get("units")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            task.get("boxes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|b| b.get("units").and_then(Value::as_array))
                .flatten(),
        );
    for unit in units {
        if let Some(ki) = unit.as_str().and_then(Ki::from_cis) {
            add(ki.gtin(), 1, None, None);
        }
    }
    for line in task
        .get("lines")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(gtin) = gtin_of(line) {
            add(gtin, quantity_of(line), None, None);
        }
    }
    asked
}

fn texts(kis: &[Ki]) -> Vec<String> {
    kis.iter().map(Ki::to_string).collect()
}

/// The catalog's name of a GTIN, from its catalog line.
pub fn catalog_name(line: &str) -> Option<String> {
    serde_json::from_str::<Value>(line)
        .ok()?
        .get("name")?
        .as_str()
        .map(str::to_owned)
}

/// Builds the result of one operation; `None` for a payload this build cannot read or a kind
/// that is no result.
pub fn build(
    row: &ResultRow,
    tasks: &HashMap<String, Value>,
    orders: &HashMap<String, Value>,
    names: &HashMap<String, String>,
    submissions: &[ResultSubmission],
    contents: &HashMap<Sscc, LabelContents>,
) -> Option<ResultDocument> {
    let payload: Value = serde_json::from_str(&row.payload).ok()?;
    let document = OperationDocument::from_parts(&row.kind, payload).ok()?;
    let (date, time) = wall_clock(row.finished_at);
    let name_of = |gtin: Gtin| names.get(&gtin.to_string()).cloned().unwrap_or_default();
    let gismt = submissions
        .iter()
        .filter(|s| s.operation == row.id)
        .map(|s| GisState {
            document_type: s.document_type.clone(),
            pg: s.pg.clone(),
            state: s.state.clone(),
            gis_id: s.gis_id.clone(),
        })
        .collect();
    let mut result = ResultDocument {
        id: row.uuid.clone(),
        cursor: row.id,
        kind: row.kind.clone(),
        number: String::new(),
        task_id: None,
        order_id: None,
        warehouse: row.warehouse.clone(),
        device: row.device.clone(),
        operator: row.operator.clone(),
        finished_at: row.finished_at,
        date,
        time,
        document_date: None,
        counterparty_inn: None,
        reason: None,
        reason_ru: None,
        lines: Vec::new(),
        surplus: Vec::new(),
        missing: Vec::new(),
        rejected: Vec::new(),
        labels: Vec::new(),
        remarked: Vec::new(),
        gismt,
    };
    match document {
        OperationDocument::Acceptance(d) => {
            let task = d.task_id.as_ref().and_then(|id| tasks.get(id));
            result.task_id = d.task_id.clone();
            result.number = task
                .and_then(|t| t.get("number"))
                .and_then(Value::as_str)
                .map_or_else(|| format!("ТСД-{}", row.id), str::to_owned);
            result.counterparty_inn = task
                .and_then(|t| t.get("senderInn"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let asked = task.map(asked_of);
            let not_taken: std::collections::HashSet<&Ki> =
                d.surplus.iter().chain(d.rejected.iter()).collect();
            let mut taken: BTreeMap<Gtin, Vec<Ki>> = BTreeMap::new();
            for ki in d.accepted.iter().filter(|ki| !not_taken.contains(ki)) {
                taken.entry(ki.gtin()).or_default().push(*ki);
            }
            let mut over: BTreeMap<Gtin, u32> = BTreeMap::new();
            for ki in &d.surplus {
                *over.entry(ki.gtin()).or_default() += 1;
            }
            // The task's GTINs in its order, then any other the operator accepted.
            let mut order: Vec<Gtin> = asked.iter().flatten().map(|(g, _)| *g).collect::<Vec<_>>();
            for gtin in taken.keys().chain(over.keys()) {
                if !order.contains(gtin) {
                    order.push(*gtin);
                }
            }
            for gtin in order {
                let codes = taken.remove(&gtin).unwrap_or_default();
                let quantity = u32::try_from(codes.len()).unwrap_or(u32::MAX);
                let ask = asked
                    .as_ref()
                    .and_then(|a| a.iter().find(|(g, _)| *g == gtin))
                    .map(|(_, a)| a);
                let expected = asked.as_ref().map(|_| ask.map_or(0, |a| a.quantity));
                result.lines.push(ResultLine {
                    gtin: gtin.to_string(),
                    reference: ask.and_then(|a| a.reference.clone()),
                    name: ask
                        .and_then(|a| a.name.clone())
                        .unwrap_or_else(|| name_of(gtin)),
                    expected,
                    quantity,
                    over: over.get(&gtin).copied().unwrap_or(0),
                    short: expected.map_or(0, |e| e.saturating_sub(quantity)),
                    codes: texts(&codes),
                    packages: Vec::new(),
                });
            }
            result.surplus = texts(&d.surplus);
            result.missing = texts(&d.missing);
            result.rejected = texts(&d.rejected);
        }
        OperationDocument::WriteOff(d) => {
            result.number = d.document_number.clone();
            result.reason = Some(d.reason.code().to_owned());
            result.reason_ru = Some(d.reason.name_ru().to_owned());
            let stays: std::collections::HashSet<&Ki> =
                d.replacements.iter().map(|r| &r.old).collect();
            let mut gone: BTreeMap<Gtin, Vec<Ki>> = BTreeMap::new();
            for ki in d.codes.iter().filter(|ki| !stays.contains(ki)) {
                gone.entry(ki.gtin()).or_default().push(*ki);
            }
            for (gtin, codes) in gone {
                result.lines.push(ResultLine {
                    gtin: gtin.to_string(),
                    reference: None,
                    name: name_of(gtin),
                    expected: None,
                    quantity: u32::try_from(codes.len()).unwrap_or(u32::MAX),
                    over: 0,
                    short: 0,
                    codes: texts(&codes),
                    packages: Vec::new(),
                });
            }
            result.remarked = d
                .replacements
                .iter()
                .map(|r| Remark {
                    old: r.old.to_string(),
                    new: r.new.to_string(),
                })
                .collect();
        }
        OperationDocument::Shipment(d) => {
            // An order of another warehouse is none of this result's business: its number
            // and lines stay with its own warehouse's books.
            let order = d
                .order_id
                .as_ref()
                .and_then(|id| orders.get(id))
                .filter(|o| {
                    o.get("warehouse")
                        .and_then(Value::as_str)
                        .is_none_or(|w| w == row.warehouse)
                });
            result.order_id = d.order_id.clone();
            result.number = order
                .and_then(|o| o.get("number"))
                .and_then(Value::as_str)
                .map_or_else(|| d.document_number.clone(), str::to_owned);
            result.counterparty_inn = Some(d.receiver_inn.as_str().to_owned());
            result.document_date = Some(d.document_date.to_string());
            let asked = order.map(asked_of);
            // Units counted toward the order per GTIN: the named ones shipped and those that
            // filled a line by quantity (loose or inside a label); past it, `over`. A free
            // shipment (or one whose order is gone) counts its loose units.
            let mut taken: BTreeMap<Gtin, u32> = BTreeMap::new();
            let mut codes: BTreeMap<Gtin, Vec<Ki>> = BTreeMap::new();
            let mut over: BTreeMap<Gtin, u32> = BTreeMap::new();
            for ki in &d.units {
                codes.entry(ki.gtin()).or_default().push(*ki);
            }
            for ki in &d.over {
                *over.entry(ki.gtin()).or_default() += 1;
            }
            if let Some(order) = order {
                let missing: std::collections::HashSet<&Ki> = d.missing.iter().collect();
                for ki in order
                    .get("units")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|u| u.as_str().and_then(Ki::from_cis))
                    .filter(|ki| !missing.contains(ki))
                {
                    *taken.entry(ki.gtin()).or_default() += 1;
                }
                for line in &d.lines {
                    *taken.entry(line.gtin).or_default() += line.shipped;
                }
            } else {
                for ki in &d.units {
                    *taken.entry(ki.gtin()).or_default() += 1;
                }
            }
            let packages = line_packages(&d.labels, contents);
            if order.is_none() {
                // Picked against nothing, a label's units count where its goods are.
                for (gtin, list) in &packages {
                    for package in list {
                        *taken.entry(*gtin).or_default() += package.units;
                    }
                }
            }
            let mut packages = packages;
            let mut gtins: Vec<Gtin> = asked.iter().flatten().map(|(g, _)| *g).collect();
            for gtin in taken
                .keys()
                .chain(over.keys())
                .chain(codes.keys())
                .chain(packages.keys())
            {
                if !gtins.contains(gtin) {
                    gtins.push(*gtin);
                }
            }
            for gtin in gtins {
                let ask = asked
                    .as_ref()
                    .and_then(|a| a.iter().find(|(g, _)| *g == gtin))
                    .map(|(_, a)| a);
                let expected = asked.as_ref().map(|_| ask.map_or(0, |a| a.quantity));
                let counted = taken.get(&gtin).copied().unwrap_or(0);
                let past = over.get(&gtin).copied().unwrap_or(0);
                result.lines.push(ResultLine {
                    gtin: gtin.to_string(),
                    reference: ask.and_then(|a| a.reference.clone()),
                    name: ask
                        .and_then(|a| a.name.clone())
                        .unwrap_or_else(|| name_of(gtin)),
                    expected,
                    quantity: counted.saturating_add(past),
                    over: past,
                    short: expected.map_or(0, |e| e.saturating_sub(counted)),
                    codes: texts(&codes.remove(&gtin).unwrap_or_default()),
                    packages: packages.remove(&gtin).unwrap_or_default(),
                });
            }
            result.surplus = texts(&d.over);
            result.missing = texts(&d.missing);
            result.labels = d.labels.iter().map(ToString::to_string).collect();
        }
        _ => return None,
    }
    Some(result)
}

/// Each GTIN's share of the labels shipped whole: per label, the boxes (of a pallet) that
/// hold it and how many of its units are inside.
fn line_packages(
    labels: &[Sscc],
    contents: &HashMap<Sscc, LabelContents>,
) -> BTreeMap<Gtin, Vec<LinePackage>> {
    let mut lines: BTreeMap<Gtin, Vec<LinePackage>> = BTreeMap::new();
    for label in labels {
        let Some(held) = contents.get(label) else {
            continue;
        };
        let mut share: BTreeMap<Gtin, (Vec<String>, u32)> = BTreeMap::new();
        for ki in &held.units {
            share.entry(ki.gtin()).or_default().1 += 1;
        }
        for inner in &held.boxes {
            let mut counts: BTreeMap<Gtin, u32> = BTreeMap::new();
            for ki in contents
                .get(inner)
                .map(|c| c.units.as_slice())
                .unwrap_or_default()
            {
                *counts.entry(ki.gtin()).or_default() += 1;
            }
            for (gtin, n) in counts {
                let entry = share.entry(gtin).or_default();
                entry.0.push(inner.to_string());
                entry.1 += n;
            }
        }
        for (gtin, (boxes, units)) in share {
            lines.entry(gtin).or_default().push(LinePackage {
                sscc: label.to_string(),
                boxes,
                units,
            });
        }
    }
    lines
}

/// The results of these operations, with what they need read in five queries whatever
/// their number (the tasks, the orders, the catalog's names, the GIS MT documents, what the
/// labels shipped whole hold).
pub fn load(store: &Store, rows: &[ResultRow]) -> crate::store::Result<Vec<ResultDocument>> {
    let mut task_ids: Vec<String> = Vec::new();
    let mut order_ids: Vec<String> = Vec::new();
    let mut gtins: Vec<String> = Vec::new();
    let mut labels: Vec<Sscc> = Vec::new();
    for row in rows {
        let Ok(payload) = serde_json::from_str::<Value>(&row.payload) else {
            continue;
        };
        for (key, ids) in [("task_id", &mut task_ids), ("order_id", &mut order_ids)] {
            if let Some(id) = payload.get(key).and_then(Value::as_str)
                && !ids.iter().any(|t| t == id)
            {
                ids.push(id.to_owned());
            }
        }
        if row.kind == "shipment" {
            for label in payload
                .get("labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str().and_then(|l| Sscc::from_digits(l.as_bytes())))
            {
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
        }
        for list in ["accepted", "codes", "units", "over"] {
            for code in payload
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(ki) = code.as_str().and_then(Ki::from_cis) {
                    let gtin = ki.gtin().to_string();
                    if !gtins.contains(&gtin) {
                        gtins.push(gtin);
                    }
                }
            }
        }
    }
    let tasks: HashMap<String, Value> = store
        .items_of(Feed::Tasks, &task_ids)?
        .into_iter()
        .filter_map(|(id, item)| Some((id, serde_json::from_str(&item).ok()?)))
        .collect();
    let orders: HashMap<String, Value> = store
        .items_of(Feed::Orders, &order_ids)?
        .into_iter()
        .filter_map(|(id, item)| Some((id, serde_json::from_str(&item).ok()?)))
        .collect();
    let names: HashMap<String, String> = store
        .items_of(Feed::Catalog, &gtins)?
        .into_iter()
        .filter_map(|(gtin, line)| Some((gtin, catalog_name(&line)?)))
        .collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let submissions = store.result_submissions(&ids)?;
    let contents = store.label_contents(&labels)?;
    let mut names = names;
    let missing: Vec<String> = contents
        .values()
        .flat_map(|c| c.units.iter().map(|ki| ki.gtin().to_string()))
        .filter(|g| !names.contains_key(g))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    names.extend(
        store
            .items_of(Feed::Catalog, &missing)?
            .into_iter()
            .filter_map(|(gtin, line)| Some((gtin, catalog_name(&line)?))),
    );
    Ok(rows
        .iter()
        .filter_map(|row| build(row, &tasks, &orders, &names, &submissions, &contents))
        .collect())
}

// ---- CommerceML ----

pub(crate) fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Characters XML 1.0 cannot carry (a КИ's GS never reaches here: codes are КИ).
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

fn element(out: &mut String, indent: usize, name: &str, value: &str) {
    for _ in 0..indent {
        out.push_str("  ");
    }
    let _ = write!(out, "<{name}>");
    escape(value, out);
    let _ = writeln!(out, "</{name}>");
}

fn requisite(out: &mut String, indent: usize, name: &str, value: &str) {
    let pad = "  ".repeat(indent);
    let _ = writeln!(out, "{pad}<ЗначениеРеквизита>");
    element(out, indent + 1, "Наименование", name);
    element(out, indent + 1, "Значение", value);
    let _ = writeln!(out, "{pad}</ЗначениеРеквизита>");
}

/// The results as one CommerceML 2.10 file (`КоммерческаяИнформация`), in UTF-8, for the
/// answer to `type=sale&mode=query`. `now` is `ДатаФормирования`.
pub fn commerceml(results: &[ResultDocument], now: Timestamp) -> String {
    let mut out = String::with_capacity(results.len() * 2048 + 256);
    let (date, time) = wall_clock(now.millis());
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        out,
        "<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" ВерсияСхемы=\"2.10\" ДатаФормирования=\"{date}T{time}\">"
    );
    for r in results {
        out.push_str("  <Документ>\n");
        element(&mut out, 2, "Ид", &r.id);
        element(&mut out, 2, "Номер", &r.number);
        element(&mut out, 2, "Дата", &r.date);
        element(&mut out, 2, "Время", &r.time);
        let (operation, role, their_role) = match r.kind.as_str() {
            // The supplier's shipment as the warehouse received it: we are the buyer.
            "acceptance" => ("Отпуск товара", "Покупатель", "Продавец"),
            // Goods picked and shipped to the customer: we are the seller.
            "shipment" => ("Отпуск товара", "Продавец", "Покупатель"),
            _ => ("Прочие", "Продавец", "Продавец"),
        };
        element(&mut out, 2, "ХозОперация", operation);
        element(&mut out, 2, "Роль", role);
        element(&mut out, 2, "Валюта", "RUB");
        element(&mut out, 2, "Курс", "1");
        element(&mut out, 2, "Сумма", "0");
        if let Some(basis) = r.task_id.as_ref().or(r.order_id.as_ref()) {
            element(&mut out, 2, "Основание", basis);
        }
        if let Some(inn) = &r.counterparty_inn {
            out.push_str("    <Контрагенты>\n      <Контрагент>\n");
            element(&mut out, 4, "Ид", inn);
            element(&mut out, 4, "Наименование", inn);
            element(&mut out, 4, "Роль", their_role);
            element(&mut out, 4, "ИНН", inn);
            out.push_str("      </Контрагент>\n    </Контрагенты>\n");
        }
        out.push_str("    <Товары>\n");
        for line in &r.lines {
            out.push_str("      <Товар>\n");
            element(
                &mut out,
                4,
                "Ид",
                line.reference.as_deref().unwrap_or(&line.gtin),
            );
            element(&mut out, 4, "Штрихкод", &line.gtin);
            element(&mut out, 4, "Наименование", &line.name);
            out.push_str(
                "        <БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\">шт</БазоваяЕдиница>\n",
            );
            element(&mut out, 4, "Количество", &line.quantity.to_string());
            element(&mut out, 4, "Сумма", "0");
            out.push_str("        <ЗначенияРеквизитов>\n");
            if let Some(expected) = line.expected {
                requisite(&mut out, 5, "КоличествоПоЗаданию", &expected.to_string());
            }
            requisite(&mut out, 5, "Излишек", &line.over.to_string());
            requisite(&mut out, 5, "Недостача", &line.short.to_string());
            out.push_str("        </ЗначенияРеквизитов>\n");
            if !line.codes.is_empty() {
                out.push_str("        <КодыМаркировки>\n");
                for code in &line.codes {
                    element(&mut out, 5, "КодМаркировки", code);
                }
                out.push_str("        </КодыМаркировки>\n");
            }
            out.push_str("      </Товар>\n");
        }
        out.push_str("    </Товары>\n    <ЗначенияРеквизитов>\n");
        requisite(&mut out, 3, "ОперацияТСД", &r.kind);
        requisite(&mut out, 3, "Склад", &r.warehouse);
        requisite(&mut out, 3, "Терминал", &r.device);
        requisite(&mut out, 3, "Оператор", &r.operator);
        if let Some(reason) = &r.reason_ru {
            requisite(&mut out, 3, "ПричинаСписания", reason);
        }
        for (name, codes) in [
            ("КодИзлишка", &r.surplus),
            ("КодНедостачи", &r.missing),
            ("КодОтказа", &r.rejected),
            ("КодУпаковки", &r.labels),
        ] {
            for code in codes {
                requisite(&mut out, 3, name, code);
            }
        }
        for remark in &r.remarked {
            requisite(
                &mut out,
                3,
                "Перемаркировка",
                &format!("{} → {}", remark.old, remark.new),
            );
        }
        for gis in &r.gismt {
            requisite(&mut out, 3, "ДокументГИСМТ", &gis.document_type);
            requisite(&mut out, 3, "СостояниеГИСМТ", &gis.state);
            if let Some(id) = &gis.gis_id {
                requisite(&mut out, 3, "ИдГИСМТ", id);
            }
        }
        out.push_str("    </ЗначенияРеквизитов>\n  </Документ>\n");
    }
    out.push_str("</КоммерческаяИнформация>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_is_moscow_time() {
        // 2026-12-01T21:30:05Z is 00:30:05 on the 2nd in Moscow.
        assert_eq!(
            wall_clock(1_796_160_605_000),
            ("2026-12-02".to_owned(), "00:30:05".to_owned())
        );
    }

    #[test]
    fn text_is_escaped() {
        let mut out = String::new();
        escape("Ёлки & <палки> \"1\"\u{1d}", &mut out);
        assert_eq!(out, "Ёлки &amp; &lt;палки&gt; &quot;1&quot;");
    }
}
