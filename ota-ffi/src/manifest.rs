//! Manifests: `ota_manifest`, its decoding and its accessors (the install decision is in `plan`).

use core::ffi::c_char;

use ::ota_manifest::{Layer, Manifest};

use crate::buffer::{bytes_in, out_ptr, str_out};
use crate::guard::guard;
use crate::handle;
use crate::status::Status;

/// A decoded manifest. Made by `ota_manifest_new_from_cbor` / `_json`, freed by
/// `ota_manifest_free`. Immutable: may be shared between threads for reading.
pub struct ota_manifest {
    pub(crate) inner: Manifest,
}

/// Layer of a component: the firmware (installed to an A/B slot, needs a reboot).
pub const OTA_LAYER_FIRMWARE: u32 = 0;
/// Layer of a component: an application (container).
pub const OTA_LAYER_APPLICATION: u32 = 1;
/// Layer of a component: an AI model.
pub const OTA_LAYER_MODEL: u32 = 2;
/// Layer of a component: configuration.
pub const OTA_LAYER_CONFIGURATION: u32 = 3;
// Vendor layers are reported as their own number, 256 or more.

fn decode_status(e: &::ota_manifest::Error) -> Status {
    match e {
        ::ota_manifest::Error::TooLarge { .. }
        | ::ota_manifest::Error::TooDeep { .. }
        | ::ota_manifest::Error::LimitExceeded { .. } => Status::ManifestLimitExceeded,
        ::ota_manifest::Error::Decode { .. }
        | ::ota_manifest::Error::Json { .. }
        | ::ota_manifest::Error::Field { .. } => Status::ManifestMalformed,
        ::ota_manifest::Error::Invalid(_) => Status::ManifestInvalid,
        _ => Status::ManifestOther,
    }
}

fn layer_code(layer: Layer) -> u32 {
    match layer {
        Layer::Firmware => OTA_LAYER_FIRMWARE,
        Layer::Application => OTA_LAYER_APPLICATION,
        Layer::Model => OTA_LAYER_MODEL,
        Layer::Configuration => OTA_LAYER_CONFIGURATION,
        Layer::Vendor(v) => v,
        // A layer added later: report the vendor floor rather than guess a number.
        _ => Layer::VENDOR_MIN,
    }
}

fn new_manifest(
    out: *mut *mut ota_manifest,
    decode: impl FnOnce() -> Result<Manifest, Status>,
) -> Status {
    guard(|| {
        let out = out_ptr(out)?;
        let inner = decode()?;
        // SAFETY: `out` checked non-NULL; the caller guarantees it is writable.
        unsafe { handle::give(out, ota_manifest { inner }) };
        Ok(())
    })
}

/// Decodes a manifest from its canonical CBOR encoding (strict: non-canonical input is refused)
/// and writes a new handle to `*out`. Decoding checks the encoding, not the consistency: call
/// `ota_manifest_validate` (the install decision validates too).
///
/// # Safety
/// `cbor` must point to `cbor_len` readable bytes (or be NULL with 0); `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_new_from_cbor(
    cbor: *const u8,
    cbor_len: usize,
    out: *mut *mut ota_manifest,
) -> Status {
    new_manifest(out, || {
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(cbor, cbor_len) }?;
        Manifest::from_cbor(bytes).map_err(|e| decode_status(&e))
    })
}

/// Decodes a manifest from its JSON form (UTF-8, `(ptr, len)`, no NUL needed).
///
/// # Safety
/// As `ota_manifest_new_from_cbor`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_new_from_json(
    json: *const u8,
    json_len: usize,
    out: *mut *mut ota_manifest,
) -> Status {
    new_manifest(out, || {
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_in(json, json_len) }?;
        let text = core::str::from_utf8(bytes).map_err(|_| Status::InvalidUtf8)?;
        Manifest::from_json(text).map_err(|e| decode_status(&e))
    })
}

/// Frees a manifest. NULL does nothing.
///
/// # Safety
/// `manifest` must be NULL or a handle from `ota_manifest_new_*` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_free(manifest: *mut ota_manifest) {
    let _ = guard(|| {
        // SAFETY: forwarded contract.
        unsafe { handle::free(manifest) };
        Ok(())
    });
}

/// Checks the manifest's internal consistency: `OTA_STATUS_OK` or `OTA_STATUS_MANIFEST_INVALID`.
///
/// # Safety
/// `manifest` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_validate(manifest: *const ota_manifest) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let m = unsafe { handle::get(manifest) }?;
        m.inner.validate().map_err(|_| Status::ManifestInvalid)
    })
}

/// Copies the release name (NUL-terminated) into `(buf, cap)`; `*out_len` counts the NUL.
///
/// # Safety
/// `manifest` a live handle or NULL; `buf` writable for `cap` bytes (or NULL with 0);
/// `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_name(
    manifest: *const ota_manifest,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let m = unsafe { handle::get(manifest) }?;
        // SAFETY: forwarded contract.
        unsafe { str_out(&m.inner.name, buf, cap, out_len) }
    })
}

/// Copies the release version (semantic version, NUL-terminated) into `(buf, cap)`.
///
/// # Safety
/// As `ota_manifest_name`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_version(
    manifest: *const ota_manifest,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let m = unsafe { handle::get(manifest) }?;
        // SAFETY: forwarded contract.
        unsafe { str_out(&m.inner.version.to_string(), buf, cap, out_len) }
    })
}

/// The numbers of a manifest, by value.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_manifest_info {
    /// Anti-rollback sequence number.
    pub sequence: u64,
    /// Security counter.
    pub security_counter: u64,
    /// Issue time, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Whether the manifest has an expiry.
    pub has_expiry: bool,
    /// Expiry time, when `has_expiry`.
    pub expires_at: u64,
    /// Number of components.
    pub component_count: usize,
}

/// Writes the manifest's sequence, security counter, times and component count to `*out`.
///
/// # Safety
/// `manifest` a live handle or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_get_info(
    manifest: *const ota_manifest,
    out: *mut ota_manifest_info,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let m = &unsafe { handle::get(manifest) }?.inner;
        let out = out_ptr(out)?;
        let info = ota_manifest_info {
            sequence: m.sequence,
            security_counter: m.security_counter,
            issued_at: m.issued_at,
            has_expiry: m.expires_at.is_some(),
            expires_at: m.expires_at.unwrap_or(0),
            component_count: m.components.len(),
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(info) };
        Ok(())
    })
}

/// One component of a manifest, by value (its id and version: `ota_manifest_component_id` /
/// `_version`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ota_component_info {
    /// `OTA_LAYER_*` (vendor layers: their number, 256 or more).
    pub layer: u32,
    /// Size of the full image in bytes.
    pub size: u64,
    /// SHA-256 of the full image.
    pub sha256: [u8; 32],
    /// Chunk size of the chunk table; 0 when the component has none.
    pub chunk_size: u32,
    /// Number of chunk digests (`ota_manifest_component_chunk_table` copies them).
    pub chunk_count: usize,
    /// Number of delta sources offered.
    pub delta_count: usize,
}

/// # Safety
/// `manifest` a live handle or NULL.
unsafe fn component<'a>(
    manifest: *const ota_manifest,
    index: usize,
) -> Result<&'a ::ota_manifest::Component, Status> {
    // SAFETY: forwarded contract.
    let m = unsafe { handle::get(manifest) }?;
    m.inner.components.get(index).ok_or(Status::IndexOutOfRange)
}

/// Writes component `index`'s layer, size, digest and chunk/delta counts to `*out`.
///
/// # Safety
/// `manifest` a live handle or NULL; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_component_info(
    manifest: *const ota_manifest,
    index: usize,
    out: *mut ota_component_info,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let c = unsafe { component(manifest, index) }?;
        let out = out_ptr(out)?;
        let info = ota_component_info {
            layer: layer_code(c.layer),
            size: c.size,
            sha256: c.sha256.0,
            chunk_size: c.chunks.as_ref().map_or(0, |ch| ch.chunk_size),
            chunk_count: c.chunks.as_ref().map_or(0, |ch| ch.sha256.len()),
            delta_count: c.deltas.len(),
        };
        // SAFETY: checked non-NULL; writable by contract.
        unsafe { out.write(info) };
        Ok(())
    })
}

/// Copies component `index`'s id (NUL-terminated) into `(buf, cap)`.
///
/// # Safety
/// As `ota_manifest_name`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_component_id(
    manifest: *const ota_manifest,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let c = unsafe { component(manifest, index) }?;
        // SAFETY: forwarded contract.
        unsafe { str_out(&c.id, buf, cap, out_len) }
    })
}

/// Copies component `index`'s version (NUL-terminated) into `(buf, cap)`.
///
/// # Safety
/// As `ota_manifest_name`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_component_version(
    manifest: *const ota_manifest,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let c = unsafe { component(manifest, index) }?;
        // SAFETY: forwarded contract.
        unsafe { str_out(&c.version.to_string(), buf, cap, out_len) }
    })
}

/// Copies component `index`'s chunk table (32-byte SHA-256 digests, concatenated: the table
/// `ota_chunk_verifier_new` takes) into `(buf, cap)`. A component without chunks copies 0 bytes.
///
/// # Safety
/// `manifest` a live handle or NULL; `buf` writable for `cap` bytes; `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ota_manifest_component_chunk_table(
    manifest: *const ota_manifest,
    index: usize,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard(|| {
        // SAFETY: forwarded contract.
        let c = unsafe { component(manifest, index) }?;
        // A plain loop: an optimised `flat_map` over `[u8; 32]` values trips valgrind's
        // uninitialised-value check (array::IntoIter's MaybeUninit storage), a false positive
        // that would still fail the valgrind CI step.
        let mut table = Vec::new();
        for d in c.chunks.iter().flat_map(|ch| ch.sha256.iter()) {
            table.extend_from_slice(&d.0);
        }
        // SAFETY: forwarded contract.
        unsafe { crate::buffer::bytes_out(&table, buf, cap, out_len) }
    })
}
