//! The export service ("dispenser", True API §8): a `FILTERED_CIS_REPORT` of the codes a
//! participant owns, ordered as a task, prepared, then downloaded as a zipped CSV.
//!
//! What is taken and refused follows the public clients (Spoleto.TrueApi `CisSearchModel`,
//! `CisSearchParamsModel`, `DispenserTaskModel`; integrations' parsers of the file): the task's
//! `params` is a JSON text, not an object; its `participantInn` must be the token's; the file's
//! first line describes the filter and the second is the header, with the code in
//! `requestedCis`. The columns past those the parsers read are not known [U].

use std::io::Write as _;

use serde_json::{Value, json};
use tally_domain::product_group::ProductGroup;

use crate::state::{CisInfo, field};

/// Package levels the report takes (`PackType`).
const PACKAGE_TYPES: &[&str] = &[
    "UNIT", "GROUP", "LEVEL1", "LEVEL2", "LEVEL3", "LEVEL4", "LEVEL5", "ATK", "BUNDLE", "SET",
];

/// One ordered export and the codes it found when ordered.
#[derive(Debug, Clone)]
pub struct Export {
    pub id: String,
    pub result_id: String,
    pub inn: String,
    pub pg: u8,
    pub created_at: String,
    /// Status reads so far: the first answers `PREPARATION`, as a real export takes a while.
    pub reads: u32,
    pub filter: String,
    pub rows: Vec<CisInfo>,
}

impl Export {
    pub fn status(&self) -> &'static str {
        if self.reads == 0 {
            "PREPARATION"
        } else {
            "COMPLETED"
        }
    }

    /// The task as `dispenser/tasks` answers it.
    pub fn task(&self) -> Value {
        json!({
            "id": self.id,
            "name": "FILTERED_CIS_REPORT",
            "createDate": self.created_at,
            "currentStatus": self.status(),
            "orgInn": self.inn,
            "periodicity": "SINGLE",
            "productGroupCode": self.pg,
            "timeoutSecs": 300,
        })
    }

    /// The result as `dispenser/results` lists it, once the export is ready.
    pub fn result(&self) -> Option<Value> {
        (self.status() == "COMPLETED").then(|| {
            json!({
                "id": self.result_id,
                "taskId": self.id,
                "name": "FILTERED_CIS_REPORT",
                "createDate": self.created_at,
                "downloadStatus": "SUCCESS",
                "available": "AVAILABLE",
                "productGroupCode": self.pg,
            })
        })
    }
}

/// What an order asked for, once taken.
#[derive(Debug, PartialEq, Eq)]
pub struct Order {
    pub pg: u8,
    pub participant: String,
    pub status: String,
    pub package_types: Vec<String>,
}

/// Why an order is refused: the status GIS MT answers and its message.
pub type Refused = (u16, String);

/// Reads an order (`POST dispenser/tasks`) made with a token of `inn`.
pub fn order(body: &Value, inn: &str) -> Result<Order, Refused> {
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    if text("name") != Some("FILTERED_CIS_REPORT") {
        return Err((400, "Неизвестное наименование выгрузки (name)".into()));
    }
    if text("format") != Some("CSV") {
        return Err((400, "Формат выгрузки (format) должен быть CSV".into()));
    }
    if text("periodicity") != Some("SINGLE") {
        return Err((400, "Вид выгрузки (periodicity) должен быть SINGLE".into()));
    }
    // Clients send the code as a string ("8") or a number (8).
    let pg = match body.get("productGroupCode") {
        Some(Value::String(s)) => s.parse::<u8>().ok(),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        _ => None,
    }
    .filter(|id| ProductGroup::from_id(*id).is_some())
    .ok_or((
        400,
        "Неизвестная товарная группа (productGroupCode)".to_owned(),
    ))?;
    let params: Value = text("params")
        .and_then(|p| serde_json::from_str(p).ok())
        .filter(Value::is_object)
        .ok_or((
            400,
            "Параметры выгрузки (params) должны быть строкой JSON".to_owned(),
        ))?;
    let participant = params
        .get("participantInn")
        .and_then(Value::as_str)
        .ok_or((400, "Не указан ИНН участника (participantInn)".to_owned()))?;
    if participant != inn {
        return Err((403, "Выгрузка доступна только по своему ИНН".into()));
    }
    let status = params
        .get("status")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or((400, "Не указан статус КИ (status)".to_owned()))?;
    let package_types: Vec<String> = params
        .get("packageType")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if package_types.is_empty()
        || package_types
            .iter()
            .any(|p| !PACKAGE_TYPES.contains(&p.as_str()))
    {
        return Err((400, "Некорректный тип упаковки (packageType)".into()));
    }
    Ok(Order {
        pg,
        participant: participant.to_owned(),
        status: status.to_owned(),
        package_types,
    })
}

/// The codes an order finds: the participant's own, of its group, status and package levels.
pub fn found<'a>(order: &Order, codes: impl Iterator<Item = &'a CisInfo>) -> Vec<CisInfo> {
    let mut rows: Vec<CisInfo> = codes
        .filter(|info| {
            field(info, "ownerInn") == order.participant
                && field(info, "status") == order.status
                && info.get("productGroupId").and_then(Value::as_u64) == Some(u64::from(order.pg))
                && order
                    .package_types
                    .iter()
                    .any(|p| p == field(info, "packageType"))
        })
        .cloned()
        .collect();
    rows.sort_by(|a, b| field(a, "cis").cmp(field(b, "cis")));
    rows
}

/// The filter line the file starts with.
pub fn filter_line(order: &Order) -> String {
    format!(
        "Filter(participantInn={}, status={}, packageType=[{}], productGroupCode={})",
        order.participant,
        order.status,
        order.package_types.join(", "),
        order.pg
    )
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The report as a zip of one `report.csv`.
pub fn file(export: &Export) -> std::io::Result<Vec<u8>> {
    let mut csv = String::new();
    csv.push_str(&export.filter);
    csv.push('\n');
    let columns = [
        "requestedCis",
        "gtin",
        "status",
        "packageType",
        "productGroup",
        "ownerInn",
        "productName",
    ];
    csv.push_str(
        &columns
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(","),
    );
    csv.push('\n');
    let group = ProductGroup::from_id(export.pg).map_or("", ProductGroup::code);
    for info in &export.rows {
        let row = [
            field(info, "cis"),
            field(info, "gtin"),
            field(info, "status"),
            field(info, "packageType"),
            group,
            field(info, "ownerInn"),
            field(info, "productName"),
        ];
        csv.push_str(&row.iter().map(|v| quoted(v)).collect::<Vec<_>>().join(","));
        csv.push('\n');
    }
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    zip.start_file("report.csv", zip::write::SimpleFileOptions::default())
        .map_err(std::io::Error::other)?;
    zip.write_all(csv.as_bytes())?;
    zip.finish().map_err(std::io::Error::other)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(params: &Value) -> Value {
        json!({"format": "CSV", "name": "FILTERED_CIS_REPORT", "periodicity": "SINGLE",
               "productGroupCode": "8", "params": params.to_string()})
    }

    #[test]
    fn an_order_is_read_and_its_refusals_name_the_field() {
        let good = json!({"participantInn": "7707083893", "packageType": ["UNIT"], "status": "INTRODUCED"});
        assert_eq!(
            order(&body(&good), "7707083893"),
            Ok(Order {
                pg: 8,
                participant: "7707083893".into(),
                status: "INTRODUCED".into(),
                package_types: vec!["UNIT".into()],
            })
        );
        assert_eq!(order(&body(&good), "7702070139").unwrap_err().0, 403);
        let mut object_params = body(&good);
        object_params["params"] = good.clone();
        assert!(
            order(&object_params, "7707083893")
                .unwrap_err()
                .1
                .contains("params")
        );
        let mut no_group = body(&good);
        no_group["productGroupCode"] = json!("99");
        assert!(
            order(&no_group, "7707083893")
                .unwrap_err()
                .1
                .contains("productGroupCode")
        );
        let bad_pack = json!({"participantInn": "7707083893", "packageType": ["CRATE"], "status": "INTRODUCED"});
        assert!(
            order(&body(&bad_pack), "7707083893")
                .unwrap_err()
                .1
                .contains("packageType")
        );
        let no_status = json!({"participantInn": "7707083893", "packageType": ["UNIT"]});
        assert!(
            order(&body(&no_status), "7707083893")
                .unwrap_err()
                .1
                .contains("status")
        );
    }
}
