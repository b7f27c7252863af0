//! `tally scan`: a headless scanning loop over one real or scripted source, printing every scan
//! (parsed, and judged when a replica is given) and every device event as a JSON line. The
//! tool a technician runs on a terminal before blaming the scanner.

use std::io::{BufReader, Write};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::time::UNIX_EPOCH;

use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use serde_json::{Value, json};
use tally_domain::code::parse;
use tally_drivers::scan::ScanEvent;
use tally_drivers::script;
use tally_drivers::serial::{self, SerialConfig};
use tally_drivers::serial_frame::Framing;
use tally_drivers::wedge::{WedgeConfig, key_code};
use tally_drivers::wedge_device::{self, WedgeDeviceConfig};
use tally_sync::store::Reader;

use super::ScannerArgs;
use super::camera::CameraSpec;
use super::check::{Checker, VerdictArgs};

/// Where scans come from.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SourceSpec {
    Serial {
        path: String,
        baud: u32,
    },
    Evdev {
        path: String,
    },
    Trace {
        file: String,
    },
    /// One payload per line, from a file: demos and replays of logged scans.
    Lines {
        file: String,
    },
    Stdin,
    /// A V4L2 camera (`camera:/dev/video0;…`) or a recording of one (`recorded:DIR;…`).
    Camera(Box<CameraSpec>),
}

impl FromStr for SourceSpec {
    type Err = String;

    fn from_str(spec: &str) -> Result<SourceSpec, String> {
        let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
        match (kind, rest) {
            ("stdin", "") => Ok(SourceSpec::Stdin),
            ("serial", rest) if !rest.is_empty() => {
                let (path, baud) = match rest.rsplit_once(',') {
                    Some((path, baud)) => (
                        path,
                        baud.parse::<u32>()
                            .map_err(|_| format!("{baud:?} is not a baud rate"))?,
                    ),
                    None => (rest, 9600),
                };
                Ok(SourceSpec::Serial {
                    path: path.to_string(),
                    baud,
                })
            }
            ("evdev", rest) if !rest.is_empty() => Ok(SourceSpec::Evdev {
                path: rest.to_string(),
            }),
            ("trace", rest) if !rest.is_empty() => Ok(SourceSpec::Trace {
                file: rest.to_string(),
            }),
            ("file", rest) if !rest.is_empty() => Ok(SourceSpec::Lines {
                file: rest.to_string(),
            }),
            (kind @ ("camera" | "recorded"), rest) => Ok(SourceSpec::Camera(Box::new(
                CameraSpec::parse(spec, kind, rest)?,
            ))),
            _ => Err(format!(
                "{spec:?}: expected serial:PATH[,BAUD], evdev:PATH, trace:FILE, file:FILE, \
                 camera:DEVICE[;KEY=VALUE…], recorded:DIR[;KEY=VALUE…] or stdin"
            )),
        }
    }
}

/// Which scanner and how it speaks: shared by `tally scan` and `tally work`.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// serial:PATH[,BAUD] | evdev:PATH | trace:FILE | file:FILE | stdin |
    /// camera:DEVICE[;KEY=VALUE…] | recorded:DIR[;KEY=VALUE…] (camera keys: size, fps, formats,
    /// mode = continuous|hold|press, trigger_window, trigger = /dev/input/eventN:KEY)
    #[arg(long, value_name = "SOURCE")]
    pub source: SourceSpec,
    /// How a serial scanner ends a scan: cr, lf, crlf, stx-etx or none (a pause ends it).
    #[arg(long, default_value = "cr")]
    pub framing: Framing,
    /// The key a keyboard-wedge scanner presses for GS (evdev key name, such as `f8`).
    #[arg(long, value_name = "KEY", default_value = "f8")]
    gs_key: String,
    /// Milliseconds of silence that end a wedge scan without Enter.
    #[arg(long, value_name = "MS", default_value_t = 80)]
    gap: u64,
}

impl SourceArgs {
    pub fn wedge_config(&self) -> anyhow::Result<WedgeConfig> {
        let gs_key = key_code(&self.gs_key)
            .ok_or_else(|| anyhow!("unknown key {:?} for --gs-key", self.gs_key))?;
        Ok(WedgeConfig {
            gs_key: Some(gs_key),
            gap_ms: self.gap,
            ..WedgeConfig::default()
        })
    }

    /// Starts the source on its own thread; it stops when `stop` is set or its input ends.
    pub fn start(
        &self,
        record_keys: bool,
        events: Sender<ScanEvent>,
        stop: &Arc<AtomicBool>,
    ) -> anyhow::Result<std::thread::JoinHandle<()>> {
        start_source(
            &self.source,
            self.framing,
            self.wedge_config()?,
            record_keys,
            events,
            stop,
        )
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    input: SourceArgs,
    /// Append the raw key events of an evdev scanner to FILE as a replayable trace.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
    /// Stop after this many scans.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Judge every scan against this replica (as `tally check`).
    #[arg(long, value_name = "PATH")]
    db: Option<std::path::PathBuf>,
    #[command(flatten)]
    verdict: VerdictArgs,
    #[command(flatten)]
    scanner: ScannerArgs,
}

/// Starts one scanner source on its own thread, as `tally scan` and the terminal do; it stops
/// when `stop` is set or its input ends.
pub fn start_source(
    source: &SourceSpec,
    framing: Framing,
    wedge: WedgeConfig,
    record_keys: bool,
    events: Sender<ScanEvent>,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let stop = Arc::clone(stop);
    let name = format!("tally-scanner-{}", source.kind());
    let builder = std::thread::Builder::new().name(name);
    Ok(match source.clone() {
        SourceSpec::Serial { path, baud } => {
            let config = SerialConfig {
                baud,
                framing,
                ..SerialConfig::new(path)
            };
            builder.spawn(move || serial::run(&config, &events, &stop))?
        }
        SourceSpec::Evdev { path } => {
            let config = WedgeDeviceConfig {
                decoder: wedge,
                record_keys,
                ..WedgeDeviceConfig::new(path)
            };
            builder.spawn(move || wedge_device::run(&config, &events, &stop))?
        }
        SourceSpec::Trace { file } => {
            let trace =
                std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
            // Validate before the thread starts, so a bad trace is an error, not silence.
            tally_drivers::wedge::parse_trace(&trace).map_err(|e| anyhow!("{file}: {e}"))?;
            builder.spawn(move || {
                let _ = script::run_trace(&trace, wedge, &events);
            })?
        }
        SourceSpec::Lines { file } => {
            let input = std::fs::File::open(&file).with_context(|| format!("opening {file}"))?;
            builder.spawn(move || {
                let _ = script::run_lines(BufReader::new(input), &events);
            })?
        }
        SourceSpec::Stdin => builder.spawn(move || {
            let _ = script::run_lines(BufReader::new(std::io::stdin()), &events);
        })?,
        SourceSpec::Camera(camera) => camera.start(events, &stop)?,
    })
}

impl SourceSpec {
    fn kind(&self) -> &'static str {
        match self {
            SourceSpec::Serial { .. } => "serial",
            SourceSpec::Evdev { .. } => "evdev",
            SourceSpec::Trace { .. } => "trace",
            SourceSpec::Lines { .. } => "file",
            SourceSpec::Stdin => "stdin",
            SourceSpec::Camera(_) => "camera",
        }
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Serial { path, baud } => write!(f, "serial:{path},{baud}"),
            SourceSpec::Evdev { path } => write!(f, "evdev:{path}"),
            SourceSpec::Trace { file } => write!(f, "trace:{file}"),
            SourceSpec::Lines { file } => write!(f, "file:{file}"),
            SourceSpec::Stdin => f.write_str("stdin"),
            SourceSpec::Camera(camera) => f.write_str(&camera.text),
        }
    }
}

pub fn run(args: &ScanArgs, mut out: impl Write) -> anyhow::Result<()> {
    let options = args.scanner.options()?;
    let reader = match &args.db {
        Some(path) => {
            Some(Reader::open(path).with_context(|| format!("opening {}", path.display()))?)
        }
        None => None,
    };
    let checker = match &reader {
        Some(reader) => Some(Checker::new(
            reader,
            &args.verdict,
            options,
            super::db::now(),
        )?),
        None => None,
    };
    if args.count == Some(0) {
        bail!("--count 0 would print nothing");
    }
    let (tx, rx) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    if args.record.is_some() && !matches!(args.input.source, SourceSpec::Evdev { .. }) {
        bail!("--record takes the key events of an evdev source");
    }
    let mut recorder = Recorder::open(args.record.as_deref())?;
    let worker = args.input.start(args.record.is_some(), tx, &stop)?;
    let mut scans = 0u64;
    // Device sources never end by themselves; scripted ones close the channel at their end.
    while let Ok(event) = rx.recv() {
        let value = match event {
            ScanEvent::Scan {
                payload,
                source,
                symbology,
                received,
            } => {
                scans += 1;
                let mut value = match &checker {
                    Some(checker) => checker.check_at(&payload, super::db::now())?,
                    None => super::parse::report(&payload, &parse(&payload, &options), &options),
                };
                if let Value::Object(map) = &mut value {
                    map.insert("event".into(), json!("scan"));
                    map.insert("source".into(), json!(source.to_string()));
                    let at = received
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis());
                    map.insert("received_ms".into(), json!(at));
                    if let Some(aim) = symbology {
                        map.insert(
                            "source_symbology".into(),
                            json!(String::from_utf8_lossy(&aim)),
                        );
                    }
                }
                value
            }
            ScanEvent::Connected { source } => {
                json!({"event": "connected", "source": source.to_string()})
            }
            ScanEvent::Disconnected { source, reason } => {
                json!({"event": "disconnected", "source": source.to_string(), "reason": reason})
            }
            ScanEvent::Noise { source, reason } => {
                json!({"event": "noise", "source": source.to_string(), "reason": reason})
            }
            ScanEvent::Keys { events, .. } => {
                recorder.append(&events)?;
                continue;
            }
        };
        writeln!(out, "{value}")?;
        out.flush()?;
        if args.count.is_some_and(|n| scans >= n) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    // A device loop checks `stop` at least every few hundred milliseconds; stdin may block on
    // a terminal, so it is left to end with the process.
    if !matches!(args.input.source, SourceSpec::Stdin) {
        let _ = worker.join();
    }
    Ok(())
}

/// Appends key events to a trace file as they come, so a trace survives the process being
/// stopped with Ctrl+C.
struct Recorder {
    file: Option<std::fs::File>,
    last_ms: Option<u64>,
}

impl Recorder {
    fn open(path: Option<&std::path::Path>) -> anyhow::Result<Recorder> {
        let file = match path {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?,
            ),
            None => None,
        };
        Ok(Recorder {
            file,
            last_ms: None,
        })
    }

    fn append(&mut self, events: &[tally_drivers::wedge::KeyEvent]) -> anyhow::Result<()> {
        let (Some(file), Some(first)) = (self.file.as_mut(), events.first()) else {
            return Ok(());
        };
        let since = self.last_ms.unwrap_or(first.at_ms);
        let trace = tally_drivers::wedge::format_trace(events, since);
        writeln!(file, "{trace}")?;
        self.last_ms = events.last().map(|e| e.at_ms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_batches_replay_as_one_trace() {
        use tally_drivers::wedge::{KeyEvent, parse_trace};
        let dir = std::env::temp_dir().join(format!("tally-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("field.trace");
        let mut recorder = Recorder::open(Some(&path)).unwrap();
        let key = |code, value, at_ms| KeyEvent { code, value, at_ms };
        recorder
            .append(&[key(30, 1, 1_000), key(30, 0, 1_004)])
            .unwrap();
        recorder.append(&[key(28, 1, 1_050)]).unwrap();
        drop(recorder);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "d:a t:4 u:a\nt:46 d:enter\n");
        let events = parse_trace(&text).unwrap();
        let times: Vec<u64> = events.iter().map(|e| e.at_ms).collect();
        assert_eq!(times, [0, 4, 50]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn source_specs() {
        let cases: &[(&str, Result<SourceSpec, ()>)] = &[
            ("stdin", Ok(SourceSpec::Stdin)),
            (
                "serial:/dev/ttyACM0",
                Ok(SourceSpec::Serial {
                    path: "/dev/ttyACM0".into(),
                    baud: 9600,
                }),
            ),
            (
                "serial:/dev/serial/by-id/usb-x,115200",
                Ok(SourceSpec::Serial {
                    path: "/dev/serial/by-id/usb-x".into(),
                    baud: 115_200,
                }),
            ),
            (
                "evdev:/dev/input/event3",
                Ok(SourceSpec::Evdev {
                    path: "/dev/input/event3".into(),
                }),
            ),
            (
                "trace:field.trace",
                Ok(SourceSpec::Trace {
                    file: "field.trace".into(),
                }),
            ),
            ("serial:", Err(())),
            ("serial:/dev/x,fast", Err(())),
            ("camera", Err(())),
            ("camera:", Err(())),
            ("recorded:", Err(())),
            ("stdin:x", Err(())),
        ];
        for (spec, want) in cases {
            assert_eq!(&spec.parse::<SourceSpec>().map_err(|_| ()), want, "{spec}");
        }
    }
}
