//! Properties: whatever the writer emits, the reader accepts and re-emits byte for byte; whatever
//! the reader accepts (random or mutated bytes), cbor4ii decodes to the same value and our
//! encoder writes back unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::differential;
use ota_cbor::{
    Config, Floats, Reader, Tags, Value, decode, write_float, write_int, write_text, write_uint,
};
use proptest::prelude::*;

const ALL: Config = Config::DETERMINISTIC
    .floats(Floats::Any)
    .tags(Tags::Any)
    .undefined(true)
    .max_depth(64);

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::Uint),
        (0u64..30).prop_map(Value::Uint),
        any::<u64>().prop_map(Value::Negative),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        ".{0,30}".prop_map(Value::Text),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        Just(Value::Undefined),
        any::<f64>().prop_map(Value::Float),
        any::<f32>().prop_map(|f| Value::Float(f64::from(f))),
        (-70000i32..70000).prop_map(|i| Value::Float(f64::from(i) / 4.0)),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..6).prop_map(Value::Map),
            (0u64..300, inner).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
        ]
    })
}

fn check_accepted(bytes: &[u8]) {
    if let Ok(v) = decode(bytes, ALL) {
        assert_eq!(v.to_vec().unwrap(), bytes);
        differential(bytes, &v);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn writer_output_is_accepted_and_reencoded_identically(v in value()) {
        // Maps with two keys of the same encoding cannot be written deterministically.
        let Ok(bytes) = v.to_vec() else { return Ok(()) };
        let back = decode(&bytes, ALL).unwrap();
        prop_assert_eq!(back.to_vec().unwrap(), bytes.clone());
        differential(&bytes, &back);
        // The skip path agrees with the value path and returns the whole item.
        let mut r = Reader::new(&bytes, ALL);
        prop_assert_eq!(r.skip(0).unwrap(), &bytes[..]);
    }

    #[test]
    fn head_writers_round_trip(u in any::<u64>(), i in any::<i64>(), f in any::<f64>(), s in ".{0,40}") {
        let mut out = Vec::new();
        out.push(0x84);
        write_uint(&mut out, u);
        write_int(&mut out, i);
        write_float(&mut out, f);
        write_text(&mut out, &s);
        let mut r = Reader::new(&out, ALL);
        prop_assert_eq!(r.array().unwrap(), 4);
        prop_assert_eq!(r.uint().unwrap(), u);
        prop_assert_eq!(r.int().unwrap(), i);
        let g = r.float().unwrap();
        prop_assert!(g.to_bits() == f.to_bits() || (f.is_nan() && g.is_nan()));
        prop_assert_eq!(r.text().unwrap(), s.as_str());
        r.finish().unwrap();
        check_accepted(&out);
    }

    #[test]
    fn accepted_random_bytes_agree_with_cbor4ii(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_accepted(&bytes);
    }

    #[test]
    fn accepted_mutations_agree_with_cbor4ii(
        v in value(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let Ok(mut bytes) = v.to_vec() else { return Ok(()) };
        let i = at.index(bytes.len());
        bytes[i] = byte;
        check_accepted(&bytes);
        // And with one byte fewer.
        let mut short = bytes.clone();
        short.remove(i);
        check_accepted(&short);
    }
}
