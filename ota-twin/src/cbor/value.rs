//! JSON values as CBOR, and the pieces the twin and patch schemas share: the reader
//! configuration, error conversion, text-keyed maps.

use ota_cbor::{
    Config, ErrorKind, Floats, Item, Keys, Major, Reader, cmp_text_keys, write_array, write_bool,
    write_float, write_int, write_map, write_null, write_text, write_uint,
};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};

/// Nesting limit of [`decode_value`] and of the values inside a CBOR patch (serde_json's
/// default for JSON text, too).
pub const CBOR_MAX_DEPTH: usize = 128;

/// What JSON can hold: finite floats, no tags, no `undefined`, sorted text keys.
pub(super) const CONFIG: Config = Config::DETERMINISTIC.floats(Floats::Finite);

/// Encodes a JSON value as deterministic CBOR.
pub fn encode_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, v);
    out
}

/// Decodes CBOR written by [`encode_value`] (strictly: see the crate docs).
///
/// # Errors
/// [`Error::Cbor`] with the byte offset and the JSON pointer of the offending value,
/// [`Error::CborTooDeep`].
pub fn decode_value(bytes: &[u8]) -> Result<Value> {
    let mut r = Reader::new(bytes, CONFIG);
    let v = read_value(&mut r, CBOR_MAX_DEPTH, CBOR_MAX_DEPTH)?;
    r.finish().map_err(cbor)?;
    Ok(v)
}

/// A refusal of the strict reader as the crate's error.
pub(super) fn cbor(e: ota_cbor::Error) -> Error {
    let reason = match e.kind() {
        ErrorKind::WrongType { expected, .. } => match *expected {
            "unsigned integer" => "expected an unsigned integer",
            "array" => "expected an array",
            "map" => "expected a map",
            _ => "expected a text string",
        },
        k => k.reason(),
    };
    invalid(e.offset(), reason)
}

/// A schema rule broken at `offset`.
pub(super) fn invalid(offset: usize, reason: &'static str) -> Error {
    Error::Cbor {
        offset,
        pointer: String::new(),
        reason,
    }
}

/// The same error one level further out: `token` is prepended to its JSON pointer.
pub(super) fn within(mut e: Error, token: &str) -> Error {
    if let Error::Cbor { pointer, .. } = &mut e {
        let escaped = token.replace('~', "~0").replace('/', "~1");
        pointer.insert_str(0, &format!("/{escaped}"));
    }
    e
}

pub(super) fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => write_null(out),
        Value::Bool(b) => write_bool(out, *b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                write_uint(out, u);
            } else if let Some(i) = n.as_i64() {
                write_int(out, i);
            } else if let Some(f) = n.as_f64() {
                write_float(out, f);
            }
        }
        Value::String(s) => write_text(out, s),
        Value::Array(a) => {
            write_array(out, a.len());
            for e in a {
                write_value(out, e);
            }
        }
        Value::Object(m) => write_object(out, m),
    }
}

/// Entries sorted by their encoded keys (RFC 8949 §4.2.1): shorter strings first, then bytewise.
pub(super) fn sorted_keys<'m, V>(
    entries: impl Iterator<Item = (&'m String, V)>,
) -> Vec<(&'m String, V)> {
    let mut k: Vec<_> = entries.collect();
    k.sort_by(|a, b| cmp_text_keys(a.0, b.0));
    k
}

pub(super) fn write_object(out: &mut Vec<u8>, m: &Map<String, Value>) {
    write_map(out, m.len());
    for (k, v) in sorted_keys(m.iter()) {
        write_text(out, k);
        write_value(out, v);
    }
}

/// One value; `depth` containers may still open (`max` is the limit named in the error).
pub(super) fn read_value(r: &mut Reader<'_>, depth: usize, max: usize) -> Result<Value> {
    let at = r.offset();
    match r.item().map_err(cbor)? {
        Item::Uint(u) => Ok(Value::from(u)),
        Item::Negative(n) => i64::try_from(n)
            .map(|n| Value::from(-1 - n))
            .map_err(|_| invalid(at, "negative integer below i64")),
        Item::Text(s) => Ok(Value::String(s.to_owned())),
        Item::Array(n) => {
            if depth == 0 {
                return Err(Error::CborTooDeep { offset: at, max });
            }
            let mut a = Vec::with_capacity(n);
            for i in 0..n {
                let v = read_value(r, depth - 1, max).map_err(|e| within(e, &i.to_string()))?;
                a.push(v);
            }
            Ok(Value::Array(a))
        }
        Item::Map(n) => {
            if depth == 0 {
                return Err(Error::CborTooDeep { offset: at, max });
            }
            Ok(Value::Object(read_object(r, n, depth, max)?))
        }
        Item::Float(f) => Number::from_f64(f)
            .map(Value::Number)
            .ok_or(invalid(at, "NaN and infinity have no JSON equivalent")),
        Item::Bool(b) => Ok(Value::Bool(b)),
        Item::Null => Ok(Value::Null),
        Item::Bytes(_) => Err(invalid(at, "byte strings have no JSON equivalent")),
        Item::Tag(_) => Err(invalid(at, "tags are not allowed")),
        Item::Undefined => Err(invalid(at, "simple value with no JSON equivalent")),
    }
}

/// A text key of a map, in deterministic order after the previous one.
pub(super) fn read_key<'a>(r: &mut Reader<'a>, keys: &mut Keys) -> Result<&'a str> {
    // Refuse a key of another type on its first byte, before reading it.
    if r.peek().map_err(cbor)? != Major::Text {
        return Err(invalid(r.offset(), "expected a text string"));
    }
    r.text_key(keys).map_err(cbor)
}

/// The `n` entries of a map whose values may open `depth - 1` more containers.
pub(super) fn read_object(
    r: &mut Reader<'_>,
    n: usize,
    depth: usize,
    max: usize,
) -> Result<Map<String, Value>> {
    let mut m = Map::new();
    let mut keys = Keys::new();
    for _ in 0..n {
        let k = read_key(r, &mut keys)?;
        let v = read_value(r, depth - 1, max).map_err(|e| within(e, k))?;
        m.insert(k.to_owned(), v);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 8949 Appendix A examples that JSON can hold.
    #[test]
    fn rfc8949_appendix_a() {
        let cases: &[(Value, &str)] = &[
            (json!(0), "00"),
            (json!(23), "17"),
            (json!(24), "1818"),
            (json!(100), "1864"),
            (json!(1000), "1903e8"),
            (json!(1000000), "1a000f4240"),
            (json!(1000000000000u64), "1b000000e8d4a51000"),
            (json!(18446744073709551615u64), "1bffffffffffffffff"),
            (json!(-1), "20"),
            (json!(-10), "29"),
            (json!(-100), "3863"),
            (json!(-1000), "3903e7"),
            (json!(0.0), "f90000"),
            (json!(-0.0), "f98000"),
            (json!(1.0), "f93c00"),
            (json!(1.1), "fb3ff199999999999a"),
            (json!(1.5), "f93e00"),
            (json!(65504.0), "f97bff"),
            (json!(100000.0), "fa47c35000"),
            (json!(3.4028234663852886e38), "fa7f7fffff"),
            (json!(1.0e300), "fb7e37e43c8800759c"),
            (json!(5.960464477539063e-8), "f90001"),
            (json!(0.00006103515625), "f90400"),
            (json!(-4.0), "f9c400"),
            (json!(-4.1), "fbc010666666666666"),
            (json!(false), "f4"),
            (json!(true), "f5"),
            (Value::Null, "f6"),
            (json!(""), "60"),
            (json!("a"), "6161"),
            (json!("IETF"), "6449455446"),
            (json!("\"\\"), "62225c"),
            (json!("\u{00fc}"), "62c3bc"),
            (json!("\u{6c34}"), "63e6b0b4"),
            (json!([]), "80"),
            (json!([1, 2, 3]), "83010203"),
            (json!([1, [2, 3], [4, 5]]), "8301820203820405"),
            (json!({}), "a0"),
            (json!({"a": 1, "b": [2, 3]}), "a26161016162820203"),
            (json!(["a", {"b": "c"}]), "826161a161626163"),
            (
                json!({"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}),
                "a56161614161626142616361436164614461656145",
            ),
        ];
        for (v, hex) in cases {
            let enc = encode_value(v);
            let got: String = enc.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(&got, hex, "{v}");
            assert_eq!(&decode_value(&enc).unwrap(), v, "{hex}");
        }
    }

    #[test]
    fn canonical_key_order_is_length_first() {
        let enc = encode_value(&json!({"aa": 1, "b": 2, "A": 3}));
        // A, b, aa
        assert_eq!(
            enc,
            [0xa3, 0x61, b'A', 3, 0x61, b'b', 2, 0x62, b'a', b'a', 1]
        );
    }

    fn err(bytes: &[u8]) -> Error {
        decode_value(bytes).unwrap_err()
    }

    /// Negative cases: each is one rule of the strict reader.
    #[test]
    fn strict_reader_refuses() {
        let cbor_at = |e: Error| match e {
            Error::Cbor { offset, .. } => offset,
            other => panic!("{other:?}"),
        };
        assert_eq!(cbor_at(err(&[0x18, 0x17])), 0); // non-shortest int
        assert_eq!(cbor_at(err(&[0x19, 0x00, 0xff])), 0);
        assert_eq!(cbor_at(err(&[0x9f, 0xff])), 0); // indefinite array
        assert_eq!(cbor_at(err(&[0x01, 0x02])), 1); // trailing
        assert_eq!(cbor_at(err(&[0xa2, 0x61, b'b', 1, 0x61, b'a', 2])), 4); // unsorted
        assert_eq!(cbor_at(err(&[0xa2, 0x61, b'a', 1, 0x61, b'a', 2])), 4); // duplicate
        assert_eq!(cbor_at(err(&[0xc0, 0x60])), 0); // tag
        assert_eq!(cbor_at(err(&[0x41, 0x00])), 0); // byte string
        assert_eq!(cbor_at(err(&[0xf7])), 0); // undefined
        assert_eq!(cbor_at(err(&[0xf9, 0x7c, 0x00])), 0); // infinity
        assert_eq!(cbor_at(err(&[0xf9, 0x7e, 0x00])), 0); // NaN
        assert_eq!(cbor_at(err(&[0xfa, 0x3f, 0x80, 0, 0])), 0); // 1.0 not shortest
        assert_eq!(cbor_at(err(&[0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0])), 0); // below i64
        assert_eq!(cbor_at(err(&[0x62, 0xff, 0xfe])), 0); // bad UTF-8
        assert_eq!(cbor_at(err(&[0x9b, 0, 0, 0, 1, 0, 0, 0, 0])), 0); // huge length
        assert_eq!(cbor_at(err(&[0x7a, 0xff, 0xff, 0xff, 0xff])), 0); // huge text
        assert_eq!(cbor_at(err(&[0xa1, 0x01, 0x02])), 1); // int key
        assert_eq!(cbor_at(err(&[])), 0);
        assert_eq!(cbor_at(err(&[0x1c])), 0); // reserved
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut deep = vec![0x81u8; 100_000];
        deep.push(0x00);
        assert!(matches!(
            err(&deep),
            Error::CborTooDeep {
                max: CBOR_MAX_DEPTH,
                ..
            }
        ));
        let mut ok = vec![0x81u8; CBOR_MAX_DEPTH];
        ok.push(0x00);
        assert!(decode_value(&ok).is_ok());
    }

    #[test]
    fn half_precision_exhaustive() {
        // Every finite half-precision value decodes and encodes back to its own three bytes
        // (the conversion itself is ota-cbor's, tested there too).
        for h in 0u16..=0xffff {
            let [a, b] = h.to_be_bytes();
            let bytes = [0xf9, a, b];
            if h & 0x7c00 == 0x7c00 {
                assert!(decode_value(&bytes).is_err(), "{h:#x}");
                continue;
            }
            let v = decode_value(&bytes).unwrap();
            assert_eq!(encode_value(&v), bytes, "{h:#x}");
        }
    }
}
