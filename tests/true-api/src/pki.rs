//! A throwaway PKI for tests: a CA, one certificate and key per participant (INN), and a signer
//! script that speaks the hub's signer protocol, all made with the `openssl` command line in a
//! directory the test owns. No key material lives in the repository.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The OID of the INN attribute in a Russian qualified certificate's subject (ИНН).
pub const INN_OID: &str = "1.2.643.3.131.1.1";

/// A CA and its participants' certificates in one directory, with `sign.sh` beside them.
#[derive(Debug, Clone)]
pub struct TestPki {
    dir: PathBuf,
}

/// The hub's signer protocol: `sign.sh INN --attached|--detached`, the bytes to sign on
/// standard input, one line of base64 (DER CMS SignedData) on standard output. The flag comes
/// last because the hub appends it to its configured arguments.
const SIGN_SH: &str = r#"#!/bin/sh
# A test signer for tally-hub (made by tally_true_api_emulator::pki::TestPki).
set -u
dir='@DIR@'
if [ "$#" -ne 2 ]; then
  echo "sign.sh: usage: sign.sh INN --attached|--detached (got $# arguments)" >&2
  exit 2
fi
inn="$1"
case "$2" in
  --attached) detach="-nodetach" ;;
  --detached) detach="" ;;
  *) echo "sign.sh: the last argument must be --attached or --detached, not '$2'" >&2; exit 2 ;;
esac
case "$inn" in
  *[!0-9]*|'') echo "sign.sh: '$inn' is not an INN" >&2; exit 2 ;;
esac
if [ ! -f "$dir/$inn.pem" ] || [ ! -f "$dir/$inn.key" ]; then
  echo "sign.sh: no test certificate for INN $inn in $dir" >&2
  exit 2
fi
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
# shellcheck disable=SC2086 # $detach is one flag or nothing
if ! openssl cms -sign -binary $detach -outform DER -signer "$dir/$inn.pem" \
    -inkey "$dir/$inn.key" -out "$tmp" 2>"$tmp.err"; then
  echo "sign.sh: openssl could not sign for INN $inn: $(cat "$tmp.err")" >&2
  rm -f "$tmp.err"
  exit 1
fi
rm -f "$tmp.err"
base64 -w0 < "$tmp" && echo
"#;

/// Extensions of a participant's signing certificate: an end entity that signs (S/MIME
/// purpose, which `openssl cms -verify` checks by default).
const LEAF_EXT: &str = "basicConstraints=CA:FALSE\n\
keyUsage=critical,digitalSignature,nonRepudiation\n\
extendedKeyUsage=emailProtection\n";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("TestPki: cannot run openssl: {e}"));
    if !out.status.success() {
        panic!(
            "TestPki: openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl TestPki {
    /// Makes the CA (`ca.pem`), for each INN `INN.pem` and `INN.key` (subject
    /// `1.2.643.3.131.1.1=INN, CN=…`, signed by the CA) and `sign.sh` in `dir`, which is created
    /// if missing. Panics with openssl's own words if anything fails: it is a test fixture.
    pub fn create(dir: &Path, inns: &[&str]) -> TestPki {
        fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("TestPki: cannot create {}: {e}", dir.display()));
        let dir = dir
            .canonicalize()
            .unwrap_or_else(|e| panic!("TestPki: {}: {e}", dir.display()));
        // EC P-256: keys in milliseconds, where RSA would make every test wait.
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=Tally test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&dir, &ca);
        let ext = dir.join("leaf.ext");
        fs::write(&ext, LEAF_EXT)
            .unwrap_or_else(|e| panic!("TestPki: cannot write {}: {e}", ext.display()));
        for inn in inns {
            assert!(
                !inn.is_empty() && inn.bytes().all(|b| b.is_ascii_digit()),
                "TestPki: {inn:?} is not an INN"
            );
            let key = format!("{inn}.key");
            let csr = format!("{inn}.csr");
            let pem = format!("{inn}.pem");
            let subject = format!("/{INN_OID}={inn}/CN=Test participant {inn}");
            let mut req = vec!["req", "-new"];
            req.extend(ec);
            req.extend(["-keyout", &key, "-out", &csr, "-subj", &subject]);
            openssl(&dir, &req);
            openssl(
                &dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    &pem,
                    "-days",
                    "30",
                    "-extfile",
                    "leaf.ext",
                ],
            );
        }
        let script = dir.join("sign.sh");
        let dir_text = dir.to_string_lossy().replace('\'', r"'\''");
        fs::write(&script, SIGN_SH.replace("@DIR@", &dir_text))
            .unwrap_or_else(|e| panic!("TestPki: cannot write {}: {e}", script.display()));
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("TestPki: cannot chmod {}: {e}", script.display()));
        TestPki { dir }
    }

    /// The CA certificate to give the emulator's `--ca`.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The hub's signer command: the script and the INN placeholder the hub replaces; the hub
    /// appends `--attached` or `--detached`.
    pub fn signer_command(&self) -> String {
        format!("{} {{inn}}", self.dir.join("sign.sh").display())
    }

    /// Where the keys and certificates are (`INN.pem`, `INN.key`, `ca.pem`, `ca.key`).
    pub fn key_dir(&self) -> &Path {
        &self.dir
    }

    /// The script itself (`key_dir()/sign.sh`).
    pub fn sign_script(&self) -> PathBuf {
        self.dir.join("sign.sh")
    }

    /// Signs `data` for `inn` through `sign.sh`, as the hub would: the base64 line it printed.
    pub fn sign(&self, inn: &str, data: &[u8], attached: bool) -> String {
        use std::io::Write;
        use std::process::Stdio;
        let flag = if attached { "--attached" } else { "--detached" };
        let mut child = Command::new(self.sign_script())
            .args([inn, flag])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("TestPki: cannot run sign.sh: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(data)
                .unwrap_or_else(|e| panic!("TestPki: cannot feed sign.sh: {e}"));
        }
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("TestPki: sign.sh: {e}"));
        if !out.status.success() {
            panic!(
                "TestPki: sign.sh {inn} {flag} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}
