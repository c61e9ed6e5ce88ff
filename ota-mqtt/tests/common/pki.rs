//! A test PKI made with the openssl CLI: a fleet CA, the broker's certificate for 127.0.0.1, one
//! client certificate per identity (CN = device id), and a rogue CA that the broker does not trust.

use std::path::{Path, PathBuf};
use std::process::Command;

use ota_mqtt::{TlsFiles, TlsIdentity};

pub struct Pki {
    pub dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl CLI (run .ci/setup/mqtt.sh)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-subj",
            &format!("/CN={name}"),
            "-days",
            "2",
        ],
    );
}

// A leaf certificate `{file}.crt`/`.key` with subject CN `cn`, signed by `ca`.
fn make_leaf(dir: &Path, ca: &str, file: &str, cn: &str, ext: &str) {
    std::fs::write(dir.join(format!("{file}.ext")), ext).unwrap();
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{file}.key"),
            "-out",
            &format!("{file}.csr"),
            "-subj",
            &format!("/CN={cn}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{file}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &format!("{file}.crt"),
            "-extfile",
            &format!("{file}.ext"),
        ],
    );
}

const CLIENT_EXT: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";

impl Pki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        make_ca(dir.path(), "ca");
        make_ca(dir.path(), "rogue-ca");
        make_leaf(
            dir.path(),
            "ca",
            "broker",
            "ota-broker",
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        );
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn broker_files(&self) -> TlsFiles {
        TlsFiles {
            ca: self.path("ca.crt"),
            cert: self.path("broker.crt"),
            key: self.path("broker.key"),
        }
    }

    /// A client identity with CN `cn` signed by the fleet CA (or by the rogue CA).
    pub fn client(&self, cn: &str, rogue: bool) -> TlsIdentity {
        let ca = if rogue { "rogue-ca" } else { "ca" };
        let file = format!("{ca}-client-{cn}");
        if !self.path(&format!("{file}.crt")).exists() {
            make_leaf(self.dir.path(), ca, &file, cn, CLIENT_EXT);
        }
        TlsIdentity::from_files(
            &self.path("ca.crt"),
            &self.path(&format!("{file}.crt")),
            &self.path(&format!("{file}.key")),
        )
        .unwrap()
    }

    pub fn no_client_certificate(&self) -> TlsIdentity {
        TlsIdentity::without_client_certificate(std::fs::read(self.path("ca.crt")).unwrap())
    }
}
