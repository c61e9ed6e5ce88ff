//! Messages from devices: reports (inventory, idempotent by report id), execution updates
//! (idempotent by version; terminal ones feed the gate), reported twins.

use ota_protocol::{Actor, Applied, DeviceReport, JobExecution};
use ota_rollout::Device;
use ota_twin::{SectionUpdate, Update};

use crate::deploy::{Ctx, load_release_for, queue, settle, update_twin};
use crate::error::Result;
use crate::model::{DeviceRecord, Member};
use crate::outbound::{Ingested, Outbound};
use crate::store::Tx;
use crate::telemetry::{self, Previous};

pub(crate) fn report(
    tx: &mut impl Tx,
    ctx: &Ctx,
    device: &str,
    report: &DeviceReport,
    now: u64,
) -> Result<Ingested> {
    if !tx.first_report(device, report.report_id, now)? {
        return Ok(Ingested::DuplicateReport);
    }
    let (mut d, is_new) = device_for_update(tx, device)?;
    let prev = Previous {
        reported: d.reports > 0,
        uptime_since_install: d.uptime_since_install,
        reboot_loops: d.reboot_loops,
        health: d.health.clone(),
    };
    // Only a report newer than the latest one carries telemetry: an older one's increases
    // were counted by the newer one already.
    let newer = report.sent_at >= d.last_sent_at;
    d.reports += 1;
    d.last_seen = now;
    // Reports may arrive out of order (redelivery, several instances): an older one does not
    // overwrite what a newer one said.
    if newer {
        d.last_sent_at = report.sent_at;
        d.installed.clone_from(&report.installed);
        d.boot_count = report.boot_count;
        d.reboot_loops = report.reboot_loops;
        d.health.clone_from(&report.health);
        d.uptime_since_install = report.uptime_since_install;
    }
    tx.put_device(&d)?;
    let mut out = Vec::new();
    if is_new {
        join_late(tx, ctx, &d, now, &mut out)?;
    }
    if newer {
        telemetry::feed(tx, ctx, device, &prev, report, now, &mut out)?;
    }
    Ok(Ingested::Report { out })
}

/// The device's record, locked for this transaction, and whether this transaction created it
/// (PostgreSQL's `SELECT ... FOR UPDATE` locks nothing when the row does not exist yet: two
/// instances seeing the same new device would both create it, and the later write would erase
/// the other's report or attributes).
fn device_for_update(tx: &mut impl Tx, device: &str) -> Result<(DeviceRecord, bool)> {
    let fresh = DeviceRecord {
        id: device.to_owned(),
        ..DeviceRecord::default()
    };
    let is_new = tx.insert_device_if_absent(&fresh)?;
    let d = tx.device(device)?.unwrap_or(fresh);
    Ok((d, is_new))
}

/// A device the server has not seen before: registers it with its attributes. A known device
/// only gets its attributes replaced.
pub(crate) fn register(
    tx: &mut impl Tx,
    ctx: &Ctx,
    device: &str,
    attributes: ota_rollout::Attributes,
    now: u64,
) -> Result<Vec<Outbound>> {
    let (mut d, is_new) = device_for_update(tx, device)?;
    d.attributes = attributes;
    tx.put_device(&d)?;
    let mut out = Vec::new();
    if is_new {
        join_late(tx, ctx, &d, now, &mut out)?;
    }
    Ok(out)
}

/// A device that joins after deployments were created gets, in each open one, the ring its
/// hash gives it (`Plan::assign`, the same hash as the fleet assignment), and the job at once
/// when that ring is open. It is outside the rollout's fixed ring sizes: its outcome is
/// counted in the tally, not by the gate.
fn join_late(
    tx: &mut impl Tx,
    ctx: &Ctx,
    d: &DeviceRecord,
    now: u64,
    out: &mut Vec<Outbound>,
) -> Result<()> {
    let device = Device {
        id: d.id.clone(),
        attributes: d.attributes.clone(),
    };
    for id in tx.open_deployments()? {
        let Some(mut dep) = tx.deployment_for_update(&id)? else {
            continue;
        };
        let Some(ring) = dep.rollout.plan().assign(&device).ring() else {
            continue;
        };
        let member = Member { ring, index: None };
        if !tx.insert_member(&id, &d.id, member)? {
            continue;
        }
        let running = *dep.rollout.status() == ota_rollout::Status::Running;
        if running && ring <= dep.rollout.active_ring() {
            let release = load_release_for(tx, &dep)?;
            queue(tx, ctx, &dep, &release, &d.id, member, now, out)?;
            if let Some(t) = dep.tally.get_mut(ring) {
                t.late_queued += 1;
            }
            tx.update_deployment(&dep)?;
        }
    }
    Ok(())
}

/// The versions of an execution kept in its history (a job has a handful: the claim, some
/// progress, the outcome).
pub(crate) const MAX_HISTORY_VERSIONS: u64 = 256;

pub(crate) fn execution(
    tx: &mut impl Tx,
    ctx: &Ctx,
    device: &str,
    update: &JobExecution,
    now: u64,
) -> Result<Ingested> {
    let dep_id = update.job_id.as_str();
    let terminal = update.status.kind().is_terminal();
    // Lock order: deployment, then execution. Only a terminal update changes the deployment.
    let mut dep = if terminal {
        match tx.deployment_for_update(dep_id)? {
            Some(d) => Some(d),
            None => return Ok(Ingested::UnknownJob(dep_id.to_owned())),
        }
    } else {
        None
    };
    let Some(mut rec) = tx.execution_for_update(dep_id, device)? else {
        return Ok(Ingested::UnknownJob(dep_id.to_owned()));
    };
    match rec.execution.apply(update, Actor::Device) {
        Ok(Applied::Duplicate) => return Ok(Ingested::DuplicateExecution),
        Ok(Applied::Advanced) => {}
        Err(e) => {
            // A late redelivery of a version applied before is a duplicate, not a conflict
            // (one row looked up: a device's history is never loaded whole for it).
            let before = tx.history_version(dep_id, device, update.version)?;
            return Ok(if before.as_ref() == Some(update) {
                Ingested::DuplicateExecution
            } else {
                Ingested::Refused(e)
            });
        }
    }
    rec.updated_at = now;
    // Progress updates past the first MAX_HISTORY_VERSIONS versions are applied but not kept
    // (a device cannot grow its history without bound); terminal ones always are.
    if update.version <= MAX_HISTORY_VERSIONS || update.status.kind().is_terminal() {
        tx.push_history(dep_id, device, update, now)?;
    }
    tx.put_execution(&rec)?;
    let mut out = Vec::new();
    if let Some(dep) = dep.as_mut() {
        settle(
            tx,
            ctx,
            dep,
            rec.member,
            update.status.kind(),
            now,
            &mut out,
        )?;
        tx.update_deployment(dep)?;
    }
    Ok(Ingested::Execution {
        execution: rec.execution,
        out,
    })
}

pub(crate) fn twin_reported(
    tx: &mut impl Tx,
    ctx: &Ctx,
    device: &str,
    update: Update,
    now: u64,
) -> Result<Ingested> {
    if update.desired != SectionUpdate::Unchanged {
        return Ok(Ingested::TwinRefused);
    }
    let version = update_twin(tx, ctx, device, &Ok(update), now)?;
    Ok(Ingested::Twin { version })
}
