//! A simulated device for the transport tests: an `Installer` that verifies the job's signed
//! envelope with `ota-verify` against the device's trust root, then "installs" with two progress
//! steps; a release signed by the vendor and one signed by an attacker; jobs and reports.

use std::collections::BTreeMap;

use ota_mqtt::{Attempt, Installer, unverified};
use ota_protocol::{
    DeviceReport, InstallPolicy, InstalledComponent, JobDocument, JobId, Progress, Refusal,
    ReleaseSource, Stage, Status,
};
use ota_verify::{ImageRef, Policy, Role, SecretKey, SignOptions, TrustRoot, sign};

/// The device's clock in these tests.
pub const NOW: u64 = 1_800_000_000;

/// A vendor's trust root and two releases: one signed with the vendor's release key, one with
/// an attacker's key (what a compromised broker or server could send).
pub struct Release {
    pub root: TrustRoot,
    pub good: Vec<u8>,
    pub forged: Vec<u8>,
}

pub fn release() -> Release {
    let root_key = SecretKey::from_seed(&[1; 32]);
    let release_key = SecretKey::from_seed(&[2; 32]);
    let attacker = SecretKey::from_seed(&[66; 32]);
    let root = TrustRoot::builder(1, NOW + 86_400)
        .role(Role::ROOT, 1, &[root_key.public_key()])
        .role(Role::RELEASE, 1, &[release_key.public_key()])
        .build()
        .unwrap();
    let image = ImageRef::of(b"firmware 2.0.0").to_vec();
    let opts = SignOptions {
        sequence: Some(2),
        expires: Some(NOW + 3600),
        ..Default::default()
    };
    Release {
        good: sign(&image, &[&release_key], &opts).unwrap(),
        forged: sign(&image, &[&attacker], &opts).unwrap(),
        root,
    }
}

pub struct SimInstaller {
    pub root: TrustRoot,
    pub installed: u32,
}

impl SimInstaller {
    pub fn new(root: TrustRoot) -> Self {
        Self { root, installed: 0 }
    }
}

impl Installer for SimInstaller {
    fn verify(&mut self, job: &JobDocument) -> Result<(), Refusal> {
        let ReleaseSource::Inline(envelope) = &job.release else {
            return Err(unverified("no inline envelope"));
        };
        self.root
            .verify(envelope, None, &Policy::new(NOW, 1))
            .map(|_| ())
            .map_err(|e| unverified(e.to_string()))
    }

    fn install(
        &mut self,
        _job: &JobDocument,
        progress: &mut dyn FnMut(Stage, Progress),
    ) -> Attempt {
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
        Attempt::Finished(Status::Succeeded)
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
