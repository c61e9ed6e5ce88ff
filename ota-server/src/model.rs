//! The records the server keeps: devices, releases, deployments, job executions, twins.

use std::collections::BTreeMap;

use ota_protocol::{InstalledComponent, JobExecution, Sha256};
use ota_rollout::{Attributes, Rollout};
use serde::{Deserialize, Serialize};

/// A device: its identity (the transport's), its attributes (for eligibility and strata) and
/// what its latest report said.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// The device id (the transport's identity: certificate, topic).
    pub id: String,
    /// Attributes the rollout plan selects on (`hw`, `region`...).
    pub attributes: Attributes,
    /// The installed components, from the latest report.
    pub installed: Vec<InstalledComponent>,
    /// Boot count, from the latest report.
    pub boot_count: u64,
    /// Reboot loops detected, from the latest report.
    pub reboot_loops: u64,
    /// Health metrics, from the latest report.
    pub health: BTreeMap<String, f64>,
    /// Seconds since the last install, from the latest report (the exposure of the next
    /// report's telemetry is the difference).
    #[serde(default)]
    pub uptime_since_install: Option<u64>,
    /// Distinct reports received (redeliveries are not counted).
    pub reports: u64,
    /// When the latest report was received (server time), 0 when none was.
    pub last_seen: u64,
    /// The device's clock in its latest report.
    pub last_sent_at: u64,
}

/// Where to fetch one component's full image or a delta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// The component id (as in the manifest).
    pub component: String,
    /// For a delta, the SHA-256 of the image it applies to; `None` for the full image.
    pub from_sha256: Option<Sha256>,
    /// Where a device fetches it.
    pub uri: String,
}

/// A release: the signed envelope exactly as signed, what its manifest says, and its
/// artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    /// The release id (chosen by the operator).
    pub id: String,
    /// The signed envelope's bytes.
    pub envelope: Vec<u8>,
    /// The manifest's name.
    pub name: String,
    /// The manifest's version.
    pub version: String,
    /// The envelope's sequence number.
    pub sequence: u64,
    /// Full images and deltas.
    pub artifacts: Vec<Artifact>,
}

impl ReleaseRecord {
    /// The delta of `component` from the image with `from` as its SHA-256, if there is one.
    pub fn delta_for(&self, component: &str, from: &Sha256) -> Option<&Artifact> {
        self.artifacts
            .iter()
            .find(|a| a.component == component && a.from_sha256.as_ref() == Some(from))
    }

    /// The full image of `component`, if listed.
    pub fn full_image(&self, component: &str) -> Option<&Artifact> {
        self.artifacts
            .iter()
            .find(|a| a.component == component && a.from_sha256.is_none())
    }
}

/// Counts kept beside the rollout, per ring: what the gate does not see.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RingTally {
    /// Devices that refused the release (REJECTED: wrong hardware, anti-rollback...). Never a
    /// success, never a failure for the gate.
    pub rejected: u64,
    /// Devices that timed out (also fed to the gate as failures when in the rollout).
    pub timed_out: u64,
    /// Executions canceled by the service.
    pub canceled: u64,
    /// Late joiners queued in this ring (devices that first reported after the deployment was
    /// created: they get their hash's ring, outside the gate's fixed ring sizes).
    pub late_queued: u64,
    /// Late joiners that succeeded.
    pub late_succeeded: u64,
    /// Late joiners that failed or timed out.
    pub late_failed: u64,
    /// Reports whose health metrics were fed to this ring's health checks.
    #[serde(default)]
    pub telemetry: u64,
    /// Reports whose health metrics were refused (a malformed counter, an absurd uptime):
    /// their inventory was recorded, their telemetry counted nowhere.
    #[serde(default)]
    pub telemetry_refused: u64,
}

/// A deployment: a release rolled out over a plan's rings, as one job (its id is the job id)
/// with one execution per device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    /// The deployment id, also the job id devices see.
    pub id: String,
    /// The release deployed.
    pub release: String,
    /// The rollout state (its plan inside).
    pub rollout: Rollout,
    /// The install policy sent in each job document.
    pub policy: ota_protocol::InstallPolicy,
    /// An execution neither terminal nor updated this long after it was queued is TIMED_OUT.
    pub execution_timeout_secs: Option<u64>,
    /// Counts beside the gate, one per ring.
    pub tally: Vec<RingTally>,
    /// The latest time the rollout was handed (time passed in never goes backwards for it,
    /// even when two instances' clocks differ a little).
    pub last_now: u64,
    /// When it was created.
    pub created_at: u64,
}

impl DeploymentRecord {
    /// True while the rollout runs or is paused (not aborted, not completed).
    pub fn is_open(&self) -> bool {
        matches!(
            self.rollout.status(),
            ota_rollout::Status::Running | ota_rollout::Status::Paused { .. }
        )
    }
}

/// A device's place in a deployment: its ring, and its start index in that ring (`None` for a
/// late joiner, outside the rollout's counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The ring.
    pub ring: usize,
    /// The start index within the ring.
    pub index: Option<u64>,
}

/// The execution of a deployment's job on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    /// The deployment (= job id).
    pub deployment: String,
    /// The device.
    pub device: String,
    /// Its ring and index.
    pub member: Member,
    /// The current state, as the protocol carries it.
    pub execution: JobExecution,
    /// When it was queued (server time).
    pub queued_at: u64,
    /// When it last changed (server time).
    pub updated_at: u64,
}
