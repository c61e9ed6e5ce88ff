//! The CBOR fixtures of tests/data (written by tests/data/make_fixtures.py, an encoder independent
//! of ours): the valid one decodes and re-encodes to the same bytes; every negative one is rejected
//! with the error its name says, at the right byte offset and field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_manifest::{
    DecodeError, DeltaAlgorithm, Error, Layer, Limit, Limits, Manifest, Sha256, semver,
};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn decode(name: &str) -> Result<Manifest, Error> {
    Manifest::from_cbor(&data(name))
}

fn decode_kind(name: &str) -> (usize, String, DecodeError) {
    match decode(name) {
        Err(Error::Decode {
            offset,
            field,
            kind,
        }) => (offset, field, kind),
        other => panic!("{name}: expected a decode error, got {other:?}"),
    }
}

#[test]
fn valid_fixture_decodes_and_reencodes_to_the_same_bytes() {
    let bytes = data("valid.cbor");
    let m = Manifest::from_cbor(&bytes).unwrap();
    assert_eq!(m.name, "lock-2026.11");
    assert_eq!(m.sequence, 42);
    assert_eq!(m.security_counter, 3);
    assert_eq!(m.expires_at, Some(1_795_536_000));
    assert_eq!(m.compatibility.hardware_ranges[0].to_string(), "^2");
    assert_eq!(m.components.len(), 2);
    let fw = &m.components[0];
    assert_eq!(fw.layer, Layer::Firmware);
    assert_eq!(fw.upgrade_from, semver::VersionReq::parse("^1.4").unwrap());
    let image = b"lock firmware 2.0.0 for gen-2 boards".repeat(100);
    assert_eq!(fw.sha256, Sha256::of(&image));
    assert_eq!(fw.size, image.len() as u64);
    let chunks = fw.chunks.as_ref().unwrap();
    assert_eq!(chunks.sha256.len(), 4);
    assert_eq!(chunks.sha256[3], Sha256::of(&image[3072..]));
    assert_eq!(fw.deltas[0].algorithm, DeltaAlgorithm::Bsdiff40);
    assert_eq!(m.components[1].order, 5);
    assert_eq!(m.components[1].dependencies[0].id, "lock-fw");
    // The extensions a newer writer added survive, verbatim.
    assert_eq!(m.extensions.len(), 1);
    assert_eq!(
        m.extensions[&-2].as_cbor()[2..],
        *b"an extension a newer writer added"
    );
    assert!(fw.extensions.contains_key(&-1));
    m.validate().unwrap();
    assert_eq!(m.to_cbor().unwrap(), bytes);
    // And through JSON too.
    let again = Manifest::from_json(&m.to_json().unwrap()).unwrap();
    assert_eq!(again.to_cbor().unwrap(), bytes);
}

#[test]
fn truncated() {
    let (offset, _, kind) = decode_kind("truncated.cbor");
    assert_eq!(kind, DecodeError::Truncated);
    assert!(offset < data("truncated.cbor").len());
}

#[test]
fn trailing_bytes() {
    let (offset, _, kind) = decode_kind("trailing_bytes.cbor");
    assert_eq!(kind, DecodeError::TrailingBytes(1));
    assert_eq!(offset, data("valid.cbor").len());
}

#[test]
fn duplicate_key() {
    let (_, _, kind) = decode_kind("duplicate_key.cbor");
    assert_eq!(kind, DecodeError::DuplicateKey);
}

#[test]
fn unsorted_key() {
    let (offset, _, kind) = decode_kind("unsorted_key.cbor");
    assert_eq!(kind, DecodeError::UnsortedKey);
    // The second key (0) comes after the first entry: 1 byte of map head, key 1, "lock-2026.11".
    assert_eq!(offset, 1 + 1 + 13);
}

#[test]
fn non_shortest_int() {
    let (offset, field, kind) = decode_kind("non_shortest_int.cbor");
    assert_eq!(kind, DecodeError::NonShortest);
    assert_eq!(field, "sequence");
    let bytes = data("non_shortest_int.cbor");
    assert_eq!(&bytes[offset..offset + 3], &[0x19, 0x00, 0x2a]);
}

#[test]
fn indefinite_length() {
    let (offset, field, kind) = decode_kind("indefinite_length.cbor");
    assert_eq!(kind, DecodeError::IndefiniteLength);
    assert_eq!(field, "name");
    assert_eq!(data("indefinite_length.cbor")[offset], 0x7f);
}

#[test]
fn deep_nesting() {
    match decode("deep_nesting.cbor") {
        Err(Error::TooDeep { field, max, .. }) => {
            assert_eq!(field, "extensions[-3]");
            assert_eq!(max, Limits::default().max_depth);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversize() {
    match decode("oversize.cbor") {
        Err(Error::TooLarge { size, max }) => {
            assert_eq!(size, data("oversize.cbor").len());
            assert_eq!(max, 64 * 1024);
        }
        other => panic!("{other:?}"),
    }
    // With a larger limit the same bytes are a valid manifest with a big extension.
    let limits = Limits {
        max_cbor_bytes: 1 << 20,
        ..Limits::default()
    };
    assert!(Manifest::from_cbor_with(&data("oversize.cbor"), &limits).is_ok());
}

#[test]
fn too_many_components() {
    match decode("too_many_components.cbor") {
        Err(Error::LimitExceeded {
            limit,
            count,
            max,
            field,
            offset,
        }) => {
            assert_eq!(limit, Limit::Components);
            assert_eq!((count, max), (65, 64));
            assert_eq!(field, "components");
            assert!(offset.is_some());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn long_string() {
    match decode("long_string.cbor") {
        Err(Error::LimitExceeded {
            limit, count, max, ..
        }) => {
            assert_eq!(limit, Limit::StringBytes);
            assert_eq!((count, max), (2000, 1024));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn chunk_limit_is_its_own_error() {
    let limits = Limits {
        max_chunks: 3,
        ..Limits::default()
    };
    match Manifest::from_cbor_with(&data("valid.cbor"), &limits) {
        Err(Error::LimitExceeded {
            limit,
            count,
            field,
            ..
        }) => {
            assert_eq!(limit, Limit::Chunks);
            assert_eq!(count, 4);
            assert_eq!(field, "components[0].chunks.sha256");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_mandatory_field() {
    let (_, _, kind) = decode_kind("unknown_mandatory_field.cbor");
    assert_eq!(kind, DecodeError::UnknownMandatoryField(99));
}

#[test]
fn format_version_2() {
    let (_, field, kind) = decode_kind("format_version_2.cbor");
    assert_eq!(kind, DecodeError::UnsupportedFormatVersion(2));
    assert_eq!(field, "format");
}

#[test]
fn wrong_type() {
    let (_, field, kind) = decode_kind("wrong_type.cbor");
    assert_eq!(
        kind,
        DecodeError::WrongType {
            expected: "unsigned integer",
            found: "text string"
        }
    );
    assert_eq!(field, "sequence");
}

#[test]
fn float() {
    let (_, field, kind) = decode_kind("float.cbor");
    assert_eq!(kind, DecodeError::Float);
    assert_eq!(field, "sequence");
}

#[test]
fn missing_field() {
    let (offset, field, kind) = decode_kind("missing_field.cbor");
    assert_eq!(kind, DecodeError::MissingField);
    assert_eq!(field, "issued_at");
    assert_eq!(offset, 0);
}

#[test]
fn short_digest() {
    let (_, field, kind) = decode_kind("short_digest.cbor");
    assert_eq!(kind, DecodeError::BadDigestLength(31));
    assert_eq!(field, "components[0].sha256");
}

#[test]
fn bad_version() {
    let (_, field, kind) = decode_kind("bad_version.cbor");
    assert!(matches!(kind, DecodeError::BadSemver(_)), "{kind:?}");
    assert_eq!(field, "components[0].version");
}

#[test]
fn non_canonical_requirement() {
    let (_, field, kind) = decode_kind("non_canonical_requirement.cbor");
    assert!(matches!(kind, DecodeError::NonCanonical(_)), "{kind:?}");
    assert_eq!(field, "components[0].upgrade_from");
}

#[test]
fn reserved_layer() {
    let (_, field, kind) = decode_kind("reserved_layer.cbor");
    assert!(matches!(kind, DecodeError::OutOfRange(_)), "{kind:?}");
    assert_eq!(field, "components[0].layer");
}

#[test]
fn default_written() {
    let (_, field, kind) = decode_kind("default_written.cbor");
    assert!(matches!(kind, DecodeError::NonCanonical(_)), "{kind:?}");
    assert_eq!(field, "components[0].order");
}

#[test]
fn empty_list() {
    let (_, field, kind) = decode_kind("empty_list.cbor");
    assert!(matches!(kind, DecodeError::OutOfRange(_)), "{kind:?}");
    assert_eq!(field, "compatibility.hardware");
}

#[test]
fn every_prefix_of_the_valid_fixture_is_an_error() {
    let bytes = data("valid.cbor");
    for n in 0..bytes.len() {
        match Manifest::from_cbor(&bytes[..n]) {
            Err(Error::Decode { kind, offset, .. }) => {
                assert_eq!(kind, DecodeError::Truncated, "prefix {n}");
                assert!(offset <= n);
            }
            other => panic!("prefix {n}: {other:?}"),
        }
    }
}

#[test]
fn json_errors_say_where() {
    let good = std::fs::read_to_string(format!(
        "{}/tests/data/lock_gen2.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let bad_hex = good.replacen("\"sha256\": \"ff", "\"sha256\": \"zz", 1);
    match Manifest::from_json(&bad_hex) {
        Err(Error::Json { line, message, .. }) => {
            assert_eq!(line, 24);
            assert!(message.contains("64 hex digits"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let unknown = good.replacen("\"sequence\"", "\"sequense\"", 1);
    assert!(matches!(
        Manifest::from_json(&unknown),
        Err(Error::Json { line: 4, .. })
    ));
    let reserved = good.replacen("\"application\"", "{\"vendor\": 7}", 1);
    match Manifest::from_json(&reserved) {
        Err(Error::Field { field, kind }) => {
            assert_eq!(field, "components[0].layer");
            assert!(matches!(kind, DecodeError::OutOfRange(_)));
        }
        other => panic!("{other:?}"),
    }
    // A repeated extension key is refused, not "last one wins".
    let dup = good.replacen(
        "\"compatibility\"",
        "\"extensions\": {\"-1\": \"00\", \"-1\": \"01\"},\n  \"compatibility\"",
        1,
    );
    match Manifest::from_json(&dup) {
        Err(Error::Json { message, .. }) => assert!(message.contains("duplicate extension key -1")),
        other => panic!("{other:?}"),
    }
    let single = good.replacen(
        "\"compatibility\"",
        "\"extensions\": {\"-1\": \"01\"},\n  \"compatibility\"",
        1,
    );
    assert_eq!(
        Manifest::from_json(&single).unwrap().extensions[&-1].as_cbor(),
        &[1]
    );
    let limits = Limits {
        max_json_bytes: 100,
        ..Limits::default()
    };
    assert!(matches!(
        Manifest::from_json_with(&good, &limits),
        Err(Error::TooLarge { max: 100, .. })
    ));
}
