//! `tally --demo`: a working terminal in one command. A built-in dataset (a supplier's delivery
//! with a task, our own stock, a written-off and a blocked code), a hub running inside the
//! process on loopback, the terminal enrolled with it, and a list of the demo's codes to type
//! or script.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, anyhow};
use tally_domain::gs1::check_digit;
use tally_domain::status::Inn;
use tally_drivers::scan::{ScanEvent, Source};
use tally_sync::engine::{ClientConfig, HubLink, enroll};
use tally_wire::Feed;

use super::Options;
use super::config::{Config, Operator, Pin};
use crate::cli::now;

pub const SUPPLIER_INN: &str = "7736207543";
pub const OUR_INN: &str = "7707083893";
pub const COMPANY_PREFIX: &str = "4607001";

/// The demo's products: (GTIN body without check digit, name, product group id).
const PRODUCTS: [(&str, &str, u8); 3] = [
    ("0460084074937", "Кроссовки мужские, размер 42", 2),
    ("0460700100011", "Футболка хлопковая, размер L", 1),
    ("0460700100028", "Молоко 3,2% 1 л", 8),
];

pub fn gtin(index: usize) -> String {
    let body = PRODUCTS[index % PRODUCTS.len()].0;
    format!("{body}{}", check_digit(body.as_bytes()))
}

/// A unit's КИ (`01` GTIN `21` serial) and its full code with GS and a crypto tail.
pub fn unit(product: usize, serial: &str) -> (String, String) {
    let gtin = gtin(product);
    (
        format!("01{gtin}21{serial}"),
        format!("01{gtin}21{serial}\u{1d}93Ab1+"),
    )
}

/// An SSCC under the demo's company prefix.
pub fn sscc(serial: u64) -> String {
    let body = format!("0{COMPANY_PREFIX}{serial:09}");
    format!("{body}{}", check_digit(body.as_bytes()))
}

/// The demo's data as the hub imports it, and the codes an operator scans.
#[derive(Debug, Default)]
pub struct Dataset {
    pub statuses: String,
    pub catalog: String,
    pub tasks: String,
    pub blocks: String,
    /// (what it is, the code as typed, `<GS>` for the separator).
    pub codes: Vec<(String, String)>,
}

fn status_line(ki: &str, status: &str, owner: &str, group: u8, parent: Option<&str>) -> String {
    let parent = parent.map_or(String::new(), |p| format!(",\"parent\":\"{p}\""));
    format!(
        "{{\"cis\":\"{ki}\",\"status\":\"{status}\",\"ownerInn\":\"{owner}\",\"productGroupId\":{group}{parent}}}\n"
    )
}

fn serial(prefix: char, n: usize) -> String {
    format!("{prefix}DEMO{n:08}")
}

/// The demo: a delivery (task `DEMO-1`: two boxes of 6 and 6 loose units, of which 2 will be
/// missing), 2 surplus units the supplier sent without the task, 24 units of our own stock to
/// pack and write off, a delivery by quantity (task `DEMO-2`, as 1C sends one), a written-off
/// code and a blocked one.
pub fn dataset() -> Dataset {
    let mut data = Dataset::default();
    for (i, (_, name, group)) in PRODUCTS.iter().enumerate() {
        data.catalog.push_str(&format!(
            "{{\"gtin\":\"{}\",\"name\":\"{name}\",\"productGroupId\":{group}}}\n",
            gtin(i)
        ));
    }
    let mut task_boxes = Vec::new();
    let mut loose = Vec::new();
    let mut n = 0;
    for b in 0..2u64 {
        let label = sscc(900 + b);
        let mut units = Vec::new();
        for _ in 0..6 {
            n += 1;
            let (ki, _) = unit(0, &serial('S', n));
            data.statuses.push_str(&status_line(
                &ki,
                "INTRODUCED",
                SUPPLIER_INN,
                2,
                Some(&label),
            ));
            units.push(format!("\"{ki}\""));
        }
        task_boxes.push(format!(
            "{{\"sscc\":\"{label}\",\"units\":[{}]}}",
            units.join(",")
        ));
        data.codes
            .push((format!("delivery box {}", b + 1), format!("00{label}")));
    }
    for i in 0..6 {
        n += 1;
        let (ki, code) = unit(1, &serial('S', n));
        data.statuses
            .push_str(&status_line(&ki, "INTRODUCED", SUPPLIER_INN, 1, None));
        loose.push(format!("\"{ki}\""));
        // The last two stay unscanned: the task's missing units.
        if i < 4 {
            data.codes
                .push(("delivery unit".into(), code.replace('\u{1d}', "<GS>")));
        }
    }
    for _ in 0..2 {
        n += 1;
        let (ki, code) = unit(1, &serial('S', n));
        data.statuses
            .push_str(&status_line(&ki, "INTRODUCED", SUPPLIER_INN, 1, None));
        data.codes.push((
            "surplus unit (not in the task)".into(),
            code.replace('\u{1d}', "<GS>"),
        ));
    }
    data.tasks = format!(
        "{{\"id\":\"DEMO-1\",\"number\":\"УПД 117\",\"senderInn\":\"{SUPPLIER_INN}\",\"date\":\"2026-11-20\",\"units\":[{}],\"boxes\":[{}]}}\n",
        loose.join(","),
        task_boxes.join(",")
    );
    // A delivery 1C knows by count only (task `DEMO-2`): three units of milk; four came.
    for i in 0..4 {
        let (ki, code) = unit(2, &serial('Q', i));
        data.statuses
            .push_str(&status_line(&ki, "INTRODUCED", SUPPLIER_INN, 8, None));
        data.codes.push((
            "delivery by quantity".into(),
            code.replace('\u{1d}', "<GS>"),
        ));
    }
    data.tasks.push_str(&format!(
        "{{\"id\":\"DEMO-2\",\"number\":\"Поступление 55\",\"senderInn\":\"{SUPPLIER_INN}\",\"date\":\"2026-11-21\",\"lines\":[{{\"gtin\":\"{}\",\"quantity\":3}}]}}\n",
        gtin(2)
    ));
    for i in 0..24 {
        let (ki, code) = unit(2, &serial('W', i));
        data.statuses
            .push_str(&status_line(&ki, "INTRODUCED", OUR_INN, 8, None));
        data.codes
            .push(("our stock".into(), code.replace('\u{1d}', "<GS>")));
    }
    let (retired, code) = unit(2, &serial('R', 1));
    data.statuses
        .push_str(&status_line(&retired, "RETIRED", OUR_INN, 8, None));
    data.codes.push((
        "already written off (rejected)".into(),
        code.replace('\u{1d}', "<GS>"),
    ));
    let (blocked, code) = unit(2, &serial('B', 1));
    data.statuses
        .push_str(&status_line(&blocked, "INTRODUCED", OUR_INN, 8, None));
    data.blocks = format!("{{\"kind\":\"code\",\"cis\":\"{blocked}\"}}\n");
    data.codes.push((
        "blocked by the state system (rejected)".into(),
        code.replace('\u{1d}', "<GS>"),
    ));
    data.codes
        .push(("operator badge (sign-in)".into(), "TALLY-BADGE:anna".into()));
    data
}

/// The demo's staff: (id, name, PIN, supervisor).
const STAFF: [(&str, &str, &str, bool); 2] = [
    ("anna", "Анна Петрова", "1111", false),
    ("ivan", "Иван Смирнов", "9999", true),
];

/// The demo's staff as a config file lists them (the tests' terminals).
pub fn operators() -> Vec<Operator> {
    STAFF
        .iter()
        .map(|(id, name, pin, supervisor)| Operator {
            id: (*id).into(),
            name: (*name).into(),
            pin: Pin::Plain((*pin).into()),
            badge: Some(format!("TALLY-BADGE:{id}")),
            supervisor: *supervisor,
        })
        .collect()
}

/// The demo's staff as the hub imports them (`tally-hub import operators`).
pub fn operator_lines() -> String {
    STAFF
        .iter()
        .map(|(id, name, pin, supervisor)| {
            format!(
                "{{\"id\":\"{id}\",\"name\":\"{name}\",\"pin\":\"{pin}\",\"badge\":\"TALLY-BADGE:{id}\",\"supervisor\":{supervisor}}}\n"
            )
        })
        .collect()
}

/// The running demo hub; it serves until the process ends.
#[derive(Debug)]
pub struct Demo {
    pub hub_url: String,
    pub codes_file: PathBuf,
    pub script: Option<Receiver<ScanEvent>>,
}

/// Sets the demo up: a fresh data directory (`TALLY_DATA_DIR`, or `tally-demo` in the temporary
/// directory), the hub with the dataset, the terminal enrolled, demo operators and settings.
pub fn start(config: &mut Config, options: &Options) -> anyhow::Result<Demo> {
    let dir = std::env::var_os("TALLY_DATA_DIR")
        .map_or_else(|| std::env::temp_dir().join("tally-demo"), PathBuf::from);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    config.data_dir = dir.clone();
    config.own_inn = Inn::parse(OUR_INN);
    config.company_prefix = Some(COMPANY_PREFIX.into());
    config.capacity.box_units = 6;
    config.capacity.pallet_boxes = 4;
    // The operators come from the hub, as on a real terminal: they arrive with the first sync.
    config.operators.clear();

    let data = dataset();
    let hub = tally_hub::store::Store::open(dir.join("demo-hub.db"))?;
    for (feed, lines) in [
        (Feed::Statuses, &data.statuses),
        (Feed::Catalog, &data.catalog),
        (Feed::Tasks, &data.tasks),
        (Feed::Blocks, &data.blocks),
        (Feed::Operators, &operator_lines()),
    ] {
        let report = tally_hub::import::import(&hub, feed, lines.as_bytes())
            .map_err(|e| anyhow!("demo {}: {e}", feed.name()))?;
        if !report.rejected.is_empty() {
            return Err(anyhow!("demo {}: {:?}", feed.name(), report.rejected));
        }
    }
    let inn = Inn::parse(OUR_INN).ok_or_else(|| anyhow!("demo INN"))?;
    let code = hub.create_enrollment_code("DEMO", &inn, now())?;
    let server = tally_hub::server::Hub::bind(hub, "127.0.0.1:0")?;
    let addr = server
        .local_addr()
        .ok_or_else(|| anyhow!("the demo hub has no address"))?;
    let hub_url = format!("http://{addr}");
    std::thread::Builder::new()
        .name("tally-demo-hub".into())
        .spawn(move || server.run())?;
    let link = enroll(
        ClientConfig::new(&hub_url, None),
        &code,
        "demo terminal",
        env!("CARGO_PKG_VERSION"),
    )?;
    if let Some(range) = link.sscc_serials {
        tally_sync::store::Store::open(config.db_path())?
            .adopt_sscc_serials(range.first, range.last)?;
    }
    link.save(&HubLink::path_for(&config.db_path()))?;

    let codes_file = dir.join("demo-codes.txt");
    let mut text = String::from(
        "# Tally demo codes: type one into the window and press Enter (<GS> stands for the\n\
         # separator), or play them all with `tally --demo --script FILE`.\n\
         # Operators: PIN 1111 (Анна), supervisor PIN 9999 (Иван).\n",
    );
    for (what, code) in &data.codes {
        text.push_str(&format!("# {what}\n{code}\n"));
    }
    std::fs::write(&codes_file, text)?;
    eprintln!(
        "tally demo: hub {hub_url}, data in {}, codes to scan in {}\n  operators: PIN 1111 (operator), 9999 (supervisor)",
        dir.display(),
        codes_file.display()
    );
    let script = match &options.script {
        Some(file) => Some(play_script(file.clone(), options.script_pace)?),
        None => None,
    };
    Ok(Demo {
        hub_url,
        codes_file,
        script,
    })
}

/// Plays a file of codes (one a line, `#` comments) as a scanner would, one every `pace`.
pub fn play_script(file: PathBuf, pace: Duration) -> anyhow::Result<Receiver<ScanEvent>> {
    let text = std::fs::read_to_string(&file).with_context(|| format!("{}", file.display()))?;
    let (scans, inbox) = channel();
    std::thread::Builder::new()
        .name("tally-demo-script".into())
        .spawn(move || {
            for line in text.lines() {
                let line = line.trim_end();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                std::thread::sleep(pace);
                let event = ScanEvent::Scan {
                    payload: line.as_bytes().to_vec(),
                    source: Source::Script,
                    symbology: None,
                    received: SystemTime::now(),
                };
                if scans.send(event).is_err() {
                    return;
                }
            }
        })?;
    Ok(inbox)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_domain::code::{CodeKind, ParseOptions, parse};

    #[test]
    fn every_demo_code_parses_as_what_it_says() {
        let data = dataset();
        for (what, code) in &data.codes {
            if what.contains("badge") {
                continue;
            }
            let parsed = parse(code.as_bytes(), &ParseOptions::default())
                .unwrap_or_else(|e| panic!("{what}: {code}: {e}"));
            if what.contains("box") {
                assert_eq!(parsed.kind(), CodeKind::Sscc, "{what}");
            } else {
                assert!(parsed.ki().is_some(), "{what}");
            }
        }
        assert_eq!(data.statuses.lines().count(), 12 + 6 + 2 + 4 + 24 + 2);
        assert!(data.tasks.contains("DEMO-1"));
        assert!(data.tasks.contains("DEMO-2"), "the delivery by quantity");
    }
}
