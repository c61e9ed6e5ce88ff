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
