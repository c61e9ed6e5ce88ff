//! Shared by the integration tests: hex, and the differential check against cbor4ii.
#![allow(dead_code)]

use cbor4ii::core::Value as Other;
use cbor4ii::core::dec::Decode;
use cbor4ii::core::utils::SliceReader;
use ota_cbor::Value;

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// What cbor4ii makes of the same bytes (it maps `undefined` to `Null`).
pub fn other_decode(bytes: &[u8]) -> Option<Other> {
    let mut r = SliceReader::new(bytes);
    Other::decode(&mut r).ok()
}

/// Our value in cbor4ii's model.
pub fn to_other(v: &Value) -> Other {
    match v {
        Value::Uint(u) => Other::Integer(i128::from(*u)),
        Value::Negative(n) => Other::Integer(-1 - i128::from(*n)),
        Value::Bytes(b) => Other::Bytes(b.clone()),
        Value::Text(t) => Other::Text(t.clone()),
        Value::Array(a) => Other::Array(a.iter().map(to_other).collect()),
        Value::Map(m) => Other::Map(m.iter().map(|(k, v)| (to_other(k), to_other(v))).collect()),
        Value::Tag(t, v) => Other::Tag(*t, Box::new(to_other(v))),
        Value::Bool(b) => Other::Bool(*b),
        Value::Null | Value::Undefined => Other::Null,
        Value::Float(f) => Other::Float(*f),
    }
}

/// Equality that treats two NaNs as equal and tells -0.0 from 0.0 (both decoders must agree on
/// the bits).
pub fn same(a: &Other, b: &Other) -> bool {
    match (a, b) {
        (Other::Float(x), Other::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Other::Array(x), Other::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Other::Map(x), Other::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        (Other::Tag(ta, a), Other::Tag(tb, b)) => ta == tb && same(a, b),
        _ => a == b,
    }
}

/// Accepted by ours => cbor4ii decodes the whole input to the same value.
pub fn differential(bytes: &[u8], ours: &Value) {
    let mut r = SliceReader::new(bytes);
    let theirs =
        Other::decode(&mut r).unwrap_or_else(|e| panic!("cbor4ii refused {bytes:02x?}: {e:?}"));
    assert!(
        same(&theirs, &to_other(ours)),
        "{bytes:02x?}: ours {ours:?}, cbor4ii {theirs:?}"
    );
}
