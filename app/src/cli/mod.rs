//! The command line of `tally`: one subcommand per tool a support engineer or a script needs.

mod bench_decode;
mod camera;
mod check;
mod db;
mod decode;
mod label;
mod parse;
mod scan;
mod sync;
mod work;

pub use db::now;
pub use scan::{SourceSpec, start_source};
pub(crate) use sync::host_name;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tally_domain::code::ParseOptions;

#[derive(Debug, Parser)]
#[command(
    name = "tally",
    version,
    about = "Warehouse terminal for Chestny Znak marking codes"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    terminal: TerminalArgs,
}

/// Without a subcommand, `tally` is the terminal: the touch UI.
#[derive(Debug, Args)]
struct TerminalArgs {
    /// The configuration file (default /etc/tally/tally.toml, or `TALLY_CONFIG`).
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<std::path::PathBuf>,
    /// Start with a built-in demo dataset and a local demo hub.
    #[arg(long)]
    demo: bool,
    /// With --demo: play the codes of FILE (one a line) as scans.
    #[arg(long, value_name = "FILE", requires = "demo")]
    script: Option<std::path::PathBuf>,
    /// Milliseconds between scripted scans.
    #[arg(long, value_name = "MS", default_value_t = 1500)]
    script_pace: u64,
    /// Measure scan-to-screen latency over N scans with the software renderer, print it as
    /// JSON and exit.
    #[arg(long, value_name = "N")]
    bench_ui: Option<usize>,
    /// Measure cold start to scan-ready and resident memory N times against a replica of
    /// `--bench-codes` codes (built once in the data directory), print JSON and exit.
    #[arg(long, value_name = "N")]
    bench_start: Option<usize>,
    #[arg(long, value_name = "CODES", default_value_t = 10_000_000)]
    bench_codes: u64,
    /// Internal: the child process `--bench-start` times.
    #[arg(long, hide = true)]
    start_probe: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse marking codes from the arguments, or from each line of standard input, and print
    /// one JSON object per input.
    ///
    /// GS may be given as a real 0x1D byte, `<GS>`, `\u001d` or `␝`.
    Parse(ParseArgs),
    /// Like `parse`, plus the offline verdict for an operation, from the local replica.
    Check(check::CheckArgs),
    /// Read scans from a scanner (serial:PATH[,BAUD], evdev:PATH), a recorded key trace
    /// (trace:FILE) or standard input, and print each as a JSON line: the technician's test.
    Scan(scan::ScanArgs),
    /// Read marking codes (Data Matrix) and badges (QR) from PNG, JPEG or WebP images as the
    /// terminal's camera would, and print one JSON object per file.
    Decode(decode::DecodeArgs),
    /// Measure the camera path on a folder of test images with expected texts, side by side
    /// with a reference decoder's results (BENCHMARKS.md, "Data Matrix images side by side").
    BenchDecode(bench_decode::BenchDecodeArgs),
    /// Make a box or pallet label: ZPL on standard output, a PNG preview (`--png`) or a job on
    /// a label printer (`--printer tcp:HOST[:PORT]` or `device:PATH`).
    Label(label::LabelArgs),
    /// The terminal's local replica: import hub exports, show its figures, benchmark it.
    Db(db::DbArgs),
    /// Print the finished operations waiting for upload, one JSON object per line.
    Queue(db::QueueArgs),
    /// Join a hub: trade the one-time code (`tally-hub enroll-code`) for a device token, kept
    /// next to the replica (`DB.hub`, mode 0600).
    Enroll(sync::EnrollArgs),
    /// Run one sync round with the hub: push the queue, pull every feed; progress on standard
    /// error, the summary as JSON on standard output.
    Sync(sync::SyncArgs),
    /// Work one operation (acceptance, aggregation, re-aggregation, write-off) headless from a
    /// scanner until a `TALLY:FINISH` command barcode; an open one is resumed from its journal.
    Work(Box<work::WorkArgs>),
}

#[derive(Debug, Args)]
struct ParseArgs {
    /// Codes to parse; without any, each line of standard input is one code.
    codes: Vec<OsString>,
    #[command(flatten)]
    scanner: ScannerArgs,
}

/// How the scanner is set up, as far as the parser must know.
#[derive(Debug, Args)]
struct ScannerArgs {
    /// A character the scanner sends in place of GS, such as `|` or `#`.
    #[arg(long, value_name = "CHAR")]
    gs_substitute: Option<char>,
    /// Serial lengths tried when separators were lost (at most 4).
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', default_values_t = [13u8, 7, 6])]
    serial_lengths: Vec<u8>,
    /// Reject codes typed through the Russian keyboard layout instead of restoring them.
    #[arg(long)]
    no_layout_repair: bool,
}

impl ScannerArgs {
    fn options(&self) -> anyhow::Result<ParseOptions> {
        let gs_substitute = match self.gs_substitute {
            None => None,
            Some(c) if c.is_ascii() => Some(c as u8),
            Some(c) => anyhow::bail!("--gs-substitute must be an ASCII character, not {c:?}"),
        };
        if self.serial_lengths.len() > 4 {
            anyhow::bail!("--serial-lengths takes at most 4 lengths");
        }
        let mut recovery_serial_lengths = [0u8; 4];
        for (slot, &len) in recovery_serial_lengths.iter_mut().zip(&self.serial_lengths) {
            if !(1..=20).contains(&len) {
                anyhow::bail!("serial lengths are 1 to 20 characters, not {len}");
            }
            *slot = len;
        }
        Ok(ParseOptions {
            gs_substitute,
            recovery_serial_lengths,
            repair_keyboard_layout: !self.no_layout_repair,
        })
    }
}

/// Runs `tally` with these arguments (the first is the program name).
pub fn run(args: impl IntoIterator<Item = OsString>) -> anyhow::Result<ExitCode> {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // clap formats help and usage errors itself, to stdout or stderr as fits.
            let _ = error.print();
            return Ok(if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            });
        }
    };
    match cli.command {
        Some(Command::Parse(args)) => {
            let options = args.scanner.options()?;
            let stdout = std::io::stdout().lock();
            if args.codes.is_empty() {
                parse::from_lines(std::io::stdin().lock(), stdout, &options)?;
            } else {
                parse::from_args(&args.codes, stdout, &options)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Check(args)) => {
            check::run(&args, std::io::stdout().lock(), now())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Scan(args)) => {
            scan::run(&args, std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Decode(args)) => {
            decode::run(&args, std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::BenchDecode(args)) => {
            bench_decode::run(&args, std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Label(args)) => {
            label::run(&args, std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Db(args)) => {
            db::run(&args, std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Queue(args)) => {
            db::run_queue(&args, std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Enroll(args)) => {
            sync::run_enroll(&args, std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Sync(args)) => {
            sync::run_sync(&args, std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Work(args)) => {
            work::run(&args, std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let args = cli.terminal;
            crate::terminal::run(&crate::terminal::Options {
                config: args.config,
                demo: args.demo,
                script: args.script,
                script_pace: std::time::Duration::from_millis(args.script_pace),
                bench_ui: args.bench_ui,
                bench_start: args.bench_start.map(|runs| (runs, args.bench_codes)),
                start_probe: args.start_probe,
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
