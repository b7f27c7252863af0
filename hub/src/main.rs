//! `tally-hub`: serve the terminals (over HTTPS with `--tls-cert`), hand out enrollment codes
//! and administrators' tokens, revoke devices, import GIS MT exports, prune the feeds, export
//! GIS MT documents, and measure intake.

mod bench_intake;
mod bench_onec;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use tally_domain::status::{Inn, Timestamp};
use tally_hub::documents::{self, DocType};
use tally_hub::gismt::alerts::AlertSink;
use tally_hub::gismt::client::TrueApi;
use tally_hub::gismt::link::{Link, LinkConfig};
use tally_hub::gismt::signer::Signer;
use tally_hub::import::import;
use tally_hub::server::onec::OnecConfig;
use tally_hub::server::{Hub, Limits};
use tally_hub::store::Store;
use tally_wire::{DocumentKind, Feed};

#[derive(Parser, Debug)]
#[command(
    name = "tally-hub",
    version,
    about = "The hub Tally terminals sync with"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the terminals over HTTP, or HTTPS with --tls-cert and --tls-key, until SIGTERM or
    /// SIGINT (requests in flight are finished). Logs a line per request on standard error;
    /// RUST_LOG filters them (e.g. RUST_LOG=debug).
    Serve {
        #[command(flatten)]
        db: Database,
        #[arg(long, default_value = "0.0.0.0:8470")]
        listen: String,
        /// PEM certificate chain of the hub (its certificate first); needs --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of that certificate.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        #[command(flatten)]
        gismt: GismtArgs,
    },
    /// Support commands for the link to GIS MT (the True API), with the hub's configuration:
    /// sign in, read statuses, send what waits, show an operation's documents.
    Gismt {
        #[command(flatten)]
        db: Database,
        #[command(flatten)]
        gismt: GismtArgs,
        #[command(subcommand)]
        action: GismtAction,
    },
    /// 1C's site exchange (`/1c/exchange`): the nodes 1C signs in as.
    Onec {
        #[command(flatten)]
        db: Database,
        #[command(subcommand)]
        action: OnecAction,
    },
    /// Print a new administrator's token for the fleet view (only its hash is kept).
    AdminToken {
        #[command(flatten)]
        db: Database,
        /// Whose token it is, for the record.
        #[arg(long, default_value = "admin")]
        label: String,
    },
    /// Revoke a device (its id as the fleet view shows it): its token is refused from now on.
    Revoke {
        #[command(flatten)]
        db: Database,
        device: i64,
    },
    /// Drop removal records older than the newest --keep-last changes from the feeds; a
    /// terminal behind them gets a snapshot of the feed on its next pull.
    Prune {
        #[command(flatten)]
        db: Database,
        #[arg(long, default_value_t = 100_000)]
        keep_last: i64,
    },
    /// Print a one-time code that enrolls one terminal for a warehouse.
    EnrollCode {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        warehouse: String,
        /// The participant (INN) the terminal's operations are made for.
        #[arg(long)]
        inn: String,
        /// Also print a QR code holding this hub URL and the code, for the terminal to scan.
        #[arg(long, value_name = "HUB_URL")]
        qr: Option<String>,
    },
    /// Load JSON lines (plain or gzip, `-` for standard input) into a feed.
    Import {
        #[command(flatten)]
        db: Database,
        what: ImportKind,
        file: PathBuf,
    },
    /// Print the GIS MT documents of the accepted operations, one JSON line each
    /// (`{"type", "pg", "operation", "seq", "document"}`), oldest first; with
    /// `--discrepancies`, the acceptances' surplus and missing codes instead.
    Export {
        #[command(flatten)]
        db: Database,
        /// Only operations received after this `seq` (the last line of an earlier export).
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// Only documents of these operation kinds (repeatable); all when absent.
        #[arg(long, value_enum)]
        kind: Vec<OperationKind>,
        /// Print `{"operation", "seq", "task_id", "supplier_inn", "surplus", "missing"}` lines.
        #[arg(long)]
        discrepancies: bool,
        /// Print the inventories as CSV, a row per code: `operation,seq,zone,document,code,
        /// finding,status,written_off` (finding: found, missing, foreign, wrong_status,
        /// unknown).
        #[arg(long, conflicts_with = "discrepancies")]
        inventory: bool,
    },
    /// Move a SQLite hub into an empty PostgreSQL database, with every id, feed position and
    /// cursor kept; prints each table's rows and digest on both sides and fails unless all
    /// match. Stop `tally-hub serve` first.
    Migrate {
        /// The SQLite file.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// The PostgreSQL database, `postgres://USER:PASSWORD@HOST:5432/NAME`.
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Measure intake: terminals pushing write-offs at once to a hub on a throwaway database,
    /// over loopback.
    BenchIntake(bench_intake::Args),
    /// Measure a 1C catalog of --goods goods read from CommerceML and imported, beside the
    /// hub's JSON-lines import of the same goods, each into a throwaway SQLite hub.
    BenchOnec(bench_onec::Args),
}

/// The link to GIS MT, over the configuration file's `[gismt]` section.
#[derive(clap::Args, Debug, Default)]
struct GismtArgs {
    /// The True API's host, such as https://markirovka.crpt.ru (the sandbox:
    /// https://markirovka.sandbox.crptech.ru); the hub appends the documented paths.
    #[arg(long, value_name = "URL")]
    true_api: Option<String>,
    /// The signing tool, `PROGRAM ARGS…`: bytes on standard input, base64 CMS on standard
    /// output; `--attached` or `--detached` is appended, `{inn}` replaced by the participant.
    #[arg(long, value_name = "COMMAND")]
    signer: Option<String>,
    /// Where alerts go: a command (the alert as JSON on its standard input) or an
    /// http(s):// webhook.
    #[arg(long, value_name = "COMMAND_OR_URL")]
    alerts: Option<String>,
}

#[derive(Subcommand, Debug)]
enum GismtAction {
    /// Sign in for a participant and print the token's first characters.
    SignIn {
        #[arg(long)]
        inn: String,
    },
    /// Read codes from GIS MT into the hub's list: the ones named, else the queue and a whole
    /// pass over every participant's codes.
    Refresh { codes: Vec<String> },
    /// Fill the hub's list with what each participant owns in circulation, as GIS MT's export
    /// service lists it, then read those codes' statuses; one JSON line per participant and
    /// group, and the statuses stored.
    Own {
        /// The product groups (`milk`, `shoes`, …), repeatable.
        #[arg(long = "pg", required = true, value_parser = product_group)]
        groups: Vec<tally_domain::product_group::ProductGroup>,
        /// Only this participant (INN); every participant with terminals when absent.
        #[arg(long)]
        inn: Option<String>,
        /// How long to wait for an export GIS MT is preparing, in seconds.
        #[arg(long, default_value_t = 1800)]
        wait: u64,
    },
    /// Send what waits and poll what GIS MT is checking, until nothing is due (or --steps).
    Submit {
        #[arg(long, default_value_t = 1000)]
        steps: u32,
    },
    /// Print an operation's documents and where they stand, one JSON line each.
    Status {
        #[arg(long)]
        operation: String,
    },
}

#[derive(Subcommand, Debug)]
enum OnecAction {
    /// Add a node and print its password once (only its digest is kept); 1C's login is NAME.
    AddNode {
        name: String,
        /// The warehouse whose catalog and tasks the node's exchange feeds.
        #[arg(long)]
        warehouse: String,
        /// Addresses 1C may call from, comma-separated (`10.0.0.0/8,192.168.1.5`); any when
        /// absent.
        #[arg(long, default_value = "")]
        allow: String,
        /// Do not overwrite goods already in the catalog ("не перезаписывать созданные").
        #[arg(long)]
        keep_existing: bool,
    },
    /// Print a node's exchange log, newest first, one JSON line each.
    Log {
        name: String,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// Where the hub's data is. `--database` takes a PostgreSQL URL or a SQLite file; `--db` a
/// SQLite file, as before there was a choice. Without either, the configuration file's
/// `database` key, else `tally-hub.db` here.
#[derive(clap::Args, Debug)]
struct Database {
    /// The hub's SQLite file.
    #[arg(long, value_name = "FILE", conflicts_with = "database")]
    db: Option<PathBuf>,
    /// `postgres://USER:PASSWORD@HOST:5432/NAME` for a hub on PostgreSQL, or a SQLite file.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// The hub's configuration file (TOML, `database = "…"`); read when it exists.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    config: PathBuf,
}

const DEFAULT_CONFIG: &str = "/etc/tally-hub/hub.toml";

/// The hub's configuration file.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct HubConfig {
    /// As `--database`.
    database: Option<String>,
    /// How long clients may take and how many are served (`[limits]`); each key is optional.
    #[serde(default)]
    limits: LimitsConfig,
    /// The link to GIS MT (`[gismt]`).
    #[serde(default)]
    gismt: GismtConfig,
    /// 1C's site exchange (`[onec]`).
    #[serde(default)]
    onec: OnecSection,
}

/// The `[onec]` section, over `tally_hub::server::onec::OnecConfig`'s defaults.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct OnecSection {
    /// Offer 1C `zip=yes` (default true).
    zip: Option<bool>,
    /// The largest fragment 1C may send, bytes (default 8 MiB).
    file_limit: Option<usize>,
    /// The most a zip archive may unpack to, bytes (default 512 MiB).
    unpacked_limit: Option<u64>,
    /// How long an import waits before answering `progress` (default 20 s).
    progress_after_seconds: Option<f64>,
    /// The most results one query answers (default 10,000).
    results_per_query: Option<u32>,
    /// The names of the requisites or properties that carry an item's marking group.
    marking_group_fields: Option<Vec<String>>,
    /// Every answer whole in the exchange log (default false).
    debug: Option<bool>,
}

impl OnecSection {
    fn over(&self, defaults: OnecConfig) -> OnecConfig {
        let mut read = defaults.read.clone();
        if let Some(fields) = &self.marking_group_fields {
            read.group_fields = fields.clone();
        }
        OnecConfig {
            zip: self.zip.unwrap_or(defaults.zip),
            file_limit: self.file_limit.unwrap_or(defaults.file_limit),
            unpacked_limit: self.unpacked_limit.unwrap_or(defaults.unpacked_limit),
            progress_after: self
                .progress_after_seconds
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map_or(defaults.progress_after, Duration::from_secs_f64),
            results_per_query: self
                .results_per_query
                .map_or(defaults.results_per_query, |n| n.max(1)),
            debug: self.debug.unwrap_or(defaults.debug),
            read,
        }
    }
}

/// The `[gismt]` section: the True API, the signer, the schedule and the alerts.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct GismtConfig {
    true_api: Option<String>,
    /// A PEM file of the root GIS MT's certificate chains to, when the bundled roots lack it.
    true_api_ca: Option<PathBuf>,
    signer: Option<String>,
    signer_timeout_seconds: Option<f64>,
    request_timeout_seconds: Option<f64>,
    refresh_every_minutes: Option<f64>,
    poll_first_seconds: Option<f64>,
    poll_longest_seconds: Option<f64>,
    retry_first_seconds: Option<f64>,
    lookup_grace_seconds: Option<f64>,
    silent_after_minutes: Option<f64>,
    list_limit_hours: Option<f64>,
    stuck_after_minutes: Option<f64>,
    alerts: Option<String>,
}

impl Database {
    /// The link's configuration from the flags over the file; `None` when neither names a
    /// True API.
    fn link(&self, args: &GismtArgs) -> anyhow::Result<Option<LinkConfig>> {
        let file = self.config()?.gismt;
        let Some(host) = args.true_api.clone().or(file.true_api) else {
            if args.signer.is_some() {
                bail!("--signer needs --true-api (or true_api in [gismt])");
            }
            return Ok(None);
        };
        let Some(signer) = args.signer.clone().or(file.signer) else {
            bail!("the True API needs a signer: --signer or signer in [gismt]");
        };
        let seconds = |value: Option<f64>, unit: f64, default: Duration| match value {
            Some(v) if v.is_finite() && v > 0.0 => Duration::from_secs_f64(v * unit),
            _ => default,
        };
        let ca = match &file.true_api_ca {
            Some(path) => {
                Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
            }
            None => None,
        };
        let api = TrueApi::new(
            &host,
            seconds(file.request_timeout_seconds, 1.0, Duration::from_secs(60)),
            ca.as_deref(),
        )?;
        let signer = Signer::parse(
            &signer,
            seconds(file.signer_timeout_seconds, 1.0, Duration::from_secs(60)),
        )
        .map_err(anyhow::Error::msg)?;
        let mut config = LinkConfig::new(api, signer);
        config.refresh_every = seconds(file.refresh_every_minutes, 60.0, config.refresh_every);
        config.poll_first = seconds(file.poll_first_seconds, 1.0, config.poll_first);
        config.poll_longest = seconds(file.poll_longest_seconds, 1.0, config.poll_longest);
        config.retry_first = seconds(file.retry_first_seconds, 1.0, config.retry_first);
        config.lookup_grace = seconds(file.lookup_grace_seconds, 1.0, config.lookup_grace);
        config.silent_after = seconds(file.silent_after_minutes, 60.0, config.silent_after);
        config.list_limit = seconds(file.list_limit_hours, 3600.0, config.list_limit);
        config.stuck_after = seconds(file.stuck_after_minutes, 60.0, config.stuck_after);
        config.alerts = match args.alerts.clone().or(file.alerts) {
            Some(target) => Some(AlertSink::parse(&target).map_err(anyhow::Error::msg)?),
            None => None,
        };
        Ok(Some(config))
    }
}

/// The `[limits]` of the configuration file, over `tally_hub::server::Limits`' defaults.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct LimitsConfig {
    header_read_seconds: Option<u64>,
    body_read_seconds: Option<u64>,
    idle_seconds: Option<u64>,
    tls_handshake_seconds: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
    shutdown_grace_seconds: Option<u64>,
}

impl LimitsConfig {
    fn over(&self, defaults: Limits) -> Limits {
        let seconds = |value: Option<u64>, default: Duration| {
            value.map_or(default, |s| Duration::from_secs(s.max(1)))
        };
        Limits {
            header_read: seconds(self.header_read_seconds, defaults.header_read),
            body_read: seconds(self.body_read_seconds, defaults.body_read),
            idle: seconds(self.idle_seconds, defaults.idle),
            tls_handshake: seconds(self.tls_handshake_seconds, defaults.tls_handshake),
            max_connections: self
                .max_connections
                .map_or(defaults.max_connections, |n| n.max(1)),
            max_per_address: self
                .max_connections_per_address
                .map_or(defaults.max_per_address, |n| n.max(1)),
            shutdown_grace: seconds(self.shutdown_grace_seconds, defaults.shutdown_grace),
        }
    }
}

impl Database {
    /// The configuration file, or the defaults when the packaged one is absent.
    fn config(&self) -> anyhow::Result<HubConfig> {
        match std::fs::read_to_string(&self.config) {
            Ok(text) => toml::from_str::<HubConfig>(&text)
                .with_context(|| format!("reading {}", self.config.display())),
            // The packaged default is optional; a file named on the command line is not.
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    && self.config.as_os_str() == DEFAULT_CONFIG =>
            {
                Ok(HubConfig::default())
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", self.config.display())),
        }
    }

    fn location(&self) -> anyhow::Result<String> {
        if let Some(database) = &self.database {
            return Ok(database.clone());
        }
        if let Some(db) = &self.db {
            return Ok(db.display().to_string());
        }
        Ok(self
            .config()?
            .database
            .unwrap_or_else(|| "tally-hub.db".into()))
    }

    fn open(&self) -> anyhow::Result<Store> {
        let location = self.location()?;
        Store::connect(&location).with_context(|| format!("opening {}", redacted(&location)))
    }
}

/// A database location fit for a log: a URL's password replaced by `***`.
fn redacted(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return location.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => location.to_owned(),
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum OperationKind {
    Acceptance,
    Aggregation,
    Disaggregation,
    Reaggregation,
    WriteOff,
    Shipment,
    Return,
    Inventory,
}

impl OperationKind {
    fn document_kind(self) -> DocumentKind {
        match self {
            OperationKind::Acceptance => DocumentKind::Acceptance,
            OperationKind::Aggregation => DocumentKind::Aggregation,
            OperationKind::Disaggregation => DocumentKind::Disaggregation,
            OperationKind::Reaggregation => DocumentKind::Reaggregation,
            OperationKind::WriteOff => DocumentKind::WriteOff,
            OperationKind::Shipment => DocumentKind::Shipment,
            OperationKind::Return => DocumentKind::Return,
            OperationKind::Inventory => DocumentKind::Inventory,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ImportKind {
    Statuses,
    Blocks,
    Catalog,
    Tasks,
    /// Customers' orders to pick: `{"id", "number", "receiverInn"?, "date", "warehouse"?,
    /// "units": [cis...], "lines": [{"gtin", "quantity"}]}` lines, `{"id", "remove": true}`
    /// withdrawing one.
    Orders,
    /// `{"id", "name", "pin", "badge"?, "supervisor"?, "warehouse"?}` lines: who signs in on
    /// the terminals (the PIN is stored and sent only as a salted digest).
    Operators,
}

fn gismt_action(link: &mut Link, store: &Store, action: GismtAction) -> anyhow::Result<()> {
    match action {
        GismtAction::SignIn { inn } => {
            let token = link.sign_in(&inn, now())?;
            let shown: String = token.chars().take(8).collect();
            println!(
                "{}",
                serde_json::json!({"inn": inn, "token": format!("{shown}…")})
            );
        }
        GismtAction::Refresh { codes } if !codes.is_empty() => {
            for chunk in codes.chunks(tally_hub::gismt::link::CISES_PER_CALL) {
                let stored = link.refresh(chunk, now())?;
                println!(
                    "{}",
                    serde_json::json!({"asked": chunk.len(), "stored": stored})
                );
            }
        }
        GismtAction::Refresh { .. } => {
            let report = link.refresh_all(now())?;
            println!("{}", serde_json::json!({"stored": report}));
        }
        GismtAction::Own { groups, inn, wait } => {
            let participants = match inn {
                Some(inn) => vec![inn],
                None => store.participants()?,
            };
            let mut sleep = |pause: Duration| std::thread::sleep(pause);
            for inn in &participants {
                for pg in &groups {
                    let listed =
                        link.fill_owned(inn, *pg, now(), Duration::from_secs(wait), &mut sleep)?;
                    println!(
                        "{}",
                        serde_json::json!({"inn": inn, "pg": pg.code(), "listed": listed})
                    );
                }
            }
            let stored = link.refresh_queue(now())?;
            println!("{}", serde_json::json!({"stored": stored}));
        }
        GismtAction::Submit { steps } => {
            let mut total = tally_hub::gismt::link::StepReport::default();
            for _ in 0..steps {
                let report = link.documents_step(now())?;
                for failure in &report.failures {
                    eprintln!("{failure}");
                }
                total.sent += report.sent;
                total.found += report.found;
                total.finished += report.finished;
                if store.due_submissions(now(), 1)?.is_empty() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            println!(
                "{}",
                serde_json::json!({"sent": total.sent, "found": total.found,
                                   "finished": total.finished})
            );
        }
        GismtAction::Status { operation } => {
            let documents = store.submissions_of(&operation)?;
            if documents.is_empty() {
                bail!(
                    "operation_unknown: no documents of operation {operation} / \
                     у операции {operation} нет документов"
                );
            }
            for s in documents {
                println!(
                    "{}",
                    serde_json::json!({
                        "operation": s.uuid, "type": s.doc_type, "pg": s.pg,
                        "state": s.state.code(), "gis_id": s.gis_id, "errors": s.errors,
                        "tries": s.tries, "last_error": s.last_error,
                    })
                );
            }
        }
    }
    Ok(())
}

fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    Timestamp(millis)
}

/// The server's log: one line per request and its errors, on standard error (the journal under
/// systemd), filtered by `RUST_LOG` (`info` when unset).
fn log_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second subscriber cannot be installed; the first one logs.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        // Its report of a failed write is an `eprintln!`, which panics (the request with it)
        // when standard error is a closed pipe, as under a parent that read only the first
        // line.
        .log_internal_errors(false)
        .try_init();
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve {
            db,
            listen,
            tls_cert,
            tls_key,
            gismt,
        } => {
            log_to_stderr();
            let limits = db.config()?.limits.over(Limits::default());
            let onec = db.config()?.onec.over(OnecConfig::default());
            let link = db.link(&gismt)?;
            let store = db.open()?;
            let hub = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => {
                    let read = |path: &PathBuf| {
                        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
                    };
                    let config = tally_hub::tls::server_config(&read(&cert)?, &read(&key)?)?;
                    Hub::bind_tls(store, &listen, config)?.with_limits(limits)
                }
                _ => Hub::bind(store, &listen)?.with_limits(limits),
            }
            .with_onec(onec);
            let linked_to = link.as_ref().map(|l| l.api.host().to_owned());
            let hub = match link {
                Some(link) => hub.with_link(link),
                None => hub,
            };
            if let Some(addr) = hub.local_addr() {
                // Plain, and first on standard error: scripts and tests wait for this line and
                // take the URL from its end.
                eprintln!(
                    "tally-hub: serving {} on {}://{addr}",
                    redacted(&db.location()?),
                    hub.scheme()
                );
            }
            if let Some(host) = linked_to {
                tracing::info!("linked to GIS MT through the True API at {host}");
            }
            hub.run_until_terminated();
            tracing::info!("stopped");
            Ok(())
        }
        Command::Gismt { db, gismt, action } => {
            log_to_stderr();
            let Some(config) = db.link(&gismt)? else {
                bail!(
                    "gismt_not_configured: no True API (--true-api or [gismt] true_api) / \
                     не указан True API (--true-api или true_api в [gismt])"
                );
            };
            let store = std::sync::Arc::new(db.open()?);
            let holder = format!(
                "{}:cli:{}",
                tally_hub::gismt::link::host_name(),
                std::process::id()
            );
            let mut link = Link::new(config, std::sync::Arc::clone(&store), holder);
            let result = gismt_action(&mut link, &store, action);
            drop(link);
            drop(store);
            result
        }
        Command::Onec { db, action } => {
            let store = db.open()?;
            match action {
                OnecAction::AddNode {
                    name,
                    warehouse,
                    allow,
                    keep_existing,
                } => {
                    for rule in allow.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                        let net = rule.split_once('/').map_or(rule, |(net, _)| net);
                        if net.parse::<std::net::IpAddr>().is_err() {
                            bail!(
                                "bad_allow: {rule:?} is not an address or a CIDR / \
                                 {rule:?} не адрес и не подсеть"
                            );
                        }
                    }
                    let node = tally_hub::store::onec::OnecNode {
                        name: name.clone(),
                        warehouse,
                        allow,
                        keep_existing,
                    };
                    let Some(password) = store.onec_add_node(&node, now())? else {
                        bail!("node_exists: a node {name} exists already / узел {name} уже есть");
                    };
                    println!(
                        "{}",
                        serde_json::json!({"node": name, "password": password})
                    );
                }
                OnecAction::Log { name, limit } => {
                    for line in store.onec_log_of(&name, limit)? {
                        println!(
                            "{}",
                            serde_json::json!({
                                "at": line.at, "type": line.exchange, "mode": line.mode,
                                "filename": line.filename, "outcome": line.outcome,
                                "message": line.message,
                            })
                        );
                    }
                }
            }
            Ok(())
        }
        Command::AdminToken { db, label } => {
            let store = db.open()?;
            println!("{}", store.create_admin_token(&label, now())?);
            Ok(())
        }
        Command::Revoke { db, device } => {
            let store = db.open()?;
            if !store.revoke_device(device, now())? {
                bail!(
                    "device_unknown: no active device {device} (unknown or already revoked) / \
                     нет активного устройства {device} (неизвестно или уже отозвано)"
                );
            }
            println!("{}", serde_json::json!({"revoked": device}));
            Ok(())
        }
        Command::Prune { db, keep_last } => {
            let store = db.open()?;
            for pruned in store.prune(keep_last)? {
                println!(
                    "{}",
                    serde_json::json!({
                        "feed": pruned.feed.name(),
                        "removed": pruned.removed,
                        "horizon": pruned.horizon,
                    })
                );
            }
            Ok(())
        }
        Command::EnrollCode {
            db,
            warehouse,
            inn,
            qr,
        } => {
            let Some(inn) = Inn::parse(&inn) else {
                bail!("{inn} is not a valid INN (10 or 12 digits with check digits)");
            };
            if warehouse.trim().is_empty() {
                bail!("--warehouse must name a warehouse");
            }
            let store = db.open()?;
            let code = store.create_enrollment_code(warehouse.trim(), &inn, now())?;
            println!("{code}");
            if let Some(url) = qr {
                let printed =
                    tally_hub::enroll_qr::render(&tally_hub::enroll_qr::payload(&url, &code))
                        .map_err(|e| anyhow::anyhow!("cannot draw the QR code: {e}"))?;
                print!("{printed}");
            }
            Ok(())
        }
        Command::Import { db, what, file } => {
            let feed = match what {
                ImportKind::Statuses => Feed::Statuses,
                ImportKind::Blocks => Feed::Blocks,
                ImportKind::Catalog => Feed::Catalog,
                ImportKind::Tasks => Feed::Tasks,
                ImportKind::Orders => Feed::Orders,
                ImportKind::Operators => Feed::Operators,
            };
            let input: Box<dyn Read> = if file.as_os_str() == "-" {
                Box::new(io::stdin().lock())
            } else {
                Box::new(File::open(&file).with_context(|| format!("opening {}", file.display()))?)
            };
            let store = db.open()?;
            let report = import(&store, feed, input)?;
            for rejected in &report.rejected {
                eprintln!("line {}: {}", rejected.line, rejected.reason);
            }
            println!(
                "{}",
                serde_json::json!({
                    "feed": feed.name(),
                    "imported": report.imported,
                    "rejected": report.rejected.len(),
                })
            );
            Ok(())
        }
        Command::Export {
            db,
            after,
            kind,
            discrepancies,
            inventory,
        } => {
            let store = db.open()?;
            let types: Vec<DocType> = kind
                .iter()
                .flat_map(|k| DocType::made_from(k.document_kind()))
                .copied()
                .collect();
            let what = if inventory {
                Exported::Inventory
            } else if discrepancies {
                Exported::Discrepancies
            } else {
                Exported::Documents
            };
            export(&store, after, &types, what)
        }
        Command::Migrate { from, to } => {
            if !from.exists() {
                bail!("{} does not exist", from.display());
            }
            let source =
                Store::open(&from).with_context(|| format!("opening {}", from.display()))?;
            if !tally_hub::store::is_postgres_url(&to) {
                bail!("--to must be a postgres:// URL");
            }
            let target =
                Store::connect(&to).with_context(|| format!("opening {}", redacted(&to)))?;
            let mut mismatched = Vec::new();
            for (a, b) in source.copy_to(&target)? {
                let same = a == b;
                if !same {
                    mismatched.push(a.table);
                }
                println!(
                    "{}",
                    serde_json::json!({
                        "table": a.table, "rows": a.rows, "sha256": a.sha256,
                        "copied_rows": b.rows, "copied_sha256": b.sha256, "same": same,
                    })
                );
            }
            if !mismatched.is_empty() {
                bail!("the copy differs in {}", mismatched.join(", "));
            }
            Ok(())
        }
        Command::BenchIntake(args) => bench_intake::run(&args),
        Command::BenchOnec(args) => bench_onec::run(&args),
    }
}

/// A product group by its True API code (`milk`, `shoes`, …).
fn product_group(code: &str) -> Result<tally_domain::product_group::ProductGroup, String> {
    tally_domain::product_group::ProductGroup::from_code(code)
        .ok_or_else(|| format!("no product group is called {code:?}"))
}

/// One inventory's rows: every code it counted or missed, with the hub's finding.
fn inventory_rows(
    rows: &mut csv::Writer<impl Write>,
    line: &documents::ExportedDiscrepancy,
    report: &documents::InventoryReport,
) -> anyhow::Result<()> {
    let seq = line.seq.to_string();
    let zone = report.zone.as_deref().unwrap_or("");
    let mut row = |code: &str, finding: &str, status: &str, written_off: bool| {
        rows.write_record([
            line.operation.as_str(),
            &seq,
            zone,
            &report.document_number,
            code,
            finding,
            status,
            if written_off { "yes" } else { "no" },
        ])
    };
    for code in &report.found {
        row(code, "found", "", false)?;
    }
    for code in &line.discrepancy.missing {
        row(code, "missing", "", report.written_off.contains(code))?;
    }
    for code in &report.foreign {
        row(code, "foreign", "", false)?;
    }
    for (code, status) in &report.wrong_status {
        row(code, "wrong_status", status, false)?;
    }
    for code in &report.unknown {
        row(code, "unknown", "", false)?;
    }
    Ok(())
}

/// What `tally-hub export` prints.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Exported {
    Documents,
    Discrepancies,
    Inventory,
}

/// Streams the documents page by page, so a hub of millions of operations exports in constant
/// memory.
fn export(store: &Store, mut after: i64, types: &[DocType], what: Exported) -> anyhow::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    if what == Exported::Inventory {
        let mut header = csv::Writer::from_writer(&mut out);
        header.write_record([
            "operation",
            "seq",
            "zone",
            "document",
            "code",
            "finding",
            "status",
            "written_off",
        ])?;
        header.flush()?;
    }
    loop {
        let selection = documents::Selection {
            after,
            types,
            warehouse: None,
        };
        let page = documents::page(store, selection, 1000)?;
        // What the hub told the terminals, for the integrator: an accepted operation that made
        // no document is named on standard error, the documents stay on standard output.
        for line in &page.notices {
            for notice in &line.notices {
                eprintln!(
                    "operation {} (seq {}): {}: {}",
                    line.operation, line.seq, notice.code, notice.en
                );
            }
        }
        if what == Exported::Inventory {
            let mut rows = csv::Writer::from_writer(&mut out);
            for line in &page.discrepancies {
                if let Some(report) = &line.discrepancy.inventory {
                    inventory_rows(&mut rows, line, report)?;
                }
            }
            rows.flush()?;
        } else if what == Exported::Discrepancies {
            for line in &page.discrepancies {
                serde_json::to_writer(&mut out, line)?;
                out.write_all(b"\n")?;
            }
        } else {
            for document in &page.documents {
                serde_json::to_writer(&mut out, document)?;
                out.write_all(b"\n")?;
            }
        }
        after = page.next_after;
        if !page.more {
            break;
        }
    }
    out.flush()?;
    Ok(())
}
