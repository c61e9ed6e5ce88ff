//! The devices: a board (revision, sensor, simulated flash) and its agent behind
//! `AgentInstaller`, each on its own MQTT connection.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ota_agent::sim::{PowerRail, SimBoot, SimFlash, SimSlots};
use ota_agent::{Agent, Config, FlashStore, Geometry, Health, HealthCheck, SlotInstaller};
use ota_examples::images::BuildInfo;
use ota_examples::rng::Rng;
use ota_manifest::{DeviceState, Installed, Slot};
use ota_mqtt::{AgentInstaller, ConnectOptions, Device, DeviceId, TopicKind};
use ota_protocol::{DeviceReport, InstalledComponent, JobExecution};
use tokio::sync::watch;

use crate::vendor::{Cdn, CdnDownload, HW, Vendor};
use crate::{EPOCH, MAX_BOOTS_PER_JOB, Res, SLOT_SIZE};

/// What a device is: its board and the firmware it left the factory with.
#[derive(Clone)]
pub struct Profile {
    pub id: String,
    pub hardware: usize,
    pub sensor: u8,
    pub factory: usize,
}

pub fn fleet(n: usize, seed: u64) -> Vec<Profile> {
    let mut rng = Rng::stream(seed, "fleet");
    (0..n)
        .map(|i| {
            let hardware = rng.below(3) as usize;
            // Sensor variant 1 is fitted to every revision C board and half of revision B.
            let sensor = match hardware {
                2 => 1,
                1 => u8::from(rng.chance(0.5)),
                _ => 0,
            };
            // One device in ten still runs 0.9.0 (no delta from it: the full image).
            let factory = if rng.chance(0.1) { 0 } else { 1 };
            Profile {
                id: format!("dev-{i:04}"),
                hardware,
                sensor,
                factory,
            }
        })
        .collect()
}

/// The health check after a trial boot: the booted image must have the driver of the board's
/// sensor (read from the image's build-info block).
pub struct SensorCheck {
    pub ok: bool,
    pub why: String,
}

impl HealthCheck for SensorCheck {
    fn check(&mut self, _deadline_ms: u64) -> Health {
        if self.ok {
            Health::Pass
        } else {
            Health::Fail(self.why.clone())
        }
    }
}

/// The device's hardware: kept across reboots.
pub struct Hardware {
    pub record: SimFlash,
    pub bootmeta: SimFlash,
    pub slots: SimSlots,
}

pub type Inst = AgentInstaller<FlashStore<SimFlash>, SimBoot>;

pub struct Shared {
    pub vendor: Vendor,
    pub cdn: Arc<Cdn>,
    pub start: Instant,
}

impl Shared {
    pub fn now(&self) -> u64 {
        EPOCH + self.start.elapsed().as_secs()
    }
}

impl Hardware {
    pub fn new(p: &Profile, shared: &Shared) -> Self {
        let rail = PowerRail::new();
        let g = |sector_size| Geometry {
            sector_size,
            sector_count: 2,
            write_align: 8,
            erased: 0xFF,
        };
        let slots = SimSlots::new(rail.clone(), SLOT_SIZE, 0xFF);
        if let Some(b) = shared.vendor.builds.get(p.factory) {
            slots.factory(Slot::A, &b.image);
        }
        Hardware {
            record: SimFlash::new(rail.clone(), g(2048)),
            bootmeta: SimFlash::new(rail, g(256)),
            slots,
        }
    }

    /// The build in `slot`, recognised by its bytes.
    pub fn build_in(&self, slot: Slot, shared: &Shared) -> Option<usize> {
        shared
            .vendor
            .builds
            .iter()
            .position(|b| self.slots.snapshot(slot, b.image.len()) == b.image)
    }

    /// Powers on: the bootloader picks a slot, the agent opens its record.
    pub fn boot(&self, p: &Profile, shared: &Shared) -> Res<(Inst, Slot, Option<usize>)> {
        let boot = SimBoot::power_on(self.bootmeta.clone(), 0)?;
        let slot = boot.booted();
        let running = self.build_in(slot, shared);
        let info = running
            .and_then(|b| shared.vendor.builds.get(b))
            .and_then(|b| BuildInfo::read(&b.image));
        let check = match info {
            Some(i) if i.sensor_mask & (1 << p.sensor) != 0 => SensorCheck {
                ok: true,
                why: String::new(),
            },
            Some(i) => SensorCheck {
                ok: false,
                why: format!(
                    "sensor variant {} does not answer (no driver in {})",
                    p.sensor, i.version
                ),
            },
            None => SensorCheck {
                ok: false,
                why: "no build-info block in the booted image".into(),
            },
        };
        let store = FlashStore::new(self.record.clone(), 0)?;
        let agent = Agent::open(store, boot, Config::default())?;
        let installed = running
            .and_then(|b| shared.vendor.builds.get(b))
            .map(|b| Installed {
                id: "firmware".into(),
                version: b.version.clone(),
                sha256: b.sha,
            });
        let state = DeviceState {
            vendor: ota_manifest::DeviceId::new(b"acme")?,
            class: ota_manifest::DeviceId::new(b"sensor")?,
            hardware: HW.get(p.hardware).copied().unwrap_or("A").into(),
            installed: installed.into_iter().collect(),
            security_counter: 0,
            last_sequence: None,
            now: shared.now(),
            active_slot: slot,
        };
        let inst = AgentInstaller::new(
            agent,
            shared.vendor.root.clone(),
            state,
            CdnDownload(shared.cdn.clone()),
            check,
        )
        .with_installer(SlotInstaller::firmware(self.slots.clone()));
        Ok((inst, slot, running))
    }
}

/// What a device did, for the end-state lines.
pub struct DeviceEnd {
    pub running: Option<usize>,
    pub boots: u64,
    pub desired_seen: u64,
    pub jobs: u64,
}

/// One device: connects, then runs each job it is sent (rebooting as the agent asks) and sends
/// a report after each, until told to stop.
pub async fn device_task(
    p: Profile,
    shared: Arc<Shared>,
    port: u16,
    mut stop: watch::Receiver<bool>,
    connect_gate: Arc<tokio::sync::Semaphore>,
    connected: tokio::sync::mpsc::Sender<()>,
) -> Res<DeviceEnd> {
    let hw = Hardware::new(&p, &shared);
    let id = DeviceId::new(p.id.as_str())?;
    let mut dev = {
        let _permit = connect_gate.acquire().await?;
        let mut o = ConnectOptions::new("127.0.0.1", port, p.id.as_str());
        o.connect_timeout = Duration::from_secs(30);
        Device::connect(&o, id).await?
    };
    // Subscribed: jobs published from now on reach this device (its session keeps them).
    connected.send(()).await?;
    drop(connected);
    // Answers may wait behind a whole ring's updates in the server's queue: re-send after 15 s.
    dev.set_confirmation(Duration::from_secs(15), 8);
    let mut end = DeviceEnd {
        running: None,
        boots: 1,
        desired_seen: 0,
        jobs: 0,
    };
    let (mut inst, _, mut running) = hw.boot(&p, &shared)?;
    let mut report_id = 0u64;
    // Jobs already run to their outcome (a job delivered twice is run once).
    let mut done: Vec<ota_protocol::JobId> = Vec::new();
    loop {
        // The job notification, or the answer to `jobs/get` (asked at the first wait and after
        // every reconnection, so a job lost with the broker's session is found again).
        let r = tokio::select! {
            _ = stop.changed() => break,
            r = dev.next_job(Duration::from_millis(500)) => r,
        };
        // What arrived meanwhile besides jobs (the desired twin).
        while let Ok(m) = dev.recv(Duration::ZERO).await {
            dev.ack(&m).await?;
            if m.kind == TopicKind::TwinDesired {
                end.desired_seen += 1;
            }
        }
        match r {
            Err(ota_mqtt::Error::Timeout(_)) => {}
            Err(e) => return Err(e.into()),
            Ok(job) => {
                if done.contains(&job.job_id) {
                    continue;
                }
                end.jobs += 1;
                let mut last = JobExecution::queued(job.job_id.clone(), 1);
                inst.device_mut().now = shared.now();
                let mut stopped = false;
                for _ in 0..MAX_BOOTS_PER_JOB {
                    last = match dev.run_job(&mut inst, &job, &last).await {
                        Ok(last) => last,
                        // The server canceled the job since it was queued (the release was
                        // aborted): it answered the claim `rejected`, nothing was installed.
                        Err(ota_mqtt::Error::JobRejected { .. }) => {
                            stopped = true;
                            break;
                        }
                        Err(e) => return Err(e.into()),
                    };
                    if last.status.kind().is_terminal() {
                        break;
                    }
                    // The agent asked for a reboot (trial boot, revert), or the download
                    // stopped: power-cycle and run the job again from the agent's record.
                    drop(inst);
                    (inst, _, running) = hw.boot(&p, &shared)?;
                    end.boots += 1;
                }
                if stopped {
                    done.push(job.job_id.clone());
                    continue;
                }
                if !last.status.kind().is_terminal() {
                    return Err(format!(
                        "{}: job {} not finished after {MAX_BOOTS_PER_JOB} boots",
                        p.id, job.job_id
                    )
                    .into());
                }
                done.push(job.job_id.clone());
                // The inventory report (what runs now), so the server's records follow.
                report_id += 1;
                let build = running.and_then(|b| shared.vendor.builds.get(b));
                let report = DeviceReport {
                    report_id,
                    sent_at: shared.now(),
                    installed: build
                        .map(|b| InstalledComponent {
                            id: "firmware".into(),
                            version: b.version.to_string(),
                            sha256: Some(ota_protocol::Sha256(b.sha.0)),
                        })
                        .into_iter()
                        .collect(),
                    active_slot: None,
                    boot_count: end.boots,
                    reboot_loops: 0,
                    uptime_since_install: None,
                    health: BTreeMap::new(),
                };
                dev.send_report(&report).await?;
            }
        }
    }
    end.running = running;
    dev.disconnect().await;
    Ok(end)
}
