//! What an imported exchange file does to the hub: a catalog read from 1C's CommerceML goes
//! into the catalog feed the terminals pull, through the same import as a file would.

use tally_wire::Feed;

use super::commerceml::{Failure, ReadOptions, catalog_lines, decode, read_catalog};
use crate::store::Store;

/// Imports a catalog file (`import.xml`, `offers.xml`): `Ok` with a line for 1C saying what
/// was taken, `Err` with the lines 1C shows when nothing was (each failure, English and
/// Russian, with its line in the file). Nothing is written when the file is refused.
pub fn import_catalog(store: &Store, bytes: &[u8], keep_existing: bool) -> Result<String, String> {
    let text = decode(bytes).map_err(|f| failures(&[f]))?;
    let catalog = read_catalog(&text, &ReadOptions::default()).map_err(|f| failures(&f))?;
    let lines = catalog_lines(&catalog);
    let without_barcode = catalog.items.iter().filter(|i| i.gtins.is_empty()).count();
    let mut body = Vec::new();
    let mut kept = 0usize;
    for line in &lines {
        if keep_existing
            && let Some(gtin) = line.get("gtin").and_then(serde_json::Value::as_str)
            && store
                .catalog_item(gtin)
                .map_err(|e| format!("the hub's database: {e}"))?
                .is_some()
        {
            kept += 1;
            continue;
        }
        body.extend_from_slice(line.to_string().as_bytes());
        body.push(b'\n');
    }
    let report = crate::import::import(store, Feed::Catalog, &body[..])
        .map_err(|e| format!("the hub's database: {e}\nбаза хаба: {e}"))?;
    if !report.rejected.is_empty() {
        let reasons: Vec<String> = report
            .rejected
            .iter()
            .map(|r| format!("line {}: {}", r.line, r.reason))
            .collect();
        return Err(reasons.join("\n"));
    }
    Ok(format!(
        "{} goods taken, {kept} kept as they were, {without_barcode} without a barcode skipped / \
         принято товаров: {}, оставлено как было: {kept}, без штрихкода пропущено: {without_barcode}",
        report.imported, report.imported
    ))
}

fn failures(all: &[Failure]) -> String {
    all.iter()
        .map(|f| format!("{} (line {}): {} / {}", f.code, f.line, f.en, f.ru))
        .collect::<Vec<_>>()
        .join("\n")
}
