//! CMS signatures checked as GIS MT checks them: the `openssl cms -verify` command line, the
//! chain to the emulator's CA, and the participant's INN read from the signer's certificate.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::pki::INN_OID;

/// Files of one verification, removed when it ends whichever way.
struct Scratch {
    paths: Vec<PathBuf>,
}

impl Scratch {
    fn file(&mut self, dir: &Path, suffix: &str) -> PathBuf {
        let path = dir.join(format!("{}.{suffix}", uuid::Uuid::new_v4()));
        self.paths.push(path.clone());
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for path in &self.paths {
            let _ = fs::remove_file(path);
        }
    }
}

/// Where verifications write their files, and the CA they chain to.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub ca: PathBuf,
    pub work: PathBuf,
}

/// What a signature that verified says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signer's participant.
    pub inn: String,
    /// The signed bytes (the attached content, or the given content of a detached one).
    pub content: Vec<u8>,
}

impl Verifier {
    /// An attached signature (`simpleSignIn`): its content comes out of the CMS.
    pub fn attached(&self, der: &[u8]) -> Result<Signed, String> {
        self.verify(der, None)
    }

    /// A detached signature over `content` (`documents/create`). A signature that carries
    /// other content of its own does not verify: openssl checks it against `content`.
    pub fn detached(&self, der: &[u8], content: &[u8]) -> Result<Signed, String> {
        self.verify(der, Some(content))
    }

    fn verify(&self, der: &[u8], content: Option<&[u8]>) -> Result<Signed, String> {
        let mut scratch = Scratch { paths: Vec::new() };
        let sig = scratch.file(&self.work, "p7s");
        let out = scratch.file(&self.work, "out");
        let signer = scratch.file(&self.work, "signer.pem");
        fs::write(&sig, der).map_err(|e| format!("emulator cannot write a scratch file: {e}"))?;
        let mut cmd = Command::new("openssl");
        cmd.args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(&sig)
            .arg("-CAfile")
            .arg(&self.ca)
            .arg("-signer")
            .arg(&signer)
            .arg("-out")
            .arg(&out);
        if let Some(content) = content {
            let file = scratch.file(&self.work, "content");
            fs::write(&file, content)
                .map_err(|e| format!("emulator cannot write a scratch file: {e}"))?;
            cmd.arg("-content").arg(file);
        }
        let run = cmd
            .output()
            .map_err(|e| format!("emulator cannot run openssl: {e}"))?;
        if !run.status.success() {
            let why = String::from_utf8_lossy(&run.stderr);
            let first = why
                .lines()
                .find(|l| l.contains("error") || l.contains("failure"))
                .unwrap_or("verification failure");
            return Err(format!("Подпись не прошла проверку: {}", first.trim()));
        }
        let signed = match content {
            Some(content) => content.to_vec(),
            None => {
                fs::read(&out).map_err(|e| format!("emulator cannot read openssl's output: {e}"))?
            }
        };
        let inn = signer_inn(&signer)?;
        Ok(Signed {
            inn,
            content: signed,
        })
    }
}

/// The INN in the subject of the certificate at `pem`.
fn signer_inn(pem: &Path) -> Result<String, String> {
    let run = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-subject",
            "-nameopt",
            "oid,sep_multiline",
            "-in",
        ])
        .arg(pem)
        .output()
        .map_err(|e| format!("emulator cannot run openssl: {e}"))?;
    if !run.status.success() {
        return Err("Сертификат подписанта не читается".into());
    }
    let text = String::from_utf8_lossy(&run.stdout);
    let prefix = format!("{INN_OID}=");
    let value = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(&prefix))
        .ok_or("В сертификате подписанта нет ИНН (OID 1.2.643.3.131.1.1)")?;
    participant_inn(value.trim())
        .ok_or_else(|| format!("ИНН в сертификате подписанта некорректен: {value}"))
}

/// The participant an INN attribute names. Legal entities' certificates carry their ten-digit
/// INN padded to twelve with leading `00`; an individual's INN never starts with `00`.
fn participant_inn(value: &str) -> Option<String> {
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match value.len() {
        10 => Some(value.to_owned()),
        12 => Some(value.strip_prefix("00").unwrap_or(value).to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::participant_inn;

    #[test]
    fn inn_attribute_values() {
        assert_eq!(participant_inn("7701234560").as_deref(), Some("7701234560"));
        assert_eq!(
            participant_inn("007701234560").as_deref(),
            Some("7701234560")
        );
        assert_eq!(
            participant_inn("500312345614").as_deref(),
            Some("500312345614")
        );
        assert_eq!(participant_inn("77012345"), None);
        assert_eq!(participant_inn("77012345x0"), None);
    }
}
