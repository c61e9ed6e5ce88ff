//! Loading and writing Ed25519 keys (PKCS#8 / SPKI PEM, openssl-compatible), and `ota key ...`.

use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::{Args, Subcommand};
use ota_pkcs11::{Pkcs11Signer, Pkcs11Uri};
use ota_verify::{PublicKey, SecretKey, Signer};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Generates an Ed25519 key from the operating system's randomness, as PKCS#8 PEM (the form
    /// `openssl genpkey -algorithm ed25519` writes and reads).
    ///
    /// With --pkcs11 URI the key pair is generated on a PKCS#11 token instead (Ed25519,
    /// CKM_EC_EDWARDS_KEY_PAIR_GEN; the private key is sensitive and never extractable) and
    /// only the public key is written. The URI (RFC 7512) names the token, the key's label
    /// (object=) and/or id=, the PIN (pin-value= or pin-source=FILE) and the module
    /// (module-path=, or the OTA_PKCS11_MODULE environment variable).
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
    #[arg(long, required_unless_present = "pkcs11", conflicts_with = "pkcs11")]
    out: Option<PathBuf>,
    /// Generate the key on a PKCS#11 token, named by this `pkcs11:` URI (nothing private is
    /// written; sign with --key and the same URI).
    #[arg(long)]
    pkcs11: Option<String>,
    /// Also write the public key here (SPKI PEM).
    #[arg(long)]
    public: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// A public (SPKI PEM) or private (PKCS#8 PEM) key, or a `pkcs11:` URI of a token key.
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
    let Some(path) = &a.out else {
        return generate_on_token(a, out);
    };
    let key = SecretKey::generate(|seed| getrandom::fill(seed))
        .map_err(|e| Fail::input(format!("no randomness from the operating system: {e}")))?;
    let pem = key
        .to_pkcs8_pem()
        .map_err(|e| Fail::input(format!("cannot encode the key: {e}")))?;
    files::write_atomic_with(path, |f| {
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
        || format!("{}: Ed25519 key {id}", path.display()),
        || json!({"ok": true, "out": a.out, "public": a.public, "key_id": id}),
    );
    Ok(())
}

/// `ota key generate --pkcs11 URI [--public PUB]`.
fn generate_on_token(a: &GenerateArgs, out: &Out) -> CmdResult {
    let text = a.pkcs11.as_deref().unwrap_or_default();
    let uri = Pkcs11Uri::parse(text).map_err(|e| Fail::input(format!("--pkcs11: {e}")))?;
    let key = Pkcs11Signer::generate(&uri).map_err(|e| {
        Fail::input(format!(
            "--pkcs11: cannot generate the key on the token: {e}"
        ))
    })?;
    let public = Signer::public_key(&key);
    if let Some(p) = &a.public {
        let spki = public
            .to_spki_pem()
            .map_err(|e| Fail::input(format!("cannot encode the public key: {e}")))?;
        files::write_atomic(p, spki.as_bytes())?;
    }
    let id = hex(public.key_id().as_bytes());
    out.result(
        || format!("token key {id} (private key generated on the token, not extractable)"),
        || json!({"ok": true, "pkcs11": true, "public": a.public, "key_id": id}),
    );
    Ok(())
}

/// A signing key: a PKCS#8 PEM file, or a key on a PKCS#11 token named by a `pkcs11:` URI.
pub fn load_signer(path: &Path) -> CmdResult<Box<dyn Signer>> {
    match path.to_str().filter(|_| is_pkcs11_uri(path)) {
        Some(text) => {
            let uri = Pkcs11Uri::parse(text).map_err(Fail::input)?;
            let key =
                Pkcs11Signer::open(&uri).map_err(|e| Fail::input(format!("the token key: {e}")))?;
            Ok(Box::new(key))
        }
        _ => Ok(Box::new(load_secret(path)?)),
    }
}

/// A private key from a PKCS#8 PEM file.
pub fn load_secret(path: &Path) -> CmdResult<SecretKey> {
    let text = files::read_text_limited(path, files::KEY)?;
    SecretKey::from_pkcs8_pem(&text)
        .map_err(|e| Fail::in_file(path, format!("not an Ed25519 PKCS#8 PEM private key: {e}")))
}

/// Whether a key "path" is a `pkcs11:` URI (a key on a token) rather than a file.
pub fn is_pkcs11_uri(path: &Path) -> bool {
    path.to_str().is_some_and(|t| t.starts_with("pkcs11:"))
}

/// A public key from an SPKI PEM file, the public half of a PKCS#8 PEM private key, or the public
/// key of a token key named by a `pkcs11:` URI (which logs in: the URI needs the PIN).
pub fn load_public(path: &Path) -> CmdResult<PublicKey> {
    if is_pkcs11_uri(path) {
        return load_signer(path).map(|k| k.public_key());
    }
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
