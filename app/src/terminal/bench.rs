//! `tally --bench-ui N`: scan-to-screen latency, measured in the running application. A scan
//! enters the desk thread as a scanner's would; the stopwatch stops when the software renderer
//! has drawn the 480×800 frame that shows its verdict. The window is the headless one (the
//! same renderer the terminal drives on its framebuffer, drawing every frame whole).

use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use tally_domain::status::Inn;
use tally_ui::{Action, Headless, Ui};

use super::config::{Config, Operator, Pin};
use super::controller::Input;
use super::{Event, Terminal};
use crate::cli::now;

/// Where drawn frames report the scans they showed.
static FRAMES: Mutex<Option<Sender<Duration>>> = Mutex::new(None);

thread_local! {
    // Scans whose verdict is on the window but not yet drawn (UI thread only).
    static WAITING: RefCell<Vec<Instant>> = const { RefCell::new(Vec::new()) };
}

/// Called on the UI thread right after the view with this scan's verdict was put on the window.
pub(crate) fn shown(received: Instant) {
    WAITING.with(|w| w.borrow_mut().push(received));
}

fn after_frame() {
    let drawn = Instant::now();
    let waiting: Vec<Instant> = WAITING.with(|w| w.borrow_mut().drain(..).collect());
    if waiting.is_empty() {
        return;
    }
    if let Ok(frames) = FRAMES.lock()
        && let Some(frames) = frames.as_ref()
    {
        for received in waiting {
            let _ = frames.send(drawn - received);
        }
    }
}

/// The figures of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Latencies {
    pub scans: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latencies {
    pub fn of(mut samples: Vec<Duration>) -> Option<Latencies> {
        if samples.is_empty() {
            return None;
        }
        samples.sort();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Some(Latencies {
            scans: samples.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: at(1.0),
        })
    }
}

/// Runs `scans` scans of distinct cached codes through a free acceptance and prints the
/// latencies as JSON.
pub fn run(mut config: Config, scans: usize) -> anyhow::Result<()> {
    if scans == 0 {
        return Err(anyhow!("--bench-ui needs at least one scan"));
    }
    let dir = std::env::temp_dir().join(format!("tally-bench-ui-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    config.data_dir = dir.clone();
    config.scanners.clear();
    config.sounds = false;
    config.vibration = false;
    config.own_inn = Inn::parse("7707083893");
    config.operators = vec![Operator {
        id: "bench".into(),
        name: "Bench".into(),
        pin: Pin::Plain("1234".into()),
        badge: None,
        supervisor: false,
    }];
    let codes = fill_replica(&config, scans)?;

    let headless = Headless::install(480, 800, 1.0)?;
    let ui = Ui::new()?;
    let terminal = Terminal::start(config, &ui, Vec::new())?;
    let (frames, drawn) = channel();
    *FRAMES.lock().map_err(|_| anyhow!("bench lock"))? = Some(frames);
    headless.set_after_frame(after_frame);

    let events = terminal.events();
    let handle = ui.handle();
    let driver = std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
        let send = |input: Input, stamp: Option<Instant>| {
            events
                .send(Event::Input(input, stamp))
                .map_err(|_| anyhow!("the desk thread stopped"))
        };
        send(Input::Action(Action::SignIn { pin: "1234".into() }), None)?;
        send(Input::Action(Action::StartAcceptance { task: None }), None)?;
        // Let the screens settle before timing.
        std::thread::sleep(Duration::from_millis(300));
        while drawn.try_recv().is_ok() {}
        let mut samples = Vec::with_capacity(codes.len());
        for code in codes {
            let input = Input::Scan {
                payload: code.into_bytes(),
                source: "bench".into(),
            };
            send(input, Some(Instant::now()))?;
            // One scan at a time, as an operator scans: the next waits for this one's frame.
            let latency = drawn
                .recv_timeout(Duration::from_secs(10))
                .context("no frame showed the scan within 10 s")?;
            samples.push(latency);
        }
        handle.quit();
        Ok(samples)
    });
    ui.run()?;
    let samples = driver
        .join()
        .map_err(|_| anyhow!("the benchmark driver panicked"))??;
    terminal.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let figures = Latencies::of(samples).ok_or_else(|| anyhow!("no samples"))?;
    let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
    println!(
        "{}",
        serde_json::json!({
            "bench": "scan_to_screen",
            "renderer": "software",
            "size": "480x800",
            "scans": figures.scans,
            "p50_ms": ms(figures.p50),
            "p90_ms": ms(figures.p90),
            "p99_ms": ms(figures.p99),
            "max_ms": ms(figures.max),
        })
    );
    Ok(())
}

/// A replica with `n` supplier units in circulation, a catalogue name for their GTIN, and a
/// fresh sync time; returns their codes.
fn fill_replica(config: &Config, n: usize) -> anyhow::Result<Vec<String>> {
    let store = tally_sync::store::Store::open(config.db_path())?;
    let mut lines = String::new();
    let mut codes = Vec::with_capacity(n);
    for i in 0..n {
        let serial = format!("B{i:012}");
        lines.push_str(&format!(
            "{{\"cis\":\"010460084074937221{serial}\",\"status\":\"INTRODUCED\",\"ownerInn\":\"7736207543\",\"productGroupId\":2,\"productName\":\"Кроссовки мужские 42\"}}\n"
        ));
        codes.push(format!("010460084074937221{serial}\u{1d}93Ab1+"));
    }
    let mut importer = store.importer()?;
    let report = importer.import_statuses(lines.as_bytes(), now())?;
    if report.rejected > 0 {
        return Err(anyhow!("bench data: {} lines rejected", report.rejected));
    }
    Ok(codes)
}

/// The code the start-up probe looks up: a unit code of the synthetic replica.
fn probe_code(codes: u64) -> anyhow::Result<String> {
    (0..codes.min(1000))
        .map(|i| codes / 2 + i)
        .filter_map(|i| tally_sync::synthetic::ki(START_SEED, i))
        .find(|ki| ki.serial().len() == 13)
        .map(|ki| format!("01{}21{}\u{1d}93Ab1+", ki.gtin(), ki.serial()))
        .ok_or_else(|| anyhow!("no unit code among the synthetic codes"))
}

const START_SEED: u64 = 1;
const PROBE_CODES_ENV: &str = "TALLY_PROBE_CODES";

/// `tally --bench-start RUNS`: builds (once) a replica of `codes` synthetic codes in the data
/// directory, then starts `tally --start-probe` RUNS times, each from a dropped page cache when
/// the kernel allows it, and reports the time from spawning the process to its UI being up
/// and to its first scan being shown, and the process's resident memory.
pub fn start_up(config: &Config, runs: usize, codes: u64) -> anyhow::Result<()> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    std::fs::create_dir_all(&config.data_dir)?;
    let db = config.db_path();
    let store = tally_sync::store::Store::open(&db)?;
    let have = store.stats(now())?.status_rows;
    if have < codes {
        eprintln!(
            "building a replica of {codes} codes in {} (once)…",
            db.display()
        );
        let mut importer = store.importer()?;
        importer.import_statuses(
            tally_sync::synthetic::StatusExport::new(START_SEED, codes),
            now(),
        )?;
        drop(importer);
        store.checkpoint()?;
    }
    let bytes = std::fs::metadata(&db)?.len();
    drop(store);
    let exe = std::env::current_exe()?;
    for _ in 0..runs {
        // A cold start: the replica's pages come from the disk, not the page cache (as root;
        // `TALLY_BENCH_WARM` keeps the cache, for tests sharing the machine).
        let cold = std::env::var_os("TALLY_BENCH_WARM").is_none()
            && std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok();
        let spawned = Instant::now();
        let mut child = Command::new(&exe)
            .arg("--start-probe")
            .env("TALLY_DATA_DIR", &config.data_dir)
            .env(PROBE_CODES_ENV, codes.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("probe stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut ui_up = None;
        let mut scan_shown = None;
        while scan_shown.is_none() {
            let line = lines
                .next()
                .ok_or_else(|| anyhow!("the probe ended before it was ready"))??;
            match line.as_str() {
                "ui" => ui_up = Some(spawned.elapsed()),
                "scan" => scan_shown = Some(spawned.elapsed()),
                _ => {}
            }
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?;
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let (rss, peak) = (kib("VmRSS:"), kib("VmHWM:"));
        drop(child.stdin.take());
        child.wait()?;
        let ms = |d: Option<Duration>| d.map(|d| (d.as_secs_f64() * 1e4).round() / 10.0);
        let result = serde_json::json!({
            "bench": "start_up",
            "codes": codes,
            "replica_bytes": bytes,
            "cold_page_cache": cold,
            "ui_up_ms": ms(ui_up),
            "first_scan_shown_ms": ms(scan_shown),
            "rss_kib": rss,
            "peak_rss_kib": peak,
        });
        println!("{result}");
    }
    Ok(())
}

/// The process `--bench-start` times: the terminal as it starts (replica, desk, controller,
/// threads, the window with the software renderer), reporting `ui` when the first frame is
/// drawn and `scan` when a lookup on Code info is on screen; it ends when its stdin closes.
pub fn start_probe(mut config: Config) -> anyhow::Result<()> {
    use std::io::{Read, Write};

    let codes: u64 = std::env::var(PROBE_CODES_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("--start-probe is started by --bench-start"))?;
    config.scanners.clear();
    config.sounds = false;
    config.vibration = false;
    config.operators = vec![Operator {
        id: "probe".into(),
        name: "Probe".into(),
        pin: Pin::Plain("1234".into()),
        badge: None,
        supervisor: false,
    }];
    let code = probe_code(codes)?;
    let headless = Headless::install(480, 800, 1.0)?;
    let ui = Ui::new()?;
    let terminal = Terminal::start(config, &ui, Vec::new())?;
    let (frames, drawn) = channel();
    *FRAMES.lock().map_err(|_| anyhow!("bench lock"))? = Some(frames);
    let mut first = true;
    headless.set_after_frame(move || {
        if first {
            first = false;
            println!("ui");
            let _ = std::io::stdout().flush();
        }
        after_frame();
    });
    let events = terminal.events();
    let handle = ui.handle();
    std::thread::spawn(move || -> anyhow::Result<()> {
        let send = |input: Input, stamp: Option<Instant>| {
            events
                .send(Event::Input(input, stamp))
                .map_err(|_| anyhow!("the desk thread stopped"))
        };
        send(Input::Action(Action::SignIn { pin: "1234".into() }), None)?;
        send(
            Input::Action(Action::Navigate(tally_ui::Screen::CodeInfo)),
            None,
        )?;
        send(
            Input::Scan {
                payload: code.into_bytes(),
                source: "probe".into(),
            },
            Some(Instant::now()),
        )?;
        drawn.recv_timeout(Duration::from_secs(30))?;
        println!("scan");
        std::io::stdout().flush()?;
        // Stay up (for the parent to read our memory) until it closes our stdin.
        let _ = std::io::stdin().read(&mut [0u8; 1]);
        handle.quit();
        Ok(())
    });
    ui.run()?;
    terminal.stop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_sample() {
        let samples = (1..=100).map(Duration::from_millis).collect();
        let figures = Latencies::of(samples).unwrap();
        assert_eq!(figures.scans, 100);
        assert_eq!(figures.p50, Duration::from_millis(51));
        assert_eq!(figures.p99, Duration::from_millis(99));
        assert_eq!(figures.max, Duration::from_millis(100));
        assert_eq!(Latencies::of(Vec::new()), None);
    }
}
