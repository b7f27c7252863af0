//! `tally-hub`: serve the terminals, hand out enrollment codes, import GIS MT exports.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use tally_domain::status::{Inn, Timestamp};
use tally_hub::import::import;
use tally_hub::server::Hub;
use tally_hub::store::Store;
use tally_sync::wire::Feed;

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
    /// Serve the terminals over HTTP.
    Serve {
        #[arg(long, default_value = "tally-hub.db")]
        db: PathBuf,
        #[arg(long, default_value = "0.0.0.0:8470")]
        listen: String,
    },
    /// Print a one-time code that enrolls one terminal for a warehouse.
    EnrollCode {
        #[arg(long, default_value = "tally-hub.db")]
        db: PathBuf,
        #[arg(long)]
        warehouse: String,
        /// The participant (INN) the terminal's operations are made for.
        #[arg(long)]
        inn: String,
    },
    /// Load JSON lines (plain or gzip, `-` for standard input) into a feed.
    Import {
        #[arg(long, default_value = "tally-hub.db")]
        db: PathBuf,
        what: ImportKind,
        file: PathBuf,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ImportKind {
    Statuses,
    Blocks,
    Catalog,
    Tasks,
}

fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    Timestamp(millis)
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve { db, listen } => {
            let store = Store::open(&db).with_context(|| format!("opening {}", db.display()))?;
            let hub = Hub::bind(store, &listen)?;
            if let Some(addr) = hub.local_addr() {
                eprintln!("tally-hub: serving {} on http://{addr}", db.display());
            }
            hub.run();
            Ok(())
        }
        Command::EnrollCode { db, warehouse, inn } => {
            let Some(inn) = Inn::parse(&inn) else {
                bail!("{inn} is not a valid INN (10 or 12 digits with check digits)");
            };
            if warehouse.trim().is_empty() {
                bail!("--warehouse must name a warehouse");
            }
            let mut store =
                Store::open(&db).with_context(|| format!("opening {}", db.display()))?;
            println!(
                "{}",
                store.create_enrollment_code(warehouse.trim(), &inn, now())?
            );
            Ok(())
        }
        Command::Import { db, what, file } => {
            let feed = match what {
                ImportKind::Statuses => Feed::Statuses,
                ImportKind::Blocks => Feed::Blocks,
                ImportKind::Catalog => Feed::Catalog,
                ImportKind::Tasks => Feed::Tasks,
            };
            let input: Box<dyn Read> = if file.as_os_str() == "-" {
                Box::new(io::stdin().lock())
            } else {
                Box::new(File::open(&file).with_context(|| format!("opening {}", file.display()))?)
            };
            let mut store =
                Store::open(&db).with_context(|| format!("opening {}", db.display()))?;
            let report = import(&mut store, feed, input)?;
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
    }
}
