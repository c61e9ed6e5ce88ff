//! Strict canonical CBOR -> manifest: the public decode entry points and the schema reader.
//! Every check happens before anything is allocated for it.

use semver::{Version, VersionReq};

use crate::cbor::{Key, Keys, Reader};
use crate::cra::{CveId, UpdateClass};
use crate::digest::{DeviceId, Sha256};
use crate::error::{DecodeError, Error, Limit, Result};
use crate::limits::Limits;
use crate::model::{
    Chunks, Compatibility, Component, DeltaAlgorithm, DeltaSource, Dependency, Extension,
    Extensions, Layer, Manifest,
};
use crate::sbom::{Sbom, SbomFormat, SbomFormatName};
use crate::schema::{COMPONENT_EXT_DEPTH, RELEASE_EXT_DEPTH, ckey, key};

impl Manifest {
    /// Decodes canonical CBOR strictly, with the default [`Limits`]. This checks the encoding and
    /// the schema, not the release's consistency: see [`Manifest::validate`] (which
    /// [`Manifest::plan`] runs).
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Decode`] (with the byte offset and field path),
    /// [`Error::TooDeep`], [`Error::LimitExceeded`].
    pub fn from_cbor(bytes: &[u8]) -> Result<Self> {
        Self::from_cbor_with(bytes, &Limits::default())
    }

    /// [`Manifest::from_cbor`] with the given limits.
    ///
    /// # Errors
    /// As [`Manifest::from_cbor`].
    pub fn from_cbor_with(bytes: &[u8], limits: &Limits) -> Result<Self> {
        crate::encode::check_size(bytes.len(), limits)?;
        let mut r = Reader::new(bytes, limits);
        let m = read_manifest(&mut r)?;
        r.finish()?;
        Ok(m)
    }
}

fn at(name: &'static str) -> impl Fn(Error) -> Error {
    move |e| e.in_field(name)
}

fn missing(offset: usize, name: &str) -> Error {
    Error::Decode {
        offset,
        field: name.to_owned(),
        kind: DecodeError::MissingField,
    }
}

fn need<T>(v: Option<T>, offset: usize, name: &str) -> Result<T> {
    v.ok_or_else(|| missing(offset, name))
}

fn version(r: &mut Reader<'_>) -> Result<Version> {
    let p = r.pos();
    let s = r.text()?;
    let v = Version::parse(s).map_err(|e| Reader::err(p, DecodeError::BadSemver(e.to_string())))?;
    if v.to_string() != s {
        return Err(Reader::err(
            p,
            DecodeError::NonCanonical("version spelling"),
        ));
    }
    Ok(v)
}

fn requirement(r: &mut Reader<'_>) -> Result<VersionReq> {
    let p = r.pos();
    let s = r.text()?;
    let v =
        VersionReq::parse(s).map_err(|e| Reader::err(p, DecodeError::BadSemver(e.to_string())))?;
    if v.to_string() != s {
        return Err(Reader::err(
            p,
            DecodeError::NonCanonical("version requirement spelling"),
        ));
    }
    Ok(v)
}

fn sha256(r: &mut Reader<'_>) -> Result<Sha256> {
    let (p, b) = r.bytes()?;
    let a = <[u8; 32]>::try_from(b)
        .map_err(|_| Reader::err(p, DecodeError::BadDigestLength(b.len())))?;
    Ok(Sha256(a))
}

fn device_id(r: &mut Reader<'_>) -> Result<DeviceId> {
    let (p, b) = r.bytes()?;
    DeviceId::new(b).map_err(|_| Reader::err(p, DecodeError::BadLength(b.len())))
}

fn non_empty(r: &mut Reader<'_>) -> Result<String> {
    let p = r.pos();
    let s = r.text()?;
    if s.is_empty() {
        return Err(Reader::err(p, DecodeError::BadLength(0)));
    }
    Ok(s.to_owned())
}

fn extension(
    r: &mut Reader<'_>,
    ext: &mut Extensions,
    k: i64,
    kpos: usize,
    depth: usize,
) -> Result<()> {
    if ext.len() >= r.limits.max_extensions {
        return Err(Reader::limit(
            kpos,
            Limit::Extensions,
            ext.len() as u64 + 1,
            r.limits.max_extensions,
        ));
    }
    let v = r
        .skip_item(depth)
        .map_err(|e| e.in_field(&format!("extensions[{k}]")))?;
    ext.insert(k, Extension::from_checked(v));
    Ok(())
}

/// A list of `T` with its own limit; the count is checked before the vector is allocated.
fn list<T>(
    r: &mut Reader<'_>,
    limit: Limit,
    max: usize,
    mut item: impl FnMut(&mut Reader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let n = r.array(limit, max)?;
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        v.push(item(r).map_err(|e| e.in_field(&format!("[{i}]")))?);
    }
    Ok(v)
}

fn read_manifest(r: &mut Reader<'_>) -> Result<Manifest> {
    let (start, n) = r.map()?;
    let mut prev = Keys::new();
    let (mut format, mut name, mut ver, mut seq, mut counter, mut issued) =
        (None, None, None, None, None, None);
    let (mut expires, mut notes, mut vendor, mut classes) = (None, None, None, None);
    let (mut hardware, mut ranges, mut components) = (Vec::new(), Vec::new(), None);
    let (mut support_ends_at, mut max_security_deferral) = (None, None);
    let mut ext = Extensions::new();
    let l = r.limits;
    for _ in 0..n {
        let (kpos, k) = r.key(&mut prev)?;
        match k {
            Key::Field(key::FORMAT) => {
                let p = r.pos();
                let v = r.uint().map_err(at("format"))?;
                if v != u64::from(crate::FORMAT_VERSION) {
                    return Err(
                        Reader::err(p, DecodeError::UnsupportedFormatVersion(v)).in_field("format")
                    );
                }
                format = Some(v);
            }
            Key::Field(key::NAME) => name = Some(non_empty(r).map_err(at("name"))?),
            Key::Field(key::VERSION) => ver = Some(version(r).map_err(at("version"))?),
            Key::Field(key::SEQUENCE) => seq = Some(r.uint().map_err(at("sequence"))?),
            Key::Field(key::SECURITY_COUNTER) => {
                counter = Some(r.uint().map_err(at("security_counter"))?);
            }
            Key::Field(key::ISSUED_AT) => issued = Some(r.uint().map_err(at("issued_at"))?),
            Key::Field(key::EXPIRES_AT) => expires = Some(r.uint().map_err(at("expires_at"))?),
            Key::Field(key::NOTES_URI) => {
                notes = Some(r.text().map_err(at("notes_uri"))?.to_owned());
            }
            Key::Field(key::VENDOR) => {
                vendor = Some(device_id(r).map_err(at("compatibility.vendor"))?);
            }
            Key::Field(key::CLASSES) => {
                classes = Some(
                    list(r, Limit::Classes, l.max_classes, device_id)
                        .map_err(at("compatibility.classes"))?,
                );
            }
            Key::Field(key::HARDWARE) => {
                hardware = list(r, Limit::HardwareRevisions, l.max_hardware, |r| {
                    Ok(r.text()?.to_owned())
                })
                .map_err(at("compatibility.hardware"))?;
            }
            Key::Field(key::HARDWARE_RANGES) => {
                ranges = list(r, Limit::HardwareRevisions, l.max_hardware, requirement)
                    .map_err(at("compatibility.hardware_ranges"))?;
            }
            Key::Field(key::COMPONENTS) => {
                components = Some(
                    list(r, Limit::Components, l.max_components, read_component)
                        .map_err(at("components"))?,
                );
            }
            Key::Field(key::SUPPORT_ENDS_AT) => {
                support_ends_at = Some(r.uint().map_err(at("support_ends_at"))?);
            }
            Key::Field(key::MAX_SECURITY_DEFERRAL) => {
                max_security_deferral = Some(r.uint().map_err(at("max_security_deferral"))?);
            }
            Key::Field(other) => {
                return Err(Reader::err(kpos, DecodeError::UnknownMandatoryField(other)));
            }
            Key::Extension(k) => extension(r, &mut ext, k, kpos, RELEASE_EXT_DEPTH)?,
        }
    }
    need(format, start, "format")?;
    Ok(Manifest {
        name: need(name, start, "name")?,
        version: need(ver, start, "version")?,
        sequence: need(seq, start, "sequence")?,
        security_counter: need(counter, start, "security_counter")?,
        issued_at: need(issued, start, "issued_at")?,
        expires_at: expires,
        notes_uri: notes,
        support_ends_at,
        max_security_deferral,
        compatibility: Compatibility {
            vendor: need(vendor, start, "compatibility.vendor")?,
            classes: need(classes, start, "compatibility.classes")?,
            hardware,
            hardware_ranges: ranges,
        },
        components: need(components, start, "components")?,
        extensions: ext,
    })
}

fn read_component(r: &mut Reader<'_>) -> Result<Component> {
    let (start, n) = r.map()?;
    let mut prev = Keys::new();
    let (mut id, mut layer, mut ver, mut from, mut size, mut digest) =
        (None, None, None, None, None, None);
    let (mut chunk_size, mut chunk_digests) = (None, None);
    let (mut deltas, mut deps, mut order, mut sbom, mut uris, mut image) =
        (Vec::new(), Vec::new(), 0, None, Vec::new(), None);
    let (mut update_class, mut cves) = (None, Vec::new());
    let mut ext = Extensions::new();
    let l = r.limits;
    for _ in 0..n {
        let (kpos, k) = r.key(&mut prev)?;
        match k {
            Key::Field(ckey::ID) => id = Some(non_empty(r).map_err(at("id"))?),
            Key::Field(ckey::LAYER) => {
                let p = r.pos();
                let code = r.u32().map_err(at("layer"))?;
                layer = Some(Layer::from_code(code).ok_or_else(|| {
                    Reader::err(p, DecodeError::OutOfRange("reserved layer")).in_field("layer")
                })?);
            }
            Key::Field(ckey::VERSION) => ver = Some(version(r).map_err(at("version"))?),
            Key::Field(ckey::UPGRADE_FROM) => {
                from = Some(requirement(r).map_err(at("upgrade_from"))?);
            }
            Key::Field(ckey::SIZE) => size = Some(r.uint().map_err(at("size"))?),
            Key::Field(ckey::SHA256) => digest = Some(sha256(r).map_err(at("sha256"))?),
            Key::Field(ckey::CHUNK_SIZE) => {
                chunk_size = Some(r.u32().map_err(at("chunks.chunk_size"))?);
            }
            Key::Field(ckey::CHUNK_SHA256) => {
                chunk_digests = Some(chunk_list(r).map_err(at("chunks.sha256"))?);
            }
            Key::Field(ckey::DELTAS) => {
                deltas =
                    list(r, Limit::DeltaSources, l.max_deltas, read_delta).map_err(at("deltas"))?;
            }
            Key::Field(ckey::DEPENDENCIES) => {
                deps = list(r, Limit::Dependencies, l.max_dependencies, |r| {
                    r.record(2, "dependency [id, requirement]")?;
                    let id = non_empty(r).map_err(at("id"))?;
                    let req = requirement(r).map_err(at("req"))?;
                    Ok(Dependency { id, req })
                })
                .map_err(at("dependencies"))?;
            }
            Key::Field(ckey::ORDER) => {
                let p = r.pos();
                order = r.u32().map_err(at("order"))?;
                if order == 0 {
                    return Err(
                        Reader::err(p, DecodeError::NonCanonical("default value written"))
                            .in_field("order"),
                    );
                }
            }
            Key::Field(ckey::SBOM) => {
                sbom = Some(read_sbom(r).map_err(at("sbom"))?);
            }
            Key::Field(ckey::URIS) => {
                uris = list(r, Limit::Uris, l.max_uris, |r| Ok(r.text()?.to_owned()))
                    .map_err(at("uris"))?;
            }
            Key::Field(ckey::IMAGE) => image = Some(r.text().map_err(at("image"))?.to_owned()),
            Key::Field(ckey::UPDATE_CLASS) => {
                let p = r.pos();
                let code = r.uint().map_err(at("update_class"))?;
                update_class = Some(UpdateClass::from_code(code).ok_or_else(|| {
                    Reader::err(p, DecodeError::OutOfRange("unknown update class"))
                        .in_field("update_class")
                })?);
            }
            Key::Field(ckey::CVES) => {
                cves = list(r, Limit::Cves, l.max_cves, |r| {
                    let p = r.pos();
                    let s = r.text()?;
                    CveId::new(s)
                        .map_err(|_| Reader::err(p, DecodeError::Syntax("CVE id CVE-YYYY-NNNN")))
                })
                .map_err(at("cves"))?;
            }
            Key::Field(other) => {
                return Err(Reader::err(kpos, DecodeError::UnknownMandatoryField(other)));
            }
            Key::Extension(k) => extension(r, &mut ext, k, kpos, COMPONENT_EXT_DEPTH)?,
        }
    }
    let chunks = match (chunk_size, chunk_digests) {
        (None, None) => None,
        (Some(chunk_size), Some(sha256)) => Some(Chunks { chunk_size, sha256 }),
        (None, Some(_)) => return Err(missing(start, "chunks.chunk_size")),
        (Some(_), None) => return Err(missing(start, "chunks.sha256")),
    };
    Ok(Component {
        id: need(id, start, "id")?,
        layer: need(layer, start, "layer")?,
        version: need(ver, start, "version")?,
        upgrade_from: need(from, start, "upgrade_from")?,
        size: need(size, start, "size")?,
        sha256: need(digest, start, "sha256")?,
        chunks,
        deltas,
        dependencies: deps,
        order,
        sbom,
        uris,
        image,
        update_class,
        cves,
        extensions: ext,
    })
}

fn chunk_list(r: &mut Reader<'_>) -> Result<Vec<Sha256>> {
    let (p, b) = r.bytes()?;
    if b.len() % 32 != 0 {
        return Err(Reader::err(p, DecodeError::BadDigestLength(b.len())));
    }
    let n = b.len() / 32;
    if n > r.limits.max_chunks {
        return Err(Reader::limit(
            p,
            Limit::Chunks,
            n as u64,
            r.limits.max_chunks,
        ));
    }
    let mut v = Vec::with_capacity(n);
    for c in b.chunks_exact(32) {
        let mut a = [0u8; 32];
        a.copy_from_slice(c);
        v.push(Sha256(a));
    }
    Ok(v)
}

fn read_delta(r: &mut Reader<'_>) -> Result<DeltaSource> {
    r.record(
        5,
        "delta source [from_version, from_sha256, patch_size, patch_sha256, algorithm]",
    )?;
    let from_version = version(r).map_err(at("from_version"))?;
    let from_sha256 = sha256(r).map_err(at("from_sha256"))?;
    let patch_size = r.uint().map_err(at("patch_size"))?;
    let patch_sha256 = sha256(r).map_err(at("patch_sha256"))?;
    let p = r.pos();
    let code = r.u32().map_err(at("algorithm"))?;
    let algorithm = DeltaAlgorithm::from_code(code).ok_or_else(|| {
        Reader::err(p, DecodeError::OutOfRange("reserved algorithm")).in_field("algorithm")
    })?;
    Ok(DeltaSource {
        from_version,
        from_sha256,
        patch_size,
        patch_sha256,
        algorithm,
    })
}

fn read_sbom(r: &mut Reader<'_>) -> Result<Sbom> {
    r.record(3, "sbom [format, sha256, uri]")?;
    let p = r.pos();
    // The first codes (0 CycloneDX, 1 SPDX) or a format name (FORMAT.md).
    let format = if r.next_is_text() {
        let s = r.text().map_err(at("format"))?;
        SbomFormat::Named(SbomFormatName::new(s).map_err(|_| {
            Reader::err(
                p,
                DecodeError::Syntax("SBOM format STANDARD-VERSION+ENCODING"),
            )
            .in_field("format")
        })?)
    } else {
        let code = r.uint().map_err(at("format"))?;
        SbomFormat::from_code(code).ok_or_else(|| {
            Reader::err(p, DecodeError::OutOfRange("unknown SBOM format")).in_field("format")
        })?
    };
    let sha256 = sha256(r).map_err(at("sha256"))?;
    let uri = r.text().map_err(at("uri"))?.to_owned();
    Ok(Sbom {
        format,
        sha256,
        uri,
    })
}
