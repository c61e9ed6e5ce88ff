//! The install decision, rule by rule, including the wrong-hardware-generation story.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{
    Action, Compatibility, Component, DeltaAlgorithm, DeltaSource, Dependency, DeviceId,
    DeviceState, Installed, Layer, Manifest, Problem, Refusal, Rule, Sha256, Slot,
};

const VENDOR: [u8; 16] = *b"acme-locks-vndr!";
const CLASS: [u8; 16] = *b"smart-lock-class";
const FW_1_4: &[u8] = b"lock firmware 1.4.2";
const FW_2_0: &[u8] = b"lock firmware 2.0.0 for gen-2 boards";
const PATCH: &[u8] = b"bsdiff patch 1.4.2 -> 2.0.0";
const APP: &[u8] = b"door app 3.1.0";

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn req(s: &str) -> VersionReq {
    VersionReq::parse(s).unwrap()
}

/// Lock firmware 2.0.0, built for gen-2 boards (hardware 2.x), upgrading from 1.4.x with a delta
/// from 1.4.2, and a door app that needs that firmware.
fn release() -> Manifest {
    let mut fw = Component::from_image(
        "lock-fw",
        Layer::Firmware,
        v("2.0.0"),
        req("^1.4"),
        FW_2_0,
        None,
    )
    .unwrap();
    fw.deltas.push(DeltaSource::from_patch(
        v("1.4.2"),
        FW_1_4,
        PATCH,
        DeltaAlgorithm::Bsdiff40,
    ));
    let mut app = Component::from_image(
        "door-app",
        Layer::Application,
        v("3.1.0"),
        req(">=3.0.0, <3.1.0"),
        APP,
        None,
    )
    .unwrap();
    app.dependencies.push(Dependency {
        id: "lock-fw".into(),
        req: req("^2"),
    });
    Manifest {
        name: "lock-2026.11".into(),
        version: v("2026.11.0"),
        sequence: 42,
        security_counter: 3,
        issued_at: 1_764_000_000,
        expires_at: Some(1_795_536_000),
        notes_uri: None,
        support_ends_at: None,
        max_security_deferral: None,
        compatibility: Compatibility {
            vendor: DeviceId::from_uuid(VENDOR),
            classes: vec![DeviceId::from_uuid(CLASS)],
            hardware: vec![],
            hardware_ranges: vec![req("^2")],
        },
        // The app first in the manifest: the plan must still put the firmware it needs first.
        components: vec![app, fw],
        extensions: Default::default(),
    }
}

/// A gen-2 lock on firmware 1.4.2 and app 3.0.1.
fn device() -> DeviceState {
    DeviceState {
        vendor: DeviceId::from_uuid(VENDOR),
        class: DeviceId::from_uuid(CLASS),
        hardware: "2.1.0".into(),
        installed: vec![
            Installed {
                id: "lock-fw".into(),
                version: v("1.4.2"),
                sha256: Sha256::of(FW_1_4),
            },
            Installed {
                id: "door-app".into(),
                version: v("3.0.1"),
                sha256: Sha256::of(b"door app 3.0.1"),
            },
        ],
        security_counter: 2,
        last_sequence: Some(41),
        now: 1_764_100_000,
        active_slot: Slot::A,
    }
}

fn refusal(m: &Manifest, d: &DeviceState) -> Refusal {
    m.plan(d).unwrap_err()
}

#[test]
fn gen2_device_gets_firmware_delta_to_slot_b_then_the_app() {
    let plan = release().plan(&device()).unwrap();
    let ids: Vec<&str> = plan.steps.iter().map(|s| s.component.as_str()).collect();
    assert_eq!(ids, ["lock-fw", "door-app"]);
    let fw = &plan.steps[0];
    match &fw.action {
        Action::Delta(d) => {
            assert_eq!(d.from_sha256, Sha256::of(FW_1_4));
            assert_eq!(d.patch_size, PATCH.len() as u64);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fw.slot, Some(Slot::B));
    assert!(fw.reboot);
    let app = &plan.steps[1];
    assert_eq!(
        app.action,
        Action::Full {
            size: APP.len() as u64,
            sha256: Sha256::of(APP)
        }
    );
    assert_eq!((app.slot, app.reboot), (None, false));
    assert!(plan.reboot_required());
    assert_eq!(plan.download_bytes(), (PATCH.len() + APP.len()) as u64);
    assert_eq!((plan.sequence, plan.security_counter), (42, 3));
}

/// The story: lock firmware built for gen-2 boards reaches a gen-1 lock of the same vendor and
/// class. The manifest names the hardware generation it was built for; the gen-1 lock refuses
/// before touching anything, and the refusal says why.
#[test]
fn wrong_hardware_generation_is_refused() {
    let mut gen1 = device();
    gen1.hardware = "1.3.0".into();
    let r = refusal(&release(), &gen1);
    assert_eq!(
        r.rule,
        Rule::WrongHardware {
            revision: "1.3.0".into()
        }
    );
    assert_eq!(r.component, None);
    assert!(r.to_string().contains("hardware revision `1.3.0`"), "{r}");
    // A revision that is not semver matches only the exact list.
    gen1.hardware = "rev-C".into();
    assert!(matches!(
        refusal(&release(), &gen1).rule,
        Rule::WrongHardware { .. }
    ));
    let mut m = release();
    m.compatibility.hardware.push("rev-C".into());
    assert!(m.plan(&gen1).is_ok());
}

#[test]
fn a_manifest_without_hardware_is_invalid() {
    let mut m = release();
    m.compatibility.hardware_ranges.clear();
    let r = refusal(&m, &device());
    assert_eq!(r.rule, Rule::Invalid(Problem::NoHardware));
}

#[test]
fn wrong_vendor_and_class() {
    let mut d = device();
    d.vendor = DeviceId::from_uuid(*b"other-vendor-id!");
    assert_eq!(refusal(&release(), &d).rule, Rule::WrongVendor);
    let mut d = device();
    d.class = DeviceId::from_uuid(*b"thermostat-class");
    assert_eq!(refusal(&release(), &d).rule, Rule::WrongClass);
}

#[test]
fn expired_at_the_device_time() {
    let mut d = device();
    d.now = 1_795_536_000;
    assert_eq!(
        refusal(&release(), &d).rule,
        Rule::Expired {
            expires_at: 1_795_536_000,
            now: 1_795_536_000
        }
    );
    d.now = 1_795_535_999;
    assert!(release().plan(&d).is_ok());
}

#[test]
fn downgrade_by_sequence() {
    let mut d = device();
    d.last_sequence = Some(42);
    assert_eq!(
        refusal(&release(), &d).rule,
        Rule::SequenceNotNewer {
            sequence: 42,
            accepted: 42
        }
    );
    d.last_sequence = None;
    assert!(release().plan(&d).is_ok());
}

#[test]
fn downgrade_by_security_counter() {
    let mut d = device();
    d.security_counter = 4;
    assert_eq!(
        refusal(&release(), &d).rule,
        Rule::SecurityCounterBelowFloor {
            counter: 3,
            floor: 4
        }
    );
    d.security_counter = 3;
    assert!(release().plan(&d).is_ok());
}

#[test]
fn installed_version_outside_the_upgrade_path() {
    let mut d = device();
    d.installed[0].version = v("1.2.0");
    d.installed[0].sha256 = Sha256::of(b"1.2.0");
    let r = refusal(&release(), &d);
    assert_eq!(r.component.as_deref(), Some("lock-fw"));
    assert_eq!(
        r.rule,
        Rule::OutsideUpgradePath {
            installed: "1.2.0".into(),
            upgrade_from: "^1.4".into()
        }
    );
    assert!(r.to_string().starts_with("component `lock-fw`"), "{r}");
}

#[test]
fn installed_image_equal_to_target_is_skipped() {
    let mut d = device();
    d.installed[0] = Installed {
        id: "lock-fw".into(),
        version: v("2.0.0"),
        sha256: Sha256::of(FW_2_0),
    };
    let plan = release().plan(&d).unwrap();
    assert_eq!(plan.steps[0].action, Action::Skip);
    assert!(!plan.steps[0].reboot);
    assert!(!plan.reboot_required());
    assert!(!plan.is_noop());
}

#[test]
fn full_image_when_no_delta_source_matches() {
    let mut d = device();
    d.installed[0] = Installed {
        id: "lock-fw".into(),
        version: v("1.4.3"),
        sha256: Sha256::of(b"lock firmware 1.4.3"),
    };
    let plan = release().plan(&d).unwrap();
    assert!(matches!(plan.steps[0].action, Action::Full { .. }));
    assert_eq!(plan.steps[0].slot, Some(Slot::B));
    d.active_slot = Slot::B;
    assert_eq!(release().plan(&d).unwrap().steps[0].slot, Some(Slot::A));
}

#[test]
fn delta_chosen_by_the_installed_digest() {
    let mut m = release();
    let fw = &mut m.components[1];
    fw.upgrade_from = req(">=1.3");
    fw.deltas.push(DeltaSource::from_patch(
        v("1.3.0"),
        b"lock firmware 1.3.0",
        b"another patch",
        DeltaAlgorithm::OtaDelta,
    ));
    let mut d = device();
    d.installed[0].version = v("1.3.0");
    d.installed[0].sha256 = Sha256::of(b"lock firmware 1.3.0");
    match &m.plan(&d).unwrap().steps[0].action {
        Action::Delta(delta) => assert_eq!(delta.algorithm, DeltaAlgorithm::OtaDelta),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unmet_dependency_on_an_installed_component() {
    let mut m = release();
    m.components[0].dependencies.push(Dependency {
        id: "bootloader".into(),
        req: req(">=5"),
    });
    let r = refusal(&m, &device());
    assert_eq!(r.component.as_deref(), Some("door-app"));
    assert_eq!(
        r.rule,
        Rule::UnmetDependency {
            on: "bootloader".into(),
            req: ">=5".into(),
            installed: None
        }
    );
    let mut d = device();
    d.installed.push(Installed {
        id: "bootloader".into(),
        version: v("4.9.0"),
        sha256: Sha256::of(b"bl"),
    });
    assert!(matches!(
        refusal(&m, &d).rule,
        Rule::UnmetDependency {
            installed: Some(_),
            ..
        }
    ));
    d.installed[2].version = v("5.0.0");
    assert!(m.plan(&d).is_ok());
}

#[test]
fn dependency_on_a_shipped_component_at_the_wrong_version_is_invalid() {
    let mut m = release();
    m.components[0].dependencies[0].req = req("^3");
    let r = m.validate().unwrap_err();
    assert_eq!(r.component.as_deref(), Some("door-app"));
    assert!(matches!(
        r.problem,
        Problem::DependencyVersionMismatch { .. }
    ));
}

#[test]
fn cyclic_dependencies_are_refused() {
    let mut m = release();
    m.components[1].dependencies.push(Dependency {
        id: "door-app".into(),
        req: req("*"),
    });
    let r = refusal(&m, &device());
    match r.rule {
        Rule::Invalid(Problem::DependencyCycle(path)) => {
            assert_eq!(path.first(), path.last());
            assert_eq!(path.len(), 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicate_components_are_refused() {
    let mut m = release();
    let dup = m.components[1].clone();
    m.components.push(dup);
    let r = refusal(&m, &device());
    assert_eq!(r.component.as_deref(), Some("lock-fw"));
    assert_eq!(r.rule, Rule::Invalid(Problem::DuplicateComponent));
}

#[test]
fn device_reporting_a_component_twice_is_refused() {
    let mut d = device();
    d.installed.push(d.installed[0].clone());
    assert_eq!(refusal(&release(), &d).rule, Rule::DuplicateInstalled);
}

#[test]
fn order_breaks_ties_but_never_dependencies() {
    let mut m = release();
    let cfg = Component::from_image(
        "config",
        Layer::Configuration,
        v("1.0.0"),
        req("*"),
        b"cfg",
        None,
    )
    .unwrap();
    let mut model =
        Component::from_image("model", Layer::Model, v("1.0.0"), req("*"), b"w", None).unwrap();
    model.order = 1;
    m.components.push(model);
    m.components.push(cfg);
    // The app asks to go first (order 0 < ...) but depends on the firmware.
    m.components[1].order = 9;
    let ids: Vec<String> = m
        .plan(&device())
        .unwrap()
        .steps
        .into_iter()
        .map(|s| s.component)
        .collect();
    assert_eq!(ids, ["config", "model", "lock-fw", "door-app"]);
}

#[test]
fn validation_catches_inconsistencies() {
    let problem = |f: &dyn Fn(&mut Manifest)| {
        let mut m = release();
        f(&mut m);
        m.validate().unwrap_err().problem
    };
    assert_eq!(problem(&|m| m.components.clear()), Problem::NoComponents);
    assert_eq!(
        problem(&|m| m.compatibility.classes.clear()),
        Problem::NoClass
    );
    assert!(matches!(
        problem(&|m| m.expires_at = Some(m.issued_at)),
        Problem::ExpiresBeforeIssued { .. }
    ));
    assert_eq!(
        problem(&|m| {
            let c = &mut m.components[1];
            c.deltas[0].from_sha256 = c.sha256;
        }),
        Problem::DeltaFromSelf
    );
    assert_eq!(
        problem(&|m| {
            let d = m.components[1].deltas[0].clone();
            m.components[1].deltas.push(d);
        }),
        Problem::DuplicateDeltaSource
    );
    assert_eq!(
        problem(&|m| m.components[1].deltas[0].patch_size = 0),
        Problem::EmptyPatch
    );
    assert!(matches!(
        problem(&|m| m.components[1].deltas[0].from_version = v("1.0.0")),
        Problem::DeltaOutsideUpgradePath { .. }
    ));
    assert_eq!(
        problem(&|m| m.components[1].dependencies.push(Dependency {
            id: "lock-fw".into(),
            req: req("*")
        })),
        Problem::SelfDependency
    );
    assert!(matches!(
        problem(&|m| {
            let d = m.components[0].dependencies[0].clone();
            m.components[0].dependencies.push(d);
        }),
        Problem::DuplicateDependency(_)
    ));
    assert_eq!(
        problem(&|m| {
            m.components[1] = Component::from_image(
                "lock-fw",
                Layer::Firmware,
                v("2.0.0"),
                req("^1.4"),
                &[0u8; 10_000],
                Some(4096),
            )
            .unwrap();
            m.components[1].chunks.as_mut().unwrap().sha256.pop();
        }),
        Problem::ChunkCountMismatch {
            expected: 3,
            actual: 2
        }
    );
}

#[test]
fn the_plan_is_the_same_after_a_cbor_and_a_json_round_trip() {
    let m = release();
    let from_cbor = Manifest::from_cbor(&m.to_cbor().unwrap()).unwrap();
    let from_json = Manifest::from_json(&m.to_json().unwrap()).unwrap();
    assert_eq!(from_cbor.plan(&device()), m.plan(&device()));
    assert_eq!(from_json.plan(&device()), m.plan(&device()));
}

#[test]
fn json_fixtures() {
    let dir = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let load = |n: &str| {
        Manifest::from_json(&std::fs::read_to_string(format!("{dir}/{n}")).unwrap()).unwrap()
    };
    // The gen-2 release, as a release engineer writes it.
    let m = load("lock_gen2.json");
    assert!(m.plan(&device()).is_ok());
    let mut gen1 = device();
    gen1.hardware = "1.3.0".into();
    assert!(matches!(
        m.plan(&gen1).unwrap_err().rule,
        Rule::WrongHardware { .. }
    ));
    // A release built for gen-1 boards reaching a gen-2 lock.
    let gen1_release = load("wrong_hardware.json");
    assert_eq!(
        gen1_release.plan(&device()).unwrap_err().rule,
        Rule::WrongHardware {
            revision: "2.1.0".into()
        }
    );
    // Its older release: a downgrade for a device that accepted 42.
    let old = load("downgrade.json");
    assert!(matches!(
        old.plan(&device()).unwrap_err().rule,
        Rule::SequenceNotNewer { .. }
    ));
    let cyclic = load("cyclic_deps.json");
    assert!(matches!(
        cyclic.validate().unwrap_err().problem,
        Problem::DependencyCycle(_)
    ));
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Manifest>();
    check::<DeviceState>();
    check::<ota_manifest::Plan>();
    check::<Refusal>();
    check::<ota_manifest::Error>();
}
