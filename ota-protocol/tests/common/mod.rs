//! Sample messages and proptest strategies shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;

use ota_protocol::{
    ComponentSources, DeltaLocation, DeviceReport, InstallPolicy, InstalledComponent, JobDocument,
    JobExecution, JobId, Location, Progress, Reason, Refusal, RefusalRule, ReleaseSource, Sha256,
    Slot, Stage, Status, Window,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

pub fn digest(b: u8) -> Sha256 {
    Sha256([b; 32])
}

/// A job with everything set: inline envelope, a full image and two deltas, a policy.
pub fn sample_job() -> JobDocument {
    JobDocument {
        job_id: JobId::new("lock-fw-2_0_0").unwrap(),
        rollout: "lock-2.0.0".into(),
        ring: 1,
        release: ReleaseSource::Inline(vec![0xd2, 0x84, 0x43, 0xa1, 0x01, 0x27]),
        images: vec![
            ComponentSources {
                component: "lock-fw".into(),
                full: Some("https://updates.example/lock-fw/2.0.0.bin".into()),
                deltas: vec![
                    DeltaLocation {
                        from_sha256: digest(0x11),
                        uri: "https://updates.example/lock-fw/1.4.2-2.0.0.delta".into(),
                    },
                    DeltaLocation {
                        from_sha256: digest(0x22),
                        uri: "https://updates.example/lock-fw/1.4.1-2.0.0.delta".into(),
                    },
                ],
            },
            ComponentSources {
                component: "door-app".into(),
                full: Some("https://updates.example/door-app/3.1.0.tar".into()),
                deltas: vec![],
            },
        ],
        policy: InstallPolicy {
            require_charging: true,
            window: Some(Window {
                start_minute: 22 * 60,
                end_minute: 4 * 60,
            }),
            deadline: Some(1_767_225_600),
            expires_at: Some(1_767_830_400),
        },
    }
}

/// The smallest job: the envelope fetched, nothing else.
pub fn minimal_job() -> JobDocument {
    JobDocument {
        job_id: JobId::new("j1").unwrap(),
        rollout: "r".into(),
        ring: 0,
        release: ReleaseSource::Remote(Location {
            uri: "https://updates.example/release.cose".into(),
            size: 1843,
            sha256: digest(0xab),
        }),
        images: vec![],
        policy: InstallPolicy::default(),
    }
}

pub fn execution(status: Status) -> JobExecution {
    JobExecution {
        job_id: JobId::new("lock-fw-2_0_0").unwrap(),
        execution_number: 1,
        version: 3,
        status,
    }
}

pub fn failed() -> Status {
    Status::Failed {
        stage: Stage::Trial,
        reason: Reason::HealthCheckFailed,
        reverted: true,
        detail: Some("door sensor did not answer within 30 s".into()),
    }
}

pub fn rejected() -> Status {
    Status::Rejected {
        refusal: Refusal {
            component: Some("lock-fw".into()),
            rule: RefusalRule::WrongHardware {
                revision: "rev-C".into(),
            },
        },
    }
}

pub fn in_progress() -> Status {
    Status::InProgress {
        stage: Stage::Download,
        progress: Progress {
            done: 65_536,
            total: 1_048_576,
        },
    }
}

pub fn sample_report() -> DeviceReport {
    let mut health = BTreeMap::new();
    health.insert("temp_c".into(), 41.5);
    health.insert("free_heap".into(), 18_432.0);
    health.insert("rssi".into(), -67.0);
    health.insert("crashes".into(), 0.0);
    DeviceReport {
        report_id: 9_000_000_001,
        sent_at: 1_767_000_000,
        installed: vec![
            InstalledComponent {
                id: "lock-fw".into(),
                version: "2.0.0".into(),
                sha256: Some(digest(0x33)),
            },
            InstalledComponent {
                id: "door-app".into(),
                version: "3.1.0".into(),
                sha256: None,
            },
        ],
        active_slot: Some(Slot::B),
        boot_count: 214,
        reboot_loops: 1,
        uptime_since_install: Some(86_400),
        health,
    }
}

// ---- strategies ----

fn text() -> impl Strategy<Value = String> {
    // Multi-byte characters included; never empty.
    "[a-zA-Z0-9._é€-]{1,24}"
}

fn uri() -> impl Strategy<Value = String> {
    "https://[a-z]{1,12}\\.example/[a-z0-9/._-]{1,40}"
}

fn sha() -> impl Strategy<Value = Sha256> {
    any::<[u8; 32]>().prop_map(Sha256)
}

fn job_id() -> impl Strategy<Value = JobId> {
    "[A-Za-z0-9_-]{1,64}".prop_map(|s| JobId::new(&s).unwrap())
}

fn window() -> impl Strategy<Value = Window> {
    (0u16..1440, 0u16..1440)
        .prop_filter("non-empty", |(a, b)| a != b)
        .prop_map(|(start_minute, end_minute)| Window {
            start_minute,
            end_minute,
        })
}

fn sources() -> impl Strategy<Value = ComponentSources> {
    (
        text(),
        proptest::option::of(uri()),
        btree_map(sha(), uri(), 0..4),
    )
        .prop_filter("a source", |(_, full, deltas)| {
            full.is_some() || !deltas.is_empty()
        })
        .prop_map(|(component, full, deltas)| ComponentSources {
            component,
            full,
            deltas: deltas
                .into_iter()
                .map(|(from_sha256, uri)| DeltaLocation { from_sha256, uri })
                .collect(),
        })
}

pub fn any_job() -> impl Strategy<Value = JobDocument> {
    let release = prop_oneof![
        vec(any::<u8>(), 1..300).prop_map(ReleaseSource::Inline),
        (uri(), any::<u64>(), sha()).prop_map(|(uri, size, sha256)| {
            ReleaseSource::Remote(Location { uri, size, sha256 })
        }),
    ];
    let policy = (
        any::<bool>(),
        proptest::option::of(window()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(
            |(require_charging, window, deadline, expires_at)| InstallPolicy {
                require_charging,
                window,
                deadline,
                expires_at,
            },
        );
    (
        job_id(),
        text(),
        any::<u32>(),
        release,
        vec(sources(), 0..4),
        policy,
    )
        .prop_map(|(job_id, rollout, ring, release, mut images, policy)| {
            let mut seen = std::collections::HashSet::new();
            images.retain(|c| seen.insert(c.component.clone()));
            JobDocument {
                job_id,
                rollout,
                ring,
                release,
                images,
                policy,
            }
        })
}

fn stage() -> impl Strategy<Value = Stage> {
    proptest::sample::select(Stage::ALL.to_vec())
}

fn rule() -> impl Strategy<Value = RefusalRule> {
    let t = || "[a-zA-Z0-9. <>=^~-]{0,20}";
    prop_oneof![
        t().prop_map(|detail| RefusalRule::InvalidManifest { detail }),
        Just(RefusalRule::WrongVendor),
        Just(RefusalRule::WrongClass),
        t().prop_map(|revision| RefusalRule::WrongHardware { revision }),
        (any::<u64>(), any::<u64>())
            .prop_map(|(expires_at, now)| RefusalRule::Expired { expires_at, now }),
        (any::<u64>(), any::<u64>()).prop_map(|(sequence, accepted)| {
            RefusalRule::SequenceNotNewer { sequence, accepted }
        }),
        (any::<u64>(), any::<u64>()).prop_map(|(counter, floor)| {
            RefusalRule::SecurityCounterBelowFloor { counter, floor }
        }),
        (t(), t()).prop_map(
            |(installed, upgrade_from)| RefusalRule::OutsideUpgradePath {
                installed,
                upgrade_from
            }
        ),
        (t(), t(), proptest::option::of(t()))
            .prop_map(|(on, req, installed)| RefusalRule::UnmetDependency { on, req, installed }),
        Just(RefusalRule::DuplicateInstalled),
        t().prop_map(|detail| RefusalRule::Unverified { detail }),
        (any::<u64>(), any::<u64>())
            .prop_map(|(expires_at, now)| RefusalRule::JobExpired { expires_at, now }),
    ]
}

pub fn any_status() -> impl Strategy<Value = Status> {
    let progress = (any::<u64>(), any::<u64>()).prop_map(|(a, b)| {
        if b == 0 {
            Progress { done: a, total: 0 }
        } else {
            Progress {
                done: a.min(b),
                total: b,
            }
        }
    });
    prop_oneof![
        Just(Status::Queued),
        (stage(), progress).prop_map(|(stage, progress)| Status::InProgress { stage, progress }),
        Just(Status::Succeeded),
        (
            stage(),
            proptest::sample::select(Reason::ALL.to_vec()),
            any::<bool>(),
            proptest::option::of("[ -~]{1,60}"),
        )
            .prop_map(|(stage, reason, reverted, detail)| Status::Failed {
                stage,
                reason,
                reverted,
                detail
            }),
        Just(Status::TimedOut),
        (proptest::option::of(text()), rule()).prop_map(|(component, rule)| Status::Rejected {
            refusal: Refusal { component, rule }
        }),
        Just(Status::Removed),
        Just(Status::Canceled),
    ]
}

pub fn any_execution() -> impl Strategy<Value = JobExecution> {
    (job_id(), any::<u64>(), any::<u64>(), any_status()).prop_map(
        |(job_id, execution_number, version, status)| JobExecution {
            job_id,
            execution_number,
            version,
            status,
        },
    )
}

fn metric() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<i32>().prop_map(f64::from),
        any::<f32>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(f64::from),
        proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO,
    ]
}

pub fn any_report() -> impl Strategy<Value = DeviceReport> {
    let installed = btree_map(
        text(),
        (
            "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
            proptest::option::of(sha()),
        ),
        0..6,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(id, (version, sha256))| InstalledComponent {
                id,
                version,
                sha256,
            })
            .collect::<Vec<_>>()
    });
    (
        any::<u64>(),
        any::<u64>(),
        installed,
        proptest::option::of(prop_oneof![Just(Slot::A), Just(Slot::B)]),
        any::<u64>(),
        any::<u64>(),
        proptest::option::of(any::<u64>()),
        btree_map(text(), metric(), 0..8),
    )
        .prop_map(
            |(
                report_id,
                sent_at,
                installed,
                active_slot,
                boot_count,
                reboot_loops,
                uptime_since_install,
                health,
            )| DeviceReport {
                report_id,
                sent_at,
                installed,
                active_slot,
                boot_count,
                reboot_loops,
                uptime_since_install,
                health,
            },
        )
}
