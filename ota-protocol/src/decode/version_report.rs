//! The signed version report's payload reader (strict, as every reader of this crate).

use std::collections::HashSet;

use crate::cbor::{Keys, Reader, err};
use crate::error::{DecodeError, Error, Limit, Result};
use crate::limits::Limits;
use crate::report::Slot;
use crate::schema::{version_component as ck, version_report as vk};
use crate::version_report::{
    ComponentVersion, MAX_NONCE_BYTES, VERSION_REPORT_FORMAT, VersionReport,
};

use super::execution::code_of;
use super::{at, need, unknown_key};

pub(crate) fn read_version_report(bytes: &[u8], l: &Limits) -> Result<VersionReport> {
    if bytes.len() > l.max_cbor_bytes {
        return Err(Error::TooLarge {
            size: bytes.len(),
            max: l.max_cbor_bytes,
        });
    }
    let mut r = Reader::new(bytes);
    let (map_at, n) = r.map()?;
    let mut keys = Keys::new();
    let (mut format, mut device, mut counter, mut sent_at) = (None, None, None, None);
    let mut out = VersionReport {
        device: String::new(),
        counter: 0,
        nonce: None,
        sent_at: 0,
        active_slot: None,
        components: Vec::new(),
    };
    for _ in 0..n {
        let (k_at, k) = r.key(&mut keys)?;
        match k {
            vk::FORMAT => {
                let p = r.pos();
                let v = r.uint().map_err(at("format"))?;
                if v != VERSION_REPORT_FORMAT {
                    return Err(err(p, DecodeError::OutOfRange("format")).in_field("format"));
                }
                format = Some(v);
            }
            vk::DEVICE => {
                let t = r.text(Limit::TextBytes, l.max_text_bytes, false);
                device = Some(t.map_err(at("device"))?);
            }
            vk::COUNTER => counter = Some(r.uint().map_err(at("counter"))?),
            vk::NONCE => {
                let p = r.pos();
                let b = r
                    .bytes_max(Limit::NonceBytes, MAX_NONCE_BYTES)
                    .map_err(at("nonce"))?;
                if b.is_empty() {
                    return Err(err(p, DecodeError::Empty).in_field("nonce"));
                }
                out.nonce = Some(b.to_vec());
            }
            vk::SENT_AT => sent_at = Some(r.uint().map_err(at("sent_at"))?),
            vk::ACTIVE_SLOT => {
                let s = code_of(&mut r, "slot", Slot::from_code).map_err(at("active_slot"))?;
                out.active_slot = Some(s);
            }
            vk::COMPONENTS => {
                out.components = read_components(&mut r, l).map_err(at("components"))?;
            }
            _ => return Err(unknown_key(k_at, k)),
        }
    }
    r.finish()?;
    need(format, map_at, "format")?;
    out.device = need(device, map_at, "device")?;
    out.counter = need(counter, map_at, "counter")?;
    out.sent_at = need(sent_at, map_at, "sent_at")?;
    Ok(out)
}

fn read_components(r: &mut Reader<'_>, l: &Limits) -> Result<Vec<ComponentVersion>> {
    let list_at = r.pos();
    let n = r.list(Limit::Installed, l.max_installed)?;
    if n == 0 {
        return Err(err(list_at, DecodeError::EmptyList));
    }
    let mut out: Vec<ComponentVersion> = Vec::with_capacity(n);
    let mut ids = HashSet::with_capacity(n);
    for i in 0..n {
        let (map_at, m) = r.map().map_err(|e| e.in_index(i))?;
        let mut keys = Keys::new();
        let (mut id, mut version, mut sha256) = (None, None, None);
        for _ in 0..m {
            let (k_at, k) = r.key(&mut keys).map_err(|e| e.in_index(i))?;
            let p = r.pos();
            let idx = |name: &'static str| move |e: Error| e.in_field(name).in_index(i);
            match k {
                ck::ID => {
                    let t = r.text(Limit::TextBytes, l.max_text_bytes, false);
                    id = Some((p, t.map_err(idx("id"))?));
                }
                ck::VERSION => {
                    let t = r.text(Limit::TextBytes, l.max_text_bytes, false);
                    version = Some(t.map_err(idx("version"))?);
                }
                ck::SHA256 => sha256 = Some(r.sha256().map_err(idx("sha256"))?),
                _ => return Err(unknown_key(k_at, k).in_index(i)),
            }
        }
        let (p, id) = need(id, map_at, "id").map_err(|e| e.in_index(i))?;
        if !ids.insert(id.clone()) {
            let e = err(p, DecodeError::DuplicateComponent(id)).in_field("id");
            return Err(e.in_index(i));
        }
        // One encoding per report: components sorted by id.
        if out
            .last()
            .is_some_and(|prev| prev.id.as_bytes() > id.as_bytes())
        {
            let e = err(p, DecodeError::NonCanonical("components not sorted by id"));
            return Err(e.in_field("id").in_index(i));
        }
        let version = need(version, map_at, "version").map_err(|e| e.in_index(i))?;
        let sha256 = need(sha256, map_at, "sha256").map_err(|e| e.in_index(i))?;
        out.push(ComponentVersion {
            id,
            version,
            sha256,
        });
    }
    Ok(out)
}
