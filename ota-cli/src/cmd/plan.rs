//! `ota plan`: what a device would do with a release (the install decision), from the device
//! state it reports.

use crate::cmd::manifest::load_any;
use crate::cmd::root::{load_trusted, now_or};
use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::Args;
use ota_manifest::semver::Version;
use ota_manifest::{DeviceId, DeviceState, Installed, Sha256, Slot};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

// The help text, with DEVICE.json, is on `Command::Plan` in cmd.rs (a variant's doc comment
// overrides the struct's).
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The manifest: CBOR, JSON, or a signed envelope.
    #[arg(long)]
    manifest: PathBuf,
    /// What the device reports (JSON).
    #[arg(long)]
    device: PathBuf,
    /// Verify the envelope against this signed trust root first (with the device's
    /// last_sequence and now).
    #[arg(long)]
    root: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceJson {
    vendor: String,
    class: String,
    hardware: String,
    #[serde(default)]
    installed: Vec<InstalledJson>,
    #[serde(default)]
    security_counter: u64,
    #[serde(default)]
    last_sequence: Option<u64>,
    #[serde(default)]
    now: Option<u64>,
    #[serde(default = "slot_a")]
    active_slot: String,
}

fn slot_a() -> String {
    "A".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstalledJson {
    id: String,
    version: String,
    sha256: String,
}

fn device_state(path: &Path) -> CmdResult<DeviceState> {
    let d: DeviceJson = files::read_json_limited(path, files::DEVICE_STATE)?;
    let bad =
        |field: &str, e: &dyn std::fmt::Display| Fail::in_file(path, format!("`{field}`: {e}"));
    let installed = d
        .installed
        .iter()
        .map(|i| {
            Ok(Installed {
                id: i.id.clone(),
                version: Version::parse(&i.version).map_err(|e| bad("installed.version", &e))?,
                sha256: Sha256::from_hex(&i.sha256).map_err(|e| bad("installed.sha256", &e))?,
            })
        })
        .collect::<CmdResult<Vec<_>>>()?;
    Ok(DeviceState {
        vendor: DeviceId::from_hex(&d.vendor).map_err(|e| bad("vendor", &e))?,
        class: DeviceId::from_hex(&d.class).map_err(|e| bad("class", &e))?,
        hardware: d.hardware,
        installed,
        security_counter: d.security_counter,
        last_sequence: d.last_sequence,
        now: now_or(d.now)?,
        active_slot: match d.active_slot.as_str() {
            "A" | "a" => Slot::A,
            "B" | "b" => Slot::B,
            other => return Err(bad("active_slot", &format!("`{other}` is not A or B"))),
        },
    })
}

pub fn plan(a: &PlanArgs, out: &Out) -> CmdResult {
    let device = device_state(&a.device)?;
    let (manifest, enveloped, bytes) = load_any(&a.manifest)?;
    let signed_sequence = match (&a.root, enveloped) {
        (Some(root_path), true) => {
            let root = load_trusted(root_path)?;
            let policy = ota_verify::Policy::new(device.now, device.last_sequence.unwrap_or(0));
            let verified = root.verify(&bytes, None, &policy).map_err(|e| {
                Fail::refused(format!("{}: not verified: {e}", a.manifest.display()))
            })?;
            Some(verified.sequence)
        }
        (Some(_), false) => {
            return Err(Fail::refused(format!(
                "{}: --root given but the manifest is not signed",
                a.manifest.display()
            )));
        }
        (None, true) => {
            out.note(format!(
                "note: {}: the envelope's signature was not checked (give --root to check it)",
                a.manifest.display()
            ));
            let env = ota_verify::Envelope::decode(&bytes)
                .map_err(|e| Fail::in_file(&a.manifest, format!("not a COSE envelope: {e}")))?;
            Some(env.headers().sequence.ok_or_else(|| {
                Fail::refused(format!(
                    "{}: the envelope has no sequence header",
                    a.manifest.display()
                ))
            })?)
        }
        (None, false) => None,
    };
    // The envelope's sequence is what anti-rollback checked; the manifest's is what the plan
    // records. A device must refuse a release where they differ (as the demo's agent does).
    if let Some(seq) = signed_sequence.filter(|s| *s != manifest.sequence) {
        return Err(Fail::refused(format!(
            "{}: the envelope's sequence {seq} differs from the manifest's sequence {}",
            a.manifest.display(),
            manifest.sequence
        )));
    }
    let plan = manifest.plan(&device).map_err(|r| {
        Fail::refused(format!(
            "{} {}: refused: {r}",
            manifest.name, manifest.version
        ))
    })?;
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|s| {
            let (action, bytes) = match &s.action {
                ota_manifest::Action::Skip => (json!("skip"), 0),
                ota_manifest::Action::Full { size, .. } => (json!("full"), *size),
                ota_manifest::Action::Delta(d) => (
                    json!({"delta_from": d.from_version.to_string(), "algorithm": d.algorithm}),
                    d.patch_size,
                ),
                _ => (json!("other"), 0),
            };
            json!({"component": s.component, "version": s.version.to_string(), "action": action,
                   "download_bytes": bytes,
                   "slot": s.slot.map(|x| match x { Slot::A => "A", Slot::B => "B" }),
                   "reboot": s.reboot})
        })
        .collect();
    out.result(
        || {
            let mut t = format!(
                "install {} {} (sequence {}): {} bytes to download{}\n",
                manifest.name,
                manifest.version,
                plan.sequence,
                plan.download_bytes(),
                if plan.reboot_required() {
                    ", reboot into the other slot"
                } else {
                    ""
                }
            );
            for s in &steps {
                t.push_str(&format!("  {s}\n"));
            }
            t
        },
        || {
            json!({"ok": true, "sequence": plan.sequence, "download_bytes": plan.download_bytes(),
                   "reboot": plan.reboot_required(), "steps": steps})
        },
    );
    Ok(())
}
