//! The device side of the simulation: each device runs an [`ota_agent::Agent`] on simulated
//! media (`ota_agent::sim`). The lifecycle (verify, decide, download, apply, trial boot, commit
//! or revert, the anti-rollback floor) is ota-agent's; this module only simulates what is around
//! it: the CDN and a link that drops (`Cdn`), the board that boots or not and whose sensor
//! answers or not (`Board`), and the device's media between installs.
//!
//! Every device keeps a small flash (`Device::nvm`: the agent's record in two sectors and the
//! bootloader's metadata in two more) for its whole life. The slots' bytes are held by the
//! fleet as shared, content-addressed images ([`ContentStore`]); for an install they are written
//! onto simulated slots ([`SimSlots`]), the agent works on those, and what they hold afterwards
//! is read back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ota_agent::sim::{PowerRail, SimBoot, SimFlash, SimSlots};
use ota_agent::{
    Agent, BootControl, Clock, Config, Env, Fetch, FetchError, FlashStore, Geometry, Health,
    HealthCheck, Installer, Progress, Resource, SlotInstaller, Stage, State,
};
use ota_manifest::{Action, DeviceId, DeviceState, Slot as AbSlot};
use ota_verify::TrustRoot;

use crate::fleet::{Device, HwRev, Installed};
use crate::images::{BUILD_INFO_LEN, BUILD_INFO_OFFSET, BuildInfo};
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
    /// Everything installed; the new firmware (if any) booted and passed its health check
    /// (the agent committed).
    Installed,
    /// The device already had exactly this release.
    UpToDate,
    /// The manifest's install decision refused it, by rule (the refusal's text).
    Refused(String),
    /// The signed envelope did not verify (signature, expiry, rollback): nothing was fetched.
    Rejected(String),
    /// The new firmware was written and verified but failed its trial boot; the agent reverted
    /// and the bootloader went back to the old slot.
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

/// The component id of the firmware.
pub const FIRMWARE: &str = "firmware";
/// The container app's component id.
pub const APP: &str = "app";
/// The AI model's component id.
pub const MODEL: &str = "model";

/// The device's small flash: sectors 0-1 hold the agent's record, 2-3 the boot metadata.
pub const NVM: Geometry = Geometry {
    sector_size: 512,
    sector_count: 4,
    write_align: 4,
    erased: 0xFF,
};
/// First sector of the agent's record in [`NVM`].
pub const STORE_SECTOR: u32 = 0;
/// First sector of the bootloader's metadata in [`NVM`].
pub const BOOT_SECTOR: u32 = 2;

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
        active_slot: ab(dev.active),
    })
}

fn ab(i: usize) -> AbSlot {
    if i == 0 { AbSlot::A } else { AbSlot::B }
}

fn idx(s: AbSlot) -> usize {
    match s {
        AbSlot::A => 0,
        AbSlot::B => 1,
    }
}

/// The simulated bootloader's own check of an image (the start of its bytes): it starts only an
/// image with a build-info block for this board.
fn bootloader_accepts(head: &[u8], hw: HwRev) -> Result<BuildInfo, String> {
    let info = BuildInfo::read(head).ok_or("no build-info block: bootloader refuses the image")?;
    if info.hardware_mask & hw.bit() == 0 {
        return Err(format!(
            "image {} is not built for revision {}",
            info.version,
            hw.name()
        ));
    }
    Ok(info)
}

/// The board's health check: its sensor driver must talk to the sensor part this board carries.
fn sensor_answers(info: &BuildInfo, sensor_variant: u8) -> Result<(), String> {
    if info.sensor_mask & (1 << sensor_variant) == 0 {
        return Err(format!(
            "health check failed: sensor variant {} does not answer (driver missing in {})",
            sensor_variant, info.version
        ));
    }
    Ok(())
}

/// Whether `slot` of `dev` would boot and pass the health check (the bootloader's check and the
/// board's, on the slot's own bytes).
pub fn trial_boot(dev: &Device, slot: usize) -> Result<(), String> {
    let image = dev
        .slots
        .get(slot)
        .and_then(|s| s.image.as_ref())
        .ok_or("empty slot")?;
    let info = bootloader_accepts(&image.bytes, dev.hw)?;
    sensor_answers(&info, dev.sensor_variant)
}

/// The simulated CDN behind the device's link: serves the release's images and patches by
/// byte range. With `drop_at`, the link drops once when the firmware patch download reaches
/// that byte (the device keeps its cursor and resumes with a range request).
struct Cdn<'a> {
    release: &'a Release,
    drop_at: Option<u64>,
    sent: u64,
    /// The link dropped and the firmware patch has not been asked for again yet.
    dropped: bool,
    /// After the drop, the agent asked for the patch past its header: it resumed from its
    /// persisted cursor (a restart from byte 0 reads the header, then the byte right after it).
    resumed_from_cursor: bool,
}

impl Fetch for Cdn<'_> {
    fn fetch(
        &mut self,
        what: &Resource<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, FetchError> {
        let (data, firmware_patch) = match *what {
            Resource::Image { component, .. } => (self.release.images.get(component), false),
            Resource::Patch {
                component,
                from_sha256,
                ..
            } => (
                self.release
                    .patches
                    .get(&(component.to_owned(), *from_sha256)),
                component == FIRMWARE,
            ),
        };
        let data = data.ok_or_else(|| FetchError::NotFound(format!("{what:?}")))?;
        let start = usize::try_from(offset)
            .ok()
            .filter(|&o| o <= data.len())
            .ok_or_else(|| FetchError::NotFound("range past the end".into()))?;
        let mut end = data.len().min(start.saturating_add(buf.len()));
        if firmware_patch && self.dropped && start > 0 {
            self.dropped = false;
            self.resumed_from_cursor = start > ota_delta::HEADER_LEN;
        }
        if firmware_patch && let Some(at) = self.drop_at {
            let at = usize::try_from(at).unwrap_or(usize::MAX);
            if start >= at {
                self.drop_at = None;
                self.dropped = true;
                return Err(FetchError::ConnectionLost("link dropped".into()));
            }
            end = end.min(at);
        }
        let n = end - start;
        buf[..n].copy_from_slice(&data[start..end]);
        self.sent += n as u64;
        Ok(n)
    }
}

/// Where the link drops when it is cut after `frames` frames of `patch`: inside the next
/// frame's header (`None` when the patch has no more frames than that: the drop comes too late
/// to interrupt anything). The CDN side finds the frame boundaries by applying the patch once.
fn drop_point(patch: &[u8], source: &[u8], frames: u32) -> Option<u64> {
    let opts = ota_delta::ApplyOptions {
        source_check: ota_delta::SourceCheck::TrustCaller,
        ..Default::default()
    };
    let mut job = ota_delta::Apply::new(patch, source, &opts).ok()?;
    let mut sink = std::io::sink();
    let mut last = None;
    for _ in 0..frames {
        last = Some(job.next_frame(&mut sink).ok()??);
    }
    if job.is_finished() {
        return None;
    }
    Some(last?.patch_offset() + ota_delta::FRAME_HEADER_LEN as u64 / 2)
}

/// The board during a trial: reads the booted firmware slot and checks its sensor. The text of
/// the last failure is kept for the report (the agent's record keeps only its reason code).
struct Board {
    firmware: SimSlots,
    booted: AbSlot,
    hw: HwRev,
    sensor_variant: u8,
    failure: Option<String>,
}

impl HealthCheck for Board {
    fn check(&mut self, _deadline_ms: u64) -> Health {
        let head = self
            .firmware
            .snapshot(self.booted, BUILD_INFO_OFFSET + BUILD_INFO_LEN);
        let r = bootloader_accepts(&head, self.hw)
            .and_then(|info| sensor_answers(&info, self.sensor_variant));
        match r {
            Ok(()) => Health::Pass,
            Err(why) => {
                self.failure = Some(why.clone());
                Health::Fail(why)
            }
        }
    }
}

/// The simulated clock does not move during an install: every health check meets its deadline.
struct Frozen(u64);

impl Clock for Frozen {
    fn now_ms(&self) -> u64 {
        self.0
    }
}

type SimAgent = Agent<FlashStore<SimFlash>, SimBoot>;

/// The device's flash, made at its first update: blank (the bootloader's factory metadata boots
/// slot A), then, for a unit shipped running slot B, provisioned through the boot control the
/// way a factory script would (B armed and A retired, one boot on B, B marked good).
fn nvm(dev: &mut Device) -> ota_agent::Result<SimFlash> {
    if let Some(f) = &dev.nvm {
        return Ok(f.clone());
    }
    let flash = SimFlash::new(PowerRail::new(), NVM);
    if dev.active == 1 {
        let mut boot = SimBoot::power_on(flash.clone(), BOOT_SECTOR)?;
        boot.set_pending(AbSlot::B, 1)?;
        boot.mark_unbootable(AbSlot::A)?;
        let mut boot = SimBoot::power_on(flash.clone(), BOOT_SECTOR)?;
        boot.mark_successful(AbSlot::B)?;
    }
    dev.nvm = Some(flash.clone());
    Ok(flash)
}

fn open(flash: &SimFlash, boot: SimBoot) -> ota_agent::Result<SimAgent> {
    let store = FlashStore::new(flash.clone(), STORE_SECTOR)?;
    let cfg = Config::default();
    Agent::open(store, boot, cfg)
}

/// Two simulated slots holding `images` (A, B), at least `min` bytes each.
fn slots(images: [Option<&Installed>; 2], min: u64) -> SimSlots {
    let size = images
        .iter()
        .flatten()
        .map(|i| i.bytes.len())
        .chain([usize::try_from(min).unwrap_or(usize::MAX)])
        .max()
        .unwrap_or(0);
    let s = SimSlots::new(PowerRail::new(), size, 0xFF);
    for (slot, image) in [AbSlot::A, AbSlot::B].into_iter().zip(images) {
        if let Some(i) = image {
            s.factory(slot, &i.bytes);
        }
    }
    s
}

/// One install attempt of `release` on `dev` at `now`. `cut`: the firmware patch download loses
/// its link after that many frames (inside the next frame's header), and resumes.
pub fn install(
    dev: &mut Device,
    release: &Release,
    root: &TrustRoot,
    now: u64,
    cut: Option<u32>,
    store: &ContentStore,
) -> Attempt {
    match run(dev, release, root, now, cut, store) {
        Ok(a) => a,
        Err(e) => Attempt::new(Outcome::Failed(format!("agent: {e}"))),
    }
}

fn run(
    dev: &mut Device,
    release: &Release,
    root: &TrustRoot,
    now: u64,
    cut: Option<u32>,
    store: &ContentStore,
) -> ota_agent::Result<Attempt> {
    // 1. The envelope and the install decision (ota-agent's `Release`: signature threshold,
    //    expiry, anti-rollback, the manifest's rules).
    let state = match device_state(dev, now) {
        Ok(s) => s,
        Err(e) => return Ok(Attempt::new(Outcome::Failed(e))),
    };
    let flash = nvm(dev)?;
    let rel = match ota_agent::Release::verify(root, &release.signed, &state) {
        Ok(r) => r,
        Err(rej) => {
            let mut agent = open(&flash, SimBoot::power_on(flash.clone(), BOOT_SECTOR)?)?;
            agent.reject(rej.stage, rej.reason)?;
            return Ok(Attempt::new(if rej.stage == Stage::Decide {
                Outcome::Refused(rej.detail)
            } else {
                Outcome::Rejected(rej.detail)
            }));
        }
    };
    let mut a = Attempt::new(Outcome::Installed);
    if rel.plan().is_noop() {
        a.outcome = Outcome::UpToDate;
        return Ok(a);
    }
    for step in &rel.plan().steps {
        let Some(c) = rel
            .manifest()
            .components
            .iter()
            .find(|c| c.id == step.component)
        else {
            continue;
        };
        match step.action {
            Action::Full { .. } => (a.fulls, a.bytes_full) = (a.fulls + 1, a.bytes_full + c.size),
            Action::Delta(_) => (a.deltas, a.bytes_full) = (a.deltas + 1, a.bytes_full + c.size),
            _ => {}
        }
    }
    let size_of = |id: &str| {
        rel.manifest()
            .components
            .iter()
            .find(|c| c.id == id)
            .map_or(0, |c| c.size)
    };
    // 2. The media: the firmware slots, and an A/B volume each for the app and the model.
    let fw_slots = slots(
        [dev.slots[0].image.as_ref(), dev.slots[1].image.as_ref()],
        size_of(FIRMWARE),
    );
    let app_vol = slots([Some(&dev.app), None], size_of(APP));
    let model_vol = slots([Some(&dev.model), None], size_of(MODEL));
    let mut fw = SlotInstaller::firmware(fw_slots.clone());
    let mut app = SlotInstaller::volume(app_vol.clone(), APP);
    let mut model = SlotInstaller::volume(model_vol.clone(), MODEL);
    let mut installers: [&mut dyn Installer; 3] = [&mut fw, &mut app, &mut model];
    let mut cdn = Cdn {
        release,
        drop_at: cut.and_then(|k| {
            let source = dev.active_firmware()?;
            let (_, patch) = release
                .patches
                .iter()
                .find(|((id, from), _)| id == FIRMWARE && *from == source.digest)?;
            drop_point(patch, &source.bytes, k)
        }),
        sent: 0,
        dropped: false,
        resumed_from_cursor: false,
    };
    let mut board = Board {
        firmware: fw_slots.clone(),
        booted: ab(dev.active),
        hw: dev.hw,
        sensor_variant: dev.sensor_variant,
        failure: None,
    };
    let clock = Frozen(now.saturating_mul(1000));

    // 3. The lifecycle, with a reboot whenever the agent asks for one.
    let mut agent = open(&flash, SimBoot::power_on(flash.clone(), BOOT_SECTOR)?)?;
    let mut outcome = None;
    if agent.start(&rel, &mut installers)? == State::Failed {
        outcome = Some(agent.outcome());
    }
    for _ in 0..32 {
        if outcome.is_some() {
            break;
        }
        let mut env = Env {
            fetch: &mut cdn,
            installers: &mut installers,
            health: &mut board,
            clock: &clock,
            release: Some(&rel),
        };
        match agent.resume(&mut env)? {
            Progress::AtRest(o) => outcome = Some(o),
            // The link comes back: the agent goes on from what it persisted.
            Progress::Interrupted(_) => {}
            Progress::RebootRequired => {
                drop(agent);
                agent = open(&flash, reboot(dev, &flash, &fw_slots, &mut board)?)?;
            }
            Progress::ReleaseNeeded => {
                return Ok(Attempt::new(Outcome::Failed("release needed".into())));
            }
        }
    }
    a.bytes_sent = cdn.sent;
    a.resumed = cdn.resumed_from_cursor;
    // 4. What the media hold now, as the fleet keeps it.
    let boot = agent.boot_mut();
    let booted = boot.booted_slot()?;
    dev.active = idx(booted);
    for s in [AbSlot::A, AbSlot::B] {
        dev.slots[idx(s)].bootable = boot.is_successful(s) || boot.tries_left(s) > 0;
    }
    let targets = agent.targets().to_vec();
    let written = matches!(
        outcome,
        Some(ota_agent::Outcome::Committed | ota_agent::Outcome::Reverted { .. })
    );
    let committed = matches!(outcome, Some(ota_agent::Outcome::Committed));
    for t in &targets {
        let Some(c) = rel.manifest().components.iter().find(|c| c.id == t.id) else {
            continue;
        };
        let size = usize::try_from(t.size).unwrap_or(0);
        let read_back = |s: &SimSlots| Installed {
            version: c.version.clone(),
            digest: t.sha256,
            bytes: store.intern(t.sha256, s.snapshot(t.slot, size)),
        };
        match t.id.as_str() {
            FIRMWARE if written => dev.slots[idx(t.slot)].image = Some(read_back(&fw_slots)),
            APP if committed => dev.app = read_back(&app_vol),
            MODEL if committed => dev.model = read_back(&model_vol),
            _ => {}
        }
    }
    a.outcome = match outcome {
        Some(ota_agent::Outcome::Committed) => {
            let floor = agent.floor();
            dev.last_sequence = dev.last_sequence.max(floor.sequence);
            dev.security_floor = dev.security_floor.max(floor.security_counter);
            Outcome::Installed
        }
        Some(ota_agent::Outcome::Reverted { stage, reason }) => Outcome::RolledBack(
            board
                .failure
                .unwrap_or_else(|| format!("{stage:?}: {reason:?}")),
        ),
        Some(ota_agent::Outcome::Failed { stage, reason }) => {
            Outcome::Failed(format!("{stage:?}: {reason:?}"))
        }
        Some(other) => Outcome::Failed(format!("unexpected outcome {other:?}")),
        None => Outcome::Failed("the agent did not finish in 32 steps".into()),
    };
    Ok(a)
}

/// A reboot: the bootloader picks a slot by its metadata (spending a try on a slot on trial);
/// an image it refuses resets the board at once, which spends the next try.
fn reboot(
    dev: &mut Device,
    flash: &SimFlash,
    fw: &SimSlots,
    board: &mut Board,
) -> ota_agent::Result<SimBoot> {
    let mut boot = SimBoot::power_on(flash.clone(), BOOT_SECTOR)?;
    for _ in 0..8 {
        dev.boots += 1;
        let head = fw.snapshot(boot.booted(), BUILD_INFO_OFFSET + BUILD_INFO_LEN);
        match bootloader_accepts(&head, dev.hw) {
            Ok(_) => break,
            Err(why) => {
                board.failure = Some(why);
                boot = SimBoot::power_on(flash.clone(), BOOT_SECTOR)?;
            }
        }
    }
    board.booted = boot.booted();
    Ok(boot)
}
