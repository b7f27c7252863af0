//! View models: plain data the application builds on any thread, and the presenter that puts
//! them on the window, touching only what changed since the last view.

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::{
    AcceptanceScreen, AggregationScreen, AppWindow, ChoiceRow, CodeInfoScreen, InfoRow,
    InventoryScreen, ReaggregationScreen, ReturnScreen, ScanRow, Screen, SettingsScreen,
    ShipmentScreen, SignIn, SyncScreen, TaskRow, Terminal, Tone, Verdict, WriteOffScreen,
};

/// Everything the window shows. The application rebuilds it after every input; the presenter
/// sets only the sections that differ.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct View {
    pub screen: Screen,
    pub status: StatusLine,
    pub verdict: VerdictView,
    pub sign_in: SignInView,
    pub acceptance: AcceptanceView,
    pub aggregation: AggregationView,
    pub reaggregation: ReaggregationView,
    pub write_off: WriteOffView,
    pub shipment: ShipmentView,
    pub customer_return: ReturnView,
    pub inventory: InventoryView,
    pub code_info: CodeInfoView,
    pub sync: SyncView,
    pub settings: SettingsView,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatusLine {
    pub operator: String,
    pub supervisor: bool,
    pub online: bool,
    pub cache_age: String,
    pub cache_tone: Tone,
    pub queued: i32,
    pub last_sync: String,
    pub open_operation: String,
}

/// The last verdict; `serial` changes with every verdict so a repeated one still flashes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerdictView {
    pub tone: Tone,
    pub headline: String,
    pub reason: String,
    pub code: String,
    pub needs_confirm: bool,
    pub needs_ack: bool,
    pub serial: i32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignInView {
    pub error: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AcceptanceView {
    pub active: bool,
    pub tasks: Vec<TaskRow>,
    pub title: String,
    pub expected: i32,
    pub scanned: i32,
    pub surplus: i32,
    pub missing: i32,
    pub rows: Vec<ScanRow>,
    pub reviewing: bool,
    pub summary: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AggregationView {
    pub active: bool,
    pub unpacking: bool,
    pub box_open: bool,
    pub pallet: bool,
    pub level: String,
    pub sscc: String,
    pub fill: i32,
    pub capacity: i32,
    pub rows: Vec<ScanRow>,
    pub closed: i32,
    /// The label of the box or pallet closed last, which the reprint button prints again.
    pub last_closed: String,
    pub hint: String,
}

/// Re-aggregation of one box: its label, adding or removing, the units.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReaggregationView {
    pub active: bool,
    pub sscc: String,
    /// `"adding"`, `"removing"` or empty until chosen.
    pub mode: String,
    pub mode_label: String,
    pub count: i32,
    /// What the box will hold, when this terminal knows its contents; empty otherwise.
    pub fill: String,
    pub rows: Vec<ScanRow>,
    pub hint: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteOffView {
    pub active: bool,
    pub reasons: Vec<ChoiceRow>,
    pub reason: String,
    pub count: i32,
    pub rows: Vec<ScanRow>,
    pub needs_supervisor: bool,
    pub confirmed: bool,
    pub error: String,
    /// The re-marked code whose new code the next scan must be; empty when none waits.
    pub replacing: String,
}

/// A shipment: the orders to pick until one starts, then what is on it against the order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShipmentView {
    pub active: bool,
    pub orders: Vec<TaskRow>,
    pub title: String,
    pub has_order: bool,
    pub ordered: i32,
    pub shipped: i32,
    pub short: i32,
    pub over: i32,
    pub rows: Vec<ScanRow>,
    /// The next label scanned is opened (its units ship one by one), not shipped whole.
    pub open_next: bool,
    pub hint: String,
    pub error: String,
}

/// A customer return: its kinds until one starts, then the goods brought back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReturnView {
    pub active: bool,
    pub kinds: Vec<ChoiceRow>,
    pub title: String,
    pub returned: i32,
    pub relabelled: i32,
    /// An item's label could not be read: the next scan is its new label.
    pub awaiting_new_label: bool,
    pub rows: Vec<ScanRow>,
    pub hint: String,
    pub error: String,
}

/// An inventory count: what was counted against what the warehouse should hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InventoryView {
    pub active: bool,
    pub title: String,
    pub expected: i32,
    pub found: i32,
    pub missing: i32,
    pub foreign: i32,
    /// Ours in a status that should not be on the shelf, or unknown to the terminal.
    pub wrong_status: i32,
    pub rows: Vec<ScanRow>,
    pub reviewing: bool,
    /// The count's report.
    pub summary: String,
    /// The count settles what is missing with a write-off.
    pub settles: bool,
    pub needs_supervisor: bool,
    pub confirmed: bool,
    /// The next label scanned is opened and its units counted one by one.
    pub open_next: bool,
    pub hint: String,
    pub error: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CodeInfoView {
    pub headline: String,
    pub tone: Tone,
    pub rows: Vec<InfoRow>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncView {
    pub running: bool,
    pub enrolled: bool,
    pub push_progress: f32,
    pub pull_progress: f32,
    pub phase: String,
    pub result: String,
    pub result_tone: Tone,
    pub rejected: Vec<InfoRow>,
    /// Documents GIS MT refused: the operation as label, GIS MT's reasons as value.
    pub refused: Vec<InfoRow>,
    /// The age of the hub's status list from GIS MT ("3 h"); empty while unknown.
    pub status_list_age: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SettingsView {
    pub scanners: String,
    pub hub: String,
    pub language: String,
    pub sounds: bool,
    pub vibration: bool,
    pub message: String,
}

/// A list row, for the application's convenience.
pub fn scan_row(code: &str, name: &str, note: &str, tone: Tone) -> ScanRow {
    ScanRow {
        code: code.into(),
        name: name.into(),
        note: note.into(),
        tone,
    }
}

pub fn info_row(label: &str, value: &str) -> InfoRow {
    InfoRow {
        label: label.into(),
        value: value.into(),
    }
}

pub fn choice_row(id: &str, label: &str) -> ChoiceRow {
    ChoiceRow {
        id: id.into(),
        label: label.into(),
    }
}

pub fn task_row(id: &str, title: &str, detail: &str) -> TaskRow {
    TaskRow {
        id: id.into(),
        title: title.into(),
        detail: detail.into(),
    }
}

fn model<T: Clone + 'static>(rows: &[T]) -> ModelRc<T> {
    ModelRc::new(VecModel::from(rows.to_vec()))
}

fn text(s: &str) -> SharedString {
    SharedString::from(s)
}

/// Puts views on one window; remembers the last so unchanged sections cost nothing.
#[derive(Debug, Default)]
pub struct Presenter {
    shown: Option<View>,
}

impl Presenter {
    pub fn show(&mut self, window: &AppWindow, view: &View) {
        let old = self.shown.take();
        let differs = |f: &dyn Fn(&View) -> bool| old.as_ref().is_none_or(|o| !f(o));

        if differs(&|o| o.status == view.status) {
            let t = window.global::<Terminal>();
            let s = &view.status;
            t.set_operator(text(&s.operator));
            t.set_supervisor(s.supervisor);
            t.set_online(s.online);
            t.set_cache_age(text(&s.cache_age));
            t.set_cache_tone(s.cache_tone);
            t.set_queued(s.queued);
            t.set_last_sync(text(&s.last_sync));
            t.set_open_operation(text(&s.open_operation));
        }
        if differs(&|o| o.verdict == view.verdict) {
            let g = window.global::<Verdict>();
            let v = &view.verdict;
            g.set_tone(v.tone);
            g.set_headline(text(&v.headline));
            g.set_reason(text(&v.reason));
            g.set_code(text(&v.code));
            g.set_needs_confirm(v.needs_confirm);
            g.set_needs_ack(v.needs_ack);
            g.set_serial(v.serial);
        }
        if differs(&|o| o.sign_in == view.sign_in) {
            window
                .global::<SignIn>()
                .set_error(text(&view.sign_in.error));
        }
        if differs(&|o| o.acceptance == view.acceptance) {
            let g = window.global::<AcceptanceScreen>();
            let a = &view.acceptance;
            g.set_active(a.active);
            g.set_tasks(model(&a.tasks));
            g.set_title(text(&a.title));
            g.set_expected(a.expected);
            g.set_scanned(a.scanned);
            g.set_surplus(a.surplus);
            g.set_missing(a.missing);
            g.set_rows(model(&a.rows));
            g.set_reviewing(a.reviewing);
            g.set_summary(text(&a.summary));
        }
        if differs(&|o| o.aggregation == view.aggregation) {
            let g = window.global::<AggregationScreen>();
            let a = &view.aggregation;
            g.set_active(a.active);
            g.set_unpacking(a.unpacking);
            g.set_box_open(a.box_open);
            g.set_pallet(a.pallet);
            g.set_level(text(&a.level));
            g.set_sscc(text(&a.sscc));
            g.set_fill(a.fill);
            g.set_capacity(a.capacity);
            g.set_rows(model(&a.rows));
            g.set_closed(a.closed);
            g.set_last_closed(text(&a.last_closed));
            g.set_hint(text(&a.hint));
        }
        if differs(&|o| o.reaggregation == view.reaggregation) {
            let g = window.global::<ReaggregationScreen>();
            let r = &view.reaggregation;
            g.set_active(r.active);
            g.set_sscc(text(&r.sscc));
            g.set_mode(text(&r.mode));
            g.set_mode_label(text(&r.mode_label));
            g.set_count(r.count);
            g.set_fill(text(&r.fill));
            g.set_rows(model(&r.rows));
            g.set_hint(text(&r.hint));
        }
        if differs(&|o| o.write_off == view.write_off) {
            let g = window.global::<WriteOffScreen>();
            let w = &view.write_off;
            g.set_active(w.active);
            g.set_reasons(model(&w.reasons));
            g.set_reason(text(&w.reason));
            g.set_count(w.count);
            g.set_rows(model(&w.rows));
            g.set_needs_supervisor(w.needs_supervisor);
            g.set_confirmed(w.confirmed);
            g.set_error(text(&w.error));
            g.set_replacing(text(&w.replacing));
        }
        if differs(&|o| o.shipment == view.shipment) {
            let g = window.global::<ShipmentScreen>();
            let v = &view.shipment;
            g.set_active(v.active);
            g.set_orders(model(&v.orders));
            g.set_title(text(&v.title));
            g.set_has_order(v.has_order);
            g.set_ordered(v.ordered);
            g.set_shipped(v.shipped);
            g.set_short(v.short);
            g.set_over(v.over);
            g.set_rows(model(&v.rows));
            g.set_open_next(v.open_next);
            g.set_hint(text(&v.hint));
            g.set_error(text(&v.error));
        }
        if differs(&|o| o.customer_return == view.customer_return) {
            let g = window.global::<ReturnScreen>();
            let v = &view.customer_return;
            g.set_active(v.active);
            g.set_kinds(model(&v.kinds));
            g.set_title(text(&v.title));
            g.set_returned(v.returned);
            g.set_relabelled(v.relabelled);
            g.set_awaiting_new_label(v.awaiting_new_label);
            g.set_rows(model(&v.rows));
            g.set_hint(text(&v.hint));
            g.set_error(text(&v.error));
        }
        if differs(&|o| o.inventory == view.inventory) {
            let g = window.global::<InventoryScreen>();
            let v = &view.inventory;
            g.set_active(v.active);
            g.set_title(text(&v.title));
            g.set_expected(v.expected);
            g.set_found(v.found);
            g.set_missing(v.missing);
            g.set_foreign(v.foreign);
            g.set_wrong_status(v.wrong_status);
            g.set_rows(model(&v.rows));
            g.set_reviewing(v.reviewing);
            g.set_summary(text(&v.summary));
            g.set_settles(v.settles);
            g.set_needs_supervisor(v.needs_supervisor);
            g.set_confirmed(v.confirmed);
            g.set_open_next(v.open_next);
            g.set_hint(text(&v.hint));
            g.set_error(text(&v.error));
        }
        if differs(&|o| o.code_info == view.code_info) {
            let g = window.global::<CodeInfoScreen>();
            g.set_headline(text(&view.code_info.headline));
            g.set_tone(view.code_info.tone);
            g.set_rows(model(&view.code_info.rows));
        }
        if differs(&|o| o.sync == view.sync) {
            let g = window.global::<SyncScreen>();
            let s = &view.sync;
            g.set_running(s.running);
            g.set_enrolled(s.enrolled);
            g.set_push_progress(s.push_progress);
            g.set_pull_progress(s.pull_progress);
            g.set_phase(text(&s.phase));
            g.set_result(text(&s.result));
            g.set_result_tone(s.result_tone);
            g.set_rejected(model(&s.rejected));
            g.set_refused(model(&s.refused));
            g.set_status_list_age(text(&s.status_list_age));
        }
        if differs(&|o| o.settings == view.settings) {
            let g = window.global::<SettingsScreen>();
            let s = &view.settings;
            g.set_scanners(text(&s.scanners));
            g.set_hub(text(&s.hub));
            g.set_language(text(&s.language));
            g.set_sounds(s.sounds);
            g.set_vibration(s.vibration);
            g.set_message(text(&s.message));
        }
        // The screen last, so a new screen appears with its state already in place.
        if differs(&|o| o.screen == view.screen) {
            window.global::<Terminal>().set_screen(view.screen);
        }
        self.shown = Some(view.clone());
    }
}
