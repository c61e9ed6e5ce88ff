//! AWS IoT Device Shadow semantics, as a table of cases written from AWS's documented rules:
//! - AWS IoT Core developer guide, "Device Shadow service documents"
//!   (device-shadow-document.html): the request/response documents; the "Delta state" section
//!   (fields in desired but not reported are in the delta, fields only in reported are not,
//!   nested objects give only the differing fields); the "Arrays" section (arrays are values:
//!   an update replaces the whole array, and the delta compares arrays whole); "Versioning"
//!   (the version increases by one on each update; an update naming another version is refused
//!   with 409 "Version conflict").
//! - "Interacting with shadows" (device-shadow-data-flow.html): deleting a property by setting it
//!   to null; setting `desired` (or `reported`) to null removes the whole section.
//! - Arrays may not contain null: the statement of the rule (an array is stored whole, so
//!   a null inside it could not mean "delete").
//!
//! Each case starts from a twin built by two updates (desired, then reported), applies one
//! more update and checks the sections, the delta and the version.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_twin::{Error, Limit, Limits, Pointer, Twin, Update};
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    desired: Value,
    reported: Value,
    update: Value,
    /// Expected sections after the update (`null` = section absent).
    want_desired: Value,
    want_reported: Value,
    /// Expected delta after the update (`null` = no delta).
    want_delta: Value,
}

fn start(desired: &Value, reported: &Value) -> Twin {
    let mut t = Twin::new(Limits::aws());
    if !desired.is_null() {
        t.apply_update(&Update::desired(desired.clone()).unwrap(), 100)
            .unwrap();
    }
    if !reported.is_null() {
        t.apply_update(&Update::reported(reported.clone()).unwrap(), 200)
            .unwrap();
    }
    t
}

fn section(s: Option<&serde_json::Map<String, Value>>) -> Value {
    s.map_or(Value::Null, |m| Value::Object(m.clone()))
}

#[test]
fn aws_update_and_delta_table() {
    let cases = [
        Case {
            name: "AWS delta example: only differing fields, reported-only field left out",
            desired: json!({"color": "RED", "state": "STOP"}),
            reported: json!({"color": "GREEN", "engine": "ON"}),
            update: json!({"state": {}}),
            want_desired: json!({"color": "RED", "state": "STOP"}),
            want_reported: json!({"color": "GREEN", "engine": "ON"}),
            want_delta: json!({"color": "RED", "state": "STOP"}),
        },
        Case {
            name: "nested objects: only the differing leaf",
            desired: json!({"lights": {"color": "RED", "level": 5}, "engine": "ON"}),
            reported: json!({"lights": {"color": "GREEN", "level": 5}, "engine": "ON"}),
            update: json!({"state": {}}),
            want_desired: json!({"lights": {"color": "RED", "level": 5}, "engine": "ON"}),
            want_reported: json!({"lights": {"color": "GREEN", "level": 5}, "engine": "ON"}),
            want_delta: json!({"lights": {"color": "RED"}}),
        },
        Case {
            name: "arrays compared whole: one differing element gives the whole array",
            desired: json!({"colors": ["RED", "GREEN", "BLUE"]}),
            reported: json!({"colors": ["RED", "GREEN"]}),
            update: json!({"state": {}}),
            want_desired: json!({"colors": ["RED", "GREEN", "BLUE"]}),
            want_reported: json!({"colors": ["RED", "GREEN"]}),
            want_delta: json!({"colors": ["RED", "GREEN", "BLUE"]}),
        },
        Case {
            name: "arrays replaced whole by an update, never merged",
            desired: json!({"colors": ["RED", "GREEN", "BLUE"]}),
            reported: Value::Null,
            update: json!({"state": {"desired": {"colors": ["RED"]}}}),
            want_desired: json!({"colors": ["RED"]}),
            want_reported: Value::Null,
            want_delta: json!({"colors": ["RED"]}),
        },
        Case {
            name: "partial update deep-merges into the section",
            desired: json!({"a": {"b": 1, "c": 2}, "d": 3}),
            reported: Value::Null,
            update: json!({"state": {"desired": {"a": {"c": 20, "e": 5}}}}),
            want_desired: json!({"a": {"b": 1, "c": 20, "e": 5}, "d": 3}),
            want_reported: Value::Null,
            want_delta: json!({"a": {"b": 1, "c": 20, "e": 5}, "d": 3}),
        },
        Case {
            name: "null deletes a key, nested",
            desired: json!({"a": {"b": 1, "c": 2}, "engine": "ON"}),
            reported: json!({"a": {"b": 1}}),
            update: json!({"state": {"desired": {"a": {"c": null}, "engine": null}}}),
            want_desired: json!({"a": {"b": 1}}),
            want_reported: json!({"a": {"b": 1}}),
            want_delta: Value::Null,
        },
        Case {
            name: "null section removes the section; no desired, no delta",
            desired: json!({"color": "RED"}),
            reported: json!({"color": "GREEN"}),
            update: json!({"state": {"reported": {"color": "RED"}, "desired": null}}),
            want_desired: Value::Null,
            want_reported: json!({"color": "RED"}),
            want_delta: Value::Null,
        },
        Case {
            name: "reporting the desired value clears the delta",
            desired: json!({"fw": "2.0", "mode": "eco"}),
            reported: json!({"fw": "1.0", "mode": "eco"}),
            update: json!({"state": {"reported": {"fw": "2.0"}}}),
            want_desired: json!({"fw": "2.0", "mode": "eco"}),
            want_reported: json!({"fw": "2.0", "mode": "eco"}),
            want_delta: Value::Null,
        },
        Case {
            name: "an object in desired against a scalar in reported: the whole object",
            desired: json!({"led": {"on": true}}),
            reported: json!({"led": "off"}),
            update: json!({"state": {}}),
            want_desired: json!({"led": {"on": true}}),
            want_reported: json!({"led": "off"}),
            want_delta: json!({"led": {"on": true}}),
        },
        Case {
            name: "a scalar update replaces an object, an object update replaces a scalar",
            desired: json!({"x": {"y": 1}, "z": 2}),
            reported: Value::Null,
            update: json!({"state": {"desired": {"x": 5, "z": {"w": 1}}}}),
            want_desired: json!({"x": 5, "z": {"w": 1}}),
            want_reported: Value::Null,
            want_delta: json!({"x": 5, "z": {"w": 1}}),
        },
        Case {
            name: "numbers compare by value: 1 and 1.0 are equal",
            desired: json!({"gain": 1}),
            reported: json!({"gain": 1.0}),
            update: json!({"state": {}}),
            want_desired: json!({"gain": 1}),
            want_reported: json!({"gain": 1.0}),
            want_delta: Value::Null,
        },
        Case {
            name: "deleting a key that does not exist is accepted and changes nothing",
            desired: json!({"a": 1}),
            reported: json!({"a": 1}),
            update: json!({"state": {"desired": {"nope": null}}}),
            want_desired: json!({"a": 1}),
            want_reported: json!({"a": 1}),
            want_delta: Value::Null,
        },
    ];
    for c in &cases {
        let mut t = start(&c.desired, &c.reported);
        let before = t.version();
        let u = Update::from_value(&c.update).unwrap();
        let acc = t
            .apply_update(&u, 300)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(acc.version, before + 1, "{}", c.name);
        assert_eq!(t.version(), before + 1, "{}", c.name);
        assert_eq!(section(t.desired()), c.want_desired, "{}", c.name);
        assert_eq!(section(t.reported()), c.want_reported, "{}", c.name);
        assert_eq!(section(t.delta().as_ref()), c.want_delta, "{}", c.name);
    }
    assert_eq!(cases.len(), 12);
}

#[test]
fn refused_updates_change_nothing() {
    let mut t = start(&json!({"a": 1}), &json!({"b": 2}));
    let snapshot = t.clone();
    // Version conflict (AWS: 409).
    let u = Update::desired(json!({"a": 2})).unwrap().expect_version(1);
    assert_eq!(
        t.apply_update(&u, 1).unwrap_err(),
        Error::VersionConflict {
            expected: 1,
            current: 2
        }
    );
    assert_eq!(t, snapshot);
    // The right version is accepted.
    let u = Update::desired(json!({"a": 2})).unwrap().expect_version(2);
    assert_eq!(t.apply_update(&u, 1).unwrap().version, 3);
    let snapshot = t.clone();
    // Arrays may not contain null, at any depth.
    for bad in [
        json!({"state": {"desired": {"l": [1, null]}}}),
        json!({"state": {"desired": {"l": [[null]]}}}),
        json!({"state": {"desired": {"l": [{"x": null}]}}}),
    ] {
        let e = Update::from_value(&bad).unwrap_err();
        assert!(matches!(e, Error::InvalidUpdate { .. }), "{e:?}");
    }
    // Malformed requests.
    for bad in [
        json!([]),
        json!({"state": 1}),
        json!({"state": {"desired": 5}}),
        json!({"state": {"delta": {}}}),
        json!({"state": {}, "version": -1}),
        json!({"state": {}, "clientToken": 7}),
        json!({"state": {}, "surprise": 1}),
    ] {
        assert!(Update::from_value(&bad).is_err(), "{bad}");
    }
    // Client token over 64 bytes (AWS).
    let u = Update::desired(json!({"a": 3}))
        .unwrap()
        .with_client_token("x".repeat(65));
    assert!(matches!(
        t.apply_update(&u, 1).unwrap_err(),
        Error::LimitExceeded {
            limit: Limit::ClientTokenBytes,
            ..
        }
    ));
    assert_eq!(t, snapshot);
}

#[test]
fn aws_limits_size_and_depth() {
    let mut t = Twin::new(Limits::aws());
    // 7 levels inside desired: over AWS's 6.
    let deep = json!({"1": {"2": {"3": {"4": {"5": {"6": {"7": 1}}}}}}});
    let e = t
        .apply_update(&Update::desired(deep).unwrap(), 1)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::Depth,
                max: 6,
                ..
            }
        ),
        "{e:?}"
    );
    // 6 levels are fine.
    let six = json!({"1": {"2": {"3": {"4": {"5": {"6": 1}}}}}});
    t.apply_update(&Update::desired(six).unwrap(), 1).unwrap();
    // An array counts as a level.
    let arr = json!({"1": {"2": {"3": {"4": {"5": {"6": [1]}}}}}});
    assert!(t.apply_update(&Update::desired(arr).unwrap(), 1).is_err());
    // 8 KB for desired + reported together: each half fits, together they do not.
    let mut t = Twin::new(Limits::aws());
    let half = json!({"blob": "x".repeat(4500)});
    t.apply_update(&Update::desired(half.clone()).unwrap(), 1)
        .unwrap();
    let before = t.clone();
    let e = t
        .apply_update(&Update::reported(half).unwrap(), 2)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::StateBytes,
                max: 8192,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("state size"), "{e}");
    assert_eq!(t, before);
}

#[test]
fn azure_limits_sections_depth_keys() {
    let mut t = Twin::new(Limits::azure());
    // 32 KB per section: both sections at 20 KB are fine (AWS would refuse).
    let big = json!({"a": "x".repeat(3000), "b": "y".repeat(3000), "c": "z".repeat(3000),
                     "d": "x".repeat(3000), "e": "y".repeat(3000), "f": "z".repeat(3000)});
    t.apply_update(&Update::desired(big.clone()).unwrap(), 1)
        .unwrap();
    t.apply_update(&Update::reported(big).unwrap(), 1).unwrap();
    // String values up to 4 KB.
    let e = t
        .apply_update(&Update::desired(json!({"s": "x".repeat(4097)})).unwrap(), 1)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::StringBytes,
                ..
            }
        ),
        "{e:?}"
    );
    // Over 32 KB in one section.
    let mut t = Twin::new(Limits::azure());
    let huge: serde_json::Map<String, Value> = (0..10)
        .map(|i| (format!("k{i}"), json!("x".repeat(4000))))
        .collect();
    let e = t
        .apply_update(&Update::desired(Value::Object(huge)).unwrap(), 1)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::SectionBytes,
                max: 32768,
                ..
            }
        ),
        "{e:?}"
    );
    // Key rules.
    for key in ["a.b", "$version", "with space", "ctl\u{7}", "c1\u{85}", ""] {
        let mut m = serde_json::Map::new();
        m.insert(key.to_owned(), json!(1));
        let e = t
            .apply_update(&Update::desired(Value::Object(m)).unwrap(), 1)
            .unwrap_err();
        assert!(matches!(e, Error::InvalidKey { .. }), "{key:?}: {e:?}");
    }
    // 10 levels are fine, 11 are not.
    let mut v = json!(1);
    for i in 0..10 {
        v = json!({ format!("l{i}"): v });
    }
    t.apply_update(&Update::desired(v.clone()).unwrap(), 1)
        .unwrap();
    let v = json!({ "top": v });
    assert!(matches!(
        t.apply_update(&Update::desired(v).unwrap(), 1).unwrap_err(),
        Error::LimitExceeded {
            limit: Limit::Depth,
            max: 10,
            ..
        }
    ));
}

#[test]
fn metadata_timestamps_per_leaf() {
    let mut t = Twin::new(Limits::aws());
    t.apply_update(
        &Update::desired(json!({"led": {"on": true, "hz": 2}, "list": [1, 2]})).unwrap(),
        10,
    )
    .unwrap();
    t.apply_update(&Update::desired(json!({"led": {"hz": 5}})).unwrap(), 20)
        .unwrap();
    let ts = |t: &Twin, p: &str| t.timestamp_of(&Pointer::parse(p).unwrap());
    assert_eq!(ts(&t, "/desired/led/on"), Some(10));
    assert_eq!(ts(&t, "/desired/led/hz"), Some(20));
    assert_eq!(ts(&t, "/desired/list"), Some(10));
    assert_eq!(ts(&t, "/desired/led"), None); // objects have no timestamp of their own
    assert_eq!(t.timestamp(), 20);
    t.apply_update(&Update::desired(json!({"led": {"on": null}})).unwrap(), 30)
        .unwrap();
    assert_eq!(ts(&t, "/desired/led/on"), None);
    let doc = t.to_value();
    assert_eq!(
        doc["metadata"]["desired"],
        json!({"led": {"hz": {"timestamp": 20}}, "list": {"timestamp": 10}})
    );
}

#[test]
fn unreported_and_reported_delta_views() {
    let t = start(
        &json!({"fw": "2.0", "net": {"ssid": "a", "psk": "b"}, "new": 1}),
        &json!({"fw": "1.0", "net": {"ssid": "a"}, "uptime": 99}),
    );
    // Delta: what the device must change.
    assert_eq!(
        section(t.delta().as_ref()),
        json!({"fw": "2.0", "net": {"psk": "b"}, "new": 1})
    );
    // Unreported: what the device never reported at all (fw is reported, with another value).
    assert_eq!(
        section(t.unreported().as_ref()),
        json!({"net": {"psk": "b"}, "new": 1})
    );
    // Converse: what the device reports that desired does not say (or says otherwise).
    assert_eq!(
        section(t.reported_delta().as_ref()),
        json!({"fw": "1.0", "uptime": 99})
    );
}

#[test]
fn accepted_carries_delta_and_token() {
    let mut t = start(&Value::Null, &json!({"fw": "1.0"}));
    let acc = t
        .apply_update(
            &Update::desired(json!({"fw": "2.0"}))
                .unwrap()
                .with_client_token("req-1"),
            5,
        )
        .unwrap();
    assert_eq!(acc.client_token.as_deref(), Some("req-1"));
    assert_eq!(section(acc.delta.as_ref()), json!({"fw": "2.0"}));
    assert_eq!(t.client_token(), Some("req-1"));
    // A reported-only update publishes no delta.
    let acc = t
        .apply_update(&Update::reported(json!({"x": 1})).unwrap(), 6)
        .unwrap();
    assert_eq!(acc.delta, None);
}
