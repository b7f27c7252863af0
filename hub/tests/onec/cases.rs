use std::thread;

use tally_domain::status::Timestamp;
use tally_hub::server::Hub;
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
        let hub = Hub::bind(db.store(), "127.0.0.1:0").unwrap();
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
    assert_eq!(init[0], "zip=no");
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
