//! Shared by the integration tests: proptest strategies for manifests, and a reference CBOR
//! parser and canonical encoder written independently of the crate (recursive, into a tree, maps
//! sorted by a `sort` of encoded keys), used to check canonical form.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{
    Chunks, Compatibility, Component, CveId, DeltaAlgorithm, DeltaSource, Dependency, DeviceId,
    Extension, Extensions, Layer, Manifest, Sbom, SbomFormat, SbomFormatName, Sha256, UpdateClass,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// A CBOR data item as the reference parser sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Uint(u64),
    Nint(u64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Item>),
    Map(Vec<(Item, Item)>),
    Tag(u64, Box<Item>),
    Simple(u8),
}

/// The shortest head for `major` and `n`, computed by table rather than by narrowing.
pub fn ref_head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    let mut out = Vec::new();
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= u64::from(u8::MAX) {
        out.extend([m | 24, n as u8]);
    } else if n <= u64::from(u16::MAX) {
        out.push(m | 25);
        out.extend((n as u16).to_be_bytes());
    } else if n <= u64::from(u32::MAX) {
        out.push(m | 26);
        out.extend((n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend(n.to_be_bytes());
    }
    out
}

/// Canonical encoding by the reference: map entries sorted by their encoded keys.
pub fn ref_encode(item: &Item) -> Vec<u8> {
    match item {
        Item::Uint(n) => ref_head(0, *n),
        Item::Nint(n) => ref_head(1, *n),
        Item::Bytes(b) => [ref_head(2, b.len() as u64), b.clone()].concat(),
        Item::Text(s) => [ref_head(3, s.len() as u64), s.as_bytes().to_vec()].concat(),
        Item::Array(a) => {
            let mut out = ref_head(4, a.len() as u64);
            for i in a {
                out.extend(ref_encode(i));
            }
            out
        }
        Item::Map(m) => {
            let mut entries: Vec<(Vec<u8>, Vec<u8>)> = m
                .iter()
                .map(|(k, v)| (ref_encode(k), ref_encode(v)))
                .collect();
            entries.sort();
            let mut out = ref_head(5, entries.len() as u64);
            for (k, v) in entries {
                out.extend(k);
                out.extend(v);
            }
            out
        }
        Item::Tag(t, i) => [ref_head(6, *t), ref_encode(i)].concat(),
        Item::Simple(s) => vec![0xe0 | s],
    }
}

/// Parses one item, accepting any head length (it is lenient on purpose: canonical form is then
/// checked by re-encoding with `ref_encode` and comparing bytes).
pub fn ref_parse(b: &[u8]) -> Option<(Item, usize)> {
    let ib = *b.first()?;
    let (major, ai) = (ib >> 5, ib & 31);
    let (n, mut used) = match ai {
        0..=23 => (u64::from(ai), 1),
        24..=27 => {
            let len = 1usize << (ai - 24);
            let bytes = b.get(1..1 + len)?;
            (
                bytes.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)),
                1 + len,
            )
        }
        _ => return None,
    };
    let item = match major {
        0 => Item::Uint(n),
        1 => Item::Nint(n),
        2 | 3 => {
            let data = b.get(used..used + usize::try_from(n).ok()?)?.to_vec();
            used += data.len();
            if major == 2 {
                Item::Bytes(data)
            } else {
                Item::Text(String::from_utf8(data).ok()?)
            }
        }
        4 => {
            let mut a = Vec::new();
            for _ in 0..n {
                let (i, u) = ref_parse(&b[used..])?;
                used += u;
                a.push(i);
            }
            Item::Array(a)
        }
        5 => {
            let mut m = Vec::new();
            for _ in 0..n {
                let (k, u) = ref_parse(&b[used..])?;
                used += u;
                let (v, u) = ref_parse(&b[used..])?;
                used += u;
                m.push((k, v));
            }
            Item::Map(m)
        }
        6 => {
            let (i, u) = ref_parse(&b[used..])?;
            used += u;
            Item::Tag(n, Box::new(i))
        }
        _ => Item::Simple(n as u8),
    };
    Some((item, used))
}

/// True when `b` is exactly one item and the reference's canonical re-encoding is the same bytes.
pub fn is_canonical(b: &[u8]) -> bool {
    match ref_parse(b) {
        Some((item, used)) => used == b.len() && ref_encode(&item) == b,
        None => false,
    }
}

pub fn version() -> impl Strategy<Value = Version> {
    (
        0u64..30,
        0u64..30,
        0u64..300,
        prop::sample::select(vec!["", "-alpha.1", "-rc.2"]),
    )
        .prop_map(|(a, b, c, pre)| Version::parse(&format!("{a}.{b}.{c}{pre}")).unwrap())
}

pub fn req() -> impl Strategy<Value = VersionReq> {
    prop_oneof![
        Just(VersionReq::STAR),
        (0u64..30, 0u64..30).prop_map(|(a, b)| VersionReq::parse(&format!("^{a}.{b}")).unwrap()),
        (0u64..30, 1u64..30).prop_map(|(a, b)| {
            VersionReq::parse(&format!(">={a}.0.0, <{}.0.0", a + b)).unwrap()
        }),
        (0u64..30).prop_map(|a| VersionReq::parse(&format!("~{a}.1")).unwrap()),
        (0u64..30).prop_map(|a| VersionReq::parse(&format!("={a}.2.3")).unwrap()),
    ]
}

pub fn sha() -> impl Strategy<Value = Sha256> {
    any::<[u8; 32]>().prop_map(Sha256)
}

fn device_id() -> impl Strategy<Value = DeviceId> {
    vec(any::<u8>(), 1..=64).prop_map(|b| DeviceId::new(&b).unwrap())
}

fn text() -> impl Strategy<Value = String> {
    "[a-z0-9./:-]{0,24}"
}

fn id() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,12}"
}

/// Arbitrary CBOR items without floats (what extensions may hold), at most 3 levels deep.
pub fn item() -> impl Strategy<Value = Item> {
    let leaf = prop_oneof![
        any::<u64>().prop_map(Item::Uint),
        any::<u64>().prop_map(Item::Nint),
        vec(any::<u8>(), 0..40).prop_map(Item::Bytes),
        ".{0,10}".prop_map(Item::Text),
        prop::sample::select(vec![20u8, 21, 22]).prop_map(Item::Simple),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Item::Array),
            vec((inner.clone(), inner.clone()), 0..4).prop_map(|kv| {
                // Keys must differ once encoded.
                let mut seen = std::collections::BTreeSet::new();
                Item::Map(
                    kv.into_iter()
                        .filter(|(k, _)| seen.insert(ref_encode(k)))
                        .collect(),
                )
            }),
            (0u64..100_000, inner).prop_map(|(t, i)| Item::Tag(t, Box::new(i))),
        ]
    })
}

fn extensions() -> impl Strategy<Value = Extensions> {
    prop::collection::btree_map(i64::MIN..0, item(), 0..3).prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| (k, Extension::from_cbor(&ref_encode(&v)).unwrap()))
            .collect()
    })
}

/// Any CVE id the syntax allows: years 1999..=9999, 4 to 19 digit sequence numbers.
pub fn cve() -> impl Strategy<Value = CveId> {
    (
        1999u16..=9999,
        prop_oneof![0u64..10_000, 10_000u64..=u64::MAX / 10],
    )
        .prop_map(|(y, n)| CveId::new(&format!("CVE-{y}-{n:04}")).unwrap())
}

/// Every SBOM format form: the two first codes and names.
pub fn sbom_format() -> impl Strategy<Value = SbomFormat> {
    prop_oneof![
        Just(SbomFormat::CycloneDx),
        Just(SbomFormat::Spdx),
        (
            "[A-Za-z][A-Za-z0-9]{0,12}",
            prop::collection::vec(0u32..100_000, 1..=3),
            "[a-z0-9][a-z0-9-]{0,8}",
        )
            .prop_map(|(s, v, e)| {
                let v: Vec<String> = v.iter().map(u32::to_string).collect();
                let name = format!("{s}-{}+{e}", v.join("."));
                SbomFormat::Named(SbomFormatName::new(&name).unwrap())
            }),
    ]
}

fn update_class() -> impl Strategy<Value = Option<UpdateClass>> {
    option::of(prop_oneof![
        Just(UpdateClass::Feature),
        Just(UpdateClass::Security)
    ])
}

fn layer() -> impl Strategy<Value = Layer> {
    prop_oneof![
        Just(Layer::Firmware),
        Just(Layer::Application),
        Just(Layer::Model),
        Just(Layer::Configuration),
        (256u32..).prop_map(Layer::Vendor),
    ]
}

fn delta() -> impl Strategy<Value = DeltaSource> {
    (
        version(),
        sha(),
        any::<u64>(),
        sha(),
        prop_oneof![
            Just(DeltaAlgorithm::Bsdiff40),
            Just(DeltaAlgorithm::OtaDelta),
            (256u32..).prop_map(DeltaAlgorithm::Vendor),
        ],
    )
        .prop_map(
            |(from_version, from_sha256, patch_size, patch_sha256, algorithm)| DeltaSource {
                from_version,
                from_sha256,
                patch_size,
                patch_sha256,
                algorithm,
            },
        )
}

pub fn component() -> impl Strategy<Value = Component> {
    (
        (id(), layer(), version(), req(), any::<u64>(), sha()),
        option::of((any::<u32>(), vec(sha(), 0..4))),
        vec(delta(), 0..3),
        vec((id(), req()), 0..3),
        any::<u32>(),
        option::of((sbom_format(), sha(), text())),
        (vec(text(), 0..3), option::of(text()), extensions()),
        (update_class(), vec(cve(), 0..4)),
    )
        .prop_map(
            |(
                (id, layer, version, upgrade_from, size, sha256),
                ch,
                deltas,
                deps,
                order,
                sbom,
                rest,
                cra,
            )| {
                Component {
                    id,
                    layer,
                    version,
                    upgrade_from,
                    size,
                    sha256,
                    chunks: ch.map(|(chunk_size, sha256)| Chunks { chunk_size, sha256 }),
                    deltas,
                    dependencies: deps
                        .into_iter()
                        .map(|(id, req)| Dependency { id, req })
                        .collect(),
                    order,
                    sbom: sbom.map(|(format, sha256, uri)| Sbom {
                        format,
                        sha256,
                        uri,
                    }),
                    uris: rest.0,
                    image: rest.1,
                    update_class: cra.0,
                    cves: cra.1,
                    extensions: rest.2,
                }
            },
        )
}

/// Any manifest the format can carry (not necessarily a consistent release: decoding does not
/// validate, so round trips must hold for these too).
pub fn manifest() -> impl Strategy<Value = Manifest> {
    (
        (
            "[a-z0-9. -]{1,20}",
            version(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
        ),
        (
            option::of(any::<u64>()),
            option::of(text()),
            option::of(any::<u64>()),
            option::of(any::<u64>()),
        ),
        (
            device_id(),
            vec(device_id(), 1..3),
            vec(text(), 0..3),
            vec(req(), 0..3),
        ),
        vec(component(), 1..4),
        extensions(),
    )
        .prop_map(
            |(
                (name, version, sequence, security_counter, issued_at),
                opt,
                compat,
                components,
                extensions,
            )| {
                Manifest {
                    name,
                    version,
                    sequence,
                    security_counter,
                    issued_at,
                    expires_at: opt.0,
                    notes_uri: opt.1,
                    support_ends_at: opt.2,
                    max_security_deferral: opt.3,
                    compatibility: Compatibility {
                        vendor: compat.0,
                        classes: compat.1,
                        hardware: compat.2,
                        hardware_ranges: compat.3,
                    },
                    components,
                    extensions,
                }
            },
        )
}
