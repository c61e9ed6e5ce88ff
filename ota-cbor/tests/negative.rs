//! Negative fixtures: every rule of the reader, truncation, hostile lengths and nesting, wrong
//! types, and where each error points (offset and path).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::hex;
use ota_cbor::{
    Config, ErrorKind, Floats, KeyOrder, Keys, Major, Reader, Segment, Tags, decode, validate,
};

const D: Config = Config::DETERMINISTIC;

fn refused(h: &str) -> (ErrorKind, usize) {
    let e = validate(&hex(h), D).expect_err(h);
    (*e.kind(), e.offset())
}

#[test]
fn each_rule_is_refused_at_the_right_byte() {
    use ErrorKind::*;
    let cases: &[(&str, ErrorKind, usize)] = &[
        ("", Truncated, 0),
        ("1817", NonShortest, 0),
        ("1900ff", NonShortest, 0),
        ("1a0000ffff", NonShortest, 0),
        ("1b00000000ffffffff", NonShortest, 0),
        ("3817", NonShortest, 0),
        ("5803616263", NonShortest, 0),
        ("9803010203", NonShortest, 0),
        ("b801", NonShortest, 0),
        ("f810", NonShortest, 0),
        ("811817", NonShortest, 1),
        ("1c", Reserved { info: 28 }, 0),
        ("1f", Reserved { info: 31 }, 0),
        ("df00", Reserved { info: 31 }, 0),
        ("ff", UnexpectedBreak, 0),
        ("5fff", IndefiniteLength, 0),
        ("0102", TrailingBytes { count: 1 }, 1),
        ("a2616201616102", UnsortedKey, 4),
        ("a2616101616102", DuplicateKey, 4),
        // Length-first order: "aa" (62 61 61) after "b" (61 62) is fine, before it is not.
        ("a2626161006162 00", UnsortedKey, 5),
        ("a2200a0a00", UnsortedKey, 3),
        ("62fffe", InvalidUtf8, 0),
        ("f7", UnsupportedSimple { value: 23 }, 0),
        ("e0", UnsupportedSimple { value: 0 }, 0),
        ("f93c00", FloatNotAllowed, 0),
        ("c000", TagNotAllowed { tag: 0 }, 0),
        ("5b0000000100000000", Truncated, 0),
        ("7affffffff", Truncated, 0),
        ("9bffffffffffffffff", Truncated, 0),
        ("bbffffffffffffffff", Truncated, 0),
        // A map of 2 entries needs 4 bytes at least: refused on its head, before any entry.
        ("a2010203", Truncated, 0),
    ];
    for (h, kind, offset) in cases {
        let h = h.replace(' ', "");
        assert_eq!(refused(&h), (*kind, *offset), "{h}");
    }
}

#[test]
fn floats_must_be_shortest() {
    let any = D.floats(Floats::Any);
    let kind = |h: &str| *validate(&hex(h), any).unwrap_err().kind();
    assert_eq!(kind("fa3fc00000"), ErrorKind::FloatNotShortest); // 1.5 as single
    assert_eq!(kind("fb3ff8000000000000"), ErrorKind::FloatNotShortest); // 1.5 as double
    assert_eq!(kind("fb40f86a0000000000"), ErrorKind::FloatNotShortest); // 100000.0 as double
    assert_eq!(kind("f97e01"), ErrorKind::FloatNotShortest); // NaN with a payload
    assert_eq!(kind("f9fe00"), ErrorKind::FloatNotShortest); // negative NaN
    assert!(validate(&hex("fa47c35000"), any).is_ok());
}

#[test]
fn every_truncation_of_a_valid_item_is_refused() {
    let all = D.floats(Floats::Any).tags(Tags::Any);
    let full = hex(concat!(
        "a3",
        "61",
        "61",
        "83",
        "1903e8",
        "3bffffffffffffffff",
        "fb3ff199999999999a",
        "62",
        "6262",
        "c2",
        "49",
        "010000000000000000",
        "63",
        "616263",
        "a1",
        "64",
        "f0908591",
        "78",
        "19",
        "616161616161616161616161616161616161616161616161",
        "61",
    ));
    validate(&full, all).unwrap();
    for n in 0..full.len() {
        let e = validate(&full[..n], all).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Truncated, "cut at {n}");
        assert!(e.offset() <= n, "cut at {n}: offset {}", e.offset());
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for open in [0x81u8, 0xa1, 0xc1] {
        let mut deep = vec![open; 1_000_000];
        if open == 0xa1 {
            // {0: {0: ...}}: a key before each nested map.
            deep = [0xa1u8, 0x00].repeat(500_000);
        }
        deep.push(0x00);
        let cfg = D.tags(Tags::Any);
        let e = validate(&deep, cfg).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TooDeep { max: 16 }, "{open:02x}");
        let e = decode(&deep, cfg).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TooDeep { max: 16 });
    }
    // Exactly at the limit: 16 arrays accepted, 17 refused at the 17th.
    let mut ok = vec![0x81u8; 16];
    ok.push(0x00);
    validate(&ok, D).unwrap();
    let mut over = vec![0x81u8; 17];
    over.push(0x00);
    let e = validate(&over, D).unwrap_err();
    assert_eq!(e.offset(), 16);
    assert_eq!(e.path().segments().len(), 5);
    assert!(e.path().is_elided());
}

#[test]
fn limits_are_checked_on_the_head() {
    let e = validate(&hex("83010203"), D.max_items(2)).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TooManyItems { count: 3, max: 2 });
    let e = validate(&hex("a1616101"), D.max_items(0)).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TooManyItems { count: 1, max: 0 });
    let e = validate(&hex("8164616263644100"), D.max_len(3)).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TooLong { len: 4, max: 3 });
    assert_eq!(
        (e.offset(), e.path().segments()),
        (1, &[Segment::Index(0)][..])
    );
    // A string length limit applies even when the bytes are not there at all.
    let e = validate(&hex("7bffffffffffffffff"), D.max_len(1 << 20)).unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::TooLong {
            len: u64::MAX,
            max: 1 << 20
        }
    );
}

#[test]
fn errors_carry_the_path_of_keys() {
    // {"net": {"ssid": [1, 0x1800]}}: the non-shortest 0 is at .net.ssid[1].
    let b = hex("a1636e6574a1647373696482011800");
    let e = validate(&b, D).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::NonShortest);
    assert_eq!(e.offset(), 13);
    assert_eq!(
        e.path().segments(),
        &[
            Segment::text("net"),
            Segment::text("ssid"),
            Segment::Index(1)
        ]
    );
    assert_eq!(
        e.to_string(),
        "head not in shortest form at byte 13 (in .net.ssid[1])"
    );
    assert_eq!(decode(&b, D).unwrap_err(), e);
    // Integer keys: {1: {-2: 0x1800}}.
    let e = validate(&hex("a101a1211800"), D).unwrap_err();
    assert_eq!(
        e.path().segments(),
        &[Segment::Uint(1), Segment::Negative(1)]
    );
}

#[test]
fn wrong_types_name_what_was_expected() {
    let mut r = Reader::new(&[0x61, b'a'], D);
    let e = r.uint().unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::WrongType {
            expected: "unsigned integer",
            found: Major::Text
        }
    );
    let mut r = Reader::new(&[0xa1, 0x01, 0x00], D);
    r.map().unwrap();
    let e = r.text_key(&mut Keys::new()).unwrap_err();
    assert_eq!((e.offset(), e.kind().reason()), (1, "text key"));
    let e = Reader::new(&hex("3bffffffffffffffff"), D)
        .int()
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::OutOfRange { what: "i64" });
    assert_eq!(
        Reader::new(&hex("3b7fffffffffffffff"), D).int(),
        Ok(i64::MIN)
    );
    for (h, what) in [
        ("80", "map"),
        ("a0", "array"),
        ("00", "text string"),
        ("f6", "boolean"),
    ] {
        let b = hex(h);
        let mut r = Reader::new(&b, D);
        let e = match what {
            "map" => r.map().unwrap_err(),
            "array" => r.array().unwrap_err(),
            "text string" => r.text().unwrap_err(),
            _ => r.bool().unwrap_err(),
        };
        assert!(matches!(e.kind(), ErrorKind::WrongType { expected, .. } if *expected == what));
    }
}

#[test]
fn unchecked_key_order_and_nested_offsets() {
    // Preferred serialization (COSE from other encoders): unsorted keys pass, the rest still holds.
    let loose = D.key_order(KeyOrder::Unchecked);
    validate(&hex("a2616201616102"), loose).unwrap();
    assert_eq!(
        validate(&hex("a261620161611800"), loose)
            .unwrap_err()
            .kind(),
        &ErrorKind::NonShortest
    );
    // An item inside a byte string at offset 10 of an outer input reports outer offsets.
    let mut r = Reader::new(&[0x18, 0x01], D).with_base(10);
    assert_eq!(r.uint().unwrap_err().offset(), 10);
    let r = Reader::new(&[0x01, 0x02], D).with_base(10);
    assert_eq!(r.finish().unwrap_err().offset(), 10);
}

#[test]
fn skip_returns_the_item_bytes_and_keys_may_be_containers() {
    let b = hex("82a2018002a0f5");
    let mut r = Reader::new(&b, D);
    assert_eq!(r.array().unwrap(), 2);
    assert_eq!(r.skip(1).unwrap(), &b[1..6]);
    assert!(r.bool().unwrap());
    r.finish().unwrap();
    // {[1]: 0, [2]: 0}: container keys compared by their encodings; [2] before [1] refused.
    validate(&hex("a28101008102 00".replace(' ', "").as_str()), D).unwrap();
    assert_eq!(
        validate(&hex("a2810200810100"), D).unwrap_err().kind(),
        &ErrorKind::UnsortedKey
    );
}
