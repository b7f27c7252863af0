//! The install as shipped (`packaging/`) agrees with the programs it installs: the example
//! configuration is one the terminal reads, and the unit, the udev rules and the configuration
//! name the same paths.

// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use tally_app::cli::SourceSpec;
use tally_app::terminal::config::Config;

fn packaging(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../packaging")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `key=value` lines of a unit's sections, in order.
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_example_configuration_is_read_by_the_terminal() {
    // The terminal refuses unknown keys, so a key renamed in the app breaks this first.
    let config = Config::parse(&packaging("tally.toml")).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(config.data_dir, PathBuf::from("/var/lib/tally"));
    assert_eq!(
        config.scanners,
        [SourceSpec::Serial {
            path: "/dev/tally-scanner".into(),
            baud: 115_200
        }]
    );
}

#[test]
fn the_unit_the_rules_and_the_configuration_name_the_same_places() {
    let unit = packaging("tally.service");
    let rules = packaging("60-tally-scanner.rules");
    let config = packaging("tally.toml");
    assert_eq!(unit_values(&unit, "ExecStart"), ["/usr/bin/tally"]);
    assert_eq!(unit_values(&unit, "User"), ["tally"]);
    // The data directory is the unit's state directory, so it is made, owned and kept.
    assert_eq!(unit_values(&unit, "StateDirectory"), ["tally"]);
    assert!(unit_values(&unit, "Environment").contains(&"TALLY_DATA_DIR=/var/lib/tally".into()));
    assert!(
        unit_values(&unit, "Environment").contains(&"TALLY_CONFIG=/etc/tally/tally.toml".into())
    );
    let groups = unit_values(&unit, "SupplementaryGroups").join(" ");
    for group in ["video", "input", "dialout"] {
        assert!(groups.split(' ').any(|g| g == group), "{group} in {groups}");
    }
    // PrivateDevices would hide /dev/dri and /dev/input from the kiosk.
    assert!(unit_values(&unit, "PrivateDevices").is_empty());
    for device in ["char-drm rw", "char-input rw", "char-ttyACM rw"] {
        assert!(
            unit_values(&unit, "DeviceAllow").contains(&device.into()),
            "{device}"
        );
    }
    // The names the rules make are the ones the configuration uses.
    assert!(rules.contains(r#"SYMLINK+="tally-scanner""#));
    assert!(rules.contains(r#"SYMLINK+="tally-wedge""#));
    assert!(rules.contains(r#"ENV{LIBINPUT_IGNORE_DEVICE}="1""#));
    assert!(config.contains("serial:/dev/tally-scanner,115200"));
    assert!(config.contains("evdev:/dev/tally-wedge"));
}
