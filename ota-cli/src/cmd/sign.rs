//! `ota sign` and `ota verify`: COSE envelopes over exact bytes.

use crate::cmd::external::{self, Deferred, read_signature};
use crate::cmd::keys::{hex, load_public, load_signer};
use crate::cmd::root::{load_trusted, now_or};
use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::Args;
use ota_verify::{Policy, SignOptions, Signer};
use serde_json::json;
use sha2::Digest;
use std::path::{Path, PathBuf};

// The help text is on `Command::Sign` in cmd.rs (a variant's doc comment overrides the struct's).
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The file to sign (its bytes are signed as they are, never re-encoded).
    file: PathBuf,
    /// A private key (PKCS#8 PEM) or a key on a PKCS#11 token (a `pkcs11:` URI, see `ota key
    /// generate --help`); repeat for each signer.
    #[arg(long = "key", required_unless_present_any = ["external", "attach"])]
    keys: Vec<PathBuf>,
    /// Where to write the envelope.
    #[arg(long)]
    out: PathBuf,
    /// The public key (SPKI PEM) of a signer whose private key is elsewhere (a KMS, an offline
    /// ceremony); repeat for each. Its signature is left as 64 zero bytes until --attach. With
    /// --attach: the key whose signature is attached.
    #[arg(long)]
    external: Vec<PathBuf>,
    /// Write the exact bytes the matching --external signer must sign (the COSE Sig_structure)
    /// here; required once per --external, in the same order.
    #[arg(long = "export-to-be-signed", conflicts_with = "attach")]
    export_to_be_signed: Vec<PathBuf>,
    /// A raw 64-byte Ed25519 signature by the --external key to put into the envelope FILE
    /// (after checking it over that signer's bytes to sign); writes the result to --out.
    #[arg(long, requires = "external", conflicts_with_all = ["keys", "sequence", "expires", "valid_for", "detached"])]
    attach: Option<PathBuf>,
    /// With --attach: the payload of a detached envelope.
    #[arg(long, requires = "attach")]
    payload: Option<PathBuf>,
    /// The release sequence number (devices refuse one not above what they last accepted).
    #[arg(long)]
    sequence: Option<u64>,
    /// Expiry in Unix seconds.
    #[arg(long, conflicts_with = "valid_for")]
    expires: Option<u64>,
    /// Expiry as seconds from now (default 30 days when neither this nor --expires is given).
    #[arg(long)]
    valid_for: Option<u64>,
    /// Leave the payload out of the envelope; verifiers supply it with --payload.
    #[arg(long)]
    detached: bool,
}

// The help text is on `Command::Verify` in cmd.rs.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The envelope.
    file: PathBuf,
    /// The signed trust root to verify against.
    #[arg(long)]
    root: PathBuf,
    /// The lowest sequence number accepted (the last accepted one plus one). Default 1.
    #[arg(long, default_value_t = 1)]
    min_sequence: u64,
    /// The current time in Unix seconds (default: this machine's clock).
    #[arg(long)]
    now: Option<u64>,
    /// The payload of a detached envelope.
    #[arg(long)]
    payload: Option<PathBuf>,
    /// Write the verified payload here.
    #[arg(long)]
    payload_out: Option<PathBuf>,
}

pub fn sign(a: &SignArgs, out: &Out) -> CmdResult {
    if let Some(sig) = &a.attach {
        return attach(a, sig, out);
    }
    // Without its bytes to sign an external signer's placeholder could never be replaced.
    if a.export_to_be_signed.len() != a.external.len() {
        return Err(Fail::input(format!(
            "{} --export-to-be-signed for {} --external: give one per external signer, in order",
            a.export_to_be_signed.len(),
            a.external.len()
        )));
    }
    let payload = files::read_limited(&a.file, files::PAYLOAD)?;
    let from_manifest = ota_manifest::Manifest::from_cbor(&payload).ok();
    let sequence = match (a.sequence, &from_manifest) {
        (Some(s), Some(m)) if s != m.sequence => {
            return Err(Fail::input(format!(
                "--sequence {s} differs from the manifest's sequence {}",
                m.sequence
            )));
        }
        (Some(s), _) => s,
        (None, Some(m)) => m.sequence,
        (None, None) => {
            return Err(Fail::input(
                "--sequence is required (FILE is not an ota manifest that carries one)",
            ));
        }
    };
    let now = now_or(None)?;
    let expires = match (
        a.expires,
        a.valid_for,
        from_manifest.as_ref().and_then(|m| m.expires_at),
    ) {
        (Some(t), _, _) => t,
        (None, Some(d), _) => now.saturating_add(d),
        (None, None, Some(t)) => t,
        (None, None, None) => now.saturating_add(30 * 86_400),
    };
    let keys: Vec<Box<dyn Signer>> = a
        .keys
        .iter()
        .map(|p| load_signer(p))
        .collect::<CmdResult<_>>()?;
    let deferred: Vec<Deferred> = a
        .external
        .iter()
        .map(|p| load_public(p).map(Deferred::new))
        .collect::<CmdResult<_>>()?;
    let signers: Vec<&dyn Signer> = keys
        .iter()
        .map(|k| k.as_ref())
        .chain(deferred.iter().map(|d| d as &dyn Signer))
        .collect();
    let opts = SignOptions {
        sequence: Some(sequence),
        expires: Some(expires),
        detached: a.detached,
        ..SignOptions::default()
    };
    let envelope = if signers.len() == 1 {
        ota_verify::sign1(&payload, signers[0], &opts)
    } else {
        ota_verify::sign(&payload, &signers, &opts)
    }
    .map_err(Fail::input)?;
    files::write_atomic(&a.out, &envelope)?;
    for (d, path) in deferred.iter().zip(&a.export_to_be_signed) {
        let tbs = d
            .to_be_signed()
            .ok_or_else(|| Fail::input("the external signer was not asked to sign"))?;
        files::write_atomic(path, &tbs)?;
    }
    out.result(
        || {
            format!(
                "{}: {} signature(s){}, sequence {sequence}, expires {expires}, {} payload bytes{}",
                a.out.display(),
                signers.len(),
                if deferred.is_empty() {
                    String::new()
                } else {
                    format!(" ({} external, to attach)", deferred.len())
                },
                payload.len(),
                if a.detached { " (detached)" } else { "" }
            )
        },
        || {
            json!({"ok": true, "out": a.out, "signatures": signers.len(),
                   "external": deferred.len(), "sequence": sequence,
                   "expires": expires, "detached": a.detached, "bytes": envelope.len()})
        },
    );
    Ok(())
}

/// `ota sign ENVELOPE --attach SIG --external PUB --out OUT`.
fn attach(a: &SignArgs, sig: &Path, out: &Out) -> CmdResult {
    let [public] = a.external.as_slice() else {
        return Err(Fail::input(
            "--attach takes exactly one --external: the key that made the signature",
        ));
    };
    let key = load_public(public)?;
    let signature = read_signature(sig)?;
    let envelope = files::read_limited(&a.file, files::ENVELOPE)?;
    let detached = a
        .payload
        .as_ref()
        .map(|p| files::read_limited(p, files::PAYLOAD))
        .transpose()?;
    let (signed, index) = external::attach(&envelope, detached.as_deref(), &key, &signature)
        .map_err(|f| match f {
            Fail::Refused(m) => Fail::refused(format!("{}: {m}", a.file.display())),
            Fail::Input(m) => Fail::input(format!("{}: {m}", a.file.display())),
        })?;
    files::write_atomic(&a.out, &signed)?;
    let id = hex(key.key_id().as_bytes());
    out.result(
        || format!("{}: signature {index} attached (key {id})", a.out.display()),
        || json!({"ok": true, "out": a.out, "index": index, "key_id": id}),
    );
    Ok(())
}

pub fn verify(a: &VerifyArgs, out: &Out) -> CmdResult {
    let root = load_trusted(&a.root)?;
    let envelope = files::read_limited(&a.file, files::ENVELOPE)?;
    let detached = a
        .payload
        .as_ref()
        .map(|p| files::read_limited(p, files::PAYLOAD))
        .transpose()?;
    let now = now_or(a.now)?;
    let policy = Policy::new(now, a.min_sequence.saturating_sub(1));
    let verified = root
        .verify(&envelope, detached.as_deref(), &policy)
        .map_err(|e| Fail::refused(format!("{}: not verified: {e}", a.file.display())))?;
    if let Some(p) = &a.payload_out {
        files::write_atomic(p, verified.payload)?;
    }
    let digest = hex(&sha2::Sha256::digest(verified.payload));
    let manifest = ota_manifest::Manifest::from_cbor(verified.payload).ok();
    let what = manifest
        .as_ref()
        .map(|m| format!("manifest {} {}", m.name, m.version));
    out.result(
        || {
            format!(
                "{}: verified: {} of trust root v{}'s release keys, sequence {}, expires {}, payload {} bytes SHA-256 {digest}{}",
                a.file.display(),
                verified.signers,
                root.version(),
                verified.sequence,
                verified.expires,
                verified.payload.len(),
                what.as_ref().map(|w| format!(" ({w})")).unwrap_or_default()
            )
        },
        || {
            json!({"ok": true, "signers": verified.signers, "root_version": root.version(),
                   "sequence": verified.sequence, "expires": verified.expires,
                   "payload_bytes": verified.payload.len(), "payload_sha256": digest,
                   "manifest": what})
        },
    );
    Ok(())
}
