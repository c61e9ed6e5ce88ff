//! `ota-protocol` messages on the layout's topics: encoding on send, decoding and the
//! idempotent handling of what the server receives.

use std::collections::HashMap;

use ota_protocol::{
    Actor, Applied, Delivery, DeviceReport, JobDocument, JobExecution, ReportDedup, TransitionError,
};

use crate::device::Device;
use crate::error::{Error, Result};
use crate::link::Message;
use crate::server::Server;
use crate::topics::{DeviceId, PROTOCOL_VERSION, TopicKind};

/// The correlation data of a job execution update: `{job_id}/{execution}/{version}`.
pub fn execution_correlation(e: &JobExecution) -> Vec<u8> {
    format!("{}/{}/{}", e.job_id, e.execution_number, e.version).into_bytes()
}

fn check_version(m: &Message) -> Result<()> {
    if m.protocol.as_deref() == Some(PROTOCOL_VERSION) {
        Ok(())
    } else {
        Err(Error::ProtocolVersion(m.protocol.clone()))
    }
}

impl Device {
    /// Sends a report (canonical CBOR) on `reports` and waits for the server's answer,
    /// re-sending until it comes ([`Device::send_confirmed`]; correlation data: the report id,
    /// 8 bytes big-endian). Returns true when accepted.
    ///
    /// # Errors
    /// [`Error::Protocol`] when the report does not encode (over a limit), and the errors of
    /// [`Device::send_confirmed`].
    pub async fn send_report(&mut self, report: &DeviceReport) -> Result<bool> {
        let payload = report.to_cbor()?;
        self.send_confirmed(TopicKind::Reports, &report.report_id.to_be_bytes(), payload)
            .await
    }

    /// Sends a job execution update on `jobs/update` and waits for the answer on
    /// `jobs/update/accepted|rejected` (correlation data: [`execution_correlation`]),
    /// re-sending until it comes. Returns true when accepted.
    ///
    /// # Errors
    /// [`Error::Protocol`], and the errors of [`Device::send_confirmed`].
    pub async fn send_execution(&mut self, e: &JobExecution) -> Result<bool> {
        let payload = e.to_cbor()?;
        self.send_confirmed(TopicKind::JobsUpdate, &execution_correlation(e), payload)
            .await
    }

    /// Decodes a job notification (`jobs/notify` or `jobs/get/accepted`).
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] for another topic, [`Error::ProtocolVersion`], [`Error::Protocol`].
    pub fn decode_job(m: &Message) -> Result<JobDocument> {
        if !matches!(m.kind, TopicKind::JobsNotify | TopicKind::JobsGetAccepted) {
            return Err(Error::UnknownTopic(m.kind.suffix().to_owned()));
        }
        check_version(m)?;
        Ok(JobDocument::from_cbor(&m.payload)?)
    }
}

impl Server {
    /// Sends `job` to `device` on `jobs/notify`. With the policy's `expires_at` and the
    /// service's clock `now` (seconds since the epoch), the message expires with the job, so a
    /// device that returns later does not get it.
    ///
    /// # Errors
    /// [`Error::Protocol`], [`Error::Closed`].
    pub async fn send_job(&self, device: &DeviceId, job: &JobDocument, now: u64) -> Result<()> {
        let expiry = job
            .policy
            .expires_at
            .map(|t| std::time::Duration::from_secs(t.saturating_sub(now).max(1)));
        self.notify_job(device, job.to_cbor()?, expiry).await
    }

    /// Answers a `jobs/get` request: `accepted` with the job document (canonical CBOR), or
    /// `accepted` with an empty payload when the device has no pending job (TOPICS.md). A
    /// device waiting in [`Device::next_job`] takes either.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] when `m` is not a `jobs/get`, [`Error::Protocol`],
    /// [`Error::Closed`].
    pub async fn answer_job_request(&self, m: &Message, job: Option<&JobDocument>) -> Result<()> {
        if m.kind != TopicKind::JobsGet {
            return Err(Error::UnknownTopic(m.kind.suffix().to_owned()));
        }
        let payload = match job {
            Some(job) => job.to_cbor()?,
            None => Vec::new(),
        };
        self.respond(m, true, payload).await
    }

    /// Answers a report or job update as [`Ingest::apply`] handled it: `accepted` for what was
    /// applied, held or already applied (so the device stops re-sending), `rejected` for a
    /// refused update or an unknown job. Nothing for other messages: answer a `jobs/get`
    /// ([`Ingested::JobRequest`]) with [`Server::answer_job_request`].
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub async fn answer(&self, m: &Message, ingested: &Ingested) -> Result<()> {
        let accepted = match ingested {
            Ingested::Report(_)
            | Ingested::DuplicateReport
            | Ingested::Execution(_)
            | Ingested::DuplicateExecution
            | Ingested::Held => true,
            Ingested::Refused(_) | Ingested::UnknownJob(_) => false,
            Ingested::JobRequest | Ingested::TwinReported(_) => return Ok(()),
        };
        self.respond(m, accepted, Vec::new()).await
    }
}

/// What the server did with a message from a device.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Ingested {
    /// A report seen for the first time: count it.
    Report(DeviceReport),
    /// A report seen before (QoS 1 redelivery): ignored.
    DuplicateReport,
    /// Updates that advanced the execution, in version order: this one, then any later
    /// versions that had arrived early and were held (shared subscriptions and redelivery do
    /// not keep a device's messages in order across workers).
    Execution(Vec<JobExecution>),
    /// An update that arrived before the version it follows: held until that one arrives.
    Held,
    /// The same update again: ignored.
    DuplicateExecution,
    /// An update refused (wrong version, illegal transition, unknown job): answer `rejected`.
    Refused(TransitionError),
    /// An update for a job this server never queued for the device: answer `rejected`.
    UnknownJob(String),
    /// A request for the pending job (`jobs/get`).
    JobRequest,
    /// A reported twin, passed through as bytes.
    TwinReported(Vec<u8>),
}

/// The server's view of the devices' executions and reports: applies each message once.
#[derive(Debug)]
pub struct Ingest {
    reports: ReportDedup,
    executions: HashMap<(DeviceId, String), Tracked>,
}

/// Most updates held per execution while an earlier version is missing.
const MAX_HELD: usize = 16;
/// Most past states kept per execution to recognise late redeliveries.
const MAX_HISTORY: usize = 64;

#[derive(Debug)]
struct Tracked {
    current: JobExecution,
    held: Vec<JobExecution>,
    // Every state the execution went through (a handful per job), to recognise a late
    // redelivery of an older version as a duplicate rather than a conflict.
    history: Vec<JobExecution>,
}

impl Ingest {
    /// Remembers the last `report_window` report ids of each device.
    pub fn new(report_window: usize) -> Self {
        Self {
            reports: ReportDedup::new(report_window),
            executions: HashMap::new(),
        }
    }

    /// Records that `execution` (QUEUED) was created for `device`.
    pub fn queue(&mut self, device: &DeviceId, execution: JobExecution) {
        self.executions.insert(
            (device.clone(), execution.job_id.to_string()),
            Tracked {
                history: vec![execution.clone()],
                current: execution,
                held: Vec::new(),
            },
        );
    }

    /// The current execution of `job_id` on `device`.
    pub fn execution(&self, device: &DeviceId, job_id: &str) -> Option<&JobExecution> {
        self.executions
            .get(&(device.clone(), job_id.to_owned()))
            .map(|t| &t.current)
    }

    /// Decodes and applies one message from a device.
    ///
    /// # Errors
    /// [`Error::ProtocolVersion`], [`Error::Protocol`] for a payload that does not decode,
    /// [`Error::UnknownTopic`] for a topic a device does not publish on.
    pub fn apply(&mut self, m: &Message) -> Result<Ingested> {
        check_version(m)?;
        match m.kind {
            TopicKind::Reports => {
                let report = DeviceReport::from_cbor(&m.payload)?;
                Ok(
                    match self.reports.observe(m.device.as_str(), report.report_id) {
                        Delivery::New => Ingested::Report(report),
                        Delivery::Duplicate => Ingested::DuplicateReport,
                    },
                )
            }
            TopicKind::JobsUpdate => {
                let update = JobExecution::from_cbor(&m.payload)?;
                let key = (m.device.clone(), update.job_id.to_string());
                let Some(tracked) = self.executions.get_mut(&key) else {
                    return Ok(Ingested::UnknownJob(update.job_id.to_string()));
                };
                Ok(tracked.apply(update))
            }
            TopicKind::JobsGet => Ok(Ingested::JobRequest),
            TopicKind::TwinReported => Ok(Ingested::TwinReported(m.payload.clone())),
            other => Err(Error::UnknownTopic(other.suffix().to_owned())),
        }
    }
}

impl Tracked {
    fn apply(&mut self, update: JobExecution) -> Ingested {
        let next = self.current.version.saturating_add(1);
        let same_run = update.job_id == self.current.job_id
            && update.execution_number == self.current.execution_number;
        if same_run && update.version > next && !self.current.status.kind().is_terminal() {
            if self.held.iter().any(|h| h == &update) {
                return Ingested::Held;
            }
            if self.held.len() < MAX_HELD {
                self.held.push(update);
                return Ingested::Held;
            }
        }
        match self.current.apply(&update, Actor::Device) {
            Ok(Applied::Duplicate) => Ingested::DuplicateExecution,
            Err(_) if self.history.contains(&update) => Ingested::DuplicateExecution,
            Err(e) => Ingested::Refused(e),
            Ok(Applied::Advanced) => {
                self.remember(&update);
                let mut applied = vec![update];
                loop {
                    let want = self.current.version.saturating_add(1);
                    let Some(i) = self.held.iter().position(|h| h.version == want) else {
                        break;
                    };
                    let h = self.held.swap_remove(i);
                    match self.current.apply(&h, Actor::Device) {
                        Ok(Applied::Advanced) => {
                            self.remember(&h);
                            applied.push(h);
                        }
                        Ok(Applied::Duplicate) | Err(_) => break,
                    }
                }
                self.held.retain(|h| h.version > self.current.version);
                Ingested::Execution(applied)
            }
        }
    }

    fn remember(&mut self, e: &JobExecution) {
        if self.history.len() >= MAX_HISTORY {
            self.history.remove(0);
        }
        self.history.push(e.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ota_protocol::{JobId, Progress, Stage, Status};

    fn step(e: &JobExecution, done: u64) -> JobExecution {
        e.next(Status::InProgress {
            stage: Stage::Download,
            progress: Progress { done, total: 10 },
        })
    }

    #[test]
    fn out_of_order_updates_are_held_then_applied_in_order_and_redeliveries_once() {
        let q = JobExecution::queued(JobId::new("j").unwrap(), 1);
        let mut t = Tracked {
            history: vec![q.clone()],
            current: q.clone(),
            held: Vec::new(),
        };
        let v2 = step(&q, 1);
        let v3 = step(&v2, 2);
        let v4 = v3.next(Status::Succeeded);
        assert_eq!(t.apply(v4.clone()), Ingested::Held);
        assert_eq!(t.apply(v3.clone()), Ingested::Held);
        assert_eq!(t.apply(v4.clone()), Ingested::Held);
        assert_eq!(
            t.apply(v2.clone()),
            Ingested::Execution(vec![v2.clone(), v3.clone(), v4.clone()])
        );
        assert_eq!(t.current, v4);
        assert!(t.held.is_empty());
        // Late redeliveries of any applied version change nothing.
        for old in [v2.clone(), v3.clone(), v4.clone()] {
            assert_eq!(t.apply(old), Ingested::DuplicateExecution);
        }
        // A different update claiming an applied version is a conflict, not a duplicate.
        let forged = step(&q, 9);
        assert!(matches!(t.apply(forged), Ingested::Refused(_)));
        assert_eq!(t.current, v4);
    }

    #[test]
    fn held_updates_are_bounded() {
        let q = JobExecution::queued(JobId::new("j").unwrap(), 1);
        let mut t = Tracked {
            history: vec![q.clone()],
            current: q.clone(),
            held: Vec::new(),
        };
        let mut e = step(&q, 0);
        for i in 0..(MAX_HELD as u64 + 5) {
            e = step(&e, i);
            let _ = t.apply(e.clone());
        }
        assert_eq!(t.held.len(), MAX_HELD);
    }
}
