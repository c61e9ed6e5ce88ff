//! COSE_Sign1 and COSE_Sign envelopes (RFC 9052) with EdDSA / Ed25519: decoding from a caller
//! buffer without allocation, strict signature checks over the exact received bytes, and
//! (with `alloc`) signing.

use ota_cbor::{write_array, write_bytes, write_text};

use crate::cbor::{Major, Reader, Sink};
use crate::error::{Error, Result};
use crate::key::{PublicKey, SIGNATURE_LEN};

/// COSE algorithm identifier for EdDSA (RFC 9053 §2.2), polymorphic; here always Ed25519.
pub const COSE_ALG_EDDSA: i64 = -8;
/// COSE algorithm identifier for Ed25519 from the fully-specified algorithms registry
/// (draft-ietf-jose-fully-specified-algorithms, used by SUIT).
pub const COSE_ALG_ED25519: i64 = -19;

/// CBOR tag of a COSE_Sign1 (RFC 9052 §4.2).
pub const TAG_SIGN1: u64 = 18;
/// CBOR tag of a COSE_Sign (RFC 9052 §4.1).
pub const TAG_SIGN: u64 = 98;

/// Header label `alg`.
pub const LABEL_ALG: i64 = 1;
/// Header label `crit`.
pub const LABEL_CRIT: i64 = 2;
/// Header label `content type`.
pub const LABEL_CONTENT_TYPE: i64 = 3;
/// Header label `kid`.
pub const LABEL_KID: i64 = 4;
/// Private-use header label carrying the release sequence number (anti-rollback). Protected
/// header only, listed in `crit`.
pub const LABEL_SEQUENCE: i64 = -65537;
/// Private-use header label carrying the expiry time in seconds since the Unix epoch
/// (anti-freeze). Protected header only, listed in `crit`.
pub const LABEL_EXPIRES: i64 = -65538;

/// Most signatures one COSE_Sign may carry; more is refused, so verification cost is bounded.
pub const MAX_SIGNATURES: usize = 16;
/// Most labels one header layer (protected + unprotected) may carry.
pub const MAX_HEADER_LABELS: usize = 16;

/// The COSE content type of a signed trust root.
pub const CONTENT_TYPE_TRUST_ROOT: &str = "application/vnd.ota.trust-root+cbor";

/// A COSE `content type` header value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType<'a> {
    /// A media type string.
    Text(&'a str),
    /// A CoAP content-format number.
    Uint(u64),
}

/// The header parameters this crate interprets, merged from the protected and unprotected
/// buckets of one layer. Other labels are skipped; duplicates are refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Headers<'a> {
    /// `alg` (must be protected).
    pub alg: Option<i64>,
    /// `kid` (protected or unprotected; this crate writes it protected).
    pub kid: Option<&'a [u8]>,
    /// `content type`.
    pub content_type: Option<ContentType<'a>>,
    /// Release sequence number ([`LABEL_SEQUENCE`], must be protected).
    pub sequence: Option<u64>,
    /// Expiry, Unix seconds ([`LABEL_EXPIRES`], must be protected).
    pub expires: Option<u64>,
}

/// Which COSE structure an envelope is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// COSE_Sign1: one signer, headers in the body.
    Sign1,
    /// COSE_Sign: one or more COSE_Signature entries.
    Sign,
}

/// One signature of an envelope.
#[derive(Clone, Copy, Debug, Default)]
pub struct SignatureEntry<'a> {
    /// The signer's serialized protected header, exactly as received (`None` for COSE_Sign1,
    /// whose signer headers are the body's).
    pub(crate) protected: Option<&'a [u8]>,
    pub(crate) headers: Headers<'a>,
    pub(crate) signature: &'a [u8],
}

impl<'a> SignatureEntry<'a> {
    /// The signer's headers (for COSE_Sign1, the body's).
    pub fn headers(&self) -> &Headers<'a> {
        &self.headers
    }

    /// The signature bytes.
    pub fn signature(&self) -> &'a [u8] {
        self.signature
    }
}

/// A decoded envelope, borrowing from the input buffer. Nothing in it is trusted until a
/// signature check has passed.
#[derive(Clone, Debug)]
pub struct Envelope<'a> {
    kind: Kind,
    body_protected: &'a [u8],
    headers: Headers<'a>,
    payload: Option<&'a [u8]>,
    entries: [SignatureEntry<'a>; MAX_SIGNATURES],
    count: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Label<'a> {
    Int(i64),
    Text(&'a str),
}

struct LabelSet<'a> {
    labels: [Option<Label<'a>>; MAX_HEADER_LABELS],
    n: usize,
}

impl<'a> LabelSet<'a> {
    fn new() -> Self {
        Self {
            labels: [None; MAX_HEADER_LABELS],
            n: 0,
        }
    }

    fn insert(&mut self, label: Label<'a>, offset: usize) -> Result<()> {
        if self.labels.iter().flatten().any(|l| *l == label) {
            return Err(Error::Malformed {
                offset,
                reason: "duplicate header label (in one bucket or in both)",
            });
        }
        let slot = self.labels.get_mut(self.n).ok_or(Error::LimitExceeded {
            what: "header labels",
            limit: MAX_HEADER_LABELS,
        })?;
        *slot = Some(label);
        self.n += 1;
        Ok(())
    }
}

fn parse_header_map<'a>(
    r: &mut Reader<'a>,
    seen: &mut LabelSet<'a>,
    protected: bool,
    h: &mut Headers<'a>,
) -> Result<()> {
    let map_at = r.offset();
    let entries = r.map()?;
    // Labels listed in crit, which RFC 9052 §3.1 requires to be present in this header.
    let (mut crit_sequence, mut crit_expires) = (false, false);
    for _ in 0..entries {
        let at = r.offset();
        let label = match r.peek_major()? {
            Major::Uint | Major::Negative => Label::Int(r.int()?),
            Major::Text => Label::Text(r.tstr()?),
            _ => return Err(r.err("header label is not an integer or text")),
        };
        seen.insert(label, at)?;
        let must_protect = |reason| {
            if protected {
                Ok(())
            } else {
                Err(Error::Malformed { offset: at, reason })
            }
        };
        match label {
            Label::Int(LABEL_ALG) => {
                must_protect("alg must be in the protected header")?;
                h.alg = Some(r.int()?);
            }
            Label::Int(LABEL_CRIT) => {
                must_protect("crit must be in the protected header")?;
                let n = r.array()?;
                if n == 0 {
                    return Err(r.err("crit is empty"));
                }
                for _ in 0..n {
                    let at = r.offset();
                    match r.peek_major()? {
                        Major::Uint | Major::Negative => match r.int()? {
                            LABEL_SEQUENCE => crit_sequence = true,
                            LABEL_EXPIRES => crit_expires = true,
                            _ => {
                                return Err(Error::Malformed {
                                    offset: at,
                                    reason: "critical header not understood",
                                });
                            }
                        },
                        _ => {
                            return Err(Error::Malformed {
                                offset: at,
                                reason: "critical header not understood",
                            });
                        }
                    }
                }
            }
            Label::Int(LABEL_CONTENT_TYPE) => {
                h.content_type = Some(match r.peek_major()? {
                    Major::Uint => ContentType::Uint(r.uint()?),
                    _ => ContentType::Text(r.tstr()?),
                });
            }
            Label::Int(LABEL_KID) => h.kid = Some(r.bstr()?),
            Label::Int(LABEL_SEQUENCE) => {
                must_protect("sequence must be in the protected header")?;
                h.sequence = Some(r.uint()?);
            }
            Label::Int(LABEL_EXPIRES) => {
                must_protect("expiry must be in the protected header")?;
                h.expires = Some(r.uint()?);
            }
            // RFC 9052 §3: labels a recipient does not know and that are not critical are ignored.
            _ => r.skip(1)?,
        }
    }
    if (crit_sequence && h.sequence.is_none()) || (crit_expires && h.expires.is_none()) {
        return Err(Error::Malformed {
            offset: map_at,
            reason: "critical header listed in crit but absent",
        });
    }
    Ok(())
}

/// Reads a protected-header bstr and returns its exact bytes; decodes the map inside it.
fn parse_protected<'a>(
    r: &mut Reader<'a>,
    seen: &mut LabelSet<'a>,
    h: &mut Headers<'a>,
) -> Result<&'a [u8]> {
    let (bytes, at) = r.bstr_at()?;
    if !bytes.is_empty() {
        let mut inner = Reader::with_base(bytes, at);
        parse_header_map(&mut inner, seen, true, h)?;
        inner.finish()?;
    }
    Ok(bytes)
}

impl<'a> Envelope<'a> {
    /// Decodes a COSE_Sign1 or COSE_Sign, tagged (18 / 98) or untagged, from `bytes`.
    ///
    /// No allocation; every error carries the byte offset. Headers other than `alg`, `crit`,
    /// `content type`, `kid` and this crate's sequence/expiry labels are skipped.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::LimitExceeded`].
    pub fn decode(bytes: &'a [u8]) -> Result<Self> {
        let mut env = Self::empty();
        env.decode_in(bytes)?;
        Ok(env)
    }

    /// An envelope with no signature, to decode into ([`Envelope::decode_in`]).
    pub(crate) fn empty() -> Self {
        Self {
            kind: Kind::Sign1,
            body_protected: &[],
            headers: Headers::default(),
            payload: None,
            entries: [SignatureEntry::default(); MAX_SIGNATURES],
            count: 0,
        }
    }

    /// [`Envelope::decode`] into `self` (no copy of the envelope: it is about 1.5 KiB on a
    /// 32-bit target). On error `self` holds no signature.
    pub(crate) fn decode_in(&mut self, bytes: &'a [u8]) -> Result<()> {
        self.count = 0;
        self.count = self.decode_fields(bytes)?;
        Ok(())
    }

    /// Decodes every field but `count` into `self`; returns the number of signatures.
    fn decode_fields(&mut self, bytes: &'a [u8]) -> Result<usize> {
        let mut r = Reader::new(bytes);
        let tag = r.opt_tag()?;
        let tag_kind = match tag {
            None => None,
            Some(TAG_SIGN1) => Some(Kind::Sign1),
            Some(TAG_SIGN) => Some(Kind::Sign),
            Some(_) => {
                return Err(Error::Malformed {
                    offset: 0,
                    reason: "tag is neither COSE_Sign1 (18) nor COSE_Sign (98)",
                });
            }
        };
        let at = r.offset();
        if r.array()? != 4 {
            return Err(Error::Malformed {
                offset: at,
                reason: "COSE_Sign / COSE_Sign1 must be an array of 4",
            });
        }
        let mut seen = LabelSet::new();
        let mut headers = Headers::default();
        let body_protected = parse_protected(&mut r, &mut seen, &mut headers)?;
        parse_header_map(&mut r, &mut seen, false, &mut headers)?;
        let payload = if r.peek_null() {
            r.null()?;
            None
        } else {
            Some(r.bstr()?)
        };
        let kind = match (tag_kind, r.peek_major()?) {
            (Some(Kind::Sign1) | None, Major::Bytes) => Kind::Sign1,
            (Some(Kind::Sign) | None, Major::Array) => Kind::Sign,
            _ => return Err(r.err("last element does not match the envelope type")),
        };
        self.kind = kind;
        self.body_protected = body_protected;
        self.headers = headers;
        self.payload = payload;
        self.entries.fill(SignatureEntry::default());
        let count = match kind {
            Kind::Sign1 => {
                let first = self.entries.first_mut().ok_or(Error::LimitExceeded {
                    what: "signatures in one envelope",
                    limit: MAX_SIGNATURES,
                })?;
                *first = SignatureEntry {
                    protected: None,
                    headers,
                    signature: r.bstr()?,
                };
                1
            }
            Kind::Sign => {
                let at = r.offset();
                let n = r.array()?;
                if n == 0 {
                    return Err(Error::Malformed {
                        offset: at,
                        reason: "COSE_Sign has no signatures",
                    });
                }
                if n > MAX_SIGNATURES {
                    return Err(Error::LimitExceeded {
                        what: "signatures in one envelope",
                        limit: MAX_SIGNATURES,
                    });
                }
                for slot in self.entries.iter_mut().take(n) {
                    let at = r.offset();
                    if r.array()? != 3 {
                        return Err(Error::Malformed {
                            offset: at,
                            reason: "COSE_Signature must be an array of 3",
                        });
                    }
                    let mut seen = LabelSet::new();
                    let mut h = Headers::default();
                    let protected = parse_protected(&mut r, &mut seen, &mut h)?;
                    parse_header_map(&mut r, &mut seen, false, &mut h)?;
                    *slot = SignatureEntry {
                        protected: Some(protected),
                        headers: h,
                        signature: r.bstr()?,
                    };
                }
                n
            }
        };
        r.finish()?;
        Ok(count)
    }

    /// COSE_Sign1 or COSE_Sign.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The body headers (for COSE_Sign1 these include `alg` and `kid`).
    pub fn headers(&self) -> &Headers<'a> {
        &self.headers
    }

    /// The body's serialized protected header, exactly as received.
    pub fn body_protected(&self) -> &'a [u8] {
        self.body_protected
    }

    /// The attached payload, or `None` when detached. Untrusted until verified.
    pub fn payload(&self) -> Option<&'a [u8]> {
        self.payload
    }

    /// The signature entries.
    pub fn signatures(&self) -> &[SignatureEntry<'a>] {
        self.entries.get(..self.count).unwrap_or_default()
    }

    /// Picks the payload to verify: the attached one, or the caller's detached one.
    ///
    /// # Errors
    /// [`Error::Payload`] when both or neither are present.
    pub fn resolve_payload<'p>(&self, detached: Option<&'p [u8]>) -> Result<&'p [u8]>
    where
        'a: 'p,
    {
        match (self.payload, detached) {
            (Some(p), None) => Ok(p),
            (None, Some(p)) => Ok(p),
            (Some(_), Some(_)) => Err(Error::Payload {
                reason: "payload both attached and supplied",
            }),
            (None, None) => Err(Error::Payload {
                reason: "detached payload not supplied",
            }),
        }
    }

    /// Writes the COSE `Sig_structure` of signature `entry` into `sink`.
    pub(crate) fn write_tbs<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        entry: &SignatureEntry<'_>,
        aad: &[u8],
        payload: &[u8],
    ) {
        write_sig_structure(sink, self.body_protected, entry.protected, aad, payload);
    }

    /// The exact `Sig_structure` bytes of signature `index` (for batch verification and tests).
    ///
    /// # Errors
    /// [`Error::Payload`] as [`Envelope::resolve_payload`]; [`Error::LimitExceeded`] if `index`
    /// is out of range.
    #[cfg(feature = "alloc")]
    pub fn to_be_signed(
        &self,
        index: usize,
        aad: &[u8],
        detached: Option<&[u8]>,
    ) -> Result<alloc::vec::Vec<u8>> {
        let entry = self.signatures().get(index).ok_or(Error::LimitExceeded {
            what: "signature index",
            limit: self.count,
        })?;
        let payload = self.resolve_payload(detached)?;
        let mut out = alloc::vec::Vec::new();
        self.write_tbs(&mut out, entry, aad, payload);
        Ok(out)
    }

    /// Checks signature `entry` against `key` with `verify_strict` semantics, streaming the
    /// `Sig_structure` into the verifier (no buffer, no allocation). Checks the algorithm too.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`] if `alg` is missing or not EdDSA/Ed25519, else
    /// [`Error::BadSignature`] (opaque).
    pub fn verify_entry(
        &self,
        entry: &SignatureEntry<'_>,
        key: &PublicKey,
        aad: &[u8],
        payload: &[u8],
    ) -> Result<()> {
        match entry.headers.alg {
            Some(COSE_ALG_EDDSA | COSE_ALG_ED25519) => {}
            Some(alg) => return Err(Error::UnsupportedAlgorithm { alg }),
            None => return Err(Error::UnsupportedAlgorithm { alg: 0 }),
        }
        let sig: &[u8; SIGNATURE_LEN] = entry
            .signature
            .try_into()
            .map_err(|_| Error::BadSignature)?;
        let mut verifier = key.strict_stream(sig)?;
        self.write_tbs(&mut verifier, entry, aad, payload);
        verifier.finish()
    }
}

/// `Sig_structure` (RFC 9052 §4.4): `["Signature1", body_protected, external_aad, payload]` or
/// `["Signature", body_protected, sign_protected, external_aad, payload]`, with the protected
/// headers as the exact bytes received.
pub(crate) fn write_sig_structure<S: Sink + ?Sized>(
    s: &mut S,
    body_protected: &[u8],
    sign_protected: Option<&[u8]>,
    aad: &[u8],
    payload: &[u8],
) {
    match sign_protected {
        None => {
            write_array(s, 4);
            write_text(s, "Signature1");
            write_bytes(s, body_protected);
        }
        Some(sp) => {
            write_array(s, 5);
            write_text(s, "Signature");
            write_bytes(s, body_protected);
            write_bytes(s, sp);
        }
    }
    write_bytes(s, aad);
    write_bytes(s, payload);
}

#[cfg(feature = "alloc")]
pub use sign::{SignOptions, sign, sign1};

#[cfg(feature = "alloc")]
mod sign;
