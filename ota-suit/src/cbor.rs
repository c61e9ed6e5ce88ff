//! Reading helpers over `ota-cbor`'s strict reader: the configuration, byte strings that wrap
//! CBOR (read with absolute offsets), and the SUIT digest.

use ota_cbor::{Config, Reader, Tags};

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::schema::{ALG_SHA256, TAG_ENVELOPE, TAG_SIGN1};

/// A SHA-256 digest as SUIT writes it: `[-16, bstr .size 32]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The SHA-256 of `data`.
    #[must_use]
    pub fn of(data: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(data).into())
    }

    /// The 32 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The deterministic configuration with the envelope's two tags allowed and the depth limit.
pub(crate) fn config(limits: &Limits) -> Config {
    Config::DETERMINISTIC
        .tags(Tags::Only(&[TAG_ENVELOPE, TAG_SIGN1]))
        .max_depth(limits.max_depth)
}

/// A byte string and the absolute offset of its content.
pub(crate) fn wrapped<'a>(r: &mut Reader<'a>) -> Result<(&'a [u8], usize)> {
    let b = r.bytes()?;
    Ok((b, r.offset() - b.len()))
}

/// A reader over the content of a byte string read by [`wrapped`].
pub(crate) fn nested<'a>(bytes: &'a [u8], base: usize, limits: &Limits) -> Reader<'a> {
    Reader::new(bytes, config(limits)).with_base(base)
}

/// Reads a `SUIT_Digest` array at the reader's position.
pub(crate) fn read_digest(r: &mut Reader<'_>) -> Result<Digest> {
    let at = r.offset();
    if r.array()? != 2 {
        return Err(Error::Invalid {
            what: "SUIT_Digest is not [algorithm, bytes]",
            offset: at,
        });
    }
    let alg_at = r.offset();
    let alg = r.int()?;
    if alg != ALG_SHA256 {
        return Err(Error::UnsupportedDigestAlgorithm {
            alg,
            offset: alg_at,
        });
    }
    let bytes_at = r.offset();
    let b = r.bytes()?;
    let d = <[u8; 32]>::try_from(b).map_err(|_| Error::Invalid {
        what: "SHA-256 digest is not 32 bytes",
        offset: bytes_at,
    })?;
    Ok(Digest(d))
}

/// A digest that fills a whole byte string (`bstr .cbor SUIT_Digest`).
pub(crate) fn read_wrapped_digest(r: &mut Reader<'_>, limits: &Limits) -> Result<Digest> {
    let (b, base) = wrapped(r)?;
    let mut inner = nested(b, base, limits);
    let d = read_digest(&mut inner)?;
    inner.finish()?;
    Ok(d)
}

/// A count checked against a limit.
pub(crate) fn check_count(
    what: &'static str,
    count: usize,
    max: usize,
    offset: usize,
) -> Result<()> {
    if count > max {
        return Err(Error::TooMany {
            what,
            count: count as u64,
            max,
            offset,
        });
    }
    Ok(())
}

/// A text string checked against a length limit.
pub(crate) fn read_text_limited(
    r: &mut Reader<'_>,
    what: &'static str,
    max: usize,
) -> Result<String> {
    let at = r.offset();
    let t = r.text()?;
    if t.len() > max {
        return Err(Error::TooLong {
            what,
            len: t.len(),
            max,
            offset: at,
        });
    }
    Ok(t.to_owned())
}

/// A byte string of 1 to `max` bytes.
pub(crate) fn read_id(r: &mut Reader<'_>, what: &'static str, max: usize) -> Result<Vec<u8>> {
    let at = r.offset();
    let b = r.bytes()?;
    if b.len() > max {
        return Err(Error::TooLong {
            what,
            len: b.len(),
            max,
            offset: at,
        });
    }
    if b.is_empty() {
        return Err(Error::Invalid {
            what: "empty identifier",
            offset: at,
        });
    }
    Ok(b.to_vec())
}
