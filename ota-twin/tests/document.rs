//! Twin documents in JSON and CBOR: round trips (proptest), negative fixtures, hostile input;
//! restore onto replacement hardware.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_twin::{
    Error, Limit, Limits, Patch, Pointer, Twin, Update, decode_value, diff, encode_value,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Which error a negative fixture must produce.
type ErrorCheck = fn(&Error) -> bool;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/negative/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// JSON values without null members (what a twin section can hold), floats and integers mixed.
fn state_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just(1.0f64),
            Just(-0.0),
            Just(0.5),
            Just(65504.0),
            Just(1e-7)
        ]
        .prop_map(Value::from),
        "[a-z\u{e9}\u{6c34}]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn section() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z]{1,5}", state_value(), 0..5)
        .prop_map(|m| m.into_iter().collect())
}

fn twin() -> impl Strategy<Value = Twin> {
    (
        prop::collection::vec((any::<bool>(), section(), 0u64..1_000_000), 1..5),
        prop::option::of("[a-z0-9-]{1,20}"),
    )
        .prop_map(|(updates, token)| {
            let mut t = Twin::new(Limits::custom());
            for (to_desired, s, ts) in updates {
                let v = Value::Object(s);
                let mut u = if to_desired {
                    Update::desired(v).unwrap()
                } else {
                    Update::reported(v).unwrap()
                };
                if let Some(tok) = &token {
                    u = u.with_client_token(tok.clone());
                }
                t.apply_update(&u, ts).unwrap();
            }
            t
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn twin_json_round_trip(t in twin()) {
        let text = t.to_json();
        let back = Twin::from_json(text.as_bytes(), Limits::custom()).unwrap();
        prop_assert_eq!(&back, &t);
    }

    #[test]
    fn twin_cbor_round_trip_and_deterministic(t in twin()) {
        let bytes = t.to_cbor();
        let back = Twin::from_cbor(&bytes, Limits::custom()).unwrap();
        prop_assert_eq!(&back, &t);
        prop_assert_eq!(back.to_cbor(), bytes.clone());
        // Same information as JSON: decoding either form gives the same JSON document.
        prop_assert_eq!(back.to_json(), t.to_json());
        // Smaller than the JSON text.
        prop_assert!(bytes.len() <= t.to_json().len());
    }

    #[test]
    fn value_cbor_round_trip_keeps_int_float_distinction(v in state_value()) {
        let bytes = encode_value(&v);
        let back = decode_value(&bytes).unwrap();
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(back.is_f64(), v.is_f64());
    }

    #[test]
    fn patch_cbor_round_trip(a in state_value(), b in state_value()) {
        let p = diff(&a, &b);
        let bytes = p.to_cbor();
        let back = Patch::from_cbor(&bytes, &Limits::custom()).unwrap();
        prop_assert_eq!(&back, &p);
    }

    #[test]
    fn decoders_are_total_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        // No panic; whatever decodes re-encodes to the same bytes (canonical form is unique).
        if let Ok(v) = decode_value(&bytes) {
            prop_assert_eq!(encode_value(&v), bytes.clone());
        }
        if let Ok(t) = Twin::from_cbor(&bytes, Limits::custom()) {
            prop_assert_eq!(t.to_cbor(), bytes.clone());
        }
        if let Ok(p) = Patch::from_cbor(&bytes, &Limits::custom()) {
            prop_assert_eq!(p.to_cbor(), bytes.clone());
        }
        let _ = Twin::from_json(&bytes, Limits::custom());
    }

    #[test]
    fn truncated_cbor_is_refused(t in twin(), cut in any::<prop::sample::Index>()) {
        let bytes = t.to_cbor();
        let n = cut.index(bytes.len());
        prop_assert!(Twin::from_cbor(&bytes[..n], Limits::custom()).is_err());
    }
}

#[test]
fn negative_json_fixtures() {
    let cases: &[(&str, ErrorCheck)] = &[
        ("truncated.json", |e| matches!(e, Error::Json { .. })),
        ("deep.json", |e| matches!(e, Error::Json { .. })),
        ("null-in-state.json", |e| {
            matches!(e, Error::InvalidDocument { .. })
        }),
        ("metadata-mismatch.json", |e| {
            matches!(e, Error::InvalidDocument { .. })
        }),
        ("metadata-missing-leaf.json", |e| {
            matches!(e, Error::InvalidDocument { .. })
        }),
        ("unknown-member.json", |e| {
            matches!(e, Error::InvalidDocument { .. })
        }),
        ("version-negative.json", |e| {
            matches!(e, Error::InvalidDocument { .. })
        }),
        ("section-not-object.json", |e| {
            matches!(e, Error::InvalidDocument { .. })
        }),
        ("too-deep-for-aws.json", |e| {
            matches!(
                e,
                Error::LimitExceeded {
                    limit: Limit::Depth,
                    ..
                }
            )
        }),
    ];
    for (name, want) in cases {
        let e = Twin::from_json(&fixture(name), Limits::aws()).unwrap_err();
        assert!(want(&e), "{name}: {e:?}");
    }
    // The valid fixture next to them decodes, so the negatives fail for their own reason.
    let ok = Twin::from_json(&fixture("../valid-twin.json"), Limits::aws()).unwrap();
    assert_eq!(ok.version(), 7);
    assert_eq!(
        ok.delta().unwrap(),
        json!({"fw": "2.0"}).as_object().unwrap().clone()
    );
}

#[test]
fn negative_cbor_fixtures() {
    let cases: &[(&str, ErrorCheck)] = &[
        ("truncated.cbor", |e| matches!(e, Error::Cbor { .. })),
        ("trailing.cbor", |e| matches!(e, Error::Cbor { .. })),
        ("unsorted-keys.cbor", |e| matches!(e, Error::Cbor { .. })),
        ("duplicate-keys.cbor", |e| matches!(e, Error::Cbor { .. })),
        ("indefinite.cbor", |e| matches!(e, Error::Cbor { .. })),
        ("non-shortest.cbor", |e| matches!(e, Error::Cbor { .. })),
        ("huge-length.cbor", |e| matches!(e, Error::Cbor { .. })),
        ("deep.cbor", |e| matches!(e, Error::CborTooDeep { .. })),
        ("no-version.cbor", |e| {
            matches!(e, Error::InvalidDocument { .. })
        }),
        ("metadata-mismatch.cbor", |e| {
            matches!(e, Error::InvalidDocument { .. })
        }),
    ];
    for (name, want) in cases {
        let e = Twin::from_cbor(&fixture(name), Limits::aws()).unwrap_err();
        assert!(want(&e), "{name}: {e:?}");
    }
    let ok = Twin::from_cbor(&fixture("../valid-twin.cbor"), Limits::aws()).unwrap();
    let from_json = Twin::from_json(&fixture("../valid-twin.json"), Limits::aws()).unwrap();
    assert_eq!(ok, from_json);
}

#[test]
fn oversized_input_refused_before_parsing() {
    let mut l = Limits::aws();
    l.input_bytes = 100;
    let big = vec![b' '; 101];
    assert!(matches!(
        Twin::from_json(&big, l.clone()).unwrap_err(),
        Error::LimitExceeded {
            limit: Limit::InputBytes,
            actual: 101,
            max: 100,
            ..
        }
    ));
    assert!(matches!(
        Twin::from_cbor(&big, l.clone()).unwrap_err(),
        Error::LimitExceeded {
            limit: Limit::InputBytes,
            ..
        }
    ));
    assert!(matches!(
        Patch::from_cbor(&big, &l).unwrap_err(),
        Error::LimitExceeded {
            limit: Limit::InputBytes,
            ..
        }
    ));
    l.patch_operations = 1;
    let two =
        Patch::from_value(&json!([{"op": "remove", "path": "/a"}, {"op": "remove", "path": "/b"}]))
            .unwrap()
            .to_cbor();
    assert!(matches!(
        Patch::from_cbor(&two, &l).unwrap_err(),
        Error::LimitExceeded {
            limit: Limit::PatchOperations,
            ..
        }
    ));
}

#[test]
fn patch_cbor_is_compact() {
    let p = Patch::from_value(&json!([
        {"op": "add", "path": "/list/500", "value": 7},
        {"op": "move", "from": "/fw", "path": "/firmware"},
        {"op": "remove", "path": "/old"},
    ]))
    .unwrap();
    let bytes = p.to_cbor();
    assert_eq!(
        bytes,
        [
            &[0x83u8, 0x83, 0x00, 0x69][..],
            b"/list/500",
            &[0x07, 0x83, 0x03, 0x69],
            b"/firmware",
            &[0x63],
            b"/fw",
            &[0x82, 0x01, 0x64],
            b"/old",
        ]
        .concat()
    );
    assert!(bytes.len() * 3 < p.to_json().len());
}

#[test]
fn restore_onto_replacement_hardware() {
    let mut old = Twin::new(Limits::aws());
    old.apply_update(
        &Update::desired(json!({
            "serial": "SN-OLD-1",
            "sensor": {"calibration": [1.01, 0.98], "rate_hz": 10},
            "net": {"ssid": "plant-4", "mqtt": "broker.local"},
            "fw": "2.3.1"
        }))
        .unwrap(),
        100,
    )
    .unwrap();
    old.apply_update(&Update::reported(json!({"fw": "2.3.1"})).unwrap(), 110)
        .unwrap();
    let old_version = old.version();

    // The replacement reports its own serial and calibration, factory firmware and settings.
    let fresh = json!({
        "serial": "SN-NEW-9",
        "sensor": {"calibration": [0.99, 1.03], "rate_hz": 1},
        "fw": "2.0.0",
        "boot_count": 1
    });
    let fresh = fresh.as_object().unwrap();
    let bound = [
        Pointer::parse("/serial").unwrap(),
        Pointer::parse("/sensor/calibration").unwrap(),
    ];
    let r = old.restore_onto(&bound, fresh, 500).unwrap();

    // The snapshot is desired minus the hardware-bound members.
    assert_eq!(
        Value::Object(r.snapshot.clone()),
        json!({"sensor": {"rate_hz": 10}, "net": {"ssid": "plant-4", "mqtt": "broker.local"}, "fw": "2.3.1"})
    );
    // Versions keep increasing across the swap.
    assert!(r.twin.version() > old_version);
    // Timestamps of the carried-over desired leaves are kept.
    assert_eq!(
        r.twin
            .timestamp_of(&Pointer::parse("/desired/net/ssid").unwrap()),
        Some(100)
    );
    // Applying the patch to the fresh report leaves no delta, and keeps the new hardware's
    // serial, calibration and its own extra member.
    let mut dev = Value::Object(fresh.clone());
    r.patch.apply(&mut dev).unwrap();
    assert_eq!(dev["serial"], "SN-NEW-9");
    assert_eq!(dev["sensor"]["calibration"], json!([0.99, 1.03]));
    assert_eq!(dev["boot_count"], 1);
    let mut new = r.twin.clone();
    assert!(new.delta().is_some());
    let acc = new
        .apply_update(
            &Update::reported(dev)
                .unwrap()
                .expect_version(r.twin.version()),
            510,
        )
        .unwrap();
    assert_eq!(acc.version, r.twin.version() + 1);
    assert_eq!(new.delta(), None);
    // The patch touches only what differs: fw, rate_hz, and the missing net section.
    let paths: Vec<String> = r
        .patch
        .operations()
        .iter()
        .map(|op| op.path().to_string())
        .collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    // A root pointer is refused.
    assert!(old.restore_onto(&[Pointer::root()], fresh, 1).is_err());
}
