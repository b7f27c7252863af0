//! Runs the real `tally` binary the way a support engineer or a script would.

use std::io::Write;
use std::process::{Command, Stdio};

fn tally() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tally"))
}

#[test]
fn parse_reads_standard_input_including_binary_garbage() {
    let mut child = tally()
        .arg("parse")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = b"0104600840749372215XyZ1a<GS>93Ab1+\n".to_vec();
    input.extend((0u8..=255).cycle().take(2000));
    input.extend(b"\n106141411234567897\n");
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let input_lines = input.split(|&b| b == b'\n').count() - 1;
    assert_eq!(lines.len(), input_lines);
    assert_eq!(lines[0]["kind"], "unit_short");
    assert!(lines[1..lines.len() - 1].iter().all(|l| l["ok"] == false));
    assert_eq!(lines.last().unwrap()["kind"], "sscc");
}

#[test]
fn parse_takes_codes_as_arguments_with_scanner_settings() {
    let output = tally()
        .args([
            "parse",
            "--gs-substitute",
            "|",
            "0104600840749372215XyZ1a|93Ab1+",
            "hello",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[1]["reason"]["code"], "not_marking_code");
}

#[test]
fn bad_options_are_refused_with_a_reason() {
    let output = tally()
        .args(["parse", "--serial-lengths", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("serial lengths"));
    let output = tally().args(["parse", "--no-such-flag"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}
