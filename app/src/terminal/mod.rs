//! The terminal application: the touch UI wired to the scanners, the desk and the sync engine.
//!
//! Threads: the UI event loop owns the main thread; each scanner source has its own; the desk
//! thread owns the store's writer and the controller, and is the only one that changes state;
//! the sync worker has its own connection; feedback (sound, vibration), the dock watcher and
//! a ticker have one each. They talk over channels; the desk thread reaches the UI through
//! `UiHandle`, which runs closures on the event loop.

pub mod bench;
pub mod config;
pub mod controller;
#[cfg(feature = "demo")]
pub mod demo;
pub mod dock;
pub mod feedback;
pub mod inline;
pub mod present;
pub mod shift;
pub mod text;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tally_drivers::scan::ScanEvent;
use tally_sync::engine::{
    ClientConfig, HubClient, HubLink, SyncEngine, SyncWorker, Trigger, WorkerEvent, enroll,
};
use tally_sync::store::Store;
use tally_ui::{Ui, UiHandle};

use self::config::Config;
use self::controller::{Controller, Enrollment, Input, Request, Setup};
use self::feedback::{Feedback, FeedbackSetup};
use crate::cli::{host_name, now, start_source};
use crate::desk::{Desk, DeskSettings};

/// What reaches the desk thread.
#[derive(Debug)]
pub enum Event {
    /// An input, with the instant its scan arrived when the benchmark is timing it.
    Input(Input, Option<Instant>),
    SyncTrigger(Trigger),
    Quit,
}

/// How the terminal was started.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub config: Option<PathBuf>,
    pub demo: bool,
    /// Scans for the demo from a file, one every `script_pace`.
    pub script: Option<PathBuf>,
    pub script_pace: Duration,
    pub bench_ui: Option<usize>,
    /// Runs and replica size of the start-up benchmark.
    pub bench_start: Option<(usize, u64)>,
    pub start_probe: bool,
}

/// Logs go to standard error (the journal, under systemd); `RUST_LOG` filters them.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `tally` without a subcommand: the touch UI until its window closes.
pub fn run(options: &Options) -> anyhow::Result<()> {
    init_tracing();
    #[cfg_attr(not(feature = "demo"), allow(unused_mut))]
    let mut config = Config::load(options.config.as_deref(), |k| std::env::var(k).ok())?;
    if let Some(scans) = options.bench_ui {
        return bench::run(config, scans);
    }
    if let Some((runs, codes)) = options.bench_start {
        return bench::start_up(&config, runs, codes);
    }
    if options.start_probe {
        return bench::start_probe(config);
    }
    if !cfg!(any(feature = "device", feature = "desktop"))
        && std::env::var_os("SLINT_BACKEND").is_none()
    {
        anyhow::bail!(
            "this tally was built without a display backend: build it with `--features device` \
             (DRM/KMS, the terminal) or `--features desktop` (a window under X11); the \
             subcommands (`tally --help`) work in every build"
        );
    }
    #[cfg_attr(not(feature = "demo"), allow(unused_mut))]
    let mut sources = Vec::new();
    #[cfg(feature = "demo")]
    let _demo = if options.demo {
        let mut demo = demo::start(&mut config, options)?;
        sources.extend(demo.script.take());
        Some(demo)
    } else {
        None
    };
    #[cfg(not(feature = "demo"))]
    if options.demo {
        anyhow::bail!("this build of tally has no demo (the `demo` feature is off)");
    }
    if (config.scale - 1.0).abs() > f32::EPSILON
        && std::env::var_os(tally_ui::SCALE_FACTOR_ENV).is_none()
    {
        // The backends read the scale factor from the environment before the first window.
        // SAFETY: still single-threaded here; no other thread reads the environment yet.
        set_env(tally_ui::SCALE_FACTOR_ENV, &config.scale.to_string());
    }
    let ui = Ui::new().context("starting the touch UI")?;
    let terminal = Terminal::start(config, &ui, sources)?;
    tracing::info!("terminal ready");
    let result = ui.run();
    terminal.stop();
    Ok(result?)
}

#[allow(unsafe_code)]
fn set_env(key: &str, value: &str) {
    // SAFETY: called before any thread of ours exists (see `run`).
    unsafe { std::env::set_var(key, value) };
}

/// The running terminal's threads.
#[derive(Debug)]
pub struct Terminal {
    events: Sender<Event>,
    stop: Arc<AtomicBool>,
    desk: Option<JoinHandle<()>>,
    helpers: Vec<JoinHandle<()>>,
}

impl Terminal {
    /// Opens the replica, shows the first view and starts every thread. `extra_sources` are
    /// scan channels the caller feeds (the demo script, the benchmark).
    pub fn start(
        config: Config,
        ui: &Ui,
        extra_sources: Vec<Receiver<ScanEvent>>,
    ) -> anyhow::Result<Terminal> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
        let db = config.db_path();
        let store = Store::open(&db).with_context(|| format!("opening {}", db.display()))?;
        let desk = Desk::open(
            store,
            DeskSettings {
                operator: String::new(),
                own_inn: config.own_inn,
                parse: config.parse,
                policy: config.policy.clone(),
                capacity: config.capacity,
                company_prefix: config.company_prefix.clone(),
            },
        )?;
        let link_path = HubLink::path_for(&db);
        let hub = HubLink::load(&link_path).ok().map(|l| l.url);
        let language = config.language.resolve(|k| std::env::var(k).ok());
        let mut controller = Controller::new(
            desk,
            Setup {
                operators: config.operators.clone(),
                language,
                sounds: config.sounds,
                vibration: config.vibration,
                supervisor_for_write_off: config.supervisor_for_write_off,
                scanners: config.scanners.iter().map(ToString::to_string).collect(),
                hub,
                printer: config.printer.clone(),
            },
        );
        if let Err(error) = tally_ui::select_language(lang_code(language)) {
            tracing::warn!("{error}");
        }
        ui.show(&controller.view(now()));

        let (events, inbox) = channel::<Event>();
        let stop = Arc::new(AtomicBool::new(false));
        let mut helpers = Vec::new();

        let actions = events.clone();
        ui.on_action(move |action| {
            let _ = actions.send(Event::Input(Input::Action(action), None));
        });

        // Scanners: one thread each, one router turning their events into inputs.
        let (scans, scan_inbox) = channel::<ScanEvent>();
        for source in &config.scanners {
            match start_source(
                source,
                config.framing,
                config.wedge,
                false,
                scans.clone(),
                &stop,
            ) {
                Ok(thread) => helpers.push(thread),
                Err(error) => tracing::error!("scanner {source}: {error:#}"),
            }
        }
        drop(scans);
        let mut inboxes = extra_sources;
        inboxes.push(scan_inbox);
        for inbox in inboxes {
            let events = events.clone();
            helpers.push(spawn("tally-scan-router", move || {
                route_scans(&inbox, &events)
            })?);
        }

        let feedback = Feedback::spawn(FeedbackSetup {
            sound_command: config.sound_command.clone(),
            vibration_device: config.vibration_device.clone(),
        });

        let sync = SyncHub {
            db: db.clone(),
            link_path,
            interval: Duration::from_secs(config.sync_interval_seconds.max(30)),
            events: events.clone(),
            worker: None,
        };
        let handle = ui.handle();
        let desk_thread = spawn("tally-desk", move || {
            desk_loop(controller, &inbox, &handle, &feedback, sync);
        })?;

        let ticks = events.clone();
        let stop_ticks = Arc::clone(&stop);
        helpers.push(spawn("tally-ticker", move || {
            let mut last_dock = dock::read(Path::new("/"));
            let mut since_tick = Duration::ZERO;
            while !stop_ticks.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                since_tick += Duration::from_millis(500);
                if since_tick >= Duration::from_secs(2) {
                    since_tick = Duration::ZERO;
                    let dock_now = dock::read(Path::new("/"));
                    if let Some(trigger) = dock::change(&last_dock, &dock_now) {
                        tracing::info!(?trigger, "network or dock came up");
                        let _ = ticks.send(Event::SyncTrigger(trigger));
                    }
                    last_dock = dock_now;
                    if ticks.send(Event::Input(Input::Tick, None)).is_err() {
                        return;
                    }
                }
            }
        })?);
        Ok(Terminal {
            events,
            stop,
            desk: Some(desk_thread),
            helpers,
        })
    }

    /// A sender for events, as the benchmark and tests feed them.
    pub fn events(&self) -> Sender<Event> {
        self.events.clone()
    }

    /// Stops every thread and waits for the desk to finish its last commit.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.events.send(Event::Quit);
        if let Some(desk) = self.desk.take() {
            let _ = desk.join();
        }
        // Device threads notice `stop` within their poll timeout; scripted ones end with their
        // input. None of them holds anything that needs saving.
        for helper in self.helpers.drain(..) {
            if helper.is_finished() {
                let _ = helper.join();
            }
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> anyhow::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .with_context(|| format!("starting thread {name}"))
}

/// Prints a label on its own thread: a printer takes seconds to answer, or never does, and
/// the desk goes on meanwhile; the outcome comes back as an input.
fn print_label(
    sscc: String,
    printer: tally_drivers::printer::PrinterAddress,
    zpl: String,
    events: &Sender<Event>,
) {
    let events = events.clone();
    let spawned = spawn("tally-print", move || {
        let result = tally_drivers::printer::print(
            &printer,
            zpl.as_bytes(),
            tally_drivers::printer::PrinterTimeouts::default(),
        );
        let _ = events.send(Event::Input(Input::Printed { sscc, result }, None));
    });
    if let Err(error) = spawned {
        tracing::error!("{error:#}");
    }
}

pub fn lang_code(lang: tally_domain::Lang) -> &'static str {
    match lang {
        tally_domain::Lang::En => "en",
        tally_domain::Lang::Ru => "ru",
    }
}

fn route_scans(inbox: &Receiver<ScanEvent>, events: &Sender<Event>) {
    while let Ok(event) = inbox.recv() {
        let input = match event {
            ScanEvent::Scan {
                payload, source, ..
            } => Input::Scan {
                payload,
                source: source.to_string(),
            },
            ScanEvent::Connected { source } => Input::Scanner {
                source: source.to_string(),
                connected: true,
            },
            ScanEvent::Disconnected { source, reason } => {
                tracing::warn!("scanner {source} lost: {reason}");
                Input::Scanner {
                    source: source.to_string(),
                    connected: false,
                }
            }
            ScanEvent::Noise { source, reason } => {
                tracing::debug!("scanner {source}: noise: {reason}");
                continue;
            }
            ScanEvent::Keys { .. } => continue,
        };
        if events.send(Event::Input(input, None)).is_err() {
            return;
        }
    }
}

/// The sync worker, made once the terminal is enrolled.
struct SyncHub {
    db: PathBuf,
    link_path: PathBuf,
    interval: Duration,
    events: Sender<Event>,
    worker: Option<SyncWorker>,
}

impl SyncHub {
    fn trigger(&mut self, trigger: Trigger) {
        if self.worker.is_none() {
            self.worker = self.spawn_worker();
        }
        if let Some(worker) = &self.worker {
            worker.trigger(trigger);
        }
    }

    fn spawn_worker(&self) -> Option<SyncWorker> {
        let link = HubLink::load(&self.link_path).ok()?;
        let client = match HubClient::new(link.client_config()) {
            Ok(client) => client,
            Err(error) => {
                tracing::error!("hub client: {error}");
                return None;
            }
        };
        let engine = SyncEngine::new(client, env!("CARGO_PKG_VERSION"));
        let mut store = match Store::open(&self.db) {
            Ok(store) => store,
            Err(error) => {
                tracing::error!("sync store: {error}");
                return None;
            }
        };
        let (reports, inbox) = channel::<WorkerEvent>();
        let events = self.events.clone();
        // The worker's reports become inputs like any other.
        let _ = spawn("tally-sync-router", move || {
            while let Ok(report) = inbox.recv() {
                if events
                    .send(Event::Input(Input::Sync(report), None))
                    .is_err()
                {
                    return;
                }
            }
        });
        Some(SyncWorker::spawn(
            move |progress| engine.round(&mut store, &now, progress),
            reports,
            Some(self.interval),
        ))
    }

    /// Trades the code for a token on its own thread: the network may take seconds.
    fn enroll(&self, url: String, code: String) {
        let events = self.events.clone();
        let link_path = self.link_path.clone();
        let _ = spawn("tally-enroll", move || {
            let result = enroll(
                ClientConfig::new(&url, None),
                &code,
                &host_name(),
                env!("CARGO_PKG_VERSION"),
            )
            .map_err(|e| e.to_string())
            .and_then(|link| {
                link.save(&link_path).map_err(|e| e.to_string())?;
                Ok(Enrollment {
                    hub: link.url,
                    sscc_serials: link.sscc_serials,
                })
            });
            let _ = events.send(Event::Input(Input::Enrolled(result), None));
        });
    }
}

fn desk_loop(
    mut controller: Controller,
    inbox: &Receiver<Event>,
    ui: &UiHandle,
    feedback: &Feedback,
    mut sync: SyncHub,
) {
    // A terminal that starts enrolled syncs at once: it may have been docked while off.
    if HubLink::load(&sync.link_path).is_ok() {
        sync.trigger(Trigger::Docked);
    }
    while let Ok(event) = inbox.recv() {
        let (input, stamp) = match event {
            Event::Input(input, stamp) => (input, stamp),
            Event::SyncTrigger(trigger) => {
                sync.trigger(trigger);
                continue;
            }
            Event::Quit => break,
        };
        if let Input::Enrolled(Ok(_)) = &input {
            // A new hub: the old worker (if any) goes, the next trigger makes a new one.
            sync.worker = None;
        }
        let output = controller.handle(input, now());
        let shown = match stamp {
            Some(received) => ui.show_then(output.view, move || bench::shown(received)),
            None => ui.show(output.view),
        };
        if !shown {
            break;
        }
        if let Some(cue) = output.cue
            && (cue.sound || cue.vibrate)
        {
            feedback.cue(cue);
        }
        for request in output.requests {
            match request {
                Request::SyncNow => sync.trigger(Trigger::Operator),
                Request::Enroll { url, code } => sync.enroll(url, code),
                Request::PrintLabel { sscc, printer, zpl } => {
                    print_label(sscc, printer, zpl, &sync.events)
                }
                Request::Language(lang) => {
                    ui.invoke(move || {
                        if let Err(error) = tally_ui::select_language(lang_code(lang)) {
                            tracing::warn!("{error}");
                        }
                    });
                }
            }
        }
    }
    if let Some(worker) = sync.worker.take() {
        worker.stop();
    }
}
