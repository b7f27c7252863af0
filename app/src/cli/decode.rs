//! `tally decode`: image files in, one JSON line per file out: the symbol the terminal's
//! camera path reads in it (symbology, text with GS, exact bytes, the marking code it parses
//! to) or the reason it reads nothing.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};
use tally_domain::Lang;
use tally_domain::code::{ParseOptions, parse};
use tally_domain::reason::Reason;
use tally_drivers::image::{
    DecodeOptions, Decoded, FileSource, FrameDecoder, FrameSource, LookFor, LumaFrame, SourceError,
};

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// PNG, JPEG or WebP files; a directory stands for the files in it, in name order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Which symbols to look for: `goods` is what the terminal does during an operation.
    #[arg(long, value_enum, default_value_t = Symbols::Any)]
    symbols: Symbols,
    /// Also run the slower try-harder pass when the fast pass finds nothing.
    #[arg(long)]
    try_harder: bool,
    /// The longest one image may take to decode, both passes together.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    deadline_ms: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Symbols {
    /// Data Matrix, then QR.
    Any,
    /// Data Matrix only (marking codes).
    Goods,
    /// QR only (badges, provisioning).
    Badges,
}

impl DecodeArgs {
    fn options(&self) -> DecodeOptions {
        DecodeOptions {
            look_for: match self.symbols {
                Symbols::Any => LookFor::ANY,
                Symbols::Goods => LookFor::GOODS,
                Symbols::Badges => LookFor::BADGES,
            },
            try_harder: self.try_harder,
            deadline: Duration::from_millis(self.deadline_ms),
        }
    }
}

/// Prints one line per file; a file that cannot be read is a line with its reason, not an
/// error, so one bad picture never hides the others.
pub fn run(args: &DecodeArgs, mut out: impl Write) -> std::io::Result<()> {
    let mut decoder = FrameDecoder::new(args.options());
    let mut source = FileSource::new(&args.files);
    loop {
        let started = Instant::now();
        // Files are read at once; the deadline is for cameras.
        let line = match source.next_frame(started) {
            Ok(None) => break,
            Ok(Some(frame)) => {
                let file = file_name(&source);
                decode_frame(file, frame, &mut decoder, started)
            }
            Err(SourceError::BadFrame { name, error }) => failure(&name, &error, started),
            Err(other) => failure(&file_name(&source), &Unexpected(other.to_string()), started),
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn file_name(source: &FileSource) -> String {
    source
        .current()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn decode_frame(
    file: String,
    frame: LumaFrame,
    decoder: &mut FrameDecoder,
    started: Instant,
) -> Value {
    let (width, height) = (frame.width(), frame.height());
    let decoded = decoder.decode(frame);
    let mut line = match decoded {
        Ok(decoded) => found(&file, &decoded, started),
        Err(failure_reason) => failure(&file, &failure_reason, started),
    };
    if let Value::Object(map) = &mut line {
        map.insert("width".into(), json!(width));
        map.insert("height".into(), json!(height));
    }
    line
}

fn found(file: &str, decoded: &Decoded, started: Instant) -> Value {
    let elapsed = elapsed_ms(started);
    // Parsed as a scanner would send it, AIM prefix first, so the report names the symbology.
    let mut scan = decoded.symbology.to_string().into_bytes();
    scan.extend_from_slice(&decoded.payload);
    let marking_code = super::parse::report(
        &scan,
        &parse(&scan, &ParseOptions::default()),
        &ParseOptions::default(),
    );
    let mut map = Map::new();
    map.insert("file".into(), json!(file));
    map.insert("ok".into(), json!(true));
    map.insert(
        "symbology".into(),
        json!({"aim": decoded.symbology.to_string(), "name": decoded.symbology.name()}),
    );
    map.insert(
        "text".into(),
        json!(String::from_utf8_lossy(&decoded.payload)),
    );
    map.insert("payload_hex".into(), json!(hex(&decoded.payload)));
    map.insert("pass".into(), json!(decoded.pass.code()));
    map.insert("elapsed_ms".into(), json!(elapsed));
    map.insert("marking_code".into(), marking_code);
    Value::Object(map)
}

fn failure(file: &str, reason: &dyn Reason, started: Instant) -> Value {
    json!({
        "file": file,
        "ok": false,
        "reason": {
            "code": reason.code(),
            "en": reason.message(Lang::En),
            "ru": reason.message(Lang::Ru),
        },
        "elapsed_ms": elapsed_ms(started),
    })
}

/// A source error a file source does not produce; reported rather than trusted away.
struct Unexpected(String);

impl Reason for Unexpected {
    fn code(&self) -> &'static str {
        "cannot_read_file"
    }

    fn message(&self, lang: Lang) -> String {
        match lang {
            Lang::En => format!("Cannot read the file: {}.", self.0),
            Lang::Ru => format!("Не удалось прочитать файл: {}.", self.0),
        }
    }
}

/// Milliseconds with one decimal: enough to compare pictures, stable to read.
fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_drivers::image::synthetic::{self, Scene};

    const MILK: &[u8] = b"0104600840749372215XyZ1a\x1d93Ab1+";

    fn args(files: Vec<PathBuf>) -> DecodeArgs {
        DecodeArgs {
            files,
            symbols: Symbols::Any,
            try_harder: true,
            deadline_ms: 60_000,
        }
    }

    fn lines(args: &DecodeArgs) -> (String, Vec<Value>) {
        let mut out = Vec::new();
        run(args, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let values = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (text, values)
    }

    fn scene_png(symbol: &LumaFrame) -> Vec<u8> {
        synthetic::png(&Scene::default().shoot(symbol).unwrap()).unwrap()
    }

    #[test]
    fn one_line_per_file_with_the_code_or_the_reason() {
        let dir = std::env::temp_dir().join(format!("tally-cli-decode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let code = dir.join("code.png");
        std::fs::write(
            &code,
            scene_png(&synthetic::data_matrix(MILK, true).unwrap()),
        )
        .unwrap();
        let badge = dir.join("badge.png");
        std::fs::write(
            &badge,
            scene_png(&synthetic::qr(b"TALLY1;operator=0042", false).unwrap()),
        )
        .unwrap();
        let blank = dir.join("blank.png");
        std::fs::write(
            &blank,
            synthetic::png(&LumaFrame::filled(320, 240, 255).unwrap()).unwrap(),
        )
        .unwrap();
        let empty = dir.join("empty.png");
        std::fs::write(&empty, b"").unwrap();
        let gif = dir.join("label.gif");
        std::fs::write(&gif, b"GIF89a\x10\x00\x10\x00\x80\x00\x00").unwrap();
        let junk = dir.join("junk.jpg");
        std::fs::write(&junk, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();

        let files = vec![
            code,
            badge,
            blank,
            empty,
            gif,
            junk,
            dir.join("missing.png"),
        ];
        let (text, got) = lines(&args(files));
        assert_eq!(got.len(), 7);

        let milk = &got[0];
        assert_eq!(milk["ok"], true);
        assert_eq!(
            milk["symbology"],
            json!({"aim": "]d2", "name": "gs1_datamatrix"})
        );
        assert_eq!(milk["text"], "0104600840749372215XyZ1a\u{1d}93Ab1+");
        assert_eq!(milk["payload_hex"], hex(MILK));
        assert_eq!(
            (milk["width"].as_u64(), milk["height"].as_u64()),
            (Some(1280), Some(720))
        );
        assert!(milk["elapsed_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
        assert_eq!(milk["marking_code"]["ok"], true);
        assert_eq!(milk["marking_code"]["kind"], "unit_short");
        assert_eq!(milk["marking_code"]["ki"], "0104600840749372215XyZ1a");
        assert_eq!(milk["marking_code"]["symbology"]["aim"], "]d2");
        assert_eq!(milk["marking_code"]["recovered"], false);
        // The GS travels as JSON's escape, never as a stand-in or a dropped byte.
        assert!(text.lines().next().unwrap().contains(r"1a\u001d93"));

        let badge = &got[1];
        assert_eq!(badge["ok"], true);
        assert_eq!(badge["symbology"]["aim"], "]Q1");
        assert_eq!(badge["text"], "TALLY1;operator=0042");
        assert_eq!(badge["marking_code"]["ok"], false);

        let reasons: Vec<&str> = got[2..]
            .iter()
            .map(|line| {
                assert_eq!(line["ok"], false);
                assert!(line["reason"]["ru"].as_str().is_some_and(|m| !m.is_empty()));
                line["reason"]["code"].as_str().unwrap()
            })
            .collect();
        assert_eq!(
            reasons,
            [
                "no_code_found",
                "empty_file",
                "unsupported_format",
                "unreadable_image",
                "cannot_read_file"
            ]
        );
        assert!(got[5]["file"].as_str().unwrap().ends_with("junk.jpg"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_image_that_overruns_the_deadline_says_timeout() {
        let dir = std::env::temp_dir().join(format!("tally-cli-timeout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let code = dir.join("code.png");
        std::fs::write(
            &code,
            scene_png(&synthetic::data_matrix(MILK, true).unwrap()),
        )
        .unwrap();
        let (_, got) = lines(&DecodeArgs {
            deadline_ms: 0,
            ..args(vec![dir.clone()])
        });
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["reason"]["code"], "timeout");
        assert!(got[0]["reason"]["en"].as_str().unwrap().contains("0 ms"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
