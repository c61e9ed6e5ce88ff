//! The signed version report: round trip, every tampered byte refused, replay, wrong key,
//! wrong device, nonce, strict decoding, and a property test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_protocol::{
    ComponentVersion, DecodeError, Error, Limits, ReportCheck, ReportError, Sha256, Slot,
    VersionReport, verify_version_report,
};
use ota_verify::SecretKey;
use proptest::prelude::*;

fn report() -> VersionReport {
    VersionReport {
        device: "dev-0042".into(),
        counter: 7,
        nonce: Some(vec![0xA5; 16]),
        sent_at: 1_800_000_000,
        active_slot: Some(Slot::B),
        components: vec![
            ComponentVersion {
                id: "firmware".into(),
                version: "2.1.0".into(),
                sha256: Sha256([1; 32]),
            },
            ComponentVersion {
                id: "app".into(),
                version: "1.4.2".into(),
                sha256: Sha256([2; 32]),
            },
        ],
    }
}

fn key() -> SecretKey {
    SecretKey::from_seed(&[3; 32])
}

fn check<'a>(
    k: &'a ota_verify::PublicKey,
    last: Option<u64>,
    nonce: Option<&'a [u8]>,
) -> ReportCheck<'a> {
    ReportCheck {
        device: "dev-0042",
        key: k,
        last_counter: last,
        nonce,
    }
}

fn sorted(mut r: VersionReport) -> VersionReport {
    r.components.sort_by(|a, b| a.id.cmp(&b.id));
    r
}

#[test]
fn round_trip_and_verify() {
    let l = Limits::default();
    let signed = report().sign(&key(), &l).unwrap();
    let pk = key().public_key();
    let nonce = [0xA5; 16];
    let got = verify_version_report(&signed, &check(&pk, Some(6), Some(&nonce)), &l).unwrap();
    assert_eq!(got, sorted(report()));
    // Deterministic: the payload re-encodes to the same bytes, and signing is reproducible.
    let payload = report().to_cbor(&l).unwrap();
    assert_eq!(
        VersionReport::from_cbor(&payload, &l)
            .unwrap()
            .to_cbor(&l)
            .unwrap(),
        payload
    );
    assert_eq!(report().sign(&key(), &l).unwrap(), signed);
}

#[test]
fn payload_bytes_are_as_documented() {
    // FORMAT.md, "Signed version report": the example's payload.
    let r = VersionReport {
        device: "d1".into(),
        counter: 1,
        nonce: None,
        sent_at: 2,
        active_slot: Some(Slot::A),
        components: vec![ComponentVersion {
            id: "fw".into(),
            version: "1.0.0".into(),
            sha256: Sha256([0; 32]),
        }],
    };
    let cbor = r.to_cbor(&Limits::default()).unwrap();
    let mut want = vec![
        0xA6, 0x00, 0x01, 0x01, 0x62, b'd', b'1', 0x02, 0x01, 0x04, 0x02, 0x05, 0x00,
    ];
    want.extend([0x06, 0x81, 0xA3, 0x00, 0x62, b'f', b'w', 0x01, 0x65]);
    want.extend(b"1.0.0");
    want.extend([0x02, 0x58, 0x20]);
    want.extend([0; 32]);
    assert_eq!(cbor, want);
}

#[test]
fn every_tampered_byte_is_refused() {
    let l = Limits::default();
    let signed = report().sign(&key(), &l).unwrap();
    let pk = key().public_key();
    for i in 0..signed.len() {
        for bit in [0x01u8, 0x80] {
            let mut t = signed.clone();
            t[i] ^= bit;
            assert!(
                verify_version_report(&t, &check(&pk, None, None), &l).is_err(),
                "byte {i} ^ {bit:#x} accepted"
            );
        }
    }
    // Truncations and an appended byte too.
    for n in 0..signed.len() {
        assert!(verify_version_report(&signed[..n], &check(&pk, None, None), &l).is_err());
    }
    let mut longer = signed.clone();
    longer.push(0);
    assert!(verify_version_report(&longer, &check(&pk, None, None), &l).is_err());
}

#[test]
fn replayed_counter_is_refused() {
    let l = Limits::default();
    let signed = report().sign(&key(), &l).unwrap();
    let pk = key().public_key();
    for last in [7, 8, u64::MAX] {
        assert_eq!(
            verify_version_report(&signed, &check(&pk, Some(last), None), &l).unwrap_err(),
            Error::Report(ReportError::Replay { counter: 7, last })
        );
    }
    assert!(verify_version_report(&signed, &check(&pk, Some(6), None), &l).is_ok());
    assert!(verify_version_report(&signed, &check(&pk, None, None), &l).is_ok());
}

#[test]
fn wrong_nonce_is_refused() {
    let l = Limits::default();
    let pk = key().public_key();
    let signed = report().sign(&key(), &l).unwrap();
    let other = [0xA6; 16];
    assert_eq!(
        verify_version_report(&signed, &check(&pk, None, Some(&other)), &l).unwrap_err(),
        Error::Report(ReportError::NonceMismatch)
    );
    let mut no_nonce = report();
    no_nonce.nonce = None;
    let signed = no_nonce.sign(&key(), &l).unwrap();
    assert_eq!(
        verify_version_report(&signed, &check(&pk, None, Some(&other)), &l).unwrap_err(),
        Error::Report(ReportError::NonceMismatch)
    );
}

#[test]
fn wrong_key_is_refused() {
    let l = Limits::default();
    let signed = report().sign(&SecretKey::from_seed(&[4; 32]), &l).unwrap();
    let pk = key().public_key();
    assert_eq!(
        verify_version_report(&signed, &check(&pk, None, None), &l).unwrap_err(),
        Error::Report(ReportError::WrongKey)
    );
}

#[test]
fn wrong_device_is_refused() {
    let l = Limits::default();
    let mut r = report();
    r.device = "dev-0043".into();
    let signed = r.sign(&key(), &l).unwrap();
    let pk = key().public_key();
    assert!(matches!(
        verify_version_report(&signed, &check(&pk, None, None), &l).unwrap_err(),
        Error::Report(ReportError::WrongDevice { found, .. }) if found == "dev-0043"
    ));
}

#[test]
fn a_release_envelope_is_not_a_report() {
    // The same key signing the same payload without the report's content type.
    let l = Limits::default();
    let payload = report().to_cbor(&l).unwrap();
    let plain = ota_verify::sign1(&payload, &key(), &ota_verify::SignOptions::default()).unwrap();
    let pk = key().public_key();
    assert_eq!(
        verify_version_report(&plain, &check(&pk, None, None), &l).unwrap_err(),
        Error::Report(ReportError::NotAReport)
    );
}

#[test]
fn strict_decoding() {
    let l = Limits::default();
    let good = report().to_cbor(&l).unwrap();
    // Trailing byte.
    let mut t = good.clone();
    t.push(0);
    assert!(matches!(
        VersionReport::from_cbor(&t, &l),
        Err(Error::Decode {
            kind: DecodeError::TrailingBytes(1),
            ..
        })
    ));
    // Unknown key 7 (a map of 7 entries with key 7 appended).
    let mut u = good.clone();
    u[0] += 1;
    u.extend([0x07, 0x00]);
    assert!(matches!(
        VersionReport::from_cbor(&u, &l),
        Err(Error::Decode {
            kind: DecodeError::UnknownKey(7),
            ..
        })
    ));
    // Unsorted components (written by hand: the encoder sorts).
    let r = VersionReport {
        device: "d".into(),
        counter: 1,
        nonce: None,
        sent_at: 0,
        active_slot: None,
        components: vec![],
    };
    let mut b = r.to_cbor(&l).unwrap();
    b[0] += 1;
    b.extend([0x06, 0x82]);
    for id in [b"b", b"a"] {
        b.extend([0xA3, 0x00, 0x61, id[0], 0x01, 0x61, b'1', 0x02, 0x58, 0x20]);
        b.extend([0; 32]);
    }
    let e = VersionReport::from_cbor(&b, &l).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decode {
                kind: DecodeError::NonCanonical(_),
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.path(), "components[1].id");
    // Format version 2 is refused.
    let mut f = good.clone();
    f[2] = 0x02;
    assert!(matches!(
        VersionReport::from_cbor(&f, &l),
        Err(Error::Decode {
            kind: DecodeError::OutOfRange("format"),
            ..
        })
    ));
}

#[test]
fn limits_are_enforced_both_ways() {
    let l = Limits {
        max_installed: 1,
        ..Limits::default()
    };
    assert!(matches!(
        report().to_cbor(&l),
        Err(Error::LimitExceeded { .. })
    ));
    let bytes = report().to_cbor(&Limits::default()).unwrap();
    assert!(matches!(
        VersionReport::from_cbor(&bytes, &l),
        Err(Error::LimitExceeded { .. })
    ));
    let mut r = report();
    r.nonce = Some(vec![0; 65]);
    assert!(r.to_cbor(&Limits::default()).is_err());
    r.nonce = Some(vec![]);
    assert!(r.to_cbor(&Limits::default()).is_err());
    let mut dup = report();
    dup.components[1].id = "firmware".into();
    assert!(matches!(
        dup.to_cbor(&Limits::default()),
        Err(Error::Decode {
            kind: DecodeError::DuplicateComponent(_),
            ..
        })
    ));
}

fn arb_report() -> impl Strategy<Value = VersionReport> {
    let comp = (
        "[a-z][a-z0-9_-]{0,11}",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        any::<[u8; 32]>(),
    )
        .prop_map(|(id, version, d)| ComponentVersion {
            id,
            version,
            sha256: Sha256(d),
        });
    (
        "[a-zA-Z0-9-]{1,40}",
        any::<u64>(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..=64)),
        any::<u64>(),
        proptest::option::of(prop_oneof![Just(Slot::A), Just(Slot::B)]),
        proptest::collection::vec(comp, 0..8),
    )
        .prop_map(
            |(device, counter, nonce, sent_at, active_slot, mut components)| {
                components.sort_by(|a: &ComponentVersion, b| a.id.cmp(&b.id));
                components.dedup_by(|a, b| a.id == b.id);
                VersionReport {
                    device,
                    counter,
                    nonce,
                    sent_at,
                    active_slot,
                    components,
                }
            },
        )
}

proptest! {
    #[test]
    fn signed_reports_round_trip(r in arb_report(), seed in any::<[u8; 32]>()) {
        let l = Limits::default();
        let k = SecretKey::from_seed(&seed);
        let signed = r.sign(&k, &l).unwrap();
        let pk = k.public_key();
        let c = ReportCheck { device: &r.device, key: &pk, last_counter: None, nonce: r.nonce.as_deref() };
        prop_assert_eq!(verify_version_report(&signed, &c, &l).unwrap(), r.clone());
        let payload = r.to_cbor(&l).unwrap();
        prop_assert_eq!(VersionReport::from_cbor(&payload, &l).unwrap(), r);
    }

    #[test]
    fn decoder_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let l = Limits::default();
        if let Ok(r) = VersionReport::from_cbor(&bytes, &l) {
            // Whatever decodes re-encodes to the same bytes (one encoding per report).
            prop_assert_eq!(r.to_cbor(&l).unwrap(), bytes);
        }
    }
}
