//! The fleet side: `ota-server` over SQLite behind one `ota-mqtt` worker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ota_mqtt::{DeviceId, TopicKind};
use ota_rollout::{FailAction, Gate, Inconclusive, Plan, Ring, Rule, Sprt};
use ota_server::{DeploymentRecord, DeploymentSpec, Outbound, SqliteStore};

use crate::device::Shared;
use crate::{RING_NAMES, Res};

/// Counters of the fleet worker.
#[derive(Default, Clone, Copy)]
pub struct Traffic {
    pub received: u64,
    pub updates: u64,
    pub reports: u64,
    pub duplicates: u64,
    pub refused: u64,
    pub jobs_sent: u64,
    pub desired_sent: u64,
    pub service_updates: u64,
}

pub struct Fleet {
    pub server: ota_server::Server<SqliteStore>,
    pub mqtt: ota_mqtt::Server,
    pub shared: Arc<Shared>,
    pub traffic: Traffic,
}

impl Fleet {
    /// Publishes what the server said to send.
    pub async fn publish(&mut self, out: Vec<Outbound>) -> Res<()> {
        let now = self.shared.now();
        for o in out {
            match o {
                Outbound::Job { device, job } => {
                    self.mqtt
                        .send_job(&DeviceId::new(device)?, &job, now)
                        .await?;
                    self.traffic.jobs_sent += 1;
                }
                Outbound::Desired {
                    device,
                    desired,
                    version,
                } => {
                    let body = serde_json::to_vec(
                        &serde_json::json!({ "version": version, "desired": desired }),
                    )?;
                    self.mqtt.set_desired(&DeviceId::new(device)?, body).await?;
                    self.traffic.desired_sent += 1;
                }
                // A service-side change (CANCELED, TIMED_OUT): ota-mqtt has no topic for it
                // yet; the device learns it when its next update is refused.
                _ => self.traffic.service_updates += 1,
            }
        }
        Ok(())
    }

    /// Handles one message from a device: one transaction, the answer, what it produced.
    pub async fn handle(&mut self, m: ota_mqtt::Message) -> Res<()> {
        self.traffic.received += 1;
        let now = self.shared.now();
        let device = m.device.as_str().to_owned();
        match m.kind {
            TopicKind::JobsUpdate | TopicKind::Reports => {
                let r = tokio::task::block_in_place(|| {
                    self.server.handle_cbor(&device, &m.payload, now)
                });
                match r {
                    Ok(ingested) => {
                        match &ingested {
                            ota_server::Ingested::Execution { .. } => self.traffic.updates += 1,
                            ota_server::Ingested::Report { .. } => self.traffic.reports += 1,
                            ota_server::Ingested::DuplicateExecution
                            | ota_server::Ingested::DuplicateReport => {
                                self.traffic.duplicates += 1;
                            }
                            _ => self.traffic.refused += 1,
                        }
                        self.mqtt
                            .respond(&m, ingested.accepted(), Vec::new())
                            .await?;
                        let out = ingested.outbound().to_vec();
                        self.publish(out).await?;
                    }
                    // A message that does not decode: refused, nothing changed.
                    Err(ota_server::Error::Protocol { .. }) => {
                        self.traffic.refused += 1;
                        self.mqtt.respond(&m, false, Vec::new()).await?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            TopicKind::JobsGet => {
                let jobs = tokio::task::block_in_place(|| self.server.pending_jobs(&device))?;
                let job = jobs.into_iter().find_map(|o| match o {
                    Outbound::Job { job, .. } => Some(job),
                    _ => None,
                });
                // The pending job, or an empty "none" (the device waits on).
                self.mqtt.answer_job_request(&m, job.as_ref()).await?;
            }
            TopicKind::TwinReported => {
                let _ = tokio::task::block_in_place(|| {
                    self.server.handle_twin_reported(&device, &m.payload, now)
                });
            }
            _ => {}
        }
        self.mqtt.ack(&m).await?;
        Ok(())
    }

    /// Runs a deployment until its rollout is over and every execution it queued is terminal.
    pub async fn deploy(&mut self, spec: &DeploymentSpec) -> Res<(DeploymentRecord, u64)> {
        let started = Instant::now();
        let now = self.shared.now();
        let out = tokio::task::block_in_place(|| self.server.create_deployment(spec, now))?;
        self.publish(out).await?;
        let mut last_tick = Instant::now();
        loop {
            match self.mqtt.recv(Duration::from_millis(100)).await {
                Ok(m) => self.handle(m).await?,
                Err(ota_mqtt::Error::Timeout(_)) => {}
                Err(e) => return Err(e.into()),
            }
            if last_tick.elapsed() >= Duration::from_secs(1) {
                last_tick = Instant::now();
                let now = self.shared.now();
                let out = tokio::task::block_in_place(|| self.server.tick(now))?;
                self.publish(out).await?;
                let (dep, open) = tokio::task::block_in_place(|| -> Res<_> {
                    let dep = self.server.deployment(&spec.id)?;
                    let open = self
                        .server
                        .executions(&spec.id)?
                        .iter()
                        .filter(|e| !e.execution.status.kind().is_terminal())
                        .count();
                    Ok((dep, open))
                })?;
                if !dep.is_open() && open == 0 {
                    return Ok((dep, started.elapsed().as_secs()));
                }
            }
        }
    }

    /// Keeps serving (reports after the last outcome) until `expected` reports are in, at most
    /// `max` long.
    pub async fn drain(&mut self, expected: u64, max: Duration) -> Res<()> {
        let until = Instant::now() + max;
        while self.traffic.reports < expected && Instant::now() < until {
            match self.mqtt.recv(Duration::from_millis(100)).await {
                Ok(m) => self.handle(m).await?,
                Err(ota_mqtt::Error::Timeout(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

pub fn plan(salt: &str) -> Plan {
    // fleet_rollout's gate: SPRT on the failure rate, baseline 1%, unacceptable 5%.
    let mut gate = Gate::new(Rule::Sprt(Sprt {
        p0: 0.01,
        p1: 0.05,
        alpha: 0.05,
        beta: 0.10,
    }));
    gate.on_fail = FailAction::Abort;
    gate.on_inconclusive = Inconclusive::Promote;
    let rings = RING_NAMES
        .iter()
        .zip(ota_rollout::DEFAULT_RING_SHARES)
        .map(|(name, share)| Ring {
            name: (*name).to_owned(),
            share,
            gate: gate.clone(),
        })
        .collect();
    let mut plan = Plan::new(salt, rings);
    // Canaries like the fleet: every revision and sensor variant among them.
    plan.strata = vec!["hw".into(), "sensor".into()];
    plan
}
