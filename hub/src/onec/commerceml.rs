//! CommerceML 2 catalog reader: the goods 1C sends in import.xml and offers.xml, as hub catalog lines.
//!
//! 1C's "Обмен с сайтом" writes `КоммерческаяИнформация` files: import.xml carries the
//! classifier (`Классификатор`, with the properties' names) and the goods
//! (`Каталог/Товары/Товар`), offers.xml the offers (`ПакетПредложений/Предложения/Предложение`).
//! Both name each item with `Ид`, `Наименование`, `Штрихкод` and `БазоваяЕдиница`; the
//! marking group is not part of the schema, so configurations put it in a requisite
//! (`ЗначенияРеквизитов`) or a property (`ЗначенияСвойств`) whose name [`ReadOptions`] lists.
//!
//! The reader streams (quick-xml events, a stack of element kinds, one item's state at a time):
//! a full catalog of 100,000 goods is tens of megabytes, and the hub reads it while serving
//! terminals. Everything 1C sends beyond what the hub keeps (prices, images, groups, taxes) is
//! skipped unread. A file is accepted whole or refused with every failure found in it, each
//! with its line, so the person running the exchange fixes the 1C side in one pass.

use std::collections::HashMap;
use std::fmt;

use encoding_rs::{DecoderResult, Encoding};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::{Map, Value};
use tally_domain::gs1::Gtin;
use tally_domain::product_group::ProductGroup;

/// Why a file, or a part of it, was refused. `code` is stable: support and scripts match on it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Failure {
    /// 1-based line of the element the failure was found at (of the file's text after
    /// [`decode`]; 1C writes one element per line, so it is also the line in the file).
    pub line: u64,
    pub code: &'static str,
    pub en: String,
    pub ru: String,
}

impl Failure {
    pub(super) fn new(line: u64, code: &'static str, en: String, ru: String) -> Failure {
        Failure { line, code, en, ru }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {} ({})", self.line, self.en, self.code)
    }
}

/// What [`read_catalog`] looks for beyond the schema.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReadOptions {
    /// Names of the requisites (`ЗначениеРеквизита/Наименование`) or properties (`Свойство/
    /// Наименование`) whose value is the item's marking group: a product group's code
    /// (`milk`), id (`8`) or Russian name (`Молочная продукция`), in any case. Compared
    /// without regard to case, the first one an item has wins.
    pub group_fields: Vec<String>,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            // The names 1C:УТ/КА/ERP and the common site-exchange extensions use.
            group_fields: vec![
                "ТоварнаяГруппаМаркировки".to_owned(),
                "Маркировка".to_owned(),
                "ВидМаркируемойПродукции".to_owned(),
            ],
        }
    }
}

/// The goods of one exchange file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Catalog {
    /// `СодержитТолькоИзменения`: the file holds only what changed since the last exchange,
    /// so goods missing from it are kept, not dropped.
    pub only_changes: bool,
    pub items: Vec<CatalogItem>,
}

/// One `Товар` or `Предложение`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CatalogItem {
    /// 1C's `Ид` (a GUID; offers of a characteristic are `товар#характеристика`).
    pub id: String,
    /// Every barcode of the item, as 14-digit GTINs, each once. Empty when 1C has no barcode
    /// for the item: the item is kept so the caller can count it, but it has no catalog line
    /// (the hub's catalog is keyed by GTIN), and [`catalog_lines`] skips it.
    pub gtins: Vec<Gtin>,
    pub name: String,
    /// `БазоваяЕдиница`: its full name (`НаименованиеПолное`, "Штука"), else its text ("шт").
    pub unit: Option<String>,
    pub product_group: Option<ProductGroup>,
}

// ---- decoding ----

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The file's text. UTF-8 (with or without BOM) unless the XML declaration names another
/// encoding: 1C 7.7 and old configurations write `encoding="windows-1251"`. Bytes invalid in
/// that encoding are refused (`bad_encoding`) rather than replaced, so a name never reaches
/// the terminals with `�` in it.
pub fn decode(bytes: &[u8]) -> Result<String, Failure> {
    // A BOM outranks the declaration (XML 1.0, appendix F).
    let (encoding, body) = match bytes.strip_prefix(UTF8_BOM) {
        Some(rest) => (encoding_rs::UTF_8, rest),
        None => match declared_encoding(bytes) {
            None => (encoding_rs::UTF_8, bytes),
            Some(label) => match Encoding::for_label(label) {
                // The declaration was found by reading ASCII, so only ASCII-compatible
                // encodings can be what it says (not UTF-16 without a BOM).
                Some(encoding) if encoding.is_ascii_compatible() => (encoding, bytes),
                _ => {
                    let label = String::from_utf8_lossy(label);
                    return Err(Failure::new(
                        1,
                        "bad_encoding",
                        format!("the encoding \"{label}\" is not supported"),
                        format!("кодировка «{label}» не поддерживается"),
                    ));
                }
            },
        },
    };
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(body.len())
        .unwrap_or(body.len().saturating_mul(3));
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(body, &mut text, true);
    match result {
        DecoderResult::InputEmpty => Ok(text),
        DecoderResult::Malformed(bad, unread) => {
            let at = read.saturating_sub(usize::from(bad) + usize::from(unread));
            let line = line_at(body, at);
            let name = encoding.name();
            Err(Failure::new(
                line,
                "bad_encoding",
                format!("the file has bytes that are not {name}"),
                format!("в файле есть байты, недопустимые в кодировке {name}"),
            ))
        }
        // The buffer was sized for the worst case, so this cannot happen; refuse rather
        // than return a cut text.
        DecoderResult::OutputFull => Err(Failure::new(
            line_at(body, read),
            "bad_encoding",
            "the file could not be decoded".to_owned(),
            "файл не удалось декодировать".to_owned(),
        )),
    }
}

/// The `encoding` of a leading `<?xml ...?>` declaration, as written.
fn declared_encoding(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(b"<?xml")?;
    let end = rest.windows(2).take(1024).position(|w| w == b"?>")?;
    let decl = &rest[..end];
    let at = decl.windows(8).position(|w| w == b"encoding")?;
    let after = decl[at + 8..].trim_ascii_start().strip_prefix(b"=")?;
    let after = after.trim_ascii_start();
    let quote = *after.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = &after[1..];
    let close = value.iter().position(|&b| b == quote)?;
    Some(&value[..close])
}

fn line_at(bytes: &[u8], at: usize) -> u64 {
    let upto = &bytes[..at.min(bytes.len())];
    1 + upto.iter().filter(|&&b| b == b'\n').count() as u64
}

// ---- reading ----

/// What an open element is to the reader. The kind depends on the parent, so `Ид` of a
/// `Товар` is told from `Ид` of its `Изготовитель` without keeping names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tag {
    Root,
    Classifier,
    Properties,
    Property,
    PropertyId,
    PropertyName,
    Variants,
    Variant,
    VariantId,
    VariantValue,
    Catalog,
    Goods,
    OfferPack,
    OfferList,
    OnlyChanges,
    Item,
    ItemId,
    ItemName,
    ItemBarcode,
    ItemUnit,
    Requisites,
    Requisite,
    RequisiteName,
    RequisiteValue,
    PropValues,
    PropValue,
    PropValueId,
    PropValueValue,
    /// Anything else, and everything inside it.
    Other,
}

impl Tag {
    fn child(parent: Option<Tag>, name: &str) -> Tag {
        let is = |n: &str| name == n;
        match parent {
            None if is("КоммерческаяИнформация") => Tag::Root,
            Some(Tag::Root) if is("Классификатор") => Tag::Classifier,
            Some(Tag::Root) if is("Каталог") => Tag::Catalog,
            Some(Tag::Root) if is("ПакетПредложений") => Tag::OfferPack,
            Some(Tag::Classifier) if is("Свойства") => Tag::Properties,
            Some(Tag::Properties) if is("Свойство") => Tag::Property,
            Some(Tag::Property) if is("Ид") => Tag::PropertyId,
            Some(Tag::Property) if is("Наименование") => Tag::PropertyName,
            Some(Tag::Property) if is("ВариантыЗначений") => Tag::Variants,
            Some(Tag::Variants) if is("Справочник") => Tag::Variant,
            Some(Tag::Variant) if is("ИдЗначения") => Tag::VariantId,
            Some(Tag::Variant) if is("Значение") => Tag::VariantValue,
            // Schemas before 2.05 wrote the flag as an element, later ones as an attribute.
            Some(Tag::Catalog | Tag::OfferPack) if is("СодержитТолькоИзменения") => {
                Tag::OnlyChanges
            }
            Some(Tag::Catalog) if is("Товары") => Tag::Goods,
            Some(Tag::OfferPack) if is("Предложения") => Tag::OfferList,
            Some(Tag::Goods) if is("Товар") => Tag::Item,
            Some(Tag::OfferList) if is("Предложение") => Tag::Item,
            Some(Tag::Item) if is("Ид") => Tag::ItemId,
            Some(Tag::Item) if is("Наименование") => Tag::ItemName,
            Some(Tag::Item) if is("Штрихкод") => Tag::ItemBarcode,
            Some(Tag::Item) if is("БазоваяЕдиница") => Tag::ItemUnit,
            Some(Tag::Item) if is("ЗначенияРеквизитов") => Tag::Requisites,
            Some(Tag::Item) if is("ЗначенияСвойств") => Tag::PropValues,
            Some(Tag::Requisites) if is("ЗначениеРеквизита") => Tag::Requisite,
            Some(Tag::Requisite) if is("Наименование") => Tag::RequisiteName,
            Some(Tag::Requisite) if is("Значение") => Tag::RequisiteValue,
            Some(Tag::PropValues) if is("ЗначенияСвойства") => Tag::PropValue,
            Some(Tag::PropValue) if is("Ид") => Tag::PropValueId,
            Some(Tag::PropValue) if is("Значение") => Tag::PropValueValue,
            _ => Tag::Other,
        }
    }

    /// Elements whose text the reader keeps.
    fn has_text(self) -> bool {
        matches!(
            self,
            Tag::PropertyId
                | Tag::PropertyName
                | Tag::VariantId
                | Tag::VariantValue
                | Tag::OnlyChanges
                | Tag::ItemId
                | Tag::ItemName
                | Tag::ItemBarcode
                | Tag::ItemUnit
                | Tag::RequisiteName
                | Tag::RequisiteValue
                | Tag::PropValueId
                | Tag::PropValueValue
        )
    }
}

/// A classifier property: its name and, for a reference property, its values by id.
#[derive(Default)]
struct Property {
    name: String,
    variants: HashMap<String, String>,
}

/// The item being read; its parts are judged at its end, when its `Ид` is known.
#[derive(Default)]
struct ItemState {
    line: u64,
    id: String,
    name: String,
    unit_attr: Option<String>,
    unit_text: String,
    /// Barcodes as written, with their lines.
    barcodes: Vec<(String, u64)>,
    /// Marking group values as written, with their lines.
    groups: Vec<(String, u64)>,
}

struct State {
    /// Lowercased `group_fields`, compared with lowercased names.
    group_fields: Vec<String>,
    /// Every product group's folded Russian name, folded once per file rather than per item.
    group_names: Vec<(String, ProductGroup)>,
    stack: Vec<Tag>,
    text: String,
    only_changes: bool,
    saw_catalog: bool,
    properties: HashMap<String, Property>,
    property_id: String,
    property: Property,
    variant_id: String,
    variant_value: String,
    item: ItemState,
    requisite_name: String,
    requisite_value: String,
    requisite_line: u64,
    prop_id: String,
    prop_value: String,
    prop_line: u64,
    items: Vec<CatalogItem>,
    failures: Vec<Failure>,
}

/// Reads an import.xml or offers.xml (the text [`decode`] gives). Every failure of the file is
/// returned, not only the first; a file with any failure yields no catalog, so a half-read
/// exchange never replaces the hub's catalog.
pub fn read_catalog(text: &str, options: &ReadOptions) -> Result<Catalog, Vec<Failure>> {
    let mut state = State {
        group_fields: options.group_fields.iter().map(|f| fold(f)).collect(),
        group_names: ProductGroup::ALL
            .iter()
            .map(|&group| (fold(group.name_ru()), group))
            .collect(),
        stack: Vec::with_capacity(16),
        text: String::new(),
        only_changes: false,
        saw_catalog: false,
        properties: HashMap::new(),
        property_id: String::new(),
        property: Property::default(),
        variant_id: String::new(),
        variant_value: String::new(),
        item: ItemState::default(),
        requisite_name: String::new(),
        requisite_value: String::new(),
        requisite_line: 0,
        prop_id: String::new(),
        prop_value: String::new(),
        prop_line: 0,
        items: Vec::new(),
        failures: Vec::new(),
    };
    let bytes = text.as_bytes();
    let mut reader = Reader::from_str(text);
    let mut line: u64 = 1;
    let mut counted: usize = 0;
    let mut saw_root = false;
    loop {
        // The line an event starts on: whitespace between elements is its own event, so the
        // position before reading is the `<` of the next element.
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        line += count_lines(bytes, counted, at);
        counted = at.min(bytes.len()).max(counted);
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
                let line = line + count_lines(bytes, counted, at);
                state.failures.push(not_xml(line, &error.to_string()));
                return Err(state.failures);
            }
        };
        match event {
            Event::Start(element) => {
                let tag = state.open(&element, line);
                if tag == Tag::Root {
                    saw_root = true;
                } else if state.stack.is_empty() && !saw_root {
                    state.failures.push(not_commerceml(line, &element));
                    return Err(state.failures);
                }
                state.stack.push(tag);
            }
            Event::Empty(element) => {
                let tag = state.open(&element, line);
                if tag == Tag::Root {
                    saw_root = true;
                } else if state.stack.is_empty() && !saw_root {
                    state.failures.push(not_commerceml(line, &element));
                    return Err(state.failures);
                }
                state.stack.push(tag);
                state.close();
            }
            Event::End(_) => state.close(),
            Event::Text(text) => {
                if state.capturing() {
                    state.text.push_str(&text.xml10_content());
                }
            }
            Event::CData(data) => {
                if state.capturing() {
                    state.text.push_str(&data.xml10_content());
                }
            }
            Event::GeneralRef(reference) => match resolve(&reference) {
                Some(c) => {
                    if state.capturing() {
                        state.text.push(c);
                    }
                }
                None => {
                    let name = reference.into_inner();
                    state
                        .failures
                        .push(not_xml(line, &format!("unknown entity &{name};")));
                    return Err(state.failures);
                }
            },
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !state.stack.is_empty() {
        state
            .failures
            .push(not_xml(line, "the file ends inside an element"));
        return Err(state.failures);
    }
    if !saw_root {
        state
            .failures
            .push(not_xml(line, "the file has no root element"));
        return Err(state.failures);
    }
    if !state.saw_catalog {
        state.failures.push(Failure::new(
            1,
            "empty_exchange_file",
            "the file has neither a catalog (Каталог) nor offers (ПакетПредложений)".to_owned(),
            "в файле нет ни каталога (Каталог), ни пакета предложений (ПакетПредложений)"
                .to_owned(),
        ));
    }
    if state.failures.is_empty() {
        Ok(Catalog {
            only_changes: state.only_changes,
            items: state.items,
        })
    } else {
        Err(state.failures)
    }
}

pub(super) fn count_lines(bytes: &[u8], from: usize, to: usize) -> u64 {
    let to = to.min(bytes.len());
    if to <= from {
        return 0;
    }
    bytes[from..to].iter().filter(|&&b| b == b'\n').count() as u64
}

/// `&amp;` and the other four entities XML predefines, and character references; 1C uses no
/// others (its files have no DTD).
pub(super) fn resolve(reference: &BytesRef<'_>) -> Option<char> {
    if reference.is_char_ref() {
        return reference.resolve_char_ref().ok().flatten();
    }
    match reference.xml10_content().as_ref() {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

pub(super) fn not_xml(line: u64, detail: &str) -> Failure {
    Failure::new(
        line,
        "not_xml",
        format!("the file is not well-formed XML: {detail}"),
        format!("файл не является корректным XML: {detail}"),
    )
}

pub(super) fn not_commerceml(line: u64, element: &BytesStart<'_>) -> Failure {
    let name = element.local_name().as_ref().to_owned();
    Failure::new(
        line,
        "not_commerceml",
        format!("the root element is <{name}>, not <КоммерческаяИнформация>"),
        format!("корневой элемент <{name}>, а не <КоммерческаяИнформация>"),
    )
}

/// Case folded, `ё` as `е` (1C's own names write both), outer spaces dropped.
pub(super) fn fold(text: &str) -> String {
    text.trim().to_lowercase().replace('ё', "е")
}

pub(super) fn is_true(text: &str) -> bool {
    matches!(fold(text).as_str(), "true" | "1" | "истина")
}

impl State {
    fn capturing(&self) -> bool {
        self.stack.last().is_some_and(|tag| tag.has_text())
    }

    fn open(&mut self, element: &BytesStart<'_>, line: u64) -> Tag {
        let tag = Tag::child(self.stack.last().copied(), element.local_name().as_ref());
        if tag.has_text() {
            self.text.clear();
        }
        match tag {
            Tag::Catalog | Tag::OfferPack => {
                self.saw_catalog = true;
                if let Some(value) = attribute(element, "СодержитТолькоИзменения")
                {
                    self.only_changes |= is_true(&value);
                }
            }
            Tag::Property => {
                self.property_id.clear();
                self.property = Property::default();
            }
            Tag::Variant => {
                self.variant_id.clear();
                self.variant_value.clear();
            }
            Tag::Item => {
                self.item = ItemState {
                    line,
                    ..ItemState::default()
                };
            }
            Tag::ItemBarcode => self.item.barcodes.push((String::new(), line)),
            Tag::ItemUnit => {
                if let Some(full) = attribute(element, "НаименованиеПолное") {
                    let full = full.trim();
                    if !full.is_empty() {
                        self.item.unit_attr = Some(full.to_owned());
                    }
                }
            }
            Tag::Requisite => {
                self.requisite_name.clear();
                self.requisite_value.clear();
                self.requisite_line = line;
            }
            Tag::PropValue => {
                self.prop_id.clear();
                self.prop_value.clear();
                self.prop_line = line;
            }
            _ => {}
        }
        tag
    }

    fn close(&mut self) {
        let Some(tag) = self.stack.pop() else {
            return;
        };
        let text = if tag.has_text() {
            std::mem::take(&mut self.text)
        } else {
            String::new()
        };
        match tag {
            Tag::OnlyChanges => self.only_changes |= is_true(&text),
            Tag::PropertyId => self.property_id = text.trim().to_owned(),
            Tag::PropertyName => self.property.name = text.trim().to_owned(),
            Tag::VariantId => self.variant_id = text.trim().to_owned(),
            Tag::VariantValue => self.variant_value = text.trim().to_owned(),
            Tag::Variant if !self.variant_id.is_empty() => {
                self.property.variants.insert(
                    std::mem::take(&mut self.variant_id),
                    std::mem::take(&mut self.variant_value),
                );
            }
            Tag::Property if !self.property_id.is_empty() => {
                self.properties.insert(
                    std::mem::take(&mut self.property_id),
                    std::mem::take(&mut self.property),
                );
            }
            Tag::ItemId => self.item.id = text.trim().to_owned(),
            Tag::ItemName => self.item.name = text.trim().to_owned(),
            Tag::ItemUnit => self.item.unit_text = text.trim().to_owned(),
            Tag::ItemBarcode => {
                if let Some(last) = self.item.barcodes.last_mut() {
                    last.0 = text;
                }
            }
            Tag::RequisiteName => self.requisite_name = text,
            Tag::RequisiteValue => self.requisite_value = text,
            Tag::Requisite => {
                let name = fold(&self.requisite_name);
                let value = std::mem::take(&mut self.requisite_value);
                if name == "штрихкод" {
                    self.item.barcodes.push((value, self.requisite_line));
                } else if self.group_fields.contains(&name) {
                    self.item.groups.push((value, self.requisite_line));
                }
            }
            Tag::PropValueId => self.prop_id = text.trim().to_owned(),
            Tag::PropValueValue => self.prop_value = text,
            Tag::PropValue => self.property_value(),
            Tag::Item => self.finish_item(),
            _ => {}
        }
    }

    /// A property value of the item: through the classifier to its name and, for a reference
    /// property, from the value's id to the value. Properties the file's classifier does not
    /// define (an offers.xml names those of the import.xml before it) are not resolved.
    fn property_value(&mut self) {
        let Some(property) = self.properties.get(&self.prop_id) else {
            return;
        };
        let name = fold(&property.name);
        let raw = std::mem::take(&mut self.prop_value);
        let value = property.variants.get(raw.trim()).cloned().unwrap_or(raw);
        if name == "штрихкод" {
            self.item.barcodes.push((value, self.prop_line));
        } else if self.group_fields.contains(&name) {
            self.item.groups.push((value, self.prop_line));
        }
    }

    fn finish_item(&mut self) {
        let item = std::mem::take(&mut self.item);
        let id = item.id;
        if id.is_empty() {
            self.failures.push(Failure::new(
                item.line,
                "missing_id",
                "an item has no Ид".to_owned(),
                "у товара нет Ид".to_owned(),
            ));
        }
        if item.name.is_empty() {
            self.failures.push(Failure::new(
                item.line,
                "empty_name",
                format!("the item {id} has no name (Наименование)"),
                format!("у товара {id} нет наименования (Наименование)"),
            ));
        }
        let mut gtins: Vec<Gtin> = Vec::with_capacity(item.barcodes.len());
        for (barcode, line) in &item.barcodes {
            let barcode = barcode.trim();
            if barcode.is_empty() {
                continue;
            }
            match Gtin::from_digits(barcode.as_bytes()) {
                Some(gtin) => {
                    if !gtins.contains(&gtin) {
                        gtins.push(gtin);
                    }
                }
                None => self.failures.push(bad_barcode(*line, &id, barcode)),
            }
        }
        let mut product_group = None;
        for (value, line) in &item.groups {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match group_of(value, &self.group_names) {
                Some(group) => {
                    if product_group.is_none() {
                        product_group = Some(group);
                    }
                }
                None => self.failures.push(Failure::new(
                    *line,
                    "unknown_marking_group",
                    format!("the item {id} has the marking group \"{value}\", which GIS MT does not know"),
                    format!("у товара {id} товарная группа «{value}», которой нет в ГИС МТ"),
                )),
            }
        }
        let unit = item
            .unit_attr
            .or_else(|| (!item.unit_text.is_empty()).then_some(item.unit_text));
        // A refused file returns no catalog, so its items are not kept.
        if self.failures.is_empty() {
            self.items.push(CatalogItem {
                id,
                gtins,
                name: item.name,
                unit,
                product_group,
            });
        }
    }
}

pub(super) fn bad_barcode(line: u64, id: &str, barcode: &str) -> Failure {
    let why_en;
    let why_ru;
    if !barcode.bytes().all(|b| b.is_ascii_digit()) {
        why_en = "has characters other than digits";
        why_ru = "содержит не только цифры";
    } else if matches!(barcode.len(), 8 | 12 | 13 | 14) {
        why_en = "has a wrong check digit";
        why_ru = "имеет неверную контрольную цифру";
    } else {
        why_en = "is not 8, 12, 13 or 14 digits long";
        why_ru = "не из 8, 12, 13 или 14 цифр";
    }
    Failure::new(
        line,
        "bad_barcode",
        format!("the barcode \"{barcode}\" of the item {id} {why_en}"),
        format!("штрихкод «{barcode}» товара {id} {why_ru}"),
    )
}

/// A product group by its code, id or Russian name (`names`: the folded names).
fn group_of(value: &str, names: &[(String, ProductGroup)]) -> Option<ProductGroup> {
    let folded = fold(value);
    if let Ok(id) = folded.parse::<u8>() {
        return ProductGroup::from_id(id);
    }
    names
        .iter()
        .find(|(name, group)| group.code() == folded || *name == folded)
        .map(|&(_, group)| group)
}

pub(super) fn attribute(element: &BytesStart<'_>, name: &str) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|attr| attr.key.local_name().as_ref() == name)
        .and_then(|attr| {
            attr.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

// ---- hub catalog lines ----

/// The hub's catalog lines (`{"gtin", "name", "productGroupId"?, "unit"?}`, what
/// `tally_wire::feed::parse_catalog` reads): one per GTIN, so an item with two barcodes is two
/// lines and an item without one is none.
pub fn catalog_lines(catalog: &Catalog) -> Vec<Value> {
    let mut lines = Vec::with_capacity(catalog.items.len());
    for item in &catalog.items {
        for gtin in &item.gtins {
            let mut line = Map::new();
            line.insert("gtin".to_owned(), Value::String(gtin.to_string()));
            line.insert("name".to_owned(), Value::String(item.name.clone()));
            if let Some(group) = item.product_group {
                line.insert("productGroupId".to_owned(), Value::from(group.id()));
            }
            if let Some(unit) = &item.unit {
                line.insert("unit".to_owned(), Value::String(unit.clone()));
            }
            lines.push(Value::Object(line));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/commerceml/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    fn read(name: &str) -> Result<Catalog, Vec<Failure>> {
        read_catalog(&decode(&fixture(name)).unwrap(), &ReadOptions::default())
    }

    fn gtin(digits: &str) -> Gtin {
        Gtin::from_digits(digits.as_bytes()).unwrap()
    }

    #[test]
    fn import_reads_items_gtins_units_and_groups() {
        let catalog = read("import.xml").unwrap();
        assert!(!catalog.only_changes);
        assert_eq!(catalog.items.len(), 4);

        let milk = &catalog.items[0];
        assert_eq!(milk.id, "0f3a1b2c-2a3b-11e9-80d6-0050569e2b01");
        // Not the manufacturer's or the tax's Наименование, which come later in the item.
        assert_eq!(milk.name, "Молоко пастеризованное 3,2% 930 мл");
        // The EAN-13 as GIS MT writes it: 14 digits, a leading zero.
        assert_eq!(milk.gtins, vec![gtin("04600840749372")]);
        assert_eq!(milk.gtins[0].to_string(), "04600840749372");
        assert_eq!(milk.unit.as_deref(), Some("Штука"));
        // By requisite, by the group's Russian name.
        assert_eq!(milk.product_group, Some(ProductGroup::Milk));

        let kefir = &catalog.items[1];
        assert_eq!(kefir.name, "Кефир \"Домик в деревне\" 2,5% 900 г");
        // An EAN-8 padded to 14; the GTIN-14 and its EAN-13 spelling are one GTIN.
        assert_eq!(
            kefir.gtins,
            vec![gtin("00000096385074"), gtin("04612345678903")]
        );
        // By a reference property: the value's id through the classifier's variants.
        assert_eq!(kefir.product_group, Some(ProductGroup::Milk));

        let bag = &catalog.items[2];
        assert!(bag.gtins.is_empty());
        assert_eq!(bag.unit.as_deref(), Some("шт"));
        assert_eq!(bag.product_group, None);

        let water = &catalog.items[3];
        // The barcode and the group (by code, in another case) as requisites.
        assert_eq!(water.gtins, vec![gtin("4605550001116")]);
        assert_eq!(water.product_group, Some(ProductGroup::Water));
    }

    #[test]
    fn windows_1251_reads_as_the_utf8_file() {
        let bytes = fixture("import-cp1251.xml");
        // The fixture really is single-byte Cyrillic, not UTF-8.
        assert!(std::str::from_utf8(&bytes).is_err());
        assert_eq!(
            read("import-cp1251.xml").unwrap(),
            read("import.xml").unwrap()
        );
    }

    #[test]
    fn offers_read_with_only_changes() {
        let catalog = read("offers.xml").unwrap();
        assert!(catalog.only_changes);
        let ids: Vec<&str> = catalog.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "0f3a1b2c-2a3b-11e9-80d6-0050569e2b05#5d1c2b3a-2a3b-11e9-80d6-0050569e2d01",
                "0f3a1b2c-2a3b-11e9-80d6-0050569e2b05#5d1c2b3a-2a3b-11e9-80d6-0050569e2d02",
            ]
        );
        assert_eq!(catalog.items[0].gtins, vec![gtin("04601234567893")]);
        assert_eq!(catalog.items[0].unit.as_deref(), Some("Пара (2 шт.)"));
        // By code and by id.
        assert_eq!(catalog.items[0].product_group, Some(ProductGroup::Shoes));
        assert_eq!(catalog.items[1].product_group, Some(ProductGroup::Shoes));
    }

    #[test]
    fn unknown_elements_are_skipped() {
        let catalog = read("unknown-elements.xml").unwrap();
        assert_eq!(catalog.items.len(), 1);
        let item = &catalog.items[0];
        assert_eq!(item.id, "0f3a1b2c-2a3b-11e9-80d6-0050569e2b01");
        assert_eq!(item.name, "Молоко \"Простоквашино\" 3,2%");
        // Not the characteristic's 12345, nor the extension's elements.
        assert_eq!(item.gtins, vec![gtin("04600840749372")]);
        // An empty group value is no group, not an unknown one.
        assert_eq!(item.product_group, None);
        assert_eq!(item.unit, None);
    }

    #[test]
    fn every_bad_barcode_is_reported_with_its_line() {
        let failures = read("bad-check-digit.xml").unwrap_err();
        let found: Vec<(u64, &str)> = failures.iter().map(|f| (f.line, f.code)).collect();
        assert_eq!(
            found,
            [
                (9, "bad_barcode"),
                (19, "bad_barcode"),
                (20, "bad_barcode"),
                (21, "bad_barcode")
            ]
        );
        let first = &failures[0];
        assert!(first.en.contains("4600840749373"), "{}", first.en);
        assert!(first.en.contains("0f3a1b2c-2a3b-11e9-80d6-0050569e2b01"));
        assert!(first.en.contains("check digit"));
        assert!(first.ru.contains("контрольную цифру"), "{}", first.ru);
        assert!(first.ru.contains("0f3a1b2c-2a3b-11e9-80d6-0050569e2b01"));
        assert!(failures[1].en.contains("other than digits"));
        assert!(failures[3].ru.contains("не из 8, 12, 13 или 14 цифр"));
    }

    #[test]
    fn an_unknown_marking_group_is_named() {
        let failures = read("unknown-group.xml").unwrap_err();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].code, "unknown_marking_group");
        assert_eq!(failures[0].line, 11);
        assert!(failures[0].en.contains("\"Космические корабли\""));
        assert!(failures[0].ru.contains("«Космические корабли»"));
        assert!(
            failures[0]
                .ru
                .contains("0f3a1b2c-2a3b-11e9-80d6-0050569e2b06")
        );
    }

    #[test]
    fn groups_match_by_code_id_or_russian_name() {
        let names: Vec<(String, ProductGroup)> = ProductGroup::ALL
            .iter()
            .map(|&group| (fold(group.name_ru()), group))
            .collect();
        let of = |value: &str| group_of(value, &names);
        assert_eq!(of("MILK"), Some(ProductGroup::Milk));
        assert_eq!(of(" 8 "), Some(ProductGroup::Milk));
        // 1C writes "легкой" where GIS MT writes "лёгкой".
        assert_eq!(
            of("ТОВАРЫ ЛЕГКОЙ ПРОМЫШЛЕННОСТИ"),
            Some(ProductGroup::LightIndustry)
        );
        assert_eq!(of("18"), None);
        assert_eq!(of("Dairy"), None);
    }

    #[test]
    fn group_fields_are_the_callers() {
        let text = decode(&fixture("unknown-group.xml")).unwrap();
        let options = ReadOptions {
            group_fields: vec!["ДругоеПоле".to_owned()],
        };
        let catalog = read_catalog(&text, &options).unwrap();
        assert_eq!(catalog.items[0].product_group, None);
    }

    #[test]
    fn broken_xml_is_not_xml_at_its_line() {
        let failures = read("broken.xml").unwrap_err();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].code, "not_xml");
        assert_eq!(failures[0].line, 14);
        assert!(
            failures[0]
                .ru
                .starts_with("файл не является корректным XML")
        );
    }

    #[test]
    fn a_file_without_goods_or_offers_is_empty() {
        let failures = read("empty.xml").unwrap_err();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].code, "empty_exchange_file");
        assert!(failures[0].ru.contains("ПакетПредложений"));
    }

    #[test]
    fn other_roots_and_cut_files_are_refused() {
        let options = ReadOptions::default();
        let other = read_catalog("<?xml version=\"1.0\"?>\n<Документ/>", &options).unwrap_err();
        assert_eq!((other[0].line, other[0].code), (2, "not_commerceml"));
        assert!(other[0].en.contains("<Документ>"));
        let cut = read_catalog("<КоммерческаяИнформация>\n<Каталог>", &options).unwrap_err();
        assert_eq!(cut[0].code, "not_xml");
        assert_eq!(read_catalog("", &options).unwrap_err()[0].code, "not_xml");
        let entity = "<КоммерческаяИнформация><Каталог><Товары><Товар><Наименование>&nbsp;";
        assert_eq!(
            read_catalog(entity, &options).unwrap_err()[0].code,
            "not_xml"
        );
    }

    #[test]
    fn the_old_only_changes_element_is_read() {
        let text = "<КоммерческаяИнформация><Каталог>\
            <СодержитТолькоИзменения>true</СодержитТолькоИзменения><Товары/></Каталог>\
            </КоммерческаяИнформация>";
        let catalog = read_catalog(text, &ReadOptions::default()).unwrap();
        assert!(catalog.only_changes);
        assert!(catalog.items.is_empty());
    }

    #[test]
    fn decode_refuses_bytes_the_encoding_does_not_have() {
        // Windows-1251 bytes in a file that says nothing, so is UTF-8.
        let bytes = b"<?xml version=\"1.0\"?>\n<\xcc\xee\xeb\xee\xea\xee/>";
        let failure = decode(bytes).unwrap_err();
        assert_eq!((failure.line, failure.code), (2, "bad_encoding"));
        assert!(failure.en.contains("UTF-8"));
        let failure = decode(b"<?xml version='1.0' encoding='koi-9'?><a/>").unwrap_err();
        assert_eq!(failure.code, "bad_encoding");
        assert!(failure.ru.contains("koi-9"));
        // The declaration's name in any case; a BOM outranks it.
        let text = decode(b"<?xml version=\"1.0\" encoding=\"WINDOWS-1251\"?><\xc0/>").unwrap();
        assert!(text.ends_with("<А/>"));
        let text = decode("\u{feff}<?xml encoding=\"windows-1251\"?><А/>".as_bytes()).unwrap();
        assert!(text.ends_with("<А/>") && !text.starts_with('\u{feff}'));
    }

    #[test]
    fn catalog_lines_pass_the_hubs_parser() {
        let catalog = read("import.xml").unwrap();
        let lines = catalog_lines(&catalog);
        // Four GTINs of three items; the bag without a barcode has no line.
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            serde_json::json!({
                "gtin": "04600840749372",
                "name": "Молоко пастеризованное 3,2% 930 мл",
                "productGroupId": 8,
                "unit": "Штука",
            })
        );
        for line in &lines {
            let bytes = serde_json::to_vec(line).unwrap();
            let record = tally_wire::feed::parse_catalog(&bytes).unwrap();
            assert_eq!(record.gtin.to_string(), line["gtin"]);
        }
        let water = tally_wire::feed::parse_catalog(&serde_json::to_vec(&lines[3]).unwrap());
        assert_eq!(water.unwrap().product_group, Some(ProductGroup::Water));
    }

    #[test]
    fn a_large_catalog_reads_every_item() {
        let mut text = String::from("<КоммерческаяИнформация><Каталог><Товары>\n");
        for n in 0..20_000u64 {
            let body = format!("{:012}", 460_000_000_000u64 + n);
            let check = tally_domain::gs1::check_digit(body.as_bytes());
            text.push_str(&format!(
                "<Товар><Ид>{n}</Ид><Наименование>Товар {n}</Наименование>\
                 <Штрихкод>{body}{check}</Штрихкод></Товар>\n"
            ));
        }
        text.push_str("</Товары></Каталог></КоммерческаяИнформация>\n");
        let catalog = read_catalog(&text, &ReadOptions::default()).unwrap();
        assert_eq!(catalog.items.len(), 20_000);
        assert_eq!(catalog.items[19_999].id, "19999");
        assert_eq!(catalog_lines(&catalog).len(), 20_000);
    }
}
