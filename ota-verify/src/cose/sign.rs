//! Signing COSE_Sign1 and COSE_Sign envelopes (with `alloc`).

use alloc::vec::Vec;

use super::*;
use crate::key::Signer;

/// What goes into the headers of an envelope this crate signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignOptions<'a> {
    /// `alg` to write: [`COSE_ALG_EDDSA`] (default) or [`COSE_ALG_ED25519`].
    pub alg: i64,
    /// `content type`, if any.
    pub content_type: Option<ContentType<'a>>,
    /// Release sequence number (anti-rollback), if any.
    pub sequence: Option<u64>,
    /// Expiry in Unix seconds (anti-freeze), if any.
    pub expires: Option<u64>,
    /// Leave the payload out of the envelope (`nil`); the verifier supplies it.
    pub detached: bool,
    /// External additional authenticated data (empty by default).
    pub aad: &'a [u8],
}

impl Default for SignOptions<'_> {
    fn default() -> Self {
        Self {
            alg: COSE_ALG_EDDSA,
            content_type: None,
            sequence: None,
            expires: None,
            detached: false,
            aad: &[],
        }
    }
}

/// Canonical order of labels (RFC 8949 §4.2.1, bytewise on the encoded label):
/// 1, 2, 3, 4, -65537, -65538.
fn protected_map(
    alg: Option<i64>,
    opts: &SignOptions<'_>,
    body: bool,
    kid: Option<&[u8]>,
) -> Result<Vec<u8>> {
    let mut crit: Vec<i64> = Vec::new();
    if body {
        if opts.sequence.is_some() {
            crit.push(LABEL_SEQUENCE);
        }
        if opts.expires.is_some() {
            crit.push(LABEL_EXPIRES);
        }
    }
    let ct = if body { opts.content_type } else { None };
    let seq = if body { opts.sequence } else { None };
    let exp = if body { opts.expires } else { None };
    let n = alg.is_some() as u64
        + !crit.is_empty() as u64
        + ct.is_some() as u64
        + kid.is_some() as u64
        + seq.is_some() as u64
        + exp.is_some() as u64;
    let mut m = Vec::new();
    if n == 0 {
        // RFC 9052 §3: an empty protected header is a zero-length bstr.
        return Ok(m);
    }
    ota_cbor::write_head(&mut m, Major::Map, n);
    if let Some(alg) = alg {
        ota_cbor::write_int(&mut m, LABEL_ALG);
        ota_cbor::write_int(&mut m, alg);
    }
    if !crit.is_empty() {
        ota_cbor::write_int(&mut m, LABEL_CRIT);
        write_array(&mut m, crit.len());
        for l in &crit {
            ota_cbor::write_int(&mut m, *l);
        }
    }
    match ct {
        Some(ContentType::Text(t)) => {
            ota_cbor::write_int(&mut m, LABEL_CONTENT_TYPE);
            write_text(&mut m, t);
        }
        Some(ContentType::Uint(u)) => {
            ota_cbor::write_int(&mut m, LABEL_CONTENT_TYPE);
            ota_cbor::write_uint(&mut m, u);
        }
        None => {}
    }
    if let Some(kid) = kid {
        ota_cbor::write_int(&mut m, LABEL_KID);
        write_bytes(&mut m, kid);
    }
    if let Some(seq) = seq {
        ota_cbor::write_int(&mut m, LABEL_SEQUENCE);
        ota_cbor::write_uint(&mut m, seq);
    }
    if let Some(exp) = exp {
        ota_cbor::write_int(&mut m, LABEL_EXPIRES);
        ota_cbor::write_uint(&mut m, exp);
    }
    Ok(m)
}

fn check_alg(alg: i64) -> Result<()> {
    match alg {
        COSE_ALG_EDDSA | COSE_ALG_ED25519 => Ok(()),
        _ => Err(Error::UnsupportedAlgorithm { alg }),
    }
}

/// Signs `payload` into a tagged COSE_Sign1 with `alg`, `kid` (the signer's [`crate::KeyId`]),
/// and the options' content type, sequence and expiry, all in the protected header.
///
/// # Errors
/// [`Error::UnsupportedAlgorithm`] for an `alg` other than -8/-19; the signer's error.
pub fn sign1(payload: &[u8], signer: &dyn Signer, opts: &SignOptions<'_>) -> Result<Vec<u8>> {
    check_alg(opts.alg)?;
    let kid = signer.public_key().key_id();
    let protected = protected_map(Some(opts.alg), opts, true, Some(kid.as_bytes()))?;
    let mut tbs = Vec::new();
    write_sig_structure(&mut tbs, &protected, None, opts.aad, payload);
    let sig = signer.sign(&tbs)?;
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 96);
    ota_cbor::write_tag(&mut out, TAG_SIGN1);
    write_array(&mut out, 4);
    write_bytes(&mut out, &protected);
    ota_cbor::write_map(&mut out, 0);
    if opts.detached {
        out.push(0xf6);
    } else {
        write_bytes(&mut out, payload);
    }
    write_bytes(&mut out, &sig);
    Ok(out)
}

/// Signs `payload` into a tagged COSE_Sign with one COSE_Signature per signer (each with
/// `alg` and `kid` protected). Content type, sequence and expiry go in the body's protected
/// header, so every signature covers them.
///
/// # Errors
/// [`Error::LimitExceeded`] for no signer or more than [`MAX_SIGNATURES`];
/// [`Error::UnsupportedAlgorithm`]; the signers' errors.
pub fn sign(payload: &[u8], signers: &[&dyn Signer], opts: &SignOptions<'_>) -> Result<Vec<u8>> {
    check_alg(opts.alg)?;
    if signers.is_empty() || signers.len() > MAX_SIGNATURES {
        return Err(Error::LimitExceeded {
            what: "signatures in one envelope (1 to 16)",
            limit: MAX_SIGNATURES,
        });
    }
    let body = protected_map(None, opts, true, None)?;
    let mut out = Vec::with_capacity(body.len() + payload.len() + 128 * signers.len());
    ota_cbor::write_tag(&mut out, TAG_SIGN);
    write_array(&mut out, 4);
    write_bytes(&mut out, &body);
    ota_cbor::write_map(&mut out, 0);
    if opts.detached {
        out.push(0xf6);
    } else {
        write_bytes(&mut out, payload);
    }
    write_array(&mut out, signers.len());
    let mut tbs = Vec::new();
    for signer in signers {
        let kid = signer.public_key().key_id();
        let sp = protected_map(Some(opts.alg), opts, false, Some(kid.as_bytes()))?;
        tbs.clear();
        write_sig_structure(&mut tbs, &body, Some(&sp), opts.aad, payload);
        let sig = signer.sign(&tbs)?;
        write_array(&mut out, 3);
        write_bytes(&mut out, &sp);
        ota_cbor::write_map(&mut out, 0);
        write_bytes(&mut out, &sig);
    }
    Ok(out)
}
