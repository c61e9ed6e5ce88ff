//! Key import/export interoperability with the `openssl` command-line tool (an independent
//! Ed25519 and PKCS#8 implementation). Installed in CI by .ci/setup/verify.sh.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{key, tool_available};
use ota_verify::{Error, PublicKey, SecretKey};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("ota-verify-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(args: &[&str]) -> std::process::Output {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn openssl_generated_key_loads_and_its_public_key_verifies_our_signature() {
    if !tool_available("openssl") {
        return;
    }
    let dir = TempDir::new("genpkey");
    let (sk_pem, pk_pem, msg, sig) = (
        dir.path("k.pem"),
        dir.path("pub.pem"),
        dir.path("msg"),
        dir.path("sig"),
    );
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", s(&sk_pem)]);
    openssl(&["pkey", "-in", s(&sk_pem), "-pubout", "-out", s(&pk_pem)]);
    let sk = SecretKey::from_pkcs8_pem(&std::fs::read_to_string(&sk_pem).unwrap()).unwrap();
    let pk = PublicKey::from_spki_pem(&std::fs::read_to_string(&pk_pem).unwrap()).unwrap();
    assert_eq!(
        sk.public_key(),
        pk,
        "openssl's public key is the one we derive"
    );
    // Our PKCS#8 export of that key is byte-identical to openssl's DER.
    let der = openssl(&["pkey", "-in", s(&sk_pem), "-outform", "DER"]).stdout;
    assert_eq!(sk.to_pkcs8_der().as_slice(), der.as_slice());
    assert_eq!(
        SecretKey::from_pkcs8_der(&der).unwrap().to_seed(),
        sk.to_seed()
    );

    let message = b"signed by a key that openssl made";
    std::fs::write(&msg, message).unwrap();
    std::fs::write(&sig, sk.sign_raw(message)).unwrap();
    let out = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        s(&pk_pem),
        "-rawin",
        "-in",
        s(&msg),
        "-sigfile",
        s(&sig),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"));

    // And openssl's own signature with that key verifies here, byte-identical to ours
    // (Ed25519 is deterministic).
    let their_sig = dir.path("their.sig");
    openssl(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        s(&sk_pem),
        "-rawin",
        "-in",
        s(&msg),
        "-out",
        s(&their_sig),
    ]);
    let theirs: [u8; 64] = std::fs::read(&their_sig).unwrap().try_into().unwrap();
    assert_eq!(theirs, sk.sign_raw(message));
    pk.verify_strict(message, &theirs).unwrap();
}

#[test]
fn openssl_reads_our_keys_and_verifies_our_signature() {
    if !tool_available("openssl") {
        return;
    }
    let dir = TempDir::new("ours");
    let sk = key(42);
    let (sk_pem, pk_pem, msg, sig, derived) = (
        dir.path("ours.pem"),
        dir.path("ours.pub.pem"),
        dir.path("msg"),
        dir.path("sig"),
        dir.path("derived.pub.pem"),
    );
    std::fs::write(&sk_pem, sk.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    std::fs::write(&pk_pem, sk.public_key().to_spki_pem().unwrap()).unwrap();
    // openssl parses our private key and derives the same public key we export.
    openssl(&["pkey", "-in", s(&sk_pem), "-pubout", "-out", s(&derived)]);
    assert_eq!(
        PublicKey::from_spki_pem(&std::fs::read_to_string(&derived).unwrap()).unwrap(),
        sk.public_key()
    );
    let message = b"verified by openssl";
    std::fs::write(&msg, message).unwrap();
    std::fs::write(&sig, sk.sign_raw(message)).unwrap();
    let out = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        s(&pk_pem),
        "-rawin",
        "-in",
        s(&msg),
        "-sigfile",
        s(&sig),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"));
    // A tampered signature: openssl says no.
    let mut bad = sk.sign_raw(message);
    bad[5] ^= 1;
    std::fs::write(&sig, bad).unwrap();
    let out = Command::new("openssl")
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            s(&pk_pem),
            "-rawin",
            "-in",
            s(&msg),
            "-sigfile",
            s(&sig),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn raw_and_pem_round_trips_and_bad_keys() {
    let sk = key(3);
    let again = SecretKey::from_pkcs8_pem(&sk.to_pkcs8_pem().unwrap()).unwrap();
    assert_eq!(again.to_seed(), sk.to_seed());
    let pk = sk.public_key();
    assert_eq!(PublicKey::from_bytes(&pk.to_bytes()).unwrap(), pk);
    assert_eq!(
        PublicKey::from_spki_pem(&pk.to_spki_pem().unwrap()).unwrap(),
        pk
    );
    // The identity point (small order) and a non-point are refused.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(
        PublicKey::from_bytes(&identity),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        SecretKey::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        PublicKey::from_spki_pem("not pem"),
        Err(Error::InvalidKey { .. })
    ));
    // generate() takes the caller's randomness.
    let g = SecretKey::generate(|seed| {
        seed.copy_from_slice(&[3; 32]);
        Ok::<(), ()>(())
    })
    .unwrap();
    assert_eq!(g.public_key(), pk);
    assert_eq!(
        SecretKey::generate(|_| Err("no entropy")).map(|_| ()),
        Err("no entropy")
    );
}
