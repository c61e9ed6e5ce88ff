//! Who may do what on the broker, as the config of mosquitto's dynamic-security plugin
//! (`mosquitto_dynamic_security.so`, shipped with mosquitto 2.0): unlike `acl_file`, it checks
//! SUBSCRIBE, so a device cannot subscribe to a wildcard, to another device's topics or to the
//! server workers' share group, and the broker says so (SUBACK "not authorized").
//!
//! Each device is a client (username = the CN of its certificate) with a role of its own that
//! names its exact topics (mosquitto 2.0.11's plugin has no `%u` substitution in ACL topics,
//! so one shared role cannot say "your own topics"). The server workers share one role: they
//! subscribe to the layout's device-to-server topics, shared or not, receive them, and send
//! the server-to-device topics. Everything else is denied by default. Names are device ids
//! (`A-Z a-z 0-9 - _ .`), so the JSON needs no escaping. Admin identities may provision devices
//! while the broker runs ([`crate::Admin`]).

use std::fmt::Write as _;

use crate::topics::{DeviceId, PREFIX, TopicKind, Topics};

/// The role of every server worker in the plugin's config.
pub const SERVER_ROLE: &str = "ota-server";
/// The role of the identities that provision devices on a running broker ([`crate::Admin`]).
pub const ADMIN_ROLE: &str = "ota-admin";

/// The fleet's identities, for [`crate::Mosquitto::start_tls`]: server workers (each with a
/// certificate of its own, CN = its name) and devices (CN = device id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    servers: Vec<DeviceId>,
    admins: Vec<DeviceId>,
    devices: Vec<DeviceId>,
}

/// One ACL line of the plugin: its type and topic (always `allow`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// `subscribeLiteral`, `subscribePattern`, `publishClientReceive` or `publishClientSend`.
    pub acltype: &'static str,
    /// The topic or filter.
    pub topic: String,
}

impl Access {
    /// No identity: every client is refused everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a server worker identity (its certificate's CN).
    pub fn server(mut self, name: DeviceId) -> Self {
        self.servers.push(name);
        self
    }

    /// Adds an identity that may provision and revoke devices while the broker runs (publish
    /// to the plugin's control topic and read its answers: [`crate::Admin`]).
    pub fn admin(mut self, name: DeviceId) -> Self {
        self.admins.push(name);
        self
    }

    /// Adds devices (their certificates' CNs).
    pub fn devices(mut self, ids: impl IntoIterator<Item = DeviceId>) -> Self {
        self.devices.extend(ids);
        self
    }

    /// What a device may do: subscribe to and receive exactly its own server-to-device topics,
    /// send exactly its own device-to-server topics.
    pub fn device_acls(device: &DeviceId) -> Vec<Acl> {
        let topics = Topics::new(device.clone());
        let mut acls = Vec::new();
        for kind in TopicKind::ALL {
            let topic = topics.topic(kind);
            if kind.from_device() {
                acls.push(Acl {
                    acltype: "publishClientSend",
                    topic,
                });
            } else {
                acls.push(Acl {
                    acltype: "subscribeLiteral",
                    topic: topic.clone(),
                });
                acls.push(Acl {
                    acltype: "publishClientReceive",
                    topic,
                });
            }
        }
        acls
    }

    /// What a server worker may do: subscribe (shared, any group, or not) to every device's
    /// device-to-server topics and receive them; send every device's server-to-device topics.
    pub fn server_acls() -> Vec<Acl> {
        let mut acls = Vec::new();
        for kind in TopicKind::ALL {
            let suffix = kind.suffix();
            let all = format!("{PREFIX}/+/{suffix}");
            if kind.from_device() {
                for filter in [format!("$share/+/{all}"), all.clone()] {
                    acls.push(Acl {
                        acltype: "subscribePattern",
                        topic: filter,
                    });
                }
                acls.push(Acl {
                    acltype: "publishClientReceive",
                    topic: all,
                });
            } else {
                acls.push(Acl {
                    acltype: "publishClientSend",
                    topic: all,
                });
            }
        }
        acls
    }

    /// What an admin may do: send the plugin's commands and read its answers, nothing else.
    pub fn admin_acls() -> Vec<Acl> {
        let control = crate::admin::DYNSEC_CONTROL;
        let response = crate::admin::DYNSEC_RESPONSE;
        vec![
            Acl {
                acltype: "publishClientSend",
                topic: control.to_owned(),
            },
            Acl {
                acltype: "subscribeLiteral",
                topic: response.to_owned(),
            },
            Acl {
                acltype: "publishClientReceive",
                topic: response.to_owned(),
            },
        ]
    }

    /// The plugin's config file (`plugin_opt_config_file`): default deny for publish and
    /// subscribe (unsubscribing is allowed: it gives nothing away), the clients, their roles.
    pub fn dynsec_json(&self) -> String {
        let mut clients = Vec::new();
        let mut roles = vec![
            role_json(SERVER_ROLE, &Self::server_acls()),
            role_json(ADMIN_ROLE, &Self::admin_acls()),
        ];
        for s in &self.servers {
            clients.push(client_json(s.as_str(), SERVER_ROLE));
        }
        for a in &self.admins {
            clients.push(client_json(a.as_str(), ADMIN_ROLE));
        }
        for d in &self.devices {
            let role = device_role(d);
            clients.push(client_json(d.as_str(), &role));
            roles.push(role_json(&role, &Self::device_acls(d)));
        }
        format!(
            "{{\n\"defaultACLAccess\": {{\"publishClientSend\": false, \"publishClientReceive\": \
             false, \"subscribe\": false, \"unsubscribe\": true}},\n\"clients\": [\n{}\n],\n\
             \"groups\": [],\n\"roles\": [\n{}\n]\n}}\n",
            clients.join(",\n"),
            roles.join(",\n")
        )
    }
}

/// The role name of one device.
pub fn device_role(device: &DeviceId) -> String {
    format!("ota-device-{device}")
}

fn client_json(username: &str, role: &str) -> String {
    format!("{{\"username\": \"{username}\", \"roles\": [{{\"rolename\": \"{role}\"}}]}}")
}

fn role_json(name: &str, acls: &[Acl]) -> String {
    format!(
        "{{\"rolename\": \"{name}\", \"acls\": [\n{}\n]}}",
        role_acls_json(acls)
    )
}

/// The ACL objects of a role, comma-separated (no brackets).
pub(crate) fn role_acls_json(acls: &[Acl]) -> String {
    let mut lines = String::new();
    for (i, acl) in acls.iter().enumerate() {
        if i > 0 {
            lines.push_str(",\n");
        }
        let _ = write!(
            lines,
            "  {{\"acltype\": \"{}\", \"topic\": \"{}\", \"priority\": 0, \"allow\": true}}",
            acl.acltype, acl.topic
        );
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_role_names_its_own_topics_only() {
        let d = DeviceId::new("dev-7").unwrap();
        let acls = Access::device_acls(&d);
        assert_eq!(acls.len(), 9 * 2 + 4);
        assert!(acls.iter().all(|a| a.topic.starts_with("ota/v1/dev-7/")));
        assert!(
            acls.iter()
                .all(|a| !a.topic.contains('+') && !a.topic.contains('#'))
        );
        let sends: Vec<_> = acls
            .iter()
            .filter(|a| a.acltype == "publishClientSend")
            .map(|a| a.topic.as_str())
            .collect();
        assert_eq!(
            sends,
            [
                "ota/v1/dev-7/jobs/get",
                "ota/v1/dev-7/jobs/update",
                "ota/v1/dev-7/reports",
                "ota/v1/dev-7/twin/reported"
            ]
        );
    }

    #[test]
    fn the_config_lists_every_identity_once() {
        let a = Access::new()
            .server(DeviceId::new("ota-server-1").unwrap())
            .devices(["a", "b"].map(|d| DeviceId::new(d).unwrap()));
        let json = a.dynsec_json();
        for needle in [
            "\"username\": \"ota-server-1\", \"roles\": [{\"rolename\": \"ota-server\"}]",
            "\"username\": \"a\", \"roles\": [{\"rolename\": \"ota-device-a\"}]",
            "{\"rolename\": \"ota-device-b\", \"acls\"",
            "\"subscribe\": false",
        ] {
            assert_eq!(json.matches(needle).count(), 1, "{needle}");
        }
        // Valid JSON, in the plugin's shape.
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["clients"].as_array().unwrap().len(), 3);
        assert_eq!(v["roles"].as_array().unwrap().len(), 4);
        let server = &v["roles"][0];
        assert_eq!(server["rolename"], SERVER_ROLE);
        assert!(server["acls"].as_array().unwrap().iter().any(|a| {
            a["acltype"] == "subscribePattern" && a["topic"] == "$share/+/ota/v1/+/reports"
        }));
    }
}
