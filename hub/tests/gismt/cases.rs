use serde_json::{Value, json};
use tally_domain::status::{Inn, Timestamp};
use tally_hub::import::import;
use tally_hub::push::hub_policy;
use tally_hub::server::Hub;
use tally_hub::store::link::{Final, JournalFilter};
use tally_hub::store::{Device, Store};
use tally_wire::{DocumentState, Feed, PushRequest, PushResult, Verdict};

use crate::common::Database;

const P1: &str = "7707083893";
const P2: &str = "7736207543";
const GTIN: &str = "04600840749372";

fn cis(serial: &str) -> String {
    format!("01{GTIN}21{serial}")
}

fn write_off(serial: &str) -> Value {
    json!({
        "uuid": uuid::Uuid::new_v4().to_string(), "seq": 1, "kind": "write-off",
        "operator": "Иванова", "started_at": 1_700_000_000_000i64,
        "finished_at": 1_700_000_060_000i64,
        "payload": {"reason": "damage_loss", "gis_mt_document": "LK_RECEIPT",
                    "gis_mt_reason": "DAMAGE_LOSS", "document_number": "A-1",
                    "document_date": "2026-11-22", "supervisor": "Петров",
                    "codes": [cis(serial)]},
    })
}

fn request(operations: &[Value]) -> PushRequest {
    serde_json::from_value(json!({
        "device": {"app_version": "0.1.0", "queue_depth": 0, "cache_synced_at": null},
        "operations": operations,
    }))
    .unwrap()
}

/// A hub with terminals in W1 and W2 (participant P1) and W3 (P2), and P1's codes.
struct Linked {
    _db: Database,
    store: Store,
    w1: Device,
    w2: Device,
    w1_token: String,
}

impl Linked {
    fn new() -> Linked {
        let db = Database::new(BACKEND);
        let store = db.store();
        let lines: String = (1..=6)
            .map(|n| {
                json!({"cis": cis(&format!("LINK{n:08}")), "gtin": GTIN, "status": "INTRODUCED",
                       "ownerInn": P1, "productGroupId": 2, "packageType": "UNIT"})
                .to_string()
                    + "\n"
            })
            .collect();
        assert!(import(&store, Feed::Statuses, lines.as_bytes()).unwrap().rejected.is_empty());
        let mut enrolled = Vec::new();
        for (warehouse, inn) in [("W1", P1), ("W2", P1), ("W3", P2)] {
            let code = store
                .create_enrollment_code(warehouse, &Inn::parse(inn).unwrap(), Timestamp(0))
                .unwrap();
            enrolled.push(store.enroll(&code, warehouse, "0.1.0", Timestamp(0)).unwrap().unwrap());
        }
        let w1_token = enrolled[0].token.clone();
        Linked {
            w1: enrolled[0].device.clone(),
            w2: enrolled[1].device.clone(),
            w1_token,
            _db: db,
            store,
        }
    }

    fn push(&self, device: &Device, operation: Value, now: i64) -> String {
        let uuid = operation["uuid"].as_str().unwrap().to_owned();
        let answers = self
            .store
            .push(device, &request(&[operation]), &hub_policy(), Timestamp(now))
            .unwrap();
        assert_eq!(answers[0].result, PushResult::Accepted, "{answers:?}");
        uuid
    }

    fn verdicts(&self, warehouse: &str) -> Vec<Verdict> {
        let (items, _) = self.store.pull(Feed::Verdicts, warehouse, 0, 100).unwrap();
        items
            .iter()
            .map(|(_, item)| serde_json::from_str(item).unwrap())
            .collect()
    }
}

#[test]
fn a_pushed_document_waits_for_the_link_and_its_codes_are_queued_for_reading() {
    let t = Linked::new();
    let uuid = t.push(&t.w1, write_off("LINK00000001"), 1_000);
    let documents = t.store.submissions_of(&uuid).unwrap();
    assert_eq!(documents.len(), 1);
    let document = &documents[0];
    assert_eq!(
        (document.state, document.doc_type.as_str(), document.warehouse.as_str()),
        (DocumentState::Waiting, "LK_RECEIPT", "W1")
    );
    assert_eq!((document.made_at, document.next_at, document.tries), (1_000, 1_000, 0));
    let body: Value = serde_json::from_str(&document.body).unwrap();
    assert_eq!(body["products"][0]["cis"], cis("LINK00000001"));
    assert_eq!(
        t.store.due_submissions(Timestamp(999), 10).unwrap().len(),
        0,
        "not due before it was made"
    );
    assert_eq!(t.store.due_submissions(Timestamp(1_000), 10).unwrap().len(), 1);
    assert_eq!(t.store.queued_refresh(10).unwrap(), vec![cis("LINK00000001")]);
    t.store.dequeue_refresh(&[cis("LINK00000001")]).unwrap();
    assert!(t.store.queued_refresh(10).unwrap().is_empty());
}

#[test]
fn a_document_goes_sending_then_in_progress_then_final_once_with_one_verdict() {
    let t = Linked::new();
    let uuid = t.push(&t.w1, write_off("LINK00000002"), 1_000);
    let s = t.store.submissions_of(&uuid).unwrap().remove(0);
    assert!(t.store.mark_sending(s.operation, s.position, Timestamp(2_000), Timestamp(3_000)).unwrap());
    let sending = t.store.submissions_of(&uuid).unwrap().remove(0);
    assert_eq!((sending.state, sending.sending_at, sending.tries), (DocumentState::Sending, Some(2_000), 1));
    assert!(t.store.due_submissions(Timestamp(2_500), 10).unwrap().is_empty(), "looked up only at its time");
    assert!(t.store.record_gis_id(s.operation, s.position, "gis-1", Timestamp(2_100), Timestamp(4_000)).unwrap());
    assert!(t.store.gis_id_taken("gis-1").unwrap());
    // Once in progress it is never sent again, even if asked.
    assert!(!t.store.mark_sending(s.operation, s.position, Timestamp(2_200), Timestamp(3_000)).unwrap());
    let errors = vec!["Код не найден".to_owned()];
    let verdict = json!({"operation": uuid, "type": "LK_RECEIPT", "pg": "lp", "gis_id": "gis-1",
                         "state": "checked_not_ok", "reasons": [], "at": 5_000});
    let done = Final {
        operation: s.operation,
        position: s.position,
        state: DocumentState::CheckedNotOk,
        errors: &errors,
        verdict: &verdict,
        verdict_key: "k1",
        warehouse: "W1",
    };
    t.store.record_final(&done, Timestamp(5_000)).unwrap();
    t.store.record_final(&done, Timestamp(6_000)).unwrap();
    let finished = t.store.submissions_of(&uuid).unwrap().remove(0);
    assert_eq!((finished.state, finished.state_at), (DocumentState::CheckedNotOk, 5_000));
    assert_eq!(finished.errors, errors);
    assert_eq!(t.verdicts("W1").len(), 1, "one verdict, however often it is recorded");
    assert_eq!(t.verdicts("W1")[0].state, DocumentState::CheckedNotOk);
    assert!(t.verdicts("W2").is_empty(), "another warehouse's terminals get none");
    assert!(t.store.due_submissions(Timestamp(i64::MAX), 10).unwrap().is_empty());
}

#[test]
fn a_gis_mt_id_belongs_to_one_document_and_a_lost_send_goes_back_to_waiting() {
    let t = Linked::new();
    let first = t.push(&t.w1, write_off("LINK00000003"), 1_000);
    let second = t.push(&t.w1, write_off("LINK00000004"), 1_000);
    let a = t.store.submissions_of(&first).unwrap().remove(0);
    let b = t.store.submissions_of(&second).unwrap().remove(0);
    for s in [&a, &b] {
        assert!(t.store.mark_sending(s.operation, s.position, Timestamp(2_000), Timestamp(3_000)).unwrap());
    }
    assert!(t.store.record_gis_id(a.operation, a.position, "same", Timestamp(2_000), Timestamp(3_000)).unwrap());
    assert!(!t.store.record_gis_id(b.operation, b.position, "same", Timestamp(2_000), Timestamp(3_000)).unwrap());
    assert_eq!(t.store.submissions_of(&second).unwrap()[0].state, DocumentState::Sending);
    t.store.mark_unsent(b.operation, b.position, Timestamp(4_000)).unwrap();
    let waiting = t.store.submissions_of(&second).unwrap().remove(0);
    assert_eq!((waiting.state, waiting.next_at), (DocumentState::Waiting, 4_000));
    t.store.postpone(b.operation, b.position, Timestamp(9_000), Some("GIS MT is unavailable: 503")).unwrap();
    let postponed = t.store.submissions_of(&second).unwrap().remove(0);
    assert_eq!(postponed.next_at, 9_000);
    assert_eq!(postponed.last_error.as_deref(), Some("GIS MT is unavailable: 503"));
}

#[test]
fn the_journal_filters_by_state_warehouse_and_day_and_pages_newest_first() {
    let t = Linked::new();
    let day = 1_764_536_400_000; // 2026-12-01 00:00 Moscow
    let early = t.push(&t.w1, write_off("LINK00000001"), day + 1_000);
    t.push(&t.w2, write_off("LINK00000002"), day + 2_000);
    t.push(&t.w1, write_off("LINK00000003"), day + 86_400_000 + 1);
    let all = t.store.journal(&JournalFilter { limit: 10, ..JournalFilter::default() }).unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].made_at >= w[1].made_at), "newest first");
    assert!(all.iter().all(|s| s.body.is_empty()), "no bodies in the journal");
    let w1 = t.store.journal(&JournalFilter {
        warehouse: Some("W1".into()),
        from: Some(day),
        to: Some(day + 86_400_000),
        limit: 10,
        ..JournalFilter::default()
    }).unwrap();
    assert_eq!(w1.iter().map(|s| s.uuid.as_str()).collect::<Vec<_>>(), [early.as_str()]);
    let first_page = t.store.journal(&JournalFilter { limit: 2, ..JournalFilter::default() }).unwrap();
    let last = first_page.last().unwrap();
    let rest = t.store.journal(&JournalFilter {
        before: Some((last.made_at, last.operation, last.position)),
        limit: 2,
        ..JournalFilter::default()
    }).unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].uuid, early);
    let none = t.store.journal(&JournalFilter {
        states: vec![DocumentState::CheckedOk],
        limit: 10,
        ..JournalFilter::default()
    }).unwrap();
    assert!(none.is_empty());
}

#[test]
fn one_hub_process_holds_the_link_until_its_lease_runs_out() {
    let t = Linked::new();
    assert!(t.store.claim_lease("gismt-link", "a", Timestamp(1_000), 30_000).unwrap());
    assert!(!t.store.claim_lease("gismt-link", "b", Timestamp(2_000), 30_000).unwrap());
    assert!(t.store.claim_lease("gismt-link", "a", Timestamp(20_000), 30_000).unwrap(), "renewed");
    assert!(!t.store.claim_lease("gismt-link", "b", Timestamp(45_000), 30_000).unwrap());
    assert!(t.store.claim_lease("gismt-link", "b", Timestamp(50_001), 30_000).unwrap(), "expired");
    assert!(!t.store.claim_lease("gismt-link", "a", Timestamp(50_002), 30_000).unwrap());
}

#[test]
fn an_alert_is_raised_once_until_it_clears() {
    let t = Linked::new();
    assert!(t.store.raise_alert("silent:1", "terminal_silent", "m", Timestamp(1)).unwrap());
    assert!(!t.store.raise_alert("silent:1", "terminal_silent", "m", Timestamp(2)).unwrap());
    let open = t.store.open_alerts().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].raised_at, open[0].sent_at), (1, None));
    t.store.alert_sent("silent:1", Timestamp(3)).unwrap();
    assert_eq!(t.store.open_alerts().unwrap()[0].sent_at, Some(3));
    t.store.clear_alert("silent:1", Timestamp(4)).unwrap();
    assert!(t.store.open_alerts().unwrap().is_empty());
    assert!(t.store.raise_alert("silent:1", "terminal_silent", "again", Timestamp(5)).unwrap());
    let again = t.store.open_alerts().unwrap();
    assert_eq!((again[0].raised_at, again[0].sent_at, again[0].message.as_str()), (5, None, "again"));
}

#[test]
fn a_warehouses_list_is_as_old_as_its_oldest_participants_pass() {
    let t = Linked::new();
    assert_eq!(t.store.participants().unwrap(), [P1, P2]);
    assert_eq!(t.store.statuses_as_of("W1").unwrap(), None);
    let mut pass = t.store.refresh_pass(P1).unwrap();
    assert!(pass.cursor.is_empty() && pass.refreshed_at.is_none());
    let codes = t.store.owned_codes(P1, &[], 4).unwrap();
    assert_eq!(codes.len(), 4);
    assert!(codes.iter().all(|(_, code)| code.starts_with("0104600840749372")));
    let rest = t.store.owned_codes(P1, &codes[3].0, 4).unwrap();
    assert_eq!(rest.len(), 2, "the pass goes on after its cursor");
    assert!(t.store.owned_codes(P2, &[], 4).unwrap().is_empty());
    pass.pass_started_at = Some(7_000);
    pass.refreshed_at = Some(7_000);
    t.store.save_refresh_pass(&pass).unwrap();
    assert_eq!(t.store.statuses_as_of("W1").unwrap(), Some(7_000));
    assert_eq!(t.store.statuses_as_of("W3").unwrap(), None, "P2 has not been read");
    let ages = t.store.warehouse_ages().unwrap();
    assert_eq!(ages, [("W1".into(), Some(7_000)), ("W2".into(), Some(7_000)), ("W3".into(), None)]);
}

#[test]
fn a_new_tasks_codes_are_queued_for_reading() {
    let t = Linked::new();
    let sscc = tally_domain::gs1::Sscc::compose(0, "4600840", 17).unwrap().to_string();
    let task = json!({"id": "T-1", "number": "1", "senderInn": P2, "date": "2026-11-21",
                      "warehouse": "W1", "productGroupId": 2,
                      "units": [cis("TASKUNIT0001")],
                      "boxes": [{"sscc": sscc.clone(), "units": [cis("TASKUNIT0002")]}]});
    let report = import(&t.store, Feed::Tasks, format!("{task}\n").as_bytes()).unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let mut queued = t.store.queued_refresh(10).unwrap();
    queued.sort();
    let mut expected = vec![cis("TASKUNIT0001"), cis("TASKUNIT0002"), sscc];
    expected.sort();
    assert_eq!(queued, expected);
}

/// GET with a token; the status and the body.
fn get(url: &str, token: &str) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .get(url)
        .header("Tally-Protocol", "3")
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.into_body().read_to_string().unwrap())
}

#[test]
fn the_journal_is_an_administrators_as_json_csv_and_a_page_and_pulls_carry_the_lists_age() {
    let t = Linked::new();
    let uuid = t.push(&t.w1, write_off("LINK00000005"), 1_000);
    let mut pass = t.store.refresh_pass(P1).unwrap();
    pass.refreshed_at = Some(9_000);
    pass.pass_started_at = Some(9_000);
    t.store.save_refresh_pass(&pass).unwrap();
    let admin = t.store.create_admin_token("test", Timestamp(0)).unwrap();
    let Linked { _db, store, w1_token: device_token, .. } = t;
    let hub = Hub::bind(store, "127.0.0.1:0").unwrap();
    let base = format!("http://{}", hub.local_addr().unwrap());
    // The hub serves for the rest of the test process, as in the other HTTP suites.
    std::thread::spawn(move || hub.run());

    let (status, kind, body) = get(&format!("{base}/v1/journal"), &admin);
    assert_eq!(status, 200, "{body}");
    assert!(kind.starts_with("application/json"));
    let page: tally_wire::JournalResponse = serde_json::from_str(&body).unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].operation, uuid);
    assert_eq!(page.entries[0].state, DocumentState::Waiting);
    assert_eq!(page.next_before, None);

    let (status, kind, csv) = get(&format!("{base}/v1/journal?format=csv&state=waiting"), &admin);
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("made_at,operation,kind"));
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains(&uuid) && lines[1].contains("LK_RECEIPT"));

    let (status, kind, html) = get(&format!("{base}/journal?warehouse=W1"), &admin);
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"));
    assert!(html.contains(&uuid) && html.contains("Журнал обмена"));

    let (status, _, refused) = get(&format!("{base}/v1/journal?state=done"), &admin);
    assert_eq!(status, 400);
    assert!(refused.contains("bad_query"));
    let (status, _, refused) = get(&format!("{base}/v1/journal"), &device_token);
    assert_eq!(status, 403, "a terminal's token does not open the journal: {refused}");

    let (status, _, statuses) = get(&format!("{base}/v1/pull/statuses?after=0"), &device_token);
    assert_eq!(status, 200);
    let page: tally_wire::PullResponse = serde_json::from_str(&statuses).unwrap();
    assert_eq!(page.statuses_as_of, Some(9_000));
    let (status, _, verdicts) = get(&format!("{base}/v1/pull/verdicts?after=0"), &device_token);
    assert_eq!(status, 200, "{verdicts}");
    let page: tally_wire::PullResponse = serde_json::from_str(&verdicts).unwrap();
    assert!(page.items.is_empty() && page.statuses_as_of.is_none());
}

#[test]
fn the_link_alerts_once_per_silent_terminal_stale_list_and_failing_sign_in_until_each_clears() {
    use std::sync::Arc;
    use std::time::Duration;
    use tally_hub::gismt::alerts::AlertSink;
    use tally_hub::gismt::client::TrueApi;
    use tally_hub::gismt::link::{Link, LinkConfig};
    use tally_hub::gismt::signer::Signer;

    let t = Linked::new();
    let Linked { _db, store, w1, .. } = t;
    let store = Arc::new(store);
    let dir = std::env::temp_dir().join(format!("tally-link-alerts-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let sent = dir.join("alerts.jsonl");
    let script = dir.join("alert.sh");
    std::fs::write(&script, format!("#!/bin/sh\ncat >> '{}'\n", sent.display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // Nothing listens on port 9: every sign-in fails before the signer is asked.
    let api = TrueApi::new("http://127.0.0.1:9", Duration::from_secs(2), None).unwrap();
    let mut config = LinkConfig::new(api, Signer::parse("/bin/false", Duration::from_secs(2)).unwrap());
    config.silent_after = Duration::from_secs(60);
    config.list_limit = Duration::from_secs(3600);
    config.alerts = Some(AlertSink::parse(&script.display().to_string()).unwrap());
    let mut link = Link::new(config, Arc::clone(&store), "test:1".into());
    let alerts = || -> Vec<Value> {
        std::fs::read_to_string(&sent)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let kinds = |alerts: &[Value]| -> Vec<String> {
        let mut kinds: Vec<String> = alerts
            .iter()
            .map(|a| format!("{} {}", a["kind"].as_str().unwrap(), a["key"].as_str().unwrap()))
            .collect();
        kinds.sort();
        kinds
    };
    let start = 600_000;
    for step in 0..4 {
        let report = link.step(Timestamp(start + step * 6_000));
        assert!(report.leader);
    }
    let first = alerts();
    let silent: Vec<String> = kinds(&first)
        .into_iter()
        .filter(|k| k.starts_with("terminal_silent"))
        .collect();
    assert_eq!(silent.len(), 3, "{first:#?}");
    assert!(kinds(&first).contains(&format!("sign_in_failed sign_in:{P1}")), "{first:#?}");
    // P2 owns nothing on the list and sent nothing, so it has had no reason to sign in.
    assert!(!kinds(&first).contains(&format!("sign_in_failed sign_in:{P2}")), "{first:#?}");
    let keys: std::collections::BTreeSet<&str> = first.iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), first.len(), "each alert once over four steps: {first:#?}");

    // W1's terminal syncs: its alert clears. Silent again later, it is a new alert, sent again;
    // the list, never read, is stale once the link has run past the limit.
    store.touch(w1.id, Timestamp(start + 30_000)).unwrap();
    link.step(Timestamp(start + 31_000));
    let open: Vec<String> = store.open_alerts().unwrap().into_iter().map(|a| a.key).collect();
    assert!(!open.contains(&format!("silent:{}", w1.id)), "{open:?}");
    let late = start + 31_000 + 3_600_000 + 1;
    link.step(Timestamp(late));
    link.step(Timestamp(late + 6_000));
    let all = alerts();
    let again = all
        .iter()
        .filter(|a| a["key"] == format!("silent:{}", w1.id).as_str())
        .count();
    assert_eq!(again, 2, "raised, cleared, raised again: {all:#?}");
    let stale: Vec<&Value> = all.iter().filter(|a| a["kind"] == "list_stale").collect();
    // P2 has nothing to read, so its pass ends at once and W3's list is fresh; P1's cannot
    // sign in, so W1's and W2's are never read.
    let mut stale_keys: Vec<&str> = stale.iter().map(|a| a["key"].as_str().unwrap()).collect();
    stale_keys.sort_unstable();
    assert_eq!(stale_keys, ["stale:W1", "stale:W2"], "once each: {all:#?}");
    assert!(stale.iter().all(|a| a["message"].as_str().unwrap().contains("Список статусов")));
    std::fs::remove_dir_all(&dir).unwrap();
}
