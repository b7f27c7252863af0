//! `tally label`: one box or pallet label from the command line, as ZPL on standard output, a
//! PNG preview or a job on a printer: for support (a label again for a box the replica does
//! not hold) and for setting up a printer.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use clap::{Args, ValueEnum};
use tally_domain::Lang;
use tally_domain::gs1::Sscc;
use tally_domain::label::{self, BoxLabel};
use tally_domain::operation::Level;
use tally_domain::reason::Reason;
use tally_drivers::printer::{self, PrinterAddress, PrinterTimeouts};

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum LabelLevel {
    Box,
    Pallet,
}

#[derive(Debug, Args)]
pub struct LabelArgs {
    /// The SSCC, 18 digits (`00` in front is taken off).
    #[arg(long)]
    sscc: String,
    #[arg(long, value_enum, default_value_t = LabelLevel::Box)]
    level: LabelLevel,
    /// Who packed it.
    #[arg(long, default_value = "")]
    packer: String,
    /// A line of contents (repeat for more), such as `04600840749372 Молоко × 12`.
    #[arg(long = "line", value_name = "TEXT")]
    lines: Vec<String>,
    /// Units (or boxes) inside.
    #[arg(long, default_value_t = 0)]
    count: u32,
    /// The packing date, YYYY-MM-DD (default: today in Moscow).
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Write the PNG preview here instead of printing ZPL.
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
    /// Send the label to this printer (`tcp:HOST[:PORT]` or `device:PATH`).
    #[arg(long, value_name = "ADDRESS")]
    printer: Option<PrinterAddress>,
}

pub fn run(args: &LabelArgs, mut out: impl Write) -> anyhow::Result<()> {
    let digits = args.sscc.strip_prefix("00").unwrap_or(&args.sscc);
    let sscc = Sscc::from_digits(digits.as_bytes()).ok_or_else(|| {
        anyhow!(
            "{:?} is not an SSCC (18 digits, valid check digit)",
            args.sscc
        )
    })?;
    let packed_on = match &args.date {
        Some(text) => super::work::parse_date(text)?,
        None => super::db::now().moscow_date(),
    };
    let label = BoxLabel {
        sscc,
        level: match args.level {
            LabelLevel::Box => Level::Box,
            LabelLevel::Pallet => Level::Pallet,
        },
        packer: args.packer.clone(),
        contents: args.lines.clone(),
        count: args.count,
        packed_on,
    };
    let layout = label::layout(&label);
    if let Some(path) = &args.png {
        let png = tally_drivers::label::png(&layout).context("drawing the preview")?;
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))?;
    }
    let zpl = label::zpl(&layout);
    if let Some(address) = &args.printer {
        printer::print(address, zpl.as_bytes(), PrinterTimeouts::default()).map_err(|e| {
            anyhow!(
                "{} ({}): {}",
                e.message(Lang::En),
                e.code(),
                e.message(Lang::Ru)
            )
        })?;
    }
    if args.png.is_none() && args.printer.is_none() {
        out.write_all(zpl.as_bytes())?;
    }
    Ok(())
}
