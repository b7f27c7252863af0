//! Notices the terminal being docked or its network coming up, from sysfs: a cradle powers the
//! terminal (a power supply goes online) and usually brings a link (USB or Ethernet) with it;
//! Wi-Fi coming back shows as an interface going `up`. Either starts a sync round.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tally_sync::engine::Trigger;

/// What sysfs says at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Interface name → up (loopback left out).
    pub links: BTreeMap<String, bool>,
    /// Power supply name → online (batteries left out).
    pub power: BTreeMap<String, bool>,
}

/// Reads `/sys/class/net` and `/sys/class/power_supply` under `root` (`/` on a terminal).
pub fn read(root: &Path) -> Snapshot {
    let mut snapshot = Snapshot::default();
    for (name, dir) in entries(&root.join("sys/class/net")) {
        if name == "lo" {
            continue;
        }
        let state = std::fs::read_to_string(dir.join("operstate")).unwrap_or_default();
        snapshot.links.insert(name, state.trim() == "up");
    }
    for (name, dir) in entries(&root.join("sys/class/power_supply")) {
        let kind = std::fs::read_to_string(dir.join("type")).unwrap_or_default();
        if kind.trim() == "Battery" {
            continue;
        }
        let online = std::fs::read_to_string(dir.join("online")).unwrap_or_default();
        snapshot.power.insert(name, online.trim() == "1");
    }
    snapshot
}

fn entries(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .collect()
}

/// Why to sync, when something came up between two snapshots. Docking wins over a link: a
/// cradle brings both.
pub fn change(before: &Snapshot, after: &Snapshot) -> Option<Trigger> {
    let came_up = |old: &BTreeMap<String, bool>, new: &BTreeMap<String, bool>| {
        new.iter()
            .any(|(name, up)| *up && !old.get(name).copied().unwrap_or(false))
    };
    if came_up(&before.power, &after.power) {
        Some(Trigger::Docked)
    } else if came_up(&before.links, &after.links) {
        Some(Trigger::NetworkUp)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn docking_and_links_coming_up_are_noticed() {
        let root = std::env::temp_dir().join(format!("tally-dock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        write(&root, "sys/class/net/lo/operstate", "unknown\n");
        write(&root, "sys/class/net/wlan0/operstate", "down\n");
        write(&root, "sys/class/power_supply/BAT0/type", "Battery\n");
        write(&root, "sys/class/power_supply/BAT0/online", "1\n");
        write(&root, "sys/class/power_supply/ac/type", "Mains\n");
        write(&root, "sys/class/power_supply/ac/online", "0\n");
        let undocked = read(&root);
        assert_eq!(undocked.links.len(), 1, "loopback is left out");
        assert_eq!(undocked.power.len(), 1, "batteries are left out");
        assert_eq!(change(&undocked, &undocked), None);

        write(&root, "sys/class/net/wlan0/operstate", "up\n");
        let wifi = read(&root);
        assert_eq!(change(&undocked, &wifi), Some(Trigger::NetworkUp));

        // The cradle: power and a USB link together.
        write(&root, "sys/class/power_supply/ac/online", "1\n");
        write(&root, "sys/class/net/usb0/operstate", "up\n");
        let docked = read(&root);
        assert_eq!(change(&wifi, &docked), Some(Trigger::Docked));
        // Going down is no reason to sync.
        assert_eq!(change(&docked, &undocked), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
