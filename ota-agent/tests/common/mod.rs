//! Shared fixtures: a signed release, an in-memory fetcher, a simulated device.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use ota_agent::sim::{PowerRail, SimBoot, SimFlash, SimSlots};
use ota_agent::{
    Agent, Clock, Config, Env, Error, Fetch, FetchError, FlashStore, Geometry, Health, HealthCheck,
    Installer, Outcome, Progress, Release, Resource, SlotInstaller, State,
};
use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{
    Compatibility, Component, DeltaAlgorithm, DeltaSource, DeviceId, DeviceState, Extensions,
    Installed, Layer, Manifest, Slot,
};
use ota_verify::{Role, SecretKey, SignOptions, TrustRoot};

pub const NOW: u64 = 1_800_000_000;
pub const SLOT_SIZE: usize = 32 << 10;

pub fn image(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|i| {
            // Text-like: long runs that a delta can match, with seed-dependent edits.
            if i % 97 < 80 {
                (i % 61) as u8 + 32
            } else {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            }
        })
        .collect()
}

pub struct Fixture {
    pub root: TrustRoot,
    key: SecretKey,
    pub old_fw: Vec<u8>,
    pub new_fw: Vec<u8>,
    pub old_app: Vec<u8>,
    pub new_app: Vec<u8>,
    pub files: HashMap<[u8; 32], Vec<u8>>,
    pub signed: Vec<u8>,
}

fn did(s: &str) -> DeviceId {
    DeviceId::new(s.as_bytes()).unwrap()
}

impl Fixture {
    /// Release 2: firmware as a native delta from release 1 (frames of 4 KiB), the app as a
    /// full image in 1 KiB chunks.
    pub fn new() -> Self {
        let key = SecretKey::from_seed(&[7; 32]);
        let root = TrustRoot::builder(1, NOW + 10 * 365 * 86_400)
            .role(Role::ROOT, 1, &[key.public_key()])
            .role(Role::RELEASE, 1, &[key.public_key()])
            .build()
            .unwrap();
        let old_fw = image(1, 12_000);
        let mut new_fw = old_fw.clone();
        for i in (0..new_fw.len()).step_by(501) {
            new_fw[i] = new_fw[i].wrapping_add(3);
        }
        // Enough new (incompressible) bytes for several 4 KiB frames of raw content (format v2 cuts bsdiff frames by
        // content), so a resume has frames before the cursor to skip.
        let mut x = 0x9E37_79B9u32;
        new_fw.extend((0..12_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        }));
        let old_app = image(3, 3_000);
        let new_app = image(4, 3_300);
        let mut f = Fixture {
            root,
            key,
            old_fw,
            new_fw,
            old_app,
            new_app,
            files: HashMap::new(),
            signed: Vec::new(),
        };
        f.signed = f.sign(2, 1);
        f
    }

    /// One fixture per test binary (the delta and the signature are computed once).
    pub fn new_cached() -> &'static Fixture {
        static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
        F.get_or_init(Fixture::new)
    }

    pub fn sign(&mut self, sequence: u64, security_counter: u64) -> Vec<u8> {
        let v = |n| Version::new(n, 0, 0);
        let mut fw = Component::from_image(
            "firmware",
            Layer::Firmware,
            v(sequence),
            VersionReq::STAR,
            &self.new_fw,
            Some(1024),
        )
        .unwrap();
        let opts = ota_delta::DiffOptions {
            frame_size: 4096,
            ..Default::default()
        };
        let patch = ota_delta::diff_with(&self.old_fw, &self.new_fw, &opts).unwrap();
        fw.deltas.push(DeltaSource::from_patch(
            v(1),
            &self.old_fw,
            &patch,
            DeltaAlgorithm::OtaDelta,
        ));
        self.files.insert(fw.deltas[0].patch_sha256.0, patch);
        let app = Component::from_image(
            "app",
            Layer::Application,
            v(sequence),
            VersionReq::STAR,
            &self.new_app,
            Some(1024),
        )
        .unwrap();
        self.files.insert(app.sha256.0, self.new_app.clone());
        self.files.insert(fw.sha256.0, self.new_fw.clone());
        let m = Manifest {
            name: "release".into(),
            version: v(sequence),
            sequence,
            security_counter,
            issued_at: NOW - 10,
            expires_at: Some(NOW + 86_400),
            notes_uri: None,
            support_ends_at: None,
            max_security_deferral: None,
            compatibility: Compatibility {
                vendor: did("acme"),
                classes: vec![did("sensor")],
                hardware: vec!["rev1".into()],
                hardware_ranges: vec![],
            },
            components: vec![fw, app],
            extensions: Extensions::new(),
        };
        let cbor = m.to_cbor().unwrap();
        let opts = SignOptions {
            sequence: Some(sequence),
            expires: Some(NOW + 86_400),
            ..Default::default()
        };
        ota_verify::sign(&cbor, &[&self.key], &opts).unwrap()
    }

    pub fn device_state(&self, last_sequence: Option<u64>, floor: u64) -> DeviceState {
        DeviceState {
            vendor: did("acme"),
            class: did("sensor"),
            hardware: "rev1".into(),
            installed: vec![
                Installed {
                    id: "firmware".into(),
                    version: Version::new(1, 0, 0),
                    sha256: ota_manifest::Sha256::of(&self.old_fw),
                },
                Installed {
                    id: "app".into(),
                    version: Version::new(1, 0, 0),
                    sha256: ota_manifest::Sha256::of(&self.old_app),
                },
            ],
            security_counter: floor,
            last_sequence,
            now: NOW,
            active_slot: Slot::A,
        }
    }

    pub fn release(&self) -> Release {
        Release::verify(&self.root, &self.signed, &self.device_state(None, 0)).unwrap()
    }
}

/// Serves the fixture's files; fails the next `fail` fetches with a lost connection.
pub struct MemFetch<'a> {
    pub files: &'a HashMap<[u8; 32], Vec<u8>>,
    pub fail: u32,
    pub fetched: u64,
    /// Drop the connection once, when this many bytes have been served.
    pub drop_at: Option<u64>,
}

impl Fetch for MemFetch<'_> {
    fn fetch(
        &mut self,
        what: &Resource<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, FetchError> {
        if self.fail > 0 {
            self.fail -= 1;
            return Err(FetchError::ConnectionLost("test".into()));
        }
        if self.drop_at.is_some_and(|d| self.fetched >= d) {
            self.drop_at = None;
            return Err(FetchError::ConnectionLost("dropped mid-file".into()));
        }
        let f = self
            .files
            .get(what.digest())
            .ok_or_else(|| FetchError::NotFound("test".into()))?;
        let start = (offset as usize).min(f.len());
        let n = buf.len().min(f.len() - start);
        buf[..n].copy_from_slice(&f[start..start + n]);
        self.fetched += n as u64;
        Ok(n)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthPlan {
    Pass,
    Fail,
    Hang,
}

pub struct Check {
    pub plan: HealthPlan,
    /// Cut the power right after the check returns (at the next write).
    pub cut: Option<PowerRail>,
    pub clock: std::rc::Rc<std::cell::Cell<u64>>,
    pub runs: u32,
}

impl HealthCheck for Check {
    fn check(&mut self, deadline_ms: u64) -> Health {
        self.runs += 1;
        if let Some(rail) = &self.cut {
            rail.cut_at(rail.ops() + 1);
        }
        match self.plan {
            HealthPlan::Pass => Health::Pass,
            HealthPlan::Fail => Health::Fail("sensor does not answer".into()),
            HealthPlan::Hang => {
                self.clock.set(deadline_ms + 1);
                Health::Pass
            }
        }
    }
}

pub struct TestClock(pub std::rc::Rc<std::cell::Cell<u64>>);

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}

/// A simulated device: store flash, boot-metadata flash, firmware slots, app volume.
pub struct Device {
    pub rail: PowerRail,
    pub store: SimFlash,
    pub bootmeta: SimFlash,
    pub fw: SimSlots,
    pub app: SimSlots,
}

impl Device {
    pub fn new(fx: &Fixture, align: u32, erased: u8) -> Self {
        let rail = PowerRail::new();
        let g = |sector_size| Geometry {
            sector_size,
            sector_count: 2,
            write_align: align,
            erased,
        };
        let fw = SimSlots::new(rail.clone(), SLOT_SIZE, erased);
        fw.factory(Slot::A, &fx.old_fw);
        let app = SimSlots::new(rail.clone(), SLOT_SIZE, erased);
        app.factory(Slot::A, &fx.old_app);
        Device {
            store: SimFlash::new(rail.clone(), g(2048)),
            bootmeta: SimFlash::new(rail.clone(), g(256)),
            rail,
            fw,
            app,
        }
    }

    pub fn power_on(&self) -> Result<SimBoot, Error> {
        self.rail.restore();
        SimBoot::power_on(self.bootmeta.clone(), 0)
    }

    pub fn open(&self, boot: SimBoot) -> Result<Agent<FlashStore<SimFlash>, SimBoot>, Error> {
        self.open_with(boot, Config::default())
    }

    pub fn open_with(
        &self,
        boot: SimBoot,
        cfg: Config,
    ) -> Result<Agent<FlashStore<SimFlash>, SimBoot>, Error> {
        Agent::open(FlashStore::new(self.store.clone(), 0)?, boot, cfg)
    }

    /// Which image the booted slot holds: 0 old, 1 new; panics on anything else.
    pub fn booted_image(&self, fx: &Fixture, slot: Slot) -> u8 {
        let is = |img: &[u8]| self.fw.snapshot(slot, img.len()) == img;
        if is(&fx.old_fw) {
            0
        } else if is(&fx.new_fw) {
            1
        } else {
            panic!("slot {slot:?} booted an image that is neither the old nor the new one")
        }
    }

    pub fn app_image(&self, fx: &Fixture) -> u8 {
        let cur = self.app.current().unwrap();
        let is = |img: &[u8]| self.app.snapshot(cur, img.len()) == img;
        if is(&fx.old_app) {
            0
        } else if is(&fx.new_app) {
            1
        } else {
            panic!("the current app side holds neither image")
        }
    }
}

pub struct Ctx<'a> {
    pub fetch: MemFetch<'a>,
    pub check: Check,
    pub clock: TestClock,
    pub boots: u32,
    pub cuts_seen: u32,
    pub cfg: Config,
}

impl<'a> Ctx<'a> {
    pub fn new(fx: &'a Fixture, health: HealthPlan) -> Self {
        let clock = std::rc::Rc::new(std::cell::Cell::new(0u64));
        Ctx {
            fetch: MemFetch {
                files: &fx.files,
                fail: 0,
                fetched: 0,
                drop_at: None,
            },
            check: Check {
                plan: health,
                cut: None,
                clock: clock.clone(),
                runs: 0,
            },
            clock: TestClock(clock),
            boots: 0,
            cuts_seen: 0,
            cfg: Config::default(),
        }
    }
}

/// One power-on: the bootloader picks a slot, the agent opens and runs. Checks the invariants
/// (the booted image is the old or the new one, byte for byte; the floor rose only with
/// Committed). `Some(outcome)` once the update is at rest. With `run_agent` false the power is
/// cut right after the bootloader started the slot (before the agent ran).
pub fn boot_once(
    fx: &Fixture,
    rel: &Release,
    dev: &Device,
    ctx: &mut Ctx<'_>,
    run_agent: bool,
) -> Option<Outcome> {
    ctx.boots += 1;
    let boot = match dev.power_on() {
        Ok(b) => b,
        Err(Error::PowerLost) => {
            ctx.cuts_seen += 1;
            return None;
        }
        Err(e) => panic!("bootloader: {e}"),
    };
    let booted = boot.booted();
    let which = dev.booted_image(fx, booted);
    if !run_agent {
        return None;
    }
    let mut agent = match dev.open_with(boot, ctx.cfg) {
        Ok(a) => a,
        Err(Error::PowerLost) => {
            ctx.cuts_seen += 1;
            return None;
        }
        Err(e) => panic!("open: {e}"),
    };
    if agent.floor().sequence != 0 {
        assert_eq!(
            agent.state(),
            State::Committed,
            "floor rose before Committed"
        );
        assert_eq!(agent.floor().sequence, 2);
        assert_eq!(which, 1, "floor raised but the old image runs");
    }
    let mut fwi = SlotInstaller::firmware(dev.fw.clone());
    let mut appi = SlotInstaller::volume(dev.app.clone(), "app");
    let mut installers: [&mut dyn Installer; 2] = [&mut fwi, &mut appi];
    if agent.state() == State::Idle {
        match agent.start(rel, &mut installers) {
            Ok(_) => {}
            Err(Error::PowerLost) => {
                ctx.cuts_seen += 1;
                return None;
            }
            Err(e) => panic!("start: {e}"),
        }
    }
    let mut env = Env {
        fetch: &mut ctx.fetch,
        installers: &mut installers,
        health: &mut ctx.check,
        clock: &ctx.clock,
        release: Some(rel),
    };
    match agent.resume(&mut env) {
        Ok(Progress::AtRest(o)) => Some(o),
        Ok(Progress::RebootRequired | Progress::Interrupted(_)) => None,
        Ok(Progress::ReleaseNeeded) => panic!("the release was given"),
        Err(Error::PowerLost) => {
            ctx.cuts_seen += 1;
            None
        }
        Err(e) => panic!("resume: {e}"),
    }
}

/// Boots until the update is at rest (at most 400 boots).
pub fn run_update(
    fx: &Fixture,
    rel: &Release,
    dev: &Device,
    health: HealthPlan,
    fetch_fail: u32,
) -> Outcome {
    let mut ctx = Ctx::new(fx, health);
    ctx.fetch.fail = fetch_fail;
    run_with(fx, rel, dev, &mut ctx, 400)
}

/// Boots with `ctx` until the update is at rest (at most `boots` boots).
pub fn run_with(fx: &Fixture, rel: &Release, dev: &Device, ctx: &mut Ctx, boots: usize) -> Outcome {
    for _ in 0..boots {
        if let Some(o) = boot_once(fx, rel, dev, ctx, true) {
            return o;
        }
    }
    panic!("the update did not come to rest in {boots} boots")
}

/// After a run: boot once more and check the device is coherent with the outcome.
pub fn check_final(fx: &Fixture, dev: &Device, outcome: Outcome) {
    // More power-ons than the trial has tries: the result must be stable, not a slot that
    // still spends tries.
    for _ in 0..5 {
        let boot = dev.power_on().unwrap();
        let b = dev.booted_image(fx, boot.booted());
        let want = u8::from(outcome == Outcome::Committed);
        assert_eq!(b, want, "the device does not settle on the outcome's image");
    }
    let boot = dev.power_on().unwrap();
    let booted = boot.booted();
    let which = dev.booted_image(fx, booted);
    let agent = dev.open(boot).unwrap();
    match outcome {
        Outcome::Committed => {
            assert_eq!(which, 1, "committed but the old firmware boots");
            assert_eq!(dev.app_image(fx), 1, "committed but the old app is current");
            assert_eq!(agent.floor().sequence, 2);
            assert_eq!(agent.floor().security_counter, 1);
        }
        Outcome::Reverted { .. } => {
            assert_eq!(which, 0, "reverted but the new firmware boots");
            assert_eq!(dev.app_image(fx), 0, "reverted but the new app is current");
            assert_eq!(agent.floor().sequence, 0);
        }
        other => panic!("unexpected outcome {other:?}"),
    }
}
