//! `tally enroll` and `tally sync`: joining a hub with a one-time code, and one sync round from
//! the command line (progress on standard error, the summary as JSON on standard output);
//! `tally sync --rejected` lists the operations the hub refused, with its reasons, and the
//! documents GIS MT refused afterwards, with GIS MT's.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde_json::json;
use tally_sync::engine::{ClientConfig, HubClient, HubLink, Progress, SyncEngine, enroll};
use tally_sync::store::Store;

use super::db::{DbLocation, now};

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The hub's address, such as `https://hub.local:8443`.
    url: String,
    /// The one-time code printed by `tally-hub enroll-code`.
    code: String,
    /// The name the fleet page shows. Default: the host name.
    #[arg(long)]
    name: Option<String>,
    /// PEM file of the private CA that signed the hub's certificate.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    #[command(flatten)]
    location: DbLocation,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Do not sync: list the operations the hub rejected, one JSON line each with the hub's
    /// reasons (English and Russian), oldest first, then the documents GIS MT refused (with
    /// `gis_mt`: the document's type, group, GIS MT id and state).
    #[arg(long)]
    rejected: bool,
    #[command(flatten)]
    location: DbLocation,
}

/// Enrolls and writes the enrollment file (mode 0600) next to the replica. The token is never
/// printed.
pub fn run_enroll(args: &EnrollArgs, mut out: impl Write) -> anyhow::Result<()> {
    let db = args.location.path();
    let mut config = ClientConfig::new(&args.url, None);
    if let Some(ca) = &args.ca {
        config.ca_pem = Some(std::fs::read(ca).with_context(|| format!("{}", ca.display()))?);
    }
    let name = args.name.clone().unwrap_or_else(host_name);
    let link = enroll(config, &args.code, &name, env!("CARGO_PKG_VERSION"))?;
    // The label range first: a terminal that has its link has its range too.
    if let Some(range) = link.sscc_serials {
        Store::open(&db)
            .with_context(|| format!("{}", db.display()))?
            .adopt_sscc_serials(range.first, range.last)?;
    }
    let file = HubLink::path_for(&db);
    link.save(&file)?;
    serde_json::to_writer(
        &mut out,
        &json!({"enrolled": true, "url": link.url, "device_id": link.device_id,
                "warehouse": link.warehouse, "participant_inn": link.participant_inn,
                "enrollment_file": file.display().to_string()}),
    )?;
    writeln!(out)?;
    Ok(())
}

/// One full round: push, pull, record.
pub fn run_sync(args: &SyncArgs, mut out: impl Write) -> anyhow::Result<()> {
    let db = args.location.path();
    if args.rejected {
        return list_rejected(&db, out);
    }
    let link = HubLink::load(&HubLink::path_for(&db))?;
    let mut store = Store::open(&db).with_context(|| format!("{}", db.display()))?;
    let engine = SyncEngine::new(
        HubClient::new(link.client_config())?,
        env!("CARGO_PKG_VERSION"),
    );
    let mut err = std::io::stderr().lock();
    let summary = engine.round(&mut store, &now, &mut |progress| {
        let _ = match progress {
            Progress::Push { sent, total } => writeln!(err, "push {sent}/{total}"),
            Progress::Pull {
                feed,
                items,
                total,
                next_after,
                ..
            } => writeln!(
                err,
                "pull {}: +{items} ({total} this round, cursor {next_after})",
                feed.name()
            ),
        };
    })?;
    serde_json::to_writer(&mut out, &summary)?;
    writeln!(out)?;
    Ok(())
}

/// The operations the hub refused, as stored from its answers; reads only the replica.
fn list_rejected(db: &std::path::Path, mut out: impl Write) -> anyhow::Result<()> {
    let store = Store::open(db).with_context(|| format!("{}", db.display()))?;
    for rejected in store.rejected_operations()? {
        let operation = &rejected.operation;
        serde_json::to_writer(
            &mut out,
            &json!({"seq": operation.seq.0, "uuid": operation.uuid, "kind": operation.kind,
                    "operator": operation.operator, "finished_at": operation.finished_at.0,
                    "answered_at": rejected.answered_at.0, "reasons": rejected.reasons}),
        )?;
        writeln!(out)?;
    }
    // Accepted by the hub, refused by GIS MT when the hub sent the document: the same line,
    // with the document it was about.
    for refused in store.refused_verdicts()? {
        let operation = &refused.operation;
        let verdict = &refused.verdict;
        serde_json::to_writer(
            &mut out,
            &json!({"seq": operation.seq.0, "uuid": operation.uuid, "kind": operation.kind,
                    "operator": operation.operator, "finished_at": operation.finished_at.0,
                    "answered_at": verdict.at, "reasons": verdict.reasons,
                    "gis_mt": {"type": verdict.document_type, "pg": verdict.pg,
                               "gis_id": verdict.gis_id, "state": verdict.state}}),
        )?;
        writeln!(out)?;
    }
    Ok(())
}

/// The terminal's name for the hub's fleet page: the host name.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "tally".to_owned())
}
