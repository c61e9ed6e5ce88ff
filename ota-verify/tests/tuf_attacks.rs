//! One named test per attack that The Update Framework catalogues and that applies here; each
//! shows the attack refused with the error an operator would act on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};

use common::{FAR, NOW, key, keys, public, release_opts, root};
use coset::{CoseSign, TaggedCborSerializable};
use ota_verify::{
    ChunkVerifier, Error, HashingReader, HashingWriter, ImageRef, Policy, Role, SecretKey,
    SignOptions, Signer, TrustRoot, chunk_table, sign,
};

fn release(image: &[u8], seq: u64, signers: &[&SecretKey]) -> Vec<u8> {
    let s: Vec<&dyn Signer> = signers.iter().map(|k| *k as &dyn Signer).collect();
    sign(&ImageRef::of(image).to_vec(), &s, &release_opts(seq)).unwrap()
}

fn io_inner(e: &std::io::Error) -> Error {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<Error>())
        .cloned()
        .unwrap()
}

// ---- arbitrary installation ----

#[test]
fn arbitrary_installation_release_signed_by_unknown_keys_is_refused() {
    let attacker = [key(200), key(201)];
    let r = release(b"malware", 5, &[&attacker[0], &attacker[1]]);
    assert_eq!(
        root(1).verify(&r, None, &Policy::new(NOW, 0)),
        Err(Error::UnknownKey)
    );
}

#[test]
fn arbitrary_installation_image_swapped_after_a_valid_release_is_refused() {
    let ks = keys(10..=11);
    let r = release(b"genuine image", 5, &[&ks[0], &ks[1]]);
    let v = root(1).verify(&r, None, &Policy::new(NOW, 0)).unwrap();
    let mut check = ImageRef::decode(v.payload).unwrap().verifier();
    check.update(b"malware image").unwrap(); // same length as the genuine one
    assert_eq!(check.finish(), Err(Error::DigestMismatch { chunk: None }));
}

#[test]
fn arbitrary_installation_root_key_cannot_sign_a_release() {
    // Root keys sign trust roots, not releases: roles are separate.
    let rk = keys(1..=3);
    let r = release(b"img", 5, &[&rk[0], &rk[1]]);
    assert_eq!(
        root(1).verify(&r, None, &Policy::new(NOW, 0)),
        Err(Error::UnknownKey)
    );
}

// ---- endless data ----

#[test]
fn endless_data_writer_takes_no_byte_past_the_signed_size() {
    let image = vec![7u8; 1000];
    let r = ImageRef::of(&image);
    let mut w = HashingWriter::new(Vec::new(), r.size, r.sha256);
    w.write_all(&image).unwrap();
    let err = w.write(&[7u8; 10]).unwrap_err();
    assert_eq!(io_inner(&err), Error::SizeExceeded { limit: 1000 });
    let out = w.finish().unwrap();
    assert_eq!(
        out.len(),
        1000,
        "nothing of the refused write reached the sink"
    );
}

#[test]
fn endless_data_reader_stops_an_endless_source() {
    let image = vec![0u8; 4096];
    let r = ImageRef::of(&image);
    // An endless stream of zeros: the first 4096 bytes are even the right ones.
    let mut reader = HashingReader::new(std::io::repeat(0), r.size, r.sha256);
    let mut sink = Vec::new();
    let err = reader.read_to_end(&mut sink).unwrap_err();
    assert_eq!(io_inner(&err), Error::SizeExceeded { limit: 4096 });
    assert_eq!(reader.seen(), 4096);
    // Retrying does not turn the failure into a clean end of stream.
    assert!(reader.read(&mut [0u8; 16]).is_err());
    assert!(!reader.is_verified());
}

#[test]
fn endless_data_chunked_verifier_refuses_extra_chunks() {
    let image = vec![1u8; 300];
    let table = chunk_table(&image, 128).unwrap();
    let mut v = ChunkVerifier::new(300, 128, &table).unwrap();
    for c in image.chunks(128) {
        v.verify_chunk(c).unwrap();
    }
    assert!(v.is_complete());
    assert_eq!(
        v.verify_chunk(&[1u8; 1]),
        Err(Error::SizeExceeded { limit: 300 })
    );
}

// ---- fast-forward ----

#[test]
fn fast_forward_by_one_compromised_release_key_is_refused_and_remembers_nothing() {
    let ks = keys(10..=11);
    let huge = release(b"img", u64::MAX, &[&ks[0]]);
    let last = 5;
    assert_eq!(
        root(1).verify(&huge, None, &Policy::new(NOW, last)),
        Err(Error::BelowThreshold {
            valid: 1,
            needed: 2
        })
    );
    // The device's last sequence did not move: the next genuine release still installs.
    let next = release(b"img", 6, &[&ks[0], &ks[1]]);
    assert_eq!(
        root(1)
            .verify(&next, None, &Policy::new(NOW, last))
            .unwrap()
            .sequence,
        6
    );
}

#[test]
fn fast_forward_by_editing_the_sequence_header_breaks_the_signature() {
    let ks = keys(10..=11);
    let r = release(b"img", 6, &[&ks[0], &ks[1]]);
    let mut msg = CoseSign::from_tagged_slice(&r).unwrap();
    // Rewrite the protected body header with a huge sequence number (keeps the old signatures).
    let mut h = msg.protected.header.clone();
    for (label, value) in h.rest.iter_mut() {
        if *label == coset::Label::Int(ota_verify::LABEL_SEQUENCE) {
            *value = coset::cbor::value::Value::Integer(u64::MAX.into());
        }
    }
    msg.protected = coset::ProtectedHeader {
        original_data: None,
        header: h,
    };
    let forged = msg.to_tagged_vec().unwrap();
    assert_eq!(
        root(1).verify(&forged, None, &Policy::new(NOW, 5)),
        Err(Error::BadSignature)
    );
}

// ---- indefinite freeze ----

#[test]
fn indefinite_freeze_expired_release_is_refused() {
    let ks = keys(10..=11);
    let r = release(b"img", 6, &[&ks[0], &ks[1]]);
    let later = NOW + 86_400; // release_opts expires at NOW + 1 day
    assert_eq!(
        root(1).verify(&r, None, &Policy::new(later, 5)),
        Err(Error::Expired {
            what: "release",
            expires: NOW + 86_400,
            now: later
        })
    );
}

#[test]
fn indefinite_freeze_expired_trust_root_is_refused() {
    let ks = keys(10..=11);
    let r = release(b"img", 6, &[&ks[0], &ks[1]]);
    let stale = TrustRoot::builder(1, NOW - 1)
        .role(Role::ROOT, 2, &public(&keys(1..=3)))
        .role(Role::RELEASE, 2, &public(&keys(10..=12)))
        .build()
        .unwrap();
    assert_eq!(
        stale.verify(&r, None, &Policy::new(NOW, 5)),
        Err(Error::Expired {
            what: "trust root",
            expires: NOW - 1,
            now: NOW
        })
    );
    // A mirror that withholds new trust roots leaves the device on an expired one: update()
    // with no new link still checks the expiry.
    assert!(matches!(stale.update([], NOW), Err(Error::Expired { .. })));
}

// ---- malicious mirror ----

#[test]
fn malicious_mirror_replaying_an_old_release_is_refused() {
    let ks = keys(10..=11);
    let old = release(b"old", 4, &[&ks[0], &ks[1]]);
    assert_eq!(
        root(1).verify(&old, None, &Policy::new(NOW, 6)),
        Err(Error::Rollback {
            got: 4,
            need_above: 6
        })
    );
}

#[test]
fn malicious_mirror_truncating_or_stripping_signatures_is_refused() {
    let ks = keys(10..=11);
    let r = release(b"img", 6, &[&ks[0], &ks[1]]);
    for cut in [1, r.len() / 2, r.len() - 1] {
        assert!(matches!(
            root(1).verify(&r[..cut], None, &Policy::new(NOW, 5)),
            Err(Error::Malformed { .. })
        ));
    }
    let mut msg = CoseSign::from_tagged_slice(&r).unwrap();
    msg.signatures.truncate(1);
    let stripped = msg.to_tagged_vec().unwrap();
    assert_eq!(
        root(1).verify(&stripped, None, &Policy::new(NOW, 5)),
        Err(Error::BelowThreshold {
            valid: 1,
            needed: 2
        })
    );
}

#[test]
fn malicious_mirror_swapping_a_detached_payload_is_refused() {
    let ks = keys(10..=11);
    let opts = SignOptions {
        detached: true,
        ..release_opts(6)
    };
    let payload = ImageRef::of(b"genuine").to_vec();
    let r = sign(&payload, &[&ks[0], &ks[1]], &opts).unwrap();
    root(1)
        .verify(&r, Some(&payload), &Policy::new(NOW, 5))
        .unwrap();
    let evil = ImageRef::of(b"malware").to_vec();
    assert_eq!(
        root(1).verify(&r, Some(&evil), &Policy::new(NOW, 5)),
        Err(Error::BadSignature)
    );
}

// ---- mix-and-match ----

#[test]
fn mix_and_match_payload_of_one_release_with_signatures_of_another_is_refused() {
    let ks = keys(10..=11);
    let a = CoseSign::from_tagged_slice(&release(b"image A", 6, &[&ks[0], &ks[1]])).unwrap();
    let mut b = CoseSign::from_tagged_slice(&release(b"image B", 7, &[&ks[0], &ks[1]])).unwrap();
    b.payload = a.payload.clone(); // B's sequence number and signatures, A's image
    let mixed = b.to_tagged_vec().unwrap();
    assert_eq!(
        root(1).verify(&mixed, None, &Policy::new(NOW, 5)),
        Err(Error::BadSignature)
    );
    // Signatures from A spliced into B's body.
    let mut b = CoseSign::from_tagged_slice(&release(b"image B", 7, &[&ks[0], &ks[1]])).unwrap();
    b.signatures = a.signatures.clone();
    let mixed = b.to_tagged_vec().unwrap();
    assert_eq!(
        root(1).verify(&mixed, None, &Policy::new(NOW, 5)),
        Err(Error::BadSignature)
    );
}

#[test]
fn mix_and_match_trust_root_and_release_cannot_stand_in_for_each_other() {
    let rk = keys(1..=3);
    let signed_root = root(2).sign(&[&rk[0], &rk[1]]).unwrap();
    assert_eq!(
        root(1).verify(
            &signed_root,
            None,
            &Policy::new(NOW, 0).with_role(Role::ROOT)
        ),
        Err(Error::WrongContentType)
    );
    // A release signed by root keys, offered as a trust root.
    let r = sign(&root(2).to_vec(), &[&rk[0], &rk[1]], &release_opts(2)).unwrap();
    assert_eq!(root(1).rotate(&r), Err(Error::WrongContentType));
}

// ---- rollback ----

#[test]
fn rollback_to_the_same_or_an_older_sequence_is_refused() {
    let ks = keys(10..=11);
    for (seq, last) in [(6, 6), (5, 6), (0, 1)] {
        let r = release(b"img", seq, &[&ks[0], &ks[1]]);
        assert_eq!(
            root(1).verify(&r, None, &Policy::new(NOW, last)),
            Err(Error::Rollback {
                got: seq,
                need_above: last
            })
        );
    }
}

#[test]
fn rollback_of_the_trust_root_is_refused() {
    let rk = keys(1..=3);
    let v2 = root(2);
    let signed_v1 = root(1).sign(&[&rk[0], &rk[1]]).unwrap();
    assert_eq!(
        v2.rotate(&signed_v1),
        Err(Error::Rollback {
            got: 1,
            need_above: 2
        })
    );
    let signed_v2 = root(2).sign(&[&rk[0], &rk[1]]).unwrap();
    assert_eq!(
        v2.rotate(&signed_v2),
        Err(Error::Rollback {
            got: 2,
            need_above: 2
        })
    );
    let signed_v4 = root(4).sign(&[&rk[0], &rk[1]]).unwrap();
    assert_eq!(
        v2.rotate(&signed_v4),
        Err(Error::NotNextVersion { got: 4, current: 2 })
    );
}

// ---- key compromise below threshold ----

#[test]
fn key_compromise_below_threshold() {
    // One release key leaked. The attacker signs with it twice (two different signatures, one
    // of them with the other alg id), and adds signatures by keys of its own.
    let leaked = key(10);
    let own = [key(90), key(91)];
    let payload = ImageRef::of(b"malware").to_vec();
    let a = sign(&payload, &[&leaked, &own[0], &own[1]], &release_opts(9)).unwrap();
    let b = sign(
        &payload,
        &[&leaked],
        &SignOptions {
            alg: ota_verify::COSE_ALG_ED25519,
            ..release_opts(9)
        },
    )
    .unwrap();
    let mut msg = CoseSign::from_tagged_slice(&a).unwrap();
    let other = CoseSign::from_tagged_slice(&b).unwrap();
    msg.signatures.push(other.signatures[0].clone());
    msg.signatures.push(msg.signatures[0].clone()); // the same signature again
    let forged = msg.to_tagged_vec().unwrap();
    assert_eq!(
        root(1).verify(&forged, None, &Policy::new(NOW, 0)),
        Err(Error::BelowThreshold {
            valid: 1,
            needed: 2
        })
    );
    // Same for trust roots: one leaked root key cannot rotate.
    let evil_root = TrustRoot::builder(2, FAR)
        .role(Role::ROOT, 1, &[own[0].public_key()])
        .role(Role::RELEASE, 1, &[own[0].public_key()])
        .build()
        .unwrap();
    let signed = evil_root.sign(&[&key(1), &own[0]]).unwrap();
    assert_eq!(
        root(1).rotate(&signed),
        Err(Error::BelowThreshold {
            valid: 1,
            needed: 2
        })
    );
}

// ---- rotation and rotated-out keys ----

fn root_v2_without_key_1_and_10() -> TrustRoot {
    TrustRoot::builder(2, FAR)
        .role(Role::ROOT, 2, &public(&[key(2), key(3), key(4)]))
        .role(Role::RELEASE, 2, &public(&[key(11), key(12), key(13)]))
        .build()
        .unwrap()
}

#[test]
fn rotation_needs_a_threshold_of_the_old_and_of_the_new_root_keys() {
    let v2 = root_v2_without_key_1_and_10();
    // Only new keys (2 of v2, but just key 2... of v1's): 4 is unknown to v1.
    let only_new = v2.sign(&[&key(4), &key(2)]).unwrap();
    assert_eq!(
        root(1).rotate(&only_new),
        Err(Error::BelowThreshold {
            valid: 1,
            needed: 2
        })
    );
    // Only old keys: key 1 is not in v2, so v2's own threshold is not met.
    let only_old = v2.sign(&[&key(1), &key(2)]).unwrap();
    assert_eq!(
        root(1).rotate(&only_old),
        Err(Error::BelowThreshold {
            valid: 1,
            needed: 2
        })
    );
    let both = v2.sign(&[&key(1), &key(2), &key(4)]).unwrap();
    assert_eq!(root(1).rotate(&both).unwrap(), v2);
}

#[test]
fn rotated_out_key_cannot_sign_a_release() {
    let v2 = root_v2_without_key_1_and_10();
    let signed = v2.sign(&[&key(1), &key(2), &key(3)]).unwrap();
    let device = root(1).update([signed.as_slice()], NOW).unwrap();
    // Key 10 was a release key in v1 only.
    let r = release(b"img", 6, &[&key(10), &key(11)]);
    assert_eq!(
        device.verify(&r, None, &Policy::new(NOW, 5)),
        Err(Error::BelowThreshold {
            valid: 1,
            needed: 2
        })
    );
    let r = release(b"img", 6, &[&key(10)]);
    assert_eq!(
        device.verify(&r, None, &Policy::new(NOW, 5)),
        Err(Error::UnknownKey)
    );
}

#[test]
fn rotated_out_key_cannot_rotate_the_root_again() {
    // v1 -> v2 -> v3 walked in order; then keys 1 and 2 (both dropped by v3) try to make v4.
    let v2 = root_v2_without_key_1_and_10();
    let v3 = TrustRoot::builder(3, FAR)
        .role(Role::ROOT, 2, &public(&[key(4), key(5), key(6)]))
        .role(Role::RELEASE, 2, &public(&[key(11), key(12), key(13)]))
        .build()
        .unwrap();
    let s2 = v2.sign(&[&key(1), &key(2), &key(3)]).unwrap();
    let s3 = v3.sign(&[&key(2), &key(4), &key(5)]).unwrap();
    // Out of order: v1's root keys did not sign v3 (only key 2 of them did), so the walk
    // stops at the first link, before the version is even looked at.
    assert_eq!(
        root(1).update([s3.as_slice(), s2.as_slice()], NOW),
        Err(Error::BelowThreshold {
            valid: 1,
            needed: 2
        })
    );
    let device = root(1).update([s2.as_slice(), s3.as_slice()], NOW).unwrap();
    assert_eq!(device, v3);
    let v4 = TrustRoot::builder(4, FAR)
        .role(Role::ROOT, 1, &[key(1).public_key()])
        .role(Role::RELEASE, 1, &[key(1).public_key()])
        .build()
        .unwrap();
    let s4 = v4.sign(&[&key(1), &key(2)]).unwrap();
    assert_eq!(device.rotate(&s4), Err(Error::UnknownKey));
}
