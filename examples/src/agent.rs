//! The update agent on each device: verify the signed manifest against the trust root it ships
//! with, decide from the manifest alone (ota-manifest's `plan`), download the delta or the full
//! image, apply it frame by frame into the inactive slot (ota-delta, resumable), check the result
//! against the signed digest (ota-verify), trial-boot, and fall back when the health check fails.

use std::cell::Cell;
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use ota_delta::{Apply, ApplyOptions, Cursor, SourceCheck};
use ota_manifest::{Action, DeviceId, DeviceState, Layer, Refusal};
use ota_verify::{ChunkVerifier, DigestVerifier, HashingWriter, Policy, Sha256, TrustRoot};

use crate::fleet::{Device, Installed, Slot};
use crate::images::BuildInfo;
use crate::release::{CLASS, Release, VENDOR};

/// Identical verified images share memory (see [`Installed`]): keyed by SHA-256.
#[derive(Debug, Default)]
pub struct ContentStore {
    by_digest: Mutex<HashMap<[u8; 32], Arc<[u8]>>>,
}

impl ContentStore {
    /// Keeps `bytes` (already verified to have SHA-256 `digest`) or returns the copy already held.
    /// This only saves the simulation's memory: the device wrote and verified its own bytes.
    pub fn intern(&self, digest: [u8; 32], bytes: Vec<u8>) -> Arc<[u8]> {
        match self.by_digest.lock() {
            Ok(mut m) => Arc::clone(m.entry(digest).or_insert_with(|| Arc::from(bytes))),
            // A poisoned lock only means another thread panicked; keep this device's own copy.
            Err(_) => Arc::from(bytes),
        }
    }
}

/// How an install attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything installed; the new firmware (if any) booted and passed its health check.
    Installed,
    /// The device already had exactly this release.
    UpToDate,
    /// The manifest's install decision refused it, by rule.
    Refused(Refusal),
    /// The signed envelope did not verify (signature, expiry, rollback): nothing was fetched.
    Rejected(String),
    /// The new firmware was written and verified but failed its trial boot; the bootloader went
    /// back to the old slot.
    RolledBack(String),
    /// A download or apply failed; nothing was switched.
    Failed(String),
}

/// What one attempt cost and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The result.
    pub outcome: Outcome,
    /// Bytes downloaded (patches, full images, re-sent headers after a resume).
    pub bytes_sent: u64,
    /// Bytes the same install would have downloaded as full images.
    pub bytes_full: u64,
    /// Components installed from a delta.
    pub deltas: u32,
    /// Components installed from a full image.
    pub fulls: u32,
    /// The download was interrupted and resumed from the persisted cursor.
    pub resumed: bool,
}

impl Attempt {
    fn new(outcome: Outcome) -> Self {
        Attempt {
            outcome,
            bytes_sent: 0,
            bytes_full: 0,
            deltas: 0,
            fulls: 0,
            resumed: false,
        }
    }
}

/// The component id of the firmware, app and model.
pub const FIRMWARE: &str = "firmware";
/// The container app's component id.
pub const APP: &str = "app";
/// The AI model's component id.
pub const MODEL: &str = "model";

/// What the device reports to the manifest's install decision.
pub fn device_state(dev: &Device, now: u64) -> Result<DeviceState, String> {
    let mut installed = Vec::new();
    if let Some(fw) = dev.active_firmware() {
        installed.push(ota_manifest::Installed {
            id: FIRMWARE.to_owned(),
            version: fw.version.clone(),
            sha256: ota_manifest::Sha256(fw.digest),
        });
    }
    for (id, c) in [(APP, &dev.app), (MODEL, &dev.model)] {
        installed.push(ota_manifest::Installed {
            id: id.to_owned(),
            version: c.version.clone(),
            sha256: ota_manifest::Sha256(c.digest),
        });
    }
    Ok(DeviceState {
        vendor: DeviceId::new(VENDOR).map_err(|e| e.to_string())?,
        class: DeviceId::new(CLASS).map_err(|e| e.to_string())?,
        hardware: dev.hw.name().to_owned(),
        installed,
        security_counter: dev.security_floor,
        last_sequence: (dev.last_sequence > 0).then_some(dev.last_sequence),
        now,
        active_slot: if dev.active == 0 {
            ota_manifest::Slot::A
        } else {
            ota_manifest::Slot::B
        },
    })
}

/// The simulated bootloader and health check, reading the booted slot's own bytes: the image
/// must carry a build-info block for this board, and its sensor driver must talk to the sensor
/// part this board carries.
pub fn trial_boot(dev: &Device, slot: usize) -> Result<(), String> {
    let image = dev
        .slots
        .get(slot)
        .and_then(|s| s.image.as_ref())
        .ok_or("empty slot")?;
    let info =
        BuildInfo::read(&image.bytes).ok_or("no build-info block: bootloader refuses the image")?;
    if info.hardware_mask & dev.hw.bit() == 0 {
        return Err(format!(
            "image {} is not built for revision {}",
            info.version,
            dev.hw.name()
        ));
    }
    if info.sensor_mask & (1 << dev.sensor_variant) == 0 {
        return Err(format!(
            "health check failed: sensor variant {} does not answer (driver missing in {})",
            dev.sensor_variant, info.version
        ));
    }
    Ok(())
}

/// A patch download that stops after `limit` bytes (the link drops), for the resume story.
struct Flaky<'a> {
    data: &'a [u8],
    pos: &'a Cell<usize>,
    limit: &'a Cell<usize>,
}

impl Read for Flaky<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.pos.get();
        if pos >= self.data.len() {
            return Ok(0); // the real end of the patch (the apply checks nothing follows)
        }
        if pos >= self.limit.get() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "link dropped",
            ));
        }
        let end = self.limit.get().min(self.data.len());
        let n = buf.len().min(end.saturating_sub(pos));
        buf[..n].copy_from_slice(&self.data[pos..pos + n]);
        self.pos.set(pos + n);
        Ok(n)
    }
}

/// Applies a verified patch onto `source`, writing the new image. With `cut_after_frames`, the
/// link drops after that many frames: the device keeps the 64-byte cursor and the bytes written
/// so far (as it would in flash), and resumes with an HTTP range request from the cursor's patch
/// offset: only the header and the bytes after the cursor are sent again.
///
/// Returns the image and the bytes downloaded.
fn apply_delta(
    patch: &[u8],
    source: &[u8],
    expected: &ota_manifest::Component,
    cut_after_frames: Option<u32>,
) -> Result<(Vec<u8>, u64, bool), String> {
    // The source is the device's installed image, whose digest the manifest's delta names and
    // which the device verified when it installed it: no need to hash it again.
    let opts = ApplyOptions {
        source_check: SourceCheck::TrustCaller,
        ..Default::default()
    };
    let want = Sha256(expected.sha256.0);
    match cut_after_frames {
        None => {
            // One pass: the patch streams in, frames are applied, the output is hashed as it is
            // written and checked against the signed size and digest at the end.
            let mut sink = HashingWriter::new(
                Vec::with_capacity(expected.size as usize),
                expected.size,
                want,
            );
            let mut job =
                Apply::new(patch, source, &opts).map_err(|e| format!("patch header: {e}"))?;
            job.run(&mut sink).map_err(|e| format!("apply: {e}"))?;
            let image = sink.finish().map_err(|e| format!("result digest: {e}"))?;
            Ok((image, patch.len() as u64, false))
        }
        Some(frames) => {
            let mut slot = Vec::with_capacity(expected.size as usize);
            let mut saved = None;
            let (pos, limit) = (Cell::new(0), Cell::new(patch.len()));
            {
                let mut reader = Flaky {
                    data: patch,
                    pos: &pos,
                    limit: &limit,
                };
                let mut job = Apply::new(&mut reader, source, &opts)
                    .map_err(|e| format!("patch header: {e}"))?;
                for _ in 0..frames {
                    match job
                        .next_frame(&mut slot)
                        .map_err(|e| format!("apply: {e}"))?
                    {
                        Some(c) => saved = Some(c.to_bytes()),
                        None => break,
                    }
                }
                if job.is_finished() {
                    // The patch has no more frames than the cut (frames cover variable target
                    // lengths): the link drop came too late to interrupt anything.
                    let mut check = DigestVerifier::new(expected.size, want);
                    check.update(&slot).map_err(|e| format!("result: {e}"))?;
                    check.finish().map_err(|e| format!("result: {e}"))?;
                    return Ok((slot, patch.len() as u64, false));
                }
                // The link drops inside the next frame's header: that frame fails, and the device
                // keeps `saved` (64 bytes, persisted with the frames written before it).
                limit.set(pos.get() + ota_delta::FRAME_HEADER_LEN / 2);
                if job.next_frame(&mut slot).is_ok() {
                    return Err("the apply went on past a dropped link".to_owned());
                }
            }
            let Some(bytes) = saved else {
                return Err("interrupted before the first frame".to_owned());
            };
            let cursor = Cursor::from_bytes(&bytes).map_err(|e| format!("cursor: {e}"))?;
            // Whatever the failed frame wrote past the cursor is discarded (the slot is truncated
            // to the cursor's target offset), then the download resumes at the cursor.
            slot.truncate(cursor.target_offset() as usize);
            let header: &[u8; ota_delta::HEADER_LEN] = patch
                .get(..ota_delta::HEADER_LEN)
                .and_then(|h| h.try_into().ok())
                .ok_or("short patch")?;
            // Only the header and the bytes from the cursor's patch offset on are sent again
            // (a range request). The slot is read back and re-hashed against the cursor, so a
            // bit that flipped in flash across the power cut is refused, not called verified.
            let tail = patch
                .get(cursor.patch_offset() as usize..)
                .ok_or("cursor past the patch")?;
            let mut job = Apply::resume(header, tail, source, &cursor, &slot[..], &opts)
                .map_err(|e| format!("resume: {e}"))?;
            job.run(&mut slot)
                .map_err(|e| format!("apply after resume: {e}"))?;
            // Read the slot back and check it against the signed manifest.
            let mut check = DigestVerifier::new(expected.size, want);
            check.update(&slot).map_err(|e| format!("result: {e}"))?;
            check.finish().map_err(|e| format!("result digest: {e}"))?;
            let first = pos.get().min(patch.len()) as u64;
            let sent = first + header.len() as u64 + tail.len() as u64;
            Ok((slot, sent, true))
        }
    }
}

/// Downloads a full image chunk by chunk, each checked against the manifest's chunk digests.
fn fetch_full(image: &[u8], c: &ota_manifest::Component) -> Result<Vec<u8>, String> {
    let chunks = c.chunks.as_ref().ok_or("component has no chunk table")?;
    let table: Vec<u8> = chunks.sha256.iter().flat_map(|d| d.0).collect();
    let mut v = ChunkVerifier::new(c.size, chunks.chunk_size, &table).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(image.len());
    for piece in image.chunks(chunks.chunk_size as usize) {
        v.verify_chunk(piece)
            .map_err(|e| format!("chunk {}: {e}", v.next_chunk()))?;
        out.extend_from_slice(piece);
    }
    if !v.is_complete() {
        return Err("image shorter than its chunk table".to_owned());
    }
    let mut whole = DigestVerifier::new(c.size, Sha256(c.sha256.0));
    whole.update(&out).map_err(|e| e.to_string())?;
    whole.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// One install attempt of `release` on `dev` at `now`. `cut_after_frames`: the firmware
/// download is interrupted after that many frames and resumed.
pub fn install(
    dev: &mut Device,
    release: &Release,
    root: &TrustRoot,
    now: u64,
    cut_after_frames: Option<u32>,
    store: &ContentStore,
) -> Attempt {
    // 1. The envelope: a threshold of release keys, not expired, newer than what was accepted.
    let verified = match root.verify(&release.signed, None, &Policy::new(now, dev.last_sequence)) {
        Ok(v) => v,
        Err(e) => return Attempt::new(Outcome::Rejected(e.to_string())),
    };
    let manifest = match ota_manifest::Manifest::from_cbor(verified.payload) {
        Ok(m) if m.sequence == verified.sequence => m,
        Ok(_) => {
            return Attempt::new(Outcome::Rejected(
                "manifest sequence differs from the signed one".into(),
            ));
        }
        Err(e) => return Attempt::new(Outcome::Rejected(format!("manifest: {e}"))),
    };
    // 2. The install decision, from the manifest alone.
    let state = match device_state(dev, now) {
        Ok(s) => s,
        Err(e) => return Attempt::new(Outcome::Failed(e)),
    };
    let plan = match manifest.plan(&state) {
        Ok(p) => p,
        Err(refusal) => return Attempt::new(Outcome::Refused(refusal)),
    };
    let mut a = Attempt::new(Outcome::Installed);
    if plan.is_noop() {
        a.outcome = Outcome::UpToDate;
        return a;
    }
    // 3. Fetch and write every component; firmware goes to the inactive slot.
    let mut staged: Vec<(String, Layer, Installed)> = Vec::new();
    for step in &plan.steps {
        let Some(c) = manifest.components.iter().find(|c| c.id == step.component) else {
            a.outcome = Outcome::Failed(format!("plan names unknown component {}", step.component));
            return a;
        };
        let installed_now = match c.id.as_str() {
            FIRMWARE => dev.active_firmware().cloned(),
            APP => Some(dev.app.clone()),
            MODEL => Some(dev.model.clone()),
            _ => None,
        };
        let result = match &step.action {
            Action::Skip => continue,
            Action::Full { .. } => {
                a.bytes_full += c.size;
                a.fulls += 1;
                let Some(image) = release.images.get(&c.id) else {
                    a.outcome = Outcome::Failed(format!("CDN has no image for {}", c.id));
                    return a;
                };
                a.bytes_sent += image.len() as u64;
                fetch_full(image, c)
            }
            Action::Delta(d) => {
                a.bytes_full += c.size;
                a.deltas += 1;
                let (Some(patch), Some(source)) = (
                    release.patches.get(&(c.id.clone(), d.from_sha256.0)),
                    installed_now.as_ref(),
                ) else {
                    a.outcome = Outcome::Failed(format!("no patch or source for {}", c.id));
                    return a;
                };
                // The patch itself is checked against the signed size and digest as it arrives.
                let mut pv = DigestVerifier::new(d.patch_size, Sha256(d.patch_sha256.0));
                if let Err(e) = pv.update(patch).and_then(|()| pv.finish()) {
                    a.outcome = Outcome::Failed(format!("patch for {}: {e}", c.id));
                    return a;
                }
                let cut = if c.layer == Layer::Firmware {
                    cut_after_frames
                } else {
                    None
                };
                apply_delta(patch, &source.bytes, c, cut).map(|(img, sent, resumed)| {
                    a.bytes_sent += sent;
                    a.resumed |= resumed;
                    img
                })
            }
            _ => Err("unknown action".to_owned()),
        };
        match result {
            Ok(image) => {
                let digest = c.sha256.0;
                let bytes = store.intern(digest, image);
                staged.push((
                    c.id.clone(),
                    c.layer,
                    Installed {
                        version: c.version.clone(),
                        digest,
                        bytes,
                    },
                ));
            }
            Err(e) => {
                a.outcome = Outcome::Failed(e);
                return a;
            }
        }
    }
    // 4. Firmware first: write the inactive slot, trial-boot it, fall back if unhealthy. The
    //    app and the model switch only on a healthy new firmware.
    if let Some((_, _, fw)) = staged.iter().find(|(_, l, _)| *l == Layer::Firmware) {
        let old = dev.active;
        let new = 1 - old;
        dev.slots[new] = Slot {
            image: Some(fw.clone()),
            bootable: true,
        };
        dev.active = new;
        dev.boots += 1;
        if let Err(why) = trial_boot(dev, new) {
            // The bootloader's trial counter runs out: back to the old slot, the new one is
            // marked unbootable. The device is exactly as before.
            dev.active = old;
            dev.boots += 1;
            dev.slots[new].bootable = false;
            a.outcome = Outcome::RolledBack(why);
            return a;
        }
    }
    for (id, _, c) in staged {
        match id.as_str() {
            APP => dev.app = c,
            MODEL => dev.model = c,
            _ => {}
        }
    }
    dev.last_sequence = plan.sequence;
    dev.security_floor = dev.security_floor.max(plan.security_counter);
    a
}
