//! One MQTT 5 connection (rumqttc's `v5` client) with its event loop pumped by a task: QoS 1,
//! manual acknowledgements, reconnection with back-off, re-subscription when the broker lost the
//! session. Device and server sides are built on it.

use std::collections::VecDeque;
use std::time::Duration;

use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{
    Filter, Packet, Publish, PublishProperties, Subscribe, SubscribeReasonCode,
};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Request};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::tls::TlsIdentity;
use crate::topics::{DeviceId, PROTOCOL_PROPERTY, TopicKind, parse_topic};

/// How a client reaches the broker.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Broker host (tests use `127.0.0.1`).
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// MQTT client id; a device uses its device id, so its session is found again.
    pub client_id: String,
    /// TLS with a client certificate; `None` is plain TCP.
    pub tls: Option<TlsIdentity>,
    /// How long the broker keeps the session (subscriptions and queued QoS 1 messages) while the
    /// client is away. Zero starts a clean session that ends with the connection.
    pub session_expiry: Duration,
    /// MQTT keep-alive.
    pub keep_alive: Duration,
    /// How long `connect` waits for the first CONNACK.
    pub connect_timeout: Duration,
    /// Most QoS 1 messages the broker may have in flight to this client.
    pub receive_maximum: u16,
    /// Most QoS 1 messages this client has in flight to the broker. rumqttc keeps a slot per
    /// possible packet id up to this bound: its default (65,535) cost 13.8 MB of memory per
    /// connection here; 32 costs a few KiB.
    pub max_inflight: u16,
    /// The largest packet this client accepts, told to the broker in CONNECT (MQTT 5 Maximum
    /// Packet Size), which then never sends a larger one. rumqttc's own default is 10 KiB,
    /// less than a job document with its signed envelope inline may be (`ota-protocol` allows
    /// 128 KiB): such a job would drop the connection at every delivery.
    pub max_packet_size: u32,
}

impl ConnectOptions {
    /// Plain TCP to `host:port` as `client_id`, a 7-day session, 30 s keep-alive.
    pub fn new(host: impl Into<String>, port: u16, client_id: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port,
            client_id: client_id.into(),
            tls: None,
            session_expiry: Duration::from_secs(7 * 24 * 3600),
            keep_alive: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            receive_maximum: 32,
            max_inflight: 32,
            max_packet_size: 256 * 1024,
        }
    }

    /// The same with TLS and a client certificate.
    pub fn with_tls(mut self, tls: TlsIdentity) -> Self {
        self.tls = Some(tls);
        self
    }

    fn to_mqtt(&self) -> Result<MqttOptions> {
        let mut o = MqttOptions::new(self.client_id.clone(), self.host.clone(), self.port);
        o.set_keep_alive(self.keep_alive.max(Duration::from_secs(5)));
        o.set_clean_start(self.session_expiry.is_zero());
        let secs = u32::try_from(self.session_expiry.as_secs()).unwrap_or(u32::MAX);
        o.set_session_expiry_interval((secs > 0).then_some(secs));
        o.set_receive_maximum(Some(self.receive_maximum.max(1)));
        o.set_manual_acks(true);
        o.set_outgoing_inflight_upper_limit(self.max_inflight.max(1));
        o.set_max_packet_size(Some(self.max_packet_size.max(1024)));
        // Small request/answer packets: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms
        // per round trip (1,000 devices took 17.6 s to connect instead of 2 s here).
        let mut net = rumqttc::NetworkOptions::new();
        net.set_tcp_nodelay(true);
        o.set_network_options(net);
        o.set_connection_timeout(self.connect_timeout.as_secs().max(1));
        o.set_user_properties(vec![(
            PROTOCOL_PROPERTY.to_owned(),
            crate::topics::PROTOCOL_VERSION.to_owned(),
        )]);
        if let Some(tls) = &self.tls {
            o.set_transport(rumqttc::Transport::tls_with_config(
                rumqttc::TlsConfiguration::Rustls(tls.client_config()?),
            ));
        }
        Ok(o)
    }
}

/// A message received on a topic of the layout.
#[derive(Debug, Clone)]
pub struct Message {
    /// The device the topic belongs to.
    pub device: DeviceId,
    /// Which topic of the layout.
    pub kind: TopicKind,
    /// The payload (an `ota-protocol` message).
    pub payload: Vec<u8>,
    /// MQTT 5 correlation data of a request or an answer.
    pub correlation: Option<Vec<u8>>,
    /// MQTT 5 response topic of a request.
    pub response_topic: Option<String>,
    /// The `ota-protocol` user property, if present.
    pub protocol: Option<String>,
    /// Set when the broker redelivers a message it sent before (DUP flag).
    pub redelivered: bool,
    publish: Publish,
}

enum LinkEvent {
    Connected { session_present: bool },
    Failed(String),
    SubAck(Vec<SubscribeReasonCode>),
    Publish(Box<Publish>),
}

/// One connection. Dropping it drops the connection without DISCONNECT (as a device losing its
/// network would); [`Link::disconnect`] ends it cleanly.
pub(crate) struct Link {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<LinkEvent>,
    stash: VecDeque<Message>,
    pump: JoinHandle<()>,
    session_present: bool,
    last_failure: Option<String>,
    reconnects: usize,
    sessions_lost: usize,
    /// Whether the last connection event seen was a CONNACK (not a failure).
    connected: bool,
}

impl Link {
    /// Connects, waits for the CONNACK, then subscribes to `filters` (QoS 1) and checks every
    /// filter was granted. The filters are subscribed again after a reconnection that found no
    /// session.
    pub(crate) async fn connect(opts: &ConnectOptions, filters: Vec<String>) -> Result<Self> {
        let (client, eventloop) = AsyncClient::new(opts.to_mqtt()?, 64);
        let (tx, rx) = mpsc::unbounded_channel();
        let pump = tokio::spawn(pump(eventloop, tx, filters.clone()));
        let mut link = Self {
            client,
            events: rx,
            stash: VecDeque::new(),
            pump,
            session_present: false,
            last_failure: None,
            reconnects: 0,
            sessions_lost: 0,
            connected: false,
        };
        let timeout = opts.connect_timeout + Duration::from_secs(1);
        let first = tokio::time::timeout(timeout, link.events.recv())
            .await
            .map_err(|_| Error::Timeout(timeout))?;
        match first {
            Some(LinkEvent::Connected { session_present }) => {
                link.session_present = session_present;
                link.connected = true;
            }
            Some(LinkEvent::Failed(e)) => return Err(Error::Connection(e)),
            Some(_) | None => return Err(Error::Connection("no CONNACK".into())),
        }
        if !filters.is_empty() {
            link.subscribe(&filters, timeout).await?;
        }
        Ok(link)
    }

    /// Whether the broker still had this client's session at the first connection.
    pub(crate) fn session_present(&self) -> bool {
        self.session_present
    }

    pub(crate) async fn subscribe(&mut self, filters: &[String], timeout: Duration) -> Result<()> {
        let many = filters
            .iter()
            .map(|f| Filter::new(f.clone(), QoS::AtLeastOnce));
        self.client
            .subscribe_many(many)
            .await
            .map_err(|_| Error::Closed)?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ev = self.next_event(deadline, timeout).await?;
            match ev {
                LinkEvent::SubAck(codes) => {
                    for (filter, code) in filters.iter().zip(codes.iter()) {
                        if !matches!(code, SubscribeReasonCode::Success(_)) {
                            return Err(Error::SubscribeRefused(filter.clone()));
                        }
                    }
                    if codes.len() != filters.len() {
                        return Err(Error::Connection("SUBACK with a wrong count".into()));
                    }
                    return Ok(());
                }
                other => self.absorb(other),
            }
        }
    }

    /// The next event of the connection task before `deadline` (`timeout` names the wait in
    /// the error).
    async fn next_event(
        &mut self,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> Result<LinkEvent> {
        tokio::time::timeout_at(deadline, self.events.recv())
            .await
            .map_err(|_| Error::Timeout(timeout))?
            .ok_or(Error::Closed)
    }

    /// Reconnections so far, and how many of them found no session on the broker (what was
    /// queued for this client, and what it had not yet had acknowledged, is then lost).
    pub(crate) fn reconnections(&self) -> (usize, usize) {
        (self.reconnects, self.sessions_lost)
    }

    fn absorb(&mut self, ev: LinkEvent) {
        match ev {
            LinkEvent::Publish(p) => {
                if let Some(m) = to_message(*p) {
                    self.stash.push_back(m);
                }
            }
            LinkEvent::Failed(e) => {
                self.last_failure = Some(e);
                self.connected = false;
            }
            LinkEvent::Connected { session_present } => {
                self.reconnects += 1;
                self.connected = true;
                if !session_present {
                    self.sessions_lost += 1;
                }
            }
            // The answer to a re-subscription after a reconnection.
            LinkEvent::SubAck(codes) => {
                if codes
                    .iter()
                    .any(|c| !matches!(c, SubscribeReasonCode::Success(_)))
                {
                    self.last_failure = Some("re-subscription refused by the broker".into());
                }
            }
        }
    }

    /// The next message of the layout (others are acknowledged and dropped), waiting at most
    /// `timeout`.
    pub(crate) async fn recv(&mut self, timeout: Duration) -> Result<Message> {
        self.recv_where(timeout, |_| true).await
    }

    /// The next message for which `pred` holds, waiting at most `timeout`; other messages are
    /// kept, in order, for [`Link::recv`].
    pub(crate) async fn recv_where(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Message) -> bool,
    ) -> Result<Message> {
        if let Some(i) = self.stash.iter().position(&pred)
            && let Some(m) = self.stash.remove(i)
        {
            return Ok(m);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ev = self.next_event(deadline, timeout).await?;
            match ev {
                LinkEvent::Publish(p) => match to_message(*p.clone()) {
                    Some(m) if pred(&m) => return Ok(m),
                    Some(m) => self.stash.push_back(m),
                    None => {
                        let _ = self.client.ack(&p).await;
                    }
                },
                other => self.absorb(other),
            }
        }
    }

    /// The payload of the next message on `topic`, a topic outside the layout (the broker's
    /// control answers), waiting at most `timeout`; messages of the layout that arrive
    /// meanwhile are kept, in order, for [`Link::recv`].
    pub(crate) async fn recv_on(&mut self, topic: &str, timeout: Duration) -> Result<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ev = self.next_event(deadline, timeout).await?;
            match ev {
                LinkEvent::Publish(p) if p.topic.as_ref() == topic.as_bytes() => {
                    let _ = self.client.ack(&p).await;
                    return Ok(p.payload.to_vec());
                }
                LinkEvent::Publish(p) => match to_message(*p.clone()) {
                    Some(m) => self.stash.push_back(m),
                    None => {
                        let _ = self.client.ack(&p).await;
                    }
                },
                other => self.absorb(other),
            }
        }
    }

    /// Acknowledges a message (PUBACK): call it once the message was handled.
    pub(crate) async fn ack(&self, m: &Message) -> Result<()> {
        self.client.ack(&m.publish).await.map_err(|_| Error::Closed)
    }

    /// Publishes at QoS 1 with the protocol user property and `props`.
    pub(crate) async fn publish(
        &self,
        topic: String,
        payload: Vec<u8>,
        retain: bool,
        mut props: PublishProperties,
    ) -> Result<()> {
        props.user_properties.push((
            PROTOCOL_PROPERTY.to_owned(),
            crate::topics::PROTOCOL_VERSION.to_owned(),
        ));
        self.client
            .publish_with_properties(topic, QoS::AtLeastOnce, retain, payload, props)
            .await
            .map_err(|_| Error::Closed)
    }

    /// Whether the connection is up, as far as the events read so far tell.
    pub(crate) fn is_connected(&self) -> bool {
        self.connected
    }

    /// The last connection failure the event loop saw (it keeps reconnecting).
    pub(crate) fn last_failure(&self) -> Option<&str> {
        self.last_failure.as_deref()
    }

    /// Sends DISCONNECT and waits (bounded) for the event loop to end. The session stays on the
    /// broker for its expiry interval.
    pub(crate) async fn disconnect(mut self) {
        let _ = self.client.disconnect().await;
        // The pump returns once the DISCONNECT is written; Drop aborts it if that takes longer.
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.pump).await;
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

fn to_message(p: Publish) -> Option<Message> {
    let topic = std::str::from_utf8(&p.topic).ok()?;
    let (device, kind) = parse_topic(topic).ok()?;
    let props = p.properties.clone().unwrap_or_default();
    let protocol = props
        .user_properties
        .iter()
        .find(|(k, _)| k == PROTOCOL_PROPERTY)
        .map(|(_, v)| v.clone());
    Some(Message {
        device,
        kind,
        payload: p.payload.to_vec(),
        correlation: props.correlation_data.map(|b| b.to_vec()),
        response_topic: props.response_topic,
        protocol,
        redelivered: p.dup,
        publish: p,
    })
}

async fn pump(
    mut eventloop: EventLoop,
    tx: mpsc::UnboundedSender<LinkEvent>,
    filters: Vec<String>,
) {
    let mut connected_once = false;
    let mut backoff = Duration::from_millis(50);
    loop {
        let ev = match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(c))) => {
                backoff = Duration::from_millis(50);
                // Subscribe again after every reconnection, not only when the session is gone:
                // mosquitto 2.0.11 restores a persistent session after a restart without its
                // shared subscriptions (tests/binding.rs, subscriptions_deliver_after_a_broker_
                // restart). Subscribing again to the same filters is harmless.
                // First in the event loop's own queue, not through the request channel: that
                // channel may be full after a long outage (requests made meanwhile), and a
                // subscription lost there would leave a session without subscriptions.
                if connected_once && !filters.is_empty() {
                    let many = filters
                        .iter()
                        .cloned()
                        .map(|f| Filter::new(f, QoS::AtLeastOnce));
                    eventloop
                        .pending
                        .push_front(Request::Subscribe(Subscribe::new_many(many, None)));
                }
                connected_once = true;
                Some(LinkEvent::Connected {
                    session_present: c.session_present,
                })
            }
            Ok(Event::Incoming(Packet::Publish(p))) => Some(LinkEvent::Publish(Box::new(p))),
            Ok(Event::Incoming(Packet::SubAck(s))) => Some(LinkEvent::SubAck(s.return_codes)),
            // Our DISCONNECT went out: stop here, or the next poll would connect again.
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => None,
            Err(ConnectionError::RequestsDone) => return,
            Err(e) => {
                if tx.send(LinkEvent::Failed(e.to_string())).is_err() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                None
            }
        };
        if let Some(ev) = ev
            && tx.send(ev).is_err()
        {
            return;
        }
    }
}
