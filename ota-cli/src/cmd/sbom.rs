//! `ota sbom ...`: CycloneDX 1.5 JSON SBOMs for the components of a release, written and checked
//! with the CycloneDX project's `cyclonedx-bom` crate, and bound to the manifest by its digest.

use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::{Args, Subcommand};
use cyclonedx_bom::models::component::Classification;
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::hash::{Hash, HashAlgorithm, HashValue, Hashes};
use cyclonedx_bom::models::organization::OrganizationalEntity;
use cyclonedx_bom::models::tool::{Tool, Tools};
use cyclonedx_bom::prelude::*;
use cyclonedx_bom::validation::ValidationErrorsKind;
use ota_manifest::{Layer, Manifest, Sha256};
use serde::Deserialize;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum SbomCmd {
    /// Writes a CycloneDX 1.5 JSON SBOM for one component of a release.
    ///
    /// The SBOM's subject (metadata.component) is the manifest's component: its id, version and
    /// image SHA-256. --meta names the supplier and the top-level dependencies, as JSON:
    /// {"supplier": "Acme Locks", "dependencies": [{"name": "zephyr", "version": "3.7.0",
    /// "supplier": "Zephyr Project", "sha256": "<64 hex digits>", "purl":
    /// "pkg:github/zephyrproject-rtos/zephyr@v3.7.0"}]} (only name and version are required).
    /// The output is deterministic (its serial number is derived from the component), so the
    /// digest that `ota manifest build --sbom` records is reproducible.
    ///
    /// Example: ota sbom write --manifest manifest.cbor --component lock-fw --meta lock-fw.deps.json --out lock-fw.cdx.json
    Write(WriteArgs),
    /// Validates a CycloneDX 1.5 JSON SBOM with the cyclonedx-bom validator and checks it
    /// against the manifest's SBOM reference for the component: its SHA-256 must be the one
    /// the manifest records. Exit 1 when it does not match or does not validate.
    ///
    /// Example: ota sbom validate --manifest manifest.cose --component lock-fw lock-fw.cdx.json
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The manifest: CBOR, JSON, or a signed envelope (not verified here).
    #[arg(long)]
    manifest: PathBuf,
    /// The component's id in the manifest.
    #[arg(long)]
    component: String,
    /// Supplier and top-level dependencies (JSON, see above).
    #[arg(long)]
    meta: Option<PathBuf>,
    /// Where to write the SBOM.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The manifest: CBOR, JSON, or a signed envelope (not verified here: use `ota verify`).
    /// Without it, the SBOM is only validated.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// The component whose SBOM reference to check (needed with --manifest).
    #[arg(long, requires = "manifest")]
    component: Option<String>,
    /// The SBOM (CycloneDX 1.5 JSON).
    file: PathBuf,
}

pub fn run(cmd: SbomCmd, out: &Out) -> CmdResult {
    match cmd {
        SbomCmd::Write(a) => write(&a, out),
        SbomCmd::Validate(a) => validate(&a, out),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    #[serde(default)]
    supplier: Option<String>,
    #[serde(default)]
    dependencies: Vec<DependencyMeta>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DependencyMeta {
    name: String,
    version: String,
    #[serde(default)]
    supplier: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    purl: Option<String>,
}

fn sha256_hashes(hex: &str) -> Hashes {
    Hashes(vec![Hash {
        alg: HashAlgorithm::SHA_256,
        content: HashValue(hex.to_owned()),
    }])
}

/// A UUID-shaped serial number from the first 16 bytes of a digest (version 8, RFC 9562: custom),
/// so the same component always gives the same SBOM bytes.
fn serial(d: &Sha256) -> CmdResult<UrnUuid> {
    let mut b = [0u8; 16];
    b.copy_from_slice(d.as_bytes().get(..16).unwrap_or(&[0; 16]));
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let s = format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    UrnUuid::new(s).map_err(|e| Fail::input(format!("serial number: {e:?}")))
}

fn classification(layer: Layer) -> Classification {
    match layer {
        Layer::Firmware => Classification::Firmware,
        Layer::Application => Classification::Application,
        Layer::Model => Classification::MachineLearningModel,
        Layer::Configuration => Classification::Data,
        _ => Classification::File,
    }
}

/// The validator's findings as `path: message` lines.
fn findings(prefix: &str, result: ValidationResult, lines: &mut Vec<String>) {
    for (name, kind) in result.errors() {
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match kind {
            ValidationErrorsKind::Struct(r) => findings(&path, r, lines),
            ValidationErrorsKind::List(items) => {
                for (i, r) in items {
                    findings(&format!("{path}[{i}]"), r, lines);
                }
            }
            ValidationErrorsKind::Field(es) | ValidationErrorsKind::Custom(es) => {
                lines.extend(es.into_iter().map(|e| format!("{path}: {}", e.message)));
            }
            ValidationErrorsKind::Enum(e) => lines.push(format!("{path}: {}", e.message)),
        }
    }
}

/// Parses `bytes` as CycloneDX 1.5 JSON and runs the crate's validator for spec 1.5 (its
/// `validate()` alone checks against 1.3). `Err` lists what is wrong.
pub fn check_cyclonedx_1_5(bytes: &[u8]) -> Result<Bom, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("bomFormat").and_then(|f| f.as_str()) != Some("CycloneDX") {
        return Err("not a CycloneDX document (bomFormat)".into());
    }
    let spec = v.get("specVersion").and_then(|f| f.as_str()).unwrap_or("");
    if spec != "1.5" {
        return Err(format!("specVersion `{spec}`, expected 1.5"));
    }
    let bom = Bom::parse_from_json_v1_5(bytes).map_err(|e| format!("not CycloneDX 1.5: {e}"))?;
    let result = bom.validate_version(SpecVersion::V1_5);
    if result.passed() {
        return Ok(bom);
    }
    let mut lines = Vec::new();
    findings("", result, &mut lines);
    Err(format!(
        "CycloneDX 1.5 validation failed: {}",
        lines.join("; ")
    ))
}

fn write(a: &WriteArgs, out: &Out) -> CmdResult {
    let (m, _, _) = super::manifest::load_any(&a.manifest)?;
    let comp = m
        .components
        .iter()
        .find(|c| c.id == a.component)
        .ok_or_else(|| {
            Fail::in_file(
                &a.manifest,
                format!("no component `{}` in the manifest", a.component),
            )
        })?;
    let meta: Meta = match &a.meta {
        Some(p) => files::read_json_limited(p, files::RELEASE_SPEC)?,
        None => Meta::default(),
    };
    let version = comp.version.to_string();
    let mut subject = Component::new(
        classification(comp.layer),
        &comp.id,
        &version,
        Some(comp.id.clone()),
    );
    subject.hashes = Some(sha256_hashes(&comp.sha256.to_hex()));
    subject.supplier = meta.supplier.as_deref().map(OrganizationalEntity::new);
    let mut deps = Vec::with_capacity(meta.dependencies.len());
    let mut refs = Vec::with_capacity(meta.dependencies.len());
    for d in &meta.dependencies {
        let bom_ref = format!("{}@{}", d.name, d.version);
        let mut c = Component::new(
            Classification::Library,
            &d.name,
            &d.version,
            Some(bom_ref.clone()),
        );
        c.supplier = d.supplier.as_deref().map(OrganizationalEntity::new);
        if let Some(h) = &d.sha256 {
            let digest = Sha256::from_hex(h).map_err(|e| {
                Fail::in_file(
                    a.meta.as_deref().unwrap_or(Path::new("meta")),
                    format!("dependency `{}` sha256: {e}", d.name),
                )
            })?;
            c.hashes = Some(sha256_hashes(&digest.to_hex()));
        }
        c.purl = d.purl.as_deref().and_then(|p| p.parse::<Purl>().ok());
        deps.push(c);
        refs.push(bom_ref);
    }
    let mut graph = vec![Dependency {
        dependency_ref: comp.id.clone(),
        dependencies: refs.clone(),
    }];
    graph.extend(refs.iter().map(|r| Dependency {
        dependency_ref: r.clone(),
        dependencies: Vec::new(),
    }));
    let bom = Bom {
        spec_version: SpecVersion::V1_5,
        version: 1,
        serial_number: Some(serial(&Sha256::of(
            format!("{}\n{}\n{}", comp.id, version, comp.sha256).as_bytes(),
        ))?),
        metadata: Some(Metadata {
            component: Some(subject),
            supplier: meta.supplier.as_deref().map(OrganizationalEntity::new),
            tools: Some(Tools::List(vec![Tool::new(
                "ota",
                "ota-cli",
                env!("CARGO_PKG_VERSION"),
            )])),
            ..Metadata::default()
        }),
        components: (!deps.is_empty()).then_some(Components(deps)),
        dependencies: Some(Dependencies(graph)),
        ..Bom::default()
    };
    let mut bytes = Vec::new();
    bom.output_as_json_v1_5(&mut bytes)
        .map_err(|e| Fail::input(format!("writing the SBOM: {e}")))?;
    bytes.push(b'\n');
    // What we write must pass the validator we check with.
    check_cyclonedx_1_5(&bytes).map_err(Fail::input)?;
    files::write_atomic(&a.out, &bytes)?;
    let digest = Sha256::of(&bytes);
    out.result(
        || {
            format!(
                "{}: CycloneDX 1.5 SBOM of {} {} ({} top-level dependencies), sha256 {digest}",
                a.out.display(),
                comp.id,
                version,
                meta.dependencies.len()
            )
        },
        || {
            json!({"ok": true, "out": a.out, "component": comp.id, "version": version,
                   "format": ota_manifest::SbomFormatName::CYCLONEDX_1_5_JSON,
                   "dependencies": meta.dependencies.len(), "sha256": digest.to_hex()})
        },
    );
    Ok(())
}

fn validate(a: &ValidateArgs, out: &Out) -> CmdResult {
    let bytes = files::read_limited(&a.file, files::RELEASE_SPEC)?;
    let digest = Sha256::of(&bytes);
    // The binding first: an SBOM that is not the one the manifest names is refused whatever it
    // contains.
    let bound = match &a.manifest {
        None => None,
        Some(mpath) => {
            let id = a
                .component
                .as_deref()
                .ok_or_else(|| Fail::input("--manifest needs --component"))?;
            let (m, _, _) = super::manifest::load_any(mpath)?;
            Some(check_binding(&m, mpath, id, &a.file, &digest)?)
        }
    };
    let bom = check_cyclonedx_1_5(&bytes)
        .map_err(|e| Fail::refused(format!("{}: {e}", a.file.display())))?;
    let subject = bom
        .metadata
        .as_ref()
        .and_then(|m| m.component.as_ref())
        .map(|c| c.name.to_string());
    let count = bom.components.as_ref().map_or(0, |c| c.0.len());
    out.result(
        || {
            let mut t = format!(
                "{}: valid CycloneDX 1.5 ({} components), sha256 {digest}",
                a.file.display(),
                count
            );
            if let Some(id) = &bound {
                t.push_str(&format!(
                    "; matches the manifest's SBOM reference of `{id}`"
                ));
            }
            t
        },
        || {
            json!({"ok": true, "file": a.file, "sha256": digest.to_hex(), "components": count,
                   "subject": subject, "bound_to": bound})
        },
    );
    Ok(())
}

/// The manifest's SBOM reference of `id` must name a CycloneDX SBOM with this digest.
fn check_binding(
    m: &Manifest,
    mpath: &Path,
    id: &str,
    file: &Path,
    digest: &Sha256,
) -> CmdResult<String> {
    let comp = m
        .components
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| Fail::in_file(mpath, format!("no component `{id}` in the manifest")))?;
    let sbom = comp.sbom.as_ref().ok_or_else(|| {
        Fail::refused(format!(
            "{}: component `{id}` has no SBOM reference",
            mpath.display()
        ))
    })?;
    if !sbom.format.is_cyclonedx() {
        return Err(Fail::refused(format!(
            "{}: component `{id}` names a {} SBOM, not CycloneDX",
            mpath.display(),
            sbom.format
        )));
    }
    if sbom.sha256 != *digest {
        return Err(Fail::refused(format!(
            "{}: SHA-256 {digest} does not match the manifest's SBOM reference of `{id}` ({}, {})",
            file.display(),
            sbom.sha256,
            sbom.uri
        )));
    }
    Ok(id.to_owned())
}
