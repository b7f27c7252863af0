//! `tally parse`: every input line becomes one JSON object describing the code or the reason
//! it was refused.

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::os::unix::ffi::OsStrExt;

use serde_json::{Map, Value, json};
use tally_domain::Lang;
use tally_domain::code::{GroupGuess, MarkingCode, ParseOptions, Rejection, parse, read_gs1_data};

pub fn from_args(
    codes: &[OsString],
    mut out: impl Write,
    options: &ParseOptions,
) -> std::io::Result<()> {
    for code in codes {
        let raw = code.as_bytes();
        write_line(&mut out, report(raw, &parse(raw, options), options))?;
    }
    out.flush()
}

/// Reads until end of input; line numbers start at 1 so support can point at the bad line.
pub fn from_lines(
    input: impl BufRead,
    mut out: impl Write,
    options: &ParseOptions,
) -> std::io::Result<()> {
    for (index, line) in input.split(b'\n').enumerate() {
        let raw = line?;
        let mut value = report(&raw, &parse(&raw, options), options);
        if let Value::Object(map) = &mut value {
            map.insert("line".into(), json!(index + 1));
        }
        write_line(&mut out, value)?;
    }
    out.flush()
}

fn write_line(out: &mut impl Write, value: Value) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &value)?;
    out.write_all(b"\n")
}

/// The JSON description of one scan: shared with every tool that prints scans.
/// `options` are the scanner's, for reading the elements of GS1 data that is no marking code:
/// the report says so and still shows what the scan held.
pub fn report(
    raw: &[u8],
    result: &Result<MarkingCode, Rejection>,
    options: &ParseOptions,
) -> Value {
    let mut map = Map::new();
    match std::str::from_utf8(raw) {
        Ok(text) => {
            map.insert("input".into(), json!(text));
        }
        Err(_) => {
            map.insert("input".into(), json!(String::from_utf8_lossy(raw)));
            map.insert("input_hex".into(), json!(hex(raw)));
        }
    }
    match result {
        Ok(code) => describe(code, &mut map),
        Err(rejection) => {
            map.insert("ok".into(), json!(false));
            map.insert(
                "reason".into(),
                json!({
                    "code": rejection.code(),
                    "en": rejection.message(Lang::En),
                    "ru": rejection.message(Lang::Ru),
                }),
            );
            if let Ok(data) = read_gs1_data(raw, options) {
                let elements: Map<String, Value> = data
                    .elements()
                    .map(|(ai, value)| (ai.to_string(), json!(value)))
                    .collect();
                map.insert("kind".into(), json!(data.kind().code()));
                map.insert("elements".into(), Value::Object(elements));
            }
        }
    }
    Value::Object(map)
}

fn describe(code: &MarkingCode, map: &mut Map<String, Value>) {
    let mut put = |key: &str, value: Value| {
        map.insert(key.into(), value);
    };
    put("ok", json!(true));
    put("kind", json!(code.kind().code()));
    put("canonical", json!(code.canonical()));
    put("ki", json!(code.cis()));
    put("gtin", json!(code.gtin().map(|g| g.to_string())));
    put("serial", json!(code.serial()));
    put("sscc", json!(code.sscc().map(|s| s.to_string())));
    let elements: Map<String, Value> = code
        .elements()
        .map(|(ai, value)| (ai.to_string(), json!(value)))
        .collect();
    put("elements", Value::Object(elements));
    let (group, candidates) = match code.product_group() {
        GroupGuess::Known(pg) => (
            json!({"id": pg.id(), "code": pg.code()}),
            json!([pg.code()]),
        ),
        GroupGuess::OneOf(all) => (
            Value::Null,
            json!(all.iter().map(|pg| pg.code()).collect::<Vec<_>>()),
        ),
        GroupGuess::Unknown => (Value::Null, json!([])),
    };
    put("product_group", group);
    put("product_group_candidates", candidates);
    let v = code.verification();
    put(
        "crypto",
        json!({"key": v.key, "signature": v.signature, "tail": v.tail}),
    );
    put("max_retail_price_kopecks", json!(code.max_retail_price()));
    put("expiry", json!(code.expiry().map(|d| d.to_string())));
    put(
        "serial_country_hint",
        json!(code.serial_country_hint().map(|c| c.code())),
    );
    put(
        "symbology",
        json!(
            code.symbology()
                .map(|s| json!({"aim": s.to_string(), "name": s.name()}))
        ),
    );
    let repairs = code.repairs();
    put("recovered", json!(repairs.recovered()));
    put(
        "recovered_flags",
        json!({"gs": repairs.gs_recovered, "keyboard_layout": repairs.layout_repaired}),
    );
    put("repairs", json!(repairs.names().collect::<Vec<_>>()));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<Value> {
        let mut out = Vec::new();
        from_lines(input, &mut out, &ParseOptions::default()).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn one_json_line_per_input_line() {
        let input = b"]d20104600840749372215XyZ1a\x1d93Ab1+\r\n\nhello\n\xff\xfe garbage\n04606203086627-CtOkRAACbokB2/\n";
        let got = lines(input);
        assert_eq!(got.len(), 5);

        let milk = &got[0];
        assert_eq!(milk["ok"], true);
        assert_eq!(milk["line"], 1);
        assert_eq!(milk["kind"], "unit_short");
        assert_eq!(milk["ki"], "0104600840749372215XyZ1a");
        assert_eq!(milk["gtin"], "04600840749372");
        assert_eq!(milk["serial"], "5XyZ1a");
        assert_eq!(milk["canonical"], "0104600840749372215XyZ1a\u{1d}93Ab1+");
        assert_eq!(milk["elements"]["93"], "Ab1+");
        assert_eq!(milk["product_group"]["code"], "milk");
        assert_eq!(milk["product_group"]["id"], 8);
        assert_eq!(milk["crypto"]["tail"], "Ab1+");
        assert_eq!(milk["symbology"]["aim"], "]d2");
        assert_eq!(milk["recovered"], false);
        assert_eq!(milk["repairs"], json!(["aim_stripped", "suffix_stripped"]));

        assert_eq!(got[1]["reason"]["code"], "empty");
        assert_eq!(got[2]["ok"], false);
        assert_eq!(got[2]["reason"]["code"], "not_marking_code");
        assert!(
            got[2]["reason"]["ru"]
                .as_str()
                .unwrap()
                .contains("код маркировки")
        );
        assert_eq!(got[3]["reason"]["code"], "invalid_byte");
        assert_eq!(got[3]["input_hex"], "fffe2067617262616765");
        assert_eq!(got[4]["kind"], "tobacco_pack");
        assert_eq!(got[4]["max_retail_price_kopecks"], 15000);
        assert_eq!(got[4]["ki"], "04606203086627-CtOkRA");
    }

    #[test]
    fn gs1_data_is_not_a_marking_code_and_still_shows_its_elements() {
        // A lot and an expiry date: valid GS1, no GTIN and serial.
        let got = lines(b"]d210LOT-7\x1d17261231\n");
        assert_eq!(got[0]["ok"], false);
        assert_eq!(got[0]["reason"]["code"], "not_marking_code");
        assert_eq!(got[0]["kind"], "gs1_data");
        assert_eq!(got[0]["elements"]["10"], "LOT-7");
        assert_eq!(got[0]["elements"]["17"], "261231");
        // Garbage is refused without elements.
        let got = lines(b"hello\n");
        assert_eq!(got[0]["ok"], false);
        assert!(got[0].get("elements").is_none());
    }

    #[test]
    fn recovered_codes_say_so() {
        let got = lines(b"0104600840749372215XyZ1a93Ab1+\n");
        assert_eq!(got[0]["recovered"], true);
        assert_eq!(got[0]["recovered_flags"]["gs"], true);
        assert_eq!(got[0]["canonical"], "0104600840749372215XyZ1a\u{1d}93Ab1+");
    }

    #[test]
    fn arguments_are_parsed_in_order() {
        let mut out = Vec::new();
        let args = [
            OsString::from("4606203086627"),
            OsString::from("106141411234567897"),
        ];
        from_args(&args, &mut out, &ParseOptions::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let kinds: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(kinds, ["gtin", "sscc"]);
    }
}
