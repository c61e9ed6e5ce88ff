//! The structural check every way in and out goes through: what the decoder refuses, checked
//! on a model built in code or read from JSON, without encoding it.

use semver::{Version, VersionReq};

use crate::cbor::Reader;
use crate::error::{DecodeError, Error, Limit, Result};
use crate::limits::Limits;
use crate::model::{Component, Extensions, Manifest};
use crate::schema::{COMPONENT_EXT_DEPTH, RELEASE_EXT_DEPTH};

/// [`check_structure`] and the size limit of the canonical encoding (counted, not written):
/// whatever passes has a canonical CBOR form that [`Manifest::from_cbor_with`] accepts.
pub(crate) fn check(m: &Manifest, limits: &Limits) -> Result<()> {
    check_structure(m, limits)?;
    crate::encode::check_size(crate::encode::encoded_len(m), limits)
}

fn field(name: &str, kind: DecodeError) -> Error {
    Error::Field {
        field: name.to_owned(),
        kind,
    }
}

fn count(name: &str, limit: Limit, n: usize, max: usize) -> Result<()> {
    if n > max {
        return Err(Error::LimitExceeded {
            offset: None,
            field: name.to_owned(),
            limit,
            count: n as u64,
            max: max as u64,
        });
    }
    Ok(())
}

fn text(name: &str, s: &str, limits: &Limits, non_empty: bool) -> Result<()> {
    count(name, Limit::StringBytes, s.len(), limits.max_string_bytes)?;
    if non_empty && s.is_empty() {
        return Err(field(name, DecodeError::BadLength(0)));
    }
    Ok(())
}

fn version(name: &str, v: &Version, limits: &Limits) -> Result<()> {
    let s = v.to_string();
    text(name, &s, limits, true)?;
    match Version::parse(&s) {
        Ok(p) if p == *v => Ok(()),
        _ => Err(field(
            name,
            DecodeError::NonCanonical("version does not survive printing"),
        )),
    }
}

fn req(name: &str, r: &VersionReq, limits: &Limits) -> Result<()> {
    let s = r.to_string();
    text(name, &s, limits, true)?;
    match VersionReq::parse(&s) {
        Ok(p) if p == *r => Ok(()),
        _ => Err(field(
            name,
            DecodeError::NonCanonical("requirement does not survive printing"),
        )),
    }
}

fn extensions(name: &str, ext: &Extensions, depth: usize, limits: &Limits) -> Result<()> {
    count(name, Limit::Extensions, ext.len(), limits.max_extensions)?;
    for (k, v) in ext {
        let here = || format!("{name}[{k}]");
        if *k >= 0 {
            return Err(field(
                &here(),
                DecodeError::OutOfRange("extension keys are negative"),
            ));
        }
        let mut r = Reader::new(v.as_cbor(), limits);
        r.skip_item(depth)
            .and_then(|_| r.finish())
            .map_err(|e| e.in_field(&here()))?;
    }
    Ok(())
}

/// Checks everything the decoder checks that a model built in code (or read from JSON) could get
/// wrong, so that `encode` never writes bytes `decode` would reject and `decode(encode(m)) == m`.
pub(crate) fn check_structure(m: &Manifest, limits: &Limits) -> Result<()> {
    text("name", &m.name, limits, true)?;
    version("version", &m.version, limits)?;
    if let Some(u) = &m.notes_uri {
        text("notes_uri", u, limits, false)?;
    }
    let c = &m.compatibility;
    count(
        "compatibility.classes",
        Limit::Classes,
        c.classes.len(),
        limits.max_classes,
    )?;
    if c.classes.is_empty() {
        return Err(field(
            "compatibility.classes",
            DecodeError::OutOfRange("empty list"),
        ));
    }
    count(
        "compatibility.hardware",
        Limit::HardwareRevisions,
        c.hardware.len(),
        limits.max_hardware,
    )?;
    for h in &c.hardware {
        text("compatibility.hardware", h, limits, false)?;
    }
    count(
        "compatibility.hardware_ranges",
        Limit::HardwareRevisions,
        c.hardware_ranges.len(),
        limits.max_hardware,
    )?;
    for r in &c.hardware_ranges {
        req("compatibility.hardware_ranges", r, limits)?;
    }
    count(
        "components",
        Limit::Components,
        m.components.len(),
        limits.max_components,
    )?;
    if m.components.is_empty() {
        return Err(field("components", DecodeError::OutOfRange("empty list")));
    }
    for (i, comp) in m.components.iter().enumerate() {
        check_component(comp, limits).map_err(|e| e.in_field(&format!("components[{i}]")))?;
    }
    extensions("extensions", &m.extensions, RELEASE_EXT_DEPTH, limits)
}

fn check_component(c: &Component, limits: &Limits) -> Result<()> {
    text("id", &c.id, limits, true)?;
    if crate::model::Layer::from_code(c.layer.code()) != Some(c.layer) {
        return Err(field("layer", DecodeError::OutOfRange("reserved layer")));
    }
    version("version", &c.version, limits)?;
    req("upgrade_from", &c.upgrade_from, limits)?;
    if let Some(ch) = &c.chunks {
        count("chunks", Limit::Chunks, ch.sha256.len(), limits.max_chunks)?;
    }
    count(
        "deltas",
        Limit::DeltaSources,
        c.deltas.len(),
        limits.max_deltas,
    )?;
    for (i, d) in c.deltas.iter().enumerate() {
        version(
            &format!("deltas[{i}].from_version"),
            &d.from_version,
            limits,
        )?;
        if crate::model::DeltaAlgorithm::from_code(d.algorithm.code()) != Some(d.algorithm) {
            return Err(field(
                &format!("deltas[{i}].algorithm"),
                DecodeError::OutOfRange("reserved algorithm"),
            ));
        }
    }
    count(
        "dependencies",
        Limit::Dependencies,
        c.dependencies.len(),
        limits.max_dependencies,
    )?;
    for (i, d) in c.dependencies.iter().enumerate() {
        text(&format!("dependencies[{i}].id"), &d.id, limits, true)?;
        req(&format!("dependencies[{i}].req"), &d.req, limits)?;
    }
    if let Some(s) = &c.sbom {
        // A name is checked when it is made (private field); only the length limit is left.
        if let crate::sbom::SbomFormat::Named(n) = &s.format {
            text("sbom.format", n.as_str(), limits, true)?;
        }
        text("sbom.uri", &s.uri, limits, false)?;
    }
    count("cves", Limit::Cves, c.cves.len(), limits.max_cves)?;
    count("uris", Limit::Uris, c.uris.len(), limits.max_uris)?;
    for u in &c.uris {
        text("uris", u, limits, false)?;
    }
    if let Some(i) = &c.image {
        text("image", i, limits, false)?;
    }
    extensions("extensions", &c.extensions, COMPONENT_EXT_DEPTH, limits)
}
