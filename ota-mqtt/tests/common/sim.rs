//! A simulated device for the transport tests: an `Installer` that checks a (fake) envelope and
//! "installs" with two progress steps; jobs and reports to send.

use std::collections::BTreeMap;

use ota_mqtt::{Installer, unverified};
use ota_protocol::{
    DeviceReport, InstallPolicy, InstalledComponent, JobDocument, JobId, Progress, Refusal,
    ReleaseSource, Stage, Status,
};

/// The envelope a simulated device accepts (a real device verifies a COSE signature).
pub const GOOD_ENVELOPE: &[u8] = b"signed-release-envelope";

pub struct SimInstaller {
    pub installed: u32,
}

impl Installer for SimInstaller {
    fn verify(&mut self, job: &JobDocument) -> Result<(), Refusal> {
        match &job.release {
            ReleaseSource::Inline(e) if e.as_slice() == GOOD_ENVELOPE => Ok(()),
            _ => Err(unverified("signature does not verify")),
        }
    }

    fn install(&mut self, _job: &JobDocument, progress: &mut dyn FnMut(Stage, Progress)) -> Status {
        progress(
            Stage::Download,
            Progress {
                done: 50,
                total: 100,
            },
        );
        progress(
            Stage::Install,
            Progress {
                done: 100,
                total: 100,
            },
        );
        self.installed += 1;
        Status::Succeeded
    }
}

pub fn job(id: &str, envelope: &[u8]) -> JobDocument {
    JobDocument {
        job_id: JobId::new(id).unwrap(),
        rollout: "rollout-1".into(),
        ring: 0,
        release: ReleaseSource::Inline(envelope.to_vec()),
        images: Vec::new(),
        policy: InstallPolicy::default(),
    }
}

pub fn report(report_id: u64, version: &str) -> DeviceReport {
    DeviceReport {
        report_id,
        sent_at: 1_800_000_000,
        installed: vec![InstalledComponent {
            id: "firmware".into(),
            version: version.into(),
            sha256: None,
        }],
        active_slot: None,
        boot_count: 3,
        reboot_loops: 0,
        uptime_since_install: Some(60),
        health: BTreeMap::from([("temp_c".to_owned(), 41.5)]),
    }
}
