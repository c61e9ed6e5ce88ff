#![no_main]
//! ota-server's message entry points (`handle_cbor`, `handle_json`, `handle_twin_reported`) on
//! arbitrary input, against a fresh in-memory SQLite server holding four devices and a running
//! deployment `d1` (their jobs queued) with telemetry health checks on every ring (a crash rate,
//! reboot loops, an error proportion, a mean latency); the first device of ring 0 has SUCCEEDED,
//! so its reports feed the checks. Byte 0 picks the entry point, byte 1 the device, the rest
//! is the payload. Whatever a device sends, the server never panics and never fails with a
//! storage, rollout or corrupt-record error: outside data is refused as a protocol or twin
//! error, or answered (accepted or not); and the state it leaves reads back.

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{Compatibility, Component, DeviceId, Layer, Manifest};
use ota_protocol::{Progress, Stage, Status};
use ota_rollout::{Baseline, FailAction, Gate, HealthCheck, Plan, Ring, Rule, Threshold};
use ota_server::{DeploymentSpec, Error, Outbound, Server, SqliteStore};
use ota_verify::{Role, SecretKey, SignOptions, TrustRoot};

const NOW: u64 = 1_800_000_000;

fn release() -> &'static (TrustRoot, Vec<u8>) {
    static R: OnceLock<(TrustRoot, Vec<u8>)> = OnceLock::new();
    R.get_or_init(|| {
        let root_key = SecretKey::from_seed(&[1; 32]);
        let release_key = SecretKey::from_seed(&[2; 32]);
        let root = TrustRoot::builder(1, NOW + 86_400 * 365)
            .role(Role::ROOT, 1, &[root_key.public_key()])
            .role(Role::RELEASE, 1, &[release_key.public_key()])
            .build()
            .unwrap();
        let trust = TrustRoot::from_signed(&root.sign(&[&root_key]).unwrap()).unwrap();
        let v = Version::new(2, 0, 0);
        let manifest = Manifest {
            name: "sensor".into(),
            version: v.clone(),
            sequence: 2,
            security_counter: 1,
            issued_at: NOW,
            expires_at: Some(NOW + 86_400),
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
                version: v,
                upgrade_from: VersionReq::STAR,
                size: 1024,
                sha256: ota_manifest::Sha256([7; 32]),
                chunks: None,
                deltas: vec![],
                dependencies: vec![],
                order: 0,
                sbom: None,
                uris: vec![],
                image: None,
                update_class: None,
                cves: Vec::new(),
                extensions: Default::default(),
            }],
            extensions: Default::default(),
        };
        let opts = SignOptions {
            sequence: Some(2),
            expires: Some(NOW + 86_400),
            ..Default::default()
        };
        let env = ota_verify::sign(&manifest.to_cbor().unwrap(), &[&release_key], &opts).unwrap();
        (trust, env)
    })
}

fn server() -> Server<SqliteStore> {
    let (trust, env) = release();
    let mut s = Server::new(SqliteStore::in_memory().unwrap());
    for i in 0..4 {
        s.register_device(&format!("dev-{i}"), Default::default(), NOW)
            .unwrap();
    }
    s.add_release("r2", env, vec![], trust, NOW).unwrap();
    let mut gate = Gate::new(Rule::Threshold(Threshold {
        max_failure_percent: 30.0,
        min_executions: 2,
    }));
    let check = |metric: &str, baseline| HealthCheck {
        metric: metric.into(),
        baseline,
        ratio: 2.0,
        alpha: 0.05,
        beta: 0.1,
        min_exposure: 0.0,
        dispersion: 1.0,
        on_regression: FailAction::Abort,
    };
    gate.health = vec![
        check(
            "crashes",
            Baseline::Rate {
                events: 100,
                device_hours: 10_000.0,
            },
        ),
        check(
            "reboot_loops",
            Baseline::Rate {
                events: 1,
                device_hours: 10_000.0,
            },
        ),
        check(
            "errors",
            Baseline::Proportion {
                failures: 10,
                trials: 10_000,
            },
        ),
        check(
            "latency_ms",
            Baseline::Mean {
                mean: 50.0,
                std_dev: 10.0,
                devices: 100,
            },
        ),
    ];
    let rings = [0.5, 0.5]
        .iter()
        .map(|&share| Ring {
            name: "r".into(),
            share,
            gate: gate.clone(),
        })
        .collect();
    let spec = DeploymentSpec {
        id: "d1".into(),
        release: "r2".into(),
        plan: Plan::new("salt", rings),
        policy: Default::default(),
        execution_timeout_secs: Some(60),
    };
    let out = s.create_deployment(&spec, NOW).unwrap();
    let first = out
        .iter()
        .find_map(|o| match o {
            Outbound::Job { device, .. } => Some(device.clone()),
            _ => None,
        })
        .unwrap();
    let queued = s.execution("d1", &first).unwrap().unwrap().execution;
    let started = queued.next(Status::InProgress {
        stage: Stage::Download,
        progress: Progress { done: 1, total: 2 },
    });
    s.handle_execution(&first, &started, NOW).unwrap();
    s.handle_execution(&first, &started.next(Status::Succeeded), NOW)
        .unwrap();
    s
}

fuzz_target!(|data: &[u8]| {
    let [sel, dev, payload @ ..] = data else {
        return;
    };
    let device = format!("dev-{}", dev % 5);
    let mut s = server();
    let result = match sel % 3 {
        0 => s.handle_cbor(&device, payload, NOW + 1),
        1 => match std::str::from_utf8(payload) {
            Ok(text) => s.handle_json(&device, text, NOW + 1),
            Err(_) => return,
        },
        _ => s.handle_twin_reported(&device, payload, NOW + 1),
    };
    match result {
        Ok(_) | Err(Error::Protocol { .. } | Error::Twin { .. }) => {}
        Err(e) => panic!("outside data gave {e}"),
    }
    // The state reads back, and time can pass over it.
    s.deployment("d1").expect("the deployment reads back");
    s.executions("d1").expect("the executions read back");
    s.tick(NOW + 120).expect("a tick over the state");
});
