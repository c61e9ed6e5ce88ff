//! RFC 8949 Appendix A ("Examples of Encoded CBOR Data Items"), every example, each with its
//! hex copied from the RFC's table. The deterministic ones are accepted (under a configuration
//! that allows floats, tags and `undefined`) and re-encode to the same bytes; the others are
//! refused with the rule they break.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{differential, hex};
use ota_cbor::{Config, ErrorKind, Floats, Tags, Value, decode};

const ALL: Config = Config::DETERMINISTIC
    .floats(Floats::Any)
    .tags(Tags::Any)
    .undefined(true);

/// RFC 8949 Appendix A, Table 6: examples in core deterministic encoding.
const DETERMINISTIC: &[(&str, &str)] = &[
    ("0", "00"),
    ("1", "01"),
    ("10", "0a"),
    ("23", "17"),
    ("24", "1818"),
    ("25", "1819"),
    ("100", "1864"),
    ("1000", "1903e8"),
    ("1000000", "1a000f4240"),
    ("1000000000000", "1b000000e8d4a51000"),
    ("18446744073709551615", "1bffffffffffffffff"),
    ("18446744073709551616", "c249010000000000000000"),
    ("-18446744073709551616", "3bffffffffffffffff"),
    ("-18446744073709551617", "c349010000000000000000"),
    ("-1", "20"),
    ("-10", "29"),
    ("-100", "3863"),
    ("-1000", "3903e7"),
    ("0.0", "f90000"),
    ("-0.0", "f98000"),
    ("1.0", "f93c00"),
    ("1.1", "fb3ff199999999999a"),
    ("1.5", "f93e00"),
    ("65504.0", "f97bff"),
    ("100000.0", "fa47c35000"),
    ("3.4028234663852886e+38", "fa7f7fffff"),
    ("1.0e+300", "fb7e37e43c8800759c"),
    ("5.960464477539063e-8", "f90001"),
    ("0.00006103515625", "f90400"),
    ("-4.0", "f9c400"),
    ("-4.1", "fbc010666666666666"),
    ("Infinity", "f97c00"),
    ("NaN", "f97e00"),
    ("-Infinity", "f9fc00"),
    ("false", "f4"),
    ("true", "f5"),
    ("null", "f6"),
    ("undefined", "f7"),
    (
        "0(\"2013-03-21T20:04:00Z\")",
        "c074323031332d30332d32315432303a30343a30305a",
    ),
    ("1(1363896240)", "c11a514b67b0"),
    ("1(1363896240.5)", "c1fb41d452d9ec200000"),
    ("23(h'01020304')", "d74401020304"),
    ("24(h'6449455446')", "d818456449455446"),
    (
        "32(\"http://www.example.com\")",
        "d82076687474703a2f2f7777772e6578616d706c652e636f6d",
    ),
    ("h''", "40"),
    ("h'01020304'", "4401020304"),
    ("\"\"", "60"),
    ("\"a\"", "6161"),
    ("\"IETF\"", "6449455446"),
    ("\"\\\"\\\\\"", "62225c"),
    ("\"\u{fc}\"", "62c3bc"),
    ("\"\u{6c34}\"", "63e6b0b4"),
    ("\"\u{10151}\"", "64f0908591"),
    ("[]", "80"),
    ("[1, 2, 3]", "83010203"),
    ("[1, [2, 3], [4, 5]]", "8301820203820405"),
    (
        "[1, 2, ..., 25]",
        "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
    ),
    ("{}", "a0"),
    ("{1: 2, 3: 4}", "a201020304"),
    ("{\"a\": 1, \"b\": [2, 3]}", "a26161016162820203"),
    ("[\"a\", {\"b\": \"c\"}]", "826161a161626163"),
    (
        "{\"a\": \"A\", ..., \"e\": \"E\"}",
        "a56161614161626142616361436164614461656145",
    ),
];

/// RFC 8949 Appendix A: the examples that are valid CBOR but not deterministic (or that use a
/// simple value with no assigned meaning), with the rule that refuses them.
const REFUSED: &[(&str, &str, ErrorKind)] = &[
    (
        "Infinity as single",
        "fa7f800000",
        ErrorKind::FloatNotShortest,
    ),
    ("NaN as single", "fa7fc00000", ErrorKind::FloatNotShortest),
    (
        "-Infinity as single",
        "faff800000",
        ErrorKind::FloatNotShortest,
    ),
    (
        "Infinity as double",
        "fb7ff0000000000000",
        ErrorKind::FloatNotShortest,
    ),
    (
        "NaN as double",
        "fb7ff8000000000000",
        ErrorKind::FloatNotShortest,
    ),
    (
        "-Infinity as double",
        "fbfff0000000000000",
        ErrorKind::FloatNotShortest,
    ),
    (
        "simple(16)",
        "f0",
        ErrorKind::UnsupportedSimple { value: 16 },
    ),
    (
        "simple(255)",
        "f8ff",
        ErrorKind::UnsupportedSimple { value: 255 },
    ),
    (
        "(_ h'0102', h'030405')",
        "5f42010243030405ff",
        ErrorKind::IndefiniteLength,
    ),
    (
        "(_ \"strea\", \"ming\")",
        "7f657374726561646d696e67ff",
        ErrorKind::IndefiniteLength,
    ),
    ("[_ ]", "9fff", ErrorKind::IndefiniteLength),
    (
        "[_ 1, [2, 3], [_ 4, 5]]",
        "9f018202039f0405ffff",
        ErrorKind::IndefiniteLength,
    ),
    (
        "[_ 1, [2, 3], [4, 5]]",
        "9f01820203820405ff",
        ErrorKind::IndefiniteLength,
    ),
    (
        "[1, [2, 3], [_ 4, 5]]",
        "83018202039f0405ff",
        ErrorKind::IndefiniteLength,
    ),
    (
        "[1, [_ 2, 3], [4, 5]]",
        "83019f0203ff820405",
        ErrorKind::IndefiniteLength,
    ),
    (
        "[_ 1, 2, ..., 25]",
        "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff",
        ErrorKind::IndefiniteLength,
    ),
    (
        "{_ \"a\": 1, \"b\": [_ 2, 3]}",
        "bf61610161629f0203ffff",
        ErrorKind::IndefiniteLength,
    ),
    (
        "[\"a\", {_ \"b\": \"c\"}]",
        "826161bf61626163ff",
        ErrorKind::IndefiniteLength,
    ),
    (
        "{_ \"Fun\": true, \"Amt\": -2}",
        "bf6346756ef563416d7421ff",
        ErrorKind::IndefiniteLength,
    ),
];

#[test]
fn deterministic_examples_are_accepted_and_reencode_identically() {
    for (what, h) in DETERMINISTIC {
        let bytes = hex(h);
        let v = decode(&bytes, ALL).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(v.to_vec().unwrap(), bytes, "{what}");
        differential(&bytes, &v);
    }
}

#[test]
fn examples_decode_to_the_values_the_rfc_names() {
    let f = |h: &str| decode(&hex(h), ALL).unwrap();
    assert_eq!(f("1bffffffffffffffff"), Value::Uint(u64::MAX));
    assert_eq!(f("3bffffffffffffffff"), Value::Negative(u64::MAX));
    assert_eq!(f("3903e7"), Value::Negative(999));
    assert_eq!(f("fb3ff199999999999a"), Value::Float(1.1));
    assert_eq!(f("fa47c35000"), Value::Float(100000.0));
    assert_eq!(f("f90001"), Value::Float(5.960464477539063e-8));
    assert_eq!(f("f9c400"), Value::Float(-4.0));
    assert_eq!(f("f9fc00"), Value::Float(f64::NEG_INFINITY));
    assert!(matches!(f("f97e00"), Value::Float(x) if x.is_nan()));
    assert!(matches!(f("f98000"), Value::Float(x) if x == 0.0 && x.is_sign_negative()));
    assert_eq!(f("64f0908591"), Value::Text("\u{10151}".into()));
    assert_eq!(
        f("c249010000000000000000"),
        Value::Tag(2, Box::new(Value::Bytes(hex("010000000000000000"))))
    );
    assert_eq!(
        f("a201020304"),
        Value::Map(vec![
            (Value::Uint(1), Value::Uint(2)),
            (Value::Uint(3), Value::Uint(4))
        ])
    );
}

#[test]
fn non_deterministic_examples_are_refused_with_the_rule() {
    for (what, h, kind) in REFUSED {
        let e = decode(&hex(h), ALL).unwrap_err();
        assert_eq!(e.kind(), kind, "{what}");
    }
}

#[test]
fn default_configuration_refuses_floats_tags_and_undefined() {
    let kind = |h: &str| *decode(&hex(h), Config::DETERMINISTIC).unwrap_err().kind();
    assert_eq!(kind("f93c00"), ErrorKind::FloatNotAllowed);
    assert_eq!(kind("c11a514b67b0"), ErrorKind::TagNotAllowed { tag: 1 });
    assert_eq!(kind("f7"), ErrorKind::UnsupportedSimple { value: 23 });
    // Finite floats only: the infinities and NaN go.
    let finite = Config::DETERMINISTIC.floats(Floats::Finite);
    for h in ["f97c00", "f97e00", "f9fc00"] {
        assert_eq!(
            decode(&hex(h), finite).unwrap_err().kind(),
            &ErrorKind::NonFinite
        );
    }
    // Only the tags the caller names.
    let only = Config::DETERMINISTIC.tags(Tags::Only(&[1]));
    assert!(decode(&hex("c11a514b67b0"), only).is_ok());
    assert_eq!(
        decode(&hex("d74401020304"), only).unwrap_err().kind(),
        &ErrorKind::TagNotAllowed { tag: 23 }
    );
}
