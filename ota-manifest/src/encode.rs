//! Manifest -> canonical CBOR, and the structural check every way in and out goes through.

use semver::{Version, VersionReq};

use crate::cbor::{Reader, Writer};
use crate::error::{DecodeError, Error, Limit, Result};
use crate::limits::Limits;
use crate::model::{Component, Extensions, Manifest};

/// Field keys of the release map (FORMAT.md).
pub(crate) mod key {
    pub const FORMAT: u64 = 0;
    pub const NAME: u64 = 1;
    pub const VERSION: u64 = 2;
    pub const SEQUENCE: u64 = 3;
    pub const SECURITY_COUNTER: u64 = 4;
    pub const ISSUED_AT: u64 = 5;
    pub const EXPIRES_AT: u64 = 6;
    pub const NOTES_URI: u64 = 7;
    pub const VENDOR: u64 = 8;
    pub const CLASSES: u64 = 9;
    pub const HARDWARE: u64 = 10;
    pub const HARDWARE_RANGES: u64 = 11;
    pub const COMPONENTS: u64 = 12;
}

/// Field keys of the component map (FORMAT.md).
pub(crate) mod ckey {
    pub const ID: u64 = 0;
    pub const LAYER: u64 = 1;
    pub const VERSION: u64 = 2;
    pub const UPGRADE_FROM: u64 = 3;
    pub const SIZE: u64 = 4;
    pub const SHA256: u64 = 5;
    pub const CHUNK_SIZE: u64 = 6;
    pub const CHUNK_SHA256: u64 = 7;
    pub const DELTAS: u64 = 8;
    pub const DEPENDENCIES: u64 = 9;
    pub const ORDER: u64 = 10;
    pub const SBOM: u64 = 11;
    pub const URIS: u64 = 12;
    pub const IMAGE: u64 = 13;
}

/// Depth of the values of top-level extensions (the release map is depth 1).
pub(crate) const RELEASE_EXT_DEPTH: usize = 2;
/// Depth of component extension values: release map, components array, component map, value.
pub(crate) const COMPONENT_EXT_DEPTH: usize = 4;

/// Encodes after [`check_structure`]; the result is also checked against `max_cbor_bytes`.
pub(crate) fn to_cbor(m: &Manifest, limits: &Limits) -> Result<Vec<u8>> {
    check_structure(m, limits)?;
    let mut w = Writer::new();
    write_manifest(&mut w, m);
    if w.0.len() > limits.max_cbor_bytes {
        return Err(Error::TooLarge {
            size: w.0.len(),
            max: limits.max_cbor_bytes,
        });
    }
    Ok(w.0)
}

fn write_extensions(w: &mut Writer, ext: &Extensions) {
    // Canonical order of negative keys is -1, -2, ...: descending i64.
    for (k, v) in ext.iter().rev() {
        w.int(*k);
        w.raw(v.as_cbor());
    }
}

fn write_manifest(w: &mut Writer, m: &Manifest) {
    let c = &m.compatibility;
    // Always written: format, name, version, sequence, counter, issued at, vendor, classes,
    // components.
    let n = 9
        + usize::from(m.expires_at.is_some())
        + usize::from(m.notes_uri.is_some())
        + usize::from(!c.hardware.is_empty())
        + usize::from(!c.hardware_ranges.is_empty())
        + m.extensions.len();
    w.map(n);
    w.uint(key::FORMAT);
    w.uint(u64::from(crate::FORMAT_VERSION));
    w.uint(key::NAME);
    w.text(&m.name);
    w.uint(key::VERSION);
    w.text(&m.version.to_string());
    w.uint(key::SEQUENCE);
    w.uint(m.sequence);
    w.uint(key::SECURITY_COUNTER);
    w.uint(m.security_counter);
    w.uint(key::ISSUED_AT);
    w.uint(m.issued_at);
    if let Some(e) = m.expires_at {
        w.uint(key::EXPIRES_AT);
        w.uint(e);
    }
    if let Some(u) = &m.notes_uri {
        w.uint(key::NOTES_URI);
        w.text(u);
    }
    w.uint(key::VENDOR);
    w.bytes(c.vendor.as_bytes());
    w.uint(key::CLASSES);
    w.array(c.classes.len());
    for class in &c.classes {
        w.bytes(class.as_bytes());
    }
    if !c.hardware.is_empty() {
        w.uint(key::HARDWARE);
        w.array(c.hardware.len());
        for h in &c.hardware {
            w.text(h);
        }
    }
    if !c.hardware_ranges.is_empty() {
        w.uint(key::HARDWARE_RANGES);
        w.array(c.hardware_ranges.len());
        for r in &c.hardware_ranges {
            w.text(&r.to_string());
        }
    }
    w.uint(key::COMPONENTS);
    w.array(m.components.len());
    for comp in &m.components {
        write_component(w, comp);
    }
    write_extensions(w, &m.extensions);
}

fn write_component(w: &mut Writer, c: &Component) {
    let n = 6
        + 2 * usize::from(c.chunks.is_some())
        + usize::from(!c.deltas.is_empty())
        + usize::from(!c.dependencies.is_empty())
        + usize::from(c.order != 0)
        + usize::from(c.sbom.is_some())
        + usize::from(!c.uris.is_empty())
        + usize::from(c.image.is_some())
        + c.extensions.len();
    w.map(n);
    w.uint(ckey::ID);
    w.text(&c.id);
    w.uint(ckey::LAYER);
    w.uint(u64::from(c.layer.code()));
    w.uint(ckey::VERSION);
    w.text(&c.version.to_string());
    w.uint(ckey::UPGRADE_FROM);
    w.text(&c.upgrade_from.to_string());
    w.uint(ckey::SIZE);
    w.uint(c.size);
    w.uint(ckey::SHA256);
    w.bytes(c.sha256.as_bytes());
    if let Some(ch) = &c.chunks {
        w.uint(ckey::CHUNK_SIZE);
        w.uint(u64::from(ch.chunk_size));
        w.uint(ckey::CHUNK_SHA256);
        let mut all = Vec::with_capacity(ch.sha256.len() * 32);
        for d in &ch.sha256 {
            all.extend_from_slice(d.as_bytes());
        }
        w.bytes(&all);
    }
    if !c.deltas.is_empty() {
        w.uint(ckey::DELTAS);
        w.array(c.deltas.len());
        for d in &c.deltas {
            w.array(5);
            w.text(&d.from_version.to_string());
            w.bytes(d.from_sha256.as_bytes());
            w.uint(d.patch_size);
            w.bytes(d.patch_sha256.as_bytes());
            w.uint(u64::from(d.algorithm.code()));
        }
    }
    if !c.dependencies.is_empty() {
        w.uint(ckey::DEPENDENCIES);
        w.array(c.dependencies.len());
        for d in &c.dependencies {
            w.array(2);
            w.text(&d.id);
            w.text(&d.req.to_string());
        }
    }
    if c.order != 0 {
        w.uint(ckey::ORDER);
        w.uint(u64::from(c.order));
    }
    if let Some(s) = &c.sbom {
        w.uint(ckey::SBOM);
        w.array(3);
        w.uint(u64::from(s.format.code()));
        w.bytes(s.sha256.as_bytes());
        w.text(&s.uri);
    }
    if !c.uris.is_empty() {
        w.uint(ckey::URIS);
        w.array(c.uris.len());
        for u in &c.uris {
            w.text(u);
        }
    }
    if let Some(i) = &c.image {
        w.uint(ckey::IMAGE);
        w.text(i);
    }
    write_extensions(w, &c.extensions);
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
        text("sbom.uri", &s.uri, limits, false)?;
    }
    count("uris", Limit::Uris, c.uris.len(), limits.max_uris)?;
    for u in &c.uris {
        text("uris", u, limits, false)?;
    }
    if let Some(i) = &c.image {
        text("image", i, limits, false)?;
    }
    extensions("extensions", &c.extensions, COMPONENT_EXT_DEPTH, limits)
}
