//! `tally bench-decode`: the camera path over a tree of test images with expected texts,
//! how many it reads and how long each takes, side by side with a reference decoder's lines.
//!
//! The images are public decoder test suites (`../shared/datasets/datamatrix`), not part of the
//! repository; the reference lines come from `drivers/benches/zxingcpp_datamatrix.py`. Both
//! sides time the decode alone, the image already grey in memory, best of `--rounds`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::Deserialize;
use tally_drivers::image::{
    DecodeOptions, FrameDecoder, LookFor, Pass, RxingReader, StandardReader, SymbolReader,
    read_image_file,
};

#[derive(Debug, Args)]
pub struct BenchDecodeArgs {
    /// The folder of test images: every image under it with a `<stem>.txt` (exact text) or
    /// `<stem>.bin` (exact bytes) beside it.
    #[arg(value_name = "DIR")]
    root: PathBuf,
    /// The reference decoder's JSON lines (`{"image", "read", "decode_ms"}`), for the table.
    #[arg(long, value_name = "FILE")]
    reference: Option<PathBuf>,
    /// Decodes per image; the fastest counts, as on the reference side.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Also run the try-harder pass when the first finds nothing (`tally decode --try-harder`).
    #[arg(long)]
    try_harder: bool,
    /// The longest one image may take, every pass together.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    deadline_ms: u64,
    /// The reader measured: `standard` is the terminal's, `rxing` the one before zxing-cpp.
    #[arg(long, value_enum, default_value_t = ReaderChoice::Standard)]
    reader: ReaderChoice,
    /// Print a JSON line per image before the table.
    #[arg(long)]
    lines: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum ReaderChoice {
    Standard,
    Rxing,
}

/// One image's outcome, on either side. `decode_ms` is the decode call alone; on Tally's side
/// `deadline_ms` is the same through the frame decoder's deadline thread, as the camera runs it.
#[derive(Clone, Debug, Deserialize)]
struct Outcome {
    image: String,
    read: bool,
    decode_ms: f64,
    #[serde(default)]
    deadline_ms: f64,
}

const IMAGE_SUFFIXES: [&str; 7] = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "pgm"];

pub fn run(args: &BenchDecodeArgs, mut out: impl Write) -> anyhow::Result<()> {
    let reference = match &args.reference {
        Some(path) => read_reference(path)?,
        None => BTreeMap::new(),
    };
    let reader: Arc<dyn SymbolReader> = match args.reader {
        ReaderChoice::Standard => Arc::new(StandardReader),
        ReaderChoice::Rxing => Arc::new(RxingReader),
    };
    let options = DecodeOptions {
        look_for: LookFor::GOODS,
        try_harder: args.try_harder,
        deadline: Duration::from_millis(args.deadline_ms),
    };
    let mut decoder = FrameDecoder::with_reader(Arc::clone(&reader), options);
    let mut ours = Vec::new();
    for image in images(&args.root)? {
        let Some(expected) = expected(&image)? else {
            continue;
        };
        let name = relative(&args.root, &image);
        let outcome = match read_image_file(&image) {
            Ok(frame) => {
                let frame = Arc::new(frame);
                let (mut direct, mut through_deadline) = (Duration::MAX, Duration::MAX);
                let mut read = false;
                for _ in 0..args.rounds.max(1) {
                    let started = Instant::now();
                    let mut decoded = reader.read(&frame, options.look_for, Pass::Fast);
                    if decoded.is_none() && options.try_harder {
                        decoded = reader.read(&frame, options.look_for, Pass::TryHarder);
                    }
                    direct = direct.min(started.elapsed());
                    std::hint::black_box(decoded);
                    let started = Instant::now();
                    let decoded = decoder.decode(Arc::clone(&frame));
                    through_deadline = through_deadline.min(started.elapsed());
                    read = decoded.is_ok_and(|d| d.payload == expected);
                }
                Outcome {
                    image: name,
                    read,
                    decode_ms: direct.as_secs_f64() * 1000.0,
                    deadline_ms: through_deadline.as_secs_f64() * 1000.0,
                }
            }
            // An image Tally cannot open is one it does not read; the table shows it.
            Err(_) => Outcome {
                image: name,
                read: false,
                decode_ms: 0.0,
                deadline_ms: 0.0,
            },
        };
        if args.lines {
            let line = serde_json::json!({
                "image": outcome.image, "read": outcome.read,
                "decode_ms": (outcome.decode_ms * 1000.0).round() / 1000.0,
                "deadline_ms": (outcome.deadline_ms * 1000.0).round() / 1000.0,
            });
            writeln!(out, "{line}")?;
        }
        ours.push(outcome);
    }
    write_table(&ours, &reference, &mut out)?;
    Ok(())
}

fn read_reference(path: &Path) -> anyhow::Result<BTreeMap<String, Outcome>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = BTreeMap::new();
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let outcome: Outcome = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", path.display(), number + 1))?;
        lines.insert(outcome.image.clone(), outcome);
    }
    Ok(lines)
}

/// Every image file under `root`, in name order, so runs compare line by line.
fn images(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries =
            std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_SUFFIXES.contains(&e.to_ascii_lowercase().as_str()))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The bytes the image holds: `<stem>.bin` if there is one, else `<stem>.txt`.
fn expected(image: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    for suffix in ["bin", "txt"] {
        let path = image.with_extension(suffix);
        if path.exists() {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

fn relative(root: &Path, image: &Path) -> String {
    image
        .strip_prefix(root)
        .unwrap_or(image)
        .display()
        .to_string()
}

/// Per folder and in all: images, read by each side, read by the reference but not by Tally,
/// and the median decode time of each side.
fn write_table(
    ours: &[Outcome],
    reference: &BTreeMap<String, Outcome>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut folders: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
    for outcome in ours {
        let folder = outcome.image.split('/').next().unwrap_or("");
        folders.entry(folder).or_default().push(outcome);
        folders.entry("all").or_default().push(outcome);
    }
    writeln!(
        out,
        "| images | count | Tally reads | reference reads | reference only | Tally median ms | \
         Tally median ms, deadline thread | reference median ms |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|")?;
    let mut missed = Vec::new();
    for (folder, outcomes) in &folders {
        let theirs: Vec<&Outcome> = outcomes
            .iter()
            .filter_map(|o| reference.get(&o.image))
            .collect();
        let only_theirs: Vec<&str> = outcomes
            .iter()
            .filter(|o| !o.read && reference.get(&o.image).is_some_and(|r| r.read))
            .map(|o| o.image.as_str())
            .collect();
        if *folder != "all" {
            missed.extend(only_theirs.iter().copied());
        }
        writeln!(
            out,
            "| {folder} | {} | {} | {} | {} | {} | {} | {} |",
            outcomes.len(),
            outcomes.iter().filter(|o| o.read).count(),
            if reference.is_empty() {
                "-".to_string()
            } else {
                theirs.iter().filter(|o| o.read).count().to_string()
            },
            if reference.is_empty() {
                "-".to_string()
            } else {
                only_theirs.len().to_string()
            },
            median(outcomes.iter().map(|o| o.decode_ms)),
            median(outcomes.iter().map(|o| o.deadline_ms)),
            median(theirs.iter().map(|o| o.decode_ms)),
        )?;
    }
    for image in missed {
        writeln!(out, "read by the reference only: {image}")?;
    }
    out.flush()
}

fn median(times: impl Iterator<Item = f64>) -> String {
    let mut times: Vec<f64> = times.collect();
    if times.is_empty() {
        return "-".into();
    }
    times.sort_by(f64::total_cmp);
    let middle = times.len() / 2;
    let value = if times.len().is_multiple_of(2) {
        (times[middle - 1] + times[middle]) / 2.0
    } else {
        times[middle]
    };
    format!("{value:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_drivers::image::synthetic::{self, Scene};

    const MILK: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+";

    fn folder(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tally-bench-decode-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("set")).unwrap();
        dir
    }

    #[test]
    fn the_table_counts_what_each_side_reads_and_names_what_only_the_reference_read() {
        let root = folder("table");
        let symbol = synthetic::data_matrix(MILK, true).unwrap();
        let png = synthetic::png(&Scene::default().shoot(&symbol).unwrap()).unwrap();
        std::fs::write(root.join("set/milk.png"), &png).unwrap();
        std::fs::write(root.join("set/milk.txt"), MILK).unwrap();
        // Same picture, wrong expectation: Tally reads something else, so it is not read.
        std::fs::write(root.join("set/wrong.png"), &png).unwrap();
        std::fs::write(root.join("set/wrong.txt"), b"something else").unwrap();
        // No expectation beside it: not measured.
        std::fs::write(root.join("set/orphan.png"), &png).unwrap();
        let reference = root.join("reference.jsonl");
        std::fs::write(
            &reference,
            "{\"image\": \"set/milk.png\", \"read\": true, \"decode_ms\": 0.5}\n\
             {\"image\": \"set/wrong.png\", \"read\": true, \"decode_ms\": 1.5}\n",
        )
        .unwrap();
        let args = BenchDecodeArgs {
            root: root.clone(),
            reference: Some(reference),
            rounds: 1,
            try_harder: true,
            deadline_ms: 60_000,
            reader: ReaderChoice::Standard,
            lines: true,
        };
        let mut out = Vec::new();
        run(&args, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("{\"image\":\"set/milk.png\",\"read\":true"),
            "{text}"
        );
        assert!(
            text.contains("{\"image\":\"set/wrong.png\",\"read\":false"),
            "{text}"
        );
        assert!(!text.contains("orphan"), "{text}");
        assert!(text.contains("| set | 2 | 1 | 2 | 1 |"), "{text}");
        assert!(
            text.ends_with("| 1.000 |\n") || text.contains("| 1.000 |\nread by"),
            "reference median: {text}"
        );
        assert!(
            text.contains("read by the reference only: set/wrong.png"),
            "{text}"
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_reference_line_that_is_not_json_is_an_error_naming_its_line() {
        let root = folder("bad");
        let reference = root.join("reference.jsonl");
        std::fs::write(
            &reference,
            "{\"image\": \"a\", \"read\": true, \"decode_ms\": 1}\nnope\n",
        )
        .unwrap();
        let args = BenchDecodeArgs {
            root: root.clone(),
            reference: Some(reference),
            rounds: 1,
            try_harder: false,
            deadline_ms: 1000,
            reader: ReaderChoice::Standard,
            lines: false,
        };
        let error = run(&args, Vec::new()).unwrap_err();
        assert!(format!("{error:#}").contains("line 2"), "{error:#}");
        std::fs::remove_dir_all(root).unwrap();
    }
}
