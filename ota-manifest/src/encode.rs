//! Manifest -> canonical CBOR (FORMAT.md): the public encode entry points and the writer.

use ota_cbor::{CountSink, Sink};

use crate::cbor::Writer;
use crate::check::check_structure;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::model::{Component, Extensions, Manifest};
use crate::schema::{ckey, key};

impl Manifest {
    /// Encodes to canonical CBOR (FORMAT.md) with the default [`Limits`].
    ///
    /// # Errors
    /// A field the format cannot carry (empty id, reserved layer, over a limit, bad extension):
    /// [`Error::Field`], [`Error::LimitExceeded`], [`Error::TooLarge`]. Nothing is written that
    /// [`Manifest::from_cbor`] would reject.
    pub fn to_cbor(&self) -> Result<Vec<u8>> {
        self.to_cbor_with(&Limits::default())
    }

    /// [`Manifest::to_cbor`] with the given limits.
    ///
    /// # Errors
    /// As [`Manifest::to_cbor`].
    pub fn to_cbor_with(&self, limits: &Limits) -> Result<Vec<u8>> {
        check_structure(self, limits)?;
        let mut w = Writer(Vec::with_capacity(256));
        write_manifest(&mut w, self);
        check_size(w.0.len(), limits)?;
        Ok(w.0)
    }
}

/// The length of the canonical encoding, counted without writing it.
pub(crate) fn encoded_len(m: &Manifest) -> usize {
    let mut w = Writer(CountSink(0));
    write_manifest(&mut w, m);
    w.0.0
}

/// Refuses an encoding longer than `max_cbor_bytes`.
pub(crate) fn check_size(size: usize, limits: &Limits) -> Result<()> {
    if size > limits.max_cbor_bytes {
        return Err(Error::TooLarge {
            size,
            max: limits.max_cbor_bytes,
        });
    }
    Ok(())
}

fn write_extensions<S: Sink>(w: &mut Writer<S>, ext: &Extensions) {
    // Canonical order of negative keys is -1, -2, ...: descending i64.
    for (k, v) in ext.iter().rev() {
        w.int(*k);
        w.raw(v.as_cbor());
    }
}

fn write_manifest<S: Sink>(w: &mut Writer<S>, m: &Manifest) {
    let c = &m.compatibility;
    // Always written: format, name, version, sequence, counter, issued at, vendor, classes,
    // components.
    let n = 9
        + usize::from(m.expires_at.is_some())
        + usize::from(m.notes_uri.is_some())
        + usize::from(!c.hardware.is_empty())
        + usize::from(!c.hardware_ranges.is_empty())
        + usize::from(m.support_ends_at.is_some())
        + usize::from(m.max_security_deferral.is_some())
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
    if let Some(t) = m.support_ends_at {
        w.uint(key::SUPPORT_ENDS_AT);
        w.uint(t);
    }
    if let Some(d) = m.max_security_deferral {
        w.uint(key::MAX_SECURITY_DEFERRAL);
        w.uint(d);
    }
    write_extensions(w, &m.extensions);
}

fn write_component<S: Sink>(w: &mut Writer<S>, c: &Component) {
    let n = 6
        + 2 * usize::from(c.chunks.is_some())
        + usize::from(!c.deltas.is_empty())
        + usize::from(!c.dependencies.is_empty())
        + usize::from(c.order != 0)
        + usize::from(c.sbom.is_some())
        + usize::from(!c.uris.is_empty())
        + usize::from(c.image.is_some())
        + usize::from(c.update_class.is_some())
        + usize::from(!c.cves.is_empty())
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
        let parts = ch.sha256.iter().map(|d| d.as_bytes().as_slice());
        w.bytes_of(ch.sha256.len() * 32, parts);
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
        match s.format.legacy_code() {
            Some(code) => w.uint(code),
            None => w.text(s.format.as_json_str()),
        }
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
    if let Some(class) = c.update_class {
        w.uint(ckey::UPDATE_CLASS);
        w.uint(class.code());
    }
    if !c.cves.is_empty() {
        w.uint(ckey::CVES);
        w.array(c.cves.len());
        for cve in &c.cves {
            w.text(cve.as_str());
        }
    }
    write_extensions(w, &c.extensions);
}
