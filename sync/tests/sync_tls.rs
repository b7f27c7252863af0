//! The hub over TLS with a real certificate chain: a private CA and a hub certificate made
//! with rcgen for this run. A terminal given the CA enrolls and syncs; one without it, or with
//! another CA, is refused before any request reaches the hub.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::thread;

use common::{OURS, now, scratch_dir, serial, status_line};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use tally_domain::status::{Inn, Timestamp};
use tally_hub::server::Hub;
use tally_sync::engine::{ClientConfig, ClientError, HubClient, SyncEngine, enroll};
use tally_sync::store::{NewOperation, Store};
use tally_wire::{Feed, PushResult};

/// A CA's certificate (PEM) and the issuer to sign with.
fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

/// The hub's certificate for 127.0.0.1 signed by `issuer`, and its key, as PEM.
fn hub_certificate(issuer: &Issuer<'static, KeyPair>) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "tally-hub");
    params.subject_alt_names = vec![
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::DnsName("localhost".try_into().unwrap()),
    ];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[test]
fn a_terminal_with_the_private_ca_enrolls_and_syncs_and_others_are_refused() {
    let (ca_pem, issuer) = ca("Tally test CA");
    let (cert_pem, key_pem) = hub_certificate(&issuer);
    let (other_ca_pem, _) = ca("Someone else's CA");

    let dir = scratch_dir("tls");
    let db = dir.join("hub.db");
    let hub_store = tally_hub::store::Store::open(&db).unwrap();
    let lines: String = (0..5)
        .map(|n| format!("{}\n", status_line(&serial(n))))
        .collect();
    tally_hub::import::import(&hub_store, Feed::Statuses, lines.as_bytes()).unwrap();
    let code = hub_store
        .create_enrollment_code("W1", &Inn::parse(OURS).unwrap(), Timestamp(0))
        .unwrap();
    let tls = tally_hub::tls::server_config(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    let hub = Hub::bind_tls(hub_store, "127.0.0.1:0", tls).unwrap();
    assert_eq!(hub.scheme(), "https");
    let base = format!("https://{}", hub.local_addr().unwrap());
    thread::spawn(move || hub.run());

    let config = |ca: Option<&str>| {
        let mut config = ClientConfig::new(&base, None);
        config.attempts = 1;
        config.ca_pem = ca.map(|pem| pem.as_bytes().to_vec());
        config
    };
    // Without the CA (the compiled-in web roots) and with another CA: refused at the
    // handshake, and the one-time code is not spent.
    for refused in [None, Some(other_ca_pem.as_str())] {
        let error = enroll(config(refused), &code, "tsd-1", "0.1.0").unwrap_err();
        assert!(
            matches!(
                error,
                ClientError::Config(_) | ClientError::Unreachable { .. }
            ),
            "{error}"
        );
        assert!(
            error.to_string().to_lowercase().contains("certificate")
                || error.to_string().to_lowercase().contains("issuer"),
            "the refusal names the certificate: {error}"
        );
    }
    let hub_devices = || {
        tally_hub::store::Store::open(&db)
            .unwrap()
            .fleet()
            .unwrap()
            .len()
    };
    assert_eq!(hub_devices(), 0, "nothing reached the hub");

    // With the CA: enrollment, then a round that pushes a write-off and pulls the statuses.
    let link = enroll(config(Some(&ca_pem)), &code, "tsd-1", "0.1.0").unwrap();
    assert_eq!(
        link.ca_pem.as_deref(),
        Some(ca_pem.as_str()),
        "the CA is kept"
    );
    assert_eq!(hub_devices(), 1);
    let mut store = Store::open(dir.join("tally.db")).unwrap();
    let id = store
        .begin_operation(&NewOperation {
            kind: "write-off",
            operator: "Иванова",
            header: "{}",
            started_at: now(),
        })
        .unwrap();
    let payload = serde_json::json!({"reason": "damage_loss", "gis_mt_document": "LK_RECEIPT",
        "gis_mt_reason": "DAMAGE_LOSS", "document_number": "A-1",
        "document_date": "2026-11-22", "supervisor": "Петров",
        "codes": [common::cis(&serial(0))]});
    store
        .finish_operation(id, now(), &payload.to_string(), &Default::default())
        .unwrap();
    let engine = SyncEngine::new(HubClient::new(link.client_config()).unwrap(), "0.1.0");
    let summary = engine.round(&mut store, &now, &mut |_| {}).unwrap();
    assert_eq!(summary.accepted, 1, "{summary:?}");
    assert_eq!(summary.operations[0].result, PushResult::Accepted);
    assert_eq!(summary.queue_depth, 0);
    assert_eq!(store.stats(now()).unwrap().status_rows, 5);

    // The device token alone does not help a client that does not trust the hub.
    let mut untrusting = link.client_config();
    untrusting.ca_pem = Some(other_ca_pem.into_bytes());
    untrusting.attempts = 1;
    let error = HubClient::new(untrusting)
        .unwrap()
        .pull(Feed::Statuses, 0, 10)
        .unwrap_err();
    assert!(
        !error.is_unauthorized(),
        "refused by TLS, not by the hub: {error}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
