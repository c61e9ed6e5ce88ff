//! [`AgentInstaller`]: `ota-agent`'s lifecycle behind [`Installer`], so a job received over MQTT
//! runs the agent's real install (verified release, full image or delta, trial boot, commit or
//! revert) and its outcome is reported with `ota-protocol`'s statuses.

use ota_agent::{
    Agent, BootControl, Clock, Env, FetchError, HealthCheck, Progress as AgentProgress, Release,
    Resource, State, Store, SystemClock,
};
use ota_manifest::{DeviceState, Manifest};
use ota_protocol::{
    JobDocument, Progress, Reason, Refusal, RefusalRule, ReleaseSource, Stage, Status,
};
use ota_verify::TrustRoot;

use super::codes::{wire_outcome, wire_refusal};
use super::{Attempt, Installer, unverified};

/// Reads byte ranges of the URIs a job document names (the device's HTTP client, a file
/// server, a test double). The agent asks by digest through its own `Fetch`; the adapter
/// turns each request into the URI the job gives for that component and source.
pub trait Download {
    /// Fills `buf` from `offset` of `uri` as far as it can; returns the bytes read, 0 at the
    /// end.
    ///
    /// # Errors
    /// `FetchError::ConnectionLost` (the install stops and resumes when the job is run
    /// again), `NotFound` (FAILED, `invalid_uri`), `UnsupportedProtocol`.
    fn fetch(&mut self, uri: &str, offset: u64, buf: &mut [u8]) -> Result<usize, FetchError>;
}

/// The largest envelope fetched for a job whose release is not inline.
const MAX_ENVELOPE: u64 = 64 << 10;

/// `ota-agent`'s lifecycle as an [`Installer`].
///
/// - `verify`: the job's own expiry (REJECTED `job_expired`), then the envelope (inline, or
///   fetched and checked against the job's size and digest) verified with the device's trust
///   root and the install decision made by [`Release::verify`]: a signature that does not
///   verify is REJECTED `unverified`; a rule of the install decision (wrong hardware, a
///   downgrade, ...) is REJECTED with that rule. A job for the release the agent is already
///   installing (or has finished) is recognised by the envelope's digest and continues it.
/// - `install`: [`Agent::start`], then [`Agent::resume`] with a fetcher that takes each image or
///   delta (by source digest) from the job document's URIs, or the manifest's. SUCCEEDED only
///   once the agent has committed; Failed and Reverted are FAILED with the agent's stage and
///   reason (`reverted` set for a revert). A dropped download is [`Attempt::Interrupted`] and
///   a trial boot or a revert to the old slot is [`Attempt::RebootRequired`]: run the job again
///   (after reconnecting, or after the reboot with a new `AgentInstaller` over the same store)
///   and the agent continues from its record (offset or delta cursor).
///
/// A refusal is not recorded by the agent (its last outcome stays what it was); the device's
/// report of it is the REJECTED status.
///
/// A job for another release while the agent is still downloading or staged supersedes that
/// update ([`Agent::cancel`], then the new release); past that (armed, in trial, reverting) it
/// waits: [`Attempt::Interrupted`], run it again once the agent is at rest.
///
/// # Example
///
/// A device on mosquitto (skipped where it is not installed) takes a job from a server
/// worker, downloads the image from the job's URI into slot B, reboots into it, passes its
/// health check and reports SUCCEEDED. The "device" is `ota-agent`'s simulation (flash for the
/// agent's record and the boot metadata, two firmware slots); a real one passes its own
/// [`ota_agent::Store`], [`BootControl`], [`ota_agent::Installer`], [`Download`] and
/// [`HealthCheck`].
///
/// ```
/// use std::time::Duration;
/// use ota_agent::sim::{PowerRail, SimBoot, SimFlash, SimSlots};
/// use ota_agent::{Agent, Config, FetchError, FlashStore, Geometry, Health, HealthCheck};
/// use ota_agent::SlotInstaller;
/// use ota_manifest::{DeviceState, Slot};
/// use ota_mqtt::{AgentInstaller, ConnectOptions, Device, DeviceId, Download, Ingest, Mosquitto, Server};
/// use ota_protocol::{ComponentSources, InstallPolicy, JobDocument, JobExecution, JobId};
/// use ota_protocol::{ReleaseSource, Status};
/// # use ota_manifest::semver::{Version, VersionReq};
/// # use ota_manifest::{Compatibility, Component, Extensions, Installed, Layer, Manifest};
/// # use ota_verify::{Role, SecretKey, SignOptions, TrustRoot};
/// # type E = Box<dyn std::error::Error>;
/// # const NOW: u64 = 1_800_000_000;
/// # let (old, new) = (vec![1u8; 4096], vec![2u8; 5000]);
/// # let did = |s: &str| ota_manifest::DeviceId::new(s.as_bytes()).unwrap();
/// # let key = SecretKey::from_seed(&[7; 32]);
/// # let root = TrustRoot::builder(1, NOW + 86_400)
/// #     .role(Role::ROOT, 1, &[key.public_key()])
/// #     .role(Role::RELEASE, 1, &[key.public_key()])
/// #     .build()?;
/// # let v = |n| Version::new(n, 0, 0);
/// # let manifest = Manifest {
/// #     name: "release 2".into(), version: v(2), sequence: 2, security_counter: 1,
/// #     issued_at: NOW - 10, expires_at: Some(NOW + 86_400), notes_uri: None,
/// #     support_ends_at: None, max_security_deferral: None,
/// #     compatibility: Compatibility { vendor: did("acme"), classes: vec![did("sensor")],
/// #         hardware: vec!["rev1".into()], hardware_ranges: vec![] },
/// #     components: vec![Component::from_image("firmware", Layer::Firmware, v(2),
/// #         VersionReq::STAR, &new, Some(1024))?],
/// #     extensions: Extensions::new(),
/// # };
/// # let opts = SignOptions { sequence: Some(2), expires: Some(NOW + 86_400), ..Default::default() };
/// // The signed release (ota-verify's COSE envelope of an ota-manifest), made by the fleet.
/// let envelope: Vec<u8> = ota_verify::sign(&manifest.to_cbor()?, &[&key], &opts)?;
/// # let device_state = DeviceState {
/// #     vendor: did("acme"), class: did("sensor"), hardware: "rev1".into(),
/// #     installed: vec![Installed { id: "firmware".into(), version: v(1),
/// #         sha256: ota_manifest::Sha256::of(&old) }],
/// #     security_counter: 0, last_sequence: None, now: NOW, active_slot: Slot::A,
/// # };
///
/// /// The device's downloader: here one file in memory; on a device, HTTP range requests.
/// struct Files(Vec<u8>);
/// impl Download for Files {
///     fn fetch(&mut self, uri: &str, offset: u64, buf: &mut [u8]) -> Result<usize, FetchError> {
///         if uri != "https://updates.example/fw-2.bin" {
///             return Err(FetchError::NotFound(uri.into()));
///         }
///         let rest = self.0.get(offset as usize..).unwrap_or_default();
///         let n = rest.len().min(buf.len());
///         buf[..n].copy_from_slice(&rest[..n]);
///         Ok(n)
///     }
/// }
///
/// /// The device's health check after the trial boot (its services answer, it reaches the server).
/// struct Healthy;
/// impl HealthCheck for Healthy {
///     fn check(&mut self, _deadline_ms: u64) -> Health {
///         Health::Pass
///     }
/// }
///
/// // The simulated device: the agent's record and the boot metadata on flash, slots A and B.
/// let rail = PowerRail::new();
/// let geometry = |sector_size| Geometry { sector_size, sector_count: 2, write_align: 8, erased: 0xFF };
/// let (record, bootmeta) = (SimFlash::new(rail.clone(), geometry(2048)), SimFlash::new(rail.clone(), geometry(256)));
/// let slots = SimSlots::new(rail, 32 << 10, 0xFF);
/// slots.factory(Slot::A, &old);
/// // What runs at every boot: open the agent over its store, wrap it for the job.
/// let boot = || -> Result<_, E> {
///     let agent = Agent::open(
///         FlashStore::new(record.clone(), 0)?,
///         SimBoot::power_on(bootmeta.clone(), 0)?,
///         Config::default(),
///     )?;
///     Ok(AgentInstaller::new(agent, root.clone(), device_state.clone(), Files(new.clone()), Healthy)
///         .with_installer(SlotInstaller::firmware(slots.clone())))
/// };
///
/// # if ota_mqtt::mosquitto_missing_for_tests() { return Ok(()); }
/// let broker = Mosquitto::start()?; // the tests' broker; a fleet has its own
/// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
/// rt.block_on(async {
///     let opts = |id: &str| ConnectOptions::new("127.0.0.1", broker.port(), id);
///     let id = DeviceId::new("dev-1")?;
///     let job = JobDocument {
///         job_id: JobId::new("fw-2")?,
///         rollout: "rollout-1".into(),
///         ring: 0,
///         release: ReleaseSource::Inline(envelope),
///         images: vec![ComponentSources {
///             component: "firmware".into(),
///             full: Some("https://updates.example/fw-2.bin".into()),
///             deltas: vec![],
///         }],
///         policy: InstallPolicy::default(),
///     };
///     // The device connects (a persistent session: a job sent while it is away waits for it).
///     let mut device = Device::connect(&opts("dev-1"), id.clone()).await?;
///
///     // The fleet side: queue the execution, send the job, apply and answer every update.
///     let mut ingest = Ingest::new(64);
///     let queued = JobExecution::queued(job.job_id.clone(), 1);
///     ingest.queue(&id, queued.clone());
///     let mut server = Server::connect(&opts("worker-1"), "workers").await?;
///     server.send_job(&id, &job, NOW).await?;
///     let worker = tokio::spawn(async move {
///         loop {
///             let m = server.recv(Duration::from_secs(10)).await?;
///             let applied = ingest.apply(&m)?;
///             server.answer(&m, &applied).await?;
///             server.ack(&m).await?;
///             if let Some(e) = ingest.execution(&m.device, "fw-2") && e.status.kind().is_terminal() {
///                 server.disconnect().await;
///                 return Ok::<_, ota_mqtt::Error>(e.clone());
///             }
///         }
///     });
///
///     // The device: receive the job, run it; after a reboot, run it again with the last update.
///     let m = device.recv(Duration::from_secs(10)).await?;
///     let received = Device::decode_job(&m)?;
///     device.ack(&m).await?;
///     let mut last = queued;
///     for _boot in 0..3 {
///         let mut installer = boot()?;
///         last = device.run_job(&mut installer, &received, &last).await?;
///         if last.status.kind().is_terminal() {
///             break;
///         }
///         // IN_PROGRESS: the agent armed slot B (`Attempt::RebootRequired`); reboot.
///         drop(installer);
///     }
///     assert_eq!(last.status, Status::Succeeded);
///     assert_eq!(slots.snapshot(Slot::B, new.len()), new);
///     assert_eq!(worker.await??, last); // the server applied the same outcome, once
///     device.disconnect().await;
///     Ok::<(), E>(())
/// })?;
/// # Ok::<(), E>(())
/// ```
pub struct AgentInstaller<S, B> {
    agent: Agent<S, B>,
    root: TrustRoot,
    device: DeviceState,
    installers: Vec<Box<dyn ota_agent::Installer + Send>>,
    download: Box<dyn Download + Send>,
    health: Box<dyn HealthCheck + Send>,
    clock: Box<dyn Clock + Send>,
    release: Option<Release>,
    /// SHA-256 of the envelope of the job being run.
    job_digest: Option<[u8; 32]>,
    /// The outcome to report without installing (the job was finished before, or the envelope
    /// could not be fetched).
    settled: Option<Status>,
}

impl<S, B> std::fmt::Debug for AgentInstaller<S, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentInstaller")
            .field("installers", &self.installers.len())
            .field("release", &self.release.as_ref().map(Release::digest))
            .finish_non_exhaustive()
    }
}

impl<S: Store, B: BootControl> AgentInstaller<S, B> {
    /// An installer over `agent` (opened at this boot), verifying with `root`. `device` is what
    /// the device reports for the install decision (vendor, class, hardware, installed
    /// components, time); its anti-rollback fields are raised to the agent's floor before each
    /// decision. Add the component installers with [`AgentInstaller::with_installer`].
    pub fn new(
        agent: Agent<S, B>,
        root: TrustRoot,
        device: DeviceState,
        download: impl Download + Send + 'static,
        health: impl HealthCheck + Send + 'static,
    ) -> Self {
        Self {
            agent,
            root,
            device,
            installers: Vec::new(),
            download: Box::new(download),
            health: Box::new(health),
            clock: Box::new(SystemClock::default()),
            release: None,
            job_digest: None,
            settled: None,
        }
    }

    /// Adds the installer of a kind of component (firmware slots, an application volume...).
    #[must_use]
    pub fn with_installer(mut self, installer: impl ota_agent::Installer + Send + 'static) -> Self {
        self.installers.push(Box::new(installer));
        self
    }

    /// Replaces the clock of the health check's deadline ([`SystemClock`] by default).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + Send + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The agent.
    pub fn agent(&self) -> &Agent<S, B> {
        &self.agent
    }

    /// What the device reports for the install decision (update `now` and `installed` here).
    pub fn device_mut(&mut self) -> &mut DeviceState {
        &mut self.device
    }

    /// Gives back the agent (to simulate a reboot: reopen its store and boot control).
    pub fn into_agent(self) -> Agent<S, B> {
        self.agent
    }

    fn decision_state(&self) -> DeviceState {
        let mut d = self.device.clone();
        let floor = self.agent.floor();
        if floor.sequence > 0 {
            d.last_sequence = Some(d.last_sequence.unwrap_or(0).max(floor.sequence));
        }
        d.security_counter = d.security_counter.max(floor.security_counter);
        d
    }

    fn envelope(&mut self, job: &JobDocument) -> Result<Vec<u8>, Result<Refusal, Status>> {
        let loc = match &job.release {
            ReleaseSource::Inline(bytes) => return Ok(bytes.clone()),
            ReleaseSource::Remote(loc) => loc,
        };
        if loc.size > MAX_ENVELOPE {
            return Err(Ok(unverified(format!(
                "envelope of {} bytes, more than {MAX_ENVELOPE}",
                loc.size
            ))));
        }
        let mut buf = vec![0u8; usize::try_from(loc.size).unwrap_or(0)];
        let mut n = 0;
        while n < buf.len() {
            let Some(rest) = buf.get_mut(n..) else { break };
            match self.download.fetch(&loc.uri, n as u64, rest) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) => {
                    let reason = match e {
                        FetchError::NotFound(_) => Reason::InvalidUri,
                        FetchError::UnsupportedProtocol(_) => Reason::UnsupportedProtocol,
                        _ => Reason::ConnectionLost,
                    };
                    return Err(Err(Status::Failed {
                        stage: Stage::Download,
                        reason,
                        reverted: false,
                        detail: Some(e.to_string()),
                    }));
                }
            }
        }
        if n != buf.len() || ota_verify::Sha256::digest(&buf).0 != loc.sha256.0 {
            return Err(Ok(unverified(
                "the fetched envelope is not the one the job names",
            )));
        }
        Ok(buf)
    }

    fn progress_stage(&self) -> Stage {
        match self.agent.state() {
            State::Downloading => Stage::Download,
            State::Staged => Stage::Verify,
            State::Trial | State::Reverting | State::Reverted => Stage::Trial,
            State::Committed => Stage::Commit,
            _ => Stage::Install,
        }
    }

    /// REJECTED for the agent's own anti-rollback refusal at `start` (the record's floor).
    fn floor_refusal(&self) -> Status {
        let floor = self.agent.floor();
        let (sequence, counter) = self
            .release
            .as_ref()
            .map_or((0, 0), |r| (r.plan().sequence, r.plan().security_counter));
        let rule = if counter < floor.security_counter {
            RefusalRule::SecurityCounterBelowFloor {
                counter,
                floor: floor.security_counter,
            }
        } else {
            RefusalRule::SequenceNotNewer {
                sequence,
                accepted: floor.sequence,
            }
        };
        Status::Rejected {
            refusal: Refusal {
                component: None,
                rule,
            },
        }
    }

    fn finished(&self) -> Attempt {
        Attempt::Finished(
            wire_outcome(self.agent.outcome()).unwrap_or_else(|| self.floor_refusal()),
        )
    }
}

impl<S: Store, B: BootControl> Installer for AgentInstaller<S, B> {
    fn verify(&mut self, job: &JobDocument) -> Result<(), Refusal> {
        self.release = None;
        self.job_digest = None;
        self.settled = None;
        if let Some(expires_at) = job.policy.expires_at
            && self.device.now >= expires_at
        {
            return Err(Refusal {
                component: None,
                rule: RefusalRule::JobExpired {
                    expires_at,
                    now: self.device.now,
                },
            });
        }
        let envelope = match self.envelope(job) {
            Ok(e) => e,
            Err(Ok(refusal)) => return Err(refusal),
            Err(Err(failed)) => {
                self.settled = Some(failed);
                return Ok(());
            }
        };
        let digest = ota_verify::Sha256::digest(&envelope).0;
        self.job_digest = Some(digest);
        let state = self.agent.state();
        if digest == *self.agent.release_digest() && state != State::Idle {
            match state {
                // The agent verified this very envelope when it started; past the download it
                // needs nothing from it, and the device state (installed versions, the floor)
                // may already be the new release's.
                State::Downloading => {}
                s if s.is_at_rest() => {
                    self.settled = Some(
                        wire_outcome(self.agent.outcome()).unwrap_or_else(|| self.floor_refusal()),
                    );
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
        match Release::verify(&self.root, &envelope, &self.decision_state()) {
            Ok(release) => {
                self.release = Some(release);
                Ok(())
            }
            Err(rejected) => Err(match &rejected.refusal {
                Some(r) => wire_refusal(r),
                None => unverified(rejected.to_string()),
            }),
        }
    }

    fn install(&mut self, job: &JobDocument, progress: &mut dyn FnMut(Stage, Progress)) -> Attempt {
        if let Some(status) = self.settled.take() {
            return Attempt::Finished(status);
        }
        let state = self.agent.state();
        if !state.is_at_rest() && self.job_digest.as_ref() != Some(self.agent.release_digest()) {
            // The agent is busy with another release. Before anything is switched the new job
            // supersedes it (cancelled: Failed, download); later, that update finishes first.
            if !matches!(state, State::Downloading | State::Staged) {
                return Attempt::Interrupted {
                    detail: "the agent is finishing another release: run the job again once \
                             it is at rest"
                        .into(),
                };
            }
            if let Err(e) = self.agent.cancel() {
                return Attempt::Interrupted {
                    detail: format!("agent: {e}"),
                };
            }
        }
        let mut installers: Vec<&mut dyn ota_agent::Installer> = self
            .installers
            .iter_mut()
            .map(|b| &mut **b as &mut dyn ota_agent::Installer)
            .collect();
        if self.agent.state().is_at_rest() {
            let Some(release) = self.release.as_ref() else {
                return Attempt::Finished(Status::Failed {
                    stage: Stage::Verify,
                    reason: Reason::IntegrityCheckFailure,
                    detail: Some("install called without a verified release".into()),
                    reverted: false,
                });
            };
            match self.agent.start(release, &mut installers) {
                Ok(State::Downloading) => {}
                Ok(_) => {
                    drop(installers);
                    return self.finished();
                }
                Err(e) => {
                    return Attempt::Finished(Status::Failed {
                        stage: Stage::Install,
                        reason: Reason::InstallFailed,
                        reverted: false,
                        detail: Some(e.to_string()),
                    });
                }
            }
        }
        let total = self
            .release
            .as_ref()
            .map_or(0, |r| r.plan().download_bytes());
        let at = |agent: &Agent<S, B>| Progress {
            done: agent.download_offset().unwrap_or(total).min(total),
            total,
        };
        if self.agent.state() == State::Downloading {
            progress(Stage::Download, at(&self.agent));
        }
        let manifest = self.release.as_ref().map(Release::manifest);
        let mut fetch = JobFetch {
            job,
            manifest,
            download: &mut *self.download,
        };
        let mut env = Env {
            fetch: &mut fetch,
            installers: &mut installers,
            health: &mut *self.health,
            clock: &*self.clock,
            release: self.release.as_ref(),
        };
        let step = self.agent.resume(&mut env);
        drop(installers);
        match step {
            Ok(AgentProgress::AtRest(_)) => self.finished(),
            Ok(AgentProgress::RebootRequired) => {
                progress(self.progress_stage(), Progress { done: 0, total: 0 });
                Attempt::RebootRequired
            }
            Ok(AgentProgress::Interrupted(e)) => {
                progress(Stage::Download, at(&self.agent));
                Attempt::Interrupted {
                    detail: e.to_string(),
                }
            }
            Ok(AgentProgress::ReleaseNeeded) => Attempt::Interrupted {
                detail: "the agent needs the release it was downloading".into(),
            },
            // A power cut (in the simulation): nothing past the last persisted state happened;
            // the job runs again after the reboot.
            Err(ota_agent::Error::PowerLost) => Attempt::RebootRequired,
            // A store, boot-control or device error: the agent keeps its record; the job runs
            // again later and continues from it.
            Err(e) => Attempt::Interrupted {
                detail: format!("agent: {e}"),
            },
        }
    }
}

/// The agent's `Fetch` over the job document's URIs (the manifest's when the job names none).
struct JobFetch<'a> {
    job: &'a JobDocument,
    manifest: Option<&'a Manifest>,
    download: &'a mut (dyn Download + Send),
}

impl JobFetch<'_> {
    fn uri(&self, what: &Resource<'_>) -> Option<String> {
        let (component, from) = match what {
            Resource::Image { component, .. } => (*component, None),
            Resource::Patch {
                component,
                from_sha256,
                ..
            } => (*component, Some(*from_sha256)),
        };
        let listed = self.job.images.iter().find(|c| c.component == component);
        match (from, listed) {
            (None, Some(c)) if c.full.is_some() => c.full.clone(),
            (Some(from), Some(c)) => c
                .deltas
                .iter()
                .find(|d| d.from_sha256.0 == *from)
                .map(|d| d.uri.clone()),
            (None, _) => self
                .manifest?
                .components
                .iter()
                .find(|c| c.id == component)?
                .uris
                .first()
                .cloned(),
            (Some(_), None) => None,
        }
    }
}

impl ota_agent::Fetch for JobFetch<'_> {
    fn fetch(
        &mut self,
        what: &Resource<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, FetchError> {
        let Some(uri) = self.uri(what) else {
            return Err(FetchError::NotFound(format!(
                "the job names no URI for {what:?}"
            )));
        };
        self.download.fetch(&uri, offset, buf)
    }
}
