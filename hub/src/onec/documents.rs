//! CommerceML 2 documents reader: the deliveries and orders 1C sends in the sale exchange, as
//! the hub's work (acceptance tasks, orders to pick).
//!
//! 1C writes `КоммерческаяИнформация/Документ` (CommerceML 3 wraps each in `Контейнер`). A
//! document is work for the warehouse: a delivery to accept when the warehouse buys (its
//! `Роль` is `Покупатель`, the seller among `Контрагенты` has the INN GIS MT knows the
//! shipment by), an order to pick when it sells (`Продавец`); a requisite `ВидЗадания`
//! (`Приемка` / `Отгрузка`) says it outright where a configuration mixes them. Each `Товар`
//! is a line: its barcode (`Штрихкод`, or a requisite of that name), its `Количество` in whole
//! units (marked goods are counted in pieces), and the marking codes where 1C knows them
//! (`КодыМаркировки/КодМаркировки`, or requisites `КодМаркировки`). A document marked for
//! deletion (`ПометкаУдаления` true) withdraws the work.
//!
//! Exchange files of documents are small beside a catalog (a day's deliveries), so the reader
//! builds a tree of the elements it keeps and judges each document whole; a file is taken
//! whole or refused with every failure in it, each with its line.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Value, json};
use tally_domain::code::{Ki, ParseOptions, parse};
use tally_domain::gs1::Gtin;
use tally_domain::status::Inn;

use super::commerceml::{
    Failure, attribute, bad_barcode, count_lines, fold, is_true, not_commerceml, not_xml, resolve,
};

/// The most units one line may ask for (the wire's limit).
const MAX_QUANTITY: u32 = tally_wire::feed::MAX_LINE_QUANTITY;

/// What the warehouse is to do with a document.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WorkKind {
    /// A supplier's delivery: an acceptance task.
    Delivery,
    /// A customer's order: goods to pick and ship.
    Pick,
}

impl WorkKind {
    pub fn name(self) -> &'static str {
        match self {
            WorkKind::Delivery => "delivery",
            WorkKind::Pick => "pick",
        }
    }
}

/// One document of work.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WorkDocument {
    /// 1C's `Ид`: the task's id, and what results name it by.
    pub id: String,
    pub number: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub kind: WorkKind,
    /// The other side: the supplier of a delivery, the customer of an order.
    pub counterparty_inn: Option<Inn>,
    pub counterparty_name: String,
    /// Marked for deletion in 1C: the work is withdrawn.
    pub deleted: bool,
    pub lines: Vec<WorkLine>,
}

/// One `Товар` of a document.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WorkLine {
    /// 1C's `Ид` of the goods, echoed in results so 1C maps them back without barcodes.
    pub reference: String,
    pub name: String,
    pub gtin: Gtin,
    pub quantity: u32,
    /// The codes 1C knows for the line (fewer than `quantity`: the rest go by count).
    pub codes: Vec<Ki>,
}

// ---- a tree of the file ----

/// An element with its text and children; attributes are read at the start tag into `attrs`.
#[derive(Default, Debug)]
struct Node {
    name: String,
    line: u64,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn text_of(&self, name: &str) -> String {
        self.child(name)
            .map(|c| c.text.trim().to_owned())
            .unwrap_or_default()
    }

    /// `ЗначенияРеквизитов/ЗначениеРеквизита` values whose name folds to `name`.
    fn requisites(&self, name: &str) -> Vec<(String, u64)> {
        let folded = fold(name);
        self.children("ЗначенияРеквизитов")
            .flat_map(|r| r.children("ЗначениеРеквизита"))
            .filter(|r| fold(&r.text_of("Наименование")) == folded)
            .map(|r| (r.text_of("Значение"), r.line))
            .collect()
    }
}

/// The whole file as a tree under its root, refused when it is not XML or not CommerceML.
fn read_tree(text: &str) -> Result<Node, Failure> {
    let bytes = text.as_bytes();
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut line: u64 = 1;
    let mut counted: usize = 0;
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        line += count_lines(bytes, counted, at);
        counted = at.min(bytes.len()).max(counted);
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
                return Err(not_xml(
                    line + count_lines(bytes, counted, at),
                    &error.to_string(),
                ));
            }
        };
        let (element, empty) = match event {
            Event::Start(element) => (element, false),
            Event::Empty(element) => (element, true),
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(not_xml(line, "a closing tag without its opening tag"));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
                continue;
            }
            Event::Text(t) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&t.xml10_content());
                }
                continue;
            }
            Event::CData(t) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&t.xml10_content());
                }
                continue;
            }
            Event::GeneralRef(reference) => {
                let Some(c) = resolve(&reference) else {
                    let name = reference.into_inner();
                    return Err(not_xml(line, &format!("unknown entity &{name};")));
                };
                if let Some(open) = stack.last_mut() {
                    open.text.push(c);
                }
                continue;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
        };
        let name = element.local_name().as_ref().to_owned();
        if stack.is_empty() {
            if root.is_some() {
                return Err(not_xml(line, "a second root element"));
            }
            if name != "КоммерческаяИнформация" {
                return Err(not_commerceml(line, &element));
            }
        }
        let mut node = Node {
            name,
            line,
            ..Node::default()
        };
        for key in ["ПометкаУдаления"] {
            if let Some(value) = attribute(&element, key) {
                node.attrs.push((key.to_owned(), value));
            }
        }
        if empty {
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None => root = Some(node),
            }
        } else {
            stack.push(node);
        }
    }
    if !stack.is_empty() {
        return Err(not_xml(line, "the file ends inside an element"));
    }
    root.ok_or_else(|| not_xml(line, "the file has no root element"))
}

// ---- documents ----

/// Reads a documents file (the text `commerceml::decode` gives): every document, or every
/// failure found. A file with no document at all is refused (`empty_exchange_file`): 1C sends
/// none when it has nothing, so an empty one is a broken export.
pub fn read_documents(text: &str) -> Result<Vec<WorkDocument>, Vec<Failure>> {
    let root = read_tree(text).map_err(|f| vec![f])?;
    let documents: Vec<&Node> = root
        .children("Документ")
        .chain(
            root.children("Контейнер")
                .flat_map(|c| c.children("Документ")),
        )
        .collect();
    if documents.is_empty() {
        return Err(vec![Failure::new(
            root.line,
            "empty_exchange_file",
            "the file has no document (Документ)".to_owned(),
            "в файле нет ни одного документа (Документ)".to_owned(),
        )]);
    }
    let mut failures = Vec::new();
    let mut read = Vec::with_capacity(documents.len());
    for node in documents {
        match document(node) {
            Ok(doc) => {
                if read.iter().any(|d: &WorkDocument| d.id == doc.id) {
                    failures.push(Failure::new(
                        node.line,
                        "duplicate_document",
                        format!("the document {} is in the file twice", doc.id),
                        format!("документ {} в файле дважды", doc.id),
                    ));
                } else {
                    read.push(doc);
                }
            }
            Err(mut found) => failures.append(&mut found),
        }
    }
    if failures.is_empty() {
        Ok(read)
    } else {
        Err(failures)
    }
}

fn document(node: &Node) -> Result<WorkDocument, Vec<Failure>> {
    let mut failures = Vec::new();
    let id = node.text_of("Ид");
    if id.is_empty() {
        return Err(vec![Failure::new(
            node.line,
            "missing_id",
            "a document has no Ид".to_owned(),
            "у документа нет Ид".to_owned(),
        )]);
    }
    let deleted = node
        .attrs
        .iter()
        .any(|(key, value)| key == "ПометкаУдаления" && is_true(value))
        || node
            .requisites("ПометкаУдаления")
            .iter()
            .any(|(value, _)| is_true(value))
        || is_true(&node.text_of("ПометкаУдаления"));
    let number = node.text_of("Номер");
    if number.is_empty() && !deleted {
        failures.push(Failure::new(
            node.line,
            "missing_number",
            format!("the document {id} has no number (Номер)"),
            format!("у документа {id} нет номера (Номер)"),
        ));
    }
    let date_text = node.text_of("Дата");
    let date = date_text.get(..10).unwrap_or_default().to_owned();
    if !deleted && !is_iso_date(&date) {
        failures.push(Failure::new(
            node.child("Дата").map_or(node.line, |d| d.line),
            "bad_date",
            format!("the document {id} has the date \"{date_text}\", not YYYY-MM-DD"),
            format!("у документа {id} дата «{date_text}», а не ГГГГ-ММ-ДД"),
        ));
    }
    let kind = match work_kind(node) {
        Some(kind) => kind,
        None => {
            failures.push(Failure::new(
                node.line,
                "unknown_document_kind",
                format!(
                    "the document {id} is neither a delivery (Роль Покупатель, or ВидЗадания \
                     Приемка) nor an order to pick (Роль Продавец, or ВидЗадания Отгрузка)"
                ),
                format!(
                    "документ {id} не поступление (Роль Покупатель или ВидЗадания Приемка) и не \
                     заказ к отгрузке (Роль Продавец или ВидЗадания Отгрузка)"
                ),
            ));
            WorkKind::Delivery
        }
    };
    // The other side plays the role opposite to ours.
    let their_role = match kind {
        WorkKind::Delivery => "продавец",
        WorkKind::Pick => "покупатель",
    };
    let counterparty = node
        .children("Контрагенты")
        .flat_map(|c| c.children("Контрагент"))
        .find(|c| fold(&c.text_of("Роль")) == their_role)
        .or_else(|| {
            node.children("Контрагенты")
                .flat_map(|c| c.children("Контрагент"))
                .next()
        });
    let inn_text = counterparty.map(|c| c.text_of("ИНН")).unwrap_or_default();
    let counterparty_inn = if inn_text.is_empty() {
        None
    } else {
        match Inn::parse(&inn_text) {
            Some(inn) => Some(inn),
            None => {
                failures.push(Failure::new(
                    counterparty.map_or(node.line, |c| c.line),
                    "bad_inn",
                    format!(
                        "the counterparty of {id} has the INN \"{inn_text}\", which is not valid"
                    ),
                    format!("у контрагента документа {id} ИНН «{inn_text}» некорректен"),
                ));
                None
            }
        }
    };
    if kind == WorkKind::Delivery && counterparty_inn.is_none() && inn_text.is_empty() && !deleted {
        failures.push(Failure::new(
            node.line,
            "missing_inn",
            format!(
                "the delivery {id} names no supplier's INN (Контрагент with Роль Продавец, ИНН)"
            ),
            format!("в поступлении {id} нет ИНН поставщика (Контрагент с Роль Продавец, ИНН)"),
        ));
    }
    let mut lines = Vec::new();
    for goods in node.children("Товары").flat_map(|t| t.children("Товар")) {
        match line(&id, goods) {
            Ok(l) => lines.push(l),
            Err(mut found) => failures.append(&mut found),
        }
    }
    if lines.is_empty() && failures.is_empty() && !deleted {
        failures.push(Failure::new(
            node.line,
            "empty_document",
            format!("the document {id} has no goods (Товары/Товар)"),
            format!("в документе {id} нет товаров (Товары/Товар)"),
        ));
    }
    if !failures.is_empty() {
        return Err(failures);
    }
    Ok(WorkDocument {
        id,
        number,
        date,
        kind,
        counterparty_inn,
        counterparty_name: counterparty
            .map(|c| {
                let full = c.text_of("ПолноеНаименование");
                if full.is_empty() {
                    c.text_of("Наименование")
                } else {
                    full
                }
            })
            .unwrap_or_default(),
        deleted,
        lines,
    })
}

fn work_kind(node: &Node) -> Option<WorkKind> {
    if let Some((value, _)) = node.requisites("ВидЗадания").into_iter().next() {
        return match fold(&value).as_str() {
            "приемка" | "поступление" | "acceptance" | "delivery" => {
                Some(WorkKind::Delivery)
            }
            "отгрузка" | "отбор" | "сборка" | "shipment" | "pick" => {
                Some(WorkKind::Pick)
            }
            _ => None,
        };
    }
    match fold(&node.text_of("Роль")).as_str() {
        "покупатель" => Some(WorkKind::Delivery),
        "продавец" => Some(WorkKind::Pick),
        _ => None,
    }
}

fn is_iso_date(text: &str) -> bool {
    tally_wire::text::parse_iso_date(text).is_some()
}

fn line(document: &str, goods: &Node) -> Result<WorkLine, Vec<Failure>> {
    let mut failures = Vec::new();
    let reference = goods.text_of("Ид");
    let name = goods.text_of("Наименование");
    let label = if name.is_empty() { &reference } else { &name };
    let mut barcodes: Vec<(String, u64)> = goods
        .children("Штрихкод")
        .map(|b| (b.text.trim().to_owned(), b.line))
        .collect();
    barcodes.extend(goods.requisites("Штрихкод"));
    barcodes.retain(|(b, _)| !b.is_empty());
    let mut gtin = None;
    for (barcode, at) in &barcodes {
        match Gtin::from_digits(barcode.as_bytes()) {
            Some(g) => {
                if gtin.is_none() {
                    gtin = Some(g);
                }
            }
            None => failures.push(bad_barcode(*at, label, barcode)),
        }
    }
    if barcodes.is_empty() {
        failures.push(Failure::new(
            goods.line,
            "missing_barcode",
            format!("the goods {label} of {document} have no barcode (Штрихкод): the terminals know goods by GTIN"),
            format!("у товара {label} документа {document} нет штрихкода (Штрихкод): терминалы узнают товар по GTIN"),
        ));
    }
    let quantity_text = goods.text_of("Количество");
    let quantity = whole_units(&quantity_text);
    if quantity.is_none() {
        failures.push(Failure::new(
            goods.child("Количество").map_or(goods.line, |q| q.line),
            "bad_quantity",
            format!("the goods {label} of {document} have the quantity \"{quantity_text}\": marked goods are counted in whole units, 1 to {MAX_QUANTITY}"),
            format!("у товара {label} документа {document} количество «{quantity_text}»: маркированный товар считают целыми штуками, от 1 до {MAX_QUANTITY}"),
        ));
    }
    let mut written: Vec<(String, u64)> = goods
        .children("КодыМаркировки")
        .flat_map(|c| c.children("КодМаркировки"))
        .map(|c| (c.text.trim().to_owned(), c.line))
        .collect();
    written.extend(goods.requisites("КодМаркировки"));
    written.retain(|(c, _)| !c.is_empty());
    let mut codes: Vec<Ki> = Vec::with_capacity(written.len());
    for (code, at) in &written {
        let ki = parse(code.as_bytes(), &ParseOptions::default())
            .ok()
            .and_then(|parsed| parsed.ki());
        match ki {
            Some(ki) if Some(ki.gtin()) != gtin && gtin.is_some() => failures.push(Failure::new(
                *at,
                "code_of_other_goods",
                format!(
                    "the marking code {code} of {label} is of GTIN {}, not the line's",
                    ki.gtin()
                ),
                format!(
                    "код маркировки {code} товара {label} относится к GTIN {}, а не к GTIN строки",
                    ki.gtin()
                ),
            )),
            Some(ki) if codes.contains(&ki) => failures.push(Failure::new(
                *at,
                "duplicate_code",
                format!("the marking code {code} is twice in {document}"),
                format!("код маркировки {code} дважды в документе {document}"),
            )),
            Some(ki) => codes.push(ki),
            None => failures.push(Failure::new(
                *at,
                "bad_code",
                format!("\"{code}\" of {label} is not a marking code (01 GTIN 21 serial)"),
                format!("«{code}» товара {label} не код маркировки (01 GTIN 21 серийный номер)"),
            )),
        }
    }
    if let Some(q) = quantity
        && codes.len() > q as usize
    {
        failures.push(Failure::new(
            goods.line,
            "codes_exceed_quantity",
            format!(
                "the goods {label} of {document} list {} codes for a quantity of {q}",
                codes.len()
            ),
            format!(
                "у товара {label} документа {document} {} кодов на количество {q}",
                codes.len()
            ),
        ));
    }
    match (gtin, quantity) {
        (Some(gtin), Some(quantity)) if failures.is_empty() => Ok(WorkLine {
            reference,
            name,
            gtin,
            quantity,
            codes,
        }),
        _ => Err(failures),
    }
}

/// `12`, `12.000` or `12,0` as 12; anything with a fraction, zero or over the limit is not.
fn whole_units(text: &str) -> Option<u32> {
    let text = text.trim().replace(['\u{a0}', ' '], "");
    let (whole, fraction) = match text.split_once(['.', ',']) {
        Some((w, f)) => (w.to_owned(), f.to_owned()),
        None => (text, String::new()),
    };
    if !fraction.bytes().all(|b| b == b'0') || whole.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    whole
        .parse::<u32>()
        .ok()
        .filter(|q| (1..=MAX_QUANTITY).contains(q))
}

// ---- the hub's work ----

/// The acceptance task line (`tally_wire::feed::parse_task`'s shape) of a delivery, for the
/// node's warehouse: codes 1C knows become the task's units, the rest of each line's quantity
/// a line by count. `source` names the node, so the task is told apart from a file import.
pub fn task_line(document: &WorkDocument, warehouse: &str, source: &str) -> Value {
    if document.deleted {
        return json!({"id": document.id, "remove": true});
    }
    let units: Vec<String> = document
        .lines
        .iter()
        .flat_map(|l| l.codes.iter().map(Ki::to_string))
        .collect();
    let line = |l: &WorkLine, quantity: u32| {
        json!({"gtin": l.gtin.to_string(), "quantity": quantity, "name": l.name,
               "ref": l.reference})
    };
    let lines: Vec<Value> = document
        .lines
        .iter()
        .filter(|l| l.codes.len() < l.quantity as usize)
        .map(|l| line(l, l.quantity - l.codes.len() as u32))
        .collect();
    let all_lines: Vec<Value> = document.lines.iter().map(|l| line(l, l.quantity)).collect();
    json!({
        "id": document.id,
        "number": document.number,
        "senderInn": document.counterparty_inn.map(|i| i.as_str().to_owned()),
        "date": document.date,
        "warehouse": warehouse,
        "units": units,
        "lines": lines,
        // What 1C asked for, line by line, for the results sent back (terminals ignore it).
        "ordered": all_lines,
        "source": source,
    })
}

/// The order-to-pick line (`tally_wire::feed::parse_order`'s shape) an order of 1C becomes,
/// for `warehouse`; a deleted order withdraws it. As with deliveries, codes 1C knows are
/// named one by one and the rest of each line goes by count; `ordered` keeps 1C's lines
/// whole (with its goods' ids) for the results sent back, and the terminals ignore it.
pub fn order_line(document: &WorkDocument, warehouse: &str, source: &str) -> Value {
    if document.deleted {
        return json!({"id": document.id, "remove": true, "warehouse": warehouse});
    }
    let mut line = task_line(document, warehouse, source);
    if let Value::Object(fields) = &mut line {
        fields.remove("senderInn");
        fields.insert(
            "receiverInn".into(),
            json!(document.counterparty_inn.map(|i| i.as_str().to_owned())),
        );
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_whole_units() {
        assert_eq!(whole_units("12"), Some(12));
        assert_eq!(whole_units("12.000"), Some(12));
        assert_eq!(whole_units("1 200,0"), Some(1200));
        for bad in ["", "0", "2.5", "-1", "1e3", "abc", "2000000"] {
            assert_eq!(whole_units(bad), None, "{bad:?}");
        }
    }
}
