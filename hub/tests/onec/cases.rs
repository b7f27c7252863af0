use std::thread;

use tally_domain::status::Timestamp;
use tally_hub::server::Hub;
use tally_hub::server::onec::OnecConfig;
use tally_hub::store::onec::OnecNode;
use tally_wire::Feed;

use crate::common::Database;

/// A catalog as 1C writes `import.xml`: two goods with barcodes (an EAN-13 and a GTIN-14),
/// the marking group as a requisite, one without a barcode.
fn import_xml(second_name: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.10" ДатаФормирования="2026-12-02T10:00:00">
  <Классификатор><Ид>cls-1</Ид><Наименование>Классификатор</Наименование></Классификатор>
  <Каталог СодержитТолькоИзменения="false">
    <Ид>cat-1</Ид><ИдКлассификатора>cls-1</ИдКлассификатора><Наименование>Товары</Наименование>
    <Товары>
      <Товар>
        <Ид>a1</Ид><Штрихкод>4600840749372</Штрихкод><Наименование>Молоко 3,2% 1 л</Наименование>
        <БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>
        <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ТоварнаяГруппаМаркировки</Наименование><Значение>milk</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>
      </Товар>
      <Товар>
        <Ид>a2</Ид><Штрихкод>04690257528523</Штрихкод><Наименование>{second_name}</Наименование>
        <БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>
      </Товар>
      <Товар><Ид>a3</Ид><Наименование>Пакет-майка</Наименование></Товар>
    </Товары>
  </Каталог>
</КоммерческаяИнформация>
"#
    )
}

struct Exchange {
    _db: Database,
    base: String,
    agent: ureq::Agent,
    password: String,
    store: tally_hub::store::Store,
}

impl Exchange {
    fn new(allow: &str, keep_existing: bool) -> Exchange {
        Exchange::with(allow, keep_existing, OnecConfig::default())
    }

    fn with(allow: &str, keep_existing: bool, config: OnecConfig) -> Exchange {
        let db = Database::new(BACKEND);
        let store = db.store();
        let password = store
            .onec_add_node(
                &OnecNode {
                    name: "ut11".into(),
                    warehouse: "W1".into(),
                    allow: allow.into(),
                    keep_existing,
                },
                Timestamp(0),
            )
            .unwrap()
            .unwrap();
        let hub = Hub::bind(db.store(), "127.0.0.1:0").unwrap().with_onec(config);
        let base = format!("http://{}/1c/exchange", hub.local_addr().unwrap());
        thread::spawn(move || hub.run());
        Exchange {
            _db: db,
            base,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
            password,
            store,
        }
    }

    /// One request as 1C sends it; the answer's lines.
    fn call(&self, query: &str, auth: Option<(&str, &str)>, cookie: Option<&str>, body: Option<&[u8]>) -> Vec<String> {
        let url = format!("{}?{query}", self.base);
        let text = match body {
            Some(bytes) => {
                let mut request = self.agent.post(&url);
                if let Some(cookie) = cookie {
                    request = request.header("Cookie", cookie);
                }
                request.send(bytes).unwrap().into_body().read_to_string().unwrap()
            }
            None => {
                let mut request = self.agent.get(&url);
                if let Some((user, password)) = auth {
                    use base64::Engine;
                    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                    request = request.header("Authorization", format!("Basic {basic}"));
                }
                if let Some(cookie) = cookie {
                    request = request.header("Cookie", cookie);
                }
                request.call().unwrap().into_body().read_to_string().unwrap()
            }
        };
        text.lines().map(str::to_owned).collect()
    }

    /// checkauth: the cookie 1C sends from then on.
    fn sign_in(&self) -> String {
        let answer = self.call("type=catalog&mode=checkauth", Some(("ut11", &self.password)), None, None);
        assert_eq!(answer[0], "success", "{answer:?}");
        format!("{}={}", answer[1], answer[2])
    }

    fn catalog(&self) -> Vec<serde_json::Value> {
        let (items, _) = self.store.pull(Feed::Catalog, "W1", 0, 100).unwrap();
        items.iter().map(|(_, i)| serde_json::from_str(i).unwrap()).collect()
    }
}

#[test]
fn a_catalog_in_fragments_is_imported_as_1c_drives_the_exchange() {
    let x = Exchange::new("", false);
    let cookie = x.sign_in();
    let init = x.call("type=catalog&mode=init", None, Some(&cookie), None);
    assert_eq!(init[0], "zip=yes");
    assert!(init[1].starts_with("file_limit="), "{init:?}");
    let limit: usize = init[1]["file_limit=".len()..].parse().unwrap();
    let file = import_xml("Вода питьевая 0,5 л").into_bytes();
    assert!(file.len() < limit);
    // Fragments of one file, in order, as 1C cuts a file larger than file_limit.
    for part in file.chunks(file.len() / 3 + 1) {
        let answer = x.call("type=catalog&mode=file&filename=import.xml", None, Some(&cookie), Some(part));
        assert_eq!(answer, ["success"]);
    }
    let answer = x.call("type=catalog&mode=import&filename=import.xml", None, Some(&cookie), None);
    assert_eq!(answer[0], "success", "{answer:?}");
    let catalog = x.catalog();
    assert_eq!(catalog.len(), 2, "the good without a barcode is skipped: {catalog:?}");
    let milk = catalog.iter().find(|l| l["gtin"] == "04600840749372").unwrap();
    assert_eq!(milk["name"], "Молоко 3,2% 1 л");
    assert!(catalog.iter().any(|l| l["gtin"] == "04690257528523" && l["name"] == "Вода питьевая 0,5 л"));
    let log = x.store.onec_log_of("ut11", 10).unwrap();
    assert_eq!(log[0].mode, "import");
    assert_eq!(log[0].outcome, "success");
    assert_eq!(log.iter().filter(|l| l.mode == "file").count(), 3);
}

#[test]
fn a_windows_1251_catalog_reads_as_the_same_goods() {
    let x = Exchange::new("", false);
    let cookie = x.sign_in();
    let text = import_xml("Вода питьевая 0,5 л").replace("encoding=\"UTF-8\"", "encoding=\"windows-1251\"");
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&text);
    assert!(!unmappable);
    assert_eq!(x.call("type=catalog&mode=file&filename=import.xml", None, Some(&cookie), Some(&bytes)), ["success"]);
    let answer = x.call("type=catalog&mode=import&filename=import.xml", None, Some(&cookie), None);
    assert_eq!(answer[0], "success", "{answer:?}");
    assert!(x.catalog().iter().any(|l| l["name"] == "Вода питьевая 0,5 л"));
}

#[test]
fn refusals_answer_failure_with_the_reason_and_change_nothing() {
    let x = Exchange::new("", false);
    // No or wrong credentials, no or unknown cookie.
    let wrong = x.call("type=catalog&mode=checkauth", Some(("ut11", "nope")), None, None);
    assert_eq!(wrong[0], "failure");
    assert!(wrong[1].contains("Wrong login or password"), "{wrong:?}");
    assert_eq!(x.call("type=catalog&mode=init", None, None, None)[0], "failure");
    assert_eq!(x.call("type=catalog&mode=init", None, Some("tally_1c=forged"), None)[0], "failure");
    let cookie = x.sign_in();
    assert_eq!(x.call("type=teleport&mode=init", None, Some(&cookie), None)[0], "failure");
    // A name that climbs out of the exchange, a file never uploaded.
    let climbing = x.call("type=catalog&mode=file&filename=../hub.db", None, Some(&cookie), Some(b"x"));
    assert_eq!(climbing[0], "failure");
    let missing = x.call("type=catalog&mode=import&filename=offers.xml", None, Some(&cookie), None);
    assert_eq!(missing[0], "failure");
    assert!(missing[1].contains("was not uploaded"), "{missing:?}");
    // Broken XML, a barcode with a wrong check digit: refused with the line, nothing taken.
    for (name, body) in [
        ("broken.xml", "<КоммерческаяИнформация><Каталог><Товары><Товар>".to_owned()),
        ("badcheck.xml", import_xml("Вода").replace("04690257528523", "04690257528524")),
    ] {
        let bytes = body.into_bytes();
        assert_eq!(x.call(&format!("type=catalog&mode=file&filename={name}"), None, Some(&cookie), Some(&bytes)), ["success"]);
        let answer = x.call(&format!("type=catalog&mode=import&filename={name}"), None, Some(&cookie), None);
        assert_eq!(answer[0], "failure", "{name}: {answer:?}");
        assert!(answer.len() > 1 && !answer[1].is_empty(), "{name}: a reason: {answer:?}");
    }
    assert!(x.catalog().is_empty(), "nothing of a refused file is taken");
    let log = x.store.onec_log_of("ut11", 50).unwrap();
    assert!(log.iter().any(|l| l.outcome == "failure" && l.mode == "import"));
}

#[test]
fn a_node_is_served_only_from_its_addresses_and_keeps_goods_when_told() {
    let far = Exchange::new("10.0.0.0/8", false);
    let answer = far.call("type=catalog&mode=checkauth", Some(("ut11", &far.password)), None, None);
    assert_eq!(answer[0], "failure");
    assert!(answer[1].contains("127.0.0.1"), "{answer:?}");

    let x = Exchange::new("127.0.0.0/8", true);
    let cookie = x.sign_in();
    let first = import_xml("Вода питьевая 0,5 л").into_bytes();
    x.call("type=catalog&mode=file&filename=import.xml", None, Some(&cookie), Some(&first));
    assert_eq!(x.call("type=catalog&mode=import&filename=import.xml", None, Some(&cookie), None)[0], "success");
    // The next exchange renames a good; a node told to keep what exists keeps the first name.
    let cookie = x.sign_in();
    let second = import_xml("Вода переименованная").into_bytes();
    x.call("type=catalog&mode=file&filename=import.xml", None, Some(&cookie), Some(&second));
    let answer = x.call("type=catalog&mode=import&filename=import.xml", None, Some(&cookie), None);
    assert_eq!(answer[0], "success", "{answer:?}");
    assert!(x.catalog().iter().any(|l| l["name"] == "Вода питьевая 0,5 л"));
    assert!(!x.catalog().iter().any(|l| l["name"] == "Вода переименованная"));
}

/// A zip archive of these files, as 1C packs an exchange with zip=yes.
fn zipped(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_zip_of_the_exchange_is_unpacked_safely_and_a_slow_import_answers_progress() {
    let config = OnecConfig {
        file_limit: 2048,
        unpacked_limit: 64 << 10,
        progress_after: std::time::Duration::ZERO,
        ..OnecConfig::default()
    };
    let x = Exchange::with("", false, config);
    let cookie = x.sign_in();
    let init = x.call("type=catalog&mode=init", None, Some(&cookie), None);
    assert_eq!(init, ["zip=yes", "file_limit=2048"]);
    let catalog = import_xml("Вода питьевая 0,5 л");
    let archive = zipped(&[
        ("import.xml", catalog.as_bytes()),
        ("import_files/a1/photo.jpg", &[0xFF, 0xD8, 0xFF][..]),
    ]);
    let too_big = vec![b'x'; 4096];
    assert_eq!(x.call("type=catalog&mode=file&filename=1c.zip", None, Some(&cookie), Some(&too_big))[0], "failure");
    for part in archive.chunks(1000) {
        assert_eq!(x.call("type=catalog&mode=file&filename=1c.zip", None, Some(&cookie), Some(part)), ["success"]);
    }
    // With no wait allowed, the first answer is progress; 1C asks again until it is done.
    let mut answers = Vec::new();
    for _ in 0..200 {
        let answer = x.call("type=catalog&mode=import&filename=import.xml", None, Some(&cookie), None);
        let done = answer[0] != "progress";
        answers.push(answer);
        if done {
            break;
        }
        thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(answers[0][0], "progress", "{answers:?}");
    assert!(answers[0][1].starts_with("Reading import.xml"), "{answers:?}");
    assert_eq!(answers.last().unwrap()[0], "success", "{answers:?}");
    assert_eq!(x.catalog().len(), 2);

    // An archive that climbs out of the exchange's folder, or unpacks past the limit: refused.
    for (name, archive) in [
        ("evil.zip", zipped(&[("../offers.xml", catalog.as_bytes())])),
        ("bomb.zip", zipped(&[("offers.xml", &vec![b' '; 200 << 10][..])])),
    ] {
        let cookie = x.sign_in();
        for part in archive.chunks(1000) {
            x.call(&format!("type=catalog&mode=file&filename={name}"), None, Some(&cookie), Some(part));
        }
        let mut answer = x.call("type=catalog&mode=import&filename=offers.xml", None, Some(&cookie), None);
        while answer[0] == "progress" {
            thread::sleep(std::time::Duration::from_millis(20));
            answer = x.call("type=catalog&mode=import&filename=offers.xml", None, Some(&cookie), None);
        }
        assert_eq!(answer[0], "failure", "{name}: {answer:?}");
        assert!(answer[1].contains("outside the exchange") || answer[1].contains("more than"), "{name}: {answer:?}");
    }
}

const SUPPLIER: &str = "7736207543";

/// Deliveries and an order as 1C writes its documents: one by quantity, one with the codes
/// 1C knows, one order to pick.
fn documents_xml(encoding: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="{encoding}"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.10" ДатаФормирования="2026-12-02T10:00:00">
  <Документ>
    <Ид>d-55</Ид><Номер>ПТ-55</Номер><Дата>2026-12-02</Дата><ХозОперация>Заказ товара</ХозОперация><Роль>Покупатель</Роль>
    <Валюта>руб</Валюта><Курс>1</Курс><Сумма>1200</Сумма>
    <Контрагенты><Контрагент><Ид>s1</Ид><Наименование>ООО Молоко</Наименование><Роль>Продавец</Роль><ИНН>{SUPPLIER}</ИНН></Контрагент></Контрагенты>
    <Товары>
      <Товар><Ид>a1</Ид><Наименование>Молоко 3,2% 1 л</Наименование><Штрихкод>4600840749372</Штрихкод><Количество>3.000</Количество><НеизвестныйЭлемент/></Товар>
      <Товар><Ид>a2</Ид><Наименование>Футболка</Наименование><Штрихкод>04690257528523</Штрихкод><Количество>2</Количество>
        <КодыМаркировки><КодМаркировки>010469025752852321KNOWN0001</КодМаркировки></КодыМаркировки></Товар>
    </Товары>
  </Документ>
  <Документ>
    <Ид>o-7</Ид><Номер>ЗК-7</Номер><Дата>2026-12-02</Дата><ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль>
    <Товары><Товар><Ид>a1</Ид><Штрихкод>4600840749372</Штрихкод><Количество>1</Количество></Товар></Товары>
  </Документ>
</КоммерческаяИнформация>
"#
    )
}

fn tasks(store: &tally_hub::store::Store) -> Vec<serde_json::Value> {
    let (items, _) = store.pull(Feed::Tasks, "W1", 0, 100).unwrap();
    items.iter().map(|(_, i)| serde_json::from_str(i).unwrap()).collect()
}

fn orders(store: &tally_hub::store::Store, warehouse: &str) -> Vec<serde_json::Value> {
    let (items, _) = store.pull(Feed::Orders, warehouse, 0, 100).unwrap();
    items.iter().map(|(_, i)| serde_json::from_str(i).unwrap()).collect()
}

#[test]
fn deliveries_from_1c_become_tasks_in_both_encodings_and_bad_documents_change_nothing() {
    let x = Exchange::new("", false);
    let cookie = x.sign_in();
    let in_1251 = documents_xml("windows-1251");
    let (cp1251, _, unmappable) = encoding_rs::WINDOWS_1251.encode(&in_1251);
    assert!(!unmappable);
    // Broken or wrong documents first: each refused with its reason, no task made.
    let good = documents_xml("UTF-8");
    for (name, body, code) in [
        ("broken.xml", good[..good.len() / 2].to_owned(), "not_xml"),
        ("check.xml", good.replace("4600840749372", "4600840749373"), "bad_barcode"),
        ("empty.xml", "<КоммерческаяИнформация ВерсияСхемы=\"2.10\"/>".to_owned(), "empty_exchange_file"),
        ("nogoods.xml", good.replace("<Товары>\n      <Товар><Ид>a1", "<Прочее>\n      <Товар><Ид>a1").replace("</Товар>\n    </Товары>", "</Товар>\n    </Прочее>"), "empty_document"),
        ("fraction.xml", good.replace("3.000", "2.5"), "bad_quantity"),
        ("toomany.xml", good.replace("<Количество>2</Количество>", "<Количество>0,000</Количество>"), "bad_quantity"),
    ] {
        let answer = x.call(&format!("type=sale&mode=file&filename={name}"), None, Some(&cookie), Some(body.as_bytes()));
        let answer = if answer == ["success"] {
            x.call(&format!("type=sale&mode=import&filename={name}"), None, Some(&cookie), None)
        } else {
            answer
        };
        assert_eq!(answer[0], "failure", "{name}: {answer:?}");
        assert!(answer[1..].iter().any(|l| l.contains(code)), "{name}: {code}: {answer:?}");
    }
    assert!(tasks(&x.store).is_empty(), "a refused file makes no task");

    for bytes in [good.as_bytes().to_vec(), cp1251.into_owned()] {
        // A complete documents file is read as it arrives, as 1C sends sale files with `file` alone.
        let answer = x.call("type=sale&mode=file&filename=orders.xml", None, Some(&x.sign_in()), Some(&bytes));
        assert_eq!(answer[0], "success", "{answer:?}");
        assert!(answer[1].contains("1 deliveries to accept") && answer[1].contains("1 orders to pick"), "{answer:?}");
        let tasks = tasks(&x.store);
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        let task = &tasks[0];
        assert_eq!(task["id"], "d-55");
        assert_eq!(task["senderInn"], SUPPLIER);
        assert_eq!(task["units"], serde_json::json!(["010469025752852321KNOWN0001"]));
        assert_eq!(
            task["lines"],
            serde_json::json!([
                {"gtin": "04600840749372", "quantity": 3, "name": "Молоко 3,2% 1 л", "ref": "a1"},
                {"gtin": "04690257528523", "quantity": 1, "name": "Футболка", "ref": "a2"}
            ])
        );
        tally_wire::feed::parse_task(task.to_string().as_bytes()).unwrap();
        // The customer's order is an order to pick for the node's warehouse only.
        let orders = orders(&x.store, "W1");
        assert_eq!(orders.len(), 1, "{orders:?}");
        let order = &orders[0];
        assert_eq!((&order["id"], &order["number"], &order["date"]), (&"o-7".into(), &"ЗК-7".into(), &"2026-12-02".into()));
        assert_eq!(order["receiverInn"], serde_json::Value::Null, "1C named no customer");
        assert_eq!(order["lines"], serde_json::json!([{"gtin": "04600840749372", "quantity": 1, "name": "", "ref": "a1"}]));
        assert_eq!(order["units"], serde_json::json!([]));
        let record = tally_wire::feed::parse_order(order.to_string().as_bytes()).unwrap();
        assert_eq!(record.order.unwrap().lines[0].quantity, 1);
    }
    assert!(orders(&x.store, "W2").is_empty(), "another warehouse never sees it");
    // Zipped (`zip=yes`) and in fragments: read the moment the archive is whole.
    let cookie = x.sign_in();
    let archive = zipped(&[("orders.xml", good.as_bytes())]);
    let parts: Vec<&[u8]> = archive.chunks(300).collect();
    assert!(parts.len() > 2);
    for (i, part) in parts.iter().enumerate() {
        let answer = x.call("type=sale&mode=file&filename=sale.zip", None, Some(&cookie), Some(part));
        if i + 1 < parts.len() {
            assert_eq!(answer, ["success"], "fragment {i}");
        } else {
            assert_eq!(answer[0], "success", "{answer:?}");
            assert!(answer[1].starts_with("orders.xml: 1 deliveries to accept"), "{answer:?}");
        }
    }
    assert_eq!(tasks(&x.store).len(), 1);
    let bad = good.replace("4600840749372", "4600840749373");
    let archive = zipped(&[("orders.xml", bad.as_bytes())]);
    let answer = x.call("type=sale&mode=file&filename=bad.zip", None, Some(&x.sign_in()), Some(&archive));
    assert_eq!(answer[0], "failure", "{answer:?}");
    assert!(answer.iter().any(|l| l.contains("bad_barcode")), "{answer:?}");
    assert_eq!(tasks(&x.store)[0]["lines"][0]["gtin"], "04600840749372", "the refused archive changed nothing");

    // 1C marks the delivery deleted: the task is withdrawn.
    let deleted = good.replace("<Ид>d-55</Ид>", "<Ид>d-55</Ид><ПометкаУдаления>true</ПометкаУдаления>");
    let answer = x.call("type=sale&mode=file&filename=orders.xml", None, Some(&x.sign_in()), Some(deleted.as_bytes()));
    assert_eq!(answer[0], "success", "{answer:?}");
    assert!(answer[1].contains("1 withdrawn"), "{answer:?}");
    assert_eq!(tasks(&x.store), [serde_json::json!({"id": "d-55", "remove": true})], "the terminals drop it");
    assert_eq!(orders(&x.store, "W1").len(), 1, "the order stands");

    // 1C deletes the order: withdrawn from the warehouse's terminals.
    let deleted = good.replace("<Ид>o-7</Ид>", "<Ид>o-7</Ид><ПометкаУдаления>true</ПометкаУдаления>");
    let answer = x.call("type=sale&mode=file&filename=orders.xml", None, Some(&x.sign_in()), Some(deleted.as_bytes()));
    assert_eq!(answer[0], "success", "{answer:?}");
    assert!(answer[1].contains("1 orders withdrawn"), "{answer:?}");
    assert_eq!(orders(&x.store, "W1"), [serde_json::json!({"id": "o-7", "remove": true, "warehouse": "W1"})]);
    assert!(orders(&x.store, "W2").is_empty());
}

#[test]
fn results_are_sent_until_1c_confirms_them_and_never_after() {
    use tally_domain::status::Inn;
    use tally_hub::push::hub_policy;
    use tally_wire::{PushRequest, PushResult};
    let x = Exchange::new("", false);
    let cookie = x.sign_in();
    let file = documents_xml("UTF-8");
    assert_eq!(x.call("type=sale&mode=file&filename=orders.xml", None, Some(&cookie), Some(file.as_bytes()))[0], "success");
    let milk = |n: u32| format!("0104600840749372215Q{n:05}");
    let lines: String = (1..=5)
        .map(|n| serde_json::json!({"cis": milk(n), "status": "INTRODUCED", "ownerInn": SUPPLIER, "productGroupId": 8}).to_string() + "\n")
        .collect();
    assert!(tally_hub::import::import(&x.store, Feed::Statuses, lines.as_bytes()).unwrap().rejected.is_empty());
    let code = x.store.create_enrollment_code("W1", &Inn::parse("7707083893").unwrap(), Timestamp(0)).unwrap();
    let device = x.store.enroll(&code, "W1", "0.1.0", Timestamp(0)).unwrap().unwrap().device;
    let push = |seq: u64, payload: serde_json::Value| {
        let request: PushRequest = serde_json::from_value(serde_json::json!({
            "device": {"app_version": "0.1.0", "queue_depth": 0, "cache_synced_at": null},
            "operations": [{"uuid": uuid::Uuid::new_v4().to_string(), "seq": seq, "kind": "acceptance",
                "operator": "Анна", "started_at": 1_796_160_000_000i64, "finished_at": 1_796_160_600_000i64,
                "payload": payload}],
        })).unwrap();
        let answers = x.store.push(&device, &request, &hub_policy(), Timestamp(1_796_160_700_000)).unwrap();
        assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");
    };
    // The delivery accepted by quantity: two of three milk, one over on nothing; the T-shirt code missing.
    push(1, serde_json::json!({"task_id": "d-55", "accepted": [milk(1), milk(2)],
        "missing": ["010469025752852321KNOWN0001"], "acceptance_date": "2026-12-02",
        "lines": [{"gtin": "04600840749372", "expected": 3, "accepted": 2, "over": 0}]}));
    let query = |x: &Exchange| -> String {
        x.call("type=sale&mode=query", None, Some(&x.sign_in()), None).join("\n")
    };
    let first = query(&x);
    assert!(first.starts_with("<?xml"), "{first}");
    assert_eq!(first.matches("<Документ>").count(), 1, "{first}");
    assert!(first.contains("<Номер>ПТ-55</Номер>") && first.contains("<Основание>d-55</Основание>"), "{first}");
    assert!(first.contains(&format!("<КодМаркировки>{}</КодМаркировки>", milk(1))), "{first}");
    assert!(first.contains("<Количество>2</Количество>"), "{first}");
    assert!(first.replace(' ', "").contains("<Наименование>Недостача</Наименование>\n<Значение>1</Значение>"), "{first}");
    // 1C dies before success: the next query sends the same document again, with a new one.
    push(2, serde_json::json!({"accepted": [milk(3)], "acceptance_date": "2026-12-02"}));
    let again = query(&x);
    assert_eq!(again.matches("<Документ>").count(), 2, "{again}");
    let cookie = x.sign_in();
    let confirmed = x.call("type=sale&mode=success", None, Some(&cookie), None);
    assert_eq!(confirmed[0], "success");
    assert!(confirmed[1].starts_with("2 results confirmed"), "{confirmed:?}");
    // Never again: the next query is empty, a second success confirms nothing.
    assert_eq!(query(&x).matches("<Документ>").count(), 0);
    assert!(x.call("type=sale&mode=success", None, Some(&x.sign_in()), None)[1].starts_with("0 results"));
    // The JSON twin holds both, for integrators with a cursor of their own.
    let results = x.store.results_page(Some("W1"), 0, 10).unwrap();
    let built = tally_hub::onec::results::load(&x.store, &results).unwrap();
    assert_eq!(built.len(), 2);
    let milk_line = built[0].lines.iter().find(|l| l.gtin == "04600840749372").unwrap();
    assert_eq!((milk_line.expected, milk_line.quantity, milk_line.short), (Some(3), 2, 1));
    assert_eq!(milk_line.reference.as_deref(), Some("a1"));
    let shirt = built[0].lines.iter().find(|l| l.gtin == "04690257528523").unwrap();
    assert_eq!((shirt.expected, shirt.quantity, shirt.short), (Some(2), 0, 2));
    assert_eq!(built[1].number, format!("ТСД-{}", built[1].cursor));
}

#[test]
fn a_shipment_against_a_1c_order_goes_back_to_1c_with_its_lines() {
    use tally_domain::status::Inn;
    use tally_hub::push::hub_policy;
    use tally_wire::{PushRequest, PushResult};
    let x = Exchange::new("", false);
    let file = documents_xml("UTF-8");
    assert_eq!(x.call("type=sale&mode=file&filename=orders.xml", None, Some(&x.sign_in()), Some(file.as_bytes()))[0], "success");
    let ours = "7707083893";
    let milk = |n: u32| format!("0104600840749372215S{n:05}");
    let lines: String = (1..=2)
        .map(|n| serde_json::json!({"cis": milk(n), "status": "INTRODUCED", "ownerInn": ours, "productGroupId": 8}).to_string() + "\n")
        .collect();
    assert!(tally_hub::import::import(&x.store, Feed::Statuses, lines.as_bytes()).unwrap().rejected.is_empty());
    let code = x.store.create_enrollment_code("W1", &Inn::parse(ours).unwrap(), Timestamp(0)).unwrap();
    let device = x.store.enroll(&code, "W1", "0.1.0", Timestamp(0)).unwrap().unwrap().device;
    // Order ЗК-7 asks one milk (1C's goods a1); two were shipped, one past the order.
    let request: PushRequest = serde_json::from_value(serde_json::json!({
        "device": {"app_version": "0.1.0", "queue_depth": 0, "cache_synced_at": null},
        "operations": [{"uuid": uuid::Uuid::new_v4().to_string(), "seq": 1, "kind": "shipment",
            "operator": "Анна", "started_at": 1_796_160_000_000i64, "finished_at": 1_796_160_600_000i64,
            "payload": {"order_id": "o-7", "receiver_inn": SUPPLIER, "document_number": "ЗК-7",
                "document_date": "2026-12-02", "units": [milk(1), milk(2)],
                "lines": [{"gtin": "04600840749372", "ordered": 1, "shipped": 1, "over": 1}],
                "over": [milk(2)], "missing": []}}],
    })).unwrap();
    let answers = x.store.push(&device, &request, &hub_policy(), Timestamp(1_796_160_700_000)).unwrap();
    assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");

    let answer = x.call("type=sale&mode=query", None, Some(&x.sign_in()), None).join("\n");
    assert_eq!(answer.matches("<Документ>").count(), 1, "{answer}");
    for wanted in [
        "<Номер>ЗК-7</Номер>",
        "<Основание>o-7</Основание>",
        "<Роль>Продавец</Роль>",
        "<Роль>Покупатель</Роль>",
        &format!("<ИНН>{SUPPLIER}</ИНН>"),
        "<Ид>a1</Ид>",
        "<Количество>2</Количество>",
        &format!("<КодМаркировки>{}</КодМаркировки>", milk(1)),
    ] {
        assert!(answer.contains(wanted), "{wanted}: {answer}");
    }
    let flat = answer.replace(' ', "");
    for (name, value) in [("КоличествоПоЗаданию", "1"), ("Излишек", "1"), ("Недостача", "0"), ("ОперацияТСД", "shipment")] {
        assert!(flat.contains(&format!("<Наименование>{name}</Наименование>\n<Значение>{value}</Значение>")), "{name}: {answer}");
    }
    assert!(flat.contains(&format!("<Наименование>КодИзлишка</Наименование>\n<Значение>{}</Значение>", milk(2))), "{answer}");

    let results = x.store.results_page(Some("W1"), 0, 10).unwrap();
    let built = tally_hub::onec::results::load(&x.store, &results).unwrap();
    assert_eq!(built.len(), 1);
    let result = &built[0];
    assert_eq!((result.kind.as_str(), result.order_id.as_deref(), result.task_id.as_deref()), ("shipment", Some("o-7"), None));
    assert_eq!(result.counterparty_inn.as_deref(), Some(SUPPLIER));
    let line = &result.lines[0];
    assert_eq!((line.expected, line.quantity, line.over, line.short), (Some(1), 2, 1, 0));
    assert_eq!(line.codes, [milk(1), milk(2)]);
    assert_eq!(result.surplus, [milk(2)]);
}
