//! 1C's site exchange across real processes: a client driving the exchange as 1C does
//! (checkauth, init, zipped fragments, import, query, success) against `tally-hub serve`, and a
//! terminal that accepts the delivery 1C sent, by quantity, docks, then picks and ships a
//! customer's order 1C sent, whose result goes back to 1C.

// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;

use serde_json::{Value, json};

use crate::processes::{
    HubProcess, Scratch, enroll, feed_items, json_lines, run_ok, sync, tally_hub, wedge_trace,
    work, write_lines,
};

const OURS: &str = "7707083893";
const SUPPLIER: &str = "7736207543";
const MILK: &str = "04600840749372";
const KEFIR: &str = "04600840749389";

fn ki(gtin: &str, serial: &str) -> String {
    format!("01{gtin}21{serial}")
}

/// What a scanner reads off a unit: the КИ, GS, the verification key.
fn scan(ki: &str) -> String {
    format!("{ki}\u{1d}93Ab1+")
}

fn milk(n: u32) -> String {
    ki(MILK, &format!("5Milk{n:02}"))
}

/// The one kefir code 1C knows (it came with the supplier's electronic delivery note).
fn known_kefir() -> String {
    ki(KEFIR, "5Kefr01")
}

const CUSTOMER: &str = "7702070139";

/// A customer's order as 1C writes it: two milk by quantity, for the buyer `CUSTOMER`.
fn order_xml() -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.10" ДатаФормирования="2026-12-02T12:00:00">
  <Документ>
    <Ид>o-9</Ид><Номер>ЗК-9</Номер><Дата>2026-12-02</Дата><ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль>
    <Контрагенты><Контрагент><Ид>c1</Ид><Наименование>ИП Петров</Наименование><Роль>Покупатель</Роль><ИНН>{CUSTOMER}</ИНН></Контрагент></Контрагенты>
    <Товары>
      <Товар><Ид>a1</Ид><Наименование>Молоко 3,2% 1 л</Наименование><Штрихкод>4600840749372</Штрихкод><Количество>2</Количество></Товар>
    </Товары>
  </Документ>
</КоммерческаяИнформация>
"#
    )
    .into_bytes()
}

/// The catalog as 1C's Trade Management unloads it: two marked goods.
const IMPORT_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.10" ДатаФормирования="2026-12-02T09:00:00">
  <Каталог СодержитТолькоИзменения="false">
    <Ид>cat-1</Ид><Наименование>Товары</Наименование>
    <Товары>
      <Товар><Ид>a1</Ид><Штрихкод>4600840749372</Штрихкод><Наименование>Молоко 3,2% 1 л</Наименование>
        <БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>
        <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ТоварнаяГруппаМаркировки</Наименование><Значение>milk</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>
      </Товар>
      <Товар><Ид>a2</Ид><Штрихкод>4600840749389</Штрихкод><Наименование>Кефир 1% 0,9 л</Наименование>
        <БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>
        <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ТоварнаяГруппаМаркировки</Наименование><Значение>milk</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>
      </Товар>
    </Товары>
  </Каталог>
</КоммерческаяИнформация>
"#;

/// The supplier's delivery as 1C writes its purchase order, in windows-1251: three milk by
/// quantity, two kefir of which 1C knows one code.
fn delivery_xml() -> Vec<u8> {
    let text = format!(
        r#"<?xml version="1.0" encoding="windows-1251"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.10" ДатаФормирования="2026-12-02T09:30:00">
  <Документ>
    <Ид>d-55</Ид><Номер>ПТ-55</Номер><Дата>2026-12-02</Дата><ХозОперация>Заказ товара</ХозОперация><Роль>Покупатель</Роль>
    <Валюта>руб</Валюта><Курс>1</Курс><Сумма>540</Сумма>
    <Контрагенты><Контрагент><Ид>s1</Ид><Наименование>ООО «Молочный двор»</Наименование><Роль>Продавец</Роль><ИНН>{SUPPLIER}</ИНН></Контрагент></Контрагенты>
    <Товары>
      <Товар><Ид>a1</Ид><Наименование>Молоко 3,2% 1 л</Наименование><Штрихкод>4600840749372</Штрихкод><Количество>3.000</Количество></Товар>
      <Товар><Ид>a2</Ид><Наименование>Кефир 1% 0,9 л</Наименование><Штрихкод>4600840749389</Штрихкод><Количество>2.000</Количество>
        <КодыМаркировки><КодМаркировки>{}</КодМаркировки></КодыМаркировки></Товар>
    </Товары>
  </Документ>
</КоммерческаяИнформация>
"#,
        known_kefir()
    );
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&text);
    assert!(!unmappable);
    bytes.into_owned()
}

fn zipped(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// 1C's side of the exchange: one node's login, the cookie of the exchange it runs.
struct OneC {
    base: String,
    agent: ureq::Agent,
    login: String,
    password: String,
    cookie: Option<String>,
}

impl OneC {
    /// One request as 1C sends it; the answer's lines.
    fn call(&self, query: &str, body: Option<&[u8]>) -> Vec<String> {
        let url = format!("{}/1c/exchange?{query}", self.base);
        let response = match (body, &self.cookie) {
            (Some(bytes), Some(cookie)) => {
                self.agent.post(&url).header("Cookie", cookie).send(bytes)
            }
            (None, Some(cookie)) => self.agent.get(&url).header("Cookie", cookie).call(),
            (_, None) => {
                use base64::Engine as _;
                let basic = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", self.login, self.password));
                self.agent
                    .get(&url)
                    .header("Authorization", format!("Basic {basic}"))
                    .call()
            }
        };
        let text = response.unwrap().into_body().read_to_string().unwrap();
        text.lines().map(str::to_owned).collect()
    }

    /// checkauth and init, as every exchange begins; what init offered.
    fn begin(&mut self, kind: &str) -> (bool, usize) {
        self.cookie = None;
        let answer = self.call(&format!("type={kind}&mode=checkauth"), None);
        assert_eq!(answer[0], "success", "{answer:?}");
        self.cookie = Some(format!("{}={}", answer[1], answer[2]));
        let init = self.call(&format!("type={kind}&mode=init"), None);
        let value = |key: &str| {
            init.iter()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("no {key} in {init:?}"))
                .to_owned()
        };
        (value("zip") == "yes", value("file_limit").parse().unwrap())
    }

    /// Sends a file as 1C does: zipped when init said so, in fragments of file_limit.
    fn send(&self, kind: &str, name: &str, bytes: &[u8], zip: bool, limit: usize) -> Vec<String> {
        let (upload, bytes) = if zip {
            (
                format!("{}.zip", name.trim_end_matches(".xml")),
                zipped(&[(name, bytes)]),
            )
        } else {
            (name.to_owned(), bytes.to_vec())
        };
        // Fragments far below the hub's limit too, so the test sends several.
        let mut last = Vec::new();
        for part in bytes.chunks(limit.min(500)) {
            last = self.call(
                &format!("type={kind}&mode=file&filename={upload}"),
                Some(part),
            );
            assert_eq!(last[0], "success", "{last:?}");
        }
        last
    }
}

/// Each `<Товар>` of a results document: its barcode, quantity, requisites and codes.
fn goods(document: &str) -> Vec<(String, String, Vec<String>)> {
    let inner = |text: &str, tag: &str| -> Vec<String> {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        text.split(&open)
            .skip(1)
            .map(|s| s.split(&close).next().unwrap().trim().to_owned())
            .collect()
    };
    inner(document, "Товар")
        .iter()
        .map(|good| {
            let barcode = inner(good, "Штрихкод").remove(0);
            let quantity = inner(good, "Количество").remove(0);
            let requisites: Vec<String> = inner(good, "ЗначениеРеквизита")
                .iter()
                .map(|r| {
                    format!(
                        "{}={}",
                        inner(r, "Наименование")[0],
                        inner(r, "Значение")[0]
                    )
                })
                .collect();
            let codes = inner(good, "КодМаркировки");
            (
                barcode,
                format!("{quantity} {}", requisites.join(" ")),
                codes,
            )
        })
        .collect()
}

#[test]
fn a_delivery_from_1c_is_accepted_by_quantity_on_a_terminal_and_its_codes_go_back_to_1c() {
    let dir = Scratch::new("onec");
    let hub_db = dir.path("hub.db");
    // GIS MT's statuses: the supplier's milk and kefir, introduced.
    let codes = [milk(1), milk(2), milk(3), milk(4), known_kefir()];
    let statuses: Vec<Value> = codes
        .iter()
        .map(|c| json!({"cis": c, "status": "INTRODUCED", "ownerInn": SUPPLIER, "productGroupId": 8}))
        .collect();
    let file = dir.path("statuses.jsonl");
    write_lines(&file, &statuses);
    run_ok(
        tally_hub()
            .args(["import", "statuses"])
            .arg(&file)
            .arg("--db")
            .arg(&hub_db),
    );
    let node = run_ok(tally_hub().args(["onec", "--db"]).arg(&hub_db).args([
        "add-node",
        "ut11",
        "--warehouse",
        "W1",
    ]));
    let node = json_lines(&node.stdout).remove(0);
    let hub = HubProcess::start(&hub_db);
    let mut onec = OneC {
        base: hub.url(),
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into(),
        login: "ut11".into(),
        password: node["password"].as_str().unwrap().to_owned(),
        cookie: None,
    };

    // 1C unloads its catalog: zipped, in fragments, then imported by name.
    let (zip, limit) = onec.begin("catalog");
    assert!(zip, "the hub offers zip=yes");
    onec.send("catalog", "import.xml", IMPORT_XML.as_bytes(), zip, limit);
    let mut answer = onec.call("type=catalog&mode=import&filename=import.xml", None);
    while answer[0] == "progress" {
        std::thread::sleep(std::time::Duration::from_millis(200));
        answer = onec.call("type=catalog&mode=import&filename=import.xml", None);
    }
    assert_eq!(answer[0], "success", "{answer:?}");

    // The orders exchange: nothing to take yet; then 1C sends its delivery, zipped, in
    // windows-1251, and asks no import.
    let (zip, limit) = onec.begin("sale");
    let empty = onec.call("type=sale&mode=query", None).join("\n");
    assert!(
        empty.starts_with("<?xml") && !empty.contains("<Документ>"),
        "{empty}"
    );
    assert_eq!(onec.call("type=sale&mode=success", None)[0], "success");
    let answer = onec.send("sale", "orders.xml", &delivery_xml(), zip, limit);
    assert!(answer[1].contains("1 deliveries to accept"), "{answer:?}");

    // A terminal of the warehouse enrolls and pulls the catalog and the task.
    let tsd = dir.path("tsd.db");
    enroll(&hub.url(), &hub_db, &tsd, "W1", OURS, "tsd-1");
    let summary = sync(&tsd);
    let items = |feed: &str| feed_items(&summary, feed);
    assert_eq!(
        (items("statuses"), items("catalog"), items("tasks")),
        (5, 2, 1),
        "{summary}"
    );

    // The storekeeper accepts: four milk on a line of three (the fourth confirmed as a
    // surplus), the known kefir, and no second kefir.
    let trace = wedge_trace(
        &dir.path("accept.trace"),
        &[
            &scan(&milk(1)),
            &scan(&milk(2)),
            &scan(&milk(3)),
            &scan(&milk(4)),
            &scan(&milk(4)),
            &scan(&known_kefir()),
            "TALLY:FINISH",
        ],
    );
    let accept = ["--task", "d-55", "--inn", OURS, "--operator", "ivanova"];
    let lines = json_lines(&run_ok(&mut work(&tsd, "acceptance", &trace, &accept)).stdout);
    let outcomes: Vec<String> = lines
        .iter()
        .filter(|l| l["event"] == "scan")
        .map(|l| {
            let first = l["findings"][0]["code"].as_str().unwrap_or("");
            format!("{} {first}", l["outcome"].as_str().unwrap())
                .trim_end()
                .to_owned()
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            "recorded",
            "recorded",
            "recorded",
            "confirm not_expected",
            "recorded not_expected",
            "recorded"
        ]
    );
    let finished = lines.iter().find(|l| l["event"] == "finished").unwrap();
    let payload = &finished["payload"];
    assert_eq!(payload["task_id"], "d-55");
    assert_eq!(payload["surplus"], json!([milk(4)]));
    assert_eq!(
        payload["lines"],
        json!([
            {"gtin": MILK, "expected": 3, "accepted": 3, "over": 1},
            {"gtin": KEFIR, "expected": 1, "accepted": 0, "over": 0},
        ])
    );

    // Docked, the terminal pushes; 1C's next orders exchange takes the result.
    let summary = sync(&tsd);
    assert_eq!(
        (&summary["accepted"], &summary["rejected"]),
        (&json!(1), &json!(0)),
        "{summary}"
    );
    onec.begin("sale");
    let result = onec.call("type=sale&mode=query", None).join("\n");
    assert_eq!(result.matches("<Документ>").count(), 1, "{result}");
    assert!(result.contains("<Номер>ПТ-55</Номер>"), "{result}");
    assert!(result.contains("<Основание>d-55</Основание>"), "{result}");
    assert!(
        result.contains(&format!("<ИНН>{SUPPLIER}</ИНН>")),
        "{result}"
    );
    // The surplus is not taken into stock (GIS MT's acceptance holds only shipped codes): the
    // line counts it over, the document names its code.
    let surplus = format!(
        "<Наименование>КодИзлишка</Наименование><Значение>{}</Значение>",
        milk(4)
    );
    assert!(
        result.replace(['\n', ' '], "").contains(&surplus),
        "{result}"
    );
    let mut goods = goods(&result);
    goods.sort();
    assert_eq!(
        goods,
        [
            (
                MILK.to_owned(),
                "3 КоличествоПоЗаданию=3 Излишек=1 Недостача=0".to_owned(),
                vec![milk(1), milk(2), milk(3)]
            ),
            (
                KEFIR.to_owned(),
                "1 КоличествоПоЗаданию=2 Излишек=0 Недостача=1".to_owned(),
                vec![known_kefir()]
            ),
        ]
    );
    let confirmed = onec.call("type=sale&mode=success", None);
    assert!(
        confirmed[1].starts_with("1 results confirmed"),
        "{confirmed:?}"
    );
    onec.begin("sale");
    let again = onec.call("type=sale&mode=query", None).join("\n");
    assert!(
        !again.contains("<Документ>"),
        "a confirmed result is never sent again: {again}"
    );

    // 1C sends a customer's order; the terminal pulls it and ships two of the milk it
    // accepted against it, receiver and number from the order.
    let (zip, limit) = onec.begin("sale");
    let answer = onec.send("sale", "orders.xml", &order_xml(), zip, limit);
    assert!(answer[1].contains("1 orders to pick"), "{answer:?}");
    let summary = sync(&tsd);
    assert_eq!(feed_items(&summary, "orders"), 1, "{summary}");
    let trace = wedge_trace(
        &dir.path("ship.trace"),
        &[&scan(&milk(1)), &scan(&milk(2)), "TALLY:FINISH"],
    );
    let ship = ["--order", "o-9", "--inn", OURS, "--operator", "ivanova"];
    let lines = json_lines(&run_ok(&mut work(&tsd, "shipment", &trace, &ship)).stdout);
    let finished = lines.iter().find(|l| l["event"] == "finished").unwrap();
    let payload = &finished["payload"];
    assert_eq!(
        (
            &payload["order_id"],
            &payload["receiver_inn"],
            &payload["document_number"]
        ),
        (&json!("o-9"), &json!(CUSTOMER), &json!("ЗК-9")),
        "{lines:?}"
    );
    assert_eq!(
        payload["lines"],
        json!([{"gtin": MILK, "ordered": 2, "shipped": 2, "over": 0}])
    );
    let summary = sync(&tsd);
    assert_eq!(
        (&summary["accepted"], &summary["rejected"]),
        (&json!(1), &json!(0)),
        "{summary}"
    );
    onec.begin("sale");
    let result = onec.call("type=sale&mode=query", None).join("\n");
    assert_eq!(result.matches("<Документ>").count(), 1, "{result}");
    for wanted in [
        "<Номер>ЗК-9</Номер>",
        "<Основание>o-9</Основание>",
        &format!("<ИНН>{CUSTOMER}</ИНН>"),
    ] {
        assert!(result.contains(wanted), "{wanted}: {result}");
    }
    assert_eq!(
        self::goods(&result),
        [(
            MILK.to_owned(),
            "2 КоличествоПоЗаданию=2 Излишек=0 Недостача=0".to_owned(),
            vec![milk(1), milk(2)]
        )]
    );
    assert!(onec.call("type=sale&mode=success", None)[1].starts_with("1 results confirmed"));
}
