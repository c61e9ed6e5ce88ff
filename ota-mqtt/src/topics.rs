//! The topic layout of TOPICS.md: building a device's topics, parsing a topic back, and the
//! server's shared-subscription filters.

use std::fmt;

use crate::error::{Error, Result};

/// The prefix of every topic (the layout's version).
pub const PREFIX: &str = "ota/v1";
/// The MQTT 5 user property that carries the protocol version on every message.
pub const PROTOCOL_PROPERTY: &str = "ota-protocol";
/// The protocol version this crate speaks (the value of [`PROTOCOL_PROPERTY`]).
pub const PROTOCOL_VERSION: &str = "1";
/// The longest device id, in bytes.
pub const MAX_DEVICE_ID_LEN: usize = 64;

/// A device id that is exactly one topic level: 1 to 64 bytes of `A-Z a-z 0-9 - _ .`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(String);

impl DeviceId {
    /// Checks `id` and wraps it.
    ///
    /// # Errors
    /// [`Error::DeviceId`] when it is empty, longer than 64 bytes, or has another character.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        let reason = if id.is_empty() {
            Some("empty")
        } else if id.len() > MAX_DEVICE_ID_LEN {
            Some("longer than 64 bytes")
        } else if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            Some("only A-Z a-z 0-9 - _ . are allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::DeviceId { id, reason }),
            None => Ok(Self(id)),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One row of the layout: what a topic is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TopicKind {
    /// `jobs/notify`: server to device, the next pending job.
    JobsNotify,
    /// `jobs/get`: device to server, a request for the pending job.
    JobsGet,
    /// `jobs/get/accepted`: the answer to `jobs/get`.
    JobsGetAccepted,
    /// `jobs/get/rejected`: the refusal of `jobs/get`.
    JobsGetRejected,
    /// `jobs/update`: device to server, a job execution update.
    JobsUpdate,
    /// `jobs/update/accepted`: the acknowledgement of an update.
    JobsUpdateAccepted,
    /// `jobs/update/rejected`: the refusal of an update.
    JobsUpdateRejected,
    /// `reports`: device to server, reports and telemetry.
    Reports,
    /// `reports/accepted`: the server has applied a report (correlation data: its report id).
    ReportsAccepted,
    /// `reports/rejected`: the server refused a report (it does not decode).
    ReportsRejected,
    /// `twin/desired`: server to device.
    TwinDesired,
    /// `twin/reported`: device to server.
    TwinReported,
    /// `twin/delta`: server to device.
    TwinDelta,
}

impl TopicKind {
    /// Every kind, in the order of TOPICS.md.
    pub const ALL: [TopicKind; 13] = [
        TopicKind::JobsNotify,
        TopicKind::JobsGet,
        TopicKind::JobsGetAccepted,
        TopicKind::JobsGetRejected,
        TopicKind::JobsUpdate,
        TopicKind::JobsUpdateAccepted,
        TopicKind::JobsUpdateRejected,
        TopicKind::Reports,
        TopicKind::ReportsAccepted,
        TopicKind::ReportsRejected,
        TopicKind::TwinDesired,
        TopicKind::TwinReported,
        TopicKind::TwinDelta,
    ];

    /// The topic levels after `ota/v1/{device}/`.
    pub fn suffix(self) -> &'static str {
        match self {
            TopicKind::JobsNotify => "jobs/notify",
            TopicKind::JobsGet => "jobs/get",
            TopicKind::JobsGetAccepted => "jobs/get/accepted",
            TopicKind::JobsGetRejected => "jobs/get/rejected",
            TopicKind::JobsUpdate => "jobs/update",
            TopicKind::JobsUpdateAccepted => "jobs/update/accepted",
            TopicKind::JobsUpdateRejected => "jobs/update/rejected",
            TopicKind::Reports => "reports",
            TopicKind::ReportsAccepted => "reports/accepted",
            TopicKind::ReportsRejected => "reports/rejected",
            TopicKind::TwinDesired => "twin/desired",
            TopicKind::TwinReported => "twin/reported",
            TopicKind::TwinDelta => "twin/delta",
        }
    }

    /// True for the topics a device publishes (the server subscribes to them).
    pub fn from_device(self) -> bool {
        matches!(
            self,
            TopicKind::JobsGet
                | TopicKind::JobsUpdate
                | TopicKind::Reports
                | TopicKind::TwinReported
        )
    }

    /// The answer topics of a request topic (`jobs/get`, `jobs/update`, `reports`): accepted
    /// and rejected.
    pub fn answers(self) -> Option<(TopicKind, TopicKind)> {
        match self {
            TopicKind::JobsGet => Some((TopicKind::JobsGetAccepted, TopicKind::JobsGetRejected)),
            TopicKind::JobsUpdate => {
                Some((TopicKind::JobsUpdateAccepted, TopicKind::JobsUpdateRejected))
            }
            TopicKind::Reports => Some((TopicKind::ReportsAccepted, TopicKind::ReportsRejected)),
            _ => None,
        }
    }
}

/// The topics of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    device: DeviceId,
}

impl Topics {
    /// The layout for `device`.
    pub fn new(device: DeviceId) -> Self {
        Self { device }
    }

    /// The device these topics belong to.
    pub fn device(&self) -> &DeviceId {
        &self.device
    }

    /// The full topic of `kind` for this device.
    pub fn topic(&self, kind: TopicKind) -> String {
        format!("{PREFIX}/{}/{}", self.device, kind.suffix())
    }

    /// The exact filters a device subscribes to (everything it receives; no wildcard).
    pub fn device_subscriptions(&self) -> Vec<String> {
        TopicKind::ALL
            .iter()
            .filter(|k| !k.from_device())
            .map(|k| self.topic(*k))
            .collect()
    }
}

/// The shared-subscription filter for server workers of `group` on `kind` (all devices):
/// `$share/{group}/ota/v1/+/{suffix}`.
///
/// # Errors
/// [`Error::DeviceId`] when `group` is not a valid single level (same rules as a device id).
pub fn shared_filter(group: &str, kind: TopicKind) -> Result<String> {
    let group = DeviceId::new(group)?;
    Ok(format!("$share/{group}/{PREFIX}/+/{}", kind.suffix()))
}

/// Splits a topic of the layout into its device and kind.
///
/// # Errors
/// [`Error::UnknownTopic`] for a topic outside the layout; [`Error::DeviceId`] when the device
/// level is not a valid id.
pub fn parse_topic(topic: &str) -> Result<(DeviceId, TopicKind)> {
    let unknown = || Error::UnknownTopic(topic.to_owned());
    let rest = topic
        .strip_prefix(PREFIX)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(unknown)?;
    let (device, suffix) = rest.split_once('/').ok_or_else(unknown)?;
    let kind = TopicKind::ALL
        .into_iter()
        .find(|k| k.suffix() == suffix)
        .ok_or_else(unknown)?;
    Ok((DeviceId::new(device)?, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids_are_one_level() {
        assert!(DeviceId::new("dev-0001_a.b").is_ok());
        for bad in ["", "a/b", "+", "#", "$SYS", "a b", "é", "a\0b"] {
            assert!(DeviceId::new(bad).is_err(), "{bad:?}");
        }
        assert!(DeviceId::new("x".repeat(64)).is_ok());
        assert!(DeviceId::new("x".repeat(65)).is_err());
    }

    #[test]
    fn topics_round_trip() {
        let t = Topics::new(DeviceId::new("dev-7").unwrap());
        for kind in TopicKind::ALL {
            let topic = t.topic(kind);
            assert_eq!(parse_topic(&topic).unwrap(), (t.device().clone(), kind));
        }
        assert_eq!(t.topic(TopicKind::Reports), "ota/v1/dev-7/reports");
        assert_eq!(t.device_subscriptions().len(), 9);
        for bad in [
            "ota/v1/dev-7",
            "ota/v1/dev-7/jobs",
            "ota/v2/dev-7/reports",
            "ota/v1/dev-7/reports/x",
            "ota/v1/+/reports",
            "xota/v1/dev-7/reports",
        ] {
            assert!(parse_topic(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shared_filters() {
        assert_eq!(
            shared_filter("workers", TopicKind::Reports).unwrap(),
            "$share/workers/ota/v1/+/reports"
        );
        assert!(shared_filter("a/b", TopicKind::Reports).is_err());
    }

    /// TOPICS.md and the broker's access rules name the same topics as the code.
    #[test]
    fn docs_and_access_agree_with_the_code() {
        let doc = include_str!("../TOPICS.md");
        let d = DeviceId::new("d").unwrap();
        let acls = crate::Access::device_acls(&d);
        for kind in TopicKind::ALL {
            let row = format!("| `ota/v1/{{device}}/{}` |", kind.suffix());
            assert!(doc.contains(&row), "TOPICS.md lacks {row}");
            let topic = format!("ota/v1/d/{}", kind.suffix());
            let types: Vec<_> = acls
                .iter()
                .filter(|a| a.topic == topic)
                .map(|a| a.acltype)
                .collect();
            let want: &[&str] = if kind.from_device() {
                &["publishClientSend"]
            } else {
                &["subscribeLiteral", "publishClientReceive"]
            };
            assert_eq!(types, want, "{topic}");
        }
    }
}
