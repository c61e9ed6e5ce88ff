//! Fixture repositories built at test time with tough's editor and keys generated here.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::Ed25519KeyPair;
use jiff::{SignedDuration, Timestamp};
use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{Compatibility, Component, DeviceId, Extensions, Layer, Manifest};
use ota_tuf::{Limits, Location, Repository};
use ota_verify::{Role, SecretKey, SignOptions, TrustRoot};
use tough::TargetName;
use tough::editor::RepositoryEditor;
use tough::editor::signed::SignedRole;
use tough::key_source::{KeySource, LocalKeySource};
use tough::schema::{KeyHolder, RoleKeys, RoleType, Root};

/// The ota side's clock (ota-verify takes time as an argument; TUF uses the system clock).
pub const NOW: u64 = 1_800_000_000;

pub fn in_days(days: i64) -> Timestamp {
    Timestamp::now()
        .checked_add(SignedDuration::from_hours(24 * days))
        .unwrap()
}

/// A fresh Ed25519 key as a PKCS#8 file, the form tough's `LocalKeySource` reads.
pub fn new_key(dir: &Path, name: &str) -> PathBuf {
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, doc.as_ref()).unwrap();
    path
}

pub fn source(path: &Path) -> Box<dyn KeySource> {
    Box::new(LocalKeySource {
        path: path.to_path_buf(),
    })
}

/// A root of `version` giving every top-level role to `keys` with `threshold`.
pub async fn make_root(version: u64, keys: &[&Path], threshold: u64) -> Root {
    let mut root = Root {
        spec_version: "1.0.0".into(),
        consistent_snapshot: false,
        version: NonZeroU64::new(version).unwrap(),
        expires: in_days(365),
        keys: HashMap::new(),
        roles: HashMap::new(),
        _extra: HashMap::new(),
    };
    let mut ids = Vec::new();
    for k in keys {
        let key = source(k).as_sign().await.unwrap().tuf_key();
        let id = key.key_id().unwrap();
        root.keys.insert(id.clone(), key);
        ids.push(id);
    }
    for role in [
        RoleType::Root,
        RoleType::Snapshot,
        RoleType::Targets,
        RoleType::Timestamp,
    ] {
        root.roles.insert(
            role,
            RoleKeys {
                keyids: ids.clone(),
                threshold: NonZeroU64::new(threshold).unwrap(),
                _extra: HashMap::new(),
            },
        );
    }
    root
}

/// `root` signed by the keys of `signer_root`'s root role found in `keys` (the bytes of
/// `N.root.json`).
pub async fn sign_root(root: &Root, signer_root: &Root, keys: &[&Path]) -> Vec<u8> {
    let sources: Vec<_> = keys.iter().map(|k| source(k)).collect();
    SignedRole::new(
        root.clone(),
        &KeyHolder::Root(signer_root.clone()),
        &sources,
        &SystemRandom::new(),
    )
    .await
    .unwrap()
    .buffer()
    .clone()
}

/// A root rotated to `new` and cross-signed by the previous root's keys and the new ones.
pub async fn sign_rotation(
    new: &Root,
    old: &Root,
    old_keys: &[&Path],
    new_keys: &[&Path],
) -> Vec<u8> {
    let sources_new: Vec<_> = new_keys.iter().map(|k| source(k)).collect();
    let sources_old: Vec<_> = old_keys.iter().map(|k| source(k)).collect();
    let rng = SystemRandom::new();
    let by_old = SignedRole::new(
        new.clone(),
        &KeyHolder::Root(old.clone()),
        &sources_old,
        &rng,
    )
    .await
    .unwrap();
    SignedRole::new(
        new.clone(),
        &KeyHolder::Root(new.clone()),
        &sources_new,
        &rng,
    )
    .await
    .unwrap()
    .add_old_signatures(by_old.signed().signatures.clone())
    .unwrap()
    .buffer()
    .clone()
}

/// One TUF repository on disk, a device's datastore, and an ota release key.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub metadata: PathBuf,
    pub targets: PathBuf,
    pub datastore: PathBuf,
    pub tuf_key: PathBuf,
    /// The root file the editor signs with (the newest `N.root.json`).
    pub root_file: PathBuf,
    /// What the device ships: `1.root.json`.
    pub trusted_root: Vec<u8>,
    pub ota_key: SecretKey,
    pub ota_root: TrustRoot,
}

pub struct Publish<'a> {
    pub version: u64,
    pub snapshot_version: u64,
    pub timestamp_expires: Timestamp,
    pub files: &'a [(String, Vec<u8>)],
}

impl<'a> Publish<'a> {
    pub fn new(version: u64, files: &'a [(String, Vec<u8>)]) -> Self {
        Publish {
            version,
            snapshot_version: version,
            timestamp_expires: in_days(1),
            files,
        }
    }
}

impl Fixture {
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let metadata = dir.path().join("metadata");
        let targets = dir.path().join("targets");
        let datastore = dir.path().join("datastore");
        let keys = dir.path().join("keys");
        for d in [&metadata, &targets, &datastore, &keys] {
            std::fs::create_dir_all(d).unwrap();
        }
        let tuf_key = new_key(&keys, "root-1.pk8");
        let root = make_root(1, &[&tuf_key], 1).await;
        let trusted_root = sign_root(&root, &root, &[&tuf_key]).await;
        let root_file = metadata.join("1.root.json");
        std::fs::write(&root_file, &trusted_root).unwrap();
        let ota_key = SecretKey::from_seed(&[7; 32]);
        let ota_root = TrustRoot::builder(1, NOW + 10 * 365 * 86_400)
            .role(Role::ROOT, 1, &[ota_key.public_key()])
            .role(Role::RELEASE, 1, &[ota_key.public_key()])
            .build()
            .unwrap();
        Fixture {
            dir,
            metadata,
            targets,
            datastore,
            tuf_key,
            root_file,
            trusted_root,
            ota_key,
            ota_root,
        }
    }

    /// Signs and writes the repository's timestamp, snapshot and targets with `self.tuf_key`.
    pub async fn publish(&self, p: &Publish<'_>) {
        let mut ed = RepositoryEditor::new(&self.root_file).await.unwrap();
        let v = |n| NonZeroU64::new(n).unwrap();
        ed.snapshot_version(v(p.snapshot_version))
            .snapshot_expires(in_days(30))
            .timestamp_version(v(p.version))
            .timestamp_expires(p.timestamp_expires);
        ed.targets_version(v(p.version))
            .unwrap()
            .targets_expires(in_days(30))
            .unwrap();
        for (name, bytes) in p.files {
            let path = self.targets.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
            let (_, target) = RepositoryEditor::build_target(&path).await.unwrap();
            ed.add_target(TargetName::new(name.as_str()).unwrap(), target)
                .unwrap();
        }
        let signed = ed.sign(&[source(&self.tuf_key)]).await.unwrap();
        signed.write(&self.metadata).await.unwrap();
    }

    pub fn location(&self) -> Location<'_> {
        Location {
            metadata: &self.metadata,
            targets: &self.targets,
            datastore: &self.datastore,
        }
    }

    pub fn load(&self) -> ota_tuf::Result<Repository> {
        Repository::load(&self.trusted_root, &self.location(), &Limits::default())
    }
}

/// The image of component `app` in a release of `sequence`.
pub fn image(sequence: u64) -> Vec<u8> {
    (0..4000u32)
        .map(|i| (i.wrapping_mul(31) ^ sequence as u32) as u8)
        .collect()
}

/// An ota release of one component, signed with `key`: the targets of `name`.
pub fn release_files(name: &str, sequence: u64, key: &SecretKey) -> Vec<(String, Vec<u8>)> {
    let img = image(sequence);
    let v = Version::new(sequence, 0, 0);
    let app = Component::from_image(
        "app",
        Layer::Application,
        v.clone(),
        VersionReq::STAR,
        &img,
        None,
    )
    .unwrap();
    let m = Manifest {
        name: name.into(),
        version: v,
        sequence,
        security_counter: 0,
        issued_at: NOW - 10,
        expires_at: Some(NOW + 86_400),
        notes_uri: None,
        support_ends_at: None,
        max_security_deferral: None,
        compatibility: Compatibility {
            vendor: DeviceId::new(b"acme").unwrap(),
            classes: vec![DeviceId::new(b"sensor").unwrap()],
            hardware: vec!["rev1".into()],
            hardware_ranges: vec![],
        },
        components: vec![app],
        extensions: Extensions::new(),
    };
    let opts = SignOptions {
        sequence: Some(sequence),
        expires: Some(NOW + 86_400),
        ..Default::default()
    };
    let envelope = ota_verify::sign(&m.to_cbor().unwrap(), &[key], &opts).unwrap();
    vec![
        (ota_tuf::envelope_target(name).unwrap(), envelope),
        (ota_tuf::component_target(name, "app").unwrap(), img),
    ]
}
