//! What an imported exchange file does to the hub: a catalog read from 1C's CommerceML goes
//! into the catalog feed the terminals pull, a delivery into the tasks feed, a customer's
//! order into the orders feed, each through the same import as a file would.

use tally_domain::lang::Lang;
use tally_domain::reason::Reason;
use tally_wire::{Feed, feed};

use super::commerceml::{Failure, ReadOptions, catalog_lines, decode, read_catalog};
use super::documents::{WorkKind, order_line, read_documents, task_line};
use crate::store::Store;

/// Imports a catalog file (`import.xml`, `offers.xml`): `Ok` with a line for 1C saying what
/// was taken, `Err` with the lines 1C shows when nothing was (each failure, English and
/// Russian, with its line in the file). Nothing is written when the file is refused.
pub fn import_catalog(
    store: &Store,
    bytes: &[u8],
    keep_existing: bool,
    options: &ReadOptions,
) -> Result<String, String> {
    let text = decode(bytes).map_err(|f| failures(&[f]))?;
    let catalog = read_catalog(&text, options).map_err(|f| failures(&f))?;
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

/// Imports a documents file of the sale exchange: each delivery becomes (or replaces, or
/// withdraws) an acceptance task of the node's warehouse, each customer's order an order to
/// pick. `Ok` with a line for 1C, `Err` with every failure; nothing is written when the file
/// is refused: every line is judged by the terminals' parser before any is imported.
pub fn import_documents(
    store: &Store,
    bytes: &[u8],
    node: &str,
    warehouse: &str,
) -> Result<String, String> {
    let text = decode(bytes).map_err(|f| failures(&[f]))?;
    let documents = read_documents(&text).map_err(|f| failures(&f))?;
    let source = format!("1c:{node}");
    let (mut tasks, mut orders) = (Vec::new(), Vec::new());
    let (mut deliveries, mut withdrawn, mut picks, mut picks_withdrawn) = (0, 0, 0, 0);
    let mut refused = Vec::new();
    for document in &documents {
        let (line, judged, body) = match document.kind {
            WorkKind::Delivery => {
                let line = task_line(document, warehouse, &source).to_string();
                let judged = feed::parse_task(line.as_bytes()).map(drop);
                (line, judged, &mut tasks)
            }
            WorkKind::Pick => {
                let line = order_line(document, warehouse, &source).to_string();
                let judged = feed::parse_order(line.as_bytes()).map(drop);
                (line, judged, &mut orders)
            }
        };
        if let Err(reason) = judged {
            refused.push(format!(
                "document {}: {}: {} / {}",
                document.id,
                reason.code(),
                reason.message(Lang::En),
                reason.message(Lang::Ru)
            ));
            continue;
        }
        match (document.kind, document.deleted) {
            (WorkKind::Delivery, false) => deliveries += 1,
            (WorkKind::Delivery, true) => withdrawn += 1,
            (WorkKind::Pick, false) => picks += 1,
            (WorkKind::Pick, true) => picks_withdrawn += 1,
        }
        body.extend_from_slice(line.as_bytes());
        body.push(b'\n');
    }
    if !refused.is_empty() {
        return Err(refused.join("\n"));
    }
    for (feed, body) in [(Feed::Tasks, &tasks), (Feed::Orders, &orders)] {
        if body.is_empty() {
            continue;
        }
        let report = crate::import::import(store, feed, &body[..])
            .map_err(|e| format!("the hub's database: {e}\nбаза хаба: {e}"))?;
        if !report.rejected.is_empty() {
            let reasons: Vec<String> = report
                .rejected
                .iter()
                .map(|r| format!("document {}: {}", r.line, r.reason))
                .collect();
            return Err(reasons.join("\n"));
        }
    }
    Ok(format!(
        "{deliveries} deliveries to accept, {withdrawn} withdrawn, {picks} orders to pick, \
         {picks_withdrawn} orders withdrawn / поступлений к приёмке: {deliveries}, отменено: \
         {withdrawn}, заказов к отгрузке: {picks}, заказов отменено: {picks_withdrawn}"
    ))
}

/// The files of an exchange's zip archive (`zip=yes`), each by its path inside the archive.
/// Unpacked safely: a path that would leave the exchange's folder (absolute, `..`, a drive) or
/// an archive that unpacks to more than `limit` bytes is refused before its bytes are read,
/// and the sizes the archive claims are held to while reading, so a forged header unpacks no
/// more than it says.
pub fn unpack(archive: &[u8], limit: u64) -> Result<Vec<(String, Vec<u8>)>, String> {
    use std::io::Read as _;
    let refused = |en: String, ru: String| format!("{en}\n{ru}");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).map_err(|e| {
        refused(
            format!("The upload is not a zip archive: {e}."),
            format!("Загруженный файл не zip-архив: {e}."),
        )
    })?;
    let mut claimed: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| {
            refused(
                format!("The zip archive does not read: {e}."),
                format!("Zip-архив не читается: {e}."),
            )
        })?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        if !safe_path(&name) {
            return Err(refused(
                format!("The zip archive has the path \"{name}\", outside the exchange's folder."),
                format!("В zip-архиве путь «{name}» за пределами папки обмена."),
            ));
        }
        claimed = claimed.saturating_add(entry.size());
    }
    if claimed > limit {
        return Err(refused(
            format!("The zip archive unpacks to {claimed} bytes, more than the {limit} allowed."),
            format!("Zip-архив распаковывается в {claimed} байт, больше допустимых {limit}."),
        ));
    }
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| {
            refused(
                format!("The zip archive does not read: {e}."),
                format!("Zip-архив не читается: {e}."),
            )
        })?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let size = entry.size();
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 26));
        // One byte past the claimed size tells a lying header from an honest one.
        (&mut entry)
            .take(size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| {
                refused(
                    format!("{name} in the zip archive does not unpack: {e}."),
                    format!("{name} в zip-архиве не распаковывается: {e}."),
                )
            })?;
        if bytes.len() as u64 != size {
            return Err(refused(
                format!("{name} in the zip archive is not the size its header says."),
                format!("Размер {name} в zip-архиве не совпадает с заголовком."),
            ));
        }
        files.push((name, bytes));
    }
    Ok(files)
}

/// Whether an upload is a whole zip archive: its end-of-central-directory record, written
/// last, is there and the directory it points at reads.
pub fn whole_archive(bytes: &[u8]) -> bool {
    zip::ZipArchive::new(std::io::Cursor::new(bytes)).is_ok()
}

/// A relative path that stays inside the folder it is unpacked in.
fn safe_path(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 500
        && !name.starts_with(['/', '\\'])
        && !name.contains(['\\', '\0', ':'])
        && name.split('/').all(|part| part != ".." && part != ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_exchange() {
        for good in ["import.xml", "import_files/ab/ab12.jpg", "dir/"] {
            assert!(safe_path(good), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x.xml",
            "a/../../x",
            "C:/x",
            "a\\b",
            "./a",
        ] {
            assert!(!safe_path(bad), "{bad}");
        }
    }
}
