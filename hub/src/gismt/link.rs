//! The link's work, one step at a time: keep a token per participant, send waiting documents,
//! find the ones whose answer was lost, poll the ones GIS MT is checking, read statuses again,
//! and raise alerts. Every decision reads the store and `now`; nothing is held only in memory
//! but the tokens, so a hub killed at any moment picks up where the store says.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tally_domain::product_group::ProductGroup;
use tally_domain::status::Timestamp;
use tally_wire::{DocumentState, Feed, OperationReason, Verdict};

use super::alerts::{AlertSink, Raised};
use super::client::{ApiError, TrueApi};
use super::signer::{Mode, Signer};
use crate::store::Store;
use crate::store::link::{Final, JournalFilter, Submission};

/// The lease the running link holds; other instances on the same database wait.
const LEASE: &str = "gismt-link";
const LEASE_MS: i64 = 30_000;
/// A token is renewed this long before GIS MT's ten hours run out.
const TOKEN_LIFETIME_MS: i64 = 10 * 3_600_000;
const TOKEN_RENEW_BEFORE_MS: i64 = 3_600_000;
/// `cises/info` takes at most this many codes a call.
pub const CISES_PER_CALL: usize = 1000;
/// A lost `create` answer is looked up among documents received from a minute before it.
const LOOKUP_MARGIN_MS: i64 = 60_000;
/// Documents handled per step: the rest wait for the next one.
const DOCUMENTS_PER_STEP: u32 = 50;
/// Unfinished documents read to decide which waiting ones must wait: a backlog deeper than
/// this is sent in intake order as the earlier ones finish.
const UNFINISHED_LOOKED_AT: u32 = 20_000;

/// What the link is told (the `[gismt]` section of the configuration, or `serve` flags).
#[derive(Debug, Clone)]
pub struct LinkConfig {
    pub api: TrueApi,
    pub signer: Signer,
    /// How often each participant's codes are read whole again.
    pub refresh_every: Duration,
    /// The first poll of a new document, and the longest wait between polls.
    pub poll_first: Duration,
    pub poll_longest: Duration,
    /// The first wait after a failed call; it doubles up to `poll_longest`.
    pub retry_first: Duration,
    /// How long after sending a document whose answer was lost GIS MT may still not list it:
    /// only a lookup this much later that finds nothing sends it again.
    pub lookup_grace: Duration,
    /// Alert limits: a terminal silent, a list old, a document in processing, this long.
    pub silent_after: Duration,
    pub list_limit: Duration,
    pub stuck_after: Duration,
    pub alerts: Option<AlertSink>,
}

impl LinkConfig {
    pub fn new(api: TrueApi, signer: Signer) -> LinkConfig {
        LinkConfig {
            api,
            signer,
            refresh_every: Duration::from_secs(3600),
            poll_first: Duration::from_secs(2),
            poll_longest: Duration::from_secs(300),
            retry_first: Duration::from_secs(2),
            lookup_grace: Duration::from_secs(120),
            silent_after: Duration::from_secs(4 * 3600),
            list_limit: Duration::from_secs(24 * 3600),
            stuck_after: Duration::from_secs(3600),
            alerts: None,
        }
    }
}

/// What one step did, for logs and the support commands.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub leader: bool,
    pub sent: usize,
    /// Waiting for an earlier document that names the same codes.
    pub held: usize,
    pub found: usize,
    pub finished: usize,
    pub refreshed: usize,
    pub alerts_sent: usize,
    pub failures: Vec<String>,
}

impl StepReport {
    fn busy(&self) -> bool {
        self.sent + self.found + self.finished + self.refreshed > 0
    }
}

/// A participant's failing sign-in: why, and when to try again (the wait doubles, so a
/// signer that is down is not run every step).
#[derive(Debug, Clone)]
struct SignInFailure {
    reason: String,
    failures: u32,
    next_at: i64,
}

#[derive(Debug, Clone)]
struct Token {
    token: String,
    expires_at: i64,
}

/// The link of one hub process.
#[derive(Debug)]
pub struct Link {
    config: LinkConfig,
    store: Arc<Store>,
    holder: String,
    tokens: HashMap<String, Token>,
    /// Participants whose last sign-in failed, with the reason (an alert while it lasts).
    sign_in_failures: BTreeMap<String, SignInFailure>,
    started_at: Option<i64>,
    last_alerts_at: Option<i64>,
    /// After a failed refresh: when to try again, and how many failed in a row.
    refresh_wait: Option<(i64, u32)>,
}

impl Link {
    /// `holder` names this hub instance across restarts (its host and address), so an instance
    /// killed and started again takes its lease back at once instead of waiting it out.
    pub fn new(config: LinkConfig, store: Arc<Store>, holder: String) -> Link {
        Link {
            config,
            store,
            holder,
            tokens: HashMap::new(),
            sign_in_failures: BTreeMap::new(),
            started_at: None,
            last_alerts_at: None,
            refresh_wait: None,
        }
    }

    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Runs steps until `stop` is set: at once again while there is work, else every second.
    pub fn run(mut self, stop: &AtomicBool, clock: impl Fn() -> Timestamp) {
        while !stop.load(Ordering::Relaxed) {
            // A bug met in one step is logged and the link goes on: the store holds where
            // every document stands, so the next step starts from there.
            let now = clock();
            let report = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.step(now)
            })) {
                Ok(report) => report,
                Err(_) => StepReport {
                    failures: vec!["a step of the GIS MT link failed; see the panic above".into()],
                    ..StepReport::default()
                },
            };
            for failure in &report.failures {
                tracing::warn!(target: "tally_hub::gismt", "{failure}");
            }
            if report.busy() {
                tracing::info!(
                    target: "tally_hub::gismt",
                    sent = report.sent, found = report.found, finished = report.finished,
                    refreshed = report.refreshed, "GIS MT link step"
                );
                continue;
            }
            for _ in 0..10 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// One round of everything due at `now`, if this process holds the link's lease.
    pub fn step(&mut self, now: Timestamp) -> StepReport {
        let mut report = StepReport::default();
        match self.store.claim_lease(LEASE, &self.holder, now, LEASE_MS) {
            Ok(true) => report.leader = true,
            Ok(false) => return report,
            Err(e) => {
                report.failures.push(format!("the link's lease: {e}"));
                return report;
            }
        }
        self.started_at.get_or_insert(now.millis());
        if let Err(e) = self.documents(now, &mut report) {
            report.failures.push(format!("documents: {e}"));
        }
        if self.refresh_wait.is_none_or(|(at, _)| now.millis() >= at) {
            let refreshed = self
                .refresh_queued(now, &mut report)
                .and_then(|()| self.refresh_passes(now, &mut report));
            match refreshed {
                Ok(()) => self.refresh_wait = None,
                Err(e) => {
                    // 429 and 5xx back off (GIS MT's Retry-After when it gave one), doubling.
                    let failures = self.refresh_wait.map_or(1, |(_, n)| n.saturating_add(1));
                    let wait = match &e {
                        LinkError::Api(ApiError::Throttled {
                            retry_after: Some(after),
                        }) => millis(*after),
                        _ => millis(self.config.retry_first)
                            .saturating_mul(1_i64 << failures.min(16))
                            .min(millis(self.config.poll_longest)),
                    };
                    self.refresh_wait = Some((now.millis() + wait, failures));
                    report.failures.push(format!("refreshing statuses: {e}"));
                }
            }
        }
        let alerts_due = self
            .last_alerts_at
            .is_none_or(|at| now.millis().saturating_sub(at) >= 5_000);
        if alerts_due || report.busy() {
            self.last_alerts_at = Some(now.millis());
            if let Err(e) = self.alerts(now, &mut report) {
                report.failures.push(format!("alerts: {e}"));
            }
        }
        report
    }

    /// The documents' part of a step alone (`tally-hub gismt submit`), under the lease.
    pub fn documents_step(&mut self, now: Timestamp) -> Result<StepReport, LinkError> {
        let mut report = StepReport::default();
        if !self.store.claim_lease(LEASE, &self.holder, now, LEASE_MS)? {
            return Err(LinkError::Conflict(
                "link_busy: another hub process runs the GIS MT link now / \
                 связь с ГИС МТ сейчас ведёт другой процесс хаба"
                    .into(),
            ));
        }
        report.leader = true;
        self.documents(now, &mut report)?;
        Ok(report)
    }

    /// Reads the whole queue of codes waiting to be read; answers how many statuses were
    /// stored.
    pub fn refresh_queue(&mut self, now: Timestamp) -> Result<usize, LinkError> {
        let mut report = StepReport::default();
        while !self.store.queued_refresh(1)?.is_empty() {
            self.refresh_queued(now, &mut report)?;
        }
        Ok(report.refreshed)
    }

    /// Reads the whole queue and a whole pass of every participant's codes
    /// (`tally-hub gismt refresh`); answers how many statuses were stored.
    pub fn refresh_all(&mut self, now: Timestamp) -> Result<usize, LinkError> {
        let mut report = StepReport {
            refreshed: self.refresh_queue(now)?,
            ..StepReport::default()
        };
        // A pass begun now, walked to its end.
        for inn in self.store.participants()? {
            let mut pass = self.store.refresh_pass(&inn)?;
            pass.cursor.clear();
            pass.pass_started_at = None;
            self.store.save_refresh_pass(&pass)?;
        }
        loop {
            self.refresh_passes(now, &mut report)?;
            let mut walking = false;
            for inn in self.store.participants()? {
                walking |= !self.store.refresh_pass(&inn)?.cursor.is_empty();
            }
            if !walking {
                break;
            }
        }
        Ok(report.refreshed)
    }

    /// Fills the hub's list with what `inn` owns in circulation of one product group, as GIS
    /// MT's export service lists it (`FILTERED_CIS_REPORT`): the export is ordered, waited for
    /// (polls `poll_first` apart, growing to `poll_longest`, for at most `patience`), and its
    /// codes are queued to be read with `cises/info`, which brings each one's owner, status and
    /// box. Codes the hub already lists are read again too: GIS MT's word is the newer one.
    /// Answers how many codes the export listed.
    pub fn fill_owned(
        &mut self,
        inn: &str,
        pg: ProductGroup,
        now: Timestamp,
        patience: Duration,
        sleep: &mut dyn FnMut(Duration),
    ) -> Result<usize, LinkError> {
        let group = pg.id();
        let task = self.with_token(inn, now, |api, token| {
            api.order_owned_codes(token, inn, group)
        })?;
        let mut waited = Duration::ZERO;
        let mut pause = self.config.poll_first;
        let result = loop {
            let status = self.with_token(inn, now, |api, token| {
                api.export_task(token, &task.id, group)
            })?;
            match status.current_status.as_str() {
                "FAILED" | "CANCELED" => {
                    return Err(LinkError::Answer(format!(
                        "the export {} of {inn}'s {} codes ended {}",
                        task.id,
                        pg.code(),
                        status.current_status
                    )));
                }
                // A finished task soon goes to the archive, its file with it: the file is
                // looked for either way, and an archived task without one is over.
                done @ ("COMPLETED" | "ARCHIVE") => {
                    if let Some(result) = self.with_token(inn, now, |api, token| {
                        api.export_result(token, &task.id, group)
                    })? {
                        break result;
                    }
                    if done == "ARCHIVE" {
                        return Err(LinkError::Answer(format!(
                            "the export {} of {inn}'s {} codes was archived before it was \
                             downloaded; run the command again",
                            task.id,
                            pg.code()
                        )));
                    }
                }
                _ => {}
            }
            if waited >= patience {
                return Err(LinkError::Answer(format!(
                    "the export {} of {inn}'s {} codes was not ready after {} s; GIS MT keeps \
                     preparing it, so a later run may find it sooner",
                    task.id,
                    pg.code(),
                    waited.as_secs()
                )));
            }
            sleep(pause);
            waited += pause;
            pause = (pause * 2).min(self.config.poll_longest);
        };
        let file = self.with_token(inn, now, |api, token| {
            api.export_file(token, &result, group)
        })?;
        let codes = super::client::owned_codes_of(&file)?;
        for chunk in codes.chunks(CISES_PER_CALL) {
            self.store.queue_refresh(chunk, now)?;
        }
        Ok(codes.len())
    }

    // ---- sign-in ----

    /// The participant's token, signing in when there is none or it is about to expire.
    pub fn token(&mut self, inn: &str, now: Timestamp) -> Result<String, LinkError> {
        if let Some(token) = self.tokens.get(inn)
            && token.expires_at - TOKEN_RENEW_BEFORE_MS > now.millis()
        {
            return Ok(token.token.clone());
        }
        if let Some(failure) = self.sign_in_failures.get(inn)
            && now.millis() < failure.next_at
        {
            return Err(LinkError::SignInWaits(failure.reason.clone()));
        }
        self.sign_in(inn, now)
    }

    /// Signs in afresh: the key's data signed attached by the participant's signer.
    pub fn sign_in(&mut self, inn: &str, now: Timestamp) -> Result<String, LinkError> {
        self.tokens.remove(inn);
        let result = (|| {
            let key = self.config.api.auth_key()?;
            let signed = self
                .config
                .signer
                .sign(inn, key.data.as_bytes(), Mode::Attached)?;
            Ok::<_, LinkError>(self.config.api.sign_in(&key, &signed)?)
        })();
        match result {
            Ok(token) => {
                self.sign_in_failures.remove(inn);
                self.tokens.insert(
                    inn.to_owned(),
                    Token {
                        token: token.clone(),
                        expires_at: now.millis() + TOKEN_LIFETIME_MS,
                    },
                );
                Ok(token)
            }
            Err(e) => {
                let failures = self
                    .sign_in_failures
                    .get(inn)
                    .map_or(1, |f| f.failures.saturating_add(1));
                let wait = millis(self.config.retry_first)
                    .saturating_mul(1_i64 << failures.min(16))
                    .min(millis(self.config.poll_longest));
                self.sign_in_failures.insert(
                    inn.to_owned(),
                    SignInFailure {
                        reason: e.to_string(),
                        failures,
                        next_at: now.millis() + wait,
                    },
                );
                Err(e)
            }
        }
    }

    /// Runs `call` with the participant's token; a 401 signs in again once and repeats it.
    fn with_token<T>(
        &mut self,
        inn: &str,
        now: Timestamp,
        call: impl Fn(&TrueApi, &str) -> Result<T, ApiError>,
    ) -> Result<T, LinkError> {
        let token = self.token(inn, now)?;
        match call(&self.config.api, &token) {
            Err(ApiError::Unauthorized { .. }) => {
                let token = self.sign_in(inn, now)?;
                Ok(call(&self.config.api, &token)?)
            }
            other => Ok(other?),
        }
    }

    // ---- documents ----

    fn documents(&mut self, now: Timestamp, report: &mut StepReport) -> crate::store::Result<()> {
        let due = self.store.due_submissions(now, DOCUMENTS_PER_STEP)?;
        let held = if due.iter().any(|s| s.state == DocumentState::Waiting) {
            held_back(&self.store.unfinished_submissions(UNFINISHED_LOOKED_AT)?)
        } else {
            HashSet::new()
        };
        for submission in due {
            if held.contains(&(submission.operation, submission.position)) {
                // GIS MT checks documents in no promised order: an aggregation sent before the
                // acceptance of its units is checked would be refused.
                let later = Timestamp(now.millis() + millis(self.config.poll_first));
                self.store
                    .postpone(submission.operation, submission.position, later, None)?;
                report.held += 1;
                continue;
            }
            let outcome = match submission.state {
                DocumentState::Waiting => self.send(&submission, now, report),
                DocumentState::Sending => self.find(&submission, now, report),
                DocumentState::InProgress => self.poll(&submission, now, report),
                _ => Ok(()),
            };
            if let Err(e) = outcome {
                let retry = self.retry_at(&submission, now, &e);
                report.failures.push(format!(
                    "{} of operation {}: {e}",
                    submission.doc_type, submission.uuid
                ));
                self.store.postpone(
                    submission.operation,
                    submission.position,
                    retry,
                    Some(&e.to_string()),
                )?;
            }
        }
        Ok(())
    }

    /// When to try a document again after a failure: GIS MT's `Retry-After`, else a wait that
    /// doubles with the document's tries.
    fn retry_at(&self, submission: &Submission, now: Timestamp, error: &LinkError) -> Timestamp {
        if let LinkError::Api(ApiError::Throttled {
            retry_after: Some(after),
        }) = error
        {
            return Timestamp(now.millis() + millis(*after));
        }
        let first = millis(self.config.retry_first);
        let exponent = u32::try_from(submission.tries.clamp(0, 16)).unwrap_or(16);
        let wait = first
            .saturating_mul(1_i64 << exponent)
            .min(millis(self.config.poll_longest));
        Timestamp(now.millis() + wait)
    }

    /// Signs and sends a waiting document. Its `sending` mark is stored first, so whatever
    /// happens to the request the document is looked up before it is ever sent again.
    fn send(
        &mut self,
        s: &Submission,
        now: Timestamp,
        report: &mut StepReport,
    ) -> Result<(), LinkError> {
        let signature =
            self.config
                .signer
                .sign(&s.participant_inn, s.body.as_bytes(), Mode::Detached)?;
        let body = STANDARD.encode(s.body.as_bytes());
        let token = self.token(&s.participant_inn, now)?;
        let look_up_at = Timestamp(now.millis() + millis(self.config.retry_first));
        if !self
            .store
            .mark_sending(s.operation, s.position, now, look_up_at)?
        {
            return Ok(());
        }
        let created = match self
            .config
            .api
            .create(&token, &s.pg, &s.doc_type, &body, &signature)
        {
            // Refused as unauthorized, it was not created: sign in again and send once more.
            Err(ApiError::Unauthorized { .. }) => {
                let token = self.sign_in(&s.participant_inn, now)?;
                self.config
                    .api
                    .create(&token, &s.pg, &s.doc_type, &body, &signature)
            }
            other => other,
        };
        match created {
            Ok(id) => {
                self.take_id(s, &id, now)?;
                report.sent += 1;
                Ok(())
            }
            // GIS MT would not take it at all: that is its final answer for this document.
            Err(ApiError::Refused { status, message }) => {
                self.finish(
                    s,
                    DocumentState::ProcessingError,
                    &[format!("{status}: {message}")],
                    now,
                )?;
                report.finished += 1;
                Ok(())
            }
            // Whether it arrived is unknown: it stays `sending` and is looked up.
            Err(e) => Err(e.into()),
        }
    }

    fn take_id(&mut self, s: &Submission, id: &str, now: Timestamp) -> Result<(), LinkError> {
        let poll_at = Timestamp(now.millis() + millis(self.config.poll_first));
        if self
            .store
            .record_gis_id(s.operation, s.position, id, now, poll_at)?
        {
            Ok(())
        } else {
            Err(LinkError::Conflict(format!(
                "GIS MT answered the id {id}, which another document of this hub holds"
            )))
        }
    }

    /// A document left `sending` (a crash, a lost answer): the participant's documents of its
    /// type since it was sent are read back, and the one carrying its body is it. None: it
    /// never arrived, and it goes back to waiting.
    fn find(
        &mut self,
        s: &Submission,
        now: Timestamp,
        report: &mut StepReport,
    ) -> Result<(), LinkError> {
        let since = s.sending_at.unwrap_or(s.made_at) - LOOKUP_MARGIN_MS;
        let from = iso_time(since);
        let listed = self.with_token(&s.participant_inn, now, |api, token| {
            api.list(token, &s.pg, &s.doc_type, &from)
        })?;
        for candidate in listed {
            if candidate.document_type != s.doc_type && !candidate.document_type.is_empty() {
                continue;
            }
            if self.store.gis_id_taken(&candidate.number)? {
                continue;
            }
            let info = self.with_token(&s.participant_inn, now, |api, token| {
                api.info(token, &s.pg, &candidate.number, true)
            })?;
            if info.carries(&s.body) {
                self.take_id(s, &candidate.number, now)?;
                report.found += 1;
                return Ok(());
            }
        }
        let sent_at = s.sending_at.unwrap_or(s.made_at);
        if now.millis() - sent_at < millis(self.config.lookup_grace) {
            // GIS MT lists a document a while after it takes it: look again before resending.
            let again = Timestamp(now.millis() + millis(self.config.retry_first));
            self.store.postpone(s.operation, s.position, again, None)?;
            return Ok(());
        }
        self.store.mark_unsent(s.operation, s.position, now)?;
        Ok(())
    }

    /// Reads a document's state; a final one is recorded with its verdict, and a checked one
    /// has its codes read again (the effect is proven by the statuses, not the state).
    fn poll(
        &mut self,
        s: &Submission,
        now: Timestamp,
        report: &mut StepReport,
    ) -> Result<(), LinkError> {
        let Some(id) = s.gis_id.clone() else {
            return Err(LinkError::Conflict(
                "in progress without a GIS MT id".into(),
            ));
        };
        let info = self.with_token(&s.participant_inn, now, |api, token| {
            api.info(token, &s.pg, &id, false)
        })?;
        let state = match info.status.as_str() {
            "CHECKED_OK" => DocumentState::CheckedOk,
            "CHECKED_NOT_OK" | "CANCELLED" => DocumentState::CheckedNotOk,
            "PROCESSING_ERROR" | "PARSE_ERROR" => DocumentState::ProcessingError,
            _ => {
                let waited = now.millis() - s.state_at;
                let wait = (waited / 2).clamp(
                    millis(self.config.poll_first),
                    millis(self.config.poll_longest),
                );
                self.store.postpone(
                    s.operation,
                    s.position,
                    Timestamp(now.millis() + wait),
                    None,
                )?;
                return Ok(());
            }
        };
        if state == DocumentState::CheckedOk {
            let body: Value = serde_json::from_str(&s.body).unwrap_or(Value::Null);
            self.store.queue_refresh(&codes_of(&body), now)?;
        }
        self.finish(s, state, &info.errors, now)?;
        report.finished += 1;
        Ok(())
    }

    fn finish(
        &self,
        s: &Submission,
        state: DocumentState,
        errors: &[String],
        now: Timestamp,
    ) -> crate::store::Result<()> {
        let verdict = Verdict {
            operation: s.uuid.clone(),
            document_type: s.doc_type.clone(),
            pg: s.pg.clone(),
            gis_id: s.gis_id.clone(),
            state,
            reasons: reasons(state, &s.doc_type, errors),
            at: now.millis(),
        };
        let item = serde_json::to_value(&verdict)?;
        let key = format!("{}/{}/{}", s.device_id, s.uuid, s.position);
        self.store.record_final(
            &Final {
                operation: s.operation,
                position: s.position,
                state,
                errors,
                verdict: &item,
                verdict_key: &key,
                warehouse: &s.warehouse,
            },
            now,
        )
    }

    // ---- statuses ----

    /// Codes queued by pushes, tasks and checked documents, a call's worth per step.
    fn refresh_queued(&mut self, now: Timestamp, report: &mut StepReport) -> Result<(), LinkError> {
        let codes = self.store.queued_refresh(CISES_PER_CALL as u32)?;
        if codes.is_empty() {
            return Ok(());
        }
        report.refreshed += self.refresh(&codes, now)?;
        self.store.dequeue_refresh(&codes)?;
        Ok(())
    }

    /// Reads codes from GIS MT into the hub's list. GIS MT names a code's owner only to the
    /// owner, so the codes are asked with each participant's token in turn until one of them
    /// owns it; a code none owns (a supplier's) is stored as the last answer gave it.
    pub fn refresh(&mut self, codes: &[String], now: Timestamp) -> Result<usize, LinkError> {
        let participants = self.store.participants()?;
        let mut remaining: Vec<String> = codes.to_vec();
        let mut answers: HashMap<String, Value> = HashMap::new();
        let mut asked_any = false;
        let mut first_failure = None;
        for inn in &participants {
            if remaining.is_empty() {
                break;
            }
            let mut unowned = Vec::new();
            for chunk in remaining.chunks(CISES_PER_CALL) {
                let list = chunk.to_vec();
                // A participant that cannot sign in now is passed over: the others may own
                // these codes.
                let answer =
                    match self.with_token(inn, now, |api, token| api.cises_info(token, &list)) {
                        Ok(answer) => answer,
                        Err(e) => {
                            unowned.extend(list);
                            first_failure.get_or_insert(e);
                            continue;
                        }
                    };
                asked_any = true;
                for entry in answer {
                    let Some(code) = requested(&entry) else {
                        continue;
                    };
                    let owned = entry
                        .get("cisInfo")
                        .and_then(|i| i.get("ownerInn"))
                        .and_then(Value::as_str)
                        .is_some();
                    if !owned {
                        unowned.push(code.clone());
                    }
                    answers.insert(code, entry);
                }
            }
            remaining = unowned;
        }
        if !asked_any && let Some(e) = first_failure {
            return Err(e);
        }
        let known: Vec<&Value> = answers
            .values()
            .filter(|entry| entry.get("errorCode").is_none_or(Value::is_null))
            .collect();
        if known.is_empty() {
            return Ok(0);
        }
        let body = serde_json::to_vec(&known).map_err(|e| LinkError::Answer(e.to_string()))?;
        let report = crate::import::import(&self.store, Feed::Statuses, &body[..])
            .map_err(|e| LinkError::Answer(e.to_string()))?;
        Ok(usize::try_from(report.imported).unwrap_or(usize::MAX))
    }

    /// Each participant's pass over the codes it owns, a call's worth per step; a pass that
    /// reaches the end dates the list.
    fn refresh_passes(&mut self, now: Timestamp, report: &mut StepReport) -> Result<(), LinkError> {
        // One participant whose sign-in fails must not hold back the others' lists.
        let mut first_failure = None;
        for inn in self.store.participants()? {
            if let Err(e) = self.refresh_pass_of(&inn, now, report) {
                first_failure.get_or_insert(e);
            }
        }
        first_failure.map_or(Ok(()), Err)
    }

    fn refresh_pass_of(
        &mut self,
        inn: &str,
        now: Timestamp,
        report: &mut StepReport,
    ) -> Result<(), LinkError> {
        let mut pass = self.store.refresh_pass(inn)?;
        if pass.cursor.is_empty() {
            let due = pass
                .pass_started_at
                .is_none_or(|started| now.millis() - started >= millis(self.config.refresh_every));
            if !due && pass.refreshed_at.is_some() {
                return Ok(());
            }
            if due {
                pass.pass_started_at = Some(now.millis());
            }
        }
        let batch = self
            .store
            .owned_codes(inn, &pass.cursor, CISES_PER_CALL as u32)?;
        if !batch.is_empty() {
            let codes: Vec<String> = batch.iter().map(|(_, code)| code.clone()).collect();
            let answer = self.with_token(inn, now, |api, token| api.cises_info(token, &codes))?;
            let known: Vec<&Value> = answer
                .iter()
                .filter(|entry| entry.get("errorCode").is_none_or(Value::is_null))
                .collect();
            let body = serde_json::to_vec(&known).map_err(|e| LinkError::Answer(e.to_string()))?;
            let imported = crate::import::import(&self.store, Feed::Statuses, &body[..])
                .map_err(|e| LinkError::Answer(e.to_string()))?;
            report.refreshed += usize::try_from(imported.imported).unwrap_or(usize::MAX);
        }
        if batch.len() < CISES_PER_CALL {
            pass.cursor.clear();
            pass.refreshed_at = pass.pass_started_at;
        } else if let Some((key, _)) = batch.last() {
            pass.cursor.clone_from(key);
        }
        self.store.save_refresh_pass(&pass)?;
        Ok(())
    }

    // ---- alerts ----

    fn alerts(&mut self, now: Timestamp, report: &mut StepReport) -> crate::store::Result<()> {
        let mut raised: Vec<Raised> = Vec::new();
        let mut open_keys: HashSet<String> = HashSet::new();
        let silent_ms = millis(self.config.silent_after);
        for device in self.store.fleet()? {
            if device.revoked_at.is_some() {
                continue;
            }
            let key = format!("silent:{}", device.device_id);
            let last = device.last_contact.unwrap_or(device.enrolled_at);
            if now.millis() - last > silent_ms {
                raised.push(Raised::new(
                    key.clone(),
                    "terminal_silent",
                    format!(
                        "Terminal {} ({}) has not synced for {} min / Терминал {} ({}) не синхронизировался {} мин",
                        device.name,
                        device.warehouse,
                        (now.millis() - last) / 60_000,
                        device.name,
                        device.warehouse,
                        (now.millis() - last) / 60_000
                    ),
                ));
                open_keys.insert(key);
            } else {
                self.store.clear_alert(&key, now)?;
            }
        }
        let limit = millis(self.config.list_limit);
        let running_for = now.millis() - self.started_at.unwrap_or(now.millis());
        for (warehouse, age) in self.store.warehouse_ages()? {
            let key = format!("stale:{warehouse}");
            let stale = match age {
                Some(at) => now.millis() - at > limit,
                None => running_for > limit,
            };
            if stale {
                raised.push(Raised::new(
                    key.clone(),
                    "list_stale",
                    format!(
                        "The status list of warehouse {warehouse} is older than {} h / Список статусов склада {warehouse} старше {} ч",
                        limit / 3_600_000,
                        limit / 3_600_000
                    ),
                ));
                open_keys.insert(key);
            } else {
                self.store.clear_alert(&key, now)?;
            }
        }
        let refused = self.store.journal(&JournalFilter {
            states: vec![DocumentState::CheckedNotOk, DocumentState::ProcessingError],
            from: Some(now.millis() - 7 * 24 * 3_600_000),
            limit: 1000,
            ..JournalFilter::default()
        })?;
        for s in refused {
            let key = format!("refused:{}:{}", s.operation, s.position);
            raised.push(Raised::new(
                key.clone(),
                "document_refused",
                format!(
                    "GIS MT refused {} of operation {} ({}, {}): {} / ГИС МТ отклонила {} операции {}",
                    s.doc_type,
                    s.uuid,
                    s.device,
                    s.warehouse,
                    s.errors.join("; "),
                    s.doc_type,
                    s.uuid
                ),
            ));
            open_keys.insert(key);
        }
        let stuck_ms = millis(self.config.stuck_after);
        let pending = self.store.journal(&JournalFilter {
            states: vec![DocumentState::Sending, DocumentState::InProgress],
            limit: 1000,
            ..JournalFilter::default()
        })?;
        for s in pending {
            if now.millis() - s.state_at > stuck_ms {
                let key = format!("stuck:{}:{}", s.operation, s.position);
                raised.push(Raised::new(
                    key.clone(),
                    "document_stuck",
                    format!(
                        "{} of operation {} has been {} for {} min / {} операции {} в состоянии {} уже {} мин",
                        s.doc_type,
                        s.uuid,
                        s.state.code(),
                        (now.millis() - s.state_at) / 60_000,
                        s.doc_type,
                        s.uuid,
                        s.state.code(),
                        (now.millis() - s.state_at) / 60_000
                    ),
                ));
                open_keys.insert(key);
            }
        }
        for (inn, SignInFailure { reason, .. }) in &self.sign_in_failures {
            let key = format!("sign_in:{inn}");
            raised.push(Raised::new(
                key.clone(),
                "sign_in_failed",
                format!(
                    "Sign-in to GIS MT fails for {inn}: {reason} / Вход в ГИС МТ для {inn} не удаётся: {reason}"
                ),
            ));
            open_keys.insert(key);
        }
        for alert in &raised {
            self.store
                .raise_alert(&alert.key, alert.kind, &alert.message, now)?;
        }
        for open in self.store.open_alerts()? {
            let transient = ["silent:", "stale:", "stuck:", "sign_in:"]
                .iter()
                .any(|p| open.key.starts_with(p));
            if transient && !open_keys.contains(&open.key) {
                self.store.clear_alert(&open.key, now)?;
                continue;
            }
            if open.sent_at.is_some() {
                continue;
            }
            let Some(sink) = &self.config.alerts else {
                continue;
            };
            match sink.send(&open) {
                Ok(()) => {
                    self.store.alert_sent(&open.key, now)?;
                    report.alerts_sent += 1;
                }
                Err(e) => report
                    .failures
                    .push(format!("alert {} not delivered: {e}", open.key)),
            }
        }
        Ok(())
    }
}

/// Why a step of the link failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("signing: {0}")]
    Signer(#[from] super::signer::SignerError),
    #[error("the hub's store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Conflict(String),
    #[error("sign-in failed and is tried again later: {0}")]
    SignInWaits(String),
    #[error("GIS MT's answer: {0}")]
    Answer(String),
}

/// The terminal's reasons for a final state: each of GIS MT's errors, in its words, with the
/// code it names when it names one.
fn reasons(state: DocumentState, doc_type: &str, errors: &[String]) -> Vec<OperationReason> {
    let (code, en, ru) = match state {
        DocumentState::CheckedOk => return Vec::new(),
        DocumentState::ProcessingError => (
            "gis_mt_processing_error",
            "GIS MT could not process",
            "ГИС МТ не смогла обработать",
        ),
        _ => ("gis_mt_refused", "GIS MT refused", "ГИС МТ отклонила"),
    };
    if errors.is_empty() {
        return vec![OperationReason {
            code: code.into(),
            en: format!("{en} the {doc_type} document."),
            ru: format!("{ru} документ {doc_type}."),
            subject: None,
        }];
    }
    errors
        .iter()
        .map(|error| OperationReason {
            code: code.into(),
            en: format!("{en} the {doc_type} document: {error}"),
            ru: format!("{ru} документ {doc_type}: {error}"),
            subject: named_code(error),
        })
        .collect()
}

/// The first marking code or SSCC an error text names (`01`GTIN`21`serial, or 18 digits).
fn named_code(text: &str) -> Option<String> {
    text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | ',' | ';' | '«' | '»' | '(' | ')' | '[' | ']'
            )
    })
    .map(|w| w.trim_end_matches(['.', ':']))
    .find(|w| {
        (w.starts_with("01") && w.len() >= 18 && w.get(16..18) == Some("21"))
            || (w.len() == 18 && w.bytes().all(|b| b.is_ascii_digit()))
    })
    .map(str::to_owned)
}

/// The waiting documents that must wait for an earlier one: a document of the same
/// participant, made before it and not yet final, names one of its codes or labels.
/// `unfinished` is in intake order.
pub fn held_back(unfinished: &[Submission]) -> HashSet<(i64, i64)> {
    let mut named: HashMap<&str, HashSet<String>> = HashMap::new();
    let mut held = HashSet::new();
    for s in unfinished {
        let body: Value = serde_json::from_str(&s.body).unwrap_or(Value::Null);
        let codes = codes_of(&body);
        let earlier = named.entry(s.participant_inn.as_str()).or_default();
        if s.state == DocumentState::Waiting && codes.iter().any(|c| earlier.contains(c)) {
            held.insert((s.operation, s.position));
        }
        earlier.extend(codes);
    }
    held
}

/// The fields of the True API's documents that hold a code or a label.
const CODE_FIELDS: [&str; 11] = [
    "uit_code",
    "uitu_code",
    "unitSerialNumber",
    "sntins",
    "uitu",
    "uit_uitu",
    "cis",
    "uit",
    "new_uin",
    "last_uin",
    "ki",
];

/// Every code and label a document body names, once each, in order of appearance.
pub fn codes_of(body: &Value) -> Vec<String> {
    fn walk(value: &Value, in_code_field: bool, out: &mut Vec<String>, seen: &mut HashSet<String>) {
        match value {
            Value::String(text) if in_code_field && seen.insert(text.clone()) => {
                out.push(text.clone());
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, in_code_field, out, seen);
                }
            }
            Value::Object(fields) => {
                for (name, field) in fields {
                    walk(field, CODE_FIELDS.contains(&name.as_str()), out, seen);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, false, &mut out, &mut HashSet::new());
    out
}

fn requested(entry: &Value) -> Option<String> {
    let info = entry.get("cisInfo")?;
    info.get("requestedCis")
        .or_else(|| info.get("cis"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// `2026-12-02T10:00:00.000Z` for an instant in ms since the epoch.
pub fn iso_time(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    // Civil from days (Howard Hinnant's algorithm), to keep a date library out for one field.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Starts the link on a thread of its own (its calls block); the flag stops it.
pub fn spawn(link: Link, stop: Arc<AtomicBool>) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("gismt-link".into())
        .spawn(move || link.run(&stop, wall_clock))
}

/// This machine's name, for the lease's holder.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The link's clock in production: the system's.
pub fn wall_clock() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp(millis)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn iso_times_are_utc_with_milliseconds() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(1_764_672_000_123), "2025-12-02T10:40:00.123Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn a_documents_codes_are_found_in_every_type() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../wire/schemas/examples");
        let read = |name: &str| -> Value {
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}")).unwrap())
                .unwrap()
        };
        let aggregation = codes_of(&read("AGGREGATION_DOCUMENT.valid.json"));
        assert_eq!(aggregation[0], "046012345000000012");
        assert_eq!(aggregation.len(), 4);
        for name in [
            "LP_ACCEPT_GOODS.valid.json",
            "DISAGGREGATION_DOCUMENT.valid.json",
            "REAGGREGATION_DOCUMENT.valid.json",
            "LK_RECEIPT.valid.json",
            "LK_KM_CANCELLATION.valid.json",
            "LK_APPLIED_KM_CANCELLATION.valid.json",
            "LK_REMARK.valid.json",
            "LP_SHIP_GOODS.valid.json",
            "LP_RETURN.valid.json",
        ] {
            assert!(!codes_of(&read(name)).is_empty(), "{name}");
        }
    }

    fn submission(operation: i64, state: DocumentState, inn: &str, body: Value) -> Submission {
        Submission {
            operation,
            position: 0,
            uuid: format!("u{operation}"),
            kind: "k".into(),
            device_id: 1,
            device: "d".into(),
            warehouse: "W1".into(),
            participant_inn: inn.into(),
            doc_type: "T".into(),
            pg: "lp".into(),
            body: body.to_string(),
            state,
            gis_id: None,
            errors: Vec::new(),
            made_at: 0,
            sending_at: None,
            state_at: 0,
            next_at: 0,
            tries: 0,
            last_error: None,
        }
    }

    #[test]
    fn a_document_waits_for_an_earlier_unfinished_one_naming_its_codes() {
        use serde_json::json;
        let (a, b, c, sscc) = (
            "010460123456789321A",
            "010460123456789321B",
            "010460123456789321C",
            "046012345000000012",
        );
        let unfinished = [
            submission(
                1,
                DocumentState::InProgress,
                "1",
                json!({"products": [{"uit_code": a}, {"uit_code": b}]}),
            ),
            submission(
                2,
                DocumentState::Waiting,
                "1",
                json!({"aggregationUnits": [{"unitSerialNumber": sscc, "sntins": [a, b]}]}),
            ),
            submission(
                3,
                DocumentState::Waiting,
                "1",
                json!({"products": [{"cis": c}]}),
            ),
            submission(
                4,
                DocumentState::Waiting,
                "1",
                json!({"products_list": [{"uitu": sscc}]}),
            ),
            submission(
                5,
                DocumentState::Waiting,
                "2",
                json!({"products": [{"cis": a}]}),
            ),
        ];
        let held = held_back(&unfinished);
        // The aggregation waits for the acceptance, the box's disaggregation for the
        // aggregation; an unrelated write-off and another participant's document go.
        assert_eq!(held, HashSet::from([(2, 0), (4, 0)]));
    }

    #[test]
    fn refusals_reach_the_terminal_in_both_languages_naming_the_code() {
        let ki = "0104601234567893215AbC12";
        let given = reasons(
            DocumentState::CheckedNotOk,
            "LP_ACCEPT_GOODS",
            &[format!("Код {ki} не принадлежит отправителю")],
        );
        assert_eq!(given.len(), 1);
        assert_eq!(given[0].code, "gis_mt_refused");
        assert!(
            given[0]
                .en
                .starts_with("GIS MT refused the LP_ACCEPT_GOODS document: ")
        );
        assert!(
            given[0]
                .ru
                .starts_with("ГИС МТ отклонила документ LP_ACCEPT_GOODS: ")
        );
        assert_eq!(given[0].subject.as_deref(), Some(ki));
        assert!(reasons(DocumentState::CheckedOk, "X", &[]).is_empty());
        assert_eq!(
            reasons(DocumentState::ProcessingError, "X", &[])[0].code,
            "gis_mt_processing_error"
        );
    }
}
