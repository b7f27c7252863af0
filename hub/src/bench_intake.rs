//! `tally-hub bench-intake`: many terminals pushing at once to one hub or several, over
//! loopback.
//!
//! The criterion bench (`benches/push.rs`) times one push applied in-process; this measures
//! what a dock full of terminals sees: real HTTP, JSON both ways, and the store's commits. It
//! builds a throwaway hub (statuses for every code the run writes off, one enrolled device per
//! terminal) in a temporary SQLite file or, with `--database postgres://…`, in a scratch
//! database created on that server and dropped afterwards; serves it from `--hubs` instances on
//! 127.0.0.1 (each with its own store, as separate processes would have), and starts one thread
//! per terminal, each with its own ureq agent (one kept-alive connection, as a terminal has) to
//! the instances in turn, pushing batches of write-offs of codes no other terminal touches, so
//! every operation is accepted and costs a real status change. The run is bounded twice: by the
//! batches asked for and by `--max-seconds`, after which no terminal starts another push.

use std::path::PathBuf;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;
use tally_domain::status::{Inn, Timestamp};
use tally_hub::import::import;
use tally_hub::server::{Hub, Limits};
use tally_hub::store::{ScratchDatabase, Store};
use tally_wire::{Feed, MAX_PUSH_OPERATIONS, PushResponse, PushResult};

const OURS: &str = "7707083893";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Terminals pushing at once, each an enrolled device with a thread of its own.
    #[arg(long, default_value_t = 100)]
    terminals: usize,
    /// Pushes each terminal makes.
    #[arg(long, default_value_t = 10)]
    batches: usize,
    /// Write-offs per push, one code each.
    #[arg(long, default_value_t = 20)]
    batch_size: usize,
    /// No push starts after this many seconds.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
    /// Where the throwaway SQLite database goes (a new directory inside it, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// A PostgreSQL server (`postgres://USER:PASSWORD@HOST/DB`, a role that may create
    /// databases): the hub runs on a scratch database there instead of a SQLite file.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Hub instances serving the one database, each with a store of its own.
    #[arg(long, default_value_t = 1)]
    hubs: usize,
    /// Hostile sockets held open during the run, spread over the instances: each sends the
    /// headers of a 100,000-byte enrollment and then drips one byte a second.
    #[arg(long, default_value_t = 0)]
    held: usize,
}

/// The directory of the throwaway hub, removed however the run ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cis(n: usize) -> String {
    format!("0104600840749372210000{n:09}")
}

/// The latency at percentile `p` by nearest rank.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

/// p50, p99 and max in milliseconds, to a tenth.
fn summary(latencies: &mut [Duration]) -> serde_json::Value {
    latencies.sort_unstable();
    let ms = |d: Duration| (d.as_secs_f64() * 10_000.0).round() / 10.0;
    json!({
        "p50": ms(percentile(latencies, 50)),
        "p99": ms(percentile(latencies, 99)),
        "max": ms(latencies.last().copied().unwrap_or_default()),
    })
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    if args.terminals == 0 || args.batches == 0 || args.batch_size == 0 || args.hubs == 0 {
        bail!("--terminals, --batches, --batch-size and --hubs must be at least 1");
    }
    if args.batch_size > MAX_PUSH_OPERATIONS {
        bail!("--batch-size is at most {MAX_PUSH_OPERATIONS}, as for a terminal");
    }
    let codes = args.terminals * args.batches * args.batch_size;
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = TempDir(base.join(format!("tally-bench-intake-{}", uuid::Uuid::new_v4())));
    std::fs::create_dir_all(&dir.0).with_context(|| format!("creating {}", dir.0.display()))?;
    let scratch = match &args.database {
        Some(server) => {
            Some(ScratchDatabase::create(server).context("creating a scratch database")?)
        }
        None => None,
    };
    let location = match &scratch {
        Some(scratch) => scratch.url.clone(),
        None => dir.0.join("hub.db").display().to_string(),
    };
    let store = Store::connect(&location)?;

    let lines: String = (0..codes)
        .map(|n| {
            format!(
                "{}\n",
                json!({"cis": cis(n), "status": "INTRODUCED", "ownerInn": OURS, "productGroupId": 8})
            )
        })
        .collect();
    let report = import(&store, Feed::Statuses, lines.as_bytes())?;
    if !report.rejected.is_empty() {
        bail!("the synthetic statuses were refused: {:?}", report.rejected);
    }
    let inn = Inn::parse(OURS).context("the benchmark's INN")?;
    let mut tokens = Vec::with_capacity(args.terminals);
    for n in 0..args.terminals {
        let code = store.create_enrollment_code("W1", &inn, Timestamp(0))?;
        let enrolled = store
            .enroll(&code, &format!("bench-{n}"), "bench", Timestamp(0))?
            .context("a fresh enrollment code was refused")?;
        tokens.push(enrolled.token);
    }

    let backend = store.backend();
    let mut urls = Vec::with_capacity(args.hubs);
    let mut store = Some(store);
    for _ in 0..args.hubs {
        let instance = match store.take() {
            Some(store) => store,
            None => Store::connect(&location)?,
        };
        // Every client here is 127.0.0.1: the cap per address must not be what is measured.
        let limits = Limits {
            max_per_address: args.terminals + args.held + 64,
            ..Limits::default()
        };
        let hub = Hub::bind(instance, "127.0.0.1:0")?.with_limits(limits);
        let addr = hub.local_addr().context("the hub has no IP address")?;
        // The server threads live until the process ends; the run does not need them to stop.
        thread::spawn(move || hub.run());
        urls.push(format!("http://{addr}/v1/push"));
    }

    eprintln!(
        "bench-intake: {} terminals × {} pushes × {} write-offs ({codes} codes) to {} {backend} \
         hub instance(s) at {}",
        args.terminals,
        args.batches,
        args.batch_size,
        args.hubs,
        urls.join(" ")
    );
    let held = Held::open(&urls, args.held)?;
    let barrier = Barrier::new(args.terminals + 1);
    let limit = Duration::from_secs(args.max_seconds);
    let (results, elapsed) = thread::scope(|scope| {
        let handles: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(terminal, token)| {
                let (barrier, url) = (&barrier, &urls[terminal % urls.len()]);
                scope.spawn(move || terminal_run(args, terminal, token, url, barrier, limit))
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a terminal panicked")))
            })
            .collect();
        (results, start.elapsed())
    });
    // A terminal's first push also opens its connection; the later ones reuse it. They are
    // reported apart because a hundred connections opened at once is a start-up cost a dock
    // pays once, not the price of every push.
    let mut latencies = Vec::new();
    let mut first = Vec::new();
    let mut later = Vec::new();
    for result in results {
        let run = result?;
        first.extend(run.first().copied());
        later.extend(run.iter().skip(1).copied());
        latencies.extend(run);
    }
    let pushes = latencies.len();
    let operations = pushes * args.batch_size;
    let seconds = elapsed.as_secs_f64();
    println!(
        "{}",
        json!({
            "backend": backend,
            "hubs": args.hubs,
            "terminals": args.terminals,
            "pushes": pushes,
            "operations": operations,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "operations_per_second": (operations as f64 / seconds).round(),
            "push_latency_ms": summary(&mut latencies),
            "first_push_latency_ms": summary(&mut first),
            "later_push_latency_ms": summary(&mut later),
            "stopped_early": pushes < args.terminals * args.batches,
            "held_connections": args.held,
            "held_still_open": held.still_open(),
        })
    );
    Ok(())
}

/// Sockets that send a large request's headers and then drip its body, held by a thread of
/// their own until the run ends.
struct Held {
    sockets: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Held {
    fn open(urls: &[String], count: usize) -> anyhow::Result<Held> {
        use std::io::Write;
        let mut sockets = Vec::with_capacity(count);
        for n in 0..count {
            let url = &urls[n % urls.len()];
            let authority = url
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap_or_default();
            let mut socket = std::net::TcpStream::connect(authority)?;
            socket.write_all(
                b"POST /v1/enroll HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n\
                  Content-Length: 100000\r\n\r\n{",
            )?;
            sockets.push(socket);
        }
        let sockets = std::sync::Arc::new(std::sync::Mutex::new(sockets));
        let dripping = std::sync::Arc::clone(&sockets);
        thread::spawn(move || {
            loop {
                thread::sleep(Duration::from_secs(1));
                let mut sockets = dripping
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                // A socket the hub cut off fails its write and is dropped from the count.
                sockets.retain_mut(|socket| socket.write_all(b" ").is_ok());
            }
        });
        Ok(Held { sockets })
    }

    fn still_open(&self) -> usize {
        self.sockets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }
}

/// One terminal: its pushes in order, each timed from sending to the whole answer read.
fn terminal_run(
    args: &Args,
    terminal: usize,
    token: &str,
    url: &str,
    barrier: &Barrier,
    limit: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(limit + Duration::from_secs(30)))
        .build()
        .into();
    let bodies: Vec<Vec<u8>> = (0..args.batches)
        .map(|batch| {
            let first = (terminal * args.batches + batch) * args.batch_size;
            let operations: Vec<_> = (0..args.batch_size)
                .map(|i| {
                    json!({
                        "uuid": uuid::Uuid::new_v4().to_string(),
                        "seq": batch * args.batch_size + i + 1,
                        "kind": "write-off",
                        "operator": "bench",
                        "started_at": 1_700_000_000_000i64,
                        "finished_at": 1_700_000_060_000i64,
                        "payload": {"reason": "damage_loss", "gis_mt_document": "LK_RECEIPT",
                                    "gis_mt_reason": "DAMAGE_LOSS", "document_number": "B-1",
                                    "document_date": "2026-11-22", "supervisor": "bench",
                                    "codes": [cis(first + i)]},
                    })
                })
                .collect();
            serde_json::to_vec(&json!({
                "device": {"app_version": "bench", "queue_depth": args.batch_size,
                           "cache_synced_at": null},
                "operations": operations,
            }))
        })
        .collect::<Result<_, _>>()?;
    barrier.wait();
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(bodies.len());
    for body in &bodies {
        if start.elapsed() >= limit {
            break;
        }
        let sent = Instant::now();
        let response = agent
            .post(url)
            .header("Content-Type", "application/json")
            .header("Tally-Protocol", "1")
            .header("Authorization", format!("Bearer {token}"))
            .send(&body[..])?;
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string()?;
        latencies.push(sent.elapsed());
        if status != 200 {
            bail!("terminal {terminal}: HTTP {status}: {text}");
        }
        let answer: PushResponse = serde_json::from_str(&text)?;
        if let Some(bad) = answer
            .answers
            .iter()
            .find(|a| a.result != PushResult::Accepted)
        {
            bail!("terminal {terminal}: an operation was not accepted: {bad:?}");
        }
    }
    Ok(latencies)
}
