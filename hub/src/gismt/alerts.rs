//! Where alerts go: a configured command (the alert as JSON on its standard input) or a
//! webhook (the same JSON POSTed), which integrators wire to e-mail or a messenger bot.
//!
//! An alert is sent once while it is open: the store marks it sent, and a condition that
//! clears and comes back is a new alert. Delivery is at least once: a hub killed between the
//! send and the mark sends it again, so the JSON carries `key` and `raised_at` for a receiver
//! to recognise a repeat.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::store::link::Alert;

/// An alert a step found, before the store decides whether it is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    pub key: String,
    pub kind: &'static str,
    pub message: String,
}

impl Raised {
    pub fn new(key: String, kind: &'static str, message: String) -> Raised {
        Raised { key, kind, message }
    }
}

#[derive(Debug, Clone)]
pub enum AlertSink {
    /// `PROGRAM ARGS…`: run once per alert.
    Command { program: String, args: Vec<String> },
    /// An `http(s)://` address.
    Webhook { url: String, agent: ureq::Agent },
}

const SEND_TIMEOUT: Duration = Duration::from_secs(20);

impl AlertSink {
    /// `command` is split like the signer's; a value starting with `http://` or `https://` is
    /// a webhook.
    pub fn parse(target: &str) -> Result<AlertSink, String> {
        let target = target.trim();
        if target.starts_with("http://") || target.starts_with("https://") {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(SEND_TIMEOUT))
                .build()
                .into();
            return Ok(AlertSink::Webhook {
                url: target.to_owned(),
                agent,
            });
        }
        let mut words = super::signer::split_words(target)?.into_iter();
        let program = words.next().ok_or("the alert command is empty")?;
        Ok(AlertSink::Command {
            program,
            args: words.collect(),
        })
    }

    pub fn send(&self, alert: &Alert) -> Result<(), String> {
        let body = json!({
            "key": alert.key,
            "kind": alert.kind,
            "message": alert.message,
            "raised_at": alert.raised_at,
        })
        .to_string();
        match self {
            AlertSink::Webhook { url, agent } => {
                let response = agent
                    .post(url)
                    .content_type("application/json")
                    .send(body.as_bytes())
                    .map_err(|e| e.to_string())?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("the webhook answered {}", response.status()))
                }
            }
            AlertSink::Command { program, args } => {
                let mut child = Command::new(program)
                    .args(args)
                    .env("TALLY_ALERT_KEY", &alert.key)
                    .env("TALLY_ALERT_KIND", &alert.kind)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("{program} could not be started: {e}"))?;
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = stdin.write_all(body.as_bytes());
                    let _ = stdin.write_all(b"\n");
                }
                let started = Instant::now();
                loop {
                    match child.try_wait() {
                        Ok(Some(status)) if status.success() => return Ok(()),
                        Ok(Some(status)) => {
                            let output = child.wait_with_output().map_err(|e| e.to_string())?;
                            return Err(format!(
                                "{program} failed ({status}): {}",
                                String::from_utf8_lossy(&output.stderr).trim()
                            ));
                        }
                        Ok(None) if started.elapsed() > SEND_TIMEOUT => {
                            let _ = child.kill();
                            let _ = child.wait();
                            return Err(format!("{program} did not finish in time"));
                        }
                        Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                        Err(e) => return Err(e.to_string()),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpListener;

    use serde_json::Value;

    use super::*;

    fn alert() -> Alert {
        Alert {
            key: "refused:4:0".into(),
            kind: "document_refused".into(),
            message: "GIS MT refused LK_RECEIPT / ГИС МТ отклонила LK_RECEIPT".into(),
            raised_at: 1_764_633_600_000,
            sent_at: None,
        }
    }

    #[test]
    fn a_webhook_gets_the_alert_as_json_and_a_refusal_is_a_failure() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for status in ["200 OK", "500 Internal Server Error"] {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                bodies.push(String::from_utf8(body).unwrap());
                let mut stream = stream;
                Write::write_all(
                    &mut stream,
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .unwrap();
            }
            bodies
        });
        let sink = AlertSink::parse(&url).unwrap();
        assert!(matches!(sink, AlertSink::Webhook { .. }));
        sink.send(&alert()).unwrap();
        assert!(sink.send(&alert()).unwrap_err().contains("500"));
        let bodies = server.join().unwrap();
        let sent: Value = serde_json::from_str(&bodies[0]).unwrap();
        assert_eq!(sent["key"], "refused:4:0");
        assert_eq!(sent["kind"], "document_refused");
        assert_eq!(sent["raised_at"], 1_764_633_600_000_i64);
        assert!(sent["message"].as_str().unwrap().contains("ГИС МТ"));
    }

    #[test]
    fn a_command_gets_the_alert_on_its_standard_input_and_its_failure_in_its_words() {
        let dir = std::env::temp_dir().join(format!("tally-alerts-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("got.jsonl");
        let script = dir.join("alert.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$TALLY_ALERT_KIND\" >> '{0}'\ncat >> '{0}'\n",
                out.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let sink = AlertSink::parse(&script.display().to_string()).unwrap();
        sink.send(&alert()).unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        let mut lines = got.lines();
        assert_eq!(lines.next(), Some("document_refused"));
        let sent: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(sent["key"], "refused:4:0");
        let failing = AlertSink::parse("sh -c 'echo no route to the bot >&2; exit 2'").unwrap();
        assert!(
            failing
                .send(&alert())
                .unwrap_err()
                .contains("no route to the bot")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
