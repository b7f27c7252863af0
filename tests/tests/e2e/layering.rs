//! The dependency direction of the architecture: `domain` stays pure, free of any crate that
//! does IO or draws pixels, so its logic runs and tests anywhere.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

const FORBIDDEN_IN_DOMAIN: &[&str] = &[
    "slint",
    "rusqlite",
    "ureq",
    "serialport",
    "evdev",
    "rxing",
    "rqrr",
];

/// Names of every package `root` depends on for building (normal and build dependencies,
/// transitively; dev-dependencies do not ship).
fn shipped_dependencies(metadata: &Value, root: &str) -> BTreeSet<String> {
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let Some(start) = names
        .iter()
        .find(|(_, name)| **name == root)
        .map(|(id, _)| *id)
    else {
        panic!("{root} is not in the workspace metadata");
    };
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(id) = stack.pop() {
        for dep in nodes
            .get(id)
            .and_then(|n| n["deps"].as_array())
            .into_iter()
            .flatten()
        {
            let shipped = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].as_str() != Some("dev"));
            let Some(pkg) = dep["pkg"].as_str() else {
                continue;
            };
            if shipped && seen.insert(names.get(pkg).copied().unwrap_or(pkg).to_string()) {
                stack.push(pkg);
            }
        }
    }
    seen
}

fn violations(metadata: &Value) -> Vec<String> {
    shipped_dependencies(metadata, "tally-domain")
        .into_iter()
        .filter(|name| {
            FORBIDDEN_IN_DOMAIN
                .iter()
                .any(|f| name == f || name.starts_with(&format!("{f}-")))
        })
        .collect()
}

#[test]
fn domain_depends_on_no_io_or_ui_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(violations(&metadata), Vec::<String>::new());
}

#[test]
fn the_check_catches_a_forbidden_edge() {
    // domain -> helper -> rusqlite, and a dev-only edge to slint that must not count.
    let metadata = serde_json::json!({
        "packages": [
            {"id": "d", "name": "tally-domain"},
            {"id": "h", "name": "helper"},
            {"id": "r", "name": "rusqlite"},
            {"id": "s", "name": "slint"},
        ],
        "resolve": {"nodes": [
            {"id": "d", "deps": [
                {"pkg": "h", "dep_kinds": [{"kind": null}]},
                {"pkg": "s", "dep_kinds": [{"kind": "dev"}]},
            ]},
            {"id": "h", "deps": [{"pkg": "r", "dep_kinds": [{"kind": "build"}]}]},
            {"id": "r", "deps": []},
            {"id": "s", "deps": []},
        ]}
    });
    assert_eq!(violations(&metadata), vec!["rusqlite".to_string()]);
}
