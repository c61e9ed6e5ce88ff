//! Interoperability with an independent COSE implementation (Google's `coset` crate), both ways,
//! with byte-exact `Sig_structure`s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{FAR, NOW, key, release_opts, root};
use coset::cbor::value::Value;
use coset::iana;
use coset::{
    CborSerializable, CoseSign, CoseSign1, CoseSign1Builder, CoseSignBuilder, CoseSignatureBuilder,
    HeaderBuilder, Label, ProtectedHeader, RegisteredLabelWithPrivate, TaggedCborSerializable,
};
use ota_verify::{
    COSE_ALG_ED25519, Envelope, Error, LABEL_EXPIRES, LABEL_SEQUENCE, Policy, PublicKey, SecretKey,
    SignOptions, sign, sign1,
};

fn kid(k: &SecretKey) -> Vec<u8> {
    k.public_key().key_id().as_bytes().to_vec()
}

/// Body protected header as coset writes it: sequence and expiry (private labels, critical).
fn body_header(seq: u64) -> HeaderBuilder {
    HeaderBuilder::new()
        .add_critical_label(RegisteredLabelWithPrivate::PrivateUse(LABEL_SEQUENCE))
        .add_critical_label(RegisteredLabelWithPrivate::PrivateUse(LABEL_EXPIRES))
        .value(LABEL_SEQUENCE, Value::Integer(seq.into()))
        .value(LABEL_EXPIRES, Value::Integer((NOW + 3600).into()))
}

fn coset_verify(sig: &[u8], data: &[u8], pk: &PublicKey) -> Result<(), Error> {
    let sig: [u8; 64] = sig.try_into().map_err(|_| Error::BadSignature)?;
    // Plain ed25519-dalek on coset's bytes: independent of our Sig_structure code.
    ed25519_dalek::VerifyingKey::from_bytes(&pk.to_bytes())
        .unwrap()
        .verify_strict(data, &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| Error::BadSignature)
}

#[test]
fn we_verify_coset_sign1_with_alg_eddsa_and_ed25519_kid_protected_or_not() {
    let trust = root(1);
    let signer = key(10);
    let other = key(11);
    for alg in [iana::Algorithm::EdDSA, iana::Algorithm::Ed25519] {
        for kid_protected in [true, false] {
            // COSE_Sign1 carries one signature; the root wants 2-of-3 release keys, so make a
            // COSE_Sign1 from each and check it with a 1-of-1 policy via verify_threshold.
            let mut protected = body_header(5).algorithm(alg);
            let mut unprotected = HeaderBuilder::new();
            if kid_protected {
                protected = protected.key_id(kid(&signer));
            } else {
                unprotected = unprotected.key_id(kid(&signer));
            }
            let msg = CoseSign1Builder::new()
                .protected(protected.build())
                .unprotected(unprotected.build())
                .payload(b"release payload".to_vec())
                .create_signature(b"", |data| signer.sign_raw(data).to_vec())
                .build()
                .to_tagged_vec()
                .unwrap();
            let env = Envelope::decode(&msg).unwrap();
            assert_eq!(env.headers().sequence, Some(5));
            let payload = env.payload().unwrap();
            let one = ota_verify::TrustRoot::builder(1, FAR)
                .role(ota_verify::Role::ROOT, 1, &[other.public_key()])
                .role(ota_verify::Role::RELEASE, 1, &[signer.public_key()])
                .build()
                .unwrap();
            let v = one.verify(&msg, None, &Policy::new(NOW, 4)).unwrap();
            assert_eq!((v.sequence, v.payload), (5, &b"release payload"[..]));
            // Against the 2-of-3 root it is one valid signature of two needed.
            assert_eq!(
                trust.verify_threshold(ota_verify::Role::RELEASE, &env, b"", payload),
                Err(Error::BelowThreshold {
                    valid: 1,
                    needed: 2
                })
            );
        }
    }
}

#[test]
fn we_verify_coset_cose_sign_with_two_signers_attached_and_detached() {
    let trust = root(1);
    let (a, b) = (key(10), key(12));
    let payload = b"two-signer payload".to_vec();
    for detached in [false, true] {
        let mut builder = CoseSignBuilder::new().protected(body_header(9).build());
        if !detached {
            builder = builder.payload(payload.clone());
        }
        for s in [&a, &b] {
            let sig = CoseSignatureBuilder::new()
                .protected(
                    HeaderBuilder::new()
                        .algorithm(iana::Algorithm::EdDSA)
                        .key_id(kid(s))
                        .build(),
                )
                .build();
            builder = if detached {
                builder.add_detached_signature(sig, &payload, b"", |d| s.sign_raw(d).to_vec())
            } else {
                builder.add_created_signature(sig, b"", |d| s.sign_raw(d).to_vec())
            };
        }
        let msg = builder.build().to_tagged_vec().unwrap();
        let detached_payload = detached.then_some(payload.as_slice());
        let v = trust
            .verify(&msg, detached_payload, &Policy::new(NOW, 8))
            .unwrap();
        assert_eq!((v.signers, v.sequence), (2, 9));
        // Detached without the payload, or attached plus a second payload: refused.
        let wrong = if detached { None } else { Some(&payload[..]) };
        assert!(matches!(
            trust.verify(&msg, wrong, &Policy::new(NOW, 8)),
            Err(Error::Payload { .. })
        ));
    }
}

#[test]
fn coset_verifies_our_sign1_and_sig_structure_is_byte_identical() {
    let signer = key(10);
    for alg in [ota_verify::COSE_ALG_EDDSA, COSE_ALG_ED25519] {
        for detached in [false, true] {
            let opts = SignOptions {
                alg,
                detached,
                aad: b"external aad",
                ..release_opts(3)
            };
            let payload = b"our payload";
            let ours = sign1(payload, &signer, &opts).unwrap();
            let theirs = CoseSign1::from_tagged_slice(&ours).unwrap();
            let expected_alg = if alg == COSE_ALG_ED25519 {
                iana::Algorithm::Ed25519
            } else {
                iana::Algorithm::EdDSA
            };
            assert_eq!(
                theirs.protected.header.alg,
                Some(RegisteredLabelWithPrivate::Assigned(expected_alg))
            );
            assert_eq!(theirs.protected.header.key_id, kid(&signer));
            assert!(
                theirs.protected.header.rest.iter().any(
                    |(l, v)| *l == Label::Int(LABEL_SEQUENCE) && *v == Value::Integer(3.into())
                )
            );
            let pk = signer.public_key();
            if detached {
                assert!(theirs.payload.is_none());
                theirs
                    .verify_detached_signature(payload, b"external aad", |s, d| {
                        coset_verify(s, d, &pk)
                    })
                    .unwrap();
            } else {
                theirs
                    .verify_signature(b"external aad", |s, d| coset_verify(s, d, &pk))
                    .unwrap();
            }
            // Byte-exact Sig_structure: coset's against ours.
            let env = Envelope::decode(&ours).unwrap();
            let our_tbs = env
                .to_be_signed(0, b"external aad", detached.then_some(&payload[..]))
                .unwrap();
            let their_tbs = if detached {
                theirs.tbs_detached_data(payload, b"external aad")
            } else {
                theirs.tbs_data(b"external aad")
            };
            assert_eq!(our_tbs, their_tbs);
            // And our verifier with the aad.
            let e = env.signatures()[0];
            env.verify_entry(&e, &pk, b"external aad", payload).unwrap();
            assert_eq!(
                env.verify_entry(&e, &pk, b"other aad", payload),
                Err(Error::BadSignature)
            );
        }
    }
}

#[test]
fn coset_verifies_our_cose_sign_and_sig_structures_are_byte_identical() {
    let signers = [key(10), key(11), key(12)];
    let refs: Vec<&dyn ota_verify::Signer> = signers.iter().map(|k| k as _).collect();
    let payload = b"multi-signed";
    let ours = sign(payload, &refs, &release_opts(4)).unwrap();
    let theirs = CoseSign::from_tagged_slice(&ours).unwrap();
    assert_eq!(theirs.signatures.len(), 3);
    let env = Envelope::decode(&ours).unwrap();
    for (i, s) in signers.iter().enumerate() {
        let pk = s.public_key();
        theirs
            .verify_signature(i, b"", |sig, d| coset_verify(sig, d, &pk))
            .unwrap();
        assert_eq!(
            env.to_be_signed(i, b"", None).unwrap(),
            theirs.tbs_data(b"", &theirs.signatures[i])
        );
    }
    // coset re-encodes our envelope to the same bytes (we emit what it emits).
    assert_eq!(theirs.to_tagged_vec().unwrap(), ours);
    assert_eq!(
        root(1)
            .verify(&ours, None, &Policy::new(NOW, 3))
            .unwrap()
            .signers,
        3
    );
}

/// The signature covers the protected header bytes exactly as received: a header map in
/// non-canonical key order (kid before alg) still verifies, because we never re-serialise it.
#[test]
fn protected_header_bytes_are_used_as_received_never_reserialised() {
    let signer = key(10);
    let kid = kid(&signer);
    // {4: kid, 1: -8}: valid CBOR, keys out of canonical order.
    let mut raw = vec![0xa2, 0x04, 0x58, 0x20];
    raw.extend_from_slice(&kid);
    raw.extend_from_slice(&[0x01, 0x27]);
    let header = coset::Header::from_slice(&raw).unwrap();
    let protected = ProtectedHeader {
        original_data: Some(raw.clone()),
        header,
    };
    let mut msg = CoseSign1Builder::new().payload(b"p".to_vec()).build();
    msg.protected = protected;
    let tbs = msg.tbs_data(b"");
    msg.signature = signer.sign_raw(&tbs).to_vec();
    let bytes = msg.to_tagged_vec().unwrap();
    let env = Envelope::decode(&bytes).unwrap();
    assert_eq!(env.body_protected(), raw.as_slice());
    env.verify_entry(&env.signatures()[0], &signer.public_key(), b"", b"p")
        .unwrap();
    assert_eq!(env.to_be_signed(0, b"", None).unwrap(), tbs);
}

#[test]
fn untagged_envelopes_decode_too() {
    let signer = key(10);
    let msg = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::EdDSA)
                .key_id(kid(&signer))
                .build(),
        )
        .payload(b"x".to_vec())
        .create_signature(b"", |d| signer.sign_raw(d).to_vec())
        .build()
        .to_vec()
        .unwrap();
    let env = Envelope::decode(&msg).unwrap();
    assert_eq!(env.kind(), ota_verify::Kind::Sign1);
    env.verify_entry(&env.signatures()[0], &signer.public_key(), b"", b"x")
        .unwrap();
}

/// coset can put critical labels we do not understand: such envelopes are refused.
#[test]
fn unknown_critical_header_is_refused() {
    let signer = key(10);
    let msg = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::EdDSA)
                .add_critical_label(RegisteredLabelWithPrivate::PrivateUse(-70000))
                .value(-70000, Value::Integer(1.into()))
                .build(),
        )
        .payload(b"x".to_vec())
        .create_signature(b"", |d| signer.sign_raw(d).to_vec())
        .build()
        .to_tagged_vec()
        .unwrap();
    assert!(matches!(
        Envelope::decode(&msg),
        Err(Error::Malformed {
            reason: "critical header not understood",
            ..
        })
    ));
}
