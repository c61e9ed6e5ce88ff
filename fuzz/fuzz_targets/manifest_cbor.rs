#![no_main]
//! Strict CBOR decoding of manifests: never panics, and whatever decodes is the canonical encoding
//! of what it decodes to (re-encoding gives the same bytes), survives the JSON form, and can be
//! validated and planned against without panicking.

use libfuzzer_sys::fuzz_target;
use ota_manifest::semver::Version;
use ota_manifest::{
    DeferralPolicy, DeviceId, DeviceState, Installed, Limits, Manifest, Sha256, Slot, Timing, Window,
};

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::from_cbor(data) else {
        return;
    };
    let again = m.to_cbor().expect("a decoded manifest encodes");
    assert_eq!(again, data, "decoding admits only the canonical encoding");

    // The JSON form of a 64 KiB manifest can be larger than the default JSON limit.
    let limits = Limits {
        max_json_bytes: usize::MAX,
        ..Limits::default()
    };
    let json = m.to_json().expect("a decoded manifest has a JSON form");
    let back = Manifest::from_json_with(&json, &limits).expect("our JSON reads back");
    assert_eq!(back, m);

    let _ = m.validate();
    let installed = m
        .components
        .iter()
        .map(|c| Installed {
            id: c.id.clone(),
            version: Version::new(1, 0, 0),
            sha256: c.deltas.first().map_or(Sha256([0; 32]), |d| d.from_sha256),
        })
        .collect();
    let device = DeviceState {
        vendor: m.compatibility.vendor.clone(),
        class: m
            .compatibility
            .classes
            .first()
            .cloned()
            .unwrap_or_else(|| DeviceId::from_uuid([0; 16])),
        hardware: m
            .compatibility
            .hardware
            .first()
            .cloned()
            .unwrap_or_default(),
        installed,
        security_counter: 0,
        last_sequence: None,
        now: m.issued_at,
        active_slot: Slot::A,
    };
    if let Ok(plan) = m.plan(&device) {
        assert_eq!(plan.steps.len(), m.components.len());
        // The deferral rules on the same decision: never past the deadline, same plan.
        let policy = DeferralPolicy {
            feature_deferral: m.sequence,
            security_deferral: m.security_counter,
            window: Some(Window {
                start: (m.issued_at % 86_400) as u32,
                length: (m.sequence % 86_401) as u32,
            }),
        };
        let s = m.schedule(&device, &policy).expect("schedule agrees with plan");
        assert_eq!(s.plan, plan);
        if let Timing::Wait { until } = s.timing {
            assert!(device.now < until && until <= s.deadline);
        }
    }
});
