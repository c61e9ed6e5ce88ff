//! The SUIT manifest: version, sequence number, components, and the command sequences.

use ota_cbor::{Keys, Major, Reader};

use crate::cbor::{Digest, check_count, nested, read_digest, read_text_limited, wrapped};
use crate::command::{Command, read_sequence, read_wrapped_sequence};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::schema::{
    COMMON_COMPONENTS, COMMON_SHARED_SEQUENCE, MAN_COMMON, MAN_INSTALL, MAN_INVOKE, MAN_LOAD,
    MAN_PAYLOAD_FETCH, MAN_REFERENCE_URI, MAN_SEQUENCE, MAN_TEXT, MAN_VALIDATE, MAN_VERSION,
    manifest_key_name,
};

/// A component identifier: one or more byte strings (`[h'00']` in the examples).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ComponentId(pub Vec<Vec<u8>>);

impl ComponentId {
    /// Each element in lower-case hex, joined by `/` (`[h'00']` is `"00"`): the id of the mapped
    /// ota component.
    #[must_use]
    pub fn to_hex_path(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| e.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        parts.join("/")
    }
}

/// A severable member: in the manifest, or severed (only its digest in the manifest, its bytes
/// in the envelope or elided).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member<T> {
    /// Written in the manifest itself.
    Included(T),
    /// Severed: its digest, and its content if the envelope carried it (checked against the
    /// digest).
    Severed {
        /// SHA-256 of the severed byte string's content.
        digest: Digest,
        /// The content, when the envelope carried it.
        resolved: Option<T>,
    },
}

impl<T> Member<T> {
    /// The content, if present (included, or severed and carried by the envelope).
    pub fn get(&self) -> Option<&T> {
        match self {
            Member::Included(t) => Some(t),
            Member::Severed { resolved, .. } => resolved.as_ref(),
        }
    }
}

/// A decoded SUIT manifest (the supported subset, see FORMAT.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// manifest-version (1).
    pub version: u64,
    /// manifest-sequence-number: anti-rollback.
    pub sequence_number: u64,
    /// The components, by index.
    pub components: Vec<ComponentId>,
    /// The shared sequence (run before every other sequence).
    pub shared_sequence: Vec<Command>,
    /// reference-uri.
    pub reference_uri: Option<String>,
    /// validate.
    pub validate: Option<Vec<Command>>,
    /// load.
    pub load: Option<Vec<Command>>,
    /// invoke.
    pub invoke: Option<Vec<Command>>,
    /// payload-fetch (severable).
    pub payload_fetch: Option<Member<Vec<Command>>>,
    /// install (severable).
    pub install: Option<Member<Vec<Command>>>,
    /// text (severable), the raw bytes of the text map (not interpreted).
    pub text: Option<Member<Vec<u8>>>,
}

/// A severable sequence before the envelope's severed members are looked at.
pub(crate) enum RawMember {
    Included(Vec<Command>),
    Severed(Digest),
}

impl Manifest {
    /// Decodes the manifest held in `bytes` (at absolute offset `base` of the envelope).
    pub(crate) fn decode(bytes: &[u8], base: usize, limits: &Limits) -> Result<Self> {
        let mut r = nested(bytes, base, limits);
        let map_at = r.offset();
        let n = r.map()?;
        let mut keys = Keys::new();
        let mut version = None;
        let mut sequence_number = None;
        let mut common = None;
        let mut m = Manifest {
            version: 1,
            sequence_number: 0,
            components: Vec::new(),
            shared_sequence: Vec::new(),
            reference_uri: None,
            validate: None,
            load: None,
            invoke: None,
            payload_fetch: None,
            install: None,
            text: None,
        };
        for _ in 0..n {
            let at = r.offset();
            let key = r.int_key(&mut keys)?;
            match key {
                MAN_VERSION => {
                    let v_at = r.offset();
                    let v = r.uint()?;
                    if v != 1 {
                        return Err(Error::UnsupportedManifestVersion {
                            version: v,
                            offset: v_at,
                        });
                    }
                    version = Some(v);
                }
                MAN_SEQUENCE => sequence_number = Some(r.uint()?),
                MAN_COMMON => common = Some(read_common(&mut r, limits)?),
                MAN_REFERENCE_URI => {
                    m.reference_uri =
                        Some(read_text_limited(&mut r, "reference-uri", limits.max_uri)?);
                }
                MAN_VALIDATE => m.validate = Some(read_wrapped_sequence(&mut r, limits)?),
                MAN_LOAD => m.load = Some(read_wrapped_sequence(&mut r, limits)?),
                MAN_INVOKE => m.invoke = Some(read_wrapped_sequence(&mut r, limits)?),
                MAN_PAYLOAD_FETCH => m.payload_fetch = Some(read_severable(&mut r, limits)?.into()),
                MAN_INSTALL => m.install = Some(read_severable(&mut r, limits)?.into()),
                MAN_TEXT => {
                    m.text = Some(if r.peek()? == Major::Array {
                        Member::Severed {
                            digest: read_digest(&mut r)?,
                            resolved: None,
                        }
                    } else {
                        Member::Included(read_text_bytes(&mut r, limits)?)
                    });
                }
                _ => {
                    return Err(Error::UnsupportedManifestKey {
                        key,
                        name: manifest_key_name(key),
                        offset: at,
                    });
                }
            }
        }
        r.finish()?;
        m.version = version.ok_or(Error::Missing {
            what: "manifest-version",
            offset: map_at,
        })?;
        m.sequence_number = sequence_number.ok_or(Error::Missing {
            what: "manifest-sequence-number",
            offset: map_at,
        })?;
        let (components, shared) = common.ok_or(Error::Missing {
            what: "common",
            offset: map_at,
        })?;
        m.components = components;
        m.shared_sequence = shared;
        Ok(m)
    }
}

impl From<RawMember> for Member<Vec<Command>> {
    fn from(raw: RawMember) -> Self {
        match raw {
            RawMember::Included(c) => Member::Included(c),
            RawMember::Severed(digest) => Member::Severed {
                digest,
                resolved: None,
            },
        }
    }
}

/// A severable sequence: a byte string holding it, or its digest.
fn read_severable(r: &mut Reader<'_>, limits: &Limits) -> Result<RawMember> {
    if r.peek()? == Major::Array {
        Ok(RawMember::Severed(read_digest(r)?))
    } else {
        Ok(RawMember::Included(read_wrapped_sequence(r, limits)?))
    }
}

/// The text member's byte string, checked to hold one strict CBOR item (kept, not interpreted).
fn read_text_bytes(r: &mut Reader<'_>, limits: &Limits) -> Result<Vec<u8>> {
    let (b, base) = wrapped(r)?;
    check_text(b, base, limits)?;
    Ok(b.to_vec())
}

/// Checks that the text member's bytes hold one strict CBOR item.
pub(crate) fn check_text(bytes: &[u8], base: usize, limits: &Limits) -> Result<()> {
    let mut inner = nested(bytes, base, limits);
    inner.skip(0)?;
    inner.finish()?;
    Ok(())
}

/// `common`: the components and the shared sequence.
fn read_common(r: &mut Reader<'_>, limits: &Limits) -> Result<(Vec<ComponentId>, Vec<Command>)> {
    let (b, base) = wrapped(r)?;
    let mut r = nested(b, base, limits);
    let map_at = r.offset();
    let n = r.map()?;
    let mut keys = Keys::new();
    let mut components = None;
    let mut shared = Vec::new();
    for _ in 0..n {
        let at = r.offset();
        match r.int_key(&mut keys)? {
            COMMON_COMPONENTS => components = Some(read_components(&mut r, limits)?),
            COMMON_SHARED_SEQUENCE => shared = read_wrapped_sequence(&mut r, limits)?,
            key => return Err(Error::UnsupportedCommonKey { key, offset: at }),
        }
    }
    r.finish()?;
    let components = components.ok_or(Error::Missing {
        what: "components",
        offset: map_at,
    })?;
    Ok((components, shared))
}

fn read_components(r: &mut Reader<'_>, limits: &Limits) -> Result<Vec<ComponentId>> {
    let at = r.offset();
    let n = r.array()?;
    check_count("components", n, limits.max_components, at)?;
    if n == 0 {
        return Err(Error::Invalid {
            what: "no components",
            offset: at,
        });
    }
    let mut out: Vec<ComponentId> = Vec::with_capacity(n);
    for _ in 0..n {
        let id_at = r.offset();
        let m = r.array()?;
        check_count(
            "component identifier elements",
            m,
            limits.max_id_elements,
            id_at,
        )?;
        if m == 0 {
            return Err(Error::Invalid {
                what: "empty component identifier",
                offset: id_at,
            });
        }
        let mut id = Vec::with_capacity(m);
        for _ in 0..m {
            let e_at = r.offset();
            let e = r.bytes()?;
            if e.len() > limits.max_id_len {
                return Err(Error::TooLong {
                    what: "component identifier element",
                    len: e.len(),
                    max: limits.max_id_len,
                    offset: e_at,
                });
            }
            id.push(e.to_vec());
        }
        let id = ComponentId(id);
        if out.contains(&id) {
            return Err(Error::Invalid {
                what: "duplicate component identifier",
                offset: id_at,
            });
        }
        out.push(id);
    }
    Ok(out)
}

/// Decodes a severed sequence carried by the envelope (`bytes` at absolute offset `base`).
pub(crate) fn decode_severed_sequence(
    bytes: &[u8],
    base: usize,
    limits: &Limits,
) -> Result<Vec<Command>> {
    read_sequence(bytes, base, limits, 0)
}
