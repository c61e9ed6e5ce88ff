//! The fleet side: workers in a shared-subscription group, publishing jobs and answering
//! requests on the devices' topics.

use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::PublishProperties;

use crate::error::{Error, Result};
use crate::link::{ConnectOptions, Link, Message};
use crate::topics::{DeviceId, TopicKind, Topics, shared_filter};

/// One server worker. Several workers connected with the same `group` split the devices'
/// messages between them (MQTT 5 shared subscriptions). Dropping it drops the connection and
/// any answer still queued in the client; [`Server::disconnect`] sends them first.
pub struct Server {
    link: Link,
}

/// The device-to-server topics a worker subscribes to.
const FROM_DEVICES: [TopicKind; 4] = [
    TopicKind::Reports,
    TopicKind::JobsUpdate,
    TopicKind::JobsGet,
    TopicKind::TwinReported,
];

impl Server {
    /// Connects and subscribes `$share/{group}/ota/v1/+/…` for reports, job updates, job
    /// requests and reported twins.
    ///
    /// The broker must refuse these filters to devices (the dynamic-security config of
    /// [`crate::Access`] does): a broker that does not check SUBSCRIBE (mosquitto's `acl_file`)
    /// lets a device join the group and take a share of every device's reports away.
    ///
    /// # Errors
    /// [`Error::DeviceId`] for a bad group name, otherwise as [`crate::Device::connect`].
    pub async fn connect(opts: &ConnectOptions, group: &str) -> Result<Self> {
        let filters = FROM_DEVICES
            .iter()
            .map(|k| shared_filter(group, *k))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            link: Link::connect(opts, filters).await?,
        })
    }

    /// The next message from a device, waiting at most `timeout`. Acknowledge it with
    /// [`Server::ack`] once handled (applied once: see [`crate::Seen`]).
    ///
    /// # Errors
    /// [`Error::Timeout`], [`Error::Closed`].
    pub async fn recv(&mut self, timeout: Duration) -> Result<Message> {
        self.link.recv(timeout).await
    }

    /// Acknowledges a handled message.
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub async fn ack(&self, m: &Message) -> Result<()> {
        self.link.ack(m).await
    }

    /// Sends a job to `device` (`jobs/notify`, QoS 1). With `expiry`, the broker drops the
    /// message if the device has not received it by then (a stale job is never delivered).
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub async fn notify_job(
        &self,
        device: &DeviceId,
        payload: Vec<u8>,
        expiry: Option<Duration>,
    ) -> Result<()> {
        let props = PublishProperties {
            message_expiry_interval: expiry
                .map(|d| u32::try_from(d.as_secs().max(1)).unwrap_or(u32::MAX)),
            ..PublishProperties::default()
        };
        let topic = Topics::new(device.clone()).topic(TopicKind::JobsNotify);
        self.link.publish(topic, payload, false, props).await
    }

    /// Sets the desired twin of `device` (`twin/desired`, retained).
    ///
    /// # Errors
    /// [`Error::Closed`].
    pub async fn set_desired(&self, device: &DeviceId, payload: Vec<u8>) -> Result<()> {
        let topic = Topics::new(device.clone()).topic(TopicKind::TwinDesired);
        self.link
            .publish(topic, payload, true, PublishProperties::default())
            .await
    }

    /// Answers a request (`jobs/get` or `jobs/update`) on the requesting device's own
    /// `accepted` or `rejected` topic, with the request's correlation data. The response topic
    /// the request names is not trusted: the answer goes to the layout's topic of the device
    /// the request came from.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] when `request` is not a request, [`Error::Closed`].
    pub async fn respond(&self, request: &Message, accepted: bool, payload: Vec<u8>) -> Result<()> {
        let (ok, rejected) = request
            .kind
            .answers()
            .ok_or_else(|| Error::UnknownTopic(request.kind.suffix().to_owned()))?;
        let kind = if accepted { ok } else { rejected };
        let props = PublishProperties {
            correlation_data: request.correlation.clone().map(Into::into),
            ..PublishProperties::default()
        };
        let topic = Topics::new(request.device.clone()).topic(kind);
        self.link.publish(topic, payload, false, props).await
    }

    /// Reconnections seen so far by [`Server::recv`], and how many found no session.
    pub fn reconnections(&self) -> (usize, usize) {
        self.link.reconnections()
    }

    /// Disconnects cleanly.
    pub async fn disconnect(self) {
        self.link.disconnect().await;
    }
}
