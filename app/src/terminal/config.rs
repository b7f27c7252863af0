//! The terminal's configuration: `/etc/tally/tally.toml`, or the file `--config` or
//! `TALLY_CONFIG` names, with environment overrides for the few keys a technician changes on
//! the spot.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use serde::Deserialize;
use tally_domain::code::ParseOptions;
use tally_domain::lang::Lang;
use tally_domain::operation::Capacity;
use tally_domain::status::Inn;
use tally_domain::validate::Policy;
use tally_drivers::serial_frame::Framing;
use tally_drivers::wedge::{WedgeConfig, key_code};

use crate::cli::SourceSpec;

pub const DEFAULT_PATH: &str = "/etc/tally/tally.toml";

/// The file as written; every key optional so a fresh install runs with defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct File {
    data_dir: Option<PathBuf>,
    /// "ru", "en" or "auto" (the system locale).
    language: Option<String>,
    sounds: Option<bool>,
    vibration: Option<bool>,
    /// A command that plays a WAV from standard input.
    sound_command: Option<String>,
    /// The evdev device that vibrates (force feedback).
    vibration_device: Option<PathBuf>,
    /// 1.0 for a 480×800 panel, 1.5 for 720×1280.
    scale: Option<f32>,
    scanners: Vec<String>,
    scanner: ScannerFile,
    terminal: TerminalFile,
    sync: SyncFile,
    operators: Vec<OperatorFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ScannerFile {
    framing: Option<String>,
    gs_key: Option<String>,
    gap_ms: Option<u64>,
    gs_substitute: Option<String>,
    serial_lengths: Option<Vec<u8>>,
    layout_repair: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TerminalFile {
    own_inn: Option<String>,
    company_prefix: Option<String>,
    box_units: Option<u32>,
    pallet_boxes: Option<u32>,
    max_cache_age_hours: Option<i64>,
    supervisor_for_write_off: Option<bool>,
    /// The label printer for boxes and pallets this terminal labels: `tcp:HOST[:PORT]` or
    /// `device:PATH`.
    printer: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SyncFile {
    interval_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperatorFile {
    id: String,
    name: String,
    pin: String,
    #[serde(default)]
    badge: Option<String>,
    #[serde(default)]
    supervisor: bool,
}

/// Who may sign in: from the hub's operator list, or the config file on a terminal set up by
/// hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    pub id: String,
    pub name: String,
    pub pin: Pin,
    pub badge: Option<String>,
    pub supervisor: bool,
}

/// An operator's PIN: as written in the config file, or as the hub sends it (a salted digest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pin {
    Plain(String),
    Digest { salt: String, sha256: String },
}

impl Pin {
    pub fn matches(&self, pin: &str) -> bool {
        match self {
            Pin::Plain(plain) => plain == pin,
            Pin::Digest { salt, sha256 } => tally_wire::pin_digest(salt, pin) == *sha256,
        }
    }
}

impl From<tally_sync::store::StoredOperator> for Operator {
    fn from(o: tally_sync::store::StoredOperator) -> Operator {
        Operator {
            id: o.id,
            name: o.name,
            pin: Pin::Digest {
                salt: o.pin_salt,
                sha256: o.pin_sha256,
            },
            badge: o.badge,
            supervisor: o.supervisor,
        }
    }
}

/// The language the UI starts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LanguageSetting {
    Auto,
    Fixed(Lang),
}

impl LanguageSetting {
    /// `auto` follows the system locale (`LC_ALL`, `LC_MESSAGES`, `LANG`).
    pub fn resolve(self, env: impl Fn(&str) -> Option<String>) -> Lang {
        match self {
            LanguageSetting::Fixed(lang) => lang,
            LanguageSetting::Auto => ["LC_ALL", "LC_MESSAGES", "LANG"]
                .into_iter()
                .filter_map(env)
                .find(|v| !v.is_empty())
                .map_or(Lang::En, |v| Lang::from_locale(&v)),
        }
    }
}

/// The configuration in force.
#[derive(Clone, Debug)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub language: LanguageSetting,
    pub sounds: bool,
    pub vibration: bool,
    pub sound_command: String,
    pub vibration_device: Option<PathBuf>,
    pub scale: f32,
    pub scanners: Vec<SourceSpec>,
    pub framing: Framing,
    pub wedge: WedgeConfig,
    pub parse: ParseOptions,
    pub own_inn: Option<Inn>,
    pub company_prefix: Option<String>,
    pub capacity: Capacity,
    pub policy: Policy,
    pub supervisor_for_write_off: bool,
    pub printer: Option<tally_drivers::printer::PrinterAddress>,
    pub sync_interval_seconds: u64,
    pub operators: Vec<Operator>,
}

impl Config {
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("tally.db")
    }

    /// Reads the configuration: `explicit` (from `--config`) must exist; the default path may
    /// be missing, and then defaults apply.
    pub fn load(
        explicit: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Config> {
        let from_env = env("TALLY_CONFIG").map(PathBuf::from);
        let (path, required) = match (explicit, from_env) {
            (Some(p), _) => (p.to_path_buf(), true),
            (None, Some(p)) => (p, true),
            (None, None) => (PathBuf::from(DEFAULT_PATH), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut config = match &text {
            Some(text) => Config::parse(text).with_context(|| format!("in {}", path.display()))?,
            None => Config::parse("")?,
        };
        config.path = text.map(|_| path);
        if let Some(dir) = env("TALLY_DATA_DIR") {
            config.data_dir = PathBuf::from(dir);
        }
        if let Some(lang) = env("TALLY_LANGUAGE") {
            config.language = language(&lang)?;
        }
        Ok(config)
    }

    /// The configuration a TOML text describes.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let file: File = toml::from_str(text).map_err(|e| anyhow!("{e}"))?;
        let defaults = Capacity::default();
        let scanner = &file.scanner;
        let framing = match &scanner.framing {
            Some(f) => f
                .parse::<Framing>()
                .map_err(|e| anyhow!("scanner.framing: {e}"))?,
            None => Framing::Cr,
        };
        let mut wedge = WedgeConfig::default();
        if let Some(key) = &scanner.gs_key {
            wedge.gs_key =
                Some(key_code(key).ok_or_else(|| anyhow!("scanner.gs_key: unknown key {key:?}"))?);
        }
        if let Some(gap) = scanner.gap_ms {
            wedge.gap_ms = gap;
        }
        let mut parse = ParseOptions::default();
        if let Some(s) = &scanner.gs_substitute {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii() => parse.gs_substitute = Some(c as u8),
                _ => bail!("scanner.gs_substitute must be one ASCII character, not {s:?}"),
            }
        }
        if let Some(lengths) = &scanner.serial_lengths {
            if lengths.is_empty() || lengths.len() > parse.recovery_serial_lengths.len() {
                bail!(
                    "scanner.serial_lengths takes 1 to {} lengths",
                    parse.recovery_serial_lengths.len()
                );
            }
            parse.recovery_serial_lengths = Default::default();
            for (slot, len) in parse.recovery_serial_lengths.iter_mut().zip(lengths) {
                *slot = *len;
            }
        }
        if let Some(repair) = scanner.layout_repair {
            parse.repair_keyboard_layout = repair;
        }
        let terminal = &file.terminal;
        let own_inn = match &terminal.own_inn {
            Some(s) => Some(
                Inn::parse(s).ok_or_else(|| anyhow!("terminal.own_inn: {s:?} is not an INN"))?,
            ),
            None => None,
        };
        let mut policy = Policy::default();
        if let Some(hours) = terminal.max_cache_age_hours {
            if hours <= 0 {
                bail!("terminal.max_cache_age_hours must be positive");
            }
            policy.max_cache_age_hours = hours;
        }
        let scanners = file
            .scanners
            .iter()
            .map(|s| {
                s.parse::<SourceSpec>()
                    .map_err(|e| anyhow!("scanners: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let scale = file.scale.unwrap_or(1.0);
        if !(0.5..=4.0).contains(&scale) {
            bail!("scale must be between 0.5 and 4, not {scale}");
        }
        let operators = file
            .operators
            .into_iter()
            .map(|o| {
                if o.pin.len() < 4 || !o.pin.bytes().all(|b| b.is_ascii_digit()) {
                    bail!("operator {}: the PIN must be at least 4 digits", o.id);
                }
                Ok(Operator {
                    id: o.id,
                    name: o.name,
                    pin: Pin::Plain(o.pin),
                    badge: o.badge,
                    supervisor: o.supervisor,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Config {
            path: None,
            data_dir: file
                .data_dir
                .unwrap_or_else(|| PathBuf::from("/var/lib/tally")),
            language: match &file.language {
                Some(l) => language(l)?,
                None => LanguageSetting::Auto,
            },
            sounds: file.sounds.unwrap_or(true),
            vibration: file.vibration.unwrap_or(true),
            sound_command: file
                .sound_command
                .unwrap_or_else(|| "aplay -q -".to_string()),
            vibration_device: file.vibration_device,
            scale,
            scanners,
            framing,
            wedge,
            parse,
            own_inn,
            company_prefix: terminal.company_prefix.clone(),
            capacity: Capacity {
                box_units: terminal.box_units.unwrap_or(defaults.box_units),
                pallet_boxes: terminal.pallet_boxes.unwrap_or(defaults.pallet_boxes),
            },
            policy,
            supervisor_for_write_off: terminal.supervisor_for_write_off.unwrap_or(true),
            printer: match &terminal.printer {
                Some(spec) => Some(spec.parse().map_err(|e| anyhow!("terminal.printer: {e}"))?),
                None => None,
            },
            sync_interval_seconds: file.sync.interval_seconds.unwrap_or(300),
            operators,
        })
    }
}

fn language(value: &str) -> anyhow::Result<LanguageSetting> {
    match value {
        "auto" => Ok(LanguageSetting::Auto),
        "ru" => Ok(LanguageSetting::Fixed(Lang::Ru)),
        "en" => Ok(LanguageSetting::Fixed(Lang::En)),
        other => bail!("language must be ru, en or auto, not {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn an_empty_file_gives_working_defaults() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/tally"));
        assert_eq!(config.db_path(), PathBuf::from("/var/lib/tally/tally.db"));
        assert!(config.sounds && config.vibration);
        assert_eq!(config.language, LanguageSetting::Auto);
        assert_eq!(config.policy.max_cache_age_hours, 72);
        assert!(config.scanners.is_empty());
    }

    #[test]
    fn a_full_file_is_read() {
        let config = Config::parse(
            r#"
            data_dir = "/data/tally"
            language = "ru"
            sounds = false
            scale = 1.5
            scanners = ["serial:/dev/ttyACM0,115200", "evdev:/dev/input/event3"]
            [scanner]
            framing = "crlf"
            gs_key = "f8"
            gs_substitute = "|"
            serial_lengths = [13, 6]
            [terminal]
            own_inn = "7707083893"
            company_prefix = "4600000"
            box_units = 12
            max_cache_age_hours = 24
            printer = "tcp:10.0.0.7"
            [[operators]]
            id = "op1"
            name = "Anna"
            pin = "1234"
            supervisor = true
            "#,
        )
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/data/tally"));
        assert_eq!(config.language, LanguageSetting::Fixed(Lang::Ru));
        assert!(!config.sounds);
        assert_eq!(config.scale, 1.5);
        assert_eq!(
            config.scanners,
            vec![
                SourceSpec::Serial {
                    path: "/dev/ttyACM0".into(),
                    baud: 115200
                },
                SourceSpec::Evdev {
                    path: "/dev/input/event3".into()
                }
            ]
        );
        assert_eq!(config.framing, Framing::CrLf);
        assert_eq!(config.parse.gs_substitute, Some(b'|'));
        assert_eq!(config.capacity.box_units, 12);
        assert_eq!(config.policy.max_cache_age_hours, 24);
        assert_eq!(config.company_prefix.as_deref(), Some("4600000"));
        assert_eq!(
            config.printer,
            Some(tally_drivers::printer::PrinterAddress::Network {
                host: "10.0.0.7".into(),
                port: 9100
            })
        );
        assert!(config.operators[0].supervisor);
    }

    #[test]
    fn the_packaged_file_is_valid() {
        let config = Config::parse(include_str!("../../../packaging/tally.toml")).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/tally"));
        assert_eq!(config.language, LanguageSetting::Fixed(Lang::Ru));
        assert_eq!(config.scanners.len(), 1);
    }

    #[test]
    fn mistakes_name_the_key() {
        for (text, needle) in [
            ("languge = \"ru\"", "unknown field"),
            ("language = \"de\"", "language must be"),
            ("scanners = [\"usb:x\"]", "scanners"),
            ("[scanner]\ngs_key = \"nokey\"", "gs_key"),
            ("[scanner]\ngs_substitute = \"ab\"", "gs_substitute"),
            ("[terminal]\nown_inn = \"12\"", "own_inn"),
            ("[terminal]\nmax_cache_age_hours = 0", "max_cache_age_hours"),
            ("[terminal]\nprinter = \"lpt1\"", "terminal.printer"),
            ("scale = 9.0", "scale"),
            (
                "[[operators]]\nid = \"a\"\nname = \"A\"\npin = \"12\"",
                "PIN",
            ),
            ("data_dir = 5", "data_dir"),
        ] {
            let error = format!("{:#}", Config::parse(text).unwrap_err());
            assert!(error.contains(needle), "{text:?} gave {error}");
        }
    }

    #[test]
    fn environment_overrides_and_missing_default_file() {
        let dir = std::env::temp_dir().join(format!("tally-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tally.toml");
        std::fs::write(&path, "language = \"en\"\n").unwrap();
        let env = |key: &str| match key {
            "TALLY_DATA_DIR" => Some("/tmp/x".to_string()),
            "TALLY_LANGUAGE" => Some("ru".to_string()),
            _ => None,
        };
        let config = Config::load(Some(&path), env).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.language, LanguageSetting::Fixed(Lang::Ru));
        assert_eq!(config.path.as_deref(), Some(path.as_path()));
        // A named file must exist.
        assert!(Config::load(Some(&dir.join("missing.toml")), no_env).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn auto_language_follows_the_locale() {
        let ru = |key: &str| (key == "LANG").then(|| "ru_RU.UTF-8".to_string());
        assert_eq!(LanguageSetting::Auto.resolve(ru), Lang::Ru);
        assert_eq!(LanguageSetting::Auto.resolve(no_env), Lang::En);
        let c = |key: &str| (key == "LC_ALL").then(|| "C".to_string());
        assert_eq!(LanguageSetting::Auto.resolve(c), Lang::En);
    }
}
