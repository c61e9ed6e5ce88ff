//! The vendor's release pipeline: keys and a trust root (ota-verify), manifests with hardware
//! compatibility, upgrade paths and delta sources (ota-manifest), patches (ota-delta), signed.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Arc;

use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{
    Compatibility, Component, DeltaAlgorithm, DeltaSource, Dependency, DeviceId, Extensions, Layer,
    Manifest,
};
use ota_verify::{Role, SecretKey, SignOptions, TrustRoot};

use crate::fleet::Installed;
use crate::rng::Rng;

/// Errors of the pipeline (building a release cannot fail on good inputs; any error is a bug or
/// an API change worth showing whole).
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The vendor id every device reports.
pub const VENDOR: &[u8] = b"acme-iot";
/// The device class id every device reports.
pub const CLASS: &[u8] = b"env-sensor";
/// Target bytes per patch frame: the most a device must hold of the new image at once, and the
/// most work an interrupted apply loses.
pub const FRAME_SIZE: u32 = 8 * 1024;
/// Bytes per chunk of a full image (each with its own SHA-256 in the manifest).
pub const CHUNK_SIZE: u32 = 8 * 1024;
/// How long a release stays valid after it is issued.
pub const RELEASE_LIFETIME: u64 = 30 * 86_400;

/// The vendor's keys and the trust root devices ship with.
///
/// The keys come from fixed seeds derived from `--seed`, so that the demo is reproducible: a real
/// pipeline takes 32 bytes from a CSPRNG or keeps the keys in an HSM (ota-verify's `Signer`).
pub struct Vendor {
    root_keys: Vec<SecretKey>,
    release_keys: Vec<SecretKey>,
    /// The trust root as devices decoded it from the signed document.
    pub trust_root: TrustRoot,
    /// The signed trust root (COSE_Sign, canonical CBOR) shipped in every device image.
    pub signed_root: Vec<u8>,
}

impl core::fmt::Debug for Vendor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Vendor")
            .field("trust_root", &self.trust_root)
            .finish_non_exhaustive()
    }
}

impl Vendor {
    /// Three root keys (any two rotate the trust root) and three release keys (any two sign a
    /// release), a trust root valid for ten years from `now`.
    ///
    /// # Errors
    /// Whatever ota-verify refuses (nothing, for these inputs).
    pub fn new(seed: u64, now: u64) -> Result<Vendor, BoxError> {
        let mut rng = Rng::stream(seed, "keys");
        let mut key = || {
            let mut s = [0u8; 32];
            rng.fill(&mut s);
            SecretKey::from_seed(&s)
        };
        let root_keys: Vec<SecretKey> = (0..3).map(|_| key()).collect();
        let release_keys: Vec<SecretKey> = (0..3).map(|_| key()).collect();
        let public =
            |keys: &[SecretKey]| keys.iter().map(SecretKey::public_key).collect::<Vec<_>>();
        let root = TrustRoot::builder(1, now + 10 * 365 * 86_400)
            .role(Role::ROOT, 2, &public(&root_keys))
            .role(Role::RELEASE, 2, &public(&release_keys))
            .build()?;
        let signed_root = root.sign(&[&root_keys[0], &root_keys[1]])?;
        let trust_root = TrustRoot::from_signed(&signed_root)?;
        Ok(Vendor {
            root_keys,
            release_keys,
            trust_root,
            signed_root,
        })
    }

    /// Number of root keys (for the report).
    pub fn root_key_count(&self) -> usize {
        self.root_keys.len()
    }

    /// Signs manifest bytes with two of the three release keys.
    ///
    /// # Errors
    /// Whatever ota-verify refuses.
    pub fn sign_release(
        &self,
        manifest_cbor: &[u8],
        sequence: u64,
        expires: u64,
    ) -> Result<Vec<u8>, BoxError> {
        let opts = SignOptions {
            sequence: Some(sequence),
            expires: Some(expires),
            ..Default::default()
        };
        Ok(ota_verify::sign(
            manifest_cbor,
            &[&self.release_keys[0], &self.release_keys[2]],
            &opts,
        )?)
    }
}

/// What goes into one component of a release.
#[derive(Debug, Clone)]
pub struct ComponentSpec {
    /// Component id (`firmware`, `app`, `model`).
    pub id: &'static str,
    /// Layer.
    pub layer: Layer,
    /// The new image.
    pub image: Installed,
    /// Installed versions that may upgrade.
    pub upgrade_from: VersionReq,
    /// Images to make deltas from (the versions common in the field).
    pub delta_from: Vec<Installed>,
    /// Dependencies on other components.
    pub dependencies: Vec<(&'static str, VersionReq)>,
    /// Install order.
    pub order: u32,
}

/// Sizes of one patch, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchInfo {
    /// Component id.
    pub component: &'static str,
    /// Source version.
    pub from: Version,
    /// Target version.
    pub to: Version,
    /// Patch bytes.
    pub patch_size: u64,
    /// Full image bytes.
    pub full_size: u64,
}

/// A built, signed release and the files a CDN would serve for it.
#[derive(Debug, Clone)]
pub struct Release {
    /// Short name for the report.
    pub name: String,
    /// The manifest (as the server built it).
    pub manifest: Manifest,
    /// Canonical CBOR of the manifest.
    pub manifest_cbor: Vec<u8>,
    /// The signed envelope devices download.
    pub signed: Vec<u8>,
    /// Full images by component id.
    pub images: HashMap<String, Arc<[u8]>>,
    /// Patches by (component id, source SHA-256).
    pub patches: HashMap<(String, [u8; 32]), Arc<[u8]>>,
    /// One entry per patch.
    pub patch_info: Vec<PatchInfo>,
}

/// Builds, validates and signs a release.
///
/// # Errors
/// Whatever ota-manifest, ota-delta or ota-verify refuse.
#[allow(clippy::too_many_arguments)]
pub fn build(
    vendor: &Vendor,
    name: &str,
    version: Version,
    sequence: u64,
    hardware: &[&str],
    components: &[ComponentSpec],
    issued_at: u64,
) -> Result<Release, BoxError> {
    let mut images = HashMap::new();
    let mut patches = HashMap::new();
    let mut patch_info = Vec::new();
    let mut comps = Vec::new();
    for spec in components {
        let image = &spec.image.bytes;
        let mut c = Component::from_image(
            spec.id,
            spec.layer,
            spec.image.version.clone(),
            spec.upgrade_from.clone(),
            image,
            Some(CHUNK_SIZE),
        )?;
        c.order = spec.order;
        c.dependencies = spec
            .dependencies
            .iter()
            .map(|(id, req)| Dependency {
                id: (*id).to_owned(),
                req: req.clone(),
            })
            .collect();
        c.uris = vec![format!(
            "https://updates.example.invalid/{}/{}",
            spec.id, spec.image.version
        )];
        for src in &spec.delta_from {
            let opts = ota_delta::DiffOptions {
                frame_size: FRAME_SIZE,
                ..Default::default()
            };
            let patch = ota_delta::diff_with(&src.bytes, image, &opts)?;
            c.deltas.push(DeltaSource::from_patch(
                src.version.clone(),
                &src.bytes,
                &patch,
                DeltaAlgorithm::OtaDelta,
            ));
            patch_info.push(PatchInfo {
                component: spec.id,
                from: src.version.clone(),
                to: spec.image.version.clone(),
                patch_size: patch.len() as u64,
                full_size: image.len() as u64,
            });
            patches.insert((spec.id.to_owned(), src.digest), Arc::from(patch));
        }
        images.insert(spec.id.to_owned(), Arc::clone(image));
        comps.push(c);
    }
    let manifest = Manifest {
        name: name.to_owned(),
        version,
        sequence,
        security_counter: 1,
        issued_at,
        expires_at: Some(issued_at + RELEASE_LIFETIME),
        notes_uri: Some(format!("https://updates.example.invalid/notes/{sequence}")),
        support_ends_at: None,
        max_security_deferral: None,
        compatibility: Compatibility {
            vendor: DeviceId::new(VENDOR)?,
            classes: vec![DeviceId::new(CLASS)?],
            hardware: hardware.iter().map(|h| (*h).to_owned()).collect(),
            hardware_ranges: Vec::new(),
        },
        components: comps,
        extensions: Extensions::new(),
    };
    manifest.validate()?;
    let manifest_cbor = manifest.to_cbor()?;
    let signed = vendor.sign_release(&manifest_cbor, sequence, issued_at + RELEASE_LIFETIME)?;
    Ok(Release {
        name: name.to_owned(),
        manifest,
        manifest_cbor,
        signed,
        images,
        patches,
        patch_info,
    })
}
