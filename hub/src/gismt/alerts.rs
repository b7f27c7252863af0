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
