//! Bad input: truncation at every byte, random mutations, huge declared sizes. Whatever the
//! decoder accepts re-encodes to exactly the bytes it read (one byte form per message).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use ota_protocol::{DecodeError, Error, Limits, Message};
use proptest::prelude::*;

fn samples() -> Vec<Vec<u8>> {
    vec![
        sample_job().to_cbor().unwrap(),
        minimal_job().to_cbor().unwrap(),
        execution(failed()).to_cbor().unwrap(),
        execution(rejected()).to_cbor().unwrap(),
        execution(in_progress()).to_cbor().unwrap(),
        sample_report().to_cbor().unwrap(),
    ]
}

/// If `bytes` decode, they are the canonical encoding of what they decode to.
fn accepted_means_canonical(bytes: &[u8]) {
    if let Ok(m) = Message::from_cbor(bytes) {
        assert_eq!(m.to_cbor().unwrap(), bytes, "accepted a second encoding");
    }
}

#[test]
fn every_truncation_is_refused() {
    for s in samples() {
        for n in 0..s.len() {
            let e = Message::from_cbor(&s[..n]).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Decode {
                        kind: DecodeError::Truncated
                            | DecodeError::MissingField(_)
                            | DecodeError::WrongType { .. },
                        ..
                    }
                ),
                "prefix {n}: {e:?}"
            );
        }
    }
}

#[test]
fn every_single_byte_change_is_refused_or_canonical() {
    for s in samples() {
        for i in 0..s.len() {
            for delta in [1u8, 0x20, 0x80, 0xff] {
                let mut m = s.clone();
                m[i] = m[i].wrapping_add(delta);
                accepted_means_canonical(&m);
            }
        }
    }
}

#[test]
fn huge_declared_lengths_allocate_nothing_and_are_refused() {
    // {0: 1, 1: 1, 2: <text of 2^64-1 bytes>}
    let text = [
        0xa3, 0x00, 0x01, 0x01, 0x01, 0x02, 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];
    assert!(Message::from_cbor(&text).is_err());
    // A job whose envelope declares 4 GiB.
    let mut env = minimal_job().to_cbor().unwrap();
    let cut = env.iter().position(|b| *b == 0x05).unwrap();
    env.truncate(cut + 1);
    env.extend_from_slice(&[0x5a, 0xff, 0xff, 0xff, 0xff]);
    match Message::from_cbor(&env).unwrap_err() {
        Error::LimitExceeded { limit, count, .. } => {
            assert_eq!(limit, ota_protocol::Limit::EnvelopeBytes);
            assert_eq!(count, 0xffff_ffff);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn deep_nesting_is_a_type_error_not_a_stack_overflow() {
    // A report whose health map value is a million nested arrays.
    let mut r = sample_report();
    r.health.clear();
    r.health.insert("x".into(), 1.0);
    let mut b = r.to_cbor().unwrap();
    let at = b.len() - 3; // the f9 3c00 of 1.0
    b.truncate(at);
    b.extend(std::iter::repeat_n(0x81u8, 1_000_000));
    b.push(0x00);
    assert!(matches!(
        Message::from_cbor(&b).unwrap_err(),
        Error::TooLarge { .. }
    ));
    let big = Limits {
        max_cbor_bytes: 2 << 20,
        ..Limits::default()
    };
    assert!(matches!(
        Message::from_cbor_with(&b, &big).unwrap_err(),
        Error::Decode {
            kind: DecodeError::WrongType { .. },
            ..
        }
    ));
}

#[test]
fn whole_message_limit_comes_first() {
    let b = sample_job().to_cbor().unwrap();
    let l = Limits {
        max_cbor_bytes: b.len() - 1,
        ..Limits::default()
    };
    assert_eq!(
        Message::from_cbor_with(&b, &l).unwrap_err(),
        Error::TooLarge {
            size: b.len(),
            max: b.len() - 1
        }
    );
    assert!(matches!(
        sample_job().to_cbor_with(&l).unwrap_err(),
        Error::TooLarge { .. }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        accepted_means_canonical(&b);
    }

    #[test]
    fn random_splices_into_valid_messages(
        which in 0usize..6,
        at in any::<prop::sample::Index>(),
        insert in proptest::collection::vec(any::<u8>(), 0..6),
        remove in 0usize..6,
    ) {
        let mut s = samples()[which].clone();
        let i = at.index(s.len());
        let end = (i + remove).min(s.len());
        s.splice(i..end, insert);
        accepted_means_canonical(&s);
    }
}
