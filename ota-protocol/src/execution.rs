//! The job execution: one device's run of one job, its version number, and the status
//! transition rules (AWS IoT Jobs), enforced by [`check_transition`] and [`JobExecution::apply`].

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, TransitionError};
use crate::ids::JobId;
use crate::refusal::Refusal;
use crate::status::{Progress, Reason, Stage, Status, StatusKind, StatusParts};

/// One device's execution of one job, at one version. The same message goes both ways: the
/// service sends the state it holds, the device sends the state it proposes (`version` one
/// above the state it has seen).
///
/// JSON: `{"job_id", "execution_number", "version", "status": "FAILED", "stage", "reason",
/// "reverted", "detail"}`, the status's fields flat beside it as in CBOR (FORMAT.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ExecutionJson", into = "ExecutionJson")]
pub struct JobExecution {
    /// The job.
    pub job_id: JobId,
    /// Which run of the job on this device (a retried job gets a new number; AWS
    /// `executionNumber`).
    pub execution_number: u64,
    /// Bumped by one on every accepted change, from 1 when queued (AWS `versionNumber`).
    pub version: u64,
    /// Where it stands.
    pub status: Status,
}

/// The flat JSON form of a [`JobExecution`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecutionJson {
    job_id: JobId,
    execution_number: u64,
    version: u64,
    status: StatusKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stage: Option<Stage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    progress: Option<Progress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reverted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refusal: Option<Refusal>,
}

impl From<JobExecution> for ExecutionJson {
    fn from(e: JobExecution) -> Self {
        let p = e.status.parts();
        Self {
            job_id: e.job_id,
            execution_number: e.execution_number,
            version: e.version,
            status: e.status.kind(),
            stage: p.stage,
            progress: p.progress,
            reason: p.reason,
            reverted: p.reverted,
            detail: p.detail,
            refusal: p.refusal,
        }
    }
}

impl TryFrom<ExecutionJson> for JobExecution {
    type Error = Error;
    fn try_from(j: ExecutionJson) -> Result<Self, Error> {
        let parts = StatusParts {
            stage: j.stage,
            progress: j.progress,
            reason: j.reason,
            reverted: j.reverted,
            detail: j.detail,
            refusal: j.refusal,
        };
        let status = Status::from_parts(j.status, parts)
            .map_err(|(field, kind)| Error::field(kind).in_field(field))?;
        Ok(Self {
            job_id: j.job_id,
            execution_number: j.execution_number,
            version: j.version,
            status,
        })
    }
}

/// Who proposes a change: the device, or the service (and the people behind it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The device running the job.
    Device,
    /// The fleet side.
    Service,
}

impl Actor {
    /// The other party.
    #[must_use]
    pub fn other(self) -> Actor {
        match self {
            Actor::Device => Actor::Service,
            Actor::Service => Actor::Device,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Actor::Device => "device",
            Actor::Service => "service",
        })
    }
}

/// Whether a status may follow another, and who may make the change.
///
/// | from | to | by |
/// |---|---|---|
/// | no execution | QUEUED | service |
/// | QUEUED | IN_PROGRESS, SUCCEEDED, FAILED, REJECTED | device |
/// | IN_PROGRESS | IN_PROGRESS (progress), SUCCEEDED, FAILED, REJECTED | device |
/// | QUEUED, IN_PROGRESS | TIMED_OUT, REMOVED, CANCELED | service |
/// | SUCCEEDED, FAILED, TIMED_OUT, REJECTED, REMOVED, CANCELED | nothing: terminal | |
///
/// Nothing goes back to QUEUED: a retry is a new execution (a new `execution_number`).
///
/// # Errors
/// [`TransitionError::Terminal`], [`TransitionError::Illegal`], [`TransitionError::NotYours`].
pub fn check_transition(
    from: Option<StatusKind>,
    to: StatusKind,
    actor: Actor,
) -> Result<(), TransitionError> {
    use StatusKind as S;
    let by = match (from, to) {
        (Some(f), _) if f.is_terminal() => return Err(TransitionError::Terminal { from: f }),
        (None, S::Queued) => Actor::Service,
        (
            Some(S::Queued | S::InProgress),
            S::InProgress | S::Succeeded | S::Failed | S::Rejected,
        ) => Actor::Device,
        (Some(S::Queued | S::InProgress), S::TimedOut | S::Removed | S::Canceled) => Actor::Service,
        _ => return Err(TransitionError::Illegal { from, to }),
    };
    if by == actor {
        Ok(())
    } else {
        Err(TransitionError::NotYours { to, actor })
    }
}

/// What [`JobExecution::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The update was the next version and is now the state.
    Advanced,
    /// The update is the current state again (a QoS 1 redelivery): nothing changed.
    Duplicate,
}

impl JobExecution {
    /// A new execution, QUEUED at version 1.
    #[must_use]
    pub fn queued(job_id: JobId, execution_number: u64) -> Self {
        Self {
            job_id,
            execution_number,
            version: 1,
            status: Status::Queued,
        }
    }

    /// The update that moves this execution to `status` (the next version). It is not checked
    /// here: [`JobExecution::apply`] checks it where it is received.
    #[must_use]
    pub fn next(&self, status: Status) -> Self {
        Self {
            job_id: self.job_id.clone(),
            execution_number: self.execution_number,
            version: self.version.saturating_add(1),
            status,
        }
    }

    /// Applies `update` from `actor` if it is the next version and a legal transition; an exact
    /// copy of the current state is recognised as a redelivery and changes nothing, so applying
    /// the same update twice has the effect of applying it once. On error nothing changes.
    ///
    /// # Errors
    /// [`TransitionError::WrongJob`], [`TransitionError::WrongExecution`],
    /// [`TransitionError::VersionConflict`] (an older version, a gap, or the current version
    /// with other content), and the errors of [`check_transition`].
    pub fn apply(
        &mut self,
        update: &JobExecution,
        actor: Actor,
    ) -> Result<Applied, TransitionError> {
        if update.job_id != self.job_id {
            return Err(TransitionError::WrongJob {
                expected: self.job_id.to_string(),
                found: update.job_id.to_string(),
            });
        }
        if update.execution_number != self.execution_number {
            return Err(TransitionError::WrongExecution {
                expected: self.execution_number,
                found: update.execution_number,
            });
        }
        if update.version == self.version && update.status == self.status {
            return Ok(Applied::Duplicate);
        }
        if Some(update.version) != self.version.checked_add(1) {
            return Err(TransitionError::VersionConflict {
                current: self.version,
                proposed: update.version,
            });
        }
        check_transition(Some(self.status.kind()), update.status.kind(), actor)?;
        self.version = update.version;
        self.status = update.status.clone();
        Ok(Applied::Advanced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Progress, Reason, Stage};

    fn in_progress(done: u64) -> Status {
        Status::InProgress {
            stage: Stage::Download,
            progress: Progress { done, total: 100 },
        }
    }

    /// Every (from, to, actor) triple against the table in the doc of `check_transition`.
    #[test]
    fn transition_table_spelled_out() {
        use StatusKind as S;
        let device_targets = [S::InProgress, S::Succeeded, S::Failed, S::Rejected];
        let service_targets = [S::TimedOut, S::Removed, S::Canceled];
        let mut legal = 0;
        for from in std::iter::once(None).chain(S::ALL.into_iter().map(Some)) {
            for to in S::ALL {
                for actor in [Actor::Device, Actor::Service] {
                    let got = check_transition(from, to, actor);
                    let want_by = match from {
                        None if to == S::Queued => Some(Actor::Service),
                        Some(S::Queued | S::InProgress) if device_targets.contains(&to) => {
                            Some(Actor::Device)
                        }
                        Some(S::Queued | S::InProgress) if service_targets.contains(&to) => {
                            Some(Actor::Service)
                        }
                        _ => None,
                    };
                    match (want_by, &got) {
                        (Some(a), Ok(())) if a == actor => legal += 1,
                        (Some(_), Err(TransitionError::NotYours { .. })) => {}
                        (None, Err(TransitionError::Terminal { from: f })) => {
                            assert!(f.is_terminal());
                            assert_eq!(from, Some(*f));
                        }
                        (None, Err(TransitionError::Illegal { .. })) => {
                            assert!(from.is_none_or(|f| !f.is_terminal()));
                        }
                        _ => panic!("{from:?} -> {to:?} by {actor:?}: {got:?}"),
                    }
                }
            }
        }
        // 1 (create) + 2 x 4 (device) + 2 x 3 (service).
        assert_eq!(legal, 15);
    }

    #[test]
    fn apply_advances_recognises_redelivery_and_refuses_conflicts() {
        let id = JobId::new("fw-2").unwrap();
        let mut x = JobExecution::queued(id.clone(), 1);
        let u1 = x.next(in_progress(10));
        assert_eq!(x.apply(&u1, Actor::Device), Ok(Applied::Advanced));
        assert_eq!(x.version, 2);
        // The same update again (QoS 1 redelivery): applied once.
        assert_eq!(x.apply(&u1, Actor::Device), Ok(Applied::Duplicate));
        assert_eq!(x.version, 2);
        let u2 = x.next(in_progress(60));
        assert_eq!(x.apply(&u2, Actor::Device), Ok(Applied::Advanced));
        // The older update redelivered late: a conflict, and the state keeps 60 %.
        assert!(matches!(
            x.apply(&u1, Actor::Device),
            Err(TransitionError::VersionConflict {
                current: 3,
                proposed: 2
            })
        ));
        assert_eq!(x.status, in_progress(60));
        // A gap.
        let mut far = x.next(Status::Succeeded);
        far.version += 1;
        assert!(matches!(
            x.apply(&far, Actor::Device),
            Err(TransitionError::VersionConflict { .. })
        ));
        // Same version, other content.
        let mut other = x.clone();
        other.status = in_progress(61);
        assert!(x.apply(&other, Actor::Device).is_err());
        // Wrong job or execution.
        let mut wrong = x.next(Status::Succeeded);
        wrong.execution_number = 2;
        assert!(matches!(
            x.apply(&wrong, Actor::Device),
            Err(TransitionError::WrongExecution { .. })
        ));
        wrong = x.next(Status::Succeeded);
        wrong.job_id = JobId::new("other").unwrap();
        assert!(matches!(
            x.apply(&wrong, Actor::Device),
            Err(TransitionError::WrongJob { .. })
        ));
        // A device cannot cancel; the service can; nothing follows.
        let cancel = x.next(Status::Canceled);
        assert!(matches!(
            x.apply(&cancel, Actor::Device),
            Err(TransitionError::NotYours { .. })
        ));
        assert_eq!(x.apply(&cancel, Actor::Service), Ok(Applied::Advanced));
        let late = x.next(Status::Failed {
            stage: Stage::Install,
            reason: Reason::InstallFailed,
            reverted: false,
            detail: None,
        });
        assert!(matches!(
            x.apply(&late, Actor::Device),
            Err(TransitionError::Terminal {
                from: StatusKind::Canceled
            })
        ));
        assert_eq!(x.status, Status::Canceled);
        assert_eq!(x.version, 4);
    }
}
