//! The device side: one connection per device, its own topics only.

use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::PublishProperties;

use crate::error::Result;
use crate::inbox::JobAsk;
use crate::link::{ConnectOptions, Link, Message};
use crate::topics::{DeviceId, TopicKind, Topics};

/// A device connected to the broker, subscribed to its own topics (TOPICS.md).
///
/// Dropping it drops the connection without DISCONNECT, as a device losing power or network
/// would (publishes still queued in the client are dropped with it; [`Device::disconnect`]
/// sends them first); its session (subscriptions, queued jobs) stays on the broker for
/// [`ConnectOptions::session_expiry`].
pub struct Device {
    pub(crate) link: Link,
    topics: Topics,
    pub(crate) confirm_after: Duration,
    confirm_attempts: u32,
    pub(crate) ask: JobAsk,
}

impl Device {
    /// Connects as `device` (the options' client id should be the device id, so the session is
    /// found again after a disconnection) and subscribes to the device's topics.
    ///
    /// # Errors
    /// [`crate::Error::Connection`] when the broker cannot be reached or refuses the client (TLS
    /// handshake, bad certificate), [`crate::Error::SubscribeRefused`] when the ACL refuses one of
    /// the device's own topics, [`crate::Error::Timeout`].
    pub async fn connect(opts: &ConnectOptions, device: DeviceId) -> Result<Self> {
        let topics = Topics::new(device);
        let link = Link::connect(opts, topics.device_subscriptions()).await?;
        Ok(Self {
            link,
            topics,
            confirm_after: Duration::from_secs(5),
            confirm_attempts: 12,
            ask: JobAsk::new(),
        })
    }

    /// This device's topics.
    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// Whether the broker still had the device's session when it connected (it then delivers
    /// what was queued meanwhile).
    pub fn session_present(&self) -> bool {
        self.link.session_present()
    }

    /// The next message for the device (job notification, answer, twin), waiting at most
    /// `timeout`. Acknowledge it with [`Device::ack`] once handled.
    ///
    /// # Errors
    /// [`crate::Error::Timeout`], or [`crate::Error::Closed`] when the connection task ended.
    pub async fn recv(&mut self, timeout: Duration) -> Result<Message> {
        self.link.recv(timeout).await
    }

    /// Acknowledges a handled message.
    ///
    /// # Errors
    /// [`crate::Error::Closed`].
    pub async fn ack(&self, m: &Message) -> Result<()> {
        self.link.ack(m).await
    }

    /// Asks for the pending job (`jobs/get`), with `correlation` as MQTT 5 correlation data and
    /// `jobs/get/accepted` as response topic.
    ///
    /// # Errors
    /// [`crate::Error::Closed`].
    pub async fn request_job(&self, correlation: &[u8], payload: Vec<u8>) -> Result<()> {
        self.request(TopicKind::JobsGet, correlation, payload).await
    }

    /// Sends a job execution update (`jobs/update`), answered on `jobs/update/accepted` or
    /// `/rejected` with the same correlation data.
    ///
    /// # Errors
    /// [`crate::Error::Closed`].
    pub async fn update_job(&self, correlation: &[u8], payload: Vec<u8>) -> Result<()> {
        self.request(TopicKind::JobsUpdate, correlation, payload)
            .await
    }

    /// Publishes a report (`reports`), fire and forget (no correlation data, no answer).
    ///
    /// # Errors
    /// [`crate::Error::Closed`].
    pub async fn report(&self, payload: Vec<u8>) -> Result<()> {
        self.publish_raw(self.topics.topic(TopicKind::Reports), payload)
            .await
    }

    /// Publishes the reported twin (`twin/reported`).
    ///
    /// # Errors
    /// [`crate::Error::Closed`].
    pub async fn report_twin(&self, payload: Vec<u8>) -> Result<()> {
        self.publish_raw(self.topics.topic(TopicKind::TwinReported), payload)
            .await
    }

    /// Publishes `payload` on any topic at QoS 1 (the broker's ACL decides; used by the tests
    /// that show a device cannot publish as another).
    ///
    /// # Errors
    /// [`crate::Error::Closed`].
    pub async fn publish_raw(&self, topic: String, payload: Vec<u8>) -> Result<()> {
        self.link
            .publish(topic, payload, false, PublishProperties::default())
            .await
    }

    /// How [`Device::send_confirmed`] re-sends: after `after` without an answer, at most
    /// `attempts` sends in all (default: 5 s, 12 sends). `after` is also how often
    /// [`Device::next_job`] asks `jobs/get` again while it is unanswered.
    pub fn set_confirmation(&mut self, after: Duration, attempts: u32) {
        self.confirm_after = after.max(Duration::from_millis(10));
        self.confirm_attempts = attempts.max(1);
    }

    /// Sends a request (`jobs/update`, `jobs/get` or `reports`) and waits for the server's
    /// answer with the same correlation data, sending the same bytes again when none came in
    /// time (the server applies a repeat once and answers it too). Returns true for
    /// `accepted`, false for `rejected`. Late answers to reports and job updates answered
    /// before are acknowledged and dropped; other messages that arrive meanwhile (jobs, twin,
    /// `jobs/get` answers) are kept for [`Device::recv`] and [`Device::next_job`].
    ///
    /// # Errors
    /// [`crate::Error::UnknownTopic`] when `kind` is not a request, [`crate::Error::Timeout`]
    /// when no answer came after every attempt, [`crate::Error::Closed`].
    pub async fn send_confirmed(
        &mut self,
        kind: TopicKind,
        correlation: &[u8],
        payload: Vec<u8>,
    ) -> Result<bool> {
        let (ok, rejected) = kind
            .answers()
            .ok_or_else(|| crate::Error::UnknownTopic(kind.suffix().to_owned()))?;
        for _ in 0..self.confirm_attempts {
            self.request(kind, correlation, payload.clone()).await?;
            let until = tokio::time::Instant::now() + self.confirm_after;
            loop {
                let left = until.saturating_duration_since(tokio::time::Instant::now());
                let own = |m: &Message| {
                    (m.kind == ok || m.kind == rejected)
                        && m.correlation.as_deref() == Some(correlation)
                };
                let answer = self
                    .link
                    .recv_where(left, |m| own(m) || is_confirmation(m))
                    .await;
                match answer {
                    Ok(m) => {
                        self.link.ack(&m).await?;
                        if own(&m) {
                            return Ok(m.kind == ok);
                        }
                        // A late answer to a request answered before (a re-send answered
                        // twice): acknowledged and dropped, so late answers never pile up
                        // unacknowledged (the broker stops sending past `receive_maximum`).
                    }
                    Err(crate::Error::Timeout(_)) => break,
                    Err(e) => return Err(e),
                }
            }
        }
        Err(crate::Error::Timeout(
            self.confirm_after * self.confirm_attempts,
        ))
    }

    /// Subscribes to `filters` beyond the device's own topics (the broker's ACL decides; used by
    /// the tests that show a device cannot read another's topics or use wildcards).
    ///
    /// # Errors
    /// [`crate::Error::SubscribeRefused`] naming the first refused filter, [`crate::Error::Timeout`].
    pub async fn subscribe_raw(&mut self, filters: &[String], timeout: Duration) -> Result<()> {
        self.link.subscribe(filters, timeout).await
    }

    async fn request(&self, kind: TopicKind, correlation: &[u8], payload: Vec<u8>) -> Result<()> {
        let props = PublishProperties {
            response_topic: kind.answers().map(|(ok, _)| self.topics.topic(ok)),
            correlation_data: Some(correlation.to_vec().into()),
            ..PublishProperties::default()
        };
        self.link
            .publish(self.topics.topic(kind), payload, false, props)
            .await
    }

    /// Reconnections seen so far by [`Device::recv`], and how many found no session on the
    /// broker (queued messages, and publishes not yet acknowledged, are then lost).
    pub fn reconnections(&self) -> (usize, usize) {
        self.link.reconnections()
    }

    /// The last connection failure seen (the connection retries by itself).
    pub fn last_failure(&self) -> Option<&str> {
        self.link.last_failure()
    }

    /// Disconnects cleanly (DISCONNECT); the session stays on the broker.
    pub async fn disconnect(self) {
        self.link.disconnect().await;
    }
}

/// Answers to reports and job updates: [`Device::send_confirmed`] drops the late ones (a
/// `jobs/get` answer is never dropped: it may carry a job).
fn is_confirmation(m: &Message) -> bool {
    matches!(
        m.kind,
        TopicKind::ReportsAccepted
            | TopicKind::ReportsRejected
            | TopicKind::JobsUpdateAccepted
            | TopicKind::JobsUpdateRejected
    )
}
