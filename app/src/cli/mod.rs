//! The command line of `tally`: one subcommand per tool a support engineer or a script needs.

mod check;
mod db;
mod decode;
mod parse;
mod scan;
mod sync;

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
    /// Read marking codes (Data Matrix) and badges (QR) from PNG or JPEG images as the
    /// terminal's camera would, and print one JSON object per file.
    Decode(decode::DecodeArgs),
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
            check::run(&args, std::io::stdout().lock(), db::now())?;
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
        None => {
            let _ = <Cli as clap::CommandFactory>::command().print_help();
            Ok(ExitCode::from(2))
        }
    }
}
