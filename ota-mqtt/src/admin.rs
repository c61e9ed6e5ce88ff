//! Provisioning and revoking devices on a running broker, through the dynamic-security
//! plugin's control topic (`$CONTROL/dynamic-security/v1`): a new device gets its role (its
//! exact topics) and its client; a revoked device loses both, and the plugin disconnects it.
//! Only an identity with the admin role ([`Access::admin`]) may publish there; the plugin
//! answers on `$CONTROL/dynamic-security/v1/response`, command by command.

use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::PublishProperties;

use crate::access::{Access, device_role, role_acls_json};
use crate::error::{Error, Result};
use crate::link::{ConnectOptions, Link};
use crate::topics::DeviceId;

/// The plugin's control topic.
pub const DYNSEC_CONTROL: &str = "$CONTROL/dynamic-security/v1";
/// Where the plugin answers.
pub const DYNSEC_RESPONSE: &str = "$CONTROL/dynamic-security/v1/response";
/// The largest answer read from the plugin.
const MAX_RESPONSE: usize = 64 * 1024;

/// A connection with the admin role, sending the plugin's commands and checking its answers.
pub struct Admin {
    link: Link,
    /// Every admin reads every answer on the response topic: its requests carry a tag no
    /// other admin (or earlier run of this one) uses.
    nonce: String,
    seq: u64,
    timeout: Duration,
}

impl Admin {
    /// Connects (use a certificate whose CN [`Access::admin`] names) and subscribes to the
    /// plugin's answers.
    ///
    /// # Errors
    /// As [`crate::Device::connect`]; [`Error::SubscribeRefused`] for an identity without the
    /// admin role.
    pub async fn connect(opts: &ConnectOptions) -> Result<Self> {
        let link = Link::connect(opts, vec![DYNSEC_RESPONSE.to_owned()]).await?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ok(Self {
            link,
            // Only characters that need no escaping in the JSON the tag goes into.
            nonce: format!(
                "{}-{}-{nanos:x}",
                opts.client_id
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect::<String>(),
                std::process::id()
            ),
            seq: 0,
            timeout: Duration::from_secs(10),
        })
    }

    /// Adds `device`: its role with its exact topics ([`Access::device_acls`]) and its client
    /// (username = the CN of its certificate). It may connect and use its topics at once.
    ///
    /// # Errors
    /// [`Error::Provisioning`] with the plugin's reason (the device or its role already
    /// exists, ...): nothing is half-made by a failed role, but a role made before a failed
    /// client stays (remove the device, then add it again). [`Error::Timeout`] when the plugin
    /// does not answer in 10 s; [`Error::Closed`].
    pub async fn add_device(&mut self, device: &DeviceId) -> Result<()> {
        let role = device_role(device);
        let commands = [
            format!(
                "{{\"command\": \"createRole\", \"rolename\": \"{role}\", \"acls\": [{}]}}",
                role_acls_json(&Access::device_acls(device))
            ),
            format!(
                "{{\"command\": \"createClient\", \"username\": \"{device}\", \"roles\": \
                 [{{\"rolename\": \"{role}\"}}]}}"
            ),
        ];
        self.run(&commands).await
    }

    /// Revokes `device`: deletes its client (the plugin disconnects it at once) and its role.
    /// Its certificate still passes the TLS handshake, and it may then do nothing.
    ///
    /// # Errors
    /// [`Error::Provisioning`] with the plugin's reason (no such device), [`Error::Timeout`],
    /// [`Error::Closed`].
    pub async fn remove_device(&mut self, device: &DeviceId) -> Result<()> {
        let commands = [
            format!("{{\"command\": \"deleteClient\", \"username\": \"{device}\"}}"),
            format!(
                "{{\"command\": \"deleteRole\", \"rolename\": \"{}\"}}",
                device_role(device)
            ),
        ];
        self.run(&commands).await
    }

    /// Sends `commands` as one request and checks each answer.
    async fn run(&mut self, commands: &[String]) -> Result<()> {
        self.seq += 1;
        let tag = format!("{}-{}", self.nonce, self.seq);
        let with_tag: Vec<String> = commands
            .iter()
            .map(|c| {
                let body = c.strip_suffix('}').unwrap_or(c);
                format!("{body}, \"correlationData\": \"{tag}\"}}")
            })
            .collect();
        let payload = format!("{{\"commands\": [{}]}}", with_tag.join(", "));
        self.link
            .publish(
                DYNSEC_CONTROL.to_owned(),
                payload.into_bytes(),
                false,
                PublishProperties::default(),
            )
            .await?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let answer = self.link.recv_on(DYNSEC_RESPONSE, left).await?;
            if let Some(result) = check_response(&answer, &tag, commands.len())? {
                return result;
            }
        }
    }
}

/// The outcome of the answer to request `tag` with `count` commands, or `None` when the
/// answer is to another request.
fn check_response(answer: &[u8], tag: &str, count: usize) -> Result<Option<Result<()>>> {
    let bad = |why: &str| Error::Provisioning(format!("plugin answer: {why}"));
    if answer.len() > MAX_RESPONSE {
        return Err(bad("too long"));
    }
    let v: serde_json::Value =
        serde_json::from_slice(answer).map_err(|e| bad(&format!("not JSON: {e}")))?;
    let responses = v
        .get("responses")
        .and_then(|r| r.as_array())
        .ok_or_else(|| bad("no responses"))?;
    let ours: Vec<&serde_json::Value> = responses
        .iter()
        .filter(|r| r.get("correlationData").and_then(|c| c.as_str()) == Some(tag))
        .collect();
    if ours.is_empty() {
        return Ok(None);
    }
    if ours.len() != count {
        return Err(bad(&format!("{} answers to {count} commands", ours.len())));
    }
    let errors: Vec<String> = ours
        .iter()
        .filter_map(|r| {
            let error = r.get("error")?.as_str().unwrap_or("error");
            let command = r.get("command").and_then(|c| c.as_str()).unwrap_or("?");
            Some(format!("{command}: {error}"))
        })
        .collect();
    Ok(Some(if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Provisioning(errors.join("; ")))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_matched_and_errors_named() {
        let ok = br#"{"responses":[{"command":"createRole","correlationData":"ota-1"},{"command":"createClient","correlationData":"ota-1"}]}"#;
        assert!(matches!(check_response(ok, "ota-1", 2), Ok(Some(Ok(())))));
        assert!(matches!(check_response(ok, "ota-2", 2), Ok(None)));
        assert!(check_response(ok, "ota-1", 3).is_err());
        let err = br#"{"responses":[{"command":"createClient","error":"Client already exists","correlationData":"ota-1"}]}"#;
        match check_response(err, "ota-1", 1) {
            Ok(Some(Err(Error::Provisioning(why)))) => {
                assert_eq!(why, "createClient: Client already exists");
            }
            other => panic!("{other:?}"),
        }
        for junk in [&b"not json"[..], b"{}", b"{\"responses\": 3}"] {
            assert!(check_response(junk, "ota-1", 1).is_err());
        }
        assert!(check_response(&vec![b' '; MAX_RESPONSE + 1], "ota-1", 1).is_err());
    }

    proptest::proptest! {
        /// Any bytes, and any answer-shaped JSON, give a result, never a panic; an answer
        /// with an error for our tag is never taken for success.
        #[test]
        fn any_answer_is_judged_without_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
            commands in proptest::collection::vec(("[a-zA-Z]{0,12}", proptest::option::of("[ -~]{0,20}"), proptest::option::of("ota-[0-9]")), 0..5),
            count in 0usize..5,
        ) {
            let _ = check_response(&bytes, "ota-1", count);
            let responses: Vec<serde_json::Value> = commands
                .iter()
                .map(|(command, error, tag)| {
                    let mut r = serde_json::json!({ "command": command });
                    if let Some(e) = error { r["error"] = e.clone().into(); }
                    if let Some(t) = tag { r["correlationData"] = t.clone().into(); }
                    r
                })
                .collect();
            let answer = serde_json::json!({ "responses": responses }).to_string();
            let ours_failed = commands
                .iter()
                .any(|(_, e, t)| e.is_some() && t.as_deref() == Some("ota-1"));
            if let Ok(Some(Ok(()))) = check_response(answer.as_bytes(), "ota-1", count) {
                proptest::prop_assert!(!ours_failed);
            }
        }
    }
}
