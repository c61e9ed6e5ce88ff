//! The agent benchmarks' release and network: a signed release 2 of one firmware component
//! (a native delta from release 1, and the full image in 4 KiB chunks), the images (synthetic or
//! the corpus's), an in-memory fetcher, a health check and a clock.

use std::collections::HashMap;
use std::path::Path;

use ota_agent::{Clock, Fetch, FetchError, Health, HealthCheck, Release, Resource};
use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{
    Compatibility, Component, DeltaAlgorithm, DeltaSource, DeviceId, DeviceState, Extensions,
    Installed, Layer, Manifest, Slot,
};
use ota_verify::{Role, SecretKey, SignOptions, TrustRoot};

pub const NOW: u64 = 1_800_000_000;

/// A release 2 of one firmware component, as a native delta from release 1.
pub struct Fixture {
    pub name: String,
    pub root: TrustRoot,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
    pub patch: Vec<u8>,
    pub files: HashMap<[u8; 32], Vec<u8>>,
    pub signed: Vec<u8>,
}

fn did(s: &str) -> DeviceId {
    DeviceId::new(s.as_bytes()).unwrap()
}

impl Fixture {
    pub fn new(name: &str, old: Vec<u8>, new: Vec<u8>, frame_size: u32) -> Self {
        let key = SecretKey::from_seed(&[7; 32]);
        let root = TrustRoot::builder(1, NOW + 10 * 365 * 86_400)
            .role(Role::ROOT, 1, &[key.public_key()])
            .role(Role::RELEASE, 1, &[key.public_key()])
            .build()
            .unwrap();
        let opts = ota_delta::DiffOptions {
            frame_size,
            ..Default::default()
        };
        let patch = ota_delta::diff_with(&old, &new, &opts).unwrap();
        let v = |n| Version::new(n, 0, 0);
        let mut fw = Component::from_image(
            "firmware",
            Layer::Firmware,
            v(2),
            VersionReq::STAR,
            &new,
            Some(4096),
        )
        .unwrap();
        fw.deltas.push(DeltaSource::from_patch(
            v(1),
            &old,
            &patch,
            DeltaAlgorithm::OtaDelta,
        ));
        let mut files = HashMap::new();
        files.insert(fw.deltas[0].patch_sha256.0, patch.clone());
        files.insert(fw.sha256.0, new.clone());
        let m = Manifest {
            name: "release".into(),
            version: v(2),
            sequence: 2,
            security_counter: 1,
            issued_at: NOW - 10,
            expires_at: Some(NOW + 86_400),
            notes_uri: None,
            support_ends_at: None,
            max_security_deferral: None,
            compatibility: Compatibility {
                vendor: did("acme"),
                classes: vec![did("sensor")],
                hardware: vec!["rev1".into()],
                hardware_ranges: vec![],
            },
            components: vec![fw],
            extensions: Extensions::new(),
        };
        let sign = SignOptions {
            sequence: Some(2),
            expires: Some(NOW + 86_400),
            ..Default::default()
        };
        let signed = ota_verify::sign(&m.to_cbor().unwrap(), &[&key], &sign).unwrap();
        Fixture {
            name: name.to_owned(),
            root,
            old,
            new,
            patch,
            files,
            signed,
        }
    }

    pub fn release(&self) -> Release {
        self.release_for(ota_manifest::Sha256::of(&self.old))
    }

    /// The release as a device whose installed image is not the delta's source sees it: the
    /// plan downloads the full image (in the manifest's 4 KiB chunks).
    pub fn release_full(&self) -> Release {
        self.release_for(ota_manifest::Sha256([0x5A; 32]))
    }

    fn release_for(&self, installed: ota_manifest::Sha256) -> Release {
        let state = DeviceState {
            vendor: did("acme"),
            class: did("sensor"),
            hardware: "rev1".into(),
            installed: vec![Installed {
                id: "firmware".into(),
                version: Version::new(1, 0, 0),
                sha256: installed,
            }],
            security_counter: 0,
            last_sequence: None,
            now: NOW,
            active_slot: Slot::A,
        };
        Release::verify(&self.root, &self.signed, &state).unwrap()
    }
}

/// A code-like synthetic firmware of `len` bytes and a next version with a few edits and a
/// block of new code (the shape of the demo's images).
pub fn synthetic(len: usize) -> (Vec<u8>, Vec<u8>) {
    let mut x = 0x9E37_79B9u32;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let old: Vec<u8> = (0..len)
        .map(|i| {
            if i % 97 < 80 {
                (i % 61) as u8 + 32
            } else {
                rnd() as u8
            }
        })
        .collect();
    let mut new = old.clone();
    for i in (0..len).step_by(701) {
        new[i] = new[i].wrapping_add(3);
    }
    let at = len / 3;
    let block: Vec<u8> = (0..len / 16).map(|_| rnd() as u8).collect();
    new.splice(at..at, block);
    new.truncate(len);
    (old, new)
}

/// The corpus pair `name` (`../shared/corpus/data/NAME/{old,new}`), if present.
pub fn corpus(name: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/data")
        .join(name);
    Some((
        std::fs::read(dir.join("old")).ok()?,
        std::fs::read(dir.join("new")).ok()?,
    ))
}

/// Serves the fixture's files from memory.
pub struct MemFetch<'a> {
    pub files: &'a HashMap<[u8; 32], Vec<u8>>,
    /// Every fetch fails (the network is not up yet).
    pub offline: bool,
}

impl Fetch for MemFetch<'_> {
    fn fetch(
        &mut self,
        what: &Resource<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, FetchError> {
        if self.offline {
            return Err(FetchError::ConnectionLost("offline".into()));
        }
        let f = self
            .files
            .get(what.digest())
            .ok_or_else(|| FetchError::NotFound("bench".into()))?;
        let start = usize::try_from(offset).unwrap().min(f.len());
        let n = buf.len().min(f.len() - start);
        buf[..n].copy_from_slice(&f[start..start + n]);
        Ok(n)
    }
}

pub struct Check(pub bool);

impl HealthCheck for Check {
    fn check(&mut self, _deadline_ms: u64) -> Health {
        if self.0 {
            Health::Pass
        } else {
            Health::Fail("bench: unhealthy".into())
        }
    }
}

pub struct Frozen;

impl Clock for Frozen {
    fn now_ms(&self) -> u64 {
        0
    }
}
