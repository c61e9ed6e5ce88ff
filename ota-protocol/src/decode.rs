//! Strict canonical CBOR -> message: the public decode entry points and the schema readers.
//! Every count and length is checked against its limit before anything is allocated for it;
//! every rule of the structural checks (`check.rs`) is applied here too, with the byte offset.

use std::collections::HashSet;

use crate::cbor::{Keys, Reader, err};
use crate::error::{DecodeError, Error, Expected, Limit, Result};
use crate::execution::JobExecution;
use crate::ids::{JobId, Sha256};
use crate::job::{
    ComponentSources, DeltaLocation, InstallPolicy, JobDocument, Location, ReleaseSource, Window,
};
use crate::limits::{Limits, MAX_JOB_ID_BYTES};
use crate::message::{Message, MessageKind, PROTOCOL_VERSION};
use crate::report::DeviceReport;
use crate::schema::{delta, head, job as jk, location, policy as pk, sources as sk};
use ota_cbor::Major;

mod execution;
mod report;
mod version_report;

use execution::read_execution;
use report::read_report;
pub(crate) use version_report::read_version_report;

fn at(name: &'static str) -> impl Fn(Error) -> Error {
    move |e| e.in_field(name)
}

fn need<T>(v: Option<T>, offset: usize, name: &'static str) -> Result<T> {
    v.ok_or_else(|| err(offset, DecodeError::MissingField(name)).in_field(name))
}

fn unknown_key(offset: usize, k: u64) -> Error {
    err(
        offset,
        DecodeError::UnknownKey(i64::try_from(k).unwrap_or(i64::MAX)),
    )
}

/// The message map's header: the version (key 0, checked first) and the kind (key 1).
/// Returns the kind, the map's offset, its entries left and the key order state.
fn header(r: &mut Reader<'_>) -> Result<(MessageKind, usize, usize, Keys)> {
    let (map_at, n) = r.map()?;
    let mut keys = Keys::new();
    let mut field = |r: &mut Reader<'_>, want: u64, name: &'static str| -> Result<u64> {
        if n < 2 {
            return Err(err(map_at, DecodeError::MissingField(name)));
        }
        let (k_at, k) = r.key(&mut keys)?;
        if k != want {
            return Err(err(k_at, DecodeError::MissingField(name)));
        }
        r.uint()
    };
    let version = field(r, head::VERSION, "v")?;
    if version != u64::from(PROTOCOL_VERSION) {
        return Err(Error::UnsupportedVersion {
            found: version,
            supported: PROTOCOL_VERSION,
        });
    }
    let code = field(r, head::KIND, "kind")?;
    let kind = MessageKind::from_code(code).ok_or(Error::WrongMessage {
        expected: Expected::Any,
        found: None,
    })?;
    Ok((kind, map_at, n - 2, keys))
}

fn job_id(r: &mut Reader<'_>) -> Result<JobId> {
    let p = r.pos();
    let s = r.text(Limit::TextBytes, MAX_JOB_ID_BYTES, false)?;
    JobId::try_from(s).map_err(|_| err(p, DecodeError::BadJobId))
}

fn read_job(
    r: &mut Reader<'_>,
    map_at: usize,
    n: usize,
    mut keys: Keys,
    l: &Limits,
) -> Result<JobDocument> {
    let (mut id, mut rollout, mut ring, mut release, mut images, mut policy) =
        (None, None, None, None, Vec::new(), None);
    for _ in 0..n {
        let (k_at, k) = r.key(&mut keys)?;
        match k {
            jk::JOB_ID => id = Some(job_id(r).map_err(at("job_id"))?),
            jk::ROLLOUT => {
                let t = r.text(Limit::TextBytes, l.max_text_bytes, false);
                rollout = Some(t.map_err(at("rollout"))?);
            }
            jk::RING => {
                ring = Some(
                    r.uint_max(u64::from(u32::MAX), "ring")
                        .map_err(at("ring"))? as u32,
                )
            }
            jk::RELEASE => release = Some(read_release(r, l).map_err(at("release"))?),
            jk::IMAGES => images = read_images(r, l).map_err(at("images"))?,
            jk::POLICY => policy = Some(read_policy(r).map_err(at("policy"))?),
            _ => return Err(unknown_key(k_at, k)),
        }
    }
    Ok(JobDocument {
        job_id: need(id, map_at, "job_id")?,
        rollout: need(rollout, map_at, "rollout")?,
        ring: need(ring, map_at, "ring")?,
        release: need(release, map_at, "release")?,
        images,
        policy: need(policy, map_at, "policy")?,
    })
}

fn read_release(r: &mut Reader<'_>, l: &Limits) -> Result<ReleaseSource> {
    let p = r.pos();
    match r.peek()? {
        Major::Bytes => {
            let b = r.bytes_max(Limit::EnvelopeBytes, l.max_envelope_bytes)?;
            Ok(ReleaseSource::Inline(b.to_vec()))
        }
        Major::Map => {
            let (map_at, n) = r.map()?;
            let mut keys = Keys::new();
            let (mut uri, mut size, mut sha) = (None, None, None);
            for _ in 0..n {
                let (k_at, k) = r.key(&mut keys)?;
                match k {
                    location::URI => {
                        let t = r.text(Limit::UriBytes, l.max_uri_bytes, false);
                        uri = Some(t.map_err(at("uri"))?);
                    }
                    location::SIZE => size = Some(r.uint().map_err(at("size"))?),
                    location::SHA256 => sha = Some(r.sha256().map_err(at("sha256"))?),
                    _ => return Err(unknown_key(k_at, k)),
                }
            }
            Ok(ReleaseSource::Remote(Location {
                uri: need(uri, map_at, "uri")?,
                size: need(size, map_at, "size")?,
                sha256: need(sha, map_at, "sha256")?,
            }))
        }
        found => Err(err(
            p,
            DecodeError::WrongType {
                expected: "byte string (envelope) or map (location)",
                found: found.name(),
            },
        )),
    }
}

fn read_images(r: &mut Reader<'_>, l: &Limits) -> Result<Vec<ComponentSources>> {
    let n = r.list(Limit::Components, l.max_components)?;
    let mut out = Vec::with_capacity(n);
    let mut names = HashSet::with_capacity(n);
    for i in 0..n {
        let p = r.pos();
        let c = read_sources(r, l).map_err(|e| e.in_index(i))?;
        if !names.insert(c.component.clone()) {
            let e = err(p, DecodeError::DuplicateComponent(c.component));
            return Err(e.in_field("component").in_index(i));
        }
        out.push(c);
    }
    Ok(out)
}

fn read_sources(r: &mut Reader<'_>, l: &Limits) -> Result<ComponentSources> {
    let (map_at, n) = r.map()?;
    let mut keys = Keys::new();
    let (mut component, mut full, mut deltas) = (None, None, Vec::new());
    for _ in 0..n {
        let (k_at, k) = r.key(&mut keys)?;
        match k {
            sk::COMPONENT => {
                let t = r.text(Limit::TextBytes, l.max_text_bytes, false);
                component = Some(t.map_err(at("component"))?);
            }
            sk::FULL => {
                let t = r.text(Limit::UriBytes, l.max_uri_bytes, false);
                full = Some(t.map_err(at("full"))?);
            }
            sk::DELTAS => deltas = read_deltas(r, l).map_err(at("deltas"))?,
            _ => return Err(unknown_key(k_at, k)),
        }
    }
    if full.is_none() && deltas.is_empty() {
        return Err(err(map_at, DecodeError::NoSource));
    }
    Ok(ComponentSources {
        component: need(component, map_at, "component")?,
        full,
        deltas,
    })
}

fn read_deltas(r: &mut Reader<'_>, l: &Limits) -> Result<Vec<DeltaLocation>> {
    let n = r.list(Limit::Deltas, l.max_deltas)?;
    let mut out = Vec::with_capacity(n);
    let mut from = HashSet::with_capacity(n);
    for i in 0..n {
        let (map_at, m) = r.map().map_err(|e| e.in_index(i))?;
        let mut keys = Keys::new();
        let (mut sha, mut uri): (Option<(usize, Sha256)>, _) = (None, None);
        for _ in 0..m {
            let (k_at, k) = r.key(&mut keys).map_err(|e| e.in_index(i))?;
            match k {
                delta::FROM_SHA256 => {
                    let p = r.pos();
                    let d = r
                        .sha256()
                        .map_err(|e| e.in_field("from_sha256").in_index(i))?;
                    sha = Some((p, d));
                }
                delta::URI => {
                    let t = r.text(Limit::UriBytes, l.max_uri_bytes, false);
                    uri = Some(t.map_err(|e| e.in_field("uri").in_index(i))?);
                }
                _ => return Err(unknown_key(k_at, k).in_index(i)),
            }
        }
        let (p, from_sha256) = need(sha, map_at, "from_sha256").map_err(|e| e.in_index(i))?;
        if !from.insert(from_sha256) {
            let e = err(p, DecodeError::DuplicateDelta).in_field("from_sha256");
            return Err(e.in_index(i));
        }
        let uri = need(uri, map_at, "uri").map_err(|e| e.in_index(i))?;
        out.push(DeltaLocation { from_sha256, uri });
    }
    Ok(out)
}

fn read_policy(r: &mut Reader<'_>) -> Result<InstallPolicy> {
    let (map_at, n) = r.map()?;
    let mut keys = Keys::new();
    let mut charging = None;
    let mut p = InstallPolicy::default();
    for _ in 0..n {
        let (k_at, k) = r.key(&mut keys)?;
        match k {
            pk::REQUIRE_CHARGING => {
                charging = Some(r.bool().map_err(at("require_charging"))?);
            }
            pk::WINDOW => p.window = Some(read_window(r).map_err(at("window"))?),
            pk::DEADLINE => p.deadline = Some(r.uint().map_err(at("deadline"))?),
            pk::EXPIRES_AT => p.expires_at = Some(r.uint().map_err(at("expires_at"))?),
            _ => return Err(unknown_key(k_at, k)),
        }
    }
    p.require_charging = need(charging, map_at, "require_charging")?;
    Ok(p)
}

fn read_window(r: &mut Reader<'_>) -> Result<Window> {
    let p = r.pos();
    r.record(2, "window [start_minute, end_minute]")?;
    let start = r.uint_max(u64::from(u16::MAX), "minute")?;
    let end = r.uint_max(u64::from(u16::MAX), "minute")?;
    let w = Window {
        start_minute: start as u16,
        end_minute: end as u16,
    };
    if !w.is_valid() {
        return Err(err(p, DecodeError::BadWindow));
    }
    Ok(w)
}

/// Reads a whole message of any kind.
fn read_message(bytes: &[u8], l: &Limits, want: Option<MessageKind>) -> Result<Message> {
    if bytes.len() > l.max_cbor_bytes {
        return Err(Error::TooLarge {
            size: bytes.len(),
            max: l.max_cbor_bytes,
        });
    }
    let mut r = Reader::new(bytes);
    let (kind, map_at, n, keys) = header(&mut r)?;
    if let Some(w) = want
        && w != kind
    {
        return Err(Error::WrongMessage {
            expected: Expected::Kind(w),
            found: Some(kind),
        });
    }
    let name = kind.as_str();
    let m = match kind {
        MessageKind::Job => {
            Message::Job(read_job(&mut r, map_at, n, keys, l).map_err(|e| e.in_field(name))?)
        }
        MessageKind::Execution => Message::Execution(
            read_execution(&mut r, map_at, n, keys, l).map_err(|e| e.in_field(name))?,
        ),
        MessageKind::Report => {
            Message::Report(read_report(&mut r, map_at, n, keys, l).map_err(|e| e.in_field(name))?)
        }
    };
    r.finish()?;
    Ok(m)
}

macro_rules! cbor_decode_api {
    ($ty:ty, $kind:expr, $variant:ident) => {
        impl $ty {
            /// Decodes canonical CBOR strictly (FORMAT.md), under the default [`Limits`].
            ///
            /// # Errors
            /// [`Error::TooLarge`], [`Error::UnsupportedVersion`], [`Error::WrongMessage`],
            /// [`Error::Decode`] and [`Error::LimitExceeded`] with the byte offset and the
            /// field's path.
            pub fn from_cbor(bytes: &[u8]) -> Result<Self> {
                Self::from_cbor_with(bytes, &Limits::default())
            }

            /// [`Self::from_cbor`] under the given limits.
            ///
            /// # Errors
            /// As [`Self::from_cbor`].
            pub fn from_cbor_with(bytes: &[u8], limits: &Limits) -> Result<Self> {
                match read_message(bytes, limits, Some($kind))? {
                    Message::$variant(m) => Ok(m),
                    other => Err(Error::WrongMessage {
                        expected: Expected::Kind($kind),
                        found: Some(other.kind()),
                    }),
                }
            }
        }
    };
}

cbor_decode_api!(JobDocument, MessageKind::Job, Job);
cbor_decode_api!(JobExecution, MessageKind::Execution, Execution);
cbor_decode_api!(DeviceReport, MessageKind::Report, Report);

impl Message {
    /// Decodes a message of any kind, under the default [`Limits`].
    ///
    /// # Errors
    /// As [`JobDocument::from_cbor`].
    pub fn from_cbor(bytes: &[u8]) -> Result<Self> {
        read_message(bytes, &Limits::default(), None)
    }

    /// [`Message::from_cbor`] under the given limits.
    ///
    /// # Errors
    /// As [`JobDocument::from_cbor`].
    pub fn from_cbor_with(bytes: &[u8], limits: &Limits) -> Result<Self> {
        read_message(bytes, limits, None)
    }
}
