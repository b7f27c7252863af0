//! `tally enroll` and `tally sync`: joining a hub with a one-time code, and one sync round from
//! the command line (progress on standard error, the summary as JSON on standard output).

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

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "tally".to_owned())
}
