//! Tables of scans per code kind and per scanner failure, and properties over generated codes.

use super::*;
use crate::gs1::check_digit;
use crate::lang::Lang;

const SIG44: &str = "MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8sL9wIgYx==";
const SERIAL13: &str = "5AbC&<d>\"'%/;";

fn sig44() -> &'static str {
    &SIG44[..44]
}

fn long_form() -> String {
    format!("010469025752852321{SERIAL13}\x1d91EE10\x1d92{}", sig44())
}

fn milk() -> String {
    "0104600840749372215XyZ1a\x1d93Ab1+".to_string()
}

/// GTIN 04606203086627 + serial + base-80 price "ACbo" (15000 kopecks) + tail.
fn tobacco_pack() -> String {
    "04606203086627-CtOkRAACbokB2/".to_string()
}

/// A compact view of a parse, for table tests.
fn view(raw: &[u8], options: &ParseOptions) -> String {
    match parse(raw, options) {
        Ok(code) => {
            let repairs: Vec<&str> = code.repairs().names().collect();
            format!(
                "{} {} [{}]",
                code.kind().code(),
                code.canonical().replace('\x1d', "~"),
                repairs.join(",")
            )
        }
        Err(r) => format!("! {}", r.code()),
    }
}

fn check(cases: &[(&[u8], &str)], options: &ParseOptions) {
    for (raw, want) in cases {
        assert_eq!(view(raw, options), *want, "input: {}", raw.escape_ascii());
    }
}

#[test]
fn kinds() {
    let long = long_form();
    let long88 = format!(
        "010469025752852321{SERIAL13}\x1d91EE10\x1d92{}{}",
        sig44(),
        sig44()
    );
    let pharma = format!("{long}\x1d17261231102A-77");
    let block = "0104606203086627210000001\x1d8005150000\x1d93ab12";
    let milk = milk();
    let pack = tobacco_pack();
    let cases: Vec<(&[u8], String)> = vec![
        (
            long.as_bytes(),
            format!("unit_long {} []", long.replace('\x1d', "~")),
        ),
        (
            long88.as_bytes(),
            format!("unit_long {} []", long88.replace('\x1d', "~")),
        ),
        (
            pharma.as_bytes(),
            format!("unit_long {} []", pharma.replace('\x1d', "~")),
        ),
        (
            milk.as_bytes(),
            "unit_short 0104600840749372215XyZ1a~93Ab1+ []".into(),
        ),
        (
            b"0104600840749372215XyZ1a\x1d93Ab1+\x1d3103000450\x1d17261231",
            "unit_short 0104600840749372215XyZ1a~93Ab1+~310300045017261231 []".into(),
        ),
        (
            b"0104600840749372215XyZ1a\x1d93Ab1+\x1d70032612311200",
            "unit_short 0104600840749372215XyZ1a~93Ab1+~70032612311200 []".into(),
        ),
        (
            pack.as_bytes(),
            "tobacco_pack 04606203086627-CtOkRAACbokB2/ []".into(),
        ),
        (
            block.as_bytes(),
            format!("group_package {} []", block.replace('\x1d', "~")),
        ),
        (
            b"00106141411234567897",
            "sscc 00106141411234567897 []".into(),
        ),
        (b"106141411234567897", "sscc 00106141411234567897 []".into()),
        (
            b"]C100106141411234567897",
            "sscc 00106141411234567897 [aim_stripped]".into(),
        ),
        (b"4606203086627", "gtin 0104606203086627 []".into()),
        (b"96385074", "gtin 0100000096385074 []".into()),
        (b"0104606203086627", "gtin 0104606203086627 []".into()),
        (
            b"0104606203086627\x1d10LOT-1",
            "gtin 010460620308662710LOT-1 []".into(),
        ),
        (
            b"010469025752852321ABCDEFGHIJKLM",
            "ki_only 010469025752852321ABCDEFGHIJKLM []".into(),
        ),
    ];
    for (raw, want) in cases {
        assert_eq!(
            view(raw, &ParseOptions::default()),
            want,
            "{}",
            raw.escape_ascii()
        );
    }
}

#[test]
fn accessors() {
    let options = ParseOptions::default();
    let long = parse(long_form().as_bytes(), &options).unwrap();
    assert_eq!(long.gtin().unwrap().to_string(), "04690257528523");
    assert_eq!(long.serial(), Some(SERIAL13));
    assert_eq!(
        long.ki().unwrap().to_string(),
        format!("010469025752852321{SERIAL13}")
    );
    assert_eq!(long.cis(), Some(format!("010469025752852321{SERIAL13}")));
    assert_eq!(long.verification().key, Some("EE10"));
    assert_eq!(long.verification().signature, Some(sig44()));
    assert_eq!(long.product_group(), GroupGuess::OneOf(LONG_FORM_GROUPS));
    assert_eq!(long.serial_country_hint(), Some(Country::Russia));

    let milk = parse(
        b"0104600840749372215XyZ1a\x1d93Ab1+\x1d3103000450\x1d17261200",
        &options,
    )
    .unwrap();
    assert_eq!(milk.product_group(), GroupGuess::Known(ProductGroup::Milk));
    assert_eq!(milk.verification().tail, Some("Ab1+"));
    assert_eq!(milk.element(Ai::new(3103, 4)), Some("000450"));
    assert_eq!(milk.expiry().unwrap().to_string(), "2026-12-31");
    assert_eq!(milk.expiry_time(), None);

    // AI 7003 keeps its minute; expiry() still gives its date for whoever shows only dates.
    let by_minute = parse(
        b"0104600840749372215XyZ1a\x1d93Ab1+\x1d70032611221400",
        &options,
    )
    .unwrap();
    assert_eq!(
        by_minute.expiry_time().map(|t| t.to_string()).as_deref(),
        Some("2026-11-22 14:00")
    );
    assert_eq!(by_minute.expiry().unwrap().to_string(), "2026-11-22");

    let pack = parse(tobacco_pack().as_bytes(), &options).unwrap();
    assert_eq!(pack.max_retail_price(), Some(15000));
    assert_eq!(pack.serial(), Some("-CtOkRA"));
    assert_eq!(pack.cis().as_deref(), Some("04606203086627-CtOkRA"));
    assert_eq!(pack.verification().tail, Some("kB2/"));
    assert_eq!(
        pack.product_group(),
        GroupGuess::Known(ProductGroup::Tobacco)
    );
    assert_eq!(pack.elements().count(), 0);

    let block = parse(
        b"0104606203086627210000001\x1d8005150000\x1d93ab12",
        &options,
    )
    .unwrap();
    assert_eq!(block.max_retail_price(), Some(150_000));

    let sscc = parse(b"106141411234567897", &options).unwrap();
    assert_eq!(sscc.sscc().unwrap().to_string(), "106141411234567897");
    assert_eq!(sscc.ki(), None);

    let ki = Ki::from_cis("04606203086627-CtOkRA").unwrap();
    assert_eq!(ki, pack.ki().unwrap());
    assert_eq!(Ki::from_cis(&long.cis().unwrap()), long.ki());
    assert_eq!(Ki::from_cis(&long_form()), long.ki());
    assert_eq!(Ki::from_key(long.ki().unwrap().key().as_bytes()), long.ki());
    assert_eq!(long.ki().unwrap().key().as_bytes().len(), 19);
}

#[test]
fn scanner_failures() {
    let long = long_form();
    let want = format!("unit_long {} ", long.replace('\x1d', "~"));
    let variants: Vec<(Vec<u8>, &str)> = vec![
        (
            format!("]d2{long}\r\n").into_bytes(),
            "[aim_stripped,suffix_stripped]",
        ),
        (
            format!("]d2{long}\t").into_bytes(),
            "[aim_stripped,suffix_stripped]",
        ),
        ([&[0xE8][..], long.as_bytes()].concat(), "[fnc1_stripped]"),
        (format!("\x1d{long}").into_bytes(), "[fnc1_stripped]"),
        (
            long.replace('\x1d', "<GS>").into_bytes(),
            "[gs_stand_in_replaced]",
        ),
        (
            long.replace('\x1d', "\\u001d").into_bytes(),
            "[gs_stand_in_replaced]",
        ),
        (
            long.replace('\x1d', "\u{241D}").into_bytes(),
            "[gs_stand_in_replaced]",
        ),
        (long.replace('\x1d', "").into_bytes(), "[gs_recovered]"),
        (
            format!("]d2{}\n", long.replace('\x1d', "")).into_bytes(),
            "[aim_stripped,suffix_stripped,gs_recovered]",
        ),
        (
            mangle_through_russian_layout(&long).into_bytes(),
            "[layout_repaired]",
        ),
        (
            mangle_through_russian_layout(&long.replace('\x1d', "")).into_bytes(),
            "[gs_recovered,layout_repaired]",
        ),
    ];
    for (raw, repairs) in variants {
        assert_eq!(
            view(&raw, &ParseOptions::default()),
            format!("{want}{repairs}"),
            "{}",
            raw.escape_ascii()
        );
    }

    let pipe = ParseOptions {
        gs_substitute: Some(b'|'),
        ..ParseOptions::default()
    };
    assert_eq!(
        view(long.replace('\x1d', "|").as_bytes(), &pipe),
        format!("{want}[gs_stand_in_replaced]")
    );
    // Without the setting, `|` is not a legal code character.
    assert_eq!(
        view(
            long.replace('\x1d', "|").as_bytes(),
            &ParseOptions::default()
        ),
        "! missing_separator"
    );
}

#[test]
fn gs_loss_in_short_forms() {
    let cases: &[(&[u8], &str)] = &[
        // Milk: 6-char serial, then 93 and a weight, all separators lost.
        (
            b"0104600840749372215XyZ1a93Ab1+3103000450",
            "unit_short 0104600840749372215XyZ1a~93Ab1+~3103000450 [gs_recovered]",
        ),
        (
            b"0104600840749372215XyZ1a93Ab1+17261231",
            "unit_short 0104600840749372215XyZ1a~93Ab1+~17261231 [gs_recovered]",
        ),
        // Only the separator after 93 was lost: the weight's fixed length splits it.
        (
            b"0104600840749372215XyZ1a\x1d93Ab1+3103000450",
            "unit_short 0104600840749372215XyZ1a~93Ab1+~3103000450 [gs_recovered]",
        ),
        // Water: 13-char serial.
        (
            b"010460084074937221ABCDEFGHIJKLM93Zz9/",
            "unit_short 010460084074937221ABCDEFGHIJKLM~93Zz9/ [gs_recovered]",
        ),
        // A separator after the GTIN (which needs none) but not after the serial: the serial
        // swallowed the tail and must be split by structure (found by the fuzzer).
        (
            b"0104600840749372\\x1D215XyZ1a93Ab1+17261231",
            "unit_short 0104600840749372215XyZ1a~93Ab1+~17261231 [gs_stand_in_replaced,gs_recovered]",
        ),
        (
            b"0104600840749372\x1d215XyZ1a93Ab1+",
            "unit_short 0104600840749372215XyZ1a~93Ab1+ [gs_recovered]",
        ),
        // Tobacco block without separators.
        (
            b"0104606203086627210000001800515000093ab12",
            "group_package 0104606203086627210000001~8005150000~93ab12 [gs_recovered]",
        ),
        // A separator after 8005 alone lost: its fixed length is enough.
        (
            b"0104606203086627210000001\x1d800515000093ab12",
            "group_package 0104606203086627210000001~8005150000~93ab12 [gs_recovered]",
        ),
        // Serial of a length no product group here uses: refuse, do not guess.
        (
            b"010469025752852321ABCDEFGHIJ91EE1092MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8",
            "! missing_separator",
        ),
        // The serial holds "93": a 6-character serial + 93 + an AI 99 adds up, but no product
        // group's format has a 99 after its tail, so only the long form fits.
        (
            b"010469025752852321ABCDEF93WXYZ991KEY192MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8",
            "unit_long 010469025752852321ABCDEF93WXYZ9~91KEY1~92MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8 [gs_recovered]",
        ),
        // Pharma's format allows a batch "ABC17261231" or a batch "ABC" and an expiry: two
        // real splits, so neither wins.
        (
            b"010469025752852321ABCDEFGHIJKLM91KEY192MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp810ABC17261231",
            "! ambiguous_separator",
        ),
    ];
    check(cases, &ParseOptions::default());
}

#[test]
fn rejections() {
    let long = long_form();
    let no_signature = format!("010469025752852321{SERIAL13}\x1d91EE10");
    let short_key = format!("010469025752852321{SERIAL13}\x1d91EE1\x1d92{}", sig44());
    let mixed_layout = "010469025752852321фыABC\x1d93Ab1+".to_string();
    let quote_layout = "0104600840749372215ЧнЯ1ф\x1d93Фи1\"".to_string();
    let excise = "22N00001ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWX";
    assert_eq!(excise.len(), 68);
    let four_codes = long.repeat(4);
    let cases: Vec<(&[u8], &str)> = vec![
        (b"", "! empty"),
        (b"\r\n", "! empty"),
        (b"hello", "! not_marking_code"),
        (b"https://example.org/?a=1", "! not_marking_code"),
        (b"12345", "! not_marking_code"),
        (b"4606203086628", "! gtin_check_digit"),
        (b"106141411234567898", "! sscc_check_digit"),
        (b"0104690257528524215XyZ1a\x1d93Ab1+", "! gtin_check_digit"),
        (
            b"0104600840749372215XyZ1a\x1d93Ab1+\x1d17250230",
            "! invalid_date",
        ),
        (
            b"0104600840749372215XyZ1a\x1d93Ab1+\x1d8015123",
            "! unknown_ai",
        ),
        (b"0104600840749372215XyZ 1a\x1d93Ab1+", "! value_charset"),
        (b"0104600840749372215XyZ1a\x1d21Ab1+", "! duplicate_ai"),
        (b"0104600840749372\x1d93Ab1+", "! incomplete_code"),
        (b"215XyZ1a\x1d93Ab1+", "! incomplete_code"),
        (no_signature.as_bytes(), "! incomplete_code"),
        (short_key.as_bytes(), "! verification_length"),
        (
            b"0104600840749372215XyZ1a\x1d93Ab1+x",
            "! verification_length",
        ),
        (b"\xff\xfe\x00\x01", "! invalid_byte"),
        (b"0104600840749372\xff", "! invalid_byte"),
        ("01046008407493722Ā".as_bytes(), "! invalid_byte"),
        (mixed_layout.as_bytes(), "! keyboard_layout"),
        (quote_layout.as_bytes(), "! keyboard_layout"),
        (excise.as_bytes(), "! excise_stamp"),
        (four_codes.as_bytes(), "! too_long"),
    ];
    check(&cases, &ParseOptions::default());
    let strict_layout = ParseOptions {
        repair_keyboard_layout: false,
        ..ParseOptions::default()
    };
    let mangled = mangle_through_russian_layout(&long);
    assert_eq!(
        view(mangled.as_bytes(), &strict_layout),
        "! keyboard_layout"
    );
}

#[test]
fn human_readable_form_from_documents() {
    check(
        &[
            (
                b"(01)04600840749372(21)5XyZ1a(93)Ab1+",
                "unit_short 0104600840749372215XyZ1a~93Ab1+ [human_readable]",
            ),
            (
                b"(01)04600840749372(21)5X(y)Z1(93)Ab1+(3103)000450",
                "unit_short 0104600840749372215X(y)Z1~93Ab1+~3103000450 [human_readable]",
            ),
            (
                b"(00)106141411234567897",
                "sscc 00106141411234567897 [human_readable]",
            ),
            (b"(01)04600840749373", "! gtin_check_digit"),
            (b"(hello)", "! not_marking_code"),
            (b"(01", "! not_marking_code"),
            (b"(01)", "! value_length"),
        ],
        &ParseOptions::default(),
    );
}

#[test]
fn angle_brackets_that_belong_to_the_code_survive() {
    // The tail really is "<GS>": replacing it would lose the code.
    check(
        &[(
            b"0104600840749372215XyZ1a\x1d93<GS>",
            "unit_short 0104600840749372215XyZ1a~93<GS> []",
        )],
        &ParseOptions::default(),
    );
}

/// GS1-128 box and pallet labels: the SSCC with the logistics AIs that travel with it.
#[test]
fn logistics_labels() {
    let cases: &[(&[u8], &str)] = &[
        // SSCC, content GTIN, count, order number, ship-to and ship-for GLNs, ship-to postal
        // code, internal data: every AI of a pallet label is read, the SSCC among them.
        (
            b"]C100046070000000000014020460620308662737120\x1d400PO-2026/17\x1d41046070000000074134607000000014420123456\x1d90X1",
            "sscc 00046070000000000014020460620308662737120~400PO-2026/17~41046070000000074134607000000014420123456~90X1 [aim_stripped]",
        ),
        // A gross weight and a best-before date on the label.
        (
            b"0004607000000000001433020012501526123",
            "! value_length",
        ),
        (
            b"000460700000000000143302001250\x1d15261231",
            "sscc 00046070000000000014330200125015261231 []",
        ),
        // A GLN with a wrong check digit is a damaged label, not a GTIN.
        (
            b"000460700000000000144104607000000008",
            "! check_digit",
        ),
        // A trade item with a third-party serial (TPX, General Specifications 2024) is no
        // marking code: it carries no 21.
        (
            b"0104606203086627235TPX-123",
            "gtin 0104606203086627235TPX-123 []",
        ),
        // An SSCC whose own check digit is wrong.
        (b"00046070000000000015", "! sscc_check_digit"),
    ];
    check(cases, &ParseOptions::default());
    let label = parse(cases[0].0, &ParseOptions::default()).unwrap();
    assert_eq!(label.sscc().unwrap().to_string(), "046070000000000014");
    assert_eq!(label.element(Ai::new(37, 2)), Some("120"));
    assert_eq!(label.element(Ai::new(413, 3)), Some("4607000000014"));
    assert_eq!(label.ki(), None);
}

/// Valid GS1 data without a GTIN and serial is refused as no marking code, never blamed on a
/// GTIN check digit it does not have; `read_gs1_data` still shows what it holds.
#[test]
fn gs1_data_is_not_a_marking_code() {
    let data_cases: &[&[u8]] = &[
        // An expiry date alone: eight digits, which are no valid GTIN-8.
        b"17261231",
        b"]C117261231",
        // A lot and a date, internal data, a count, a price.
        b"10LOT-7\x1d17261231",
        b"]C11726123110LOT-7",
        b"9912345",
        b"91EE10",
        b"8005150000",
        b"]d2101234567890\x1d3712",
        // The content of a case without its SSCC; a third-party serial without its GTIN.
        b"0204606203086627\x1d3712",
        b"]C1235TPX-123",
    ];
    for &raw in data_cases {
        assert_eq!(
            view(raw, &ParseOptions::default()),
            "! not_marking_code",
            "{}",
            raw.escape_ascii()
        );
        let data = read_gs1_data(raw, &ParseOptions::default()).unwrap();
        assert_eq!(data.kind(), CodeKind::Gs1Data, "{}", raw.escape_ascii());
        assert!(data.elements().count() >= 1);
    }
    let read = |raw: &[u8]| match read_gs1_data(raw, &ParseOptions::default()) {
        Ok(code) => format!(
            "{} {}",
            code.kind().code(),
            code.canonical().replace('\x1d', "~")
        ),
        Err(r) => format!("! {}", r.code()),
    };
    let cases: &[(&[u8], &str)] = &[
        (b"17261231", "gs1_data 17261231"),
        (b"10LOT-7\x1d17261231", "gs1_data 10LOT-7~17261231"),
        (b"0204606203086627\x1d3712", "gs1_data 02046062030866273712"),
        // What parse accepts, read_gs1_data reads the same.
        (b"17260107", "gtin 0100000017260107"),
        (b"106141411234567897", "sscc 00106141411234567897"),
        // Short numbers that are no GS1 data: a price tag, a quantity.
        (b"12345", "! not_marking_code"),
        (b"7", "! not_marking_code"),
        // Data whose canonical text would be a valid GTIN-12 cannot be kept as GS1 data.
        (b"2012\x1d17260106", "! not_marking_code"),
        // Fields that break their own rules keep their own reasons.
        (b"17261232", "! gtin_check_digit"),
        (b"10LOT\x1d17261232", "! invalid_date"),
    ];
    for &(raw, want) in cases {
        assert_eq!(read(raw), want, "{}", raw.escape_ascii());
    }
    check(
        &[
            // Digits that are a valid GTIN-8 and a date at once are the GTIN: that is how a
            // scanner sends an EAN-8.
            (b"17260107", "gtin 0100000017260107 []"),
            (b"17261232", "! gtin_check_digit"),
            (b"10LOT\x1d17261232", "! invalid_date"),
        ],
        &ParseOptions::default(),
    );
    let data = read_gs1_data(b"10LOT-7\x1d17261231", &ParseOptions::default()).unwrap();
    let elements: Vec<(String, &str)> = data.elements().map(|(a, v)| (a.to_string(), v)).collect();
    assert_eq!(
        elements,
        [("10".to_string(), "LOT-7"), ("17".to_string(), "261231")]
    );
    assert_eq!(data.expiry().unwrap().to_string(), "2026-12-31");
    assert_eq!((data.ki(), data.gtin(), data.sscc()), (None, None, None));
    assert!(!data.kind().has_ki());
    assert!(
        data.kind()
            .describe(Lang::En)
            .contains("not a marking code")
    );
    assert!(data.kind().describe(Lang::Ru).contains("не код маркировки"));
    let refused = Rejection::NotMarkingCode;
    assert_eq!(refused.code(), "not_marking_code");
    assert!(refused.message(Lang::En).contains("Not a marking code"));
    assert!(refused.message(Lang::Ru).contains("не код маркировки"));
}

/// A КИ without a verification part whose serial has a length no product group uses is
/// flagged as possibly cut short.
#[test]
fn ki_without_verification_is_flagged_unless_a_groups_serial_length() {
    let cases: &[(&[u8], &str, bool)] = &[
        (b"010469025752852321ABCDEFGHIJKLM", "ki_only", false),
        (b"0104606203086627210000001", "ki_only", false),
        (b"0104600840749372215XyZ1a", "ki_only", false),
        // Cut short: ten characters of a thirteen-character serial.
        (b"010469025752852321ABCDEFGHIJ", "ki_only", true),
        (b"(01)04690257528523(21)ABCDEFGHIJ", "ki_only", true),
        // A long-form code cut short inside its key, its separators lost: the serial runs on.
        (b"010469025752852321ABC91ABDEF12391EE", "ki_only", true),
        // Codes with a verification part are whole whatever their serial length.
        (
            b"010469025752852321ABCDEFGHIJ\x1d93Ab1+",
            "unit_short",
            false,
        ),
    ];
    for &(raw, kind, flagged) in cases {
        let code = parse(raw, &ParseOptions::default()).unwrap();
        assert_eq!(
            (code.kind().code(), code.is_possibly_truncated()),
            (kind, flagged),
            "{}",
            raw.escape_ascii()
        );
    }
    // A short-form code cut short inside its tail is refused by its tail's length.
    check(
        &[(b"0104600840749372215XyZ1a\x1d93Ab", "! verification_length")],
        &ParseOptions::default(),
    );
    let r = Rejection::SerialLength { length: 10 };
    assert!(r.message(Lang::En).contains("10 characters"));
    assert!(r.message(Lang::Ru).contains("10 символов"));
}

/// A tobacco block reads by its own parts whatever follows them; a price alone is no block.
#[test]
fn tobacco_blocks_and_prices() {
    let block = "0104606203086627210000001\x1d8005150000\x1d93ab12";
    let with = |extra: &str| format!("{block}\x1d{extra}");
    let extra_lot = with("240ABC\x1d10L1");
    let extra_internal = with("91XYZ");
    let extra_long = with("91EE10\x1d92MEUCIQD+3b/RZsyk2QkGN7Ngl8Kz0XHmF1JdEpQ0aXp8");
    let cases: Vec<(&[u8], String)> = vec![
        (
            extra_lot.as_bytes(),
            format!("group_package {} []", extra_lot.replace('\x1d', "~")),
        ),
        (
            extra_internal.as_bytes(),
            format!("group_package {} []", extra_internal.replace('\x1d', "~")),
        ),
        (
            extra_long.as_bytes(),
            format!("group_package {} []", extra_long.replace('\x1d', "~")),
        ),
        // A price and a tail with a 13-character serial: a short-form code with a price.
        (
            b"010469025752852321ABCDEFGHIJKLM\x1d8005150000\x1d93ab12",
            "unit_short 010469025752852321ABCDEFGHIJKLM~8005150000~93ab12 []".into(),
        ),
        // A price after a milk code's tail.
        (
            b"0104600840749372215XyZ1a\x1d93Ab1+\x1d8005150000",
            "unit_short 0104600840749372215XyZ1a~93Ab1+~8005150000 []".into(),
        ),
        // A block without its tail is incomplete, not a block.
        (
            b"0104606203086627210000001\x1d8005150000",
            "! incomplete_code".into(),
        ),
        // A price without a tail after a serial no block has: a bare КИ with a price, not a
        // block missing its 93.
        (
            b"010469025752852321ABCDEFGHIJKLM\x1d8005150000",
            "ki_only 010469025752852321ABCDEFGHIJKLM~8005150000 []".into(),
        ),
        // A water code's tail, then a price.
        (
            b"010460084074937221ABCDEFGHIJKLM\x1d93Zz9/\x1d8005150000",
            "unit_short 010460084074937221ABCDEFGHIJKLM~93Zz9/~8005150000 []".into(),
        ),
        // A block with an expiry and a weight after its tail, separators kept.
        (
            b"0104606203086627210000001\x1d8005150000\x1d93ab12\x1d17261231\x1d3103000450",
            "group_package 0104606203086627210000001~8005150000~93ab12~172612313103000450 []"
                .into(),
        ),
        // The separator after the tail lost: no block format carries an AI there, so the tail
        // would swallow it; refused, not guessed.
        (
            b"0104606203086627210000001\x1d8005150000\x1d93ab1217261231",
            "! verification_length".into(),
        ),
        // Every separator lost but the one before the extra AI: the block's fixed parts split it.
        (
            b"0104606203086627210000001800515000093ab12\x1d10LOT1",
            "group_package 0104606203086627210000001~8005150000~93ab12~10LOT1 [gs_recovered]"
                .into(),
        ),
    ];
    for (raw, want) in &cases {
        assert_eq!(
            &view(raw, &ParseOptions::default()),
            want,
            "{}",
            raw.escape_ascii()
        );
    }
    let options = ParseOptions::default();
    let guess = |raw: &[u8]| parse(raw, &options).unwrap().product_group();
    assert_eq!(
        guess(extra_lot.as_bytes()),
        GroupGuess::Known(ProductGroup::Tobacco)
    );
    assert_eq!(
        guess(cases[3].0),
        GroupGuess::OneOf(THIRTEEN_CHAR_SHORT_GROUPS)
    );
    let milk = parse(cases[4].0, &options).unwrap();
    assert_eq!(milk.product_group(), GroupGuess::Known(ProductGroup::Milk));
    assert_eq!(milk.max_retail_price(), Some(150_000));
    // A price makes nothing tobacco, with a tail or without one.
    for case in [&cases[3], &cases[4], &cases[6], &cases[7]] {
        let code = parse(case.0, &options).unwrap();
        assert_ne!(
            code.product_group(),
            GroupGuess::Known(ProductGroup::Tobacco),
            "{}",
            case.0.escape_ascii()
        );
        assert_eq!(code.max_retail_price(), Some(150_000));
    }
    let bare = parse(cases[6].0, &options).unwrap();
    assert_eq!(
        bare.ki().map(|k| k.to_string()).as_deref(),
        Some("010469025752852321ABCDEFGHIJKLM")
    );
    assert_eq!(guess(cases[8].0), GroupGuess::Known(ProductGroup::Tobacco));
}

/// Pharma codes with the expiry and the batch before the serial, separators present or lost.
#[test]
fn pharma_with_expiry_and_batch_before_the_serial() {
    let sig = sig44();
    let with_gs = format!("010469025752852317261231 10LOT-7\x1d21{SERIAL13}\x1d91EE10\x1d92{sig}")
        .replace(' ', "");
    let canonical = with_gs.replace('\x1d', "~");
    let lost = with_gs.replace('\x1d', "");
    let batch_gs_lost = with_gs.replacen('\x1d', "", 1);
    let cases: Vec<(&[u8], String)> = vec![
        (with_gs.as_bytes(), format!("unit_long {canonical} []")),
        (
            lost.as_bytes(),
            format!("unit_long {canonical} [gs_recovered]"),
        ),
        (
            batch_gs_lost.as_bytes(),
            format!("unit_long {canonical} [gs_recovered]"),
        ),
    ];
    for (raw, want) in &cases {
        assert_eq!(
            &view(raw, &ParseOptions::default()),
            want,
            "{}",
            raw.escape_ascii()
        );
    }
    let code = parse(lost.as_bytes(), &ParseOptions::default()).unwrap();
    assert_eq!(code.serial(), Some(SERIAL13));
    assert_eq!(code.element(Ai::BATCH), Some("LOT-7"));
    assert_eq!(code.expiry().unwrap().to_string(), "2026-12-31");
}

/// The test vectors of the GS1 reference engine (gs1/gs1-barcode-engine, `ai.c`
/// `test_ai_processAIdata` and `test_ai_parseAIdata`, `scandata.c`
/// `test_scandata_processScanData`), with its `^` as FNC1: a leading one is the symbol's FNC1
/// in first position, the others are GS. Whether each is accepted, and as what.
#[test]
fn reference_engine_vectors() {
    let cases: &[(&str, Option<&str>)] = &[
        ("^991234", Some("gs1_data")),
        ("^891234", None),
        ("^99~ABC", None),
        ("^99ABC~", None),
        ("^0112345678901231", Some("gtin")),
        ("^01A2345678901231", None),
        ("^011234567890123A", None),
        ("^0112345678901234", None),
        ("^011234567890123", None),
        ("^01123456789012312", None),
        ("^0112345678901231^", Some("gtin")),
        ("^011234567890123^", None),
        ("^01123456789012345^", None),
        ("^01123456789012345^991234", None),
        ("^0112345678901231991234", Some("gtin")),
        ("^0112345678901231^991234", Some("gtin")),
        ("^2421", Some("gs1_data")),
        ("^242123456", Some("gs1_data")),
        ("^242123456^10ABC123", Some("gs1_data")),
        ("^242123456^", Some("gs1_data")),
        ("^2421234567", None),
        ("^81111234", Some("gs1_data")),
        ("^8111123", None),
        ("^811112345", None),
        ("^81111234^10ABC123", Some("gs1_data")),
        // Valid GS1 (8001, roll dimensions), but its 18 digits are an SSCC's without the AI:
        // its canonical text could not be told from a mistyped box label, so it is refused
        // (as not a marking code; below).
        ("^800112341234512398", None),
        ("^80011234123451239", None),
        ("^8001123412345123981", None),
        ("^800112341234512398^0112345678901231", Some("gtin")),
        ("^80011234123451239^0112345678901231", None),
        ("^800302112345678900ABC", Some("gs1_data")),
        ("^800302112345678901ABC", None),
        // Eighteen digits again (8003 with no serial component): refused like 8001 above.
        ("^800302112345678900", None),
        ("^800302112345678900^10ABC123", Some("gs1_data")),
        ("^800302112345678900ABCDEFGHIJKLMNOP", Some("gs1_data")),
        ("^800302112345678900ABCDEFGHIJKLMNOPQ", None),
        ("^7230121234567890123456789012345678", Some("gs1_data")),
        ("^72301212345678901234567890123456789", None),
        ("^7230123", Some("gs1_data")),
        ("^723012", None),
        ("^80131987654Ad4X4bL5ttr2310c2K", Some("gs1_data")),
        ("^80131987654Ad4X4bL5ttr2310cXK", None),
        // parseAIdata, bracketed, and its FNC1 rules.
        ("(01)12345678901231(10)12345", Some("gtin")),
        ("(3100)123456(10)12345", Some("gs1_data")),
        ("(10)12345(11)991225", Some("gs1_data")),
        ("(3900)12345(11)991225", Some("gs1_data")),
        ("(10)(11)98765", None),
        ("(10)12345(11)", None),
        ("(1A)12345", None),
        ("(17)9(90)217", None),
        // processScanData: the symbology identifier, then the element string.
        ("]d2011231231231233310ABC123\x1d99TESTING", Some("gtin")),
        ("]C1011231231231233310ABC123\x1d99TESTING", Some("gtin")),
        ("]Q3011231231231233310ABC123\x1d99TESTING", Some("gtin")),
        (
            "]e0011231231231233310ABC123\x1d1199122598TESTING\x1d97XYZ",
            Some("gtin"),
        ),
        ("]E02112345678900", Some("gtin")),
        ("]E02112345678901", None),
        ("]E402345673", Some("gtin")),
        ("]E402345674", None),
    ];
    for &(input, want) in cases {
        let raw = match input.strip_prefix('^') {
            Some(rest) => format!("\x1d{}", rest.replace('^', "\x1d")),
            None => input.to_string(),
        };
        let got = read_gs1_data(raw.as_bytes(), &ParseOptions::default()).map(|c| c.kind().code());
        assert_eq!(got.ok(), want, "{input}");
        // What the engine reads as data without a GTIN, parse refuses as no marking code.
        if want == Some("gs1_data") {
            assert_eq!(
                parse(raw.as_bytes(), &ParseOptions::default()),
                Err(Rejection::NotMarkingCode),
                "{input}"
            );
        }
    }
    assert_eq!(
        parse(b"\x1d800112341234512398", &ParseOptions::default()),
        Err(Rejection::NotMarkingCode)
    );
    assert_eq!(
        parse(b"800112341234512398", &ParseOptions::default()),
        Err(Rejection::SsccCheckDigit)
    );
    // A КИ behind an internal variant, (20)39 (01)… (21)0000001, is 29 characters without its
    // separator and would read back as a tobacco pack: refused, as GS1 data of that shape is
    // (fuzzing found it).
    assert_eq!(
        parse(
            b"2039\x1d0104606203086627210000001",
            &ParseOptions::default()
        ),
        Err(Rejection::NotMarkingCode)
    );
    // The engine's own reading of its scan data vector, element by element.
    let code = parse(
        b"]e0011231231231233310ABC123\x1d1199122598TESTING\x1d97XYZ",
        &ParseOptions::default(),
    )
    .unwrap();
    let elements: Vec<String> = code.elements().map(|(a, v)| format!("({a}){v}")).collect();
    assert_eq!(
        elements,
        [
            "(01)12312312312333",
            "(10)ABC123",
            "(11)991225",
            "(98)TESTING",
            "(97)XYZ"
        ]
    );
}

#[test]
fn gtin_and_sscc_values_round_trip_through_digits() {
    let body = b"0460620308662";
    let mut digits = body.to_vec();
    digits.push(b'0' + check_digit(body));
    assert_eq!(
        Gtin::from_digits(&digits).unwrap().to_string(),
        "04606203086627"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn cset82() -> impl Strategy<Value = u8> {
        proptest::sample::select(
            b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
                .to_vec(),
        )
    }

    fn chars(len: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(cset82(), len)
            .prop_map(|v| String::from_utf8(v).unwrap_or_default())
    }

    fn gtin() -> impl Strategy<Value = String> {
        proptest::collection::vec(0u8..10, 13).prop_map(|d| {
            let mut digits: Vec<u8> = d.iter().map(|x| b'0' + x).collect();
            let cd = check_digit(&digits);
            digits.push(b'0' + cd);
            String::from_utf8(digits).unwrap_or_default()
        })
    }

    fn date() -> impl Strategy<Value = String> {
        (0u32..30, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:02}{m:02}{d:02}"))
    }

    /// A batch of 1 to 20 characters.
    fn batch() -> impl Strategy<Value = String> {
        (1usize..=20).prop_flat_map(chars)
    }

    /// A valid unit code with real GS bytes in one of the product groups' formats
    /// (`formats::FORMATS`): long form, pharma with expiry and batch before the serial or after
    /// the signature, milk with weight and expiry, water and the other 13-character short
    /// forms, beer with a keg's volume, a tobacco block.
    fn unit_code() -> impl Strategy<Value = String> {
        let long = (
            gtin(),
            chars(13),
            chars(4),
            prop_oneof![chars(44), chars(88)],
        )
            .prop_map(|(g, s, k, sig)| format!("01{g}21{s}\x1d91{k}\x1d92{sig}"));
        let pharma = (
            gtin(),
            chars(13),
            chars(4),
            chars(44),
            proptest::option::of(date()),
            proptest::option::of(batch()),
            any::<bool>(),
        )
            .prop_map(|(g, s, k, sig, expiry, lot, before)| {
                let expiry = expiry.map(|d| format!("17{d}")).unwrap_or_default();
                let lot = lot.map(|b| format!("10{b}")).unwrap_or_default();
                let extra = format!("{expiry}{lot}");
                if before {
                    let gs = if lot.is_empty() { "" } else { "\x1d" };
                    format!("01{g}{extra}{gs}21{s}\x1d91{k}\x1d92{sig}")
                } else {
                    let gs = if extra.is_empty() { "" } else { "\x1d" };
                    format!("01{g}21{s}\x1d91{k}\x1d92{sig}{gs}{extra}")
                }
            });
        let milk = (
            gtin(),
            chars(6),
            chars(4),
            proptest::option::of(0u32..1_000_000),
            0u8..3,
        )
            .prop_map(|(g, s, t, weight, expiry)| {
                let mut code = format!("01{g}21{s}\x1d93{t}");
                if let Some(w) = weight {
                    code.push_str(&format!("\x1d3103{w:06}"));
                }
                // The weight's length is predefined: nothing separates what follows it.
                let gs = if weight.is_some() { "" } else { "\x1d" };
                match expiry {
                    1 => code.push_str(&format!("{gs}17270101")),
                    2 => code.push_str(&format!("{gs}70032701011230")),
                    _ => {}
                }
                code
            });
        let short13 =
            (gtin(), chars(13), chars(4)).prop_map(|(g, s, t)| format!("01{g}21{s}\x1d93{t}"));
        let beer = (
            gtin(),
            chars(7),
            chars(4),
            proptest::option::of((0u32..6, 0u32..1_000_000)),
        )
            .prop_map(|(g, s, t, volume)| match volume {
                Some((n, v)) => format!("01{g}21{s}\x1d93{t}\x1d335{n}{v:06}"),
                None => format!("01{g}21{s}\x1d93{t}"),
            });
        let block = (gtin(), chars(7), 0u32..1_000_000, chars(4))
            .prop_map(|(g, s, p, t)| format!("01{g}21{s}\x1d8005{p:06}\x1d93{t}"));
        prop_oneof![
            3 => long,
            2 => pharma,
            3 => milk,
            2 => short13,
            1 => beer,
            1 => block,
        ]
    }

    /// Unit codes in arbitrary arithmetic layouts: any of the reference serial lengths with a
    /// short tail and a weight or an expiry after it, whether or not a group uses that format.
    fn any_unit_code() -> impl Strategy<Value = String> {
        let short = (
            gtin(),
            prop_oneof![chars(13), chars(7), chars(6)],
            chars(4),
            proptest::option::of(0u32..1_000_000),
            any::<bool>(),
        )
            .prop_map(|(g, s, t, weight, expiry)| {
                let mut code = format!("01{g}21{s}\x1d93{t}");
                if let Some(w) = weight {
                    code.push_str(&format!("\x1d3103{w:06}"));
                }
                if expiry {
                    code.push_str(if weight.is_some() {
                        "17270101"
                    } else {
                        "\x1d17270101"
                    });
                }
                code
            });
        prop_oneof![2 => unit_code(), 1 => short]
    }

    fn stand_in() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(vec!["\x1d", "<GS>", "\\u001d", "\u{241D}"])
    }

    fn frame() -> impl Strategy<Value = (&'static str, &'static str)> {
        (
            proptest::sample::select(vec!["", "]d2", "\u{e8}", "\x1d"]),
            proptest::sample::select(vec!["", "\r", "\n", "\r\n", "\t"]),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A code with its separators, in any stand-in and frame, parses to itself.
        #[test]
        fn framed_codes_parse_to_themselves(code in any_unit_code(), gs in stand_in(), (pre, suf) in frame()) {
            let options = ParseOptions::default();
            let want = parse(code.as_bytes(), &options).unwrap();
            prop_assert_eq!(want.canonical(), code.as_str());
            let raw = format!("{pre}{}{suf}", code.replace('\x1d', gs));
            let got = parse(raw.as_bytes(), &options);
            prop_assert_eq!(got, Ok(want));
        }

        /// A code in a product group's format, without separators, is the same code, flagged,
        /// or refused as ambiguous when its format allows another split too: never a different
        /// code, and never "cannot be restored".
        #[test]
        fn lost_separators_never_give_another_code(code in unit_code()) {
            let options = ParseOptions::default();
            let want = parse(code.as_bytes(), &options).unwrap();
            match parse(code.replace('\x1d', "").as_bytes(), &options) {
                Ok(got) => {
                    prop_assert_eq!(got, want);
                    prop_assert!(got.repairs().gs_recovered);
                }
                Err(r) => prop_assert_eq!(r, Rejection::AmbiguousSeparator),
            }
        }

        /// In a layout no product group uses, lost separators give the same code or a refusal.
        #[test]
        fn lost_separators_in_any_layout_never_give_another_code(code in any_unit_code()) {
            let options = ParseOptions::default();
            let want = parse(code.as_bytes(), &options).unwrap();
            if let Ok(got) = parse(code.replace('\x1d', "").as_bytes(), &options) {
                prop_assert_eq!(got, want);
            }
        }

        /// Through the Russian layout the parse is the same code, flagged, or a refusal.
        #[test]
        fn russian_layout_never_gives_another_code(code in unit_code()) {
            let options = ParseOptions::default();
            let want = parse(code.as_bytes(), &options).unwrap();
            let mangled = mangle_through_russian_layout(&code);
            // Text with no letters looks the same in both layouts but for moved punctuation:
            // nothing can tell it was mangled.
            prop_assume!(!mangled.is_ascii());
            match parse(mangled.as_bytes(), &options) {
                Ok(got) => {
                    prop_assert_eq!(got, want);
                    prop_assert!(got.repairs().layout_repaired);
                }
                Err(r) => prop_assert_eq!(r, Rejection::KeyboardLayout),
            }
        }

        /// Any bytes at all: no panic, and whatever parses re-parses to itself.
        #[test]
        fn any_bytes_are_safe_and_canonical_is_a_fixed_point(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(code) = parse(&raw, &ParseOptions::default()) {
                let again = parse(code.canonical().as_bytes(), &ParseOptions::default());
                prop_assert_eq!(again, Ok(code));
            }
            if let Ok(code) = read_gs1_data(&raw, &ParseOptions::default()) {
                let again = read_gs1_data(code.canonical().as_bytes(), &ParseOptions::default());
                prop_assert_eq!(again, Ok(code));
            }
        }

        /// Mutations of real codes (a byte changed, dropped or doubled) never panic, and a
        /// successful parse is still a fixed point.
        #[test]
        fn mutated_codes_are_safe(code in any_unit_code(), at in any::<prop::sample::Index>(), byte in any::<u8>(), op in 0u8..3) {
            let mut raw = code.into_bytes();
            let i = at.index(raw.len());
            match op {
                0 => raw[i] = byte,
                1 => { raw.remove(i); }
                _ => raw.insert(i, raw[i]),
            }
            if let Ok(code) = parse(&raw, &ParseOptions::default()) {
                let again = parse(code.canonical().as_bytes(), &ParseOptions::default());
                prop_assert_eq!(again, Ok(code));
            }
        }
    }
}

/// A valid value for one component of an AI's format: the longest it may be, in its charset,
/// satisfying its rule (check digit, date, time, check character pair).
fn valid_component(component: &gs1::Component) -> Vec<u8> {
    use gs1::{Charset, ValueRule};
    let len = usize::from(component.max);
    let filler: &[u8] = match component.charset {
        Charset::Numeric => b"1234567890",
        Charset::Cset82 => b"Ab1-/x9(",
        Charset::Cset39 => b"AB1-/#9",
        Charset::Cset64 => b"Ab1-_x9",
    };
    let mut value: Vec<u8> = filler.iter().copied().cycle().take(len).collect();
    match component.rule {
        ValueRule::None => {}
        ValueRule::CheckDigit => {
            value[len - 1] = b'0' + check_digit(&value[..len - 1]);
        }
        ValueRule::Date | ValueRule::DateExact => value = b"261231".to_vec(),
        ValueRule::DateTime => value = b"2612311230".to_vec(),
        ValueRule::LongDate => value = b"20261231".to_vec(),
        ValueRule::HourMinute => value = b"1230".to_vec(),
        ValueRule::Hour => value = b"12".to_vec(),
        ValueRule::Minute | ValueRule::Second => value = b"30".to_vec(),
        ValueRule::CheckCharacters => {
            const CSET32: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
            let pair = CSET32
                .iter()
                .flat_map(|&a| CSET32.iter().map(move |&b| [a, b]))
                .find(|pair| {
                    value[len - 2..].copy_from_slice(pair);
                    gs1::check_characters_are_valid(&value)
                });
            assert!(pair.is_some(), "no check pair for {component:?}");
        }
    }
    assert_eq!(value.len(), len, "{component:?}");
    value
}

/// The same value with its first rule broken, and the reason the parser must give for it.
fn rule_broken(
    ai: Ai,
    components: &[gs1::Component],
    parts: &[Vec<u8>],
) -> Option<(Vec<u8>, Rejection)> {
    use gs1::ValueRule;
    let i = components.iter().position(|c| c.rule != ValueRule::None)?;
    let mut part = parts[i].clone();
    let last = part.len() - 1;
    let reason = match components[i].rule {
        ValueRule::None => return None,
        ValueRule::CheckDigit => {
            part[last] = b'0' + (part[last] - b'0' + 1) % 10;
            match (ai.width(), ai.number()) {
                (2, 0) => Rejection::SsccCheckDigit,
                (2, 1..=3) => Rejection::GtinCheckDigit,
                _ => Rejection::CheckDigit { ai },
            }
        }
        ValueRule::CheckCharacters => {
            part[last] = if part[last] == b'2' { b'3' } else { b'2' };
            Rejection::CheckDigit { ai }
        }
        ValueRule::Date | ValueRule::DateExact | ValueRule::DateTime => {
            part[2..4].copy_from_slice(b"13");
            Rejection::InvalidDate { ai }
        }
        ValueRule::LongDate => {
            part[4..6].copy_from_slice(b"13");
            Rejection::InvalidDate { ai }
        }
        ValueRule::HourMinute | ValueRule::Hour => {
            part[..2].copy_from_slice(b"25");
            Rejection::InvalidDate { ai }
        }
        ValueRule::Minute | ValueRule::Second => {
            part.copy_from_slice(b"60");
            Rejection::InvalidDate { ai }
        }
    };
    let mut broken = parts.to_vec();
    broken[i] = part;
    Some((broken.concat(), reason))
}

/// A scan that carries `ai` with `value` where the AI is at home: an SSCC or a GTIN alone, a
/// serial behind its GTIN, anything else in front of internal data (so that its canonical text
/// is never a bare number).
fn scan_with(ai: Ai, spec: &AiSpec, value: &[u8]) -> Vec<u8> {
    let mut scan = b"\x1d".to_vec();
    if ai == Ai::SERIAL {
        scan.extend_from_slice(b"0104690257528523");
    }
    scan.extend_from_slice(ai.digits().as_bytes());
    scan.extend_from_slice(value);
    if ai != Ai::SSCC && ai != Ai::GTIN && ai != Ai::SERIAL {
        if !spec.predefined {
            scan.push(GS);
        }
        scan.extend_from_slice(if ai == Ai::new(99, 2) { b"98X" } else { b"99X" });
    }
    scan
}

/// Every AI of the Syntax Dictionary is read with a value its format allows, and refused with
/// the reason its format gives when a character or a rule is broken. The dictionary carries no
/// example values of its own (its `ex=` attributes are exclusions), so each value is generated
/// from the AI's components: the longest length, the charset, the check digit or date its
/// linters ask for.
#[test]
fn every_ai_of_the_dictionary_reads_a_valid_value_and_refuses_a_broken_one() {
    let options = ParseOptions::default();
    let mut walked = 0;
    let mut failures = Vec::new();
    for (ai, spec) in gs1::known_ais() {
        walked += 1;
        let parts: Vec<Vec<u8>> = spec.components().iter().map(valid_component).collect();
        let value = parts.concat();
        let scan = scan_with(ai, &spec, &value);
        match read_gs1_data(&scan, &options) {
            Ok(code) if code.element(ai).map(str::as_bytes) == Some(&value[..]) => {}
            other => failures.push(format!("({ai}) {}: {other:?}", scan.escape_ascii())),
        }
        // A character outside the first component's charset.
        let mut bad = parts.clone();
        bad[0][0] = match spec.components()[0].charset {
            gs1::Charset::Numeric => b'A',
            gs1::Charset::Cset82 => b' ',
            gs1::Charset::Cset39 => b'a',
            gs1::Charset::Cset64 => b'+',
        };
        let scan = scan_with(ai, &spec, &bad.concat());
        match read_gs1_data(&scan, &options) {
            Err(Rejection::ValueCharset { ai: got, .. }) if got == ai => {}
            other => failures.push(format!("charset ({ai}) {}: {other:?}", scan.escape_ascii())),
        }
        if let Some((broken, reason)) = rule_broken(ai, spec.components(), &parts) {
            let scan = scan_with(ai, &spec, &broken);
            let got = read_gs1_data(&scan, &options);
            if got != Err(reason) {
                failures.push(format!(
                    "rule ({ai}) {}: {got:?}, not {reason:?}",
                    scan.escape_ascii()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(walked, gs1::known_ais().count());
    assert!(walked > 500, "{walked} AIs");
}

/// Codes whose separators were all lost, read back by the product groups' real layouts
/// (`formats::FORMATS`): pharma's expiry and batch before the serial, serials that hold "91" or
/// "93" where only one group's layout fits, short forms with the same traps.
#[test]
fn lost_separators_are_restored_by_the_one_layout_that_fits() {
    let sig = sig44();
    let long = |before: &str, serial: &str, after: &str| {
        assert_eq!(serial.len(), 13, "{serial}");
        format!("0104690257528523{before}21{serial}\x1d91EE10\x1d92{sig}{after}")
    };
    let with_gs: Vec<String> = vec![
        // Pharma: expiry and batch before the serial, and the serial holds "91" or "93".
        long("17261231\x1d10LOT-7\x1d", "ABC91DEFGHIJK", ""),
        long("17261231", "ABC91DEFGHIJK", ""),
        long("10LOT-7\x1d", "ABC93DEFGHIJK", ""),
        // The long form with "91", "93" or both in the serial.
        long("", "ABC91DEFGHIJK", ""),
        long("", "ABC93DEFGHIJK", ""),
        long("", "AB9193DEFGHIJ", ""),
        long("", "ABCDE9193WXYZ", ""),
        // Pharma's expiry and batch after the signature.
        long("", "ABCDEFGHIJKLM", "\x1d1726123110ABC"),
        // Water (13), milk (6) and beer (7) with "93" in the serial.
        "010460084074937221ABCDEF93WXYZ9\x1d93Zz9/".into(),
        "01046008407493722193ABCD\x1d93Ab1+".into(),
        "0104600840749372215XyZ93\x1d93Ab1+\x1d17261231".into(),
        "010460084074937221AB93CDE\x1d93Ab1+\x1d3350001234".into(),
    ];
    for code in &with_gs {
        let options = ParseOptions::default();
        let want = parse(code.as_bytes(), &options).unwrap();
        let lost = code.replace('\x1d', "");
        let got = parse(lost.as_bytes(), &options);
        assert_eq!(got, Ok(want), "{}", lost.escape_debug());
        assert!(got.unwrap().repairs().gs_recovered);
    }
    // The split the layouts allow is the serial's length, never the first "91" or "93".
    let code = parse(
        with_gs[1].replace('\x1d', "").as_bytes(),
        &ParseOptions::default(),
    )
    .unwrap();
    assert_eq!(code.serial(), Some("ABC91DEFGHIJK"));
    assert_eq!(code.expiry().unwrap().to_string(), "2026-12-31");
    let code = parse(
        with_gs[9].replace('\x1d', "").as_bytes(),
        &ParseOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (code.serial(), code.product_group()),
        (Some("93ABCD"), GroupGuess::Known(ProductGroup::Milk))
    );
}

/// FNC1 in first position, as a GS1 symbology identifier (`]C1`, `]d2`, `]Q3`, `]e0`), a raw
/// FNC1 codeword or a leading GS, says the digits that follow are AIs: never a bare GTIN or
/// SSCC, which only a symbology without FNC1 (EAN, plain Code 128) carries.
#[test]
fn after_fnc1_digits_are_read_as_ais() {
    let sscc = "106141411234567897";
    let with = |prefix: &[u8], body: &str| [prefix, body.as_bytes()].concat();
    for prefix in [
        &b"]C1"[..],
        b"]d2",
        b"]Q3",
        b"]e0",
        b"\x1d",
        b"\xe8",
        b"]d2\x1d",
    ] {
        let label = with(prefix, &format!("00{sscc}"));
        let code = parse(&label, &ParseOptions::default()).unwrap();
        assert_eq!(
            (code.kind(), code.sscc().map(|s| s.to_string())),
            (CodeKind::Sscc, Some(sscc.to_string())),
            "{}",
            label.escape_ascii()
        );
        // Bare SSCC digits after FNC1 are a batch (10) of GS1 data, whose canonical text could
        // not be told from a box label: refused, not taken for the box.
        let bare = with(prefix, sscc);
        assert_eq!(
            parse(&bare, &ParseOptions::default()),
            Err(Rejection::NotMarkingCode),
            "{}",
            bare.escape_ascii()
        );
        // A GTIN's 14 digits after FNC1 start with 04, which GS1 assigns no AI: no element
        // string at all.
        let gtin = with(prefix, "04606203086627");
        assert_eq!(
            parse(&gtin, &ParseOptions::default()),
            Err(Rejection::NotMarkingCode),
            "{}",
            gtin.escape_ascii()
        );
        // An expiry date after FNC1 is GS1 data; one whose digits are also a valid GTIN-8 is
        // a date too, but its canonical text would read back as the GTIN: refused.
        let date = with(prefix, "17261231");
        let data = read_gs1_data(&date, &ParseOptions::default()).unwrap();
        assert_eq!(data.kind(), CodeKind::Gs1Data, "{}", date.escape_ascii());
        assert_eq!(data.element(Ai::EXPIRY), Some("261231"));
        let ean8_date = with(prefix, "17260107");
        assert_eq!(
            read_gs1_data(&ean8_date, &ParseOptions::default()),
            Err(Rejection::NotMarkingCode),
            "{}",
            ean8_date.escape_ascii()
        );
        // A logistics label whose SSCC is followed by more AIs, FNC1 first.
        let label = with(
            prefix,
            &format!("00{sscc}0204606203086627370\x1d400PO-1\x1d4204201"),
        );
        let code = parse(&label, &ParseOptions::default()).unwrap();
        assert_eq!(code.kind(), CodeKind::Sscc, "{}", label.escape_ascii());
        assert_eq!(code.element(Ai::new(420, 3)), Some("4201"));
    }
    // Without FNC1 the same digits are what a plain symbology carries.
    check(
        &[
            (sscc.as_bytes(), "sscc 00106141411234567897 []"),
            (b"]E04606203086627", "gtin 0104606203086627 [aim_stripped]"),
            (
                b"]C0106141411234567897",
                "sscc 00106141411234567897 [aim_stripped]",
            ),
            (b"04606203086627", "gtin 0104606203086627 []"),
            (b"17260107", "gtin 0100000017260107 []"),
        ],
        &ParseOptions::default(),
    );
}
