//! Round-trip and canonical-form properties (proptest), checked against the independent reference
//! encoder of tests/common.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Item, is_canonical, ref_encode, ref_parse};
use ota_manifest::{Error, Manifest};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// decode(encode(m)) == m, the encoding is canonical by the reference, and decoding then
    /// re-encoding gives the same bytes.
    #[test]
    fn cbor_round_trip_is_identity_and_canonical(m in common::manifest()) {
        let bytes = m.to_cbor().unwrap();
        prop_assert!(is_canonical(&bytes), "not canonical by the reference");
        let back = Manifest::from_cbor(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_cbor().unwrap(), bytes);
    }

    /// JSON -> model -> CBOR -> model -> JSON gives the same text, and JSON -> CBOR gives the
    /// same bytes as the model's own encoding.
    #[test]
    fn json_cbor_json_is_identity(m in common::manifest()) {
        let json = m.to_json().unwrap();
        let from_json = Manifest::from_json(&json).unwrap();
        prop_assert_eq!(&from_json, &m);
        let cbor = from_json.to_cbor().unwrap();
        prop_assert_eq!(&cbor, &m.to_cbor().unwrap());
        let again = Manifest::from_cbor(&cbor).unwrap().to_json().unwrap();
        prop_assert_eq!(again, json);
        let compact = m.to_json_compact().unwrap();
        prop_assert!(!compact.contains('\n'));
        prop_assert_eq!(Manifest::from_json(&compact).unwrap(), m);
    }

    /// The top-level map's keys are in canonical order, by the reference's own sort.
    #[test]
    fn keys_sorted_by_encoded_bytes(m in common::manifest()) {
        let bytes = m.to_cbor().unwrap();
        let (item, _) = ref_parse(&bytes).unwrap();
        let Item::Map(entries) = item else { panic!("not a map") };
        let keys: Vec<Vec<u8>> = entries.iter().map(|(k, _)| ref_encode(k)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(keys, sorted);
    }

    /// Whatever a mutated encoding decodes to re-encodes to exactly the mutated bytes (strict
    /// decoding admits one representation), and nothing panics.
    #[test]
    fn mutations_decode_strictly(
        m in common::manifest(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        how in 0u8..3,
    ) {
        let mut bytes = m.to_cbor().unwrap();
        let i = at.index(bytes.len());
        match how {
            0 => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            _ => { bytes.remove(i); }
        }
        if let Ok(d) = Manifest::from_cbor(&bytes) {
            prop_assert_eq!(d.to_cbor().unwrap(), bytes);
        }
    }

    /// An item the reference calls canonical (no floats) is accepted as an extension and kept
    /// verbatim; with one non-shortest head it is refused.
    #[test]
    fn extension_values(item in common::item()) {
        let b = ref_encode(&item);
        let e = ota_manifest::Extension::from_cbor(&b).unwrap();
        prop_assert_eq!(e.as_cbor(), &b[..]);
        // Lengthen the first head: 0x00..=0x17 immediate -> 0x18 form is never shortest.
        let first = b[0];
        if first & 31 < 24 {
            let mut long = vec![(first & 0xe0) | 24, first & 31];
            long.extend_from_slice(&b[1..]);
            let refused = matches!(
                ota_manifest::Extension::from_cbor(&long),
                Err(Error::Decode { .. })
            );
            prop_assert!(refused);
        }
    }
}
