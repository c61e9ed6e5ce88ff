//! The server: the public entry points, each one transaction (retried whole on a conflict
//! with another instance).

use ota_protocol::{DeviceReport, JobExecution, Message, MessageKind};
use ota_verify::{Policy, TrustRoot};

use crate::deploy::{self, Ctx, DeploymentSpec, job_document};
use crate::error::{Error, Result};
use crate::ingest;
use crate::model::{Artifact, DeploymentRecord, DeviceRecord, ExecutionRecord, ReleaseRecord};
use crate::outbound::{Ingested, Outbound};
use crate::store::{Store, Tx};

/// Most attempts of one operation that conflicts with another instance.
const MAX_ATTEMPTS: usize = 16;

/// The fleet side over a [`Store`]. Transport-free: each method takes a decoded message (or an
/// operator's request) and returns what to send; the state change it makes is one transaction,
/// so a crash between two messages loses nothing, and a redelivered message changes nothing.
#[derive(Debug)]
pub struct Server<S> {
    store: S,
    ctx: Ctx,
}

impl<S: Store> Server<S> {
    /// A server over `store`, with AWS IoT Device Shadow's limits for twins ([`ota_twin::Limits::aws`]).
    pub fn new(store: S) -> Self {
        Server {
            store,
            ctx: Ctx {
                twin_limits: ota_twin::Limits::aws(),
                emit_jobs: true,
            },
        }
    }

    /// The store.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Runs `f` in a transaction and commits; on [`Error::Conflict`] rolls back and runs it
    /// again (at most 16 times).
    fn run<T>(&mut self, mut f: impl FnMut(&mut S::Tx<'_>, &Ctx) -> Result<T>) -> Result<T> {
        let mut attempt = 1;
        loop {
            let result = self.store.begin().and_then(|mut tx| {
                let v = f(&mut tx, &self.ctx)?;
                tx.commit()?;
                Ok(v)
            });
            match result {
                Err(e) if e.is_conflict() && attempt < MAX_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    /// Registers a device with its attributes (or replaces the attributes of a known one). A
    /// device new to the server joins the open deployments in its hash's ring; the returned
    /// messages are its jobs where that ring is open.
    ///
    /// # Errors
    /// Storage errors.
    pub fn register_device(
        &mut self,
        device: &str,
        attributes: ota_rollout::Attributes,
        now: u64,
    ) -> Result<Vec<Outbound>> {
        self.run(|tx, ctx| ingest::register(tx, ctx, device, attributes.clone(), now))
    }

    /// Registers many devices in one transaction (a bulk import), each as
    /// [`Server::register_device`] does: all of them or, on an error, none. The returned
    /// messages are the jobs of the new devices whose ring is open, in input order.
    ///
    /// # Errors
    /// Storage errors.
    pub fn register_devices(
        &mut self,
        devices: &[(String, ota_rollout::Attributes)],
        now: u64,
    ) -> Result<Vec<Outbound>> {
        self.run(|tx, ctx| {
            let mut out = Vec::new();
            for (device, attributes) in devices {
                out.extend(ingest::register(tx, ctx, device, attributes.clone(), now)?);
            }
            Ok(out)
        })
    }

    /// Ingests a device's report: once per report id (a redelivery changes nothing), the
    /// inventory kept from the newest. A device seen for the first time joins the open
    /// deployments as [`Server::register_device`] does.
    ///
    /// # Errors
    /// Storage errors.
    pub fn handle_report(
        &mut self,
        device: &str,
        report: &DeviceReport,
        now: u64,
    ) -> Result<Ingested> {
        self.run(|tx, ctx| ingest::report(tx, ctx, device, report, now))
    }

    /// Ingests an execution update from a device. SUCCEEDED and FAILED feed the deployment's
    /// gate; REJECTED (the device refused the release) is counted apart and reaches the
    /// rollout as `Report::Refused` (no gate counts it, but it completes the device's ring);
    /// the decisions this leads to (promotion, abort, completion) come back as messages.
    ///
    /// # Errors
    /// Storage errors; [`Error::Rollout`] when the stored rollout refuses the report (a bug or
    /// a database changed by hand).
    pub fn handle_execution(
        &mut self,
        device: &str,
        update: &JobExecution,
        now: u64,
    ) -> Result<Ingested> {
        self.run(|tx, ctx| ingest::execution(tx, ctx, device, update, now))
    }

    /// Ingests any decoded `ota-protocol` message from `device`.
    ///
    /// # Errors
    /// As [`Server::handle_report`] and [`Server::handle_execution`].
    pub fn handle_message(
        &mut self,
        device: &str,
        message: &Message,
        now: u64,
    ) -> Result<Ingested> {
        match message {
            Message::Report(r) => self.handle_report(device, r, now),
            Message::Execution(e) => self.handle_execution(device, e, now),
            Message::Job(_) => Ok(Ingested::Unexpected(MessageKind::Job)),
        }
    }

    /// Decodes (canonical `ota-protocol` CBOR) and ingests a message from `device`.
    ///
    /// # Errors
    /// [`Error::Protocol`] for bytes that do not decode, otherwise as
    /// [`Server::handle_message`].
    pub fn handle_cbor(&mut self, device: &str, bytes: &[u8], now: u64) -> Result<Ingested> {
        let m = Message::from_cbor(bytes).map_err(|source| Error::Protocol {
            field: "message",
            source,
        })?;
        self.handle_message(device, &m, now)
    }

    /// Decodes (`ota-protocol` JSON) and ingests a message from `device`.
    ///
    /// # Errors
    /// As [`Server::handle_cbor`].
    pub fn handle_json(&mut self, device: &str, text: &str, now: u64) -> Result<Ingested> {
        let m = Message::from_json(text).map_err(|source| Error::Protocol {
            field: "message",
            source,
        })?;
        self.handle_message(device, &m, now)
    }

    /// Applies a device's reported-twin update (AWS shadow JSON, `ota-twin`'s
    /// [`ota_twin::Update`]); an update that touches `desired` is refused.
    ///
    /// # Errors
    /// [`Error::Twin`] for JSON that is no update or breaks the twin's limits, storage errors.
    pub fn handle_twin_reported(
        &mut self,
        device: &str,
        json: &[u8],
        now: u64,
    ) -> Result<Ingested> {
        let update =
            ota_twin::Update::from_json(json, &self.ctx.twin_limits).map_err(|source| {
                Error::Twin {
                    device: device.to_owned(),
                    source,
                }
            })?;
        self.run(|tx, ctx| ingest::twin_reported(tx, ctx, device, update.clone(), now))
    }

    /// The jobs pending for a device (`jobs/get`): one per deployment where its execution is
    /// not terminal, the deployment open or over (a late joiner queued just before the rollout
    /// completed still gets its job).
    ///
    /// # Errors
    /// Storage errors.
    pub fn pending_jobs(&mut self, device: &str) -> Result<Vec<Outbound>> {
        self.run(|tx, _| {
            let mut out = Vec::new();
            for id in deployments_with_work(tx)? {
                let Some(e) = tx.execution_for_update(&id, device)? else {
                    continue;
                };
                if e.execution.status.kind().is_terminal() {
                    continue;
                }
                let Some(dep) = tx.deployment(&id)? else {
                    continue;
                };
                let release = deploy::load_release_for(tx, &dep)?;
                out.push(Outbound::Job {
                    device: device.to_owned(),
                    job: job_document(&dep, &release, e.member.ring)?,
                });
            }
            Ok(out)
        })
    }

    /// Adds a release: verifies the signed envelope against `trust` at `now` (threshold of
    /// release keys, not expired), decodes its manifest, checks that each artifact names one
    /// of its components, and stores the envelope exactly as signed.
    ///
    /// # Errors
    /// [`Error::Unverified`], [`Error::Manifest`], [`Error::UnknownComponent`],
    /// [`Error::Protocol`] when its job document would exceed the protocol's limits (envelope
    /// over 96 KiB, too many artifacts...), [`Error::Exists`], storage errors.
    pub fn add_release(
        &mut self,
        id: &str,
        envelope: &[u8],
        artifacts: Vec<Artifact>,
        trust: &TrustRoot,
        now: u64,
    ) -> Result<ReleaseRecord> {
        let verified = trust
            .verify(envelope, None, &Policy::new(now, 0))
            .map_err(|source| Error::Unverified {
                release: id.to_owned(),
                source,
            })?;
        let manifest = ota_manifest::Manifest::from_cbor(verified.payload).map_err(|source| {
            Error::Manifest {
                release: id.to_owned(),
                source,
            }
        })?;
        for (index, a) in artifacts.iter().enumerate() {
            if !manifest.components.iter().any(|c| c.id == a.component) {
                return Err(Error::UnknownComponent {
                    release: id.to_owned(),
                    index,
                    component: a.component.clone(),
                });
            }
        }
        // Every job of the release inlines the envelope: one the protocol's limits refuse
        // would be queued and then fail (or time out, counted against the release) at every
        // device, so it is refused here.
        let probe = ota_protocol::JobDocument {
            job_id: deploy::job_id("size-check")?,
            rollout: "size-check".to_owned(),
            ring: 0,
            release: ota_protocol::ReleaseSource::Inline(envelope.to_vec()),
            images: deploy::job_images(&artifacts),
            policy: Default::default(),
        };
        probe.to_cbor().map_err(|source| Error::Protocol {
            field: "release (as a job document)",
            source,
        })?;
        let record = ReleaseRecord {
            id: id.to_owned(),
            envelope: envelope.to_vec(),
            name: manifest.name.clone(),
            version: manifest.version.to_string(),
            sequence: verified.sequence,
            artifacts,
        };
        self.run(|tx, _| {
            if tx.insert_release(&record)? {
                Ok(())
            } else {
                Err(Error::Exists {
                    what: "release",
                    id: record.id.clone(),
                })
            }
        })?;
        Ok(record)
    }

    /// Creates a deployment over every device known now (exact ring assignment; devices that
    /// come later join by their hash) and starts its first ring: the returned messages are the
    /// first ring's jobs and desired twins.
    ///
    /// # Errors
    /// [`Error::Protocol`] for an id that is no job id, [`Error::UnknownRelease`],
    /// [`Error::Rollout`] for a plan it refuses, [`Error::Exists`], storage errors.
    pub fn create_deployment(&mut self, spec: &DeploymentSpec, now: u64) -> Result<Vec<Outbound>> {
        self.run(|tx, ctx| deploy::create(tx, ctx, spec, now))
    }

    /// Creates a deployment as [`Server::create_deployment`] does, in memory bounded for any
    /// fleet size: the jobs of the rings it opens are queued (executions and desired twins
    /// written) but not returned; the transport drains them with [`Server::queued_jobs`].
    /// Returns how many executions it queued.
    ///
    /// # Errors
    /// As [`Server::create_deployment`].
    pub fn create_deployment_queued(&mut self, spec: &DeploymentSpec, now: u64) -> Result<u64> {
        let ctx = Ctx {
            emit_jobs: false,
            ..self.ctx.clone()
        };
        self.run(|tx, _| {
            deploy::create(tx, &ctx, spec, now)?;
            Ok(tx.deployment(&spec.id)?.map_or(0, |d| d.rollout.started()))
        })
    }

    /// A page of at most `limit` QUEUED executions of `deployment` after device `after` (from
    /// the start with `None`), as the messages to send: each device's job and its twin's
    /// desired section. The second value is the cursor of the next page (`None`: this was the
    /// last). Memory is bounded by `limit`, whatever the ring sizes.
    ///
    /// # Errors
    /// [`Error::UnknownDeployment`], storage errors.
    pub fn queued_jobs(
        &mut self,
        deployment: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Outbound>, Option<String>)> {
        let limit = limit.max(1);
        self.run(|tx, ctx| {
            let dep = tx
                .deployment(deployment)?
                .ok_or_else(|| Error::UnknownDeployment(deployment.to_owned()))?;
            let release = deploy::load_release_for(tx, &dep)?;
            let page = tx.queued_after(deployment, after, limit)?;
            let next = if page.len() == limit {
                page.last().map(|e| e.device.clone())
            } else {
                None
            };
            let mut out = Vec::with_capacity(page.len() * 2);
            for e in page {
                out.push(Outbound::Job {
                    device: e.device.clone(),
                    job: job_document(&dep, &release, e.member.ring)?,
                });
                if let Some(text) = tx.twin(&e.device)? {
                    let twin = ota_twin::Twin::from_json(text.as_bytes(), ctx.twin_limits.clone())
                        .map_err(|err| Error::corrupt("twins", &e.device, err))?;
                    if let Some(desired) = twin.desired() {
                        out.push(Outbound::Desired {
                            device: e.device.clone(),
                            desired: serde_json::Value::Object(desired.clone()),
                            version: twin.version(),
                        });
                    }
                }
            }
            Ok((out, next))
        })
    }

    /// Lets time pass: executions past their timeout or the job's expiry become TIMED_OUT
    /// (failures for the gate; in a deployment that is over, counted in its tally only), soak
    /// times and rate limits move on. One transaction per deployment that is open or still has
    /// open executions.
    ///
    /// # Errors
    /// Storage and rollout errors.
    pub fn tick(&mut self, now: u64) -> Result<Vec<Outbound>> {
        let ids = self.run(|tx, _| deployments_with_work(tx))?;
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.with_deployment(&id, |tx, ctx, dep, out| {
                deploy::tick(tx, ctx, dep, now, out)
            })?);
        }
        Ok(out)
    }

    /// Cancels a deployment: the rollout is aborted, queued executions become CANCELED (and
    /// with `force` those in progress too).
    ///
    /// # Errors
    /// [`Error::UnknownDeployment`], [`Error::InvalidState`] when it is over already, storage
    /// errors.
    pub fn cancel_deployment(
        &mut self,
        id: &str,
        note: &str,
        force: bool,
        now: u64,
    ) -> Result<Vec<Outbound>> {
        self.operator(
            id,
            ota_rollout::Event::Abort {
                note: note.to_owned(),
            },
            now,
            force,
        )
    }

    /// A human's event for the rollout (`Approve`, `Resume`, `Pause`, `Abort`).
    ///
    /// # Errors
    /// As [`Server::cancel_deployment`]; [`Error::Rollout`] for an event the state refuses.
    pub fn operator_event(
        &mut self,
        id: &str,
        event: ota_rollout::Event,
        now: u64,
    ) -> Result<Vec<Outbound>> {
        self.operator(id, event, now, false)
    }

    fn operator(
        &mut self,
        id: &str,
        event: ota_rollout::Event,
        now: u64,
        force: bool,
    ) -> Result<Vec<Outbound>> {
        self.with_deployment(id, |tx, ctx, dep, out| {
            if !dep.is_open() {
                return Err(Error::InvalidState {
                    deployment: dep.id.clone(),
                    what: "the rollout is over".to_owned(),
                });
            }
            deploy::handle(tx, ctx, dep, event.clone(), now, out)?;
            if force && !dep.is_open() {
                deploy::cancel_open(tx, ctx, dep, true, now, out)?;
            }
            Ok(())
        })
    }

    fn with_deployment(
        &mut self,
        id: &str,
        mut f: impl FnMut(&mut S::Tx<'_>, &Ctx, &mut DeploymentRecord, &mut Vec<Outbound>) -> Result<()>,
    ) -> Result<Vec<Outbound>> {
        self.run(|tx, ctx| {
            let mut dep = tx
                .deployment_for_update(id)?
                .ok_or_else(|| Error::UnknownDeployment(id.to_owned()))?;
            let mut out = Vec::new();
            f(tx, ctx, &mut dep, &mut out)?;
            tx.update_deployment(&dep)?;
            Ok(out)
        })
    }

    /// A deployment.
    ///
    /// # Errors
    /// [`Error::UnknownDeployment`], storage errors.
    pub fn deployment(&mut self, id: &str) -> Result<DeploymentRecord> {
        self.run(|tx, _| {
            tx.deployment(id)?
                .ok_or_else(|| Error::UnknownDeployment(id.to_owned()))
        })
    }

    /// A device.
    ///
    /// # Errors
    /// Storage errors.
    pub fn device(&mut self, id: &str) -> Result<Option<DeviceRecord>> {
        self.run(|tx, _| tx.device(id))
    }

    /// A device's execution of a deployment.
    ///
    /// # Errors
    /// Storage errors.
    pub fn execution(&mut self, deployment: &str, device: &str) -> Result<Option<ExecutionRecord>> {
        self.run(|tx, _| tx.execution_for_update(deployment, device))
    }

    /// Every execution of a deployment, in device order.
    ///
    /// # Errors
    /// Storage errors.
    pub fn executions(&mut self, deployment: &str) -> Result<Vec<ExecutionRecord>> {
        self.run(|tx, _| tx.executions(deployment))
    }

    /// The states an execution went through, in version order.
    ///
    /// # Errors
    /// Storage errors.
    pub fn history(&mut self, deployment: &str, device: &str) -> Result<Vec<JobExecution>> {
        self.run(|tx, _| tx.history(deployment, device))
    }

    /// A device's twin.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for a stored twin that does not decode, storage errors.
    pub fn twin(&mut self, device: &str) -> Result<Option<ota_twin::Twin>> {
        let limits = self.ctx.twin_limits.clone();
        self.run(|tx, _| {
            tx.twin(device)?
                .map(|t| {
                    ota_twin::Twin::from_json(t.as_bytes(), limits.clone())
                        .map_err(|e| Error::corrupt("twins", device, e))
                })
                .transpose()
        })
    }
}

/// The deployments that are open, then those that are over but still have open executions.
fn deployments_with_work(tx: &mut impl Tx) -> Result<Vec<String>> {
    let mut ids = tx.open_deployments()?;
    ids.extend(tx.closed_deployments_with_open_executions()?);
    Ok(ids)
}
