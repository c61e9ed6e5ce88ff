//! Batch verification (feature `batch`) for servers that check many signatures at once, with
//! the same result as checking each one with `verify_strict`.

use alloc::vec::Vec;

use curve25519_dalek::edwards::CompressedEdwardsY;

use crate::key::{PublicKey, SIGNATURE_LEN};

/// One signature to check.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// The signer's key.
    pub key: &'a PublicKey,
    /// The signed bytes (for a COSE envelope, its `Sig_structure`: see
    /// [`crate::Envelope::to_be_signed`]).
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a [u8; SIGNATURE_LEN],
}

/// The checks `verify_strict` makes and the batch equation does not: R decodes, is not of small
/// order, and is canonically encoded (the batch decompresses R; `verify_strict` compares the
/// encoding); s is canonical (also checked by the batch).
fn strict_precheck(sig: &[u8; SIGNATURE_LEN]) -> bool {
    let mut r = [0u8; 32];
    r.copy_from_slice(sig.get(..32).unwrap_or(&[0u8; 32]));
    let Some(point) = CompressedEdwardsY(r).decompress() else {
        return false;
    };
    !point.is_small_order() && point.compress().to_bytes() == r
}

/// Verifies every item and returns one verdict per item, equal to
/// [`PublicKey::verify_strict`] on that item.
///
/// Items that fail the strict pre-checks are refused at once; the rest go through one
/// ed25519-dalek batch equation. If it holds they are all valid; if not, each is checked on its
/// own so the verdicts name exactly the bad ones. See the README for the one case where a batch
/// can differ from single verification (signatures deliberately built by the key holder with a
/// mixed-order R), and why it does not matter for a trust decision.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Vec<bool> {
    let mut verdicts: Vec<bool> = items.iter().map(|i| strict_precheck(i.signature)).collect();
    let candidates: Vec<usize> = (0..items.len())
        .filter(|&i| verdicts.get(i) == Some(&true))
        .collect();
    if candidates.is_empty() {
        return verdicts;
    }
    let messages: Vec<&[u8]> = candidates
        .iter()
        .filter_map(|&i| items.get(i).map(|it| it.message))
        .collect();
    let signatures: Vec<ed25519_dalek::Signature> = candidates
        .iter()
        .filter_map(|&i| items.get(i))
        .map(|it| ed25519_dalek::Signature::from_bytes(it.signature))
        .collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = candidates
        .iter()
        .filter_map(|&i| items.get(i).and_then(|it| it.key.dalek().ok()))
        .collect();
    // (Every key was checked at import, so none is missing; if one were, the lengths differ,
    // the batch fails and each item is checked alone below.)
    if keys.len() == candidates.len()
        && ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
    {
        return verdicts;
    }
    for &i in &candidates {
        if let (Some(item), Some(v)) = (items.get(i), verdicts.get_mut(i)) {
            *v = item.key.verify_strict(item.message, item.signature).is_ok();
        }
    }
    verdicts
}
