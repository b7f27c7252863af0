//! How a document is judged against the emulator's codes, after its `IN_PROGRESS` reads: the
//! preconditions GIS MT enforces per document type (marking-codes.md §5 and §7), Russian error
//! texts naming each code, and on success the document's effect on the codes. A document is
//! all or nothing: one error and no code changes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use tally_domain::product_group::ProductGroup;

use crate::state::{CisInfo, DocStatus, State, field, spellings};

/// `statusEx` values that block no operation (absent counts as `EMPTY`).
const FREE_EX: &[&str] = &["", "EMPTY", "WAIT_TRANSFER_TO_OWNER"];
/// `statusEx` values a withdrawal may start from.
const WITHDRAW_EX: &[&str] = &["", "EMPTY", "CONNECT_TAP", "WAIT_TRANSFER_TO_OWNER"];

/// Fields of document bodies that name a code.
const CODE_FIELDS: &[&str] = &[
    "uit_code",
    "uitu_code",
    "cis",
    "uit",
    "uitu",
    "uit_uitu",
    "unitSerialNumber",
    "sntins",
    "last_uin",
    "new_uin",
    "ki",
];

/// Every code a body names, as written.
pub fn named_codes(body: &Value) -> Vec<String> {
    fn walk(v: &Value, key: Option<&str>, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| walk(v, Some(k), out)),
            Value::Array(a) => a.iter().for_each(|v| walk(v, key, out)),
            Value::String(s) if key.is_some_and(|k| CODE_FIELDS.contains(&k)) => {
                out.push(s.clone());
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, None, &mut out);
    out
}

/// The codes as a document changes them: reads see earlier changes of the same document.
struct Work<'a> {
    state: &'a State,
    changed: BTreeMap<String, CisInfo>,
    pending: BTreeMap<String, Option<String>>,
    errors: Vec<String>,
    inn: String,
    pg: Option<ProductGroup>,
}

impl Work<'_> {
    fn key(&self, code: &str) -> Option<String> {
        spellings(code)
            .into_iter()
            .find(|k| self.changed.contains_key(k) || self.state.codes.contains_key(k))
    }

    fn get(&self, key: &str) -> Option<CisInfo> {
        self.changed
            .get(key)
            .or_else(|| self.state.codes.get(key))
            .cloned()
    }

    fn put(&mut self, key: &str, info: CisInfo) {
        self.changed.insert(key.to_owned(), info);
    }

    fn edit(&mut self, key: &str, f: impl FnOnce(&mut CisInfo)) {
        if let Some(mut info) = self.get(key) {
            f(&mut info);
            self.put(key, info);
        }
    }

    fn pending_to(&self, key: &str) -> Option<String> {
        match self.pending.get(key) {
            Some(p) => p.clone(),
            None => self.state.pending.get(key).cloned(),
        }
    }

    fn error(&mut self, text: String) {
        self.errors.push(text);
    }

    /// The code's key and `cisInfo`, or an error naming it.
    fn find(&mut self, code: &str) -> Option<(String, CisInfo)> {
        let found = self.key(code).and_then(|k| self.get(&k).map(|i| (k, i)));
        if found.is_none() {
            self.error(format!("Код идентификации {code} не найден в ГИС МТ"));
        }
        found
    }

    /// A code of the document's product group, owned by `owner`, in one of `statuses`.
    fn check(&mut self, code: &str, owner: &str, statuses: &[&str]) -> Option<(String, CisInfo)> {
        let (key, info) = self.find(code)?;
        let mut ok = true;
        if let (Some(pg), Some(id)) = (self.pg, info.get("productGroupId").and_then(Value::as_u64))
            && id != u64::from(pg.id())
        {
            self.error(format!(
                "Код идентификации {code} относится к товарной группе {id}, документ подан по товарной группе {} ({})",
                pg.id(),
                pg.code()
            ));
            ok = false;
        }
        if field(&info, "ownerInn") != owner {
            self.error(format!(
                "Код идентификации {code} не принадлежит участнику с ИНН {owner}"
            ));
            ok = false;
        }
        let status = field(&info, "status");
        if !statuses.contains(&status) {
            self.error(format!(
                "Код идентификации {code} находится в статусе {}, операция допустима в статусе {}",
                if status.is_empty() {
                    "(нет статуса)"
                } else {
                    status
                },
                statuses.join(" или ")
            ));
            ok = false;
        }
        ok.then_some((key, info))
    }

    fn status_ex_in(&mut self, code: &str, info: &CisInfo, allowed: &[&str]) -> bool {
        let ex = field(info, "statusEx");
        if allowed.contains(&ex) {
            return true;
        }
        self.error(format!(
            "Код идентификации {code} имеет дополнительный статус {ex}, операция невозможна"
        ));
        false
    }

    /// The document's INN field must be the signer's.
    fn participant(&mut self, body: &Value, name: &str) -> bool {
        let inn = body.get(name).and_then(Value::as_str).unwrap_or("");
        if inn == self.inn {
            return true;
        }
        self.error(format!(
            "ИНН {inn} в поле {name} не совпадает с ИНН подписавшего документ участника {}",
            self.inn
        ));
        false
    }

    /// Takes `key` out of its aggregate, if it is in one.
    fn detach(&mut self, key: &str) {
        let Some(info) = self.get(key) else { return };
        let parent = field(&info, "parent").to_owned();
        if parent.is_empty() {
            return;
        }
        self.edit(&parent, |p| {
            if let Some(Value::Array(children)) = p.get_mut("child") {
                children.retain(|c| c.as_str() != Some(key));
            }
        });
        self.edit(key, |c| {
            c.remove("parent");
        });
    }

    fn children(&self, key: &str) -> Vec<String> {
        self.get(key)
            .and_then(|i| i.get("child").cloned())
            .and_then(|c| match c {
                Value::Array(a) => Some(
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// `key` and everything packed inside it.
    fn with_contents(&self, key: &str) -> Vec<String> {
        let mut out = vec![key.to_owned()];
        let mut i = 0;
        while i < out.len() && out.len() < 1_000_000 {
            for child in self.children(&out[i]) {
                if !out.contains(&child) {
                    out.push(child);
                }
            }
            i += 1;
        }
        out
    }
}

fn strs<'a>(v: &'a Value, name: &str) -> Vec<&'a str> {
    match v.get(name) {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

fn items<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or("")
}

/// The item's code: a unit's (`unit`) or a package's (`package`) field, whichever it has.
fn item_code<'a>(item: &'a Value, unit: &str, package: &str) -> &'a str {
    item.get(unit)
        .or_else(|| item.get(package))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Judges document `index`: `CHECKED_OK` with its effect applied, or `CHECKED_NOT_OK` with
/// errors and no effect.
pub fn judge(state: &mut State, index: usize) {
    let Some(doc) = state.documents.get(index).cloned() else {
        return;
    };
    let mut work = Work {
        state: &*state,
        changed: BTreeMap::new(),
        pending: BTreeMap::new(),
        errors: Vec::new(),
        inn: doc.inn.clone(),
        pg: ProductGroup::from_code(&doc.pg),
    };
    for code in named_codes(&doc.content) {
        let refused = spellings(&code)
            .iter()
            .any(|s| work.state.refused.contains(s));
        if refused {
            work.error(format!(
                "Операции с кодом идентификации {code} запрещены ГИС МТ"
            ));
        }
    }
    let body = &doc.content;
    match doc.doc_type.as_str() {
        "LP_ACCEPT_GOODS" => acceptance(&mut work, body),
        "LP_SHIP_GOODS" => shipment(&mut work, body),
        "AGGREGATION_DOCUMENT" => aggregation(&mut work, body),
        "DISAGGREGATION_DOCUMENT" => disaggregation(&mut work, body),
        "REAGGREGATION_DOCUMENT" => reaggregation(&mut work, body),
        "LK_RECEIPT" => receipt(&mut work, body),
        "LK_KM_CANCELLATION" => cancellation(&mut work, body, &["EMITTED"]),
        "LK_APPLIED_KM_CANCELLATION" => {
            cancellation(&mut work, body, &["APPLIED", "APPLIED_NOT_PAID"]);
        }
        "LK_REMARK" => remark(&mut work, body),
        "LP_RETURN" => return_to_circulation(&mut work, body),
        other => work.error(format!("Тип документа {other} не поддерживается")),
    }
    let Work {
        changed,
        pending,
        errors,
        ..
    } = work;
    let ok = errors.is_empty();
    if ok {
        state.codes.extend(changed);
        for (key, to) in pending {
            match to {
                Some(to) => state.pending.insert(key, to),
                None => state.pending.remove(&key),
            };
        }
    }
    if let Some(doc) = state.documents.get_mut(index) {
        doc.status = if ok {
            DocStatus::CheckedOk
        } else {
            DocStatus::CheckedNotOk
        };
        doc.errors = errors;
    }
}

/// `LP_ACCEPT_GOODS`: the supplier's codes in circulation, shipped to us (if the emulator saw
/// the shipment); accepted ones become ours, refused ones stay the supplier's.
fn acceptance(w: &mut Work<'_>, body: &Value) {
    if !w.participant(body, "trade_recipient_inn") {
        return;
    }
    let sender = text(body, "trade_sender_inn").to_owned();
    for item in items(body, "products") {
        accept_item(w, item, &sender, None);
    }
}

fn accept_item(w: &mut Work<'_>, item: &Value, sender: &str, in_box: Option<(&str, bool)>) {
    let code = item_code(item, "uit_code", "uitu_code");
    let accepted = item
        .get("accepted")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some((key, info)) = w.check(code, sender, &["INTRODUCED"]) else {
        return;
    };
    if let Some(to) = w.pending_to(&key)
        && to != w.inn
    {
        w.error(format!(
            "Код идентификации {code} отгружен другому участнику (ИНН {to})"
        ));
        return;
    }
    let inn = w.inn.clone();
    let settle = |w: &mut Work<'_>, key: &str, accepted: bool| {
        w.edit(key, |i| {
            if field(i, "statusEx") == "WAIT_SHIPMENT" {
                i.remove("statusEx");
            }
            if accepted {
                i.insert("ownerInn".into(), json!(inn));
            }
        });
        w.pending.insert(key.to_owned(), None);
    };
    settle(w, &key, accepted);
    if let Some((parent, parent_accepted)) = in_box
        && accepted != parent_accepted
        && field(&info, "parent") == parent
    {
        // One owner per box: a unit that goes the other way leaves it.
        w.detach(&key);
    }
    let listed: Vec<&Value> = items(item, "children").iter().collect();
    let listed_keys: BTreeSet<String> = listed
        .iter()
        .filter_map(|c| w.key(item_code(c, "uit_code", "uitu_code")))
        .collect();
    for child in listed {
        accept_item(w, child, sender, Some((&key, accepted)));
    }
    // Contents the document does not list go with their box.
    for inner in w.children(&key) {
        if !listed_keys.contains(&inner) {
            for k in w.with_contents(&inner) {
                settle(w, &k, accepted);
            }
        }
    }
}

/// `LP_SHIP_GOODS`: our codes in circulation, not already on their way, await the receiver's
/// acceptance (`statusEx` `WAIT_SHIPMENT`, still ours until accepted).
fn shipment(w: &mut Work<'_>, body: &Value) {
    if !w.participant(body, "sender_inn") {
        return;
    }
    let receiver = text(body, "receiver_inn").to_owned();
    let inn = w.inn.clone();
    for item in items(body, "products") {
        let code = item_code(item, "uit_code", "uitu_code");
        let Some((key, info)) = w.check(code, &inn, &["INTRODUCED"]) else {
            continue;
        };
        if !w.status_ex_in(code, &info, FREE_EX) {
            continue;
        }
        for k in w.with_contents(&key) {
            w.edit(&k, |i| {
                i.insert("statusEx".into(), json!("WAIT_SHIPMENT"));
            });
            w.pending.insert(k, Some(receiver.clone()));
        }
    }
}

/// The package level of a box whose children are `children`: one above the highest of them.
fn box_level(w: &Work<'_>, children: &[String]) -> String {
    let level = children
        .iter()
        .filter_map(|k| w.get(k))
        .map(|i| {
            field(&i, "packageType")
                .strip_prefix("LEVEL")
                .and_then(|n| n.parse::<u8>().ok())
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    format!("LEVEL{}", (level + 1).min(5))
}

/// `AGGREGATION_DOCUMENT`: our codes, all `APPLIED` or all `INTRODUCED`, none packed yet,
/// packed into a new SSCC that becomes a code of theirs.
fn aggregation(w: &mut Work<'_>, body: &Value) {
    if !w.participant(body, "participantId") {
        return;
    }
    let inn = w.inn.clone();
    for unit in items(body, "aggregationUnits") {
        let sscc = text(unit, "unitSerialNumber");
        if let Some(k) = w.key(sscc)
            && w.get(&k)
                .is_some_and(|i| field(&i, "status") != "DISAGGREGATED")
        {
            w.error(format!("Код упаковки {sscc} уже зарегистрирован в ГИС МТ"));
            continue;
        }
        let before = w.errors.len();
        let mut statuses = BTreeSet::new();
        let mut keys = Vec::new();
        for code in strs(unit, "sntins") {
            let Some((key, info)) = w.check(code, &inn, &["APPLIED", "INTRODUCED"]) else {
                continue;
            };
            let parent = field(&info, "parent");
            if !parent.is_empty() {
                w.error(format!(
                    "Код идентификации {code} уже агрегирован в упаковку {parent}"
                ));
                continue;
            }
            if !w.status_ex_in(code, &info, FREE_EX) || keys.contains(&key) {
                continue;
            }
            statuses.insert(field(&info, "status").to_owned());
            keys.push(key);
        }
        if statuses.len() > 1 {
            w.error(format!(
                "Коды упаковки {sscc} находятся в разных статусах: {}",
                statuses.into_iter().collect::<Vec<_>>().join(", ")
            ));
            continue;
        }
        if w.errors.len() > before || keys.is_empty() {
            if keys.is_empty() && w.errors.len() == before {
                w.error(format!("Упаковка {sscc} не содержит кодов"));
            }
            continue;
        }
        let status = statuses.into_iter().next().unwrap_or_default();
        let mut info = CisInfo::new();
        info.insert("requestedCis".into(), json!(sscc));
        info.insert("cis".into(), json!(sscc));
        if let Some(pg) = w.pg {
            info.insert("productGroupId".into(), json!(pg.id()));
        }
        info.insert("status".into(), json!(status));
        info.insert("ownerInn".into(), json!(inn));
        info.insert("packageType".into(), json!(box_level(w, &keys)));
        info.insert("generalPackageType".into(), json!("BOX"));
        info.insert("child".into(), json!(keys));
        let sscc_key = w.key(sscc).unwrap_or_else(|| sscc.to_owned());
        w.put(&sscc_key, info);
        for k in &keys {
            w.edit(k, |i| {
                i.insert("parent".into(), json!(sscc_key));
            });
        }
    }
}

/// An SSCC of ours that still packs something.
fn live_box(w: &mut Work<'_>, code: &str) -> Option<(String, CisInfo)> {
    let inn = w.inn.clone();
    let (key, info) = w.check(code, &inn, &["APPLIED", "INTRODUCED"])?;
    if field(&info, "packageType") == "UNIT" {
        w.error(format!("Код {code} не является кодом упаковки"));
        return None;
    }
    Some((key, info))
}

/// `DISAGGREGATION_DOCUMENT`: our boxes are broken up; their contents lose their parent.
fn disaggregation(w: &mut Work<'_>, body: &Value) {
    if !w.participant(body, "participant_inn") {
        return;
    }
    for item in items(body, "products_list") {
        let code = text(item, "uitu");
        let Some((key, _)) = live_box(w, code) else {
            continue;
        };
        for child in w.children(&key) {
            w.edit(&child, |c| {
                c.remove("parent");
            });
        }
        w.detach(&key);
        w.edit(&key, |b| {
            b.insert("child".into(), json!([]));
            b.insert("status".into(), json!("DISAGGREGATED"));
        });
    }
}

/// `REAGGREGATION_DOCUMENT`: `ADDING` packs loose codes of ours in the box's status into it;
/// `REMOVING` takes out codes whose parent is that box.
fn reaggregation(w: &mut Work<'_>, body: &Value) {
    if !w.participant(body, "participant_inn") {
        return;
    }
    let uitu = text(body, "uitu");
    let Some((box_key, box_info)) = live_box(w, uitu) else {
        return;
    };
    let adding = text(body, "reaggregation_type") == "ADDING";
    let box_status = field(&box_info, "status").to_owned();
    let inn = w.inn.clone();
    for item in items(body, "uit_uitu_list") {
        let code = text(item, "uit_uitu");
        if adding {
            let Some((key, info)) = w.check(code, &inn, &[box_status.as_str()]) else {
                continue;
            };
            let parent = field(&info, "parent");
            if !parent.is_empty() {
                w.error(format!(
                    "Код идентификации {code} уже агрегирован в упаковку {parent}"
                ));
                continue;
            }
            if key == box_key || !w.status_ex_in(code, &info, FREE_EX) {
                continue;
            }
            w.edit(&key, |c| {
                c.insert("parent".into(), json!(box_key));
            });
            w.edit(&box_key, |b| match b.get_mut("child") {
                Some(Value::Array(children)) => children.push(json!(key)),
                _ => {
                    b.insert("child".into(), json!([key]));
                }
            });
        } else {
            let Some((key, info)) = w.find(code) else {
                continue;
            };
            if field(&info, "parent") != box_key {
                w.error(format!(
                    "Код идентификации {code} не агрегирован в упаковку {uitu}"
                ));
                continue;
            }
            w.detach(&key);
        }
    }
}

/// `LK_RECEIPT`: our codes in circulation leave it (`RETIRED`).
fn receipt(w: &mut Work<'_>, body: &Value) {
    if !w.participant(body, "inn") {
        return;
    }
    let inn = w.inn.clone();
    for item in items(body, "products") {
        let code = text(item, "cis");
        let Some((key, info)) = w.check(code, &inn, &["INTRODUCED", "INTRODUCED_RETURNED"]) else {
            continue;
        };
        if !w.status_ex_in(code, &info, WITHDRAW_EX) {
            continue;
        }
        w.detach(&key);
        w.edit(&key, |c| {
            c.insert("status".into(), json!("RETIRED"));
        });
    }
}

/// `LK_KM_CANCELLATION` (codes never applied) and `LK_APPLIED_KM_CANCELLATION` (applied, not
/// in circulation): our codes in `statuses` are `WRITTEN_OFF`.
fn cancellation(w: &mut Work<'_>, body: &Value, statuses: &[&str]) {
    if !w.participant(body, "trade_participant_inn") {
        return;
    }
    let inn = w.inn.clone();
    for item in items(body, "km_list") {
        let code = item_code(item, "uit", "uitu");
        let Some((key, _)) = w.check(code, &inn, statuses) else {
            continue;
        };
        w.detach(&key);
        w.edit(&key, |c| {
            c.insert("status".into(), json!("WRITTEN_OFF"));
        });
    }
}

/// `LP_RETURN`: codes this participant sold (`RETIRED`, still its own) come back into
/// circulation as a customer returns them; a code in circulation, written off or someone
/// else's is refused. A re-marking or a sale being cancelled (`statusEx`) is not a sale [U].
fn return_to_circulation(w: &mut Work<'_>, body: &Value) {
    if !w.participant(body, "trade_participant_inn") {
        return;
    }
    let inn = w.inn.clone();
    for item in items(body, "products") {
        let code = text(item, "ki");
        let Some((key, info)) = w.check(code, &inn, &["RETIRED"]) else {
            continue;
        };
        if !w.status_ex_in(code, &info, &["", "EMPTY"]) {
            continue;
        }
        w.edit(&key, |c| {
            c.insert("status".into(), json!("INTRODUCED"));
            c.insert("statusEx".into(), json!("EMPTY"));
        });
    }
}

/// `LK_REMARK`: the old code (when the document names one) must be ours and in circulation and
/// is retired (`REMARK_RETIRED`); the new one must be ours, ordered (`EMITTED`) or `APPLIED`,
/// and enters circulation in its place.
fn remark(w: &mut Work<'_>, body: &Value) {
    if !w.participant(body, "participant_inn") {
        return;
    }
    let inn = w.inn.clone();
    for item in items(body, "products") {
        let old = text(item, "last_uin");
        let mut old_key = None;
        if !old.is_empty() {
            match w.check(old, &inn, &["INTRODUCED"]) {
                Some((key, _)) => old_key = Some(key),
                None => continue,
            }
        }
        let new = text(item, "new_uin");
        let Some((new_key, _)) = w.check(new, &inn, &["EMITTED", "APPLIED"]) else {
            continue;
        };
        if let Some(old_key) = old_key {
            w.detach(&old_key);
            w.edit(&old_key, |c| {
                c.insert("status".into(), json!("RETIRED"));
                c.insert("statusEx".into(), json!("REMARK_RETIRED"));
            });
        }
        w.edit(&new_key, |c| {
            c.insert("status".into(), json!("INTRODUCED"));
        });
    }
}
