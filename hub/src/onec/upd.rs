//! The marking codes of a shipment's outgoing UPD, line by line, for the EDI operator.
//!
//! A UPD (ФНС format 5.03) that carries marked goods names them in each goods line's
//! `СвТов/ДопСведТов/НомСредИдентТов`: the units' codes as `КИЗ`, boxes shipped whole as
//! `НомУпак`, and a pallet as `ИдентТрансУпак` over the boxes on it. 1C writes the UPD itself;
//! the hub knows what was scanned, so it gives 1C (or the EDI module) these elements per GTIN,
//! in the UPD's own element names and its windows-1251, to be copied into the lines with the
//! same GTIN (`ДопСведТов/@КодТов`). The root element and its attributes are the hub's.

use std::fmt::Write as _;

use super::results::{ResultDocument, escape};

/// ОКЕИ's code of "штука", the unit of marked goods.
const PIECE: &str = "796";

/// The code list of one shipment result, as a windows-1251 XML file; `None` when the result
/// is not a shipment.
pub fn code_list(result: &ResultDocument) -> Option<Vec<u8>> {
    (result.kind == "shipment").then(|| {
        let text = code_list_text(result);
        // Names outside windows-1251 become numeric character references, which XML reads
        // back as the same characters.
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
        bytes.into_owned()
    })
}

fn attribute(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, " {name}=\"");
    escape(value, out);
    out.push('"');
}

/// `YYYY-MM-DD` as the UPD writes dates, `DD.MM.YYYY`.
fn russian(date: &str) -> String {
    let mut parts = date.splitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => format!("{d}.{m}.{y}"),
        _ => date.to_owned(),
    }
}

fn code_list_text(result: &ResultDocument) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n");
    out.push_str("<КодыМаркировкиУПД");
    attribute(&mut out, "ИдОтгрузки", &result.id);
    attribute(&mut out, "НомерДок", &result.number);
    attribute(
        &mut out,
        "ДатаДок",
        &russian(result.document_date.as_deref().unwrap_or(&result.date)),
    );
    if let Some(inn) = &result.counterparty_inn {
        attribute(&mut out, "ИННПокуп", inn);
    }
    attribute(&mut out, "Склад", &result.warehouse);
    out.push_str(">\n");
    let shipped = result
        .lines
        .iter()
        .filter(|l| !l.codes.is_empty() || !l.packages.is_empty());
    for (number, line) in (1..).zip(shipped) {
        let inside: u32 = line.packages.iter().map(|p| p.units).sum();
        let quantity = u32::try_from(line.codes.len())
            .unwrap_or(u32::MAX)
            .saturating_add(inside);
        out.push_str("  <СвТов");
        attribute(&mut out, "НомСтр", &number.to_string());
        attribute(&mut out, "НаимТов", &line.name);
        attribute(&mut out, "ОКЕИ_Тов", PIECE);
        attribute(&mut out, "КолТов", &quantity.to_string());
        out.push_str(">\n    <ДопСведТов");
        attribute(&mut out, "КодТов", &line.gtin);
        out.push_str(">\n");
        if !line.codes.is_empty() {
            out.push_str("      <НомСредИдентТов>\n");
            for code in &line.codes {
                element(&mut out, "КИЗ", code);
            }
            out.push_str("      </НомСредИдентТов>\n");
        }
        let boxes: Vec<&str> = line
            .packages
            .iter()
            .filter(|p| p.boxes.is_empty())
            .map(|p| p.sscc.as_str())
            .collect();
        if !boxes.is_empty() {
            out.push_str("      <НомСредИдентТов>\n");
            for sscc in boxes {
                element(&mut out, "НомУпак", sscc);
            }
            out.push_str("      </НомСредИдентТов>\n");
        }
        for pallet in line.packages.iter().filter(|p| !p.boxes.is_empty()) {
            out.push_str("      <НомСредИдентТов");
            attribute(&mut out, "ИдентТрансУпак", &pallet.sscc);
            out.push_str(">\n");
            for sscc in &pallet.boxes {
                element(&mut out, "НомУпак", sscc);
            }
            out.push_str("      </НомСредИдентТов>\n");
        }
        out.push_str("    </ДопСведТов>\n  </СвТов>\n");
    }
    out.push_str("</КодыМаркировкиУПД>\n");
    out
}

fn element(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, "        <{name}>");
    escape(value, out);
    let _ = writeln!(out, "</{name}>");
}

#[cfg(test)]
mod tests {
    use quick_xml::events::Event;
    use quick_xml::{Reader, XmlVersion};

    use super::*;
    use crate::onec::commerceml::resolve;
    use crate::onec::results::{LinePackage, ResultLine};

    fn line(gtin: &str, name: &str, codes: &[&str], packages: Vec<LinePackage>) -> ResultLine {
        ResultLine {
            gtin: gtin.into(),
            reference: None,
            name: name.into(),
            expected: None,
            quantity: 0,
            over: 0,
            short: 0,
            codes: codes.iter().map(|c| (*c).to_owned()).collect(),
            packages,
        }
    }

    fn shipment(lines: Vec<ResultLine>) -> ResultDocument {
        ResultDocument {
            id: "5f0c1a2e-0000-4000-8000-000000000001".into(),
            cursor: 7,
            kind: "shipment".into(),
            number: "УПД-17".into(),
            task_id: None,
            order_id: None,
            warehouse: "main".into(),
            device: "tsd-1".into(),
            operator: "Иванова".into(),
            finished_at: 0,
            date: "2026-12-02".into(),
            time: "10:00:00".into(),
            document_date: Some("2026-12-01".into()),
            counterparty_inn: Some("7707083893".into()),
            reason: None,
            reason_ru: None,
            lines,
            surplus: Vec::new(),
            missing: Vec::new(),
            rejected: Vec::new(),
            labels: Vec::new(),
            remarked: Vec::new(),
            gismt: Vec::new(),
        }
    }

    /// The file read back: each element's path (names joined by `/`) with its attributes,
    /// and each text with the path it sits in.
    fn read(bytes: &[u8]) -> Vec<String> {
        let (text, _, malformed) = encoding_rs::WINDOWS_1251.decode(bytes);
        assert!(!malformed);
        let mut reader = Reader::from_str(&text);
        let mut path: Vec<String> = Vec::new();
        let mut seen = Vec::new();
        let mut content = String::new();
        let flush = |content: &mut String, path: &[String], seen: &mut Vec<String>| {
            if !content.trim().is_empty() {
                seen.push(format!("{} = {}", path.join("/"), content));
            }
            content.clear();
        };
        loop {
            match reader.read_event().unwrap() {
                Event::Start(e) => {
                    flush(&mut content, &path, &mut seen);
                    path.push(e.local_name().as_ref().to_owned());
                    let mut attrs: Vec<String> = e
                        .attributes()
                        .map(|a| {
                            let a = a.unwrap();
                            format!(
                                "{}={}",
                                a.key.local_name().as_ref(),
                                a.normalized_value(XmlVersion::Implicit1_0).unwrap()
                            )
                        })
                        .collect();
                    attrs.sort();
                    seen.push(format!("{} [{}]", path.join("/"), attrs.join(" ")));
                }
                Event::End(_) => {
                    flush(&mut content, &path, &mut seen);
                    path.pop();
                }
                Event::Text(t) => content.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => content.push(resolve(&r).unwrap()),
                Event::Eof => break,
                _ => {}
            }
        }
        seen
    }

    #[test]
    fn units_boxes_and_a_pallet_each_go_where_the_upd_wants_them() {
        let result = shipment(vec![
            line(
                "04607012345678",
                "Кроссовки <беговые> & «лёгкие»",
                &["0104607012345678215&<x\"", "010460701234567821abc"],
                vec![LinePackage {
                    sscc: "146900000000000017".into(),
                    boxes: Vec::new(),
                    units: 10,
                }],
            ),
            line(
                "04607012345685",
                "Носки 😀",
                &[],
                vec![LinePackage {
                    sscc: "346900000000000028".into(),
                    boxes: vec!["146900000000000024".into(), "146900000000000031".into()],
                    units: 40,
                }],
            ),
            // Ordered, not shipped: no line in the UPD.
            line("04607012345692", "Шапка", &[], Vec::new()),
        ]);
        let seen = read(&code_list(&result).unwrap());
        let root = "КодыМаркировкиУПД";
        let goods = format!("{root}/СвТов");
        let extra = format!("{goods}/ДопСведТов");
        let ids = format!("{extra}/НомСредИдентТов");
        assert_eq!(
            seen,
            vec![
                format!(
                    "{root} [ДатаДок=01.12.2026 ИННПокуп=7707083893 ИдОтгрузки={} НомерДок=УПД-17 \
                     Склад=main]",
                    result.id
                ),
                format!(
                    "{goods} [КолТов=12 НаимТов=Кроссовки <беговые> & «лёгкие» НомСтр=1 \
                     ОКЕИ_Тов=796]"
                ),
                format!("{extra} [КодТов=04607012345678]"),
                format!("{ids} []"),
                format!("{ids}/КИЗ []"),
                format!("{ids}/КИЗ = 0104607012345678215&<x\""),
                format!("{ids}/КИЗ []"),
                format!("{ids}/КИЗ = 010460701234567821abc"),
                format!("{ids} []"),
                format!("{ids}/НомУпак []"),
                format!("{ids}/НомУпак = 146900000000000017"),
                format!("{goods} [КолТов=40 НаимТов=Носки 😀 НомСтр=2 ОКЕИ_Тов=796]"),
                format!("{extra} [КодТов=04607012345685]"),
                format!("{ids} [ИдентТрансУпак=346900000000000028]"),
                format!("{ids}/НомУпак []"),
                format!("{ids}/НомУпак = 146900000000000024"),
                format!("{ids}/НомУпак []"),
                format!("{ids}/НомУпак = 146900000000000031"),
            ]
        );
    }

    #[test]
    fn the_file_is_windows_1251_and_says_so() {
        let bytes = code_list(&shipment(vec![line(
            "04607012345678",
            "Ёж",
            &["x"],
            Vec::new(),
        )]))
        .unwrap();
        assert!(bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>"));
        // "Ёж" in windows-1251 is A8 E6; in UTF-8 it would be D0 81 D0 B6.
        assert!(bytes.windows(2).any(|w| w == [0xA8, 0xE6]));
        assert!(std::str::from_utf8(&bytes).is_err());
    }

    #[test]
    fn only_a_shipment_has_a_code_list() {
        let mut result = shipment(Vec::new());
        result.kind = "acceptance".into();
        assert_eq!(code_list(&result), None);
    }
}
