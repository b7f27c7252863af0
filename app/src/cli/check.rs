//! `tally check`: `tally parse` plus the offline verdict for an operation, from the local replica.

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::os::unix::ffi::OsStrExt;

use anyhow::{Context as _, anyhow};
use clap::Args;
use serde_json::{Value, json};
use tally_domain::code::{Ki, MarkingCode, ParseOptions, parse};
use tally_domain::gs1::Ai;
use tally_domain::reason::Reason;
use tally_domain::status::{CodeStatus, Inn, Timestamp};
use tally_domain::validate::{
    Context, Expectation, Facts, OperationKind, Policy, Verdict, validate,
};
use tally_domain::{Lang, ProductGroup};
use tally_sync::store::{Reader, Task};

use super::ScannerArgs;
use super::db::DbLocation;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Codes to check; without any, each line of standard input is one code.
    codes: Vec<OsString>,
    #[command(flatten)]
    verdict: VerdictArgs,
    #[command(flatten)]
    scanner: ScannerArgs,
    #[command(flatten)]
    db: DbLocation,
}

/// What a verdict is judged for.
#[derive(Debug, Args)]
pub struct VerdictArgs {
    /// The operation the scan is for: acceptance, aggregation, write-off or info.
    #[arg(long, default_value = "info", value_parser = parse_operation)]
    op: OperationKind,
    /// Our taxpayer id (ИНН): codes must be ours to aggregate or write off.
    #[arg(long, value_name = "INN", value_parser = parse_inn)]
    inn: Option<Inn>,
    /// Check against this acceptance task (expected codes and supplier) from the replica.
    #[arg(long, value_name = "ID")]
    task: Option<String>,
    /// The product group the document is for, such as `milk`.
    #[arg(long, value_name = "PG", value_parser = parse_group)]
    product_group: Option<ProductGroup>,
    /// Hours the status list may age before scans warn (default 72).
    #[arg(long, value_name = "HOURS")]
    max_cache_age: Option<i64>,
}

fn parse_operation(text: &str) -> Result<OperationKind, String> {
    OperationKind::from_code(text)
        .ok_or_else(|| format!("{text:?}: acceptance, aggregation, write-off or info"))
}

fn parse_inn(text: &str) -> Result<Inn, String> {
    Inn::parse(text)
        .ok_or_else(|| format!("{text:?} is not a valid INN (10 or 12 digits with check digits)"))
}

fn parse_group(text: &str) -> Result<ProductGroup, String> {
    ProductGroup::from_code(text).ok_or_else(|| format!("unknown product group {text:?}"))
}

/// Everything a check needs besides the code.
pub struct Checker<'a> {
    reader: &'a Reader,
    options: ParseOptions,
    context: Context,
    policy: Policy,
    task: Option<Task>,
    last_sync: Option<Timestamp>,
    now: Timestamp,
}

pub fn run(args: &CheckArgs, out: impl Write, now: Timestamp) -> anyhow::Result<()> {
    let path = args.db.path();
    let reader = Reader::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let checker = Checker::new(&reader, &args.verdict, args.scanner.options()?, now)?;
    if args.codes.is_empty() {
        checker.lines(std::io::stdin().lock(), out)
    } else {
        checker.args(&args.codes, out)
    }
}

impl<'a> Checker<'a> {
    pub fn new(
        reader: &'a Reader,
        args: &VerdictArgs,
        options: ParseOptions,
        now: Timestamp,
    ) -> anyhow::Result<Checker<'a>> {
        let task = match &args.task {
            None => None,
            Some(id) => Some(
                reader
                    .task(id)?
                    .ok_or_else(|| anyhow!("no task {id:?} in {}", reader.path().display()))?,
            ),
        };
        let mut policy = Policy::default();
        if let Some(hours) = args.max_cache_age {
            policy.max_cache_age_hours = hours;
        }
        // The status list is as fresh as the later of a hub sync and a file import.
        let last_sync = reader.last_sync()?.max(reader.statuses_refreshed_at()?);
        Ok(Checker {
            reader,
            options,
            context: Context {
                operation: args.op,
                own_inn: args.inn,
                supplier_inn: task.as_ref().map(|t| t.sender_inn),
                product_group: args
                    .product_group
                    .or(task.as_ref().and_then(|t| t.product_group)),
            },
            policy,
            task,
            last_sync,
            now,
        })
    }
}

impl Checker<'_> {
    fn args(&self, codes: &[OsString], mut out: impl Write) -> anyhow::Result<()> {
        for code in codes {
            let value = self.check(code.as_bytes())?;
            writeln!(out, "{value}")?;
        }
        Ok(out.flush()?)
    }

    fn lines(&self, input: impl BufRead, mut out: impl Write) -> anyhow::Result<()> {
        for (index, line) in input.split(b'\n').enumerate() {
            let mut value = self.check(&line?)?;
            if let Value::Object(map) = &mut value {
                map.insert("line".into(), json!(index + 1));
            }
            writeln!(out, "{value}")?;
        }
        Ok(out.flush()?)
    }

    fn expectation(&self, ki: &Ki) -> Expectation {
        match &self.task {
            None => Expectation::NoList,
            Some(task) => {
                let listed = task.loose_units.contains(ki)
                    || task.boxes.iter().any(|b| b.units.contains(ki));
                if listed {
                    Expectation::Expected
                } else {
                    Expectation::NotExpected
                }
            }
        }
    }

    fn check(&self, raw: &[u8]) -> anyhow::Result<Value> {
        self.check_at(raw, self.now)
    }

    /// The JSON description of one scan with the cached facts and the verdict at `now`.
    pub fn check_at(&self, raw: &[u8], now: Timestamp) -> anyhow::Result<Value> {
        let parsed = parse(raw, &self.options);
        let mut value = super::parse::report(raw, &parsed, &self.options);
        let Ok(code) = parsed else {
            return Ok(value);
        };
        let (status, verdict) = self.judge(&code, now)?;
        if let Value::Object(map) = &mut value {
            map.insert(
                "cached".into(),
                status.as_ref().map_or(Value::Null, status_json),
            );
            map.insert("verdict".into(), verdict_json(&verdict));
        }
        Ok(value)
    }

    fn judge(
        &self,
        code: &MarkingCode,
        now: Timestamp,
    ) -> anyhow::Result<(Option<CodeStatus>, Verdict)> {
        let ki = code.ki();
        let status = match &ki {
            Some(ki) => self.reader.status(ki)?,
            None => None,
        };
        let block = match code.gtin() {
            Some(gtin) => self
                .reader
                .block_hit(ki.as_ref(), gtin, code.element(Ai::BATCH))?,
            None => None,
        };
        let catalog_group = match code.gtin() {
            Some(gtin) => self
                .reader
                .catalog_item(gtin)?
                .and_then(|item| item.product_group),
            None => None,
        };
        let facts = Facts {
            status: status.as_ref(),
            block,
            catalog_group,
            last_sync: self.last_sync,
            duplicate_in_document: false,
            expectation: ki.map_or(Expectation::NoList, |ki| self.expectation(&ki)),
        };
        let verdict = validate(code, &facts, &self.context, &self.policy, now);
        Ok((status, verdict))
    }
}

fn status_json(s: &CodeStatus) -> Value {
    json!({
        "status": s.status.api_name(),
        "status_ex": s.status_ex.api_name(),
        "owner_inn": s.owner.map(|i| i.to_string()),
        "product_group": s.product_group.map(|p| p.code()),
        "package_type": s.package_type.api_name(),
        "parent": s.parent.map(|p| p.to_string()),
        "expiry": s.expiry.map(|d| d.to_string()),
        "max_retail_price_kopecks": s.max_retail_price,
        "blocked": s.blocked,
    })
}

fn verdict_json(v: &Verdict) -> Value {
    json!({
        "outcome": v.outcome.code(),
        "findings": v.findings.iter().map(|(f, severity)| json!({
            "code": f.code(),
            "severity": severity.code(),
            "en": f.message(Lang::En),
            "ru": f.message(Lang::Ru),
        })).collect::<Vec<_>>(),
    })
}
