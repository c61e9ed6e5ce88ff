//! Loading and writing Ed25519 keys (PKCS#8 / SPKI PEM, openssl-compatible), and `ota key ...`.

use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::{Args, Subcommand};
use ota_verify::{PublicKey, SecretKey};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Generates an Ed25519 key from the operating system's randomness, as PKCS#8 PEM (the form
    /// `openssl genpkey -algorithm ed25519` writes and reads).
    ///
    /// Example: ota key generate --out release.pem --public release.pub.pem
    Generate(GenerateArgs),
    /// Prints a key's id (the SHA-256 of the raw public key, as in the COSE `kid` header).
    ///
    /// Example: ota key id release.pub.pem
    Id(IdArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Where to write the private key (PKCS#8 PEM, mode 0600).
    #[arg(long)]
    out: PathBuf,
    /// Also write the public key here (SPKI PEM).
    #[arg(long)]
    public: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// A public (SPKI PEM) or private (PKCS#8 PEM) key.
    key: PathBuf,
}

pub fn run(cmd: KeyCmd, out: &Out) -> CmdResult {
    match cmd {
        KeyCmd::Generate(a) => generate(&a, out),
        KeyCmd::Id(a) => {
            let key = load_public(&a.key)?;
            let id = hex(key.key_id().as_bytes());
            out.result(|| id.clone(), || json!({"ok": true, "key_id": id}));
            Ok(())
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn generate(a: &GenerateArgs, out: &Out) -> CmdResult {
    let key = SecretKey::generate(|seed| getrandom::fill(seed))
        .map_err(|e| Fail::input(format!("no randomness from the operating system: {e}")))?;
    let pem = key
        .to_pkcs8_pem()
        .map_err(|e| Fail::input(format!("cannot encode the key: {e}")))?;
    files::write_atomic_with(&a.out, |f| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        std::io::Write::write_all(f, pem.as_bytes())
    })?;
    let public = key.public_key();
    if let Some(p) = &a.public {
        let spki = public
            .to_spki_pem()
            .map_err(|e| Fail::input(format!("cannot encode the public key: {e}")))?;
        files::write_atomic(p, spki.as_bytes())?;
    }
    let id = hex(public.key_id().as_bytes());
    out.result(
        || format!("{}: Ed25519 key {id}", a.out.display()),
        || json!({"ok": true, "out": a.out, "public": a.public, "key_id": id}),
    );
    Ok(())
}

/// A private key from a PKCS#8 PEM file.
pub fn load_secret(path: &Path) -> CmdResult<SecretKey> {
    let text = files::read_text_limited(path, files::KEY)?;
    SecretKey::from_pkcs8_pem(&text)
        .map_err(|e| Fail::in_file(path, format!("not an Ed25519 PKCS#8 PEM private key: {e}")))
}

/// A public key from an SPKI PEM file, or the public half of a PKCS#8 PEM private key.
pub fn load_public(path: &Path) -> CmdResult<PublicKey> {
    let text = files::read_text_limited(path, files::KEY)?;
    if text.contains("PRIVATE KEY") {
        return SecretKey::from_pkcs8_pem(&text)
            .map(|k| k.public_key())
            .map_err(|e| {
                Fail::in_file(path, format!("not an Ed25519 PKCS#8 PEM private key: {e}"))
            });
    }
    PublicKey::from_spki_pem(&text)
        .map_err(|e| Fail::in_file(path, format!("not an Ed25519 SPKI PEM public key: {e}")))
}
