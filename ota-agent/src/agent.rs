//! The lifecycle engine (STATES.md): one persisted record, advanced one write-ahead step at a
//! time.

use ota_manifest::{Action, Layer, Slot};

mod download;

use crate::boot::BootControl;
use crate::delta::{Flow, installer_flow};
use crate::error::{Error, Result};
use crate::fetch::{Fetch, FetchError};
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
    /// The largest chunk the agent buffers: a signed manifest whose chunk table names larger
    /// chunks is refused (FAILED, download, out of memory) instead of allocating them.
    pub max_chunk: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tries: 3,
            max_trial_boots: 3,
            max_arms: 3,
            health_timeout_ms: 60_000,
            chunk_size: 4096,
            max_chunk: 1 << 20,
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
    /// Downloading, and [`Env::release`] was `None`: call again with the release (the record
    /// names its digest, [`Agent::release_digest`]).
    ReleaseNeeded,
}

/// What one call to [`Agent::resume`] needs from the device.
pub struct Env<'a, 'i> {
    /// The downloader.
    pub fetch: &'a mut dyn Fetch,
    /// One installer per component kind.
    pub installers: &'a mut [&'i mut dyn Installer],
    /// The trial's health check.
    pub health: &'a mut dyn HealthCheck,
    /// The clock for the health check's deadline.
    pub clock: &'a dyn Clock,
    /// The release being installed (needed while Downloading; checked against the record).
    pub release: Option<&'a Release>,
}

impl std::fmt::Debug for Env<'_, '_> {
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

    /// While Downloading: where the download of the current component resumes, in bytes of the
    /// resource being fetched: the patch offset of the saved delta cursor (the patch header is
    /// fetched again too), or the bytes of a full image durable in staging (it resumes at the
    /// chunk boundary at or below). `None` in other states.
    #[must_use]
    pub fn download_offset(&self) -> Option<u64> {
        if self.rec.state != State::Downloading {
            return None;
        }
        match self.rec.cursor {
            Some(raw) => ota_delta::Cursor::from_bytes(&raw)
                .ok()
                .map(|c| c.patch_offset()),
            None => Some(self.rec.offset),
        }
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

    /// Cancels an update that has not switched anything yet (Downloading or Staged): Failed
    /// (download, cancelled). Later states finish or revert on their own.
    ///
    /// # Errors
    /// [`Error::WrongState`] in other states, or the store's errors.
    pub fn cancel(&mut self) -> Result<()> {
        if !matches!(self.rec.state, State::Downloading | State::Staged) {
            return Err(Error::WrongState {
                state: self.rec.state.name(),
                what: "cancel",
            });
        }
        self.conclude(State::Failed, Stage::Download, Reason::Cancelled)
    }

    /// SHA-256 of the signed envelope of the update in progress (or the last one).
    #[must_use]
    pub fn release_digest(&self) -> &[u8; 32] {
        &self.rec.release
    }

    /// Starts installing `release`: picks each component's installer and staging side and
    /// persists Downloading. Returns the new state (Failed when the release cannot install
    /// here; still at rest when there is nothing to do).
    ///
    /// # Errors
    /// [`Error::WrongState`] when an update is in progress or the running slot is not the
    /// primary one (a reboot is pending), or a store / device error.
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
        if self.boot.primary_slot()? != booted {
            // E.g. Reverted and the reboot to the old slot not done yet: the inactive slot is
            // the good one, never write it.
            return Err(Error::WrongState {
                state: self.rec.state.name(),
                what: "start while running a slot that is not the primary one (reboot first)",
            });
        }
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
        if let Some(new) = new_slot {
            // The slot about to be written must not boot while it holds part of an image: an
            // older release there may still have tries or its good mark, and a bootloader that
            // runs out of tries on the booted slot would fall back into it. Before the record
            // says Downloading, so a cut between the two leaves an idle agent with a slot that
            // simply does not boot (it is rewritten by the next update).
            self.boot.mark_unbootable(new)?;
        }
        self.store.save(&bytes)?;
        self.rec = rec;
        Ok(self.rec.state)
    }

    /// Advances the update as far as it can go now: call it at every boot and after `start`.
    ///
    /// # Errors
    /// A store, boot-control or device error ([`Error::PowerLost`] in the simulation): nothing
    /// past the last persisted state happened; call again after the reboot.
    pub fn resume(&mut self, env: &mut Env<'_, '_>) -> Result<Progress> {
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

    /// Installing: the Staged handler has just verified the stored images again. Activation
    /// may have been half done before a cut, so every failure from here on reverts.
    fn install(&mut self, env: &mut Env<'_, '_>) -> Result<Option<Progress>> {
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
            if self.boot.boot_attempts(new)? == 0 {
                // Armed, and the device has not rebooted yet (resume called again).
                return Ok(Some(Progress::RebootRequired));
            }
            // Armed, tries spent, and the bootloader went back to the old slot.
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

    fn trial(&mut self, env: &mut Env<'_, '_>) -> Result<Option<Progress>> {
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

    fn revert(&mut self, env: &mut Env<'_, '_>) -> Result<Progress> {
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
