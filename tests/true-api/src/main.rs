//! `true-api-emulator`: a stand-in for GIS MT's True API (docs/true-api.md) for the hub's tests.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tally_true_api_emulator::server::{self, Config};

/// Answers the subset of GIS MT's True API in docs/true-api.md, and refuses what it refuses.
#[derive(Parser, Debug)]
#[command(name = "true-api-emulator")]
struct Args {
    /// The address to listen on; port 0 picks a free one (the first line of standard output
    /// says which).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// The CA certificate (PEM) that signers' certificates must chain to.
    #[arg(long)]
    ca: PathBuf,
    /// The directory of `<TYPE>.schema.json` files (`wire/schemas`).
    #[arg(long)]
    schemas: PathBuf,
    /// JSON lines of `cisInfo` objects to start with.
    #[arg(long)]
    codes: Option<PathBuf>,
    /// How many info reads a new document stays IN_PROGRESS before it is judged.
    #[arg(long, default_value_t = 1)]
    checking_polls: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        listen: args.listen,
        ca: args.ca,
        schemas: args.schemas,
        codes: args.codes,
        checking_polls: args.checking_polls,
    };
    // Two workers: openssl runs on blocking threads, the rest is small.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("true-api-emulator: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("true-api-emulator: {e:#}");
            ExitCode::FAILURE
        }
    }
}
