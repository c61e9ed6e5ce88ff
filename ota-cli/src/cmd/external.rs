//! External signing (a KMS, an offline ceremony, any tool that signs raw Ed25519): `ota sign
//! --external PUB --export-to-be-signed TBS` leaves that signer's signature as 64 zero bytes and
//! writes the exact COSE `Sig_structure` bytes it must sign; `ota sign ENVELOPE --attach SIG
//! --external PUB` checks the signature against those bytes and puts it in place.

use crate::fail::{CmdResult, Fail};
use crate::files;
use ota_verify::{Envelope, PublicKey, SIGNATURE_LEN, Signer};
use std::cell::RefCell;
use std::path::Path;

/// A signer whose private key is elsewhere: it records the bytes it is asked to sign and answers
/// with a placeholder of 64 zero bytes, which `--attach` replaces.
pub struct Deferred {
    public: PublicKey,
    to_be_signed: RefCell<Option<Vec<u8>>>,
}

impl Deferred {
    pub fn new(public: PublicKey) -> Self {
        Self {
            public,
            to_be_signed: RefCell::new(None),
        }
    }

    /// The `Sig_structure` this signer was asked to sign, once signing has run.
    pub fn to_be_signed(&self) -> Option<Vec<u8>> {
        self.to_be_signed.borrow().clone()
    }
}

impl Signer for Deferred {
    fn public_key(&self) -> PublicKey {
        self.public
    }

    fn sign(&self, message: &[u8]) -> ota_verify::Result<[u8; SIGNATURE_LEN]> {
        *self.to_be_signed.borrow_mut() = Some(message.to_vec());
        Ok([0; SIGNATURE_LEN])
    }
}

/// Reads a raw 64-byte Ed25519 signature (what `openssl pkeyutl -sign -rawin` writes).
pub fn read_signature(path: &Path) -> CmdResult<[u8; SIGNATURE_LEN]> {
    let bytes = files::read_limited(path, files::KEY)?;
    <[u8; SIGNATURE_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
        Fail::in_file(
            path,
            format!(
                "not a raw Ed25519 signature: {} bytes, expected {SIGNATURE_LEN}",
                bytes.len()
            ),
        )
    })
}

/// Puts `signature` by `key` into `envelope` in place of that signer's current signature, after
/// checking it over the signer's exact `Sig_structure`. Returns the new envelope and the index of
/// the signature entry.
pub fn attach(
    envelope: &[u8],
    detached: Option<&[u8]>,
    key: &PublicKey,
    signature: &[u8; SIGNATURE_LEN],
) -> CmdResult<(Vec<u8>, usize)> {
    let env =
        Envelope::decode(envelope).map_err(|e| Fail::input(format!("not a COSE envelope: {e}")))?;
    let kid = key.key_id();
    let index = env
        .signatures()
        .iter()
        .position(|s| s.headers().kid == Some(kid.as_bytes().as_slice()))
        .ok_or_else(|| {
            Fail::refused(format!("the envelope has no signature entry for key {kid}"))
        })?;
    let tbs = env
        .to_be_signed(index, &[], detached)
        .map_err(|e| Fail::input(format!("cannot rebuild the bytes to sign: {e}")))?;
    key.verify_strict(&tbs, signature).map_err(|_| {
        Fail::refused(format!(
            "the signature is not key {kid}'s signature over this envelope's bytes to sign"
        ))
    })?;
    let old = env
        .signatures()
        .get(index)
        .map(|s| s.signature())
        .unwrap_or_default();
    // The entry's signature borrows from `envelope`: its offset is where the new one goes. Same
    // length, so the CBOR around it is unchanged.
    let at = (old.as_ptr() as usize).wrapping_sub(envelope.as_ptr() as usize);
    let mut out = envelope.to_vec();
    match out.get_mut(at..at.saturating_add(SIGNATURE_LEN)) {
        Some(slot) if old.len() == SIGNATURE_LEN => slot.copy_from_slice(signature),
        _ => {
            return Err(Fail::input(format!(
                "signature entry {index} is {} bytes, not a {SIGNATURE_LEN}-byte Ed25519 signature",
                old.len()
            )));
        }
    }
    Ok((out, index))
}
