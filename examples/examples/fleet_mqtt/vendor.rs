//! The vendor: keys, trust root, firmware builds, deltas, signed releases, and the CDN that
//! serves the images.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ota_agent::FetchError;
use ota_examples::images::{BuildInfo, Firmware};
use ota_examples::rng::{Rng, hash_label};
use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{
    Compatibility, Component, DeltaAlgorithm, DeltaSource, Extensions, Layer, Manifest,
};
use ota_mqtt::Download;
use ota_server::Artifact;
use ota_verify::{Role, SecretKey, SignOptions, TrustRoot};

use crate::{EPOCH, FIRMWARE_SIZE, Res, SLOT_SIZE};

/// A file for the CDN: its URI and bytes.
pub type CdnFile = (String, Vec<u8>);

/// A firmware build the vendor shipped.
pub struct Build {
    pub version: Version,
    pub image: Vec<u8>,
    pub sha: ota_manifest::Sha256,
}

pub struct Vendor {
    pub root: TrustRoot,
    pub key: SecretKey,
    /// 0.9.0, 1.0.0, 2.0.0 (good), 2.1.0 (bad).
    pub builds: Vec<Build>,
}

pub const HW: [&str; 3] = ["A", "B", "C"];

impl Vendor {
    pub fn new(seed: u64) -> Res<Self> {
        // From the seed, so the run is reproducible: real keys come from a CSPRNG or an HSM.
        let mut key_seed = [0u8; 32];
        Rng::stream(seed, "release key").fill(&mut key_seed);
        let key = SecretKey::from_seed(&key_seed);
        let root = TrustRoot::builder(1, EPOCH + 365 * 86_400)
            .role(Role::ROOT, 1, &[key.public_key()])
            .role(Role::RELEASE, 1, &[key.public_key()])
            .build()?;
        let info = |version: &str, hardware_mask: u8, sensor_mask: u8| BuildInfo {
            version: version.into(),
            hardware_mask,
            sensor_mask,
        };
        let v09 = Firmware::base(hash_label(seed, "fw"), FIRMWARE_SIZE, info("0.9.0", 7, 3));
        let v10 = v09.next_version(hash_label(seed, "fw 1.0"), 6, info("1.0.0", 7, 3));
        let v20 = v10.next_version(hash_label(seed, "fw 2.0"), 4, info("2.0.0", 7, 3));
        // The bad build: for revisions B and C only, and without the driver of sensor variant 1.
        let v21 = v20.next_version(hash_label(seed, "fw 2.1"), 3, info("2.1.0", 6, 1));
        let builds = [
            ("0.9.0", v09),
            ("1.0.0", v10),
            ("2.0.0", v20),
            ("2.1.0", v21),
        ]
        .into_iter()
        .map(|(v, fw)| {
            let image = fw.render();
            Ok(Build {
                version: Version::parse(v)?,
                sha: ota_manifest::Sha256::of(&image),
                image,
            })
        })
        .collect::<Res<Vec<_>>>()?;
        if builds.iter().any(|b| b.image.len() > SLOT_SIZE) {
            return Err("a firmware image is larger than the simulated slot".into());
        }
        Ok(Vendor { root, key, builds })
    }

    pub fn build(&self, version: &str) -> Res<&Build> {
        self.builds
            .iter()
            .find(|b| b.version.to_string() == version)
            .ok_or_else(|| format!("no build {version}").into())
    }

    /// A signed release of `version` with a delta from `from`, for `hardware`; returns the
    /// envelope, the artifacts (URIs) and their bytes for the CDN.
    pub fn release(
        &self,
        version: &str,
        from: &str,
        hardware: &[&str],
        sequence: u64,
    ) -> Res<(Vec<u8>, Vec<Artifact>, Vec<CdnFile>)> {
        let new = self.build(version)?;
        let old = self.build(from)?;
        let patch = ota_delta::diff_with(
            &old.image,
            &new.image,
            &ota_delta::DiffOptions {
                frame_size: 4096,
                ..Default::default()
            },
        )?;
        let mut fw = Component::from_image(
            "firmware",
            Layer::Firmware,
            new.version.clone(),
            VersionReq::STAR,
            &new.image,
            Some(4096),
        )?;
        fw.deltas.push(DeltaSource::from_patch(
            old.version.clone(),
            &old.image,
            &patch,
            DeltaAlgorithm::OtaDelta,
        ));
        let manifest = Manifest {
            name: format!("firmware {version}"),
            version: new.version.clone(),
            sequence,
            security_counter: 1,
            issued_at: EPOCH - 60,
            expires_at: Some(EPOCH + 30 * 86_400),
            notes_uri: None,
            support_ends_at: None,
            max_security_deferral: None,
            compatibility: Compatibility {
                vendor: ota_manifest::DeviceId::new(b"acme")?,
                classes: vec![ota_manifest::DeviceId::new(b"sensor")?],
                hardware: hardware.iter().map(|h| (*h).to_owned()).collect(),
                hardware_ranges: vec![],
            },
            components: vec![fw],
            extensions: Extensions::new(),
        };
        let opts = SignOptions {
            sequence: Some(sequence),
            expires: Some(EPOCH + 30 * 86_400),
            ..Default::default()
        };
        let envelope = ota_verify::sign(&manifest.to_cbor()?, &[&self.key], &opts)?;
        let full_uri = format!("cdn://firmware/{version}.bin");
        let delta_uri = format!("cdn://firmware/{from}-{version}.patch");
        let artifacts = vec![
            Artifact {
                component: "firmware".into(),
                from_sha256: None,
                uri: full_uri.clone(),
            },
            Artifact {
                component: "firmware".into(),
                from_sha256: Some(ota_protocol::Sha256(old.sha.0)),
                uri: delta_uri.clone(),
            },
        ];
        let files = vec![(full_uri, new.image.clone()), (delta_uri, patch)];
        Ok((envelope, artifacts, files))
    }
}

/// The content delivery network: files by URI, and the bytes it served.
#[derive(Default)]
pub struct Cdn {
    pub files: Mutex<HashMap<String, Arc<Vec<u8>>>>,
    pub delta_bytes: AtomicU64,
    pub full_bytes: AtomicU64,
}

impl Cdn {
    pub fn put(&self, uri: String, bytes: Vec<u8>) {
        if let Ok(mut f) = self.files.lock() {
            f.insert(uri, Arc::new(bytes));
        }
    }

    pub fn served(&self) -> (u64, u64) {
        (
            self.delta_bytes.load(Ordering::Relaxed),
            self.full_bytes.load(Ordering::Relaxed),
        )
    }
}

/// A device's downloader: byte ranges from the CDN.
pub struct CdnDownload(pub Arc<Cdn>);

impl Download for CdnDownload {
    fn fetch(&mut self, uri: &str, offset: u64, buf: &mut [u8]) -> Result<usize, FetchError> {
        let file = self
            .0
            .files
            .lock()
            .map_err(|_| FetchError::ConnectionLost("cdn lock".into()))?
            .get(uri)
            .cloned()
            .ok_or_else(|| FetchError::NotFound(uri.into()))?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(file.len());
        let n = buf.len().min(file.len() - start);
        buf[..n].copy_from_slice(&file[start..start + n]);
        let counter = if uri.ends_with(".patch") {
            &self.0.delta_bytes
        } else {
            &self.0.full_bytes
        };
        counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
