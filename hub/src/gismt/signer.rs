//! The organisation's signing tool, run as an external program: the hub holds no private key.
//!
//! The configured command line (in production a CryptoPro `csptest`/`cryptcp` wrapper with the
//! organisation's certificate) gets the bytes to sign on standard input and answers the base64
//! of a CMS SignedData on standard output. The hub appends `--attached` (sign-in: the CMS
//! carries the signed text) or `--detached` (documents: the CMS carries only the signature) to
//! the configured arguments, and replaces `{inn}` in them with the participant's INN, so one
//! wrapper can pick each participant's certificate.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// How the CMS holds what it signs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// The signed bytes inside the CMS (`simpleSignIn`).
    Attached,
    /// The signature alone (`lk/documents/create`).
    Detached,
}

impl Mode {
    fn flag(self) -> &'static str {
        match self {
            Mode::Attached => "--attached",
            Mode::Detached => "--detached",
        }
    }
}

/// Why signing failed, in the signer's own words where it gave any.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignerError {
    #[error("the signer `{program}` could not be started: {reason}")]
    NotStarted { program: String, reason: String },
    #[error("the signer gave no answer within {millis} ms and was stopped")]
    TimedOut { millis: u128 },
    #[error("the signer failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("the signer's answer is not base64: {0}")]
    NotBase64(String),
}

/// The configured signing command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    program: String,
    args: Vec<String>,
    timeout: Duration,
}

/// The most a signer may write: a CMS of a large document is a few kilobytes of signature, and
/// an attached one carries a short sign-in text, so anything near this is a broken signer.
const MAX_ANSWER: u64 = 16 * 1024 * 1024;

impl Signer {
    /// Reads `PROGRAM ARGS…`, split on whitespace with single or double quotes grouping, as a
    /// configuration file or a `--signer` argument writes it.
    pub fn parse(command: &str, timeout: Duration) -> Result<Signer, String> {
        let words = split_words(command)?;
        let Some((program, args)) = words.split_first() else {
            return Err("the signer command is empty".into());
        };
        Ok(Signer {
            program: program.clone(),
            args: args.to_vec(),
            timeout,
        })
    }

    pub fn program(&self) -> &str {
        &self.program
    }

    /// Signs `bytes` for the participant `inn`; answers the base64 text of the CMS, checked to
    /// be base64 (whitespace the signer wraps it with removed).
    pub fn sign(&self, inn: &str, bytes: &[u8], mode: Mode) -> Result<String, SignerError> {
        let mut command = Command::new(&self.program);
        command
            .args(self.args.iter().map(|a| a.replace("{inn}", inn)))
            .arg(mode.flag())
            .env("TALLY_INN", inn)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| SignerError::NotStarted {
            program: self.program.clone(),
            reason: e.to_string(),
        })?;
        // Standard input is written and the two outputs read on threads of their own, so a
        // signer that answers before reading everything (or writes much to stderr) cannot
        // deadlock against the hub.
        let input = child.stdin.take().map(|mut stdin| {
            let bytes = bytes.to_vec();
            thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            })
        });
        let stdout = child.stdout.take().map(|out| {
            thread::spawn(move || {
                let mut answer = Vec::new();
                let _ = out.take(MAX_ANSWER).read_to_end(&mut answer);
                answer
            })
        });
        let stderr = child.stderr.take().map(|err| {
            thread::spawn(move || {
                let mut text = Vec::new();
                let _ = err.take(64 * 1024).read_to_end(&mut text);
                text
            })
        });
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() >= self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(SignerError::TimedOut {
                        millis: self.timeout.as_millis(),
                    });
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(e) => {
                    return Err(SignerError::Failed {
                        status: "unknown".into(),
                        stderr: e.to_string(),
                    });
                }
            }
        };
        if let Some(input) = input {
            let _ = input.join();
        }
        let answer = stdout.and_then(|t| t.join().ok()).unwrap_or_default();
        let errors = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
        if !status.success() {
            return Err(SignerError::Failed {
                status: status.to_string(),
                stderr: String::from_utf8_lossy(&errors).trim().to_owned(),
            });
        }
        let text: String = String::from_utf8_lossy(&answer)
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        match STANDARD.decode(&text) {
            Ok(decoded) if !decoded.is_empty() => Ok(text),
            Ok(_) => Err(SignerError::NotBase64("the answer is empty".into())),
            Err(e) => Err(SignerError::NotBase64(e.to_string())),
        }
    }
}

pub(super) fn split_words(command: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("the signer command has an unclosed quote".into());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn script(body: &str) -> (tempdir::Dir, String) {
        let dir = tempdir::Dir::new();
        let path = dir.path.join("signer.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let command = path.display().to_string();
        (dir, command)
    }

    mod tempdir {
        pub struct Dir {
            pub path: std::path::PathBuf,
        }
        impl Dir {
            pub fn new() -> Dir {
                let path = std::env::temp_dir().join(format!(
                    "tally-signer-{}-{}",
                    std::process::id(),
                    uuid::Uuid::new_v4()
                ));
                std::fs::create_dir_all(&path).unwrap();
                Dir { path }
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.path);
            }
        }
    }

    #[test]
    fn the_command_line_splits_with_quotes() {
        let signer = Signer::parse(
            "/opt/sign 'my cert' --pin \"1 2\" {inn}",
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(signer.program, "/opt/sign");
        assert_eq!(signer.args, ["my cert", "--pin", "1 2", "{inn}"]);
        assert!(Signer::parse("  ", Duration::from_secs(1)).is_err());
        assert!(Signer::parse("/opt/sign 'open", Duration::from_secs(1)).is_err());
    }

    #[test]
    fn the_signer_gets_the_bytes_the_inn_and_the_mode_and_answers_base64() {
        // Echoes its arguments and input back, base64: proves what it was given.
        let (_dir, command) = script(r#"{ echo "$@"; cat; } | base64"#);
        let signer =
            Signer::parse(&format!("{command} --cert {{inn}}"), Duration::from_secs(5)).unwrap();
        let answer = signer.sign("7707083893", b"hello", Mode::Detached).unwrap();
        let decoded = STANDARD.decode(answer).unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "--cert 7707083893 --detached\nhello"
        );
    }

    #[test]
    fn failures_are_reported_in_the_signers_words() {
        let (_dir, command) = script("echo 'certificate not found' >&2; exit 3");
        let signer = Signer::parse(&command, Duration::from_secs(5)).unwrap();
        let error = signer.sign("7707083893", b"x", Mode::Attached).unwrap_err();
        assert!(
            matches!(&error, SignerError::Failed { stderr, .. } if stderr == "certificate not found"),
            "{error:?}"
        );
        let (_dir2, command) = script("echo 'not base64!'");
        let signer = Signer::parse(&command, Duration::from_secs(5)).unwrap();
        assert!(matches!(
            signer.sign("7707083893", b"x", Mode::Attached),
            Err(SignerError::NotBase64(_))
        ));
        let missing = Signer::parse("/nonexistent/signer", Duration::from_secs(5)).unwrap();
        assert!(matches!(
            missing.sign("7707083893", b"x", Mode::Attached),
            Err(SignerError::NotStarted { .. })
        ));
    }

    #[test]
    fn a_signer_that_hangs_is_stopped_at_the_timeout() {
        let (_dir, command) = script("sleep 30");
        let signer = Signer::parse(&command, Duration::from_millis(200)).unwrap();
        assert_eq!(
            signer.sign("7707083893", b"x", Mode::Attached),
            Err(SignerError::TimedOut { millis: 200 })
        );
    }
}
