//! The view's key table: the shape of every field of the release and component maps (FORMAT.md),
//! and the walker that checks a map against it.
//!
//! Every field the format defines is in the table, so that the view refuses exactly what the std
//! decoder refuses: a field the view does not expose (release name, notes URI, dependencies,
//! SBOM, URIs...) is still checked, strictly and canonically, and then skipped. **A new field is
//! one entry here** (its key comes from `crate::schema`); the view exposes a field only when
//! `ManifestView`/`ComponentView` picks its value out of the walk.

use ota_cbor::Keys;

use super::error::ViewErrorKind as K;
use super::reader::{Key, Reader, Result, err, limit};
use super::version::{ReqView, VersionView};
use crate::limits::{Limit, Limits};
use crate::schema::{COMPONENT_EXT_DEPTH, MAX_ID_BYTES, ckey, key};

/// How the value of a field is written.
pub(crate) enum Shape {
    /// The format version: a uint that must be 1.
    Format,
    /// A uint (u64).
    Uint,
    /// A uint that fits u32.
    U32,
    /// A u32 other than 0 (0 is the default and is omitted: rule 4).
    U32NonZero,
    /// A text string within `max_string_bytes`.
    Text,
    /// A text string of 1 byte or more.
    NonEmptyText,
    /// A version in its canonical spelling.
    Version,
    /// A version requirement in its canonical spelling.
    Req,
    /// A 32-byte digest.
    Sha256,
    /// A vendor or class id: 1..=64 bytes.
    Id,
    /// Chunk digests: n*32 bytes, n within `max_chunks`.
    Chunks,
    /// A layer code: 0..=3 or 256 and up.
    Layer,
    /// A delta algorithm code: 0, 1 or 256 and up.
    Algorithm,
    /// An SBOM format code: 0 or 1.
    SbomFormat,
    /// A non-empty array of items, at most the limit's count.
    List(&'static Shape, Limit),
    /// A positional array of exactly these items.
    Record(&'static [Shape]),
    /// A component map (the component table).
    Component,
}

/// Whether a field must be present.
#[derive(Clone, Copy)]
pub(crate) enum Need {
    Mandatory,
    Optional,
    /// Present exactly when that other field is.
    With(u64),
}

/// One row of a key table.
pub(crate) struct Field {
    pub(crate) key: u64,
    pub(crate) shape: Shape,
    pub(crate) need: Need,
}

const fn f(key: u64, shape: Shape, need: Need) -> Field {
    Field { key, shape, need }
}

use Need::{Mandatory as M, Optional as O, With};

/// The release map (FORMAT.md, top-level map), in key order.
pub(crate) const RELEASE: &[Field] = &[
    f(key::FORMAT, Shape::Format, M),
    f(key::NAME, Shape::NonEmptyText, M),
    f(key::VERSION, Shape::Version, M),
    f(key::SEQUENCE, Shape::Uint, M),
    f(key::SECURITY_COUNTER, Shape::Uint, M),
    f(key::ISSUED_AT, Shape::Uint, M),
    f(key::EXPIRES_AT, Shape::Uint, O),
    f(key::NOTES_URI, Shape::Text, O),
    f(key::VENDOR, Shape::Id, M),
    f(key::CLASSES, Shape::List(&Shape::Id, Limit::Classes), M),
    f(
        key::HARDWARE,
        Shape::List(&Shape::Text, Limit::HardwareRevisions),
        O,
    ),
    f(
        key::HARDWARE_RANGES,
        Shape::List(&Shape::Req, Limit::HardwareRevisions),
        O,
    ),
    f(
        key::COMPONENTS,
        Shape::List(&Shape::Component, Limit::Components),
        M,
    ),
];

/// A delta source: `[from_version, from_sha256, patch_size, patch_sha256, algorithm]`.
pub(crate) const DELTA: Shape = Shape::Record(&[
    Shape::Version,
    Shape::Sha256,
    Shape::Uint,
    Shape::Sha256,
    Shape::Algorithm,
]);

/// The component map (FORMAT.md), in key order.
pub(crate) const COMPONENT: &[Field] = &[
    f(ckey::ID, Shape::NonEmptyText, M),
    f(ckey::LAYER, Shape::Layer, M),
    f(ckey::VERSION, Shape::Version, M),
    f(ckey::UPGRADE_FROM, Shape::Req, M),
    f(ckey::SIZE, Shape::Uint, M),
    f(ckey::SHA256, Shape::Sha256, M),
    f(ckey::CHUNK_SIZE, Shape::U32, With(ckey::CHUNK_SHA256)),
    f(ckey::CHUNK_SHA256, Shape::Chunks, With(ckey::CHUNK_SIZE)),
    f(ckey::DELTAS, Shape::List(&DELTA, Limit::DeltaSources), O),
    f(
        ckey::DEPENDENCIES,
        Shape::List(
            &Shape::Record(&[Shape::NonEmptyText, Shape::Req]),
            Limit::Dependencies,
        ),
        O,
    ),
    f(ckey::ORDER, Shape::U32NonZero, O),
    f(
        ckey::SBOM,
        Shape::Record(&[Shape::SbomFormat, Shape::Sha256, Shape::Text]),
        O,
    ),
    f(ckey::URIS, Shape::List(&Shape::Text, Limit::Uris), O),
    f(ckey::IMAGE, Shape::Text, O),
];

/// The value of a field, as far as the view keeps it.
#[derive(Clone, Copy)]
pub(crate) enum Value<'a> {
    /// A uint, or a code (layer, algorithm).
    Uint(u64),
    /// A text string (also a checked version or requirement).
    Text(&'a str),
    /// A byte string.
    Bytes(&'a [u8]),
    /// A list: the bytes of its items (after the array head) and their count.
    List(&'a [u8], usize),
    /// Nothing kept (records, components).
    Other,
}

fn max_of(which: Limit, l: &Limits) -> usize {
    match which {
        Limit::Components => l.max_components,
        Limit::Chunks => l.max_chunks,
        Limit::DeltaSources => l.max_deltas,
        Limit::Dependencies => l.max_dependencies,
        Limit::HardwareRevisions => l.max_hardware,
        Limit::Classes => l.max_classes,
        Limit::Uris => l.max_uris,
        Limit::Extensions => l.max_extensions,
        Limit::StringBytes => l.max_string_bytes,
    }
}

/// Checks one value of `shape` and returns what the view keeps of it.
pub(crate) fn read<'a>(r: &mut Reader<'a, '_>, shape: &Shape) -> Result<Value<'a>> {
    let p = r.pos();
    Ok(match shape {
        Shape::Format => {
            let v = r.uint()?;
            if v != u64::from(crate::FORMAT_VERSION) {
                return Err(err(p, K::UnsupportedFormatVersion(v)));
            }
            Value::Uint(v)
        }
        Shape::Uint => Value::Uint(r.uint()?),
        Shape::U32 => Value::Uint(r.u32()?.into()),
        Shape::U32NonZero => match r.u32()? {
            0 => return Err(err(p, K::NonCanonical)),
            v => Value::Uint(v.into()),
        },
        Shape::Text => Value::Text(r.text()?),
        Shape::NonEmptyText => match r.text()? {
            "" => return Err(err(p, K::BadLength(0))),
            s => Value::Text(s),
        },
        Shape::Version => {
            let s = r.text()?;
            VersionView::parse(s).ok_or(err(p, K::BadVersion))?;
            Value::Text(s)
        }
        Shape::Req => {
            let s = r.text()?;
            ReqView::parse(s).ok_or(err(p, K::BadVersion))?;
            Value::Text(s)
        }
        Shape::Sha256 => {
            let (p, b) = r.bytes()?;
            if b.len() != 32 {
                return Err(err(p, K::BadDigestLength(b.len())));
            }
            Value::Bytes(b)
        }
        Shape::Id => {
            let (p, b) = r.bytes()?;
            if b.is_empty() || b.len() > MAX_ID_BYTES {
                return Err(err(p, K::BadLength(b.len())));
            }
            Value::Bytes(b)
        }
        Shape::Chunks => {
            let (p, b) = r.bytes()?;
            if b.len() % 32 != 0 {
                return Err(err(p, K::BadDigestLength(b.len())));
            }
            let n = b.len() / 32;
            if n > r.limits.max_chunks {
                return Err(limit(p, Limit::Chunks, n as u64));
            }
            Value::Bytes(b)
        }
        Shape::Layer => match r.u32()? {
            v @ (0..=3 | 256..) => Value::Uint(v.into()),
            _ => return Err(err(p, K::OutOfRange)),
        },
        Shape::Algorithm => match r.u32()? {
            v @ (0 | 1 | 256..) => Value::Uint(v.into()),
            _ => return Err(err(p, K::OutOfRange)),
        },
        Shape::SbomFormat => match r.uint()? {
            v @ (0 | 1) => Value::Uint(v),
            _ => return Err(err(p, K::OutOfRange)),
        },
        Shape::List(item, which) => {
            let n = r.array(*which, max_of(*which, r.limits))?;
            let body = r.pos();
            for _ in 0..n {
                read(r, item)?;
            }
            Value::List(r.since(body), n)
        }
        Shape::Record(items) => {
            r.record(items.len())?;
            for item in *items {
                read(r, item)?;
            }
            Value::Other
        }
        Shape::Component => {
            walk(r, COMPONENT, COMPONENT_EXT_DEPTH, |_, _| {})?;
            Value::Other
        }
    })
}

/// Walks one map of the schema: every key in canonical order, known fields checked by their
/// shape and handed to `keep`, extensions (negative keys) checked and skipped within their limit,
/// unknown non-negative keys refused; then the missing fields. Returns the map's offset.
pub(crate) fn walk<'a>(
    r: &mut Reader<'a, '_>,
    table: &[Field],
    ext_depth: usize,
    mut keep: impl FnMut(u64, Value<'a>),
) -> Result<usize> {
    let (start, n) = r.map()?;
    let mut keys = Keys::new();
    let mut seen = 0u64;
    let mut extensions = 0usize;
    for _ in 0..n {
        let (kpos, k) = r.key(&mut keys)?;
        match k {
            Key::Field(k) => {
                let Some(field) = table.iter().find(|f| f.key == k) else {
                    return Err(err(kpos, K::UnknownField(k)));
                };
                let v = read(r, &field.shape)?;
                seen |= bit(k);
                keep(k, v);
            }
            Key::Extension => {
                if extensions >= r.limits.max_extensions {
                    return Err(limit(kpos, Limit::Extensions, extensions as u64 + 1));
                }
                r.skip_item(ext_depth)?;
                extensions += 1;
            }
        }
    }
    let has = |k: u64| seen & bit(k) != 0;
    for f in table {
        if let Need::With(other) = f.need
            && has(f.key)
            && !has(other)
        {
            return Err(err(start, K::MissingField(other)));
        }
    }
    for f in table {
        if matches!(f.need, Need::Mandatory) && !has(f.key) {
            return Err(err(start, K::MissingField(f.key)));
        }
    }
    Ok(start)
}

/// The bit of a field key in the `seen` mask (every key of the tables is below 64).
fn bit(k: u64) -> u64 {
    1u64.checked_shl(u32::try_from(k).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::{COMPONENT, RELEASE};

    #[test]
    fn tables_are_in_key_order_and_fit_the_mask() {
        for t in [RELEASE, COMPONENT] {
            assert!(t.windows(2).all(|w| w[0].key < w[1].key));
            assert!(t.iter().all(|f| f.key < 64));
        }
    }
}
