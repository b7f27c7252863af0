//! `tally-hub bench-onec`: a 1C catalog of N goods read from CommerceML and imported into a
//! throwaway hub, beside the hub's own JSON-lines import of the same goods; with `--results
//! N`, 1C's `query` of N result documents beside a `/v1/results` page of the same.
//!
//! Both catalog paths end in the same store import, so the difference is what reading
//! CommerceML costs: decoding the file (UTF-8 or windows-1251) and streaming its XML. Both
//! results paths read the same rows and build the same results; the query also numbers and
//! records its batch.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use tally_hub::import::import;
use tally_hub::onec::site::import_catalog;
use tally_hub::store::Store;
use tally_wire::Feed;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Goods in the catalog.
    #[arg(long, default_value_t = 100_000)]
    goods: u32,
    /// Write the file in windows-1251, as 1C 7.7 and old configurations send it.
    #[arg(long)]
    windows_1251: bool,
    /// Instead of a catalog: this many applied acceptances (5 codes each) queried by 1C.
    #[arg(long)]
    results: Option<u32>,
    /// Where the throwaway databases go (a new directory inside it, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A GTIN-14 with its check digit for the n-th good.
fn gtin(n: u32) -> String {
    let body = format!("0460{n:09}");
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn catalog_xml(goods: u32, encoding: &str) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n<КоммерческаяИнформация \
         xmlns=\"urn:1C.ru:commerceml_2\" ВерсияСхемы=\"2.10\" \
         ДатаФормирования=\"2026-12-02T10:00:00\">\n<Каталог СодержитТолькоИзменения=\"false\">\
         <Ид>cat</Ид><Наименование>Товары</Наименование><Товары>\n"
    );
    for n in 0..goods {
        xml.push_str(&format!(
            "<Товар><Ид>{n}</Ид><Штрихкод>{}</Штрихкод><Наименование>Товар номер {n}, 1 л\
             </Наименование><БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\">шт\
             </БазоваяЕдиница><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>\
             ТоварнаяГруппаМаркировки</Наименование><Значение>milk</Значение>\
             </ЗначениеРеквизита></ЗначенияРеквизитов></Товар>\n",
            gtin(n)
        ));
    }
    xml.push_str("</Товары></Каталог></КоммерческаяИнформация>\n");
    xml
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("tally-bench-onec-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = match args.results {
        Some(results) => measure_results(results, &dir),
        None => measure(args, &dir),
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(args: &Args, dir: &std::path::Path) -> anyhow::Result<()> {
    let encoding = if args.windows_1251 {
        "windows-1251"
    } else {
        "UTF-8"
    };
    let text = catalog_xml(args.goods, encoding);
    let file: Vec<u8> = if args.windows_1251 {
        encoding_rs::WINDOWS_1251.encode(&text).0.into_owned()
    } else {
        text.into_bytes()
    };
    let lines: String = (0..args.goods)
        .map(|n| {
            json!({"gtin": gtin(n), "name": format!("Товар номер {n}, 1 л"),
                   "productGroupId": 8, "unit": "Штука"})
            .to_string()
                + "\n"
        })
        .collect();

    let store = Store::open(dir.join("commerceml.db"))?;
    let started = Instant::now();
    let said =
        import_catalog(&store, &file, false, &Default::default()).map_err(anyhow::Error::msg)?;
    let commerceml = started.elapsed();

    let store = Store::open(dir.join("json.db"))?;
    let started = Instant::now();
    let report = import(&store, Feed::Catalog, lines.as_bytes())?;
    let json_lines = started.elapsed();
    anyhow::ensure!(
        report.imported == u64::from(args.goods),
        "the JSON import took {report:?}"
    );
    println!(
        "{}",
        json!({
            "goods": args.goods,
            "encoding": encoding,
            "commerceml_bytes": file.len(),
            "commerceml_seconds": commerceml.as_secs_f64(),
            "json_lines_bytes": lines.len(),
            "json_lines_seconds": json_lines.as_secs_f64(),
            "answer": said,
        })
    );
    Ok(())
}

/// The query of `count` results, each an acceptance of 5 codes, beside the JSON page of them.
fn measure_results(count: u32, dir: &std::path::Path) -> anyhow::Result<()> {
    use tally_domain::status::{Inn, Timestamp};
    use tally_hub::store::onec::OnecNode;
    use tally_wire::PushRequest;
    const PER: u32 = 5;
    let store = Store::open(dir.join("results.db"))?;
    let cis = |n: u32| format!("01{}21R{n:08}", gtin(n % 50));
    let lines: String = (0..count * PER)
        .map(|n| {
            json!({"cis": cis(n), "status": "INTRODUCED", "ownerInn": "7736207543",
                   "productGroupId": 8})
            .to_string()
                + "\n"
        })
        .collect();
    import(&store, Feed::Statuses, lines.as_bytes())?;
    let inn = Inn::parse("7707083893").context("the INN")?;
    let code = store.create_enrollment_code("W1", &inn, Timestamp(0))?;
    let device = store
        .enroll(&code, "W1", "0.1.0", Timestamp(0))?
        .context("the enrollment")?
        .device;
    store
        .onec_add_node(
            &OnecNode {
                name: "ut11".into(),
                warehouse: "W1".into(),
                allow: String::new(),
                keep_existing: false,
            },
            Timestamp(0),
        )?
        .context("the node")?;
    let policy = tally_hub::push::hub_policy();
    for chunk in (0..count).collect::<Vec<_>>().chunks(200) {
        let operations: Vec<serde_json::Value> = chunk
            .iter()
            .map(|&i| {
                json!({"uuid": uuid::Uuid::new_v4().to_string(), "seq": i + 1,
                       "kind": "acceptance", "operator": "Анна",
                       "started_at": 1_796_160_000_000i64, "finished_at": 1_796_160_600_000i64,
                       "payload": {"accepted": (i * PER..(i + 1) * PER).map(cis).collect::<Vec<_>>(),
                                   "acceptance_date": "2026-12-02"}})
            })
            .collect();
        let request: PushRequest = serde_json::from_value(json!({
            "device": {"app_version": "0.1.0", "queue_depth": 0, "cache_synced_at": null},
            "operations": operations,
        }))?;
        store.push(&device, &request, &policy, Timestamp(1_796_160_700_000))?;
    }

    let started = Instant::now();
    let rows = store.onec_query("ut11", count, Timestamp(1_796_160_800_000))?;
    let results = tally_hub::onec::results::load(&store, &rows)?;
    let xml = tally_hub::onec::results::commerceml(&results, Timestamp(1_796_160_800_000));
    let query = started.elapsed();
    anyhow::ensure!(
        results.len() == count as usize,
        "the query sent {} of {count}",
        results.len()
    );

    let started = Instant::now();
    let rows = store.results_page(Some("W1"), 0, count)?;
    let page = serde_json::to_vec(&tally_hub::onec::results::load(&store, &rows)?)?;
    let json_page = started.elapsed();
    println!(
        "{}",
        json!({
            "results": count,
            "codes_each": PER,
            "commerceml_bytes": xml.len(),
            "query_seconds": query.as_secs_f64(),
            "json_bytes": page.len(),
            "json_seconds": json_page.as_secs_f64(),
        })
    );
    Ok(())
}
