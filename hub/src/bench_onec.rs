//! `tally-hub bench-onec`: a 1C catalog of N goods read from CommerceML and imported into a
//! throwaway hub, beside the hub's own JSON-lines import of the same goods.
//!
//! Both paths end in the same store import, so the difference is what reading CommerceML
//! costs: decoding the file (UTF-8 or windows-1251) and streaming its XML.

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
    let result = measure(args, &dir);
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
