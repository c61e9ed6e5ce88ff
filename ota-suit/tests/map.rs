//! Mapping the verified libcsuit examples to ota manifests, and the install decision on them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ota_manifest::semver::Version;
use ota_manifest::{Action, DeviceId, DeviceState, Installed, Rule, Sha256, Slot};
use ota_suit::{Error, Limits, MapOptions, TrustAnchor, Verified};

const ANCHOR: &str = include_str!("data/trust_anchor_secp256r1_pub.pem");
const VENDOR: [u8; 16] = *b"\xfa\x6b\x4a\x53\xd5\xad\x5f\xdf\xbe\x9d\xe6\x63\xe4\xd4\x1f\xfe";
const CLASS: [u8; 16] = *b"\x14\x92\xaf\x14\x25\x69\x5e\x48\xbf\x42\x9b\x2d\x51\xf2\xab\x45";
const DIGEST_A: &str = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
const DIGEST_B: &str = "0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff";

fn verified(bytes: &[u8]) -> Verified {
    let anchor = TrustAnchor::from_pem(ANCHOR).unwrap();
    ota_suit::verify(bytes, &anchor, &Limits::default()).unwrap()
}

fn map(bytes: &[u8], options: &MapOptions) -> ota_manifest::Manifest {
    verified(bytes).to_manifest(options).unwrap()
}

/// (id, sha256 hex, size, uris) of each mapped component.
fn summary(m: &ota_manifest::Manifest) -> Vec<(String, String, u64, Vec<String>)> {
    m.components
        .iter()
        .map(|c| (c.id.clone(), c.sha256.to_hex(), c.size, c.uris.clone()))
        .collect()
}

fn one(digest: &str, size: u64, uri: Option<&str>) -> Vec<(String, String, u64, Vec<String>)> {
    vec![(
        "00".into(),
        digest.into(),
        size,
        uri.map(|u| vec![u.to_string()]).unwrap_or_default(),
    )]
}

#[test]
fn examples_map_to_the_components_of_their_diag_files() {
    let d = MapOptions::default();
    let cases: [(&[u8], u64, _); 5] = [
        (
            include_bytes!("data/suit_manifest_exp0.suit"),
            0,
            one(DIGEST_A, 34768, None),
        ),
        (
            include_bytes!("data/suit_manifest_exp1.suit"),
            1,
            one(DIGEST_A, 34768, Some("http://example.com/file.bin")),
        ),
        // 2A: install is severed and elided: no URI known.
        (
            include_bytes!("data/suit_manifest_exp2A.suit"),
            2,
            one(DIGEST_A, 34768, None),
        ),
        (
            include_bytes!("data/suit_manifest_exp2B.suit"),
            2,
            one(
                DIGEST_A,
                34768,
                Some("http://example.com/very/long/path/to/file/file.bin"),
            ),
        ),
        // 4: component [h'00'] is installed by copy from [h'02'], fetched from the URI; [h'02']
        // has no size and [h'01'] is only loaded at boot, so neither maps.
        (
            include_bytes!("data/suit_manifest_exp4.suit"),
            4,
            one(DIGEST_A, 34768, Some("http://example.com/file.bin")),
        ),
    ];
    for (bytes, seq, components) in cases {
        let m = map(bytes, &d);
        assert_eq!(m.sequence, seq);
        assert_eq!(m.name, format!("suit-{seq}"));
        assert_eq!(m.compatibility.vendor, DeviceId::from_uuid(VENDOR));
        assert_eq!(m.compatibility.classes, [DeviceId::from_uuid(CLASS)]);
        assert_eq!(summary(&m), components, "sequence {seq}");
    }
}

#[test]
fn example_3_maps_the_image_of_the_slot_the_device_installs_into() {
    let bytes = include_bytes!("data/suit_manifest_exp3.suit");
    let slot0 = map(bytes, &MapOptions::default().slot(0));
    assert_eq!(
        summary(&slot0),
        one(DIGEST_A, 34768, Some("http://example.com/file1.bin"))
    );
    let slot1 = map(bytes, &MapOptions::default().slot(1));
    assert_eq!(
        summary(&slot1),
        one(DIGEST_B, 76834, Some("http://example.com/file2.bin"))
    );
    // Without the slot the choice is the device's: refused rather than guessed.
    let e = verified(bytes)
        .to_manifest(&MapOptions::default())
        .unwrap_err();
    assert!(
        matches!(&e, Error::Unmappable { reason } if reason.contains("slot")),
        "{e}"
    );
    // A slot no alternative is for.
    let e = verified(bytes)
        .to_manifest(&MapOptions::default().slot(2))
        .unwrap_err();
    assert!(
        matches!(&e, Error::Unmappable { reason } if reason.contains("try-each")),
        "{e}"
    );
}

#[test]
fn example_5_maps_two_components() {
    let m = map(
        include_bytes!("data/suit_manifest_exp5.suit"),
        &MapOptions::default(),
    );
    assert_eq!(
        summary(&m),
        [
            (
                "00".to_string(),
                DIGEST_A.to_string(),
                34768,
                vec!["http://example.com/file1.bin".to_string()]
            ),
            (
                "01".to_string(),
                DIGEST_B.to_string(),
                76834,
                vec!["http://example.com/file2.bin".to_string()]
            ),
        ]
    );
}

fn device(last_sequence: Option<u64>) -> DeviceState {
    DeviceState {
        vendor: DeviceId::from_uuid(VENDOR),
        class: DeviceId::from_uuid(CLASS),
        hardware: "1.0.0".into(),
        installed: vec![Installed {
            id: "00".into(),
            version: Version::new(0, 0, 0),
            sha256: Sha256([0x55; 32]),
        }],
        security_counter: 0,
        last_sequence,
        now: 1_764_000_000,
        active_slot: Slot::A,
    }
}

#[test]
fn the_install_decision_works_on_a_mapped_manifest() {
    let m = map(
        include_bytes!("data/suit_manifest_exp1.suit"),
        &MapOptions::default(),
    );
    let plan = m.plan(&device(Some(0))).unwrap();
    assert_eq!(plan.steps.len(), 1);
    let step = &plan.steps[0];
    assert_eq!(step.component, "00");
    assert_eq!(
        step.action,
        Action::Full {
            size: 34768,
            sha256: Sha256::from_hex(DIGEST_A).unwrap()
        }
    );
    assert_eq!(step.slot, Some(Slot::B));
    // The SUIT sequence number is the anti-rollback sequence.
    let refusal = m.plan(&device(Some(1))).unwrap_err();
    assert_eq!(
        refusal.rule,
        Rule::SequenceNotNewer {
            sequence: 1,
            accepted: 1
        }
    );
    // SUIT's vendor id is the compatibility check.
    let mut other = device(None);
    other.vendor = DeviceId::from_uuid([9; 16]);
    assert_eq!(m.plan(&other).unwrap_err().rule, Rule::WrongVendor);
}

#[test]
fn options_set_name_layer_and_hardware() {
    let m = map(
        include_bytes!("data/suit_manifest_exp0.suit"),
        &MapOptions::default()
            .name("lock-suit")
            .layer(ota_manifest::Layer::Application)
            .hardware(vec!["rev-C".into()]),
    );
    assert_eq!(m.name, "lock-suit");
    assert_eq!(m.components[0].layer, ota_manifest::Layer::Application);
    assert_eq!(m.compatibility.hardware, ["rev-C"]);
    assert!(m.compatibility.hardware_ranges.is_empty());
}
