//! Waiting for the device's job without trusting that the notification arrives: the device
//! asks `jobs/get` at its first wait, after every reconnection, again while the question is
//! unanswered, and every `poll_every`; a job comes back from either topic.
//!
//! Why: a QoS 1 `jobs/notify` lives in the broker's session for the device. A broker that
//! loses the session (restarted without its persistence file, session expired, a queued
//! message dropped over `max_queued_messages`) loses the job with it, and the device would wait
//! forever for a notification that never comes (seen once in 1,000 devices across a restart
//! under load). The server keeps the job; asking for it closes the gap.

use std::time::Duration;

use ota_protocol::JobDocument;
use tokio::time::Instant;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::link::Message;
use crate::topics::TopicKind;

/// How long one wait lasts before the device looks again for a reconnection.
const SLICE: Duration = Duration::from_millis(250);

/// The device's state of asking for its job.
#[derive(Debug)]
pub(crate) struct JobAsk {
    /// Requests sent so far (the correlation data is `get/{seq}`).
    seq: u64,
    /// When the last request was sent, and whether an answer to it came.
    last: Option<(Instant, bool)>,
    /// The reconnection count when it was sent.
    reconnects_seen: usize,
    /// How often to ask again once answered with "no job".
    pub(crate) poll_every: Duration,
    /// A job taken from the connection and not yet returned (the call was cancelled).
    taken: Option<JobDocument>,
}

impl JobAsk {
    pub(crate) fn new() -> Self {
        Self {
            seq: 0,
            last: None,
            reconnects_seen: 0,
            poll_every: Duration::from_secs(15 * 60),
            taken: None,
        }
    }

    /// When the next request is due (`None`: now).
    fn due(&self, reconnects: usize, resend_after: Duration) -> Option<Instant> {
        let (at, answered) = self.last?;
        if reconnects != self.reconnects_seen {
            return None;
        }
        Some(
            at + if answered {
                self.poll_every
            } else {
                resend_after
            },
        )
    }

    /// The correlation data of question `seq`.
    fn correlation(seq: u64) -> Vec<u8> {
        format!("get/{seq}").into_bytes()
    }
}

/// What a message means to a device waiting for its job.
enum Seen {
    Job(JobDocument),
    /// `jobs/get` answered: no pending job (accepted, empty payload).
    NoJob,
    /// `jobs/get` refused (a server error): asked again after the confirmation interval, as if
    /// unanswered.
    Refused,
}

impl Device {
    /// How often [`Device::next_job`] asks `jobs/get` again after the server answered that
    /// there is no job (default 15 minutes). It also asks at its first wait and after every
    /// reconnection, whatever this is.
    pub fn set_job_poll(&mut self, every: Duration) {
        self.ask.poll_every = every.max(Duration::from_millis(100));
    }

    /// Waits at most `timeout` for the device's job: a `jobs/notify`, or the answer to
    /// `jobs/get`, which this asks at the first call, after every reconnection (the broker may
    /// have lost the session and the notification queued in it), again every
    /// [`Device::set_confirmation`] interval while unanswered or refused (`jobs/get/rejected`),
    /// and every [`Device::set_job_poll`] interval after a "no job" answer; never while the
    /// connection is down. The message is acknowledged before it is returned. Other messages that arrive meanwhile (the twin, answers to other
    /// requests) are kept, unacknowledged, for [`Device::recv`]: take and acknowledge them
    /// between waits, since the broker stops sending once `receive_maximum` (32) messages are
    /// unacknowledged.
    ///
    /// A job can arrive twice (the notification and the answer, or a QoS 1 redelivery):
    /// recognise it by its job id. Returns a job only; "no job yet" is waiting on.
    ///
    /// Cancel-safe: a job taken from the connection by a call whose future is dropped (a
    /// `select!` on a stop signal) is returned by the next call (if the drop came before its
    /// acknowledgement went out, the broker may deliver it once more: recognise it by its id).
    ///
    /// # Errors
    /// [`Error::Timeout`] when no job came; [`Error::ProtocolVersion`] or [`Error::Protocol`]
    /// for a job message that does not decode (it is acknowledged, so it is not delivered
    /// again); [`Error::Closed`].
    pub async fn next_job(&mut self, timeout: Duration) -> Result<JobDocument> {
        if let Some(job) = self.ask.taken.take() {
            return Ok(job);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Timeout(timeout));
            }
            let (reconnects, _) = self.reconnections();
            let due = self.ask.due(reconnects, self.confirm_after);
            // Never while disconnected: requests would pile up in the client and all go out
            // at once on reconnection; the reconnection itself triggers the next question.
            if self.link.is_connected() && due.is_none_or(|at| at <= now) {
                let correlation = JobAsk::correlation(self.ask.seq + 1);
                match tokio::time::timeout_at(deadline, self.request_job(&correlation, Vec::new()))
                    .await
                {
                    Ok(sent) => sent?,
                    Err(_) => return Err(Error::Timeout(timeout)),
                }
                // Only once it is handed to the client (a cancelled call asks again).
                self.ask.seq += 1;
                self.ask.last = Some((now, false));
                self.ask.reconnects_seen = reconnects;
            }
            let next_ask = self.ask.due(self.ask.reconnects_seen, self.confirm_after);
            let until = next_ask
                .map_or(deadline, |at| at.min(deadline))
                .min(now + SLICE);
            let wait = until.saturating_duration_since(now);
            let m = match self.link.recv_where(wait, is_job_message).await {
                Ok(m) => m,
                Err(Error::Timeout(_)) => continue,
                Err(e) => return Err(e),
            };
            let answers_last = m.kind != TopicKind::JobsNotify
                && m.correlation.as_deref() == Some(JobAsk::correlation(self.ask.seq).as_slice());
            // Decided before the acknowledgement (an await point), so a cancelled call loses
            // nothing: the job waits in `taken` for the next call.
            match classify(&m) {
                Ok(Seen::Job(job)) => self.ask.taken = Some(job),
                Ok(Seen::NoJob) if answers_last => {
                    if let Some((at, _)) = self.ask.last {
                        self.ask.last = Some((at, true));
                    }
                }
                Ok(Seen::NoJob | Seen::Refused) => {}
                Err(e) => {
                    self.link.ack(&m).await?;
                    return Err(e);
                }
            }
            self.link.ack(&m).await?;
            if let Some(job) = self.ask.taken.take() {
                return Ok(job);
            }
        }
    }
}

fn is_job_message(m: &Message) -> bool {
    matches!(
        m.kind,
        TopicKind::JobsNotify | TopicKind::JobsGetAccepted | TopicKind::JobsGetRejected
    )
}

fn classify(m: &Message) -> Result<Seen> {
    match m.kind {
        TopicKind::JobsGetRejected => Ok(Seen::Refused),
        TopicKind::JobsGetAccepted if m.payload.is_empty() => Ok(Seen::NoJob),
        _ => Device::decode_job(m).map(Seen::Job),
    }
}
