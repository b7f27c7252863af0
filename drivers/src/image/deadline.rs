//! Decoding under a deadline: a pathological frame may cost a frame, never the terminal.
//!
//! rxing has a reported infinite loop in try-harder mode, and nothing can interrupt a running
//! decode. So decoding happens on a long-lived worker thread fed over a channel; the caller
//! waits with `recv_timeout`, and a worker that overruns is abandoned (left to finish or spin
//! on its own) and replaced by a fresh one for the next frame. A leaked thread is the price; a
//! hung caller is not acceptable.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread;
use std::time::{Duration, Instant};

use tally_domain::Lang;
use tally_domain::reason::Reason;
use thiserror::Error;

use super::decode::{Decoded, LookFor, Pass, StandardReader, SymbolReader};
use super::frame::LumaFrame;

/// What to look for in each frame and how long a frame may take.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DecodeOptions {
    pub look_for: LookFor,
    /// Run a try-harder pass when the fast pass finds nothing and time is left.
    pub try_harder: bool,
    /// The longest one frame may take, both passes together.
    pub deadline: Duration,
}

impl Default for DecodeOptions {
    /// Goods, fast pass only, a quarter of a second: several frames of a 15 fps camera, far
    /// more than a healthy decode needs.
    fn default() -> DecodeOptions {
        DecodeOptions {
            look_for: LookFor::GOODS,
            try_harder: false,
            deadline: Duration::from_millis(250),
        }
    }
}

/// Why a frame gave no symbol.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum DecodeFailure {
    #[error("no code found in the image")]
    NoCodeFound,
    #[error("decoding took longer than {} ms ({pass} pass)", after.as_millis())]
    Timeout { after: Duration, pass: Pass },
    #[error("the decoder failed on this image")]
    ReaderFailed,
    #[error("no decoding thread could be started: {detail}")]
    WorkerUnavailable { detail: String },
}

impl Reason for DecodeFailure {
    fn code(&self) -> &'static str {
        match self {
            DecodeFailure::NoCodeFound => "no_code_found",
            DecodeFailure::Timeout { .. } => "timeout",
            DecodeFailure::ReaderFailed => "decoder_failed",
            DecodeFailure::WorkerUnavailable { .. } => "decoder_unavailable",
        }
    }

    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (DecodeFailure::NoCodeFound, Lang::En) => {
                "No code found in the image: hold the code in the frame, flat and in focus.".into()
            }
            (DecodeFailure::NoCodeFound, Lang::Ru) => {
                "Код на изображении не найден: держите код в кадре, ровно и в фокусе.".into()
            }
            (DecodeFailure::Timeout { after, .. }, Lang::En) => format!(
                "Decoding the image took longer than {} ms and was abandoned.",
                after.as_millis()
            ),
            (DecodeFailure::Timeout { after, .. }, Lang::Ru) => format!(
                "Распознавание изображения заняло больше {} мс и прервано.",
                after.as_millis()
            ),
            (DecodeFailure::ReaderFailed, Lang::En) => {
                "The decoder failed on this image: try another picture.".into()
            }
            (DecodeFailure::ReaderFailed, Lang::Ru) => {
                "Сбой распознавания на этом изображении: попробуйте другой снимок.".into()
            }
            (DecodeFailure::WorkerUnavailable { detail }, Lang::En) => {
                format!("The decoder could not start: {detail}.")
            }
            (DecodeFailure::WorkerUnavailable { detail }, Lang::Ru) => {
                format!("Не удалось запустить распознавание: {detail}.")
            }
        }
    }
}

/// What the worker is doing, so a timeout can say which pass overran.
const IDLE: u8 = 0;
const FAST: u8 = 1;
const TRY_HARDER: u8 = 2;

struct Job {
    frame: Arc<LumaFrame>,
    look_for: LookFor,
    try_harder: bool,
    deadline: Instant,
}

/// What the worker sends back for one job.
enum Outcome {
    Found(Decoded),
    NotFound,
    Panicked,
}

struct Worker {
    jobs: Sender<Job>,
    outcomes: Receiver<Outcome>,
    phase: Arc<AtomicU8>,
}

/// Decodes frames one at a time, each within [`DecodeOptions::deadline`].
pub struct FrameDecoder {
    reader: Arc<dyn SymbolReader>,
    options: DecodeOptions,
    worker: Option<Worker>,
    abandoned: usize,
    try_harder_suspended: bool,
}

impl FrameDecoder {
    /// The real decoders ([`StandardReader`]).
    pub fn new(options: DecodeOptions) -> FrameDecoder {
        FrameDecoder::with_reader(Arc::new(StandardReader), options)
    }

    /// Any reader, such as a stub in a test.
    pub fn with_reader(reader: Arc<dyn SymbolReader>, options: DecodeOptions) -> FrameDecoder {
        FrameDecoder {
            reader,
            options,
            worker: None,
            abandoned: 0,
            try_harder_suspended: false,
        }
    }

    pub fn options(&self) -> DecodeOptions {
        self.options
    }

    /// Workers given up on after an overrun; each may still be running.
    pub fn abandoned_workers(&self) -> usize {
        self.abandoned
    }

    /// True once a try-harder pass overran: that is where rxing's known loop lives, so later
    /// frames get the fast pass only rather than leak a spinning thread per frame.
    pub fn try_harder_suspended(&self) -> bool {
        self.try_harder_suspended
    }

    /// Decodes one frame, returning by the deadline whatever the reader does.
    pub fn decode(&mut self, frame: impl Into<Arc<LumaFrame>>) -> Result<Decoded, DecodeFailure> {
        let deadline = Instant::now() + self.options.deadline;
        let mut job = Job {
            frame: frame.into(),
            look_for: self.options.look_for,
            try_harder: self.options.try_harder && !self.try_harder_suspended,
            deadline,
        };
        // A worker whose thread is gone refuses the job; one fresh worker gets a second try.
        for _ in 0..2 {
            let worker = self.worker()?;
            match worker.jobs.send(job) {
                Ok(()) => return self.wait(deadline),
                Err(refused) => {
                    job = refused.0;
                    self.worker = None;
                }
            }
        }
        Err(DecodeFailure::ReaderFailed)
    }

    fn wait(&mut self, deadline: Instant) -> Result<Decoded, DecodeFailure> {
        let Some(worker) = &self.worker else {
            return Err(DecodeFailure::ReaderFailed);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        match worker.outcomes.recv_timeout(left) {
            Ok(Outcome::Found(decoded)) => Ok(decoded),
            Ok(Outcome::NotFound) => Err(DecodeFailure::NoCodeFound),
            Ok(Outcome::Panicked) => Err(DecodeFailure::ReaderFailed),
            Err(RecvTimeoutError::Timeout) => {
                let pass = if worker.phase.load(Ordering::Acquire) == TRY_HARDER {
                    self.try_harder_suspended = true;
                    Pass::TryHarder
                } else {
                    Pass::Fast
                };
                // Dropping our ends lets the worker exit once (if ever) it finishes.
                self.worker = None;
                self.abandoned += 1;
                Err(DecodeFailure::Timeout {
                    after: self.options.deadline,
                    pass,
                })
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.worker = None;
                Err(DecodeFailure::ReaderFailed)
            }
        }
    }

    fn worker(&mut self) -> Result<&Worker, DecodeFailure> {
        if self.worker.is_none() {
            self.worker = Some(spawn(Arc::clone(&self.reader))?);
        }
        self.worker.as_ref().ok_or(DecodeFailure::ReaderFailed)
    }
}

impl std::fmt::Debug for FrameDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameDecoder")
            .field("options", &self.options)
            .field("running", &self.worker.is_some())
            .field("abandoned", &self.abandoned)
            .field("try_harder_suspended", &self.try_harder_suspended)
            .finish()
    }
}

fn spawn(reader: Arc<dyn SymbolReader>) -> Result<Worker, DecodeFailure> {
    let (jobs, job_inbox) = channel::<Job>();
    let (outcome_outbox, outcomes) = channel::<Outcome>();
    let phase = Arc::new(AtomicU8::new(IDLE));
    let worker_phase = Arc::clone(&phase);
    thread::Builder::new()
        .name("tally-decode".into())
        .spawn(move || {
            while let Ok(job) = job_inbox.recv() {
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    run_passes(&*reader, &job, &worker_phase)
                }))
                .unwrap_or(Outcome::Panicked);
                worker_phase.store(IDLE, Ordering::Release);
                if outcome_outbox.send(outcome).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| DecodeFailure::WorkerUnavailable {
            detail: e.to_string(),
        })?;
    Ok(Worker {
        jobs,
        outcomes,
        phase,
    })
}

fn run_passes(reader: &dyn SymbolReader, job: &Job, phase: &AtomicU8) -> Outcome {
    phase.store(FAST, Ordering::Release);
    if let Some(found) = reader.read(&job.frame, job.look_for, Pass::Fast) {
        return Outcome::Found(found);
    }
    if job.try_harder && Instant::now() < job.deadline {
        phase.store(TRY_HARDER, Ordering::Release);
        if let Some(found) = reader.read(&job.frame, job.look_for, Pass::TryHarder) {
            return Outcome::Found(found);
        }
    }
    Outcome::NotFound
}
