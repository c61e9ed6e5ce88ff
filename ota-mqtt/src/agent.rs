//! The device side of a job: verify the signed release, install, report progress and outcome.
//! [`AgentInstaller`] (feature `agent`) implements [`Installer`] with `ota-agent`'s lifecycle;
//! tests also implement it with a bare simulated device.

#[cfg(feature = "agent")]
mod codes;
#[cfg(feature = "agent")]
mod lifecycle;

#[cfg(feature = "agent")]
pub use codes::{wire_outcome, wire_reason, wire_refusal, wire_stage};
#[cfg(feature = "agent")]
pub use lifecycle::{AgentInstaller, Download};

use ota_protocol::{JobDocument, JobExecution, Progress, Refusal, RefusalRule, Stage, Status};

use crate::device::Device;
use crate::error::Result;

/// What a device does with a job. The transport calls [`Installer::verify`] first and calls
/// [`Installer::install`] only when it passed: a job whose envelope does not verify is answered
/// with REJECTED (`RefusalRule::Unverified`) and nothing is installed.
pub trait Installer {
    /// Verifies the job's release (the signed envelope, against the device's trust root).
    ///
    /// # Errors
    /// The refusal to report (`RefusalRule::Unverified` for a bad signature, or any rule of the
    /// install decision).
    fn verify(&mut self, job: &JobDocument) -> std::result::Result<(), Refusal>;

    /// Installs the verified release, calling `progress` as it goes, and returns how far it
    /// got: the outcome (SUCCEEDED, FAILED with stage and reason, or REJECTED), or a stop that
    /// the job survives (a dropped download, a reboot) after which the job is run again.
    fn install(&mut self, job: &JobDocument, progress: &mut dyn FnMut(Stage, Progress)) -> Attempt;
}

/// How far [`Installer::install`] got.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The outcome: SUCCEEDED, FAILED or REJECTED.
    Finished(Status),
    /// The download stopped (connection lost): run the job again once connected, the install
    /// resumes where its persisted state says (the agent's offset or delta cursor).
    Interrupted {
        /// What the fetcher said.
        detail: String,
    },
    /// The device must reboot now (the trial boot is armed, or a revert needs the old slot).
    /// After the reboot, run the job again: the install continues from its persisted state.
    RebootRequired,
}

/// A refusal because the envelope does not verify (what a device reports for a forged job).
pub fn unverified(detail: impl Into<String>) -> Refusal {
    Refusal {
        component: None,
        rule: RefusalRule::Unverified {
            detail: detail.into(),
        },
    }
}

impl Device {
    /// Runs one job: verify, then install with progress updates, then the outcome, each as a
    /// job execution update sent until the server answers it (QoS 1 and
    /// [`Device::send_confirmed`]; the server applies each version once). `queued` is the
    /// execution as the server created it (version 1, QUEUED), or, when the job is run again
    /// after [`Attempt::Interrupted`] or [`Attempt::RebootRequired`], the update this function
    /// returned then (its version goes on from there). Returns the last update sent: terminal
    /// when the install finished, IN_PROGRESS when it stopped (run the job again later).
    ///
    /// Progress updates are sent when `install` returns (the installer is synchronous), in the
    /// order they were made. A job still QUEUED is first claimed: an IN_PROGRESS update
    /// (`Download`, nothing done yet) that the server must accept before anything is installed,
    /// so a job canceled since it was queued is never installed.
    ///
    /// # Errors
    /// [`crate::Error::JobRejected`] when the server answers an update on
    /// `jobs/update/rejected` (job unknown, canceled or already terminal): the device stops
    /// there, sends nothing more for the job and, if it was the claim, installs nothing.
    /// [`crate::Error::Protocol`], [`crate::Error::Closed`], [`crate::Error::Timeout`].
    pub async fn run_job(
        &mut self,
        installer: &mut impl Installer,
        job: &JobDocument,
        queued: &JobExecution,
    ) -> Result<JobExecution> {
        if let Err(refusal) = installer.verify(job) {
            let update = queued.next(Status::Rejected { refusal });
            self.send_execution_or_stop(&update).await?;
            return Ok(update);
        }
        let mut current = queued.clone();
        if current.status == Status::Queued {
            current = current.next(Status::InProgress {
                stage: Stage::Download,
                progress: Progress { done: 0, total: 0 },
            });
            self.send_execution_or_stop(&current).await?;
        }
        let mut steps = Vec::new();
        let attempt = installer.install(job, &mut |stage, progress| {
            steps.push(Status::InProgress { stage, progress });
        });
        for status in steps {
            if current.status == status {
                continue; // nothing new to say (a resumed run starting where it stopped)
            }
            current = current.next(status);
            self.send_execution_or_stop(&current).await?;
        }
        if let Attempt::Finished(outcome) = attempt {
            current = current.next(outcome);
            self.send_execution_or_stop(&current).await?;
        }
        Ok(current)
    }

    /// Sends `update` until answered; a `rejected` answer is [`crate::Error::JobRejected`].
    async fn send_execution_or_stop(&mut self, update: &JobExecution) -> Result<()> {
        if self.send_execution(update).await? {
            Ok(())
        } else {
            Err(crate::Error::JobRejected {
                job_id: update.job_id.to_string(),
                version: update.version,
            })
        }
    }
}
