//! `tally work`: one operation worked headless from a scanner, through the scan desk, until a
//! FINISH command barcode. The terminal without its screen: for scripted shifts, support and
//! the end-to-end tests.
//!
//! Everything a scan does goes through `desk::Desk`, so a kill at any point leaves the journal
//! as the screen would: run the same command again and the open operation is rebuilt from it.
//! The operator's taps arrive as command barcodes (a printed sheet next to the terminal):
//! `TALLY:FINISH`, `TALLY:UNDO`, `TALLY:CLOSE`, `TALLY:OPEN-BOX`, `TALLY:OPEN-PALLET`,
//! `TALLY:CONFIRM:<supervisor>`, for a shipment `TALLY:OPEN:<sscc>` (ship a box in part) and
//! `TALLY:REMOVE:<КИ>`, `TALLY:PRINT[:<sscc>]` for a box label again, and for re-aggregation `TALLY:ADDING`, `TALLY:REMOVING` and `TALLY:MOVING` (into the box, out of the boxes the units sit in)
//! (the box's label, then the choice, then its units). A warning is confirmed by scanning the
//! same code again, as on the handheld. A write-off under a code reason of a code in
//! circulation re-marks it: its line says `awaiting_replacement`, and the next scan is the new
//! label's code. A customer return takes the codes read off the returned goods; for an item
//! whose label cannot be read, `TALLY:DAMAGED` says so and the next scan is its new label's
//! code (the lines say `awaiting_new_label` until then). Every scan, command and device event
//! is printed as one JSON line. An inventory counts units and labels (`TALLY:OPEN:<sscc>` to
//! count a box unit by unit); its `finished` line is the count's report: found, missing,
//! foreign, wrong status, unknown.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use tally_domain::Lang;
use tally_domain::code::{Ki, MarkingCode};
use tally_domain::gs1::{Gs1Date, Sscc};
use tally_domain::label::{self, BoxLabel};
use tally_domain::operation::{
    Acceptance, Aggregate, Aggregation, Capacity, Child, CustomerReturn, Inventory,
    InventoryHeader, Level, Reaggregation, ReaggregationMode, ReturnCause, ReturnHeader,
    ReturnReceipt, Shipment, ShipmentHeader, WriteOff, WriteOffHeader, WriteOffReason,
};
use tally_domain::reason::Reason;
use tally_domain::status::Inn;
use tally_domain::validate::{Policy, Verdict};
use tally_drivers::printer::{self, PrinterAddress, PrinterTimeouts};
use tally_drivers::scan::ScanEvent;
use tally_sync::store::Store;

use super::ScannerArgs;
use super::db::{DbLocation, now};
use super::scan::{SourceArgs, SourceSpec};
use crate::desk::{Command, Desk, DeskSettings, ScanOutcome};
use crate::operation_log::OperationState;

/// What command barcodes start with; no marking code or SSCC can.
const COMMAND_PREFIX: &str = "TALLY:";

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum WorkKind {
    Acceptance,
    Aggregation,
    /// Units added to, or taken out of, a box that exists.
    Reaggregation,
    WriteOff,
    /// Goods picked and shipped to a receiver (`--receiver`), whole labels or units.
    Shipment,
    /// Sold goods a customer brought back (`--cause`, `--receipt`, `--document`).
    Return,
    /// Stock counted: the whole warehouse, or a zone (`--zone`) known by its boxes.
    Inventory,
}

impl WorkKind {
    fn name(self) -> &'static str {
        match self {
            WorkKind::Acceptance => "acceptance",
            WorkKind::Aggregation => "aggregation",
            WorkKind::Reaggregation => "reaggregation",
            WorkKind::WriteOff => "write-off",
            WorkKind::Shipment => "shipment",
            WorkKind::Return => "return",
            WorkKind::Inventory => "inventory",
        }
    }
}

#[derive(Debug, Args)]
pub struct WorkArgs {
    /// The operation to work; an open one of this kind is resumed from its journal.
    kind: WorkKind,
    #[command(flatten)]
    input: SourceArgs,
    /// Who works the operation (kept in the journal and the queue row).
    #[arg(long, default_value = "operator")]
    operator: String,
    /// Our taxpayer id (ИНН): codes must be ours to aggregate or write off.
    #[arg(long, value_name = "INN", value_parser = parse_inn)]
    inn: Option<Inn>,
    /// Acceptance: the task (from the replica) the delivery is checked against.
    #[arg(long, value_name = "ID")]
    task: Option<String>,
    /// Shipment: the order to pick (from the replica, `tally orders`); its receiver and
    /// number are the shipment's unless `--receiver` and `--document` say otherwise.
    #[arg(long, value_name = "ID")]
    order: Option<String>,
    /// Aggregation and re-aggregation: units per box.
    #[arg(long, value_name = "N", default_value_t = Capacity::default().box_units)]
    box_units: u32,
    /// Aggregation: boxes per pallet.
    #[arg(long, value_name = "N", default_value_t = Capacity::default().pallet_boxes)]
    pallet_boxes: u32,
    /// Aggregation: the GS1 company prefix of labels this terminal generates.
    #[arg(long, value_name = "DIGITS")]
    company_prefix: Option<String>,
    /// Write-off: the reason (damage_loss, destruction, expiry, code_spoiled, ...).
    #[arg(long, value_name = "REASON", default_value = "damage_loss")]
    reason: String,
    /// Write-off: the number of the act; shipment: of the outgoing document (UPD); return:
    /// of the return's receipt or document.
    #[arg(long, value_name = "NUMBER", default_value = "")]
    document: String,
    /// Shipment: whom the goods go to (the customer, or the supplier for a return).
    #[arg(long, value_name = "INN", value_parser = parse_inn)]
    receiver: Option<Inn>,
    /// Write-off, shipment and return: the document's date, YYYY-MM-DD (default: today).
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Write-off: a supervisor must confirm (`TALLY:CONFIRM:<name>`) before it finishes.
    #[arg(long)]
    supervisor_required: bool,
    /// Aggregation: the label printer for the boxes and pallets this terminal labels (those
    /// with its `--company-prefix`): `tcp:HOST[:PORT]` or `device:PATH`. A label is printed
    /// as its box closes; `TALLY:PRINT` prints the last one again, `TALLY:PRINT:<sscc>` any
    /// closed in this operation.
    #[arg(long, value_name = "ADDRESS")]
    printer: Option<PrinterAddress>,
    /// Aggregation: who packed the boxes, as the labels say.
    #[arg(long, value_name = "NAME", default_value = "")]
    packer: String,
    /// Return: how the goods were sold, `retail` or `remote_sale`.
    #[arg(long, value_name = "CAUSE", default_value = "retail")]
    cause: String,
    /// Return: the document it is made under, `receipt` (a till's return receipt),
    /// `sales_receipt` or `other` (then named by `--receipt-name`).
    #[arg(long, value_name = "KIND", default_value = "receipt")]
    receipt: String,
    /// Return: the name of the document when `--receipt other`.
    #[arg(long, value_name = "NAME")]
    receipt_name: Option<String>,
    /// Return: a remote sale refused unpaid at the door.
    #[arg(long)]
    unpaid: bool,
    /// Inventory: the zone counted (its boxes say what should be there); without it the
    /// whole warehouse is counted against every code the replica holds as ours in stock.
    #[arg(long, value_name = "NAME")]
    zone: Option<String>,
    /// Inventory: write off what is missing for this reason (damage_loss, ...) when the count
    /// finishes; with `--supervisor-required`, `TALLY:CONFIRM:<name>` comes last.
    #[arg(long, value_name = "REASON")]
    settle: Option<String>,
    #[command(flatten)]
    scanner: ScannerArgs,
    #[command(flatten)]
    location: DbLocation,
}

fn parse_inn(text: &str) -> Result<Inn, String> {
    Inn::parse(text)
        .ok_or_else(|| format!("{text:?} is not a valid INN (10 or 12 digits with check digits)"))
}

pub(crate) fn parse_date(text: &str) -> anyhow::Result<Gs1Date> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let yymmdd = digits
        .get(2..)
        .filter(|d| d.len() == 6 && text.len() == 10)
        .ok_or_else(|| anyhow!("{text:?}: expected YYYY-MM-DD"))?;
    Gs1Date::from_yymmdd(yymmdd.as_bytes()).ok_or_else(|| anyhow!("no such date: {text:?}"))
}

/// The operation as it starts, from the arguments.
fn new_operation(args: &WorkArgs, store: &Store) -> anyhow::Result<OperationState> {
    Ok(match args.kind {
        WorkKind::Acceptance => {
            let task = match &args.task {
                None => None,
                Some(id) => Some(
                    store
                        .task(id)?
                        .ok_or_else(|| anyhow!("no task {id:?} in the replica: sync first"))?
                        .acceptance_task(),
                ),
            };
            OperationState::Acceptance(Acceptance::new(task))
        }
        WorkKind::Aggregation => OperationState::Aggregation(Aggregation::new(capacity(args))),
        WorkKind::Reaggregation => {
            OperationState::Reaggregation(Reaggregation::new(args.box_units))
        }
        WorkKind::WriteOff => {
            let reason = WriteOffReason::from_code(&args.reason)
                .ok_or_else(|| anyhow!("unknown write-off reason {:?}", args.reason))?;
            let document_date = match &args.date {
                Some(text) => parse_date(text)?,
                None => now().date(),
            };
            OperationState::WriteOff(WriteOff::new(WriteOffHeader {
                reason,
                document_number: args.document.clone(),
                document_date,
                needs_supervisor: args.supervisor_required,
            }))
        }
        WorkKind::Shipment => {
            let order = match &args.order {
                None => None,
                Some(id) => Some(
                    store
                        .order(id)?
                        .ok_or_else(|| anyhow!("no order {id:?} in the replica: sync first"))?
                        .shipment_order(),
                ),
            };
            let receiver = args
                .receiver
                .or(order.as_ref().and_then(|o| o.receiver))
                .ok_or_else(|| match &order {
                    Some(o) => anyhow!(
                        "the order {:?} names no receiver: a shipment needs --receiver INN",
                        o.id
                    ),
                    None => anyhow!("a shipment needs --receiver INN"),
                })?;
            let document_number = match (args.document.trim(), &order) {
                ("", Some(o)) => o.number.clone(),
                ("", None) => {
                    bail!("a shipment needs --document NUMBER (the outgoing document's number)")
                }
                (_, _) => args.document.clone(),
            };
            OperationState::Shipment(Shipment::new(
                ShipmentHeader {
                    receiver,
                    document_number,
                    document_date: match &args.date {
                        Some(text) => parse_date(text)?,
                        None => now().moscow_date(),
                    },
                },
                order,
            ))
        }
        WorkKind::Return => {
            let cause = ReturnCause::from_code(&args.cause).ok_or_else(|| {
                anyhow!(
                    "unknown return cause {:?}: retail or remote_sale",
                    args.cause
                )
            })?;
            let receipt = ReturnReceipt::from_code(&args.receipt).ok_or_else(|| {
                anyhow!(
                    "unknown return document {:?}: receipt, sales_receipt or other",
                    args.receipt
                )
            })?;
            if args.document.trim().is_empty() {
                bail!("a return needs --document NUMBER (the return receipt's number)");
            }
            let receipt_name = args
                .receipt_name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
            // What GIS MT refuses is refused here, before a scan: it would only come back
            // from the hub after the whole return was scanned.
            if receipt == ReturnReceipt::Other && receipt_name.is_none() {
                bail!("--receipt other needs --receipt-name NAME (the document's name)");
            }
            if args.unpaid && cause == ReturnCause::Retail {
                bail!("--unpaid is for a remote sale: a retail sale was paid at the till");
            }
            OperationState::Return(CustomerReturn::new(ReturnHeader {
                cause,
                receipt,
                receipt_name,
                document_number: args.document.clone(),
                document_date: match &args.date {
                    Some(text) => parse_date(text)?,
                    None => now().moscow_date(),
                },
                paid: !args.unpaid,
            }))
        }
        WorkKind::Inventory => {
            if args.document.trim().is_empty() {
                bail!("an inventory needs --document NUMBER (the count's act)");
            }
            let settle = match &args.settle {
                None => None,
                Some(code) => Some(
                    WriteOffReason::from_code(code)
                        .filter(|r| !r.is_code_reason())
                        .ok_or_else(|| {
                            anyhow!(
                                "--settle {code:?}: a goods reason (damage_loss, destruction, ...)"
                            )
                        })?,
                ),
            };
            let zone = args
                .zone
                .as_deref()
                .map(str::trim)
                .filter(|z| !z.is_empty())
                .map(str::to_owned);
            let expected = match (&zone, args.inn) {
                (Some(_), _) => Vec::new(),
                (None, Some(inn)) => {
                    let synced = store.last_sync()?.max(store.statuses_refreshed_at()?);
                    store.stock_of(&inn, synced)?
                }
                (None, None) => bail!(
                    "a count of the whole warehouse needs --inn INN: its stock is what the replica holds as ours"
                ),
            };
            OperationState::Inventory(Inventory::new(
                InventoryHeader {
                    zone,
                    document_number: args.document.clone(),
                    document_date: match &args.date {
                        Some(text) => parse_date(text)?,
                        None => now().moscow_date(),
                    },
                    settle,
                    needs_supervisor: args.supervisor_required,
                },
                expected,
            ))
        }
    })
}

fn capacity(args: &WorkArgs) -> Capacity {
    Capacity {
        box_units: args.box_units,
        pallet_boxes: args.pallet_boxes,
    }
}

fn reason_json(reason: &dyn Reason) -> Value {
    json!({"code": reason.code(), "en": reason.message(Lang::En), "ru": reason.message(Lang::Ru)})
}

fn verdict_json(verdict: &Verdict) -> Value {
    json!(
        verdict
            .findings
            .iter()
            .map(|(finding, severity)| {
                let mut value = reason_json(finding);
                if let Value::Object(map) = &mut value {
                    map.insert("severity".into(), json!(severity.code()));
                }
                value
            })
            .collect::<Vec<_>>()
    )
}

fn code_text(code: &MarkingCode) -> String {
    match (code.ki(), code.sscc()) {
        (Some(ki), _) => ki.to_string(),
        (None, Some(sscc)) => sscc.to_string(),
        (None, None) => code.canonical().to_owned(),
    }
}

fn outcome_json(outcome: &ScanOutcome) -> Value {
    match outcome {
        ScanOutcome::Unreadable(rejection) => {
            json!({"event": "scan", "outcome": "unreadable", "reason": reason_json(rejection)})
        }
        ScanOutcome::Refused { code, verdict } => json!({"event": "scan", "outcome": "refused",
            "code": code_text(code), "findings": verdict_json(verdict)}),
        ScanOutcome::NeedsConfirmation { code, verdict } => json!({"event": "scan",
            "outcome": "confirm", "code": code_text(code), "findings": verdict_json(verdict)}),
        ScanOutcome::NotTaken {
            code,
            verdict,
            refusal,
        } => json!({"event": "scan", "outcome": "not_taken", "code": code_text(code),
            "reason": reason_json(refusal), "findings": verdict_json(verdict)}),
        ScanOutcome::Recorded {
            code,
            verdict,
            scan,
        } => json!({"event": "scan", "outcome": "recorded", "code": code_text(code),
            "scan": scan.0, "findings": verdict_json(verdict)}),
    }
}

/// The aggregate open on the desk, for printing the label a generated box or pallet got (or
/// the box a re-aggregation changes).
fn open_label(desk: &Desk) -> Option<Sscc> {
    match desk.operation() {
        Some(OperationState::Aggregation(g)) => g.open_aggregate().map(|a| a.sscc),
        Some(OperationState::Reaggregation(r)) => r.sscc(),
        _ => None,
    }
}

/// The re-marked code whose new code the next scan must be.
fn awaiting_replacement(desk: &Desk) -> Option<String> {
    match desk.operation() {
        Some(OperationState::WriteOff(w)) => w.awaiting_replacement().map(|ki| ki.to_string()),
        _ => None,
    }
}

/// Says on a line that the next scan must be a new label's code (customer return).
fn mark_awaiting_new_label(desk: &Desk, line: &mut Value) {
    if let (Some(OperationState::Return(r)), Value::Object(map)) = (desk.operation(), line)
        && r.awaiting_new_label()
    {
        map.insert("awaiting_new_label".into(), json!(true));
    }
}

/// What a command barcode asks for; `None` for FINISH and UNDO, handled by the loop.
fn command_of(text: &str) -> anyhow::Result<Option<Command>> {
    Ok(match text {
        "FINISH" | "UNDO" => None,
        "CLOSE" => Some(Command::Close),
        "OPEN-BOX" => Some(Command::OpenGenerated(Level::Box)),
        "OPEN-PALLET" => Some(Command::OpenGenerated(Level::Pallet)),
        "ADDING" => Some(Command::Mode(ReaggregationMode::Adding)),
        "REMOVING" => Some(Command::Mode(ReaggregationMode::Removing)),
        "MOVING" => Some(Command::Mode(ReaggregationMode::Moving)),
        "DAMAGED" => Some(Command::Damaged),
        other => {
            if let Some(supervisor) = other.strip_prefix("CONFIRM:")
                && !supervisor.is_empty()
            {
                Some(Command::Confirm {
                    supervisor: supervisor.to_owned(),
                })
            } else if let Some(label) = other.strip_prefix("OPEN:") {
                // Shipment: break a box or pallet up, to ship part of it.
                let digits = label.strip_prefix("00").unwrap_or(label);
                let sscc = Sscc::from_digits(digits.as_bytes())
                    .ok_or_else(|| anyhow!("{COMMAND_PREFIX}OPEN: needs an SSCC, not {label:?}"))?;
                Some(Command::Open {
                    sscc,
                    level: Level::Box,
                })
            } else if let Some(code) = other.strip_prefix("REMOVE:") {
                let ki = Ki::from_cis(code)
                    .ok_or_else(|| anyhow!("{COMMAND_PREFIX}REMOVE: needs a КИ, not {code:?}"))?;
                Some(Command::Remove(Child::Unit(ki)))
            } else {
                bail!("unknown command barcode {COMMAND_PREFIX}{other}")
            }
        }
    })
}

/// Whether the operation finished.
enum Step {
    Continue,
    Finished,
}

fn write_line(out: &mut impl Write, value: &Value) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// The labels this terminal prints: where, and what they say of the packer.
struct Labels {
    printer: Option<PrinterAddress>,
    packer: String,
    company_prefix: Option<String>,
}

impl Labels {
    /// Ours when it carries this terminal's company prefix (after the extension digit): a
    /// pre-printed label scanned into a box already is on the box.
    fn is_ours(&self, sscc: Sscc) -> bool {
        self.company_prefix.as_deref().is_some_and(|prefix| {
            sscc.to_string()
                .get(1..)
                .is_some_and(|d| d.starts_with(prefix))
        })
    }
}

/// A closed aggregate of the open operation: the last, or the one with this SSCC.
fn closed_aggregate(desk: &Desk, sscc: Option<Sscc>) -> Option<Aggregate> {
    let Some(OperationState::Aggregation(g)) = desk.operation() else {
        return None;
    };
    match sscc {
        None => g.closed().last().cloned(),
        Some(sscc) => g.closed().iter().rev().find(|a| a.sscc == sscc).cloned(),
    }
}

/// Prints the label of `aggregate` and says how it went; a printer that fails costs a line,
/// never the box, which is in the journal already.
fn print_label(
    desk: &Desk,
    labels: &Labels,
    aggregate: &Aggregate,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let Some(printer) = &labels.printer else {
        return Ok(());
    };
    let reader = desk.store().reader().ok();
    let name_of = |gtin| {
        reader
            .as_ref()
            .and_then(|r| r.catalog_item(gtin).ok().flatten())
            .map(|item| item.name)
    };
    let label = BoxLabel::of(aggregate, &labels.packer, now().moscow_date(), name_of);
    let zpl = label::zpl(&label::layout(&label));
    let value = match printer::print(printer, zpl.as_bytes(), PrinterTimeouts::default()) {
        Ok(()) => json!({"event": "label", "sscc": aggregate.sscc.to_string(),
                         "printer": printer.to_string(), "printed": true}),
        Err(error) => json!({"event": "label", "sscc": aggregate.sscc.to_string(),
                             "printer": printer.to_string(), "printed": false,
                             "reason": reason_json(&error)}),
    };
    write_line(out, &value)
}

/// `PRINT` or `PRINT:<sscc>`: a label printed again.
fn reprint(desk: &Desk, labels: &Labels, text: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let sscc = match text.strip_prefix("PRINT:") {
        Some(digits) => {
            let digits = digits.strip_prefix("00").unwrap_or(digits);
            match Sscc::from_digits(digits.as_bytes()) {
                Some(sscc) => Some(sscc),
                None => {
                    let error = format!("{COMMAND_PREFIX}PRINT: needs an SSCC, not {digits:?}");
                    return write_line(
                        out,
                        &json!({"event": "command", "command": text, "error": error}),
                    );
                }
            }
        }
        None => None,
    };
    let error = if labels.printer.is_none() {
        Some("no label printer is configured (--printer)")
    } else if let Some(aggregate) = closed_aggregate(desk, sscc) {
        return print_label(desk, labels, &aggregate, out);
    } else {
        Some("no such box or pallet was closed in this operation")
    };
    write_line(
        out,
        &json!({"event": "command", "command": text, "error": error}),
    )
}

/// One command barcode on the desk.
fn run_command(
    desk: &mut Desk,
    labels: &Labels,
    text: &str,
    out: &mut impl Write,
) -> anyhow::Result<Step> {
    let at = now();
    if text == "PRINT" || text.starts_with("PRINT:") {
        reprint(desk, labels, text, out)?;
        return Ok(Step::Continue);
    }
    let answer = match text {
        "FINISH" => match desk.finish(at)? {
            Ok(queued) => {
                let payload = serde_json::from_str::<Value>(&queued.payload)
                    .unwrap_or_else(|_| Value::String(queued.payload.clone()));
                write_line(
                    out,
                    &json!({"event": "finished", "kind": queued.kind, "seq": queued.seq.0,
                            "uuid": queued.uuid, "payload": payload}),
                )?;
                return Ok(Step::Finished);
            }
            Err(refusal) => Err(refusal),
        },
        "UNDO" => desk.undo()?,
        _ => match command_of(text) {
            Ok(Some(command)) => desk.command(command, at)?.map(drop),
            Ok(None) => Ok(()),
            Err(error) => {
                write_line(
                    out,
                    &json!({"event": "command", "command": text, "error": error.to_string()}),
                )?;
                return Ok(Step::Continue);
            }
        },
    };
    let closed = answer.is_ok() && text == "CLOSE";
    let mut value = match answer {
        Ok(()) => json!({"event": "command", "command": text, "done": true,
                         "open": open_label(desk).map(|s| s.to_string())}),
        Err(refusal) => json!({"event": "command", "command": text, "done": false,
                               "reason": reason_json(&refusal)}),
    };
    mark_awaiting_new_label(desk, &mut value);
    write_line(out, &value)?;
    if closed
        && let Some(aggregate) = closed_aggregate(desk, None)
        && labels.is_ours(aggregate.sscc)
    {
        print_label(desk, labels, &aggregate, out)?;
    }
    Ok(Step::Continue)
}

pub fn run(args: &WorkArgs, mut out: impl Write) -> anyhow::Result<()> {
    let db = args.location.path();
    let store = Store::open(&db).with_context(|| format!("opening {}", db.display()))?;
    // Desk::open rebuilds the last open operation; its journal length is what resuming shows.
    let open_entries = store.open_operations()?.last().map(|op| op.entries.len());
    let settings = DeskSettings {
        operator: args.operator.clone(),
        own_inn: args.inn,
        parse: args.scanner.options()?,
        policy: Policy::default(),
        capacity: capacity(args),
        company_prefix: args.company_prefix.clone(),
    };
    let mut desk = Desk::open(store, settings)?;
    match (
        desk.operation().map(OperationState::kind_name),
        open_entries,
    ) {
        (Some(kind), Some(entries)) if kind == args.kind.name() => {
            write_line(
                &mut out,
                &json!({"event": "resumed", "kind": kind, "entries": entries}),
            )?;
        }
        (Some(kind), _) => {
            bail!("{kind} is still open: finish it first (tally work {kind})")
        }
        (None, _) => {
            // Built only for a new operation: a resumed one has its task and header in the
            // journal, even if the replica has dropped the task since.
            let state = new_operation(args, desk.store())?;
            desk.begin(state, now())?;
            write_line(
                &mut out,
                &json!({"event": "began", "kind": args.kind.name()}),
            )?;
        }
    }

    let labels = Labels {
        printer: args.printer.clone(),
        packer: args.packer.clone(),
        company_prefix: args.company_prefix.clone(),
    };
    let (tx, rx) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let worker = args.input.start(false, tx, &stop)?;
    // The payload of the last scan that asked for confirmation: the same scan again confirms.
    let mut awaiting: Option<Vec<u8>> = None;
    let mut finished = false;
    while let Ok(event) = rx.recv() {
        let value = match event {
            ScanEvent::Scan { payload, .. } => {
                if let Some(command) = std::str::from_utf8(&payload)
                    .ok()
                    .and_then(|t| t.trim().strip_prefix(COMMAND_PREFIX))
                {
                    awaiting = None;
                    if let Step::Finished = run_command(&mut desk, &labels, command, &mut out)? {
                        finished = true;
                        break;
                    }
                    continue;
                }
                let confirmed = awaiting.as_deref() == Some(payload.as_slice());
                let outcome = desk.scan(&payload, confirmed, now())?;
                awaiting = match outcome {
                    ScanOutcome::NeedsConfirmation { .. } => Some(payload),
                    _ => None,
                };
                let mut value = outcome_json(&outcome);
                if let (Some(old), Value::Object(map)) = (awaiting_replacement(&desk), &mut value) {
                    map.insert("awaiting_replacement".into(), json!(old));
                }
                mark_awaiting_new_label(&desk, &mut value);
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
            ScanEvent::Keys { .. } => continue,
        };
        write_line(&mut out, &value)?;
    }
    if !finished {
        // The input ended first: the operation stays open in the journal for the next run.
        write_line(
            &mut out,
            &json!({"event": "end", "open": desk.operation().map(OperationState::kind_name)}),
        )?;
    }
    stop.store(true, Ordering::Relaxed);
    if !matches!(args.input.source, SourceSpec::Stdin) {
        let _ = worker.join();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_barcodes() {
        let cases: &[(&str, Result<Option<&str>, ()>)] = &[
            ("FINISH", Ok(None)),
            ("UNDO", Ok(None)),
            ("CLOSE", Ok(Some("Close"))),
            ("OPEN-BOX", Ok(Some("OpenGenerated(Box)"))),
            ("OPEN-PALLET", Ok(Some("OpenGenerated(Pallet)"))),
            ("ADDING", Ok(Some("Mode(Adding)"))),
            ("REMOVING", Ok(Some("Mode(Removing)"))),
            ("MOVING", Ok(Some("Mode(Moving)"))),
            ("adding", Err(())),
            (
                "CONFIRM:petrov",
                Ok(Some("Confirm { supervisor: \"petrov\" }")),
            ),
            ("CONFIRM:", Err(())),
            ("OPEN-CRATE", Err(())),
            ("finish", Err(())),
        ];
        for (text, want) in cases {
            let got = command_of(text)
                .map(|c| c.map(|c| format!("{c:?}")))
                .map_err(drop);
            assert_eq!(got, (*want).map(|c| c.map(str::to_owned)), "{text}");
        }
    }

    #[test]
    fn act_dates() {
        let date = parse_date("2026-11-22").unwrap();
        assert_eq!(date.to_string(), "2026-11-22");
        for bad in ["2026-02-30", "22.11.2026", "2026-1-2", "", "20261122"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}
