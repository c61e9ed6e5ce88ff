//! Deployments: creation over the known fleet, the rollout's decisions turned into executions
//! and messages, timeouts, cancellation, operator events.

use ota_protocol::{
    Actor, ComponentSources, DeltaLocation, JobDocument, JobExecution, JobId, ReleaseSource,
    Status, StatusKind,
};
use ota_rollout::{Decision, Device, Event, Plan, Report, Rollout};
use ota_twin::{Twin, Update};
use serde_json::json;

use crate::error::{Error, Result};
use crate::model::{DeploymentRecord, ExecutionRecord, Member, ReleaseRecord, RingTally};
use crate::outbound::Outbound;
use crate::store::Tx;

/// What an operator asks for: a release, over a plan's rings.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentSpec {
    /// The deployment id, also the job id devices see (an `ota-protocol` job id).
    pub id: String,
    /// The release to deploy (added with [`crate::Server::add_release`]).
    pub release: String,
    /// The rings, gates, eligibility and rate.
    pub plan: Plan,
    /// The install policy written into every job document.
    pub policy: ota_protocol::InstallPolicy,
    /// An execution not terminal this long after it was queued becomes TIMED_OUT (a failure
    /// for the gate). `None`: only the policy's `expires_at` times executions out.
    pub execution_timeout_secs: Option<u64>,
}

impl DeploymentSpec {
    /// Puts `checks` (telemetry health checks, each with the previous release's baseline) on
    /// the gate of every ring of the plan, replacing any there. Reports' health metrics then
    /// feed them, and a regression pauses or aborts the deployment as the check's
    /// `on_regression` says (see the README). Checked when the deployment is created.
    #[must_use]
    pub fn with_health_checks(mut self, checks: &[ota_rollout::HealthCheck]) -> Self {
        for ring in &mut self.plan.rings {
            ring.gate.health = checks.to_vec();
        }
        self
    }
}

/// The settings the transaction code needs.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) twin_limits: ota_twin::Limits,
    /// Whether queuing a job returns its messages (false: the transport drains them in pages
    /// with `Server::queued_jobs`).
    pub(crate) emit_jobs: bool,
}

/// Devices read from storage per page during assignment, and members queued per page when a
/// ring starts.
pub(crate) const PAGE: usize = 10_000;

pub(crate) fn job_id(id: &str) -> Result<JobId> {
    JobId::new(id).map_err(|source| Error::Protocol {
        field: "deployment id",
        source,
    })
}

pub(crate) fn create(
    tx: &mut impl Tx,
    ctx: &Ctx,
    spec: &DeploymentSpec,
    now: u64,
) -> Result<Vec<Outbound>> {
    job_id(&spec.id)?;
    if tx.release(&spec.release)?.is_none() {
        return Err(Error::UnknownRelease(spec.release.clone()));
    }
    let rollout_err = |source| Error::Rollout {
        deployment: spec.id.clone(),
        source,
    };
    // The fleet a page at a time, keeping only what the assignment looks at: the id, and the
    // attributes only when the plan selects or stratifies on them.
    let plan = &spec.plan;
    let keep_attributes = plan.eligibility.is_some() || !plan.strata.is_empty();
    let mut devices: Vec<Device> = Vec::new();
    loop {
        let after = devices.last().map(|d| d.id.clone());
        let page = tx.devices_after(after.as_deref(), PAGE)?;
        let full = page.len() == PAGE;
        devices.extend(page.into_iter().map(|d| Device {
            id: d.id,
            attributes: if keep_attributes {
                d.attributes
            } else {
                Default::default()
            },
        }));
        if !full {
            break;
        }
    }
    devices.shrink_to_fit();
    let fleet = spec.plan.assign_fleet(&devices).map_err(rollout_err)?;
    let rollout = Rollout::new(spec.plan.clone(), &fleet.ring_sizes(), now).map_err(rollout_err)?;
    let mut dep = DeploymentRecord {
        id: spec.id.clone(),
        release: spec.release.clone(),
        tally: vec![RingTally::default(); spec.plan.rings.len()],
        rollout,
        policy: spec.policy,
        execution_timeout_secs: spec.execution_timeout_secs,
        last_now: now,
        created_at: now,
    };
    if !tx.insert_deployment(&dep)? {
        return Err(Error::Exists {
            what: "deployment",
            id: spec.id.clone(),
        });
    }
    for (k, ring) in fleet.rings.iter().enumerate() {
        for (i, &d) in ring.iter().enumerate() {
            if let Some(device) = devices.get(d) {
                let member = Member {
                    ring: k,
                    index: Some(i as u64),
                };
                tx.insert_member(&spec.id, &device.id, member)?;
            }
        }
    }
    drop(fleet);
    drop(devices);
    let mut out = Vec::new();
    handle(tx, ctx, &mut dep, Event::Tick, now, &mut out)?;
    tx.update_deployment(&dep)?;
    Ok(out)
}

/// Hands one event to the rollout and carries out its decisions.
pub(crate) fn handle(
    tx: &mut impl Tx,
    ctx: &Ctx,
    dep: &mut DeploymentRecord,
    event: Event,
    now: u64,
    out: &mut Vec<Outbound>,
) -> Result<()> {
    // Two instances' clocks may differ a little: the rollout never sees time go backwards.
    let t = now.max(dep.last_now);
    let was_running = *dep.rollout.status() == ota_rollout::Status::Running;
    let decisions = dep
        .rollout
        .handle(event, t)
        .map_err(|source| Error::Rollout {
            deployment: dep.id.clone(),
            source,
        })?;
    dep.last_now = t;
    apply_decisions(tx, ctx, dep, &decisions, now, out)?;
    if !was_running && *dep.rollout.status() == ota_rollout::Status::Running {
        // Resumed or approved: devices that joined an open ring while the rollout was paused
        // were not queued then (nothing starts while paused); they are now.
        let rel = load_release_for(tx, dep)?;
        for ring in 0..=dep.rollout.active_ring() {
            queue_late_members(tx, ctx, dep, &rel, ring, now, out)?;
        }
    }
    Ok(())
}

/// Queues the late joiners of `ring` that have no execution yet (counted beside the gate).
fn queue_late_members(
    tx: &mut impl Tx,
    ctx: &Ctx,
    dep: &mut DeploymentRecord,
    rel: &ReleaseRecord,
    ring: usize,
    now: u64,
    out: &mut Vec<Outbound>,
) -> Result<()> {
    for device in tx.waiting_late_members(&dep.id, ring)? {
        let member = Member { ring, index: None };
        queue(tx, ctx, dep, rel, &device, member, now, out)?;
        if let Some(t) = dep.tally.get_mut(ring) {
            t.late_queued += 1;
        }
    }
    Ok(())
}

pub(crate) fn apply_decisions(
    tx: &mut impl Tx,
    ctx: &Ctx,
    dep: &mut DeploymentRecord,
    decisions: &[Decision],
    now: u64,
    out: &mut Vec<Outbound>,
) -> Result<()> {
    let mut release: Option<ReleaseRecord> = None;
    for d in decisions {
        match d {
            Decision::Start { ring, first, count } => {
                let rel = load_release(tx, dep, &mut release)?;
                // A page of members at a time: a ring of a million devices is never in memory.
                let end = first.saturating_add(*count);
                let mut at = *first;
                while at < end {
                    let n = (end - at).min(PAGE as u64);
                    for (device, index) in tx.members_in_range(&dep.id, *ring, at, n)? {
                        let member = Member {
                            ring: *ring,
                            index: Some(index),
                        };
                        queue(tx, ctx, dep, rel, &device, member, now, out)?;
                    }
                    at += n;
                }
            }
            Decision::Promote { to, .. } => {
                let rel = load_release(tx, dep, &mut release)?;
                queue_late_members(tx, ctx, dep, rel, *to, now, out)?;
            }
            Decision::Abort { .. } => cancel_open(tx, ctx, dep, false, now, out)?,
            _ => {}
        }
    }
    Ok(())
}

/// The release of a deployment.
pub(crate) fn load_release_for(tx: &mut impl Tx, dep: &DeploymentRecord) -> Result<ReleaseRecord> {
    tx.release(&dep.release)?
        .ok_or_else(|| Error::UnknownRelease(dep.release.clone()))
}

fn load_release<'r>(
    tx: &mut impl Tx,
    dep: &DeploymentRecord,
    slot: &'r mut Option<ReleaseRecord>,
) -> Result<&'r ReleaseRecord> {
    if slot.is_none() {
        *slot = Some(
            tx.release(&dep.release)?
                .ok_or_else(|| Error::UnknownRelease(dep.release.clone()))?,
        );
    }
    slot.as_ref()
        .ok_or_else(|| Error::UnknownRelease(dep.release.clone()))
}

/// The job document of a deployment for a device in `ring`.
pub(crate) fn job_document(
    dep: &DeploymentRecord,
    release: &ReleaseRecord,
    ring: usize,
) -> Result<JobDocument> {
    Ok(JobDocument {
        job_id: job_id(&dep.id)?,
        rollout: dep.id.clone(),
        ring: u32::try_from(ring).unwrap_or(u32::MAX),
        release: ReleaseSource::Inline(release.envelope.clone()),
        images: job_images(&release.artifacts),
        policy: dep.policy,
    })
}

/// Where a job document says to fetch each component: the full image and the deltas.
pub(crate) fn job_images(artifacts: &[crate::model::Artifact]) -> Vec<ComponentSources> {
    let mut images: Vec<ComponentSources> = Vec::new();
    for a in artifacts {
        let i = match images.iter().position(|c| c.component == a.component) {
            Some(i) => i,
            None => {
                images.push(ComponentSources {
                    component: a.component.clone(),
                    full: None,
                    deltas: Vec::new(),
                });
                images.len() - 1
            }
        };
        if let Some(c) = images.get_mut(i) {
            match a.from_sha256 {
                None => c.full = Some(a.uri.clone()),
                Some(from) => c.deltas.push(DeltaLocation {
                    from_sha256: from,
                    uri: a.uri.clone(),
                }),
            }
        }
    }
    images
}

/// Queues the job on a device (once: an existing execution is left alone), writes the
/// release into its twin's `desired`, and says what to send.
#[allow(clippy::too_many_arguments)]
pub(crate) fn queue(
    tx: &mut impl Tx,
    ctx: &Ctx,
    dep: &DeploymentRecord,
    release: &ReleaseRecord,
    device: &str,
    member: Member,
    now: u64,
    out: &mut Vec<Outbound>,
) -> Result<()> {
    if tx.execution_for_update(&dep.id, device)?.is_some() {
        return Ok(());
    }
    let execution = JobExecution::queued(job_id(&dep.id)?, 1);
    tx.push_history(&dep.id, device, &execution, now)?;
    tx.put_execution(&ExecutionRecord {
        deployment: dep.id.clone(),
        device: device.to_owned(),
        member,
        execution,
        queued_at: now,
        updated_at: now,
    })?;
    if ctx.emit_jobs {
        out.push(Outbound::Job {
            device: device.to_owned(),
            job: job_document(dep, release, member.ring)?,
        });
    }
    let desired = json!({
        "release": {
            "id": release.id,
            "name": release.name,
            "version": release.version,
            "sequence": release.sequence,
            "deployment": dep.id,
        }
    });
    let version = update_twin(tx, ctx, device, &Update::desired(desired.clone()), now)?;
    if ctx.emit_jobs {
        out.push(Outbound::Desired {
            device: device.to_owned(),
            desired,
            version,
        });
    }
    Ok(())
}

/// Applies an update to a device's twin (created empty if it has none); returns its version.
pub(crate) fn update_twin(
    tx: &mut impl Tx,
    ctx: &Ctx,
    device: &str,
    update: &ota_twin::Result<Update>,
    now: u64,
) -> Result<u64> {
    let twin_err = |source| Error::Twin {
        device: device.to_owned(),
        source,
    };
    let update = update.as_ref().map_err(|e| twin_err(e.clone()))?;
    let mut twin = match tx.twin(device)? {
        Some(text) => Twin::from_json(text.as_bytes(), ctx.twin_limits.clone())
            .map_err(|e| Error::corrupt("twins", device, e))?,
        None => Twin::new(ctx.twin_limits.clone()),
    };
    twin.apply_update(update, now).map_err(twin_err)?;
    tx.put_twin(device, &twin.to_json(), twin.version())?;
    Ok(twin.version())
}

/// Counts a terminal status of an execution and, for a device in the rollout, feeds the gate.
pub(crate) fn settle(
    tx: &mut impl Tx,
    ctx: &Ctx,
    dep: &mut DeploymentRecord,
    member: Member,
    kind: StatusKind,
    now: u64,
    out: &mut Vec<Outbound>,
) -> Result<()> {
    let report = match kind {
        StatusKind::Succeeded => Some(Report::Succeeded),
        StatusKind::Failed => Some(Report::Failed),
        StatusKind::TimedOut => Some(Report::TimedOut),
        StatusKind::Rejected => Some(Report::Refused),
        _ => None,
    };
    if let Some(t) = dep.tally.get_mut(member.ring) {
        match kind {
            StatusKind::Rejected => t.rejected += 1,
            StatusKind::TimedOut => t.timed_out += 1,
            StatusKind::Canceled | StatusKind::Removed => t.canceled += 1,
            _ => {}
        }
        if member.index.is_none() {
            match report {
                Some(Report::Succeeded) => t.late_succeeded += 1,
                Some(Report::Failed | Report::TimedOut) => t.late_failed += 1,
                Some(Report::Refused) | None => {}
            }
        }
    }
    // A refusal (REJECTED) is counted apart: the device stays healthy on its old release, so it
    // is no failure, and it installed nothing, so it is no success either. The rollout takes it
    // as `Report::Refused`: no gate counts it, but the device no longer holds its ring open.
    if let (Some(outcome), Some(index)) = (report, member.index)
        && dep.is_open()
    {
        let event = Event::Report {
            ring: member.ring,
            index,
            outcome,
        };
        handle(tx, ctx, dep, event, now, out)?;
    }
    Ok(())
}

/// Moves an execution to a service-side status (TIMED_OUT, CANCELED) and says so to the
/// device, if `still` holds for the execution as locked now (the list it was picked from was
/// read without a lock: another instance may have moved it since). Returns the new state, or
/// `None` when it was terminal already or `still` no longer holds.
pub(crate) fn service_transition(
    tx: &mut impl Tx,
    dep_id: &str,
    device: &str,
    status: Status,
    still: impl Fn(&ExecutionRecord) -> bool,
    now: u64,
    out: &mut Vec<Outbound>,
) -> Result<Option<ExecutionRecord>> {
    let Some(mut rec) = tx.execution_for_update(dep_id, device)? else {
        return Ok(None);
    };
    if !still(&rec) {
        return Ok(None);
    }
    let next = rec.execution.next(status);
    if rec.execution.apply(&next, Actor::Service).is_err() {
        return Ok(None);
    }
    rec.updated_at = now;
    tx.push_history(dep_id, device, &next, now)?;
    tx.put_execution(&rec)?;
    out.push(Outbound::Execution {
        device: device.to_owned(),
        execution: next,
    });
    Ok(Some(rec))
}

/// Cancels the open executions: the queued ones, and with `force` those in progress too.
pub(crate) fn cancel_open(
    tx: &mut impl Tx,
    ctx: &Ctx,
    dep: &mut DeploymentRecord,
    force: bool,
    now: u64,
    out: &mut Vec<Outbound>,
) -> Result<()> {
    let cancels = |e: &ExecutionRecord| force || e.execution.status.kind() == StatusKind::Queued;
    for e in tx.open_executions(&dep.id)? {
        if !cancels(&e) {
            continue;
        }
        if let Some(rec) =
            service_transition(tx, &dep.id, &e.device, Status::Canceled, cancels, now, out)?
        {
            settle(tx, ctx, dep, rec.member, StatusKind::Canceled, now, out)?;
        }
    }
    Ok(())
}

/// Times out the executions past their deadline, then lets time pass for the rollout.
pub(crate) fn tick(
    tx: &mut impl Tx,
    ctx: &Ctx,
    dep: &mut DeploymentRecord,
    now: u64,
    out: &mut Vec<Outbound>,
) -> Result<()> {
    let (timeout, expires_at) = (dep.execution_timeout_secs, dep.policy.expires_at);
    let due = |e: &ExecutionRecord| {
        let by_timeout = timeout.is_some_and(|t| now >= e.queued_at.saturating_add(t));
        // A job still queued when it expires will never start (the device would refuse it).
        let by_expiry =
            e.execution.status.kind() == StatusKind::Queued && expires_at.is_some_and(|x| now >= x);
        by_timeout || by_expiry
    };
    for e in tx.open_executions(&dep.id)? {
        if !due(&e) {
            continue;
        }
        if let Some(rec) =
            service_transition(tx, &dep.id, &e.device, Status::TimedOut, due, now, out)?
        {
            settle(tx, ctx, dep, rec.member, StatusKind::TimedOut, now, out)?;
        }
    }
    if dep.is_open() {
        handle(tx, ctx, dep, Event::Tick, now, out)?;
    }
    Ok(())
}
