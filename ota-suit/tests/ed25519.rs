//! Envelopes made here with our own Ed25519 key: they verify and map, deterministically, and
//! tampering with them is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{V, anchor, envelope, envelope_full, envelope_with, manifest};
use ota_suit::{Algorithm, Envelope, Error, Limits, MapOptions, TrustAnchor};

const IMAGE: &[u8] = b"lock firmware 3.0.0, built for the SUIT import test";
const URI: &str = "https://updates.example.invalid/lock-3.0.0.bin";

#[test]
fn our_ed25519_envelope_verifies_and_maps() {
    let bytes = envelope(&manifest(7, IMAGE, URI));
    let verified = ota_suit::verify(&bytes, &anchor(), &Limits::default()).unwrap();
    assert_eq!(verified.manifest().sequence_number, 7);
    assert_eq!(
        verified.envelope().signatures()[0].alg(),
        ota_suit::ALG_EDDSA
    );
    let m = verified.to_manifest(&MapOptions::default()).unwrap();
    assert_eq!(m.sequence, 7);
    assert_eq!(m.components[0].sha256, ota_manifest::Sha256::of(IMAGE));
    assert_eq!(m.components[0].size, IMAGE.len() as u64);
    assert_eq!(m.components[0].uris, [URI]);
    assert_eq!(
        m.compatibility.vendor,
        ota_manifest::DeviceId::from_uuid(common::VENDOR)
    );
}

#[test]
fn the_fully_specified_ed25519_id_verifies_too() {
    let bytes = envelope_with(&manifest(1, IMAGE, URI), common::SEED, -19, vec![]);
    ota_suit::verify(&bytes, &anchor(), &Limits::default()).unwrap();
}

#[test]
fn the_envelope_is_reproducible_and_its_pem_anchor_works() {
    let a = envelope(&manifest(7, IMAGE, URI));
    let b = envelope(&manifest(7, IMAGE, URI));
    assert_eq!(a, b);
    let pem = ota_verify::SecretKey::from_seed(&common::SEED)
        .public_key()
        .to_spki_pem()
        .unwrap();
    let anchor = TrustAnchor::from_pem(&pem).unwrap();
    assert_eq!(anchor.algorithm(), Algorithm::Ed25519);
    ota_suit::verify(&a, &anchor, &Limits::default()).unwrap();
}

#[test]
fn another_key_is_refused() {
    let bytes = envelope_with(&manifest(7, IMAGE, URI), [1; 32], -8, vec![]);
    assert_eq!(
        ota_suit::verify(&bytes, &anchor(), &Limits::default()).unwrap_err(),
        Error::BadSignature
    );
    let es256 = TrustAnchor::from_pem(include_str!("data/trust_anchor_secp256r1_pub.pem")).unwrap();
    assert_eq!(
        ota_suit::verify(&bytes, &es256, &Limits::default()).unwrap_err(),
        Error::NoSignatureForAnchor
    );
}

#[test]
fn every_single_byte_tamper_of_our_envelope_is_refused() {
    let bytes = envelope(&manifest(7, IMAGE, URI));
    let anchor = anchor();
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        let r = Envelope::decode(&t, &Limits::default()).and_then(|e| e.verify(&anchor));
        assert!(r.is_err(), "flipping byte {i} was accepted");
    }
}

#[test]
fn a_manifest_that_does_not_match_the_wrapper_digest_is_refused() {
    // Sign one manifest, then carry another under the same wrapper.
    let good = envelope(&manifest(7, IMAGE, URI));
    let other = envelope(&manifest(8, IMAGE, URI));
    let good_env = Envelope::decode(&good, &Limits::default()).unwrap();
    let other_env = Envelope::decode(&other, &Limits::default()).unwrap();
    // Splice: the wrapper of `good` with the manifest of `other` (both are canonical).
    let auth_len = good.len() - good_env.manifest_bytes().len();
    let spliced_manifest = other_env.manifest_bytes();
    let mut spliced = good[..auth_len - 2].to_vec();
    ota_cbor::write_bytes(&mut spliced, spliced_manifest);
    let e = ota_suit::verify(&spliced, &anchor(), &Limits::default()).unwrap_err();
    assert_eq!(e, Error::ManifestDigestMismatch);
}

#[test]
fn an_embedded_payload_must_be_the_digest() {
    let m = manifest(7, IMAGE, URI);
    let embedded = envelope_full(&m, common::SEED, -8, |d| V::B(d.to_vec()), vec![]);
    ota_suit::verify(&embedded, &anchor(), &Limits::default()).unwrap();
    let other = envelope_full(&m, common::SEED, -8, |_| V::B(vec![0; 36]), vec![]);
    assert_eq!(
        ota_suit::verify(&other, &anchor(), &Limits::default()).unwrap_err(),
        Error::BadSignature
    );
}
