//! The envelope: authentication wrapper, manifest, severed members.

use ota_cbor::{Keys, Reader};

use crate::cbor::{Digest, check_count, config, nested, read_digest, wrapped};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::manifest::{Manifest, Member, check_text, decode_severed_sequence};
use crate::schema::{
    ALG_ED25519, ALG_EDDSA, ALG_ES256, ALG_ESP256, ENV_AUTH, ENV_MANIFEST, MAN_INSTALL,
    MAN_PAYLOAD_FETCH, MAN_TEXT, TAG_ENVELOPE, TAG_SIGN1,
};

/// COSE header label of `alg`.
const LABEL_ALG: i64 = 1;
/// COSE header label of `kid`.
const LABEL_KID: i64 = 4;

/// One COSE_Sign1 of the authentication wrapper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoseSign1 {
    alg: i64,
    kid: Option<Vec<u8>>,
    pub(crate) protected: Vec<u8>,
    pub(crate) payload: Option<Vec<u8>>,
    pub(crate) signature: Vec<u8>,
}

impl CoseSign1 {
    /// The COSE algorithm id of the protected header.
    #[must_use]
    pub fn alg(&self) -> i64 {
        self.alg
    }

    /// The key id of the unprotected header, if any.
    #[must_use]
    pub fn kid(&self) -> Option<&[u8]> {
        self.kid.as_deref()
    }
}

/// A decoded SUIT envelope, not verified yet: call [`Envelope::verify`]. Read-only: what a
/// [`Verified`](crate::Verified) holds is exactly what was decoded from the signed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    digest: Digest,
    signatures: Vec<CoseSign1>,
    manifest: Manifest,
    /// The encoded `SUIT_Digest` (the signed payload).
    pub(crate) digest_bytes: Vec<u8>,
    /// The encoded manifest (the content of the byte string under key 3).
    pub(crate) manifest_bytes: Vec<u8>,
}

impl Envelope {
    /// Decodes an envelope under `limits` (strict CBOR, the supported subset of SUIT, limits),
    /// and checks severed members against their digests. It does not check the manifest digest
    /// or any signature: [`Envelope::verify`] does.
    ///
    /// # Errors
    /// Any [`Error`] of decoding, with the byte offset.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self> {
        if bytes.len() > limits.max_envelope {
            return Err(Error::TooLarge {
                size: bytes.len(),
                max: limits.max_envelope,
            });
        }
        let mut r = Reader::new(bytes, config(limits));
        let tag_at = r.offset();
        if let Some(tag) = r.opt_tag()?
            && tag != TAG_ENVELOPE
        {
            return Err(Error::Invalid {
                what: "not a SUIT envelope tag (107)",
                offset: tag_at,
            });
        }
        let map_at = r.offset();
        let n = r.map()?;
        let mut keys = Keys::new();
        let mut auth = None;
        let mut manifest = None;
        let mut severed: Vec<(i64, &[u8], usize)> = Vec::new();
        for _ in 0..n {
            let at = r.offset();
            let key = r.int_key(&mut keys)?;
            match key {
                ENV_AUTH => auth = Some(read_auth(&mut r, limits)?),
                ENV_MANIFEST => {
                    let (b, base) = wrapped(&mut r)?;
                    manifest = Some((b, base));
                }
                MAN_PAYLOAD_FETCH | MAN_INSTALL | MAN_TEXT => {
                    let (b, base) = wrapped(&mut r)?;
                    severed.push((key, b, base));
                }
                _ => return Err(Error::UnsupportedEnvelopeKey { key, offset: at }),
            }
        }
        r.finish()?;
        let (digest, digest_bytes, signatures) = auth.ok_or(Error::Missing {
            what: "authentication-wrapper",
            offset: map_at,
        })?;
        let (manifest_bytes, manifest_base) = manifest.ok_or(Error::Missing {
            what: "manifest",
            offset: map_at,
        })?;
        let mut manifest = Manifest::decode(manifest_bytes, manifest_base, limits)?;
        for (key, b, base) in severed {
            resolve_severed(&mut manifest, key, b, base, limits)?;
        }
        Ok(Self {
            digest,
            signatures,
            manifest,
            digest_bytes,
            manifest_bytes: manifest_bytes.to_vec(),
        })
    }

    /// The digest of the manifest the authentication wrapper gives.
    #[must_use]
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The COSE_Sign1 structures of the authentication wrapper.
    #[must_use]
    pub fn signatures(&self) -> &[CoseSign1] {
        &self.signatures
    }

    /// The decoded manifest (severed members the envelope carries are resolved).
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The encoded manifest whose SHA-256 is the wrapper's digest.
    #[must_use]
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }
}

/// Checks one severed member against the digest its manifest entry gives, and decodes it.
fn resolve_severed(
    manifest: &mut Manifest,
    key: i64,
    bytes: &[u8],
    base: usize,
    limits: &Limits,
) -> Result<()> {
    let unexpected = Error::UnexpectedSevered { key, offset: base };
    let expected = match key {
        MAN_PAYLOAD_FETCH => severed_digest(manifest.payload_fetch.as_ref()),
        MAN_INSTALL => severed_digest(manifest.install.as_ref()),
        _ => severed_digest(manifest.text.as_ref()),
    }
    .ok_or(unexpected)?;
    if severed_hash(bytes) != expected {
        return Err(Error::SeveredDigestMismatch { key });
    }
    match key {
        MAN_PAYLOAD_FETCH | MAN_INSTALL => {
            let commands = decode_severed_sequence(bytes, base, limits)?;
            let slot = if key == MAN_INSTALL {
                &mut manifest.install
            } else {
                &mut manifest.payload_fetch
            };
            if let Some(Member::Severed { resolved, .. }) = slot {
                *resolved = Some(commands);
            }
        }
        _ => {
            check_text(bytes, base, limits)?;
            if let Some(Member::Severed { resolved, .. }) = &mut manifest.text {
                *resolved = Some(bytes.to_vec());
            }
        }
    }
    Ok(())
}

fn severed_digest<T>(m: Option<&Member<T>>) -> Option<Digest> {
    match m {
        Some(Member::Severed {
            digest,
            resolved: None,
        }) => Some(*digest),
        _ => None,
    }
}

/// The digest of a severed member: over the byte string holding it, head included
/// (draft-ietf-suit-manifest §8.4.7 / the examples).
pub(crate) fn severed_hash(content: &[u8]) -> Digest {
    let mut item = Vec::with_capacity(content.len() + 9);
    ota_cbor::write_bytes(&mut item, content);
    Digest::of(&item)
}

type Auth = (Digest, Vec<u8>, Vec<CoseSign1>);

/// The authentication wrapper: `bstr .cbor [bstr .cbor SUIT_Digest, 1*N bstr .cbor COSE_Sign1]`.
fn read_auth(r: &mut Reader<'_>, limits: &Limits) -> Result<Auth> {
    let (b, base) = wrapped(r)?;
    let mut r = nested(b, base, limits);
    let at = r.offset();
    let n = r.array()?;
    if n < 2 {
        return Err(Error::Invalid {
            what: "authentication wrapper without a signature",
            offset: at,
        });
    }
    check_count("signatures", n - 1, limits.max_signatures, at)?;
    let (db, dbase) = wrapped(&mut r)?;
    let mut dr = nested(db, dbase, limits);
    let digest = read_digest(&mut dr)?;
    dr.finish()?;
    let mut sigs = Vec::with_capacity(n - 1);
    for _ in 1..n {
        let (sb, sbase) = wrapped(&mut r)?;
        sigs.push(read_sign1(sb, sbase, limits)?);
    }
    r.finish()?;
    Ok((digest, db.to_vec(), sigs))
}

/// `COSE_Sign1_Tagged = #6.18([protected: bstr, unprotected: map, payload: bstr / nil,
/// signature: bstr])`.
fn read_sign1(bytes: &[u8], base: usize, limits: &Limits) -> Result<CoseSign1> {
    let mut r = nested(bytes, base, limits);
    let at = r.offset();
    if r.tag()? != TAG_SIGN1 {
        return Err(Error::Invalid {
            what: "not a COSE_Sign1 tag (18)",
            offset: at,
        });
    }
    let arr_at = r.offset();
    if r.array()? != 4 {
        return Err(Error::Invalid {
            what: "COSE_Sign1 is not a 4-element array",
            offset: arr_at,
        });
    }
    let (protected, pbase) = wrapped(&mut r)?;
    let alg = read_protected(protected, pbase, limits)?;
    let kid = read_unprotected(&mut r)?;
    let payload = if r.peek_null() {
        r.null()?;
        None
    } else {
        Some(r.bytes()?.to_vec())
    };
    let signature = r.bytes()?.to_vec();
    r.finish()?;
    Ok(CoseSign1 {
        alg,
        kid,
        protected: protected.to_vec(),
        payload,
        signature,
    })
}

/// The protected header: exactly `{1: alg}`.
fn read_protected(bytes: &[u8], base: usize, limits: &Limits) -> Result<i64> {
    let mut r = nested(bytes, base, limits);
    let at = r.offset();
    if bytes.is_empty() {
        return Err(Error::Missing {
            what: "protected alg",
            offset: at,
        });
    }
    let n = r.map()?;
    let mut keys = Keys::new();
    let mut alg = None;
    for _ in 0..n {
        let k_at = r.offset();
        match r.int_key(&mut keys)? {
            LABEL_ALG => {
                let a_at = r.offset();
                let a = r.int()?;
                if ![ALG_ES256, ALG_ESP256, ALG_EDDSA, ALG_ED25519].contains(&a) {
                    return Err(Error::UnsupportedAlgorithm {
                        alg: a,
                        offset: a_at,
                    });
                }
                alg = Some(a);
            }
            label => {
                return Err(Error::UnsupportedHeader {
                    label,
                    offset: k_at,
                });
            }
        }
    }
    r.finish()?;
    alg.ok_or(Error::Missing {
        what: "protected alg",
        offset: at,
    })
}

/// The unprotected header: empty, or `{4: kid}`.
fn read_unprotected(r: &mut Reader<'_>) -> Result<Option<Vec<u8>>> {
    let n = r.map()?;
    let mut keys = Keys::new();
    let mut kid = None;
    for _ in 0..n {
        let k_at = r.offset();
        let label = match r.key(&mut keys)? {
            ota_cbor::Key::Uint(k) => i64::try_from(k).unwrap_or(i64::MAX),
            ota_cbor::Key::Negative(k) => i64::try_from(k).map_or(i64::MIN, |k| -1 - k),
            _ => {
                return Err(Error::Invalid {
                    what: "COSE header label is not an integer",
                    offset: k_at,
                });
            }
        };
        if label != LABEL_KID {
            return Err(Error::UnsupportedHeader {
                label,
                offset: k_at,
            });
        }
        kid = Some(r.bytes()?.to_vec());
    }
    Ok(kid)
}
