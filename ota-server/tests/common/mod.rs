//! Fixtures shared by the integration tests: a vendor that signs releases, plans, device
//! messages.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod pg;

use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{Compatibility, Component, DeviceId, Layer, Manifest};
use ota_protocol::{
    DeviceReport, JobExecution, JobId, Progress, Reason, Refusal, RefusalRule, Stage, Status,
};
use ota_rollout::{FailAction, Gate, Inconclusive, Plan, Ring, Rule, Threshold};
use ota_server::Artifact;
use ota_verify::{Role, SecretKey, SignOptions, TrustRoot};

pub const NOW: u64 = 1_800_000_000;

pub struct Vendor {
    release_keys: Vec<SecretKey>,
    pub trust: TrustRoot,
}

impl Vendor {
    pub fn new() -> Vendor {
        let key = |b: u8| SecretKey::from_seed(&[b; 32]);
        let root_keys = [key(1), key(2)];
        let release_keys = vec![key(3), key(4)];
        let root = TrustRoot::builder(1, NOW + 10 * 365 * 86_400)
            .role(Role::ROOT, 1, &[root_keys[0].public_key()])
            .role(Role::RELEASE, 1, &[release_keys[0].public_key()])
            .build()
            .unwrap();
        let signed = root.sign(&[&root_keys[0]]).unwrap();
        Vendor {
            trust: TrustRoot::from_signed(&signed).unwrap(),
            release_keys,
        }
    }

    /// A signed release of one firmware component `fw` at `version`.
    pub fn release(&self, version: &str, sequence: u64) -> Vec<u8> {
        let manifest = Manifest {
            name: "sensor".into(),
            version: Version::parse(version).unwrap(),
            sequence,
            security_counter: 1,
            issued_at: NOW - 60,
            expires_at: Some(NOW + 30 * 86_400),
            notes_uri: None,
            support_ends_at: None,
            max_security_deferral: None,
            compatibility: Compatibility {
                vendor: DeviceId::new(b"acme").unwrap(),
                classes: vec![DeviceId::new(b"sensor").unwrap()],
                hardware: vec![],
                hardware_ranges: vec![],
            },
            components: vec![Component {
                id: "fw".into(),
                layer: Layer::Firmware,
                version: Version::parse(version).unwrap(),
                upgrade_from: VersionReq::STAR,
                size: 1024,
                sha256: ota_manifest::Sha256([7; 32]),
                chunks: None,
                deltas: vec![],
                dependencies: vec![],
                order: 0,
                sbom: None,
                update_class: None,
                cves: vec![],
                uris: vec![],
                image: None,
                extensions: Default::default(),
            }],
            extensions: Default::default(),
        };
        let cbor = manifest.to_cbor().unwrap();
        let opts = SignOptions {
            sequence: Some(sequence),
            expires: Some(NOW + 30 * 86_400),
            ..Default::default()
        };
        ota_verify::sign(&cbor, &[&self.release_keys[0]], &opts).unwrap()
    }
}

pub fn artifacts() -> Vec<Artifact> {
    vec![
        Artifact {
            component: "fw".into(),
            from_sha256: None,
            uri: "https://cdn.example/fw-2.bin".into(),
        },
        Artifact {
            component: "fw".into(),
            from_sha256: Some(ota_protocol::Sha256([1; 32])),
            uri: "https://cdn.example/fw-1-2.patch".into(),
        },
    ]
}

/// Rings of the given shares, each gated by a threshold rule (abort above `max_percent`
/// failures once `min` devices reported; promote when the ring has fully reported).
pub fn plan(shares: &[f64], max_percent: f64, min: u64) -> Plan {
    let rings = shares
        .iter()
        .enumerate()
        .map(|(i, &share)| Ring {
            name: format!("ring{i}"),
            share,
            gate: Gate {
                min_soak_secs: 0,
                min_reports: 0,
                rule: Rule::Threshold(Threshold {
                    max_failure_percent: max_percent,
                    min_executions: min,
                }),
                on_fail: FailAction::Abort,
                on_inconclusive: Inconclusive::Pause,
                health: vec![],
            },
        })
        .collect();
    Plan::new("salt-1", rings)
}

pub fn report(id: u64, sent_at: u64, version: &str) -> DeviceReport {
    DeviceReport {
        report_id: id,
        sent_at,
        installed: vec![ota_protocol::InstalledComponent {
            id: "fw".into(),
            version: version.into(),
            sha256: Some(ota_protocol::Sha256([1; 32])),
        }],
        active_slot: None,
        boot_count: id,
        reboot_loops: 0,
        uptime_since_install: None,
        health: Default::default(),
    }
}

pub fn job(id: &str) -> JobId {
    JobId::new(id).unwrap()
}

pub fn in_progress(e: &JobExecution) -> JobExecution {
    e.next(Status::InProgress {
        stage: Stage::Download,
        progress: Progress { done: 1, total: 2 },
    })
}

pub fn succeeded(e: &JobExecution) -> JobExecution {
    e.next(Status::Succeeded)
}

pub fn failed(e: &JobExecution) -> JobExecution {
    e.next(Status::Failed {
        stage: Stage::Trial,
        reason: Reason::HealthCheckFailed,
        reverted: true,
        detail: None,
    })
}

pub fn rejected(e: &JobExecution) -> JobExecution {
    e.next(Status::Rejected {
        refusal: Refusal {
            component: None,
            rule: RefusalRule::WrongHardware {
                revision: "rev-z".into(),
            },
        },
    })
}

pub fn device_name(i: usize) -> String {
    format!("dev-{i:05}")
}
