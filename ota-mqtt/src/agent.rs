//! The device side of a job: verify the signed release, install, report progress and outcome.
//! `ota-agent` will implement [`Installer`]; tests implement it with a simulated device.

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

    /// Installs the verified release, calling `progress` as it goes, and returns the outcome:
    /// SUCCEEDED, FAILED (stage and reason) or REJECTED.
    fn install(&mut self, job: &JobDocument, progress: &mut dyn FnMut(Stage, Progress)) -> Status;
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
    /// execution as the server created it (version 1, QUEUED). Returns the last update sent.
    ///
    /// Progress updates are sent when `install` returns (the installer is synchronous), in the
    /// order they were made.
    ///
    /// # Errors
    /// [`crate::Error::Protocol`], [`crate::Error::Closed`].
    pub async fn run_job(
        &mut self,
        installer: &mut impl Installer,
        job: &JobDocument,
        queued: &JobExecution,
    ) -> Result<JobExecution> {
        if let Err(refusal) = installer.verify(job) {
            let update = queued.next(Status::Rejected { refusal });
            self.send_execution(&update).await?;
            return Ok(update);
        }
        let mut steps = Vec::new();
        let outcome = installer.install(job, &mut |stage, progress| {
            steps.push(Status::InProgress { stage, progress });
        });
        let mut current = queued.clone();
        for status in steps {
            current = current.next(status);
            self.send_execution(&current).await?;
        }
        current = current.next(outcome);
        self.send_execution(&current).await?;
        Ok(current)
    }
}
