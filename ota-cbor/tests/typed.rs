//! The typed reads take their type directly (a fast path) and fall back to the general item
//! read only for another type: they must agree with reading the item and checking its type.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_cbor::{Config, Error, ErrorKind, Item, Reader, Tags};

/// What a typed read must return: the item's own error, else the value, else `WrongType`.
fn reference<'a, T>(
    input: &'a [u8],
    config: Config,
    expected: &'static str,
    pick: fn(Item<'a>) -> Option<T>,
) -> (Result<T, Error>, usize) {
    let mut r = Reader::new(input, config);
    let res = match r.item() {
        Err(e) => Err(e),
        Ok(item) => match pick(item) {
            Some(v) => Ok(v),
            None => Err(r.error_at(
                0,
                ErrorKind::WrongType {
                    expected,
                    found: item.major(),
                },
            )),
        },
    };
    (res, r.position())
}

fn inputs() -> Vec<Vec<u8>> {
    let tails: [&[u8]; 5] = [
        &[],
        &[0x00],
        &[0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69],
        &[0xff; 9],
        &[0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
    ];
    let mut v = Vec::new();
    for b in 0..=255u8 {
        for t in tails {
            let mut i = vec![b];
            i.extend_from_slice(t);
            v.push(i);
        }
    }
    v
}

#[test]
fn typed_reads_agree_with_item_then_type_check() {
    let config = Config::DETERMINISTIC.tags(Tags::Only(&[1, 24]));
    for input in inputs() {
        macro_rules! check {
            ($method:ident, $expected:expr, $pick:expr) => {{
                let mut r = Reader::new(&input, config);
                let got = r.$method();
                let (want, pos) = reference(&input, config, $expected, $pick);
                assert_eq!(got, want, "{} on {:02x?}", stringify!($method), input);
                if got.is_ok() {
                    assert_eq!(
                        r.position(),
                        pos,
                        "{} on {:02x?}",
                        stringify!($method),
                        input
                    );
                }
            }};
        }
        check!(uint, "unsigned integer", |i| match i {
            Item::Uint(v) => Some(v),
            _ => None,
        });
        check!(bytes, "byte string", |i| match i {
            Item::Bytes(b) => Some(b),
            _ => None,
        });
        check!(text, "text string", |i| match i {
            Item::Text(s) => Some(s),
            _ => None,
        });
        check!(array, "array", |i| match i {
            Item::Array(n) => Some(n),
            _ => None,
        });
        check!(map, "map", |i| match i {
            Item::Map(n) => Some(n),
            _ => None,
        });
        check!(tag, "tag", |i| match i {
            Item::Tag(t) => Some(t),
            _ => None,
        });
        check!(bool, "boolean", |i| match i {
            Item::Bool(b) => Some(b),
            _ => None,
        });
        check!(null, "null", |i| match i {
            Item::Null => Some(()),
            _ => None,
        });
    }
}
