//! The sync screen: the round in progress, its result, and what the hub and GIS MT refused.

use tally_sync::engine::{Progress, RoundSummary, WorkerEvent};
use tally_ui::{SyncView, Tone, info_row};

use super::{Scene, format_age, fraction};
use crate::terminal::text::Texts;

/// The sync worker's last news, kept between inputs.
#[derive(Clone, Debug, Default)]
pub struct SyncState {
    pub view: SyncView,
    /// The hub answered in the last round.
    pub online: bool,
}

impl SyncState {
    pub fn event(&mut self, t: Texts, event: WorkerEvent) {
        let sync = &mut self.view;
        match event {
            WorkerEvent::Started(_) => {
                sync.running = true;
                sync.push_progress = 0.0;
                sync.pull_progress = 0.0;
                sync.phase = t.s("Connecting to the hub…");
            }
            WorkerEvent::Progress(Progress::Push { sent, total }) => {
                self.online = true;
                sync.push_progress = fraction(sent as u64, total as u64);
                sync.phase = t.f(
                    "Upload: {sent} of {total} operations",
                    &[("sent", &sent), ("total", &total)],
                );
            }
            WorkerEvent::Progress(Progress::Pull {
                feed, items, total, ..
            }) => {
                self.online = true;
                sync.push_progress = 1.0;
                // Feeds do not say their size up front: the bar moves per feed.
                let index = tally_wire::Feed::ALL
                    .iter()
                    .position(|f| *f == feed)
                    .unwrap_or(0);
                sync.pull_progress = index as f32 / tally_wire::Feed::ALL.len() as f32;
                sync.phase = t.f(
                    "Download {feed}: {total} (+{items})",
                    &[("feed", &feed.name()), ("total", &total), ("items", &items)],
                );
            }
            WorkerEvent::Finished(Ok(summary)) => {
                self.online = true;
                sync.running = false;
                sync.push_progress = 1.0;
                sync.pull_progress = 1.0;
                sync.phase.clear();
                sync.result = round_text(t, &summary);
                sync.result_tone = if summary.rejected > 0 {
                    Tone::Warning
                } else {
                    Tone::Good
                };
            }
            WorkerEvent::Finished(Err(error)) => {
                self.online = false;
                sync.running = false;
                sync.phase.clear();
                sync.result = t.f(
                    "Sync failed: {error}. The queue is kept.",
                    &[("error", &error)],
                );
                sync.result_tone = Tone::Error;
            }
        }
    }
}

fn round_text(t: Texts, summary: &RoundSummary) -> String {
    let pulled: u64 = summary.feeds.iter().map(|f| f.items).sum();
    t.f(
        "Uploaded: {accepted} accepted, {duplicate} already there, {rejected} rejected. Downloaded {pulled} changes.",
        &[
            ("accepted", &summary.accepted),
            ("duplicate", &summary.duplicate),
            ("rejected", &summary.rejected),
            ("pulled", &pulled),
        ],
    )
}

pub fn view(scene: &Scene<'_>, state: &SyncState) -> SyncView {
    let t = scene.t;
    let snapshot = scene.snapshot;
    let rejected = snapshot
        .rejected
        .iter()
        .map(|r| {
            info_row(
                &format!("{} № {}", r.operation.kind, r.operation.seq.0),
                &reasons_text(t, &r.reasons),
            )
        })
        .collect();
    let refused = snapshot
        .refused
        .iter()
        .map(|r| {
            // The operation as the operator knows it (kind, number, the day it was finished),
            // and which of its GIS MT documents was refused.
            let label = format!(
                "{} № {} · {} · {}",
                r.operation.kind,
                r.operation.seq.0,
                r.operation.finished_at.date(),
                r.verdict.document_type
            );
            let reasons = if r.verdict.reasons.is_empty() {
                t.s("GIS MT gave no reason")
            } else {
                reasons_text(t, &r.verdict.reasons)
            };
            info_row(&label, &reasons)
        })
        .collect();
    SyncView {
        rejected,
        refused,
        status_list_age: snapshot
            .status_list_age_ms
            .map(|age| format_age(age, t))
            .unwrap_or_default(),
        ..state.view.clone()
    }
}

/// Reasons in the UI's language, one a line, each after the code it is about.
fn reasons_text(t: Texts, reasons: &[tally_wire::OperationReason]) -> String {
    let lines: Vec<String> = reasons
        .iter()
        .map(|reason| {
            let text = match t.lang() {
                tally_domain::Lang::En => &reason.en,
                tally_domain::Lang::Ru => &reason.ru,
            };
            match &reason.subject {
                Some(subject) => format!("{subject}: {text}"),
                None => text.clone(),
            }
        })
        .collect();
    lines.join("\n")
}
