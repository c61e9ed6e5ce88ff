#![no_main]
//! The strict reader on arbitrary bytes, differentially: it never panics; whatever it accepts is
//! re-encoded byte for byte by our writer and decodes to the same value in cbor4ii (an
//! independent, lenient decoder); the item-by-item `skip` path agrees with the `Value` path.

use cbor4ii::core::Value as Other;
use cbor4ii::core::dec::Decode;
use cbor4ii::core::utils::SliceReader;
use libfuzzer_sys::fuzz_target;
use ota_cbor::{Config, Floats, Tags, Value, decode, validate};

const ALL: Config = Config::DETERMINISTIC
    .floats(Floats::Any)
    .tags(Tags::Any)
    .undefined(true)
    .max_depth(64);

fn to_other(v: &Value) -> Other {
    match v {
        Value::Uint(u) => Other::Integer(i128::from(*u)),
        Value::Negative(n) => Other::Integer(-1 - i128::from(*n)),
        Value::Bytes(b) => Other::Bytes(b.clone()),
        Value::Text(t) => Other::Text(t.clone()),
        Value::Array(a) => Other::Array(a.iter().map(to_other).collect()),
        Value::Map(m) => Other::Map(m.iter().map(|(k, v)| (to_other(k), to_other(v))).collect()),
        Value::Tag(t, v) => Other::Tag(*t, Box::new(to_other(v))),
        Value::Bool(b) => Other::Bool(*b),
        // cbor4ii decodes `undefined` as `Null`.
        Value::Null | Value::Undefined => Other::Null,
        Value::Float(f) => Other::Float(*f),
    }
}

/// Equal, with NaN equal to NaN and 0.0 told from -0.0.
fn same(a: &Other, b: &Other) -> bool {
    match (a, b) {
        (Other::Float(x), Other::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Other::Array(x), Other::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Other::Map(x), Other::Map(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        (Other::Tag(ta, a), Other::Tag(tb, b)) => ta == tb && same(a, b),
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let ours = decode(data, ALL);
    assert_eq!(ours.is_ok(), validate(data, ALL).is_ok(), "skip and value paths disagree");
    let Ok(v) = ours else { return };
    assert_eq!(v.to_vec().expect("accepted maps have distinct keys"), data);
    let mut r = SliceReader::new(data);
    let theirs = Other::decode(&mut r).expect("cbor4ii decodes what we accept");
    assert!(same(&theirs, &to_other(&v)), "ours {v:?}, cbor4ii {theirs:?}");
});
