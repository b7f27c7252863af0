//! The terminal's enrollment: the hub's address and the device token, in a file next to the
//! replica that only the service user can read (mode 0600).
//!
//! A separate file rather than the replica's `meta`: the replica is copied for support and
//! its readers run on other threads; the token must not travel with it.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tally_wire::SerialRange;

/// Where this terminal syncs and the token it proves itself with.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubLink {
    pub url: String,
    pub token: String,
    pub device_id: i64,
    pub warehouse: String,
    pub participant_inn: String,
    /// The SSCC serial references the hub gave this terminal (`Store::adopt_sscc_serials`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sscc_serials: Option<SerialRange>,
    /// The private CA (PEM) the hub's certificate is checked against, given at enrollment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
}

impl fmt::Debug for HubLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubLink")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("device_id", &self.device_id)
            .field("warehouse", &self.warehouse)
            .field("participant_inn", &self.participant_inn)
            .field("private_ca", &self.ca_pem.is_some())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not an enrollment file: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("this terminal is not enrolled ({path} does not exist): run `tally enroll URL CODE`")]
    NotEnrolled { path: PathBuf },
}

impl HubLink {
    /// The enrollment file of the replica at `db`: `tally.db` → `tally.db.hub`.
    pub fn path_for(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push(".hub");
        PathBuf::from(name)
    }

    /// Writes the file with mode 0600, replacing an older one only once the new one is whole
    /// on disk (written beside it, synced, renamed).
    pub fn save(&self, path: &Path) -> Result<(), LinkError> {
        let file_error = |source| LinkError::File {
            path: path.to_path_buf(),
            source,
        };
        let text = serde_json::to_vec(self).map_err(|e| LinkError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let mut temp = path.as_os_str().to_owned();
        temp.push(".new");
        let temp = PathBuf::from(temp);
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temp).map_err(file_error)?;
        #[cfg(unix)]
        {
            // `mode` applies only to a file it creates; a stale `.new` keeps its mode otherwise.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(file_error)?;
        }
        file.write_all(&text).map_err(file_error)?;
        file.sync_all().map_err(file_error)?;
        drop(file);
        fs::rename(&temp, path).map_err(file_error)?;
        Ok(())
    }

    /// The client settings for this link (terminal defaults for timeouts and retries).
    pub fn client_config(&self) -> super::ClientConfig {
        let mut config = super::ClientConfig::new(&self.url, Some(self.token.clone()));
        config.ca_pem = self.ca_pem.as_ref().map(|pem| pem.as_bytes().to_vec());
        config
    }

    pub fn load(path: &Path) -> Result<HubLink, LinkError> {
        let text = match fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LinkError::NotEnrolled {
                    path: path.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(LinkError::File {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        serde_json::from_slice(&text).map_err(|e| LinkError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_file_is_private_and_the_token_stays_out_of_debug_output() {
        let dir = std::env::temp_dir().join(format!("tally-link-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        let path = HubLink::path_for(&dir.join("tally.db"));
        let link = HubLink {
            url: "https://hub.local:8443".into(),
            token: "tok-SECRET".into(),
            device_id: 7,
            warehouse: "W1".into(),
            participant_inn: "7707083893".into(),
            sscc_serials: Some(SerialRange {
                first: 7_000_000,
                last: 7_999_999,
            }),
            ca_pem: None,
        };
        link.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(HubLink::load(&path).unwrap(), link);
        assert!(!format!("{link:?}").contains("SECRET"));
        assert!(matches!(
            HubLink::load(&dir.join("other.hub")),
            Err(LinkError::NotEnrolled { .. })
        ));
        fs::remove_dir_all(dir).unwrap();
    }
}
