//! `ota-agent`'s stages, reasons and outcomes and `ota-manifest`'s refusal rules as
//! `ota-protocol` puts them on the wire (FORMAT.md, "Failure reasons" and "Refusal rules";
//! `tests/agent_codes.rs` checks that the two sides agree, name for name and LwM2M number for
//! number).

use ota_protocol::{Reason, Refusal, RefusalRule, Stage, Status};

/// The wire stage of an agent stage (the same six, the same codes).
#[must_use]
pub fn wire_stage(stage: ota_agent::Stage) -> Stage {
    use ota_agent::Stage as A;
    match stage {
        A::Download => Stage::Download,
        A::Verify => Stage::Verify,
        A::Decide => Stage::Decide,
        A::Trial => Stage::Trial,
        A::Commit => Stage::Commit,
        // `A::Install`, and a stage a later agent adds (tests/agent_codes.rs fails then).
        _ => Stage::Install,
    }
}

/// The wire reason of an agent reason; `None` for `Refused`, which is not a failure: it
/// travels as REJECTED with the rule ([`wire_refusal`]).
#[must_use]
pub fn wire_reason(reason: ota_agent::Reason) -> Option<Reason> {
    use ota_agent::Reason as A;
    Some(match reason {
        A::NotEnoughSpace => Reason::NotEnoughSpace,
        A::OutOfMemory => Reason::OutOfMemory,
        A::ConnectionLost => Reason::ConnectionLost,
        A::IntegrityCheckFailure => Reason::IntegrityCheckFailure,
        A::UnsupportedPackage => Reason::UnsupportedPackage,
        A::InvalidUri => Reason::InvalidUri,
        A::Refused => return None,
        A::HealthCheckFailed => Reason::HealthCheckFailed,
        A::HealthCheckTimeout => Reason::HealthCheckTimeout,
        A::TriesExhausted => Reason::TriesExhausted,
        A::BootLoop => Reason::BootLoop,
        A::Cancelled => Reason::Cancelled,
        A::Deferred => Reason::Deferred,
        A::UnsupportedProtocol => Reason::UnsupportedProtocol,
        // `A::InstallFailed`, and a reason a later agent adds (tests/agent_codes.rs fails then).
        _ => Reason::InstallFailed,
    })
}

/// The wire refusal of an install-decision refusal: the same rule, one for one.
#[must_use]
pub fn wire_refusal(refusal: &ota_manifest::Refusal) -> Refusal {
    use ota_manifest::Rule as M;
    let rule = match &refusal.rule {
        M::Invalid(problem) => RefusalRule::InvalidManifest {
            detail: problem.to_string(),
        },
        M::WrongVendor => RefusalRule::WrongVendor,
        M::WrongClass => RefusalRule::WrongClass,
        M::WrongHardware { revision } => RefusalRule::WrongHardware {
            revision: revision.clone(),
        },
        M::Expired { expires_at, now } => RefusalRule::Expired {
            expires_at: *expires_at,
            now: *now,
        },
        M::SequenceNotNewer { sequence, accepted } => RefusalRule::SequenceNotNewer {
            sequence: *sequence,
            accepted: *accepted,
        },
        M::SecurityCounterBelowFloor { counter, floor } => RefusalRule::SecurityCounterBelowFloor {
            counter: *counter,
            floor: *floor,
        },
        M::OutsideUpgradePath {
            installed,
            upgrade_from,
        } => RefusalRule::OutsideUpgradePath {
            installed: installed.clone(),
            upgrade_from: upgrade_from.clone(),
        },
        M::UnmetDependency { on, req, installed } => RefusalRule::UnmetDependency {
            on: on.clone(),
            req: req.clone(),
            installed: installed.clone(),
        },
        M::DuplicateInstalled => RefusalRule::DuplicateInstalled,
        // A rule a later ota-manifest adds: still a refusal, named in text.
        other => RefusalRule::InvalidManifest {
            detail: other.to_string(),
        },
    };
    Refusal {
        component: refusal.component.clone(),
        rule,
    }
}

/// The terminal wire status of an agent outcome at rest: Committed (or no update: nothing to
/// do) is SUCCEEDED; Failed and Reverted are FAILED with the stage and reason (`reverted` set
/// for Reverted). `None` for a `Refused` failure: the caller reports REJECTED with the rule.
#[must_use]
pub fn wire_outcome(outcome: ota_agent::Outcome) -> Option<Status> {
    use ota_agent::Outcome as O;
    let (stage, reason, reverted) = match outcome {
        O::None | O::Committed => return Some(Status::Succeeded),
        O::Failed { stage, reason } => (stage, reason, false),
        O::Reverted { stage, reason } => (stage, reason, true),
    };
    Some(Status::Failed {
        stage: wire_stage(stage),
        reason: wire_reason(reason)?,
        reverted,
        detail: None,
    })
}
