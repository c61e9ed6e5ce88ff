//! ota-protocol defines its wire enums without depending on ota-agent (FORMAT.md spells out the
//! mapping). This crate sits above both, so it checks that they agree: every agent reason but
//! `Refused` (a refusal travels as REJECTED, never as FAILED) has a wire reason of the same name
//! with the same LwM2M Object 5 and Object 9 results, and every agent stage a wire stage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_agent::{Outcome, State};

fn name<T: std::fmt::Debug>(v: T) -> String {
    format!("{v:?}")
}

#[test]
fn every_agent_reason_has_a_wire_reason_with_the_same_lwm2m_results() {
    let mut mapped = 0;
    for reason in ota_agent::Reason::ALL {
        let wire = ota_protocol::Reason::ALL
            .into_iter()
            .find(|w| name(w) == name(reason));
        if reason == ota_agent::Reason::Refused {
            assert!(
                wire.is_none(),
                "a refusal must not be a FAILED reason on the wire"
            );
            continue;
        }
        let wire = wire.unwrap_or_else(|| panic!("no wire reason for the agent's {reason:?}"));
        let failed = Outcome::Failed {
            stage: ota_agent::Stage::Install,
            reason,
        };
        assert_eq!(
            ota_agent::lwm2m_fw_result(failed),
            wire.lwm2m_fw_result(),
            "Object 5 result of {reason:?}"
        );
        assert_eq!(
            ota_agent::lwm2m_sw_result(State::Failed, failed),
            wire.lwm2m_sw_result(),
            "Object 9 result of {reason:?}"
        );
        mapped += 1;
    }
    assert_eq!(
        mapped,
        ota_protocol::Reason::ALL.len(),
        "a wire reason the agent never gives"
    );
}

#[test]
fn every_agent_stage_has_a_wire_stage() {
    use ota_agent::Stage as A;
    let agent = [
        A::Download,
        A::Verify,
        A::Decide,
        A::Install,
        A::Trial,
        A::Commit,
    ];
    assert_eq!(agent.len(), ota_protocol::Stage::ALL.len());
    for (a, w) in agent.into_iter().zip(ota_protocol::Stage::ALL) {
        assert_eq!(name(a), name(w));
    }
}

/// The adapter's conversions (`wire_stage`, `wire_reason`, `wire_outcome`) are the mapping the
/// two tests above check by name: the same name, `Refused` never a FAILED.
#[test]
fn the_adapter_converts_every_agent_code_to_the_wire_code_of_the_same_name() {
    use ota_agent::Stage as A;
    for stage in [
        A::Download,
        A::Verify,
        A::Decide,
        A::Install,
        A::Trial,
        A::Commit,
    ] {
        assert_eq!(name(ota_mqtt::wire_stage(stage)), name(stage));
    }
    for reason in ota_agent::Reason::ALL {
        match ota_mqtt::wire_reason(reason) {
            None => assert_eq!(reason, ota_agent::Reason::Refused),
            Some(w) => assert_eq!(name(w), name(reason)),
        }
        let reverted = Outcome::Reverted {
            stage: A::Trial,
            reason,
        };
        match ota_mqtt::wire_outcome(reverted) {
            None => assert_eq!(reason, ota_agent::Reason::Refused),
            Some(ota_protocol::Status::Failed {
                stage,
                reason: r,
                reverted,
                ..
            }) => {
                assert_eq!(stage, ota_protocol::Stage::Trial);
                assert_eq!(name(r), name(reason));
                assert!(reverted);
            }
            Some(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(
        ota_mqtt::wire_outcome(Outcome::Committed),
        Some(ota_protocol::Status::Succeeded)
    );
}

/// Every install-decision rule of ota-manifest becomes the wire rule FORMAT.md gives it (the
/// code column of "Refusal rules"), with its fields.
#[test]
fn every_manifest_rule_becomes_its_wire_rule() {
    use ota_manifest::Rule as M;
    let rules = [
        (M::WrongVendor, 2),
        (M::WrongClass, 3),
        (
            M::WrongHardware {
                revision: "rev9".into(),
            },
            4,
        ),
        (
            M::Expired {
                expires_at: 5,
                now: 6,
            },
            5,
        ),
        (
            M::SequenceNotNewer {
                sequence: 1,
                accepted: 2,
            },
            6,
        ),
        (
            M::SecurityCounterBelowFloor {
                counter: 1,
                floor: 2,
            },
            7,
        ),
        (
            M::OutsideUpgradePath {
                installed: "1.0.0".into(),
                upgrade_from: ">=2".into(),
            },
            8,
        ),
        (
            M::UnmetDependency {
                on: "app".into(),
                req: ">=1".into(),
                installed: None,
            },
            9,
        ),
        (M::DuplicateInstalled, 10),
    ];
    for (rule, code) in rules {
        let r = ota_manifest::Refusal {
            component: Some("firmware".into()),
            rule: rule.clone(),
        };
        let w = ota_mqtt::wire_refusal(&r);
        assert_eq!(w.rule.code(), code, "{rule:?}");
        assert_eq!(w.component.as_deref(), Some("firmware"));
        // Same variant name and the same fields, in the same order.
        assert_eq!(format!("{:?}", w.rule), format!("{rule:?}"));
    }
}
