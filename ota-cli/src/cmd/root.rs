//! `ota root ...`: trust roots from a JSON description, signing, rotation checks.

use crate::cmd::keys::{hex, is_pkcs11_uri, load_public, load_signer};
use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::{Args, Subcommand};
use ota_verify::{Role, Signer, TrustRoot};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum RootCmd {
    /// Builds an (unsigned) trust root in canonical CBOR from a JSON description.
    ///
    /// The description: {"version": 1, "expires": 2000000000, "roles": [{"role": "root",
    /// "threshold": 2, "keys": ["a.pub.pem", "b.pub.pem", "c.pub.pem"]}, {"role": "release",
    /// "threshold": 1, "keys": ["release.pub.pem"]}]}. Key paths are relative to the description
    /// (a `pkcs11:` URI names a key on a token instead); roles are "root", "release" or a number.
    ///
    /// Example: ota root build --spec root.json --out root.cbor
    Build(BuildArgs),
    /// Signs a trust root (COSE_Sign, one signature per key). For a rotation sign with a
    /// threshold of the previous root's root keys and of the new root's.
    ///
    /// Example: ota root sign root.cbor --key a.pem --key b.pem --out root.signed
    Sign(SignArgs),
    /// Checks a chain of rotations from a trusted signed root to the newest, and its expiry.
    ///
    /// Example: ota root update --trusted root-v1.signed root-v2.signed root-v3.signed
    Update(UpdateArgs),
    /// Prints a trust root (signed or unsigned).
    ///
    /// Example: ota root show root.signed
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The JSON description.
    #[arg(long)]
    spec: PathBuf,
    /// Where to write the canonical CBOR trust root.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The unsigned trust root (from `ota root build`).
    root: PathBuf,
    /// A private key (PKCS#8 PEM) or a key on a PKCS#11 token (a `pkcs11:` URI, see `ota key
    /// generate --help`); repeat for each signer.
    #[arg(long = "key", required = true)]
    keys: Vec<PathBuf>,
    /// Where to write the signed trust root.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The signed trust root already trusted (as shipped in the device).
    #[arg(long)]
    trusted: PathBuf,
    /// The signed roots N+1, N+2, ... in order.
    chain: Vec<PathBuf>,
    /// The current time in Unix seconds (default: this machine's clock).
    #[arg(long)]
    now: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A trust root, signed or unsigned.
    root: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    version: u64,
    expires: u64,
    roles: Vec<RoleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    role: Value,
    threshold: u8,
    keys: Vec<PathBuf>,
}

pub fn run(cmd: RootCmd, out: &Out) -> CmdResult {
    match cmd {
        RootCmd::Build(a) => build(&a, out),
        RootCmd::Sign(a) => sign(&a, out),
        RootCmd::Update(a) => update(&a, out),
        RootCmd::Show(a) => show(&a, out),
    }
}

fn parse_role(v: &Value, spec: &Path) -> CmdResult<Role> {
    match v {
        Value::String(s) if s == "root" => Ok(Role::ROOT),
        Value::String(s) if s == "release" => Ok(Role::RELEASE),
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .map(Role)
            .ok_or_else(|| Fail::in_file(spec, format!("role {n} is not 0..=255"))),
        other => Err(Fail::in_file(
            spec,
            format!("role {other} is not \"root\", \"release\" or a number"),
        )),
    }
}

fn role_name(r: Role) -> Value {
    match r {
        Role::ROOT => json!("root"),
        Role::RELEASE => json!("release"),
        Role(n) => json!(n),
    }
}

fn build(a: &BuildArgs, out: &Out) -> CmdResult {
    let spec: Spec = files::read_json_limited(&a.spec, files::ROOT)?;
    let base = a.spec.parent().unwrap_or(Path::new("."));
    let mut builder = TrustRoot::builder(spec.version, spec.expires);
    for r in &spec.roles {
        let role = parse_role(&r.role, &a.spec)?;
        let keys = r
            .keys
            .iter()
            .map(|p| {
                load_public(&if is_pkcs11_uri(p) {
                    p.clone()
                } else {
                    base.join(p)
                })
            })
            .collect::<CmdResult<Vec<_>>>()?;
        builder = builder.role(role, r.threshold, &keys);
    }
    let root = builder.build().map_err(|e| Fail::in_file(&a.spec, e))?;
    let bytes = root.to_vec();
    files::write_atomic(&a.out, &bytes)?;
    out.result(
        || {
            format!(
                "{}: trust root version {} ({} bytes, unsigned)",
                a.out.display(),
                root.version(),
                bytes.len()
            )
        },
        || json!({"ok": true, "out": a.out, "version": root.version(), "bytes": bytes.len()}),
    );
    Ok(())
}

fn sign(a: &SignArgs, out: &Out) -> CmdResult {
    let bytes = files::read_limited(&a.root, files::ROOT)?;
    let root = TrustRoot::decode(&bytes).map_err(|e| Fail::in_file(&a.root, e))?;
    let keys: Vec<Box<dyn Signer>> = a
        .keys
        .iter()
        .map(|p| load_signer(p))
        .collect::<CmdResult<_>>()?;
    let signers: Vec<&dyn Signer> = keys.iter().map(|k| k.as_ref()).collect();
    let signed = root.sign(&signers).map_err(Fail::input)?;
    files::write_atomic(&a.out, &signed)?;
    out.result(
        || {
            format!(
                "{}: trust root version {} signed by {} key(s)",
                a.out.display(),
                root.version(),
                keys.len()
            )
        },
        || json!({"ok": true, "out": a.out, "version": root.version(), "signatures": keys.len()}),
    );
    Ok(())
}

/// Seconds since the Unix epoch from this machine's clock (the CLI is where the clock is read;
/// the libraries always take time as an argument).
pub fn now_or(explicit: Option<u64>) -> CmdResult<u64> {
    match explicit {
        Some(t) => Ok(t),
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .map_err(|_| Fail::input("the system clock is before 1970; pass --now")),
    }
}

/// A signed trust root loaded as the trust anchor (its own root keys must have signed it).
pub fn load_trusted(path: &Path) -> CmdResult<TrustRoot> {
    let bytes = files::read_limited(path, files::ROOT)?;
    trusted_from_bytes(path, &bytes)
}

/// A signed trust root from its bytes. A signature that does not hold is a refusal (exit 1, as
/// for any bad signature); bytes that are not a signed trust root at all are bad input (exit 2).
fn trusted_from_bytes(path: &Path, bytes: &[u8]) -> CmdResult<TrustRoot> {
    TrustRoot::from_signed(bytes).map_err(|e| {
        let message = format!("not a valid signed trust root: {e}");
        if is_signature_failure(&e) {
            Fail::refused(format!("{}: {message}", path.display()))
        } else {
            Fail::in_file(path, message)
        }
    })
}

/// The errors that say a signature does not hold, as opposed to bytes that do not decode.
pub fn is_signature_failure(e: &ota_verify::Error) -> bool {
    matches!(
        e,
        ota_verify::Error::BadSignature
            | ota_verify::Error::BelowThreshold { .. }
            | ota_verify::Error::UnknownKey
    )
}

fn update(a: &UpdateArgs, out: &Out) -> CmdResult {
    let trusted = load_trusted(&a.trusted)?;
    let now = now_or(a.now)?;
    let mut current = trusted;
    for p in &a.chain {
        let bytes = files::read_limited(p, files::ROOT)?;
        current = current
            .rotate(&bytes)
            .map_err(|e| Fail::refused(format!("{}: rotation refused: {e}", p.display())))?;
    }
    current
        .check_expiry(now)
        .map_err(|e| Fail::refused(format!("trust root version {}: {e}", current.version())))?;
    out.result(
        || {
            format!(
                "trust root is now version {} (expires {})",
                current.version(),
                current.expires()
            )
        },
        || json!({"ok": true, "version": current.version(), "expires": current.expires()}),
    );
    Ok(())
}

fn show(a: &ShowArgs, out: &Out) -> CmdResult {
    // Read once; which form it is shows in the first byte. An unsigned root is a CBOR map
    // (major type 5); a signed one is a COSE_Sign (tag 98, or an untagged array). Each form
    // reports its own decoder's error, so a non-canonical unsigned root says what is wrong with
    // it rather than why it is not a COSE structure.
    let bytes = files::read_limited(&a.root, files::ROOT)?;
    let (root, signed) = if bytes.first().is_some_and(|b| b >> 5 == 5) {
        let root = TrustRoot::decode(&bytes)
            .map_err(|e| Fail::in_file(&a.root, format!("not a valid unsigned trust root: {e}")))?;
        (root, false)
    } else {
        (trusted_from_bytes(&a.root, &bytes)?, true)
    };
    let roles: Vec<Value> = root
        .roles()
        .map(|rk| {
            let keys: Vec<String> = root
                .role_keys(rk.role())
                .map(|k| hex(k.key_id().as_bytes()))
                .collect();
            json!({"role": role_name(rk.role()), "threshold": rk.threshold(), "keys": keys})
        })
        .collect();
    let doc = json!({"version": root.version(), "expires": root.expires(), "signed": signed,
                     "roles": roles});
    out.result(
        || serde_json::to_string_pretty(&doc).unwrap_or_default(),
        || json!({"ok": true, "root": doc}),
    );
    Ok(())
}
