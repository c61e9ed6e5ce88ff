//! One named test per refusal: unsupported commands and parameters by number and name,
//! non-deterministic CBOR, limits, severed members, unmappable manifests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{V, anchor, digest, enc, envelope, envelope_with, imap, manifest, seq, sha256, wrap};
use ota_suit::{Envelope, Error, Limits, MapOptions};

const IMAGE: &[u8] = b"an image";

/// A manifest with the given shared sequence and optional install sequence.
fn manifest_with(shared: V, install: Option<V>, components: usize) -> V {
    let ids = (0..components)
        .map(|i| V::A(vec![V::B(vec![i as u8])]))
        .collect();
    let common = imap(vec![(2, V::A(ids)), (4, wrap(&shared))]);
    let mut m = vec![(1, V::U(1)), (2, V::U(3)), (3, wrap(&common))];
    if let Some(i) = install {
        m.push((20, wrap(&i)));
    }
    imap(m)
}

fn params() -> V {
    imap(vec![
        (1, V::B(common::VENDOR.to_vec())),
        (2, V::B(common::CLASS.to_vec())),
        (3, wrap(&digest(sha256(IMAGE)))),
        (14, V::U(IMAGE.len() as u64)),
    ])
}

fn decode(m: &V) -> Result<Envelope, Error> {
    Envelope::decode(&envelope(m), &Limits::default())
}

#[test]
fn an_unsupported_command_is_named_with_its_number_and_offset() {
    // 18: directive-write.
    let m = manifest_with(seq(vec![(20, params()), (18, V::B(vec![1]))]), None, 1);
    let e = decode(&m).unwrap_err();
    let Error::UnsupportedCommand {
        number,
        name,
        offset,
    } = e
    else {
        panic!("{e}")
    };
    assert_eq!((number, name), (18, "directive-write"));
    let bytes = envelope(&m);
    // The offset is absolute in the envelope: the byte there is the command number 18.
    assert_eq!(bytes[offset], 0x12);
    assert!(
        e.to_string()
            .contains("unsupported SUIT command 18 (directive-write)")
    );
    for (n, name) in [
        (6, "condition-check-content"),
        (7, "condition-dependency-integrity"),
        (8, "condition-is-dependency"),
        (11, "directive-process-dependency"),
        (14, "condition-abort"),
        (24, "condition-device-identifier"),
        (28, "condition-version"),
        (31, "directive-swap"),
        (32, "directive-run-sequence"),
        (99, "unknown"),
    ] {
        let m = manifest_with(seq(vec![(n, V::U(15))]), None, 1);
        assert!(
            matches!(decode(&m).unwrap_err(), Error::UnsupportedCommand { number, name: got, .. } if number == n && got == name),
            "command {n}"
        );
    }
}

#[test]
fn an_unsupported_parameter_is_named() {
    let m = manifest_with(seq(vec![(20, imap(vec![(24, V::B(vec![1]))]))]), None, 1);
    assert!(matches!(
        decode(&m).unwrap_err(),
        Error::UnsupportedParameter {
            number: 24,
            name: "device-id",
            ..
        }
    ));
}

#[test]
fn an_unsupported_digest_algorithm_is_refused() {
    let sha384 = V::A(vec![V::N(-43), V::B(vec![0; 48])]);
    let m = manifest_with(seq(vec![(20, imap(vec![(3, wrap(&sha384))]))]), None, 1);
    assert!(matches!(
        decode(&m).unwrap_err(),
        Error::UnsupportedDigestAlgorithm { alg: -43, .. }
    ));
}

#[test]
fn an_unsupported_cose_algorithm_is_refused() {
    // -35: ES384.
    let bytes = envelope_with(&manifest(1, IMAGE, "u"), common::SEED, -35, vec![]);
    assert!(matches!(
        Envelope::decode(&bytes, &Limits::default()).unwrap_err(),
        Error::UnsupportedAlgorithm { alg: -35, .. }
    ));
}

#[test]
fn unknown_manifest_and_envelope_members_are_refused() {
    // 5: manifest-component-id (not in this subset).
    let mut m = manifest(1, IMAGE, "u");
    if let V::M(entries) = &mut m {
        entries.insert(3, (V::U(5), V::A(vec![])));
    }
    assert!(matches!(
        decode(&m).unwrap_err(),
        Error::UnsupportedManifestKey {
            key: 5,
            name: "manifest-component-id",
            ..
        }
    ));
    let bytes = envelope_with(
        &manifest(1, IMAGE, "u"),
        common::SEED,
        -8,
        vec![(17, V::U(0))],
    );
    assert!(matches!(
        Envelope::decode(&bytes, &Limits::default()).unwrap_err(),
        Error::UnsupportedEnvelopeKey { key: 17, .. }
    ));
}

#[test]
fn non_deterministic_cbor_is_refused_with_its_offset() {
    // Manifest keys out of order: 2 before 1.
    let m = imap(vec![(2, V::U(1)), (1, V::U(1))]);
    let e = decode(&m).unwrap_err();
    let Error::Cbor(c) = &e else { panic!("{e}") };
    assert_eq!(c.kind(), &ota_cbor::ErrorKind::UnsortedKey);
    let bytes = envelope(&m);
    assert_eq!(bytes[c.offset()], 0x01);
    // A long head for a small integer (the sequence number 1 as 0x18 0x01).
    let good = envelope(&manifest(1, IMAGE, "u"));
    let at = good
        .windows(3)
        .position(|w| w == [0x01, 0x02, 0x01])
        .unwrap();
    let mut long = good[..at + 2].to_vec();
    long.extend_from_slice(&[0x18, 0x01]);
    long.extend_from_slice(&good[at + 3..]);
    // The manifest byte string's length no longer matches: refused either way, never accepted.
    assert!(Envelope::decode(&long, &Limits::default()).is_err());
}

#[test]
fn a_manifest_version_other_than_1_is_refused() {
    let m = imap(vec![(1, V::U(2)), (2, V::U(1))]);
    assert!(matches!(
        decode(&m).unwrap_err(),
        Error::UnsupportedManifestVersion { version: 2, .. }
    ));
}

#[test]
fn limits_are_their_own_errors() {
    let m = manifest(1, IMAGE, "u");
    let bytes = envelope(&m);
    let small = Limits {
        max_envelope: bytes.len() - 1,
        ..Limits::default()
    };
    assert!(matches!(
        Envelope::decode(&bytes, &small).unwrap_err(),
        Error::TooLarge { .. }
    ));
    let many = manifest_with(seq(vec![]), None, 17);
    assert!(matches!(
        decode(&many).unwrap_err(),
        Error::TooMany {
            what: "components",
            count: 17,
            max: 16,
            ..
        }
    ));
    let long_uri = manifest(1, IMAGE, &"u".repeat(1025));
    assert!(matches!(
        decode(&long_uri).unwrap_err(),
        Error::TooLong { what: "uri", .. }
    ));
    // try-each in try-each in try-each: deeper than 2.
    let inner = seq(vec![(5, V::U(15))]);
    let level2 = seq(vec![(15, V::A(vec![wrap(&inner)]))]);
    let level1 = seq(vec![(15, V::A(vec![wrap(&level2)]))]);
    let deep = manifest_with(seq(vec![(15, V::A(vec![wrap(&level1)]))]), None, 1);
    assert!(matches!(
        decode(&deep).unwrap_err(),
        Error::TooDeep { max: 2, .. }
    ));
    let commands = seq((0..65).map(|_| (3, V::U(15))).collect());
    assert!(matches!(
        decode(&manifest_with(commands, None, 1)).unwrap_err(),
        Error::TooMany {
            what: "commands",
            ..
        }
    ));
}

#[test]
fn severed_members_must_match_their_digest() {
    let install = seq(vec![
        (20, imap(vec![(21, V::T("u".into()))])),
        (21, V::U(2)),
    ]);
    let encoded = enc(&wrap(&install));
    let common = imap(vec![
        (2, V::A(vec![V::A(vec![V::B(vec![0])])])),
        (
            4,
            wrap(&seq(vec![(20, params()), (1, V::U(15)), (2, V::U(15))])),
        ),
    ]);
    let m = imap(vec![
        (1, V::U(1)),
        (2, V::U(1)),
        (3, wrap(&common)),
        (20, digest(sha256(&encoded))),
    ]);
    let good = envelope_with(&m, common::SEED, -8, vec![(20, wrap(&install))]);
    let v = ota_suit::verify(&good, &anchor(), &Limits::default()).unwrap();
    let mapped = v.to_manifest(&MapOptions::default()).unwrap();
    assert_eq!(mapped.components[0].uris, ["u"]);
    let other = seq(vec![
        (20, imap(vec![(21, V::T("v".into()))])),
        (21, V::U(2)),
    ]);
    let bad = envelope_with(&m, common::SEED, -8, vec![(20, wrap(&other))]);
    assert_eq!(
        Envelope::decode(&bad, &Limits::default()).unwrap_err(),
        Error::SeveredDigestMismatch { key: 20 }
    );
    // A severed member whose manifest entry is included, not a digest.
    let included = envelope_with(
        &manifest(1, IMAGE, "u"),
        common::SEED,
        -8,
        vec![(20, wrap(&install))],
    );
    assert!(matches!(
        Envelope::decode(&included, &Limits::default()).unwrap_err(),
        Error::UnexpectedSevered { key: 20, .. }
    ));
}

fn map(m: &V) -> Result<ota_manifest::Manifest, Error> {
    ota_suit::verify(&envelope(m), &anchor(), &Limits::default())?
        .to_manifest(&MapOptions::default())
}

#[test]
fn manifests_without_a_safe_ota_equivalent_are_refused() {
    // No vendor condition: an ota manifest always names its vendor.
    let no_vendor = manifest_with(seq(vec![(20, params()), (2, V::U(15))]), None, 1);
    assert!(
        matches!(map(&no_vendor).unwrap_err(), Error::Unmappable { reason } if reason.contains("vendor"))
    );
    // No image size: nothing to install.
    let no_size = manifest_with(
        seq(vec![
            (
                20,
                imap(vec![
                    (1, V::B(common::VENDOR.to_vec())),
                    (2, V::B(common::CLASS.to_vec())),
                ]),
            ),
            (1, V::U(15)),
            (2, V::U(15)),
        ]),
        None,
        1,
    );
    assert!(
        matches!(map(&no_size).unwrap_err(), Error::Unmappable { reason } if reason.contains("image-size"))
    );
    // A component index out of range.
    let out_of_range = manifest_with(seq(vec![(12, V::U(3)), (20, params())]), None, 1);
    assert!(
        matches!(map(&out_of_range).unwrap_err(), Error::Unmappable { reason } if reason.contains("out of range"))
    );
    // A fetch without a URI.
    let no_uri = manifest_with(
        seq(vec![(20, params()), (1, V::U(15)), (2, V::U(15))]),
        Some(seq(vec![(21, V::U(2))])),
        1,
    );
    assert!(
        matches!(map(&no_uri).unwrap_err(), Error::Unmappable { reason } if reason.contains("uri"))
    );
    // Vendor check inside try-each.
    let alt = seq(vec![(1, V::U(15))]);
    let vendor_in_try = manifest_with(
        seq(vec![
            (20, params()),
            (15, V::A(vec![wrap(&alt)])),
            (2, V::U(15)),
        ]),
        None,
        1,
    );
    assert!(
        matches!(map(&vendor_in_try).unwrap_err(), Error::Unmappable { reason } if reason.contains("try-each"))
    );
}

#[test]
fn set_component_index_true_applies_to_all_components() {
    let m = manifest_with(
        seq(vec![
            (12, V::Bool(true)),
            (20, params()),
            (1, V::U(15)),
            (2, V::U(15)),
        ]),
        None,
        2,
    );
    let mapped = map(&m).unwrap();
    let ids: Vec<&str> = mapped.components.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["00", "01"]);
}
