//! `ota suit show` and `ota suit verify`: IETF SUIT envelopes through `ota-suit`.

use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::{Args, Subcommand};
use ota_suit::{Command, Envelope, Limits, MapOptions, Member, TrustAnchor, command_name};
use serde_json::json;
use std::path::PathBuf;

/// `ota suit ...`.
#[derive(Debug, Subcommand)]
pub enum SuitCmd {
    /// Decodes a SUIT envelope and prints its manifest, WITHOUT checking any signature.
    ///
    /// Example: ota suit show firmware.suit
    Show(ShowArgs),
    /// Verifies a SUIT envelope against a trust anchor (ES256 or Ed25519 public key PEM) and
    /// prints the ota manifest it maps to.
    ///
    /// Exit 0 when the signature verifies (a manifest that does not map to an ota manifest is
    /// reported, not a failure), 1 when it does not.
    ///
    /// Example: ota suit verify firmware.suit --anchor vendor.pem --manifest-out release.cbor
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The SUIT envelope (`.suit`).
    file: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The SUIT envelope (`.suit`).
    file: PathBuf,
    /// The trust anchor: a P-256 or Ed25519 SubjectPublicKeyInfo PEM.
    #[arg(long)]
    anchor: PathBuf,
    /// The slot the device installs into (decides try-each over component slots).
    #[arg(long)]
    slot: Option<u64>,
    /// Write the mapped ota manifest here (canonical CBOR).
    #[arg(long)]
    manifest_out: Option<PathBuf>,
}

/// Runs one `ota suit` command.
pub fn run(c: SuitCmd, out: &Out) -> CmdResult {
    match c {
        SuitCmd::Show(a) => show(&a, out),
        SuitCmd::Verify(a) => verify(&a, out),
    }
}

fn names(seq: &[Command]) -> Vec<&'static str> {
    seq.iter().map(|c| command_name(c.number())).collect()
}

fn member(m: Option<&Member<Vec<Command>>>) -> serde_json::Value {
    match m {
        None => serde_json::Value::Null,
        Some(Member::Included(s)) => json!(names(s)),
        Some(Member::Severed { resolved, .. }) => match resolved {
            Some(s) => json!({"severed": true, "commands": names(s)}),
            None => json!({"severed": true, "elided": true}),
        },
    }
}

fn show(a: &ShowArgs, out: &Out) -> CmdResult {
    let bytes = files::read_limited(&a.file, files::ENVELOPE)?;
    let env = Envelope::decode(&bytes, &Limits::default()).map_err(|e| {
        Fail::refused(format!(
            "{}: not a supported SUIT envelope: {e}",
            a.file.display()
        ))
    })?;
    let m = env.manifest();
    let components: Vec<String> = m.components.iter().map(|c| c.to_hex_path()).collect();
    let algs: Vec<i64> = env.signatures().iter().map(|s| s.alg()).collect();
    let doc = json!({
        "ok": true,
        "verified": false,
        "manifest_version": m.version,
        "sequence_number": m.sequence_number,
        "components": components,
        "signature_algorithms": algs,
        "reference_uri": m.reference_uri,
        "shared_sequence": names(&m.shared_sequence),
        "validate": m.validate.as_deref().map(names),
        "load": m.load.as_deref().map(names),
        "invoke": m.invoke.as_deref().map(names),
        "payload_fetch": member(m.payload_fetch.as_ref()),
        "install": member(m.install.as_ref()),
    });
    out.note("the signature is not checked by `suit show`; use `ota suit verify --anchor`");
    out.result(
        || {
            let mut t = format!(
                "{}: SUIT manifest v{}, sequence number {}, {} component(s) [{}], {} signature(s) (COSE alg {:?}), NOT verified\n",
                a.file.display(),
                m.version,
                m.sequence_number,
                components.len(),
                components.join(", "),
                algs.len(),
                algs
            );
            for (name, v) in [
                ("shared", &doc["shared_sequence"]),
                ("validate", &doc["validate"]),
                ("load", &doc["load"]),
                ("invoke", &doc["invoke"]),
                ("payload-fetch", &doc["payload_fetch"]),
                ("install", &doc["install"]),
            ] {
                if !v.is_null() {
                    t.push_str(&format!("  {name}: {v}\n"));
                }
            }
            t
        },
        || doc.clone(),
    );
    Ok(())
}

fn verify(a: &VerifyArgs, out: &Out) -> CmdResult {
    let pem = files::read_text_limited(&a.anchor, files::KEY)?;
    let anchor = TrustAnchor::from_pem(&pem).map_err(|e| Fail::in_file(&a.anchor, e))?;
    let bytes = files::read_limited(&a.file, files::ENVELOPE)?;
    let verified = ota_suit::verify(&bytes, &anchor, &Limits::default())
        .map_err(|e| Fail::refused(format!("{}: not verified: {e}", a.file.display())))?;
    let mut options = MapOptions::default();
    if let Some(s) = a.slot {
        options = options.slot(s);
    }
    let mapped = verified.to_manifest(&options);
    if let (Some(path), Ok(m)) = (&a.manifest_out, &mapped) {
        let cbor = m.to_cbor().map_err(Fail::input)?;
        files::write_atomic(path, &cbor)?;
    }
    let sequence = verified.manifest().sequence_number;
    let alg = format!("{:?}", anchor.algorithm());
    match &mapped {
        Ok(m) => {
            let comps: Vec<serde_json::Value> = m
                .components
                .iter()
                .map(|c| json!({"id": c.id, "size": c.size, "sha256": c.sha256.to_hex(), "uris": c.uris}))
                .collect();
            out.result(
                || {
                    let mut t = format!(
                        "{}: verified ({alg}), sequence number {sequence}; maps to ota manifest {} with {} component(s)\n",
                        a.file.display(),
                        m.name,
                        m.components.len()
                    );
                    for c in &m.components {
                        t.push_str(&format!(
                            "  {}: {} bytes, SHA-256 {}{}\n",
                            c.id,
                            c.size,
                            c.sha256.to_hex(),
                            c.uris.first().map(|u| format!(", {u}")).unwrap_or_default()
                        ));
                    }
                    t
                },
                || json!({"ok": true, "verified": true, "algorithm": alg, "sequence_number": sequence,
                          "ota_manifest": {"name": m.name, "components": comps}}),
            );
        }
        Err(e) => {
            if a.manifest_out.is_some() {
                return Err(Fail::refused(format!(
                    "{}: verified, but {e}; nothing written",
                    a.file.display()
                )));
            }
            out.result(
                || {
                    format!(
                        "{}: verified ({alg}), sequence number {sequence}; {e}",
                        a.file.display()
                    )
                },
                || json!({"ok": true, "verified": true, "algorithm": alg, "sequence_number": sequence,
                          "ota_manifest": null, "mapping_error": e.to_string()}),
            );
        }
    }
    Ok(())
}
