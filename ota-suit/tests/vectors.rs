//! The seven libcsuit envelopes (examples 0-5 of draft-ietf-suit-manifest, commit 00f5609, see
//! tests/data/SOURCE.md): each decodes, verifies against the published ES256 anchor, and carries
//! the values of its `.diag` file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ota_suit::{
    Command, ComponentIndex, Condition, Digest, Envelope, Error, Limits, Member, TrustAnchor,
};

const EXAMPLES: [(&str, &[u8]); 7] = [
    ("0", include_bytes!("data/suit_manifest_exp0.suit")),
    ("1", include_bytes!("data/suit_manifest_exp1.suit")),
    ("2A", include_bytes!("data/suit_manifest_exp2A.suit")),
    ("2B", include_bytes!("data/suit_manifest_exp2B.suit")),
    ("3", include_bytes!("data/suit_manifest_exp3.suit")),
    ("4", include_bytes!("data/suit_manifest_exp4.suit")),
    ("5", include_bytes!("data/suit_manifest_exp5.suit")),
];
const ANCHOR: &str = include_str!("data/trust_anchor_secp256r1_pub.pem");

/// The digest and size of the first image in every example's `.diag`.
const DIGEST_A: [u8; 32] =
    hex32("00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210");
const DIGEST_B: [u8; 32] =
    hex32("0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff");
const VENDOR: [u8; 16] = *b"\xfa\x6b\x4a\x53\xd5\xad\x5f\xdf\xbe\x9d\xe6\x63\xe4\xd4\x1f\xfe";
const CLASS: [u8; 16] = *b"\x14\x92\xaf\x14\x25\x69\x5e\x48\xbf\x42\x9b\x2d\x51\xf2\xab\x45";

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nib(b[2 * i]) << 4) | nib(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nib(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

fn anchor() -> TrustAnchor {
    TrustAnchor::from_pem(ANCHOR).unwrap()
}

fn decode(name: &str) -> Envelope {
    let bytes = EXAMPLES.iter().find(|(n, _)| *n == name).unwrap().1;
    Envelope::decode(bytes, &Limits::default()).unwrap()
}

#[test]
fn all_examples_decode_and_verify_against_the_published_anchor() {
    let anchor = anchor();
    for (name, bytes) in EXAMPLES {
        let env = Envelope::decode(bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("example {name}: {e}"));
        assert_eq!(env.signatures().len(), 1, "example {name}");
        assert_eq!(
            env.signatures()[0].alg(),
            ota_suit::ALG_ESP256,
            "example {name}"
        );
        env.verify(&anchor)
            .unwrap_or_else(|e| panic!("example {name}: {e}"));
    }
}

#[test]
fn sequence_numbers_and_components_are_those_of_the_diag_files() {
    let expected = [
        ("0", 0, 1),
        ("1", 1, 1),
        ("2A", 2, 1),
        ("2B", 2, 1),
        ("3", 3, 1),
        ("4", 4, 3),
        ("5", 5, 2),
    ];
    for (name, seq, components) in expected {
        let m = decode(name).manifest().clone();
        assert_eq!(m.version, 1, "example {name}");
        assert_eq!(m.sequence_number, seq, "example {name}");
        assert_eq!(m.components.len(), components, "example {name}");
    }
    // Example 4: [h'00'], [h'02'], [h'01'].
    let ids: Vec<String> = decode("4")
        .manifest()
        .components
        .iter()
        .map(|c| c.to_hex_path())
        .collect();
    assert_eq!(ids, ["00", "02", "01"]);
}

#[test]
fn example_0_shared_sequence_carries_vendor_class_digest_and_size() {
    let m = decode("0").manifest().clone();
    let Command::OverrideParameters(p) = &m.shared_sequence[0] else {
        panic!("{:?}", m.shared_sequence[0]);
    };
    assert_eq!(p.vendor_id.as_deref(), Some(&VENDOR[..]));
    assert_eq!(p.class_id.as_deref(), Some(&CLASS[..]));
    assert_eq!(p.image_digest, Some(Digest(DIGEST_A)));
    assert_eq!(p.image_size, Some(34768));
    assert_eq!(
        m.shared_sequence[1..],
        [
            Command::Condition {
                condition: Condition::VendorIdentifier,
                policy: 15
            },
            Command::Condition {
                condition: Condition::ClassIdentifier,
                policy: 15
            },
        ]
    );
    assert_eq!(
        m.validate.unwrap(),
        [Command::Condition {
            condition: Condition::ImageMatch,
            policy: 15
        }]
    );
    assert_eq!(m.invoke.unwrap(), [Command::Invoke { policy: 2 }]);
    assert!(m.install.is_none());
}

#[test]
fn example_1_installs_from_its_uri() {
    let m = decode("1").manifest().clone();
    let Some(Member::Included(install)) = m.install else {
        panic!()
    };
    let Command::OverrideParameters(p) = &install[0] else {
        panic!()
    };
    assert_eq!(p.uri.as_deref(), Some("http://example.com/file.bin"));
    assert_eq!(install[1], Command::Fetch { policy: 2 });
}

#[test]
fn example_2a_has_severed_members_elided_and_2b_carries_them() {
    let install_digest = hex32("cfa90c5c58595e7f5119a72f803fd0370b3e6abbec6315cd38f63135281bc498");
    let text_digest = hex32("302196d452bce5e8bfeaf71e395645ede6d365e63507a081379721eeecf00007");
    let a = decode("2A").manifest().clone();
    assert_eq!(a.reference_uri.as_deref(), Some("https://git.io/JJYoj"));
    assert_eq!(
        a.install,
        Some(Member::Severed {
            digest: Digest(install_digest),
            resolved: None
        })
    );
    assert_eq!(
        a.text,
        Some(Member::Severed {
            digest: Digest(text_digest),
            resolved: None
        })
    );
    let b = decode("2B").manifest().clone();
    let install = b.install.as_ref().and_then(Member::get).unwrap();
    let Command::OverrideParameters(p) = &install[0] else {
        panic!()
    };
    assert_eq!(
        p.uri.as_deref(),
        Some("http://example.com/very/long/path/to/file/file.bin")
    );
    assert!(b.text.as_ref().and_then(Member::get).is_some());
}

#[test]
fn example_3_has_two_slots_in_try_each() {
    let m = decode("3").manifest().clone();
    let Command::TryEach(alts) = &m.shared_sequence[1] else {
        panic!("{:?}", m.shared_sequence[1])
    };
    assert_eq!(alts.len(), 2);
    let Command::OverrideParameters(p) = &alts[1][2] else {
        panic!()
    };
    assert_eq!(p.image_digest, Some(Digest(DIGEST_B)));
    assert_eq!(p.image_size, Some(76834));
}

#[test]
fn examples_4_and_5_set_component_indices() {
    let m = decode("4").manifest().clone();
    assert_eq!(
        m.shared_sequence[0],
        Command::SetComponentIndex(ComponentIndex::One(0))
    );
    let fetch = m.payload_fetch.as_ref().and_then(Member::get).unwrap();
    assert_eq!(fetch[0], Command::SetComponentIndex(ComponentIndex::One(1)));
    let load = m.load.unwrap();
    let Command::OverrideParameters(p) = &load[1] else {
        panic!()
    };
    assert_eq!(p.source_component, Some(0));
    assert_eq!(p.image_size, Some(76834));
    let m5 = decode("5").manifest().clone();
    let install = m5.install.as_ref().and_then(Member::get).unwrap();
    assert_eq!(install.len(), 8);
}

#[test]
fn a_wrong_anchor_is_refused() {
    // Another valid P-256 point: the generator of the curve (SEC1 uncompressed).
    let g = [
        0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4,
        0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8,
        0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a,
        0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40,
        0x68, 0x37, 0xbf, 0x51, 0xf5,
    ];
    let other = TrustAnchor::from_sec1_es256(&g).unwrap();
    let ed = TrustAnchor::ed25519(ota_verify::SecretKey::from_seed(&[7; 32]).public_key());
    for (name, bytes) in EXAMPLES {
        let env = Envelope::decode(bytes, &Limits::default()).unwrap();
        assert_eq!(
            env.clone().verify(&other).unwrap_err(),
            Error::BadSignature,
            "example {name}"
        );
        assert_eq!(
            env.verify(&ed).unwrap_err(),
            Error::NoSignatureForAnchor,
            "example {name}"
        );
    }
}

#[test]
fn every_single_byte_tamper_is_refused() {
    let anchor = anchor();
    let limits = Limits::default();
    let mut count = 0;
    for (name, bytes) in EXAMPLES {
        for i in 0..bytes.len() {
            let mut t = bytes.to_vec();
            t[i] ^= 0x01;
            let r = Envelope::decode(&t, &limits).and_then(|e| e.verify(&anchor));
            assert!(r.is_err(), "example {name}: flipping byte {i} was accepted");
            count += 1;
        }
    }
    assert_eq!(count, 237 + 272 + 333 + 923 + 396 + 403 + 382);
}

#[test]
fn command_numbers_and_names_round_trip() {
    let m = decode("4").manifest().clone();
    let names: Vec<&str> = m
        .load
        .unwrap()
        .iter()
        .map(|c| ota_suit::command_name(c.number()))
        .collect();
    assert_eq!(
        names,
        [
            "directive-set-component-index",
            "directive-override-parameters",
            "directive-copy",
            "condition-image-match"
        ]
    );
}
