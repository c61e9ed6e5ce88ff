//! Negative fixtures (tests/data/, written by tests/data/generate.py): each defect gives its
//! own error, with a byte offset where the input is malformed, and never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::NOW;
use ota_verify::{Envelope, Error, Policy, TrustRoot};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn malformed(reason_part: &str) -> impl Fn(&Error) -> bool + '_ {
    move |e| matches!(e, Error::Malformed { reason, .. } if reason.contains(reason_part))
}

#[test]
fn positive_fixtures_still_verify() {
    let root = TrustRoot::decode(&data("root_valid.cbor")).unwrap();
    assert_eq!(
        TrustRoot::from_signed(&data("root_signed_valid.cose")).unwrap(),
        root
    );
    let env = data("env_valid_sign1.cose");
    let v = root.verify(&env, None, &Policy::new(NOW, 4)).unwrap();
    assert_eq!(v.sequence, 5);
}

#[test]
fn trust_root_fixtures_give_their_errors() {
    type Check = Box<dyn Fn(&Error) -> bool>;
    let cases: Vec<(&str, Check)> = vec![
        ("root_trailing_byte.cbor", Box::new(malformed("trailing"))),
        (
            "root_truncated.cbor",
            Box::new(|e| matches!(e, Error::Malformed { .. })),
        ),
        (
            "root_keys_unsorted.cbor",
            Box::new(malformed("ascending key id")),
        ),
        (
            "root_threshold_zero.cbor",
            Box::new(
                |e| matches!(e, Error::InvalidTrustRoot { reason } if reason.contains("at least 1")),
            ),
        ),
        (
            "root_threshold_above_keys.cbor",
            Box::new(
                |e| matches!(e, Error::InvalidTrustRoot { reason } if reason.contains("above")),
            ),
        ),
        (
            "root_non_shortest_version.cbor",
            Box::new(malformed("non-shortest")),
        ),
        (
            "root_wrong_type_marker.cbor",
            Box::new(malformed("type marker")),
        ),
        (
            "root_map_keys_out_of_order.cbor",
            Box::new(malformed("in order")),
        ),
        ("root_extra_entry.cbor", Box::new(malformed("map of 5"))),
        (
            "root_small_order_key.cbor",
            Box::new(|e| matches!(e, Error::InvalidKey { .. })),
        ),
        (
            "root_no_release_role.cbor",
            Box::new(|e| {
                *e == Error::InvalidTrustRoot {
                    reason: "no release role",
                }
            }),
        ),
        (
            "root_key_in_no_role.cbor",
            Box::new(|e| {
                *e == Error::InvalidTrustRoot {
                    reason: "a key belongs to no role",
                }
            }),
        ),
        (
            "root_key_index_out_of_range.cbor",
            Box::new(malformed("key index")),
        ),
        (
            "root_roles_unsorted.cbor",
            Box::new(malformed("roles not in strictly ascending")),
        ),
        (
            "root_too_many_keys.cbor",
            Box::new(|e| matches!(e, Error::LimitExceeded { limit: 16, .. })),
        ),
        (
            "root_float_version.cbor",
            Box::new(malformed("floating-point")),
        ),
        (
            "root_indefinite_keys.cbor",
            Box::new(malformed("indefinite")),
        ),
    ];
    for (name, check) in cases {
        let err = TrustRoot::decode(&data(name)).unwrap_err();
        assert!(check(&err), "{name}: unexpected {err:?}");
    }
}

#[test]
fn malformed_offsets_point_at_the_defect() {
    // The version head (0x18 0x01) starts at byte 20 of root_non_shortest_version.cbor.
    assert_eq!(
        TrustRoot::decode(&data("root_non_shortest_version.cbor")),
        Err(Error::Malformed {
            offset: 20,
            reason: "non-shortest integer or length"
        })
    );
    let env = data("env_trailing_byte.cose");
    assert_eq!(
        Envelope::decode(&env).unwrap_err(),
        Error::Malformed {
            offset: env.len() - 1,
            reason: "trailing bytes after the value"
        }
    );
}

#[test]
fn envelope_fixtures_give_their_errors() {
    type Check = Box<dyn Fn(&Error) -> bool>;
    let cases: Vec<(&str, Check)> = vec![
        (
            "env_truncated.cose",
            Box::new(malformed("exceeds the input")),
        ),
        ("env_trailing_byte.cose", Box::new(malformed("trailing"))),
        ("env_wrong_tag.cose", Box::new(malformed("tag"))),
        (
            "env_indefinite_array.cose",
            Box::new(malformed("indefinite")),
        ),
        ("env_array_of_5.cose", Box::new(malformed("array of 4"))),
        (
            "env_alg_unprotected.cose",
            Box::new(malformed("alg must be in the protected")),
        ),
        ("env_duplicate_label.cose", Box::new(malformed("duplicate"))),
        (
            "env_label_in_both_buckets.cose",
            Box::new(malformed("duplicate")),
        ),
        (
            "env_deep_nesting.cose",
            Box::new(|e| {
                matches!(
                    e,
                    Error::LimitExceeded {
                        what: "CBOR nesting depth",
                        ..
                    }
                )
            }),
        ),
        (
            "env_too_many_signatures.cose",
            Box::new(|e| matches!(e, Error::LimitExceeded { limit: 16, .. })),
        ),
        (
            "env_no_signatures.cose",
            Box::new(malformed("no signatures")),
        ),
        (
            "env_huge_payload_length.cose",
            Box::new(malformed("exceeds the input")),
        ),
        (
            "env_float_header.cose",
            Box::new(malformed("floating-point")),
        ),
        (
            "env_critical_label_absent.cose",
            Box::new(malformed("listed in crit but absent")),
        ),
        (
            "env_unknown_critical.cose",
            Box::new(malformed("critical header not understood")),
        ),
        (
            "env_protected_not_a_map.cose",
            Box::new(malformed("expected a map")),
        ),
    ];
    for (name, check) in cases {
        let err = Envelope::decode(&data(name)).unwrap_err();
        assert!(check(&err), "{name}: unexpected {err:?}");
    }
}

#[test]
fn envelopes_that_decode_but_cannot_count() {
    let root = TrustRoot::decode(&data("root_valid.cbor")).unwrap();
    let policy = Policy::new(NOW, 0);
    assert_eq!(
        root.verify(&data("env_unsupported_alg.cose"), None, &policy),
        Err(Error::UnsupportedAlgorithm { alg: -7 })
    );
    assert_eq!(
        root.verify(&data("env_short_signature.cose"), None, &policy),
        Err(Error::BadSignature)
    );
}

/// `load_signed` (decode in place, for a root in a microcontroller's static) gives what
/// `from_signed` gives, and after any error holds `TrustRoot::EMPTY`, which verifies nothing,
/// whatever it held before.
#[test]
fn load_signed_in_place_matches_from_signed_and_empties_on_error() {
    let valid = data("root_signed_valid.cose");
    let expected = TrustRoot::decode(&data("root_valid.cbor")).unwrap();
    let mut slot = TrustRoot::EMPTY;
    slot.load_signed(&valid).unwrap();
    assert_eq!(slot, expected);
    let env = data("env_valid_sign1.cose");
    let dir = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let mut refused = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        // Every fixture, and the valid signed root cut at every length.
        let mut inputs = vec![bytes];
        inputs.extend((0..valid.len()).map(|n| valid[..n].to_vec()));
        for input in inputs {
            let mut slot = expected.clone();
            let got = slot.load_signed(&input);
            match TrustRoot::from_signed(&input) {
                Ok(root) => {
                    assert_eq!(got, Ok(()));
                    assert_eq!(slot, root);
                }
                Err(e) => {
                    refused += 1;
                    assert_eq!(got, Err(e), "{}", path.display());
                    assert_eq!(slot, TrustRoot::EMPTY, "{}", path.display());
                    assert!(matches!(
                        slot.verify(&env, None, &Policy::new(NOW, 4)),
                        Err(Error::InvalidTrustRoot { .. })
                    ));
                    assert!(slot.rotate(&valid).is_err());
                }
            }
        }
    }
    assert!(refused > valid.len());
}
