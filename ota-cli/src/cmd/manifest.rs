//! `ota manifest ...`: release manifests (`ota plan`, the install decision, is in `plan.rs`).

use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::{Args, Subcommand};
use ota_manifest::semver::Version;
use ota_manifest::{Component, DeltaAlgorithm, DeltaSource, Manifest, Sha256};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum ManifestCmd {
    /// Builds a canonical CBOR manifest from its JSON form.
    ///
    /// With --images DIR, a component may name its image file ("image_file": "fw-2.0.bin",
    /// optionally "chunk_size": 65536) and a delta its files ("from_image_file", "patch_file"):
    /// sizes, SHA-256 digests and chunk digests are then filled in from those files in DIR.
    ///
    /// Example: ota manifest build --spec release.json --images out/ --out manifest.cbor
    Build(BuildArgs),
    /// Prints the JSON form of a CBOR manifest or of the manifest inside a signed envelope
    /// (the signature is not checked here: use `ota verify`).
    ///
    /// Example: ota manifest show manifest.cose
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The release in its JSON form.
    #[arg(long)]
    spec: PathBuf,
    /// Where to write the canonical CBOR manifest.
    #[arg(long)]
    out: PathBuf,
    /// Folder of the image and patch files named in the spec.
    #[arg(long)]
    images: Option<PathBuf>,
    /// COMPONENT=FILE: a CycloneDX 1.5 JSON SBOM of the component (validated); its format,
    /// SHA-256 and URI (the file name, or --sbom-uri) go into the manifest. Repeatable.
    #[arg(long, value_name = "COMPONENT=FILE")]
    sbom: Vec<String>,
    /// COMPONENT=URI: where devices and auditors fetch the component's SBOM. Repeatable.
    #[arg(long, value_name = "COMPONENT=URI")]
    sbom_uri: Vec<String>,
    /// COMPONENT=security|feature: the component's update class. Repeatable.
    #[arg(long, value_name = "COMPONENT=CLASS")]
    update_class: Vec<String>,
    /// COMPONENT=CVE-YYYY-NNNN: a CVE id the component's update fixes (makes it a security
    /// update unless --update-class says otherwise, which validation then refuses). Repeatable.
    #[arg(long, value_name = "COMPONENT=CVE")]
    cve: Vec<String>,
    /// End of the support period of the device classes, Unix seconds (UTC): supported before
    /// it, not from it on.
    #[arg(long, value_name = "UNIX_SECONDS")]
    support_ends_at: Option<u64>,
    /// How long devices may postpone the release's security updates after issued_at, seconds.
    #[arg(long, value_name = "SECONDS")]
    max_security_deferral: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A CBOR manifest, a JSON manifest, or a COSE envelope holding one.
    file: PathBuf,
}

pub fn run(cmd: ManifestCmd, out: &Out) -> CmdResult {
    match cmd {
        ManifestCmd::Build(a) => build(&a, out),
        ManifestCmd::Show(a) => show(&a, out),
    }
}

fn take_str(obj: &mut Map<String, Value>, key: &str, spec: &Path) -> CmdResult<Option<String>> {
    match obj.remove(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Fail::in_file(
            spec,
            format!("`{key}` must be a string, found {other}"),
        )),
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> CmdResult<Value> {
    serde_json::to_value(v).map_err(Fail::input)
}

/// Replaces the file references of a spec by the sizes and digests of those files.
fn fill_from_images(spec: &mut Value, dir: &Path, spec_path: &Path) -> CmdResult {
    let Some(components) = spec.get_mut("components").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    for c in components {
        let Some(obj) = c.as_object_mut() else {
            continue;
        };
        let chunk_size = match obj.remove("chunk_size") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| Fail::in_file(spec_path, "`chunk_size` must be a u32"))?,
            ),
        };
        if let Some(file) = take_str(obj, "image_file", spec_path)? {
            let path = dir.join(&file);
            let f = std::fs::File::open(&path).map_err(|e| Fail::in_file(&path, e))?;
            let filled = Component::from_reader(
                "x",
                ota_manifest::Layer::Firmware,
                Version::new(0, 0, 0),
                ota_manifest::semver::VersionReq::STAR,
                std::io::BufReader::new(f),
                chunk_size,
                u64::MAX,
            )
            .map_err(|e| Fail::in_file(&path, e))?;
            obj.insert("size".into(), json!(filled.size));
            obj.insert("sha256".into(), to_value(&filled.sha256)?);
            if let Some(chunks) = &filled.chunks {
                obj.insert("chunks".into(), to_value(chunks)?);
            }
        } else if chunk_size.is_some() {
            return Err(Fail::in_file(spec_path, "`chunk_size` needs `image_file`"));
        }
        if let Some(deltas) = obj.get_mut("deltas").and_then(Value::as_array_mut) {
            for d in deltas {
                let Some(dobj) = d.as_object_mut() else {
                    continue;
                };
                let from_file = take_str(dobj, "from_image_file", spec_path)?;
                let patch_file = take_str(dobj, "patch_file", spec_path)?;
                let (Some(from_file), Some(patch_file)) = (from_file, patch_file) else {
                    continue;
                };
                let (_, from_sha256, _) = digest_file(&dir.join(&from_file))?;
                let (patch_size, patch_sha256, magic) = digest_file(&dir.join(&patch_file))?;
                let algorithm = if magic.starts_with(b"BSDIFF40") {
                    DeltaAlgorithm::Bsdiff40
                } else {
                    DeltaAlgorithm::OtaDelta
                };
                let from_version = dobj
                    .get("from_version")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let from_version = Version::parse(from_version)
                    .map_err(|e| Fail::in_file(spec_path, format!("delta `from_version`: {e}")))?;
                let ds = DeltaSource {
                    from_version,
                    from_sha256,
                    patch_size,
                    patch_sha256,
                    algorithm,
                };
                let filled = to_value(&ds)?;
                if let Value::Object(m) = filled {
                    for (k, v) in m {
                        dobj.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The size, SHA-256 and first 8 bytes of a file, streamed (images may be far larger than
/// memory should hold).
fn digest_file(path: &Path) -> CmdResult<(u64, Sha256, Vec<u8>)> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Fail::in_file(path, e))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    let mut magic = Vec::with_capacity(8);
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Fail::in_file(path, e)),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        if magic.len() < 8 {
            let want = (8 - magic.len()).min(n);
            magic.extend_from_slice(chunk.get(..want).unwrap_or_default());
        }
        hasher.update(chunk);
        size += n as u64;
    }
    Ok((size, Sha256(hasher.finalize().into()), magic))
}

fn build(a: &BuildArgs, out: &Out) -> CmdResult {
    let mut spec: Value = files::read_json_limited(&a.spec, files::RELEASE_SPEC)?;
    if let Some(dir) = &a.images {
        fill_from_images(&mut spec, dir, &a.spec)?;
    }
    let text = spec.to_string();
    let mut manifest = Manifest::from_json(&text).map_err(|e| Fail::in_file(&a.spec, e))?;
    apply_supply_chain(&mut manifest, a)?;
    manifest.validate().map_err(|e| Fail::in_file(&a.spec, e))?;
    let cbor = manifest.to_cbor().map_err(|e| Fail::in_file(&a.spec, e))?;
    files::write_atomic(&a.out, &cbor)?;
    out.result(
        || {
            format!(
                "{}: manifest {} {} (sequence {}), {} component(s), {} bytes of canonical CBOR",
                a.out.display(),
                manifest.name,
                manifest.version,
                manifest.sequence,
                manifest.components.len(),
                cbor.len()
            )
        },
        || {
            json!({"ok": true, "out": a.out, "name": manifest.name, "version": manifest.version.to_string(),
                   "sequence": manifest.sequence, "components": manifest.components.len(),
                   "bytes": cbor.len()})
        },
    );
    Ok(())
}

/// `COMPONENT=VALUE` of a repeatable flag, the component looked up in `m`.
fn component_arg<'m>(
    m: &'m mut Manifest,
    flag: &str,
    arg: &'m str,
) -> CmdResult<(&'m mut ota_manifest::Component, &'m str)> {
    let (id, value) = arg
        .split_once('=')
        .ok_or_else(|| Fail::input(format!("--{flag} `{arg}`: expected COMPONENT=VALUE")))?;
    let comp = m
        .components
        .iter_mut()
        .find(|c| c.id == id)
        .ok_or_else(|| Fail::input(format!("--{flag}: no component `{id}` in the spec")))?;
    Ok((comp, value))
}

/// The SBOM, update class, CVE and support flags of `ota manifest build`, over the spec's own.
fn apply_supply_chain(m: &mut Manifest, a: &BuildArgs) -> CmdResult {
    m.support_ends_at = a.support_ends_at.or(m.support_ends_at);
    m.max_security_deferral = a.max_security_deferral.or(m.max_security_deferral);
    for arg in &a.cve {
        let (comp, cve) = component_arg(m, "cve", arg)?;
        let cve = ota_manifest::CveId::new(cve)
            .map_err(|_| Fail::input(format!("--cve `{cve}`: not a CVE id CVE-YYYY-NNNN")))?;
        comp.cves.push(cve);
        comp.update_class
            .get_or_insert(ota_manifest::UpdateClass::Security);
    }
    for arg in &a.update_class {
        let (comp, class) = component_arg(m, "update-class", arg)?;
        comp.update_class = Some(match class {
            "security" => ota_manifest::UpdateClass::Security,
            "feature" => ota_manifest::UpdateClass::Feature,
            other => {
                return Err(Fail::input(format!(
                    "--update-class `{other}`: expected security or feature"
                )));
            }
        });
    }
    for arg in &a.sbom {
        let (comp, file) = component_arg(m, "sbom", arg)?;
        let path = PathBuf::from(file);
        let bytes = files::read_limited(&path, files::RELEASE_SPEC)?;
        crate::cmd::sbom::check_cyclonedx_1_5(&bytes).map_err(|e| Fail::in_file(&path, e))?;
        let uri = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_owned());
        comp.sbom = Some(ota_manifest::Sbom {
            format: ota_manifest::SbomFormat::cyclonedx_1_5_json(),
            sha256: Sha256::of(&bytes),
            uri,
        });
    }
    for arg in &a.sbom_uri {
        let (comp, uri) = component_arg(m, "sbom-uri", arg)?;
        let sbom = comp.sbom.as_mut().ok_or_else(|| {
            Fail::input(format!(
                "--sbom-uri `{arg}`: the component has no SBOM (give --sbom)"
            ))
        })?;
        sbom.uri = uri.to_owned();
    }
    Ok(())
}

/// A manifest from CBOR, JSON or the payload of a COSE envelope; the flag says whether it came
/// out of an envelope (whose signature this function does not check).
pub(crate) fn load_any(path: &Path) -> CmdResult<(Manifest, bool, Vec<u8>)> {
    let bytes = files::read_limited(path, files::MANIFEST)?;
    if let Ok(m) = Manifest::from_cbor(&bytes) {
        return Ok((m, false, bytes));
    }
    if let Ok(env) = ota_verify::Envelope::decode(&bytes) {
        if let Some(payload) = env.payload() {
            let m = Manifest::from_cbor(payload)
                .map_err(|e| Fail::in_file(path, format!("envelope payload: {e}")))?;
            return Ok((m, true, bytes));
        }
        return Err(Fail::in_file(
            path,
            "detached envelope: the manifest is not inside",
        ));
    }
    if bytes.first().is_some_and(|b| *b == b'{') {
        let text = String::from_utf8_lossy(&bytes);
        let m = Manifest::from_json(&text).map_err(|e| Fail::in_file(path, e))?;
        return Ok((m, false, bytes));
    }
    // Report the CBOR error: it carries the byte offset and the field.
    let err = Manifest::from_cbor(&bytes)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    Err(Fail::in_file(
        path,
        format!("not a manifest, a JSON manifest or a COSE envelope: {err}"),
    ))
}

fn show(a: &ShowArgs, out: &Out) -> CmdResult {
    let (m, enveloped, _) = load_any(&a.file)?;
    let json_text = m.to_json().map_err(|e| Fail::in_file(&a.file, e))?;
    let doc: Value = serde_json::from_str(&json_text).map_err(Fail::input)?;
    if enveloped {
        out.note("note: the envelope's signature was not checked (use `ota verify`)");
    }
    let summary = supply_chain(&m);
    if !out.is_json() {
        // stdout stays the JSON form (for jq); the summary is for people, on stderr.
        for line in summary_lines(&m) {
            out.note(line);
        }
    }
    out.result(
        || serde_json::to_string_pretty(&doc).unwrap_or(json_text.clone()),
        || json!({"ok": true, "signed_envelope": enveloped, "manifest": doc, "supply_chain": summary}),
    );
    Ok(())
}

/// `1924992000` -> `2031-01-01T00:00:00Z` (proleptic Gregorian, UTC).
pub(crate) fn utc(t: u64) -> String {
    let days = i64::try_from(t / 86_400).unwrap_or(i64::MAX / 2);
    let secs = t % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The supply-chain fields, for `--json`.
fn supply_chain(m: &Manifest) -> Value {
    let class = |c: Option<ota_manifest::UpdateClass>| c.map(|c| c.to_string());
    let components: Vec<Value> = m
        .components
        .iter()
        .map(|c| {
            json!({"id": c.id, "update_class": class(c.update_class).unwrap_or_else(|| "unclassified".into()),
                   "cves": c.cves.iter().map(ToString::to_string).collect::<Vec<_>>(),
                   "sbom": c.sbom.as_ref().map(|s| json!({"format": s.format.to_string(),
                        "sha256": s.sha256.to_hex(), "uri": s.uri}))})
        })
        .collect();
    json!({"release_class": class(m.update_class()).unwrap_or_else(|| "unclassified".into()),
           "support_ends_at": m.support_ends_at, "support_ends_at_utc": m.support_ends_at.map(utc),
           "max_security_deferral": m.max_security_deferral, "components": components})
}

/// The supply-chain fields, for people.
fn summary_lines(m: &Manifest) -> Vec<String> {
    let mut lines = Vec::new();
    let class = m
        .update_class()
        .map_or_else(|| "unclassified".to_owned(), |c| c.to_string());
    let support = m
        .support_ends_at
        .map_or_else(|| "not stated".to_owned(), |t| format!("{} ({t})", utc(t)));
    let deferral = m
        .max_security_deferral
        .map_or_else(|| "device policy".to_owned(), |d| format!("{d} s"));
    lines.push(format!(
        "release class: {class}; support ends: {support}; max security deferral: {deferral}"
    ));
    for c in &m.components {
        let mut l = format!(
            "  {}: {}",
            c.id,
            c.update_class
                .map_or_else(|| "unclassified".to_owned(), |u| u.to_string())
        );
        if !c.cves.is_empty() {
            let cves: Vec<String> = c.cves.iter().map(ToString::to_string).collect();
            l.push_str(&format!(", fixes {}", cves.join(" ")));
        }
        if let Some(s) = &c.sbom {
            l.push_str(&format!(
                ", SBOM {} sha256 {} at {}",
                s.format, s.sha256, s.uri
            ));
        }
        lines.push(l);
    }
    lines
}
