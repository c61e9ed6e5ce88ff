//! The lifecycle engine (STATES.md): one persisted record, advanced one write-ahead step at a
//! time.

use ota_manifest::{Action, Component, Layer, Slot};
use ota_verify::{ChunkVerifier, DigestVerifier, Sha256};

use crate::boot::BootControl;
use crate::delta::{self, Flow, fetch_exact, fetch_flow, installer_flow};
use crate::error::{Error, Result};
use crate::fetch::{Fetch, FetchError, Resource};
use crate::health::{Clock, Health, HealthCheck};
use crate::install::Installer;
use crate::outcome::{Outcome, Reason, Stage, State};
use crate::record::{Floor, MAX_COMPONENTS, MAX_ID, Record, Target};
use crate::release::Release;
use crate::store::Store;

/// Settings of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Boot attempts the bootloader gives a new firmware slot (RAUC's `BOOT_x_LEFT`).
    pub tries: u8,
    /// Trial boots the agent itself counts before it calls it a boot loop and reverts.
    pub max_trial_boots: u8,
    /// Times the trial may be armed (a cut between persisting Pending and arming re-arms).
    pub max_arms: u8,
    /// The health check's deadline, milliseconds after it starts.
    pub health_timeout_ms: u64,
    /// Download chunk for full images without a chunk table.
    pub chunk_size: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tries: 3,
            max_trial_boots: 3,
            max_arms: 3,
            health_timeout_ms: 60_000,
            chunk_size: 4096,
        }
    }
}

/// What the device should do after [`Agent::resume`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// No update in progress; the last outcome.
    AtRest(Outcome),
    /// Reboot now: the trial is armed, or a revert needs the old slot.
    RebootRequired,
    /// The download stopped (connection lost); call `resume` again later, it continues.
    Interrupted(FetchError),
}

/// What one call to [`Agent::resume`] needs from the device.
pub struct Env<'a> {
    /// The downloader.
    pub fetch: &'a mut dyn Fetch,
    /// One installer per component kind.
    pub installers: &'a mut [&'a mut dyn Installer],
    /// The trial's health check.
    pub health: &'a mut dyn HealthCheck,
    /// The clock for the health check's deadline.
    pub clock: &'a dyn Clock,
    /// The release being installed (needed while Downloading; checked against the record).
    pub release: Option<&'a Release>,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("installers", &self.installers.len())
            .field("release", &self.release.map(Release::digest))
            .finish_non_exhaustive()
    }
}

/// The update agent: a [`Store`] for its record and a [`BootControl`].
#[derive(Debug)]
pub struct Agent<S, B> {
    store: S,
    boot: B,
    rec: Record,
    cfg: Config,
}

fn find<'e>(
    installers: &'e mut [&mut dyn Installer],
    id: &str,
    layer: Layer,
) -> Option<&'e mut dyn Installer> {
    installers
        .iter_mut()
        .find(|i| i.accepts(id, layer))
        .map(|i| &mut **i as &mut dyn Installer)
}

impl<S: Store, B: BootControl> Agent<S, B> {
    /// Loads the record (a fresh Idle one when the store is empty). Nothing is done yet: call
    /// [`Agent::resume`] at every boot.
    ///
    /// # Errors
    /// The store's errors ([`Error::StoreCorrupt`]) or [`Error::Record`].
    pub fn open(mut store: S, boot: B, cfg: Config) -> Result<Self> {
        let rec = match store.load()? {
            Some(b) => Record::decode(&b)?,
            None => Record::idle(),
        };
        Ok(Agent {
            store,
            boot,
            rec,
            cfg,
        })
    }

    /// The persisted state.
    #[must_use]
    pub fn state(&self) -> State {
        self.rec.state
    }

    /// The last outcome (at rest) or [`Outcome::None`].
    #[must_use]
    pub fn outcome(&self) -> Outcome {
        self.rec.outcome()
    }

    /// The anti-rollback floor: the last committed release's sequence and security counter.
    #[must_use]
    pub fn floor(&self) -> Floor {
        self.rec.floor
    }

    /// The update's components (empty at rest before any update).
    #[must_use]
    pub fn targets(&self) -> &[Target] {
        &self.rec.components
    }

    /// The slot the update writes, if it has firmware.
    #[must_use]
    pub fn new_slot(&self) -> Option<Slot> {
        self.rec.new_slot
    }

    /// The boot control.
    pub fn boot_mut(&mut self) -> &mut B {
        &mut self.boot
    }

    /// Gives back the store and the boot control.
    pub fn into_parts(self) -> (S, B) {
        (self.store, self.boot)
    }

    fn save(&mut self) -> Result<()> {
        let bytes = self.rec.encode()?;
        self.store.save(&bytes)
    }

    fn set(&mut self, state: State) -> Result<()> {
        let prev = self.rec.state;
        self.rec.state = state;
        if let Err(e) = self.save() {
            self.rec.state = prev;
            return Err(e);
        }
        Ok(())
    }

    fn conclude(&mut self, state: State, stage: Stage, reason: Reason) -> Result<()> {
        let prev = self.rec.clone();
        self.rec.state = state;
        self.rec.stage = Some(stage);
        self.rec.reason = Some(reason);
        if let Err(e) = self.save() {
            self.rec = prev;
            return Err(e);
        }
        Ok(())
    }

    /// Records a release that was rejected before `start` (bad signature, refused by the rules)
    /// as Failed, so it is reported. Only at rest.
    ///
    /// # Errors
    /// [`Error::WrongState`] during an update, or the store's errors.
    pub fn reject(&mut self, stage: Stage, reason: Reason) -> Result<()> {
        if !self.rec.state.is_at_rest() {
            return Err(Error::WrongState {
                state: self.rec.state.name(),
                what: "reject",
            });
        }
        self.conclude(State::Failed, stage, reason)
    }

    /// Starts installing `release`: picks each component's installer and staging side and
    /// persists Downloading. Returns the new state (Failed when the release cannot install
    /// here; still at rest when there is nothing to do).
    ///
    /// # Errors
    /// [`Error::WrongState`] when an update is in progress, or a store / device error.
    pub fn start(
        &mut self,
        release: &Release,
        installers: &mut [&mut dyn Installer],
    ) -> Result<State> {
        if !self.rec.state.is_at_rest() {
            return Err(Error::WrongState {
                state: self.rec.state.name(),
                what: "start",
            });
        }
        let plan = release.plan();
        let floor = self.rec.floor;
        // The manifest's rules already refused these; the record's floor is the one that counts.
        if (floor.sequence > 0 && plan.sequence <= floor.sequence)
            || plan.security_counter < floor.security_counter
        {
            self.conclude(State::Failed, Stage::Decide, Reason::Refused)?;
            return Ok(self.rec.state);
        }
        if plan.is_noop() {
            return Ok(self.rec.state);
        }
        let booted = self.boot.booted_slot()?;
        let mut targets = Vec::new();
        let mut new_slot = None;
        for step in &plan.steps {
            if step.action == Action::Skip {
                continue;
            }
            let Some(c) = release
                .manifest()
                .components
                .iter()
                .find(|c| c.id == step.component)
            else {
                self.conclude(State::Failed, Stage::Verify, Reason::IntegrityCheckFailure)?;
                return Ok(self.rec.state);
            };
            let fits = targets.len() < MAX_COMPONENTS
                && c.id.len() <= MAX_ID
                && !(c.layer == Layer::Firmware && new_slot.is_some());
            let inst = find(installers, &c.id, c.layer);
            let (true, Some(inst)) = (fits, inst) else {
                self.conclude(State::Failed, Stage::Install, Reason::UnsupportedPackage)?;
                return Ok(self.rec.state);
            };
            let slot = match inst.prepare(&c.id, c.size, booted) {
                Ok(s) => s,
                Err(e) => {
                    if let Flow::Fail(stage, reason) = installer_flow(e)? {
                        self.conclude(State::Failed, stage, reason)?;
                    }
                    return Ok(self.rec.state);
                }
            };
            if c.layer == Layer::Firmware {
                new_slot = Some(slot);
            }
            targets.push(Target {
                id: c.id.clone(),
                layer: c.layer,
                size: c.size,
                sha256: c.sha256.0,
                slot,
            });
        }
        let mut rec = Record::idle();
        rec.state = State::Downloading;
        rec.floor = floor;
        rec.target = Floor {
            sequence: plan.sequence,
            security_counter: plan.security_counter,
        };
        rec.release = *release.digest();
        rec.old_slot = new_slot.map(|_| booted);
        rec.new_slot = new_slot;
        rec.components = targets;
        let bytes = rec.encode()?;
        self.store.save(&bytes)?;
        self.rec = rec;
        Ok(self.rec.state)
    }

    /// Advances the update as far as it can go now: call it at every boot and after `start`.
    ///
    /// # Errors
    /// A store, boot-control or device error ([`Error::PowerLost`] in the simulation): nothing
    /// past the last persisted state happened; call again after the reboot.
    pub fn resume(&mut self, env: &mut Env<'_>) -> Result<Progress> {
        loop {
            match self.rec.state {
                State::Idle | State::Committed | State::Reverted | State::Failed => {
                    self.renew_good()?;
                    return Ok(Progress::AtRest(self.rec.outcome()));
                }
                State::Downloading => {
                    if let Some(p) = self.download(env)? {
                        return Ok(p);
                    }
                }
                State::Staged => match self.verify_stored(env.installers)? {
                    None => self.set(State::Installing)?,
                    Some((stage, reason)) => self.conclude(State::Failed, stage, reason)?,
                },
                State::Installing => {
                    if let Some(p) = self.install(env)? {
                        return Ok(p);
                    }
                }
                State::Pending => {
                    if let Some(p) = self.pending()? {
                        return Ok(p);
                    }
                }
                State::Trial => {
                    if let Some(p) = self.trial(env)? {
                        return Ok(p);
                    }
                }
                State::Reverting => return self.revert(env),
            }
        }
    }

    /// At rest on the primary slot: keep it marked good (with RAUC's scheme every boot spends
    /// a try, and mark-good restores them; backends skip the write when nothing changes).
    fn renew_good(&mut self) -> Result<()> {
        let booted = self.boot.booted_slot()?;
        if booted == self.boot.primary_slot()? && self.boot.boot_attempts(booted)? > 0 {
            self.boot.mark_successful(booted)?;
        }
        Ok(())
    }

    fn download(&mut self, env: &mut Env<'_>) -> Result<Option<Progress>> {
        let Some(rel) = env.release.filter(|r| *r.digest() == self.rec.release) else {
            self.conclude(State::Failed, Stage::Download, Reason::Cancelled)?;
            return Ok(None);
        };
        while usize::from(self.rec.comp_index) < self.rec.components.len() {
            let t = self.rec.components[usize::from(self.rec.comp_index)].clone();
            let comp = rel.manifest().components.iter().find(|c| c.id == t.id);
            let step = rel.plan().steps.iter().find(|s| s.component == t.id);
            let inst = find(env.installers, &t.id, t.layer);
            let (Some(comp), Some(step), Some(inst)) = (comp, step, inst) else {
                self.conclude(State::Failed, Stage::Install, Reason::UnsupportedPackage)?;
                return Ok(None);
            };
            let flow = match &step.action {
                Action::Full { .. } => self.fetch_full(env.fetch, inst, &t, comp)?,
                Action::Delta(d) => {
                    let what = Resource::Patch {
                        component: &t.id,
                        from_sha256: &d.from_sha256.0,
                        patch_sha256: &d.patch_sha256.0,
                    };
                    let cursor = self.rec.cursor;
                    delta::apply(env.fetch, &what, inst, &t, cursor, &mut |c| {
                        self.rec.cursor = Some(c);
                        self.save()
                    })?
                }
                _ => Flow::Fail(Stage::Decide, Reason::UnsupportedPackage),
            };
            match flow {
                Flow::Done => {
                    self.rec.comp_index += 1;
                    self.rec.offset = 0;
                    self.rec.cursor = None;
                    self.save()?;
                }
                Flow::Fail(stage, reason) => {
                    self.rec.offset = 0;
                    self.rec.cursor = None;
                    self.conclude(State::Failed, stage, reason)?;
                    return Ok(None);
                }
                Flow::Interrupted(e) => return Ok(Some(Progress::Interrupted(e))),
            }
        }
        match self.verify_stored(env.installers)? {
            None => self.set(State::Staged)?,
            Some((stage, reason)) => self.conclude(State::Failed, stage, reason)?,
        }
        Ok(None)
    }

    fn fetch_full(
        &mut self,
        fetch: &mut dyn Fetch,
        inst: &mut dyn Installer,
        t: &Target,
        comp: &Component,
    ) -> Result<Flow> {
        let chunk = comp
            .chunks
            .as_ref()
            .map_or(self.cfg.chunk_size, |c| c.chunk_size)
            .max(1);
        let table: Option<Vec<u8>> = comp
            .chunks
            .as_ref()
            .map(|c| c.sha256.iter().flat_map(|d| d.0).collect());
        let mut offset = self.rec.offset / u64::from(chunk) * u64::from(chunk);
        let mut verifier = match &table {
            Some(tb) => match ChunkVerifier::resume(t.size, chunk, tb, offset / u64::from(chunk)) {
                Ok(v) => Some(v),
                Err(_) => return Ok(Flow::Fail(Stage::Verify, Reason::IntegrityCheckFailure)),
            },
            None => None,
        };
        let what = Resource::Image {
            component: &t.id,
            sha256: &t.sha256,
        };
        let mut buf = vec![0u8; chunk as usize];
        while offset < t.size {
            let n = (t.size - offset).min(u64::from(chunk)) as usize;
            match fetch_exact(fetch, &what, offset, &mut buf[..n]) {
                Ok(true) => {}
                Ok(false) => return Ok(Flow::Fail(Stage::Download, Reason::IntegrityCheckFailure)),
                Err(e) => return Ok(fetch_flow(e)),
            }
            if let Some(v) = verifier.as_mut()
                && v.verify_chunk(&buf[..n]).is_err()
            {
                return Ok(Flow::Fail(Stage::Verify, Reason::IntegrityCheckFailure));
            }
            if let Err(e) = inst.write(t, offset, &buf[..n]).and_then(|()| inst.sync(t)) {
                return installer_flow(e);
            }
            offset += n as u64;
            self.rec.offset = offset;
            self.save()?;
        }
        Ok(Flow::Done)
    }

    /// Re-reads every staged component and checks it against its signed size and SHA-256.
    fn verify_stored(
        &mut self,
        installers: &mut [&mut dyn Installer],
    ) -> Result<Option<(Stage, Reason)>> {
        let mut buf = vec![0u8; 4096];
        for t in &self.rec.components {
            let Some(inst) = find(installers, &t.id, t.layer) else {
                return Ok(Some((Stage::Install, Reason::UnsupportedPackage)));
            };
            let mut v = DigestVerifier::new(t.size, Sha256(t.sha256));
            let mut off = 0u64;
            while off < t.size {
                let n = (t.size - off).min(buf.len() as u64) as usize;
                if let Err(e) = inst.read(t, off, &mut buf[..n]) {
                    return match installer_flow(e)? {
                        Flow::Fail(s, r) => Ok(Some((s, r))),
                        _ => Ok(Some((Stage::Install, Reason::InstallFailed))),
                    };
                }
                if v.update(&buf[..n]).is_err() {
                    return Ok(Some((Stage::Verify, Reason::IntegrityCheckFailure)));
                }
                off += n as u64;
            }
            if v.finish().is_err() {
                return Ok(Some((Stage::Verify, Reason::IntegrityCheckFailure)));
            }
        }
        Ok(None)
    }

    fn install(&mut self, env: &mut Env<'_>) -> Result<Option<Progress>> {
        match self.verify_stored(env.installers)? {
            None => {}
            Some((stage, reason)) => {
                self.conclude(State::Failed, stage, reason)?;
                return Ok(None);
            }
        }
        for t in self.rec.components.clone() {
            let Some(inst) = find(env.installers, &t.id, t.layer) else {
                return Err(Error::NoInstaller { component: t.id });
            };
            if let Err(e) = inst.activate(&t)
                && let Flow::Fail(..) = installer_flow(e)?
            {
                self.conclude(State::Reverting, Stage::Install, Reason::InstallFailed)?;
                return Ok(None);
            }
        }
        match self.rec.new_slot {
            None => {
                self.set(State::Trial)?;
                Ok(None)
            }
            Some(new) => {
                self.rec.arms = 1;
                self.set(State::Pending)?;
                self.boot.set_pending(new, self.cfg.tries)?;
                Ok(Some(Progress::RebootRequired))
            }
        }
    }

    fn pending(&mut self) -> Result<Option<Progress>> {
        let Some(new) = self.rec.new_slot else {
            self.set(State::Trial)?;
            return Ok(None);
        };
        let booted = self.boot.booted_slot()?;
        if booted == new {
            self.rec.trial_boots = 0;
            self.set(State::Trial)?;
            return Ok(None);
        }
        if self.boot.primary_slot()? == new {
            self.conclude(State::Reverting, Stage::Trial, Reason::TriesExhausted)?;
            return Ok(None);
        }
        // The arm never reached the boot control (a cut between the two writes).
        if self.rec.arms >= self.cfg.max_arms {
            self.conclude(State::Reverting, Stage::Install, Reason::InstallFailed)?;
            return Ok(None);
        }
        self.rec.arms += 1;
        self.save()?;
        self.boot.set_pending(new, self.cfg.tries)?;
        Ok(Some(Progress::RebootRequired))
    }

    fn trial(&mut self, env: &mut Env<'_>) -> Result<Option<Progress>> {
        if let Some(new) = self.rec.new_slot
            && self.boot.booted_slot()? != new
        {
            // The bootloader went back: every try was spent (failed or cut boots).
            self.conclude(State::Reverting, Stage::Trial, Reason::TriesExhausted)?;
            return Ok(None);
        }
        self.rec.trial_boots = self.rec.trial_boots.saturating_add(1);
        self.save()?;
        if self.rec.trial_boots > self.cfg.max_trial_boots {
            self.conclude(State::Reverting, Stage::Trial, Reason::BootLoop)?;
            return Ok(None);
        }
        let deadline = env
            .clock
            .now_ms()
            .saturating_add(self.cfg.health_timeout_ms);
        let health = env.health.check(deadline);
        let late = env.clock.now_ms() > deadline;
        match (health, late) {
            (Health::Fail(_), _) => {
                self.conclude(State::Reverting, Stage::Trial, Reason::HealthCheckFailed)?;
                return Ok(None);
            }
            (Health::Pass, true) => {
                self.conclude(State::Reverting, Stage::Trial, Reason::HealthCheckTimeout)?;
                return Ok(None);
            }
            (Health::Pass, false) => {}
        }
        // Boot control first, the floor last: see STATES.md.
        if let Some(new) = self.rec.new_slot {
            self.boot.mark_successful(new)?;
        }
        for t in self.rec.components.clone() {
            let Some(inst) = find(env.installers, &t.id, t.layer) else {
                return Err(Error::NoInstaller { component: t.id });
            };
            if let Err(e) = inst.confirm(&t)
                && let Flow::Fail(..) = installer_flow(e)?
            {
                self.conclude(State::Reverting, Stage::Commit, Reason::InstallFailed)?;
                return Ok(None);
            }
        }
        let prev = self.rec.clone();
        self.rec.floor = Floor {
            sequence: self.rec.floor.sequence.max(self.rec.target.sequence),
            security_counter: self
                .rec
                .floor
                .security_counter
                .max(self.rec.target.security_counter),
        };
        self.rec.state = State::Committed;
        self.rec.stage = None;
        self.rec.reason = None;
        if let Err(e) = self.save() {
            self.rec = prev;
            return Err(e);
        }
        Ok(Some(Progress::AtRest(Outcome::Committed)))
    }

    fn revert(&mut self, env: &mut Env<'_>) -> Result<Progress> {
        if let Some(new) = self.rec.new_slot {
            self.boot.mark_unbootable(new)?;
        }
        for t in self.rec.components.clone() {
            let Some(inst) = find(env.installers, &t.id, t.layer) else {
                return Err(Error::NoInstaller { component: t.id });
            };
            inst.rollback(&t)?;
        }
        let running_new = match self.rec.new_slot {
            Some(new) => self.boot.booted_slot()? == new,
            None => false,
        };
        self.set(State::Reverted)?;
        if running_new {
            Ok(Progress::RebootRequired)
        } else {
            Ok(Progress::AtRest(self.rec.outcome()))
        }
    }
}
