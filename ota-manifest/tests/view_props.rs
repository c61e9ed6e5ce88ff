//! Property tests of the no_std `ManifestView`: std encode then view decode gives the same fields
//! and the same decisions; mutated encodings are refused alike; versions and requirements parse,
//! order and match exactly as `semver` does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod differential;

use std::cmp::Ordering;

use differential::{decide_all, decode_both};
use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{Chunks, Manifest, ReqView, VersionView};
use proptest::prelude::*;

/// A generated manifest made consistent (validate passes unless dependencies disagree), so that
/// the decisions get past the release checks.
fn consistent(mut m: Manifest, loose_path: bool) -> Manifest {
    if m.compatibility.hardware.is_empty() && m.compatibility.hardware_ranges.is_empty() {
        m.compatibility.hardware.push("rev-a".into());
    }
    m.expires_at = m.expires_at.map(|e| e.max(m.issued_at.saturating_add(1)));
    if m.expires_at == Some(m.issued_at) {
        m.expires_at = None;
    }
    for (i, c) in m.components.iter_mut().enumerate() {
        c.id = format!("{}-{i}", c.id);
        c.dependencies.clear();
        if let Some(ch) = &mut c.chunks {
            if ch.sha256.is_empty() {
                c.chunks = None;
            } else {
                let size = ch.chunk_size.max(1);
                *ch = Chunks {
                    chunk_size: size,
                    sha256: ch.sha256.clone(),
                };
                c.size = u64::from(size) * ch.sha256.len() as u64;
            }
        }
        if loose_path {
            c.upgrade_from = VersionReq::STAR;
        }
        let (sha, from) = (c.sha256, c.upgrade_from.clone());
        let mut seen = Vec::new();
        c.deltas.retain(|d| {
            let keep = d.from_sha256 != sha
                && d.patch_size > 0
                && from.matches(&d.from_version)
                && !seen.contains(&d.from_sha256);
            seen.push(d.from_sha256);
            keep
        });
    }
    m
}

fn identifiers() -> impl Strategy<Value = String> {
    let id = prop::sample::select(vec![
        "0", "1", "2", "10", "9", "a", "b", "alpha", "rc-1", "A", "-", "007", "7", "00",
    ]);
    prop::collection::vec(id, 1..4).prop_map(|v| v.join("."))
}

fn version_text() -> impl Strategy<Value = String> {
    let ids = identifiers();
    (
        0u64..3,
        0u64..3,
        0u64..3,
        prop::option::of(ids),
        prop::option::of(identifiers()),
    )
        .prop_map(|(a, b, c, pre, build)| {
            let mut s = format!("{a}.{b}.{c}");
            if let Some(p) = pre {
                s = format!("{s}-{p}");
            }
            if let Some(b) = build {
                s = format!("{s}+{b}");
            }
            s
        })
}

fn req_text() -> impl Strategy<Value = String> {
    let op = prop::sample::select(vec!["=", ">", ">=", "<", "<=", "~", "^", ""]);
    let pre = prop::option::of(prop::sample::select(vec![
        "0", "1", "alpha", "alpha.1", "b",
    ]));
    let cmp = (op, 0u64..3, 0u64..3, 0u64..3, 1usize..4, pre).prop_map(
        |(op, a, b, c, parts, pre)| match (op, parts) {
            ("", 1) => format!("{a}.*"),
            ("", _) => format!("{a}.{b}.*"),
            (op, 1) => format!("{op}{a}"),
            (op, 2) => format!("{op}{a}.{b}"),
            (op, _) => match pre {
                Some(p) => format!("{op}{a}.{b}.{c}-{p}"),
                None => format!("{op}{a}.{b}.{c}"),
            },
        },
    );
    prop_oneof![
        1 => Just("*".to_owned()),
        8 => prop::collection::vec(cmp, 1..4).prop_map(|v| v.join(", ")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// std encode -> view decode: the same fields, and the same decisions for every device.
    #[test]
    fn std_encode_view_decode_is_equal(m in common::manifest(), fix in 0u8..3) {
        let m = match fix {
            0 => m,
            f => consistent(m, f == 2),
        };
        let bytes = m.to_cbor().unwrap();
        let (back, v) = decode_both(&bytes).expect("both accept what std encodes");
        prop_assert_eq!(&back, &m);
        decide_all(&back, &v);
    }

    /// A changed, inserted or removed byte: both refuse at the same offset with the same kind,
    /// or both accept the same manifest.
    #[test]
    fn mutated_encodings_are_judged_alike(
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
        decode_both(&bytes);
    }

    /// Any short string over the characters of versions: the view accepts exactly what semver
    /// parses and prints back unchanged.
    #[test]
    fn version_spelling_is_semver_s(s in "[0-9.+a-zA-Z-]{0,12}", t in version_text()) {
        for s in [s, t] {
            let std = Version::parse(&s).is_ok_and(|v| v.to_string() == s);
            prop_assert_eq!(VersionView::parse(&s).is_some(), std, "{:?}", s);
            // semver prints every version it parses unchanged, so a device's hardware revision
            // (parsed leniently by the std plan) is a version for both or for neither.
            prop_assert_eq!(Version::parse(&s).is_ok(), std, "{:?}", s);
        }
    }

    /// The same for requirements.
    #[test]
    fn requirement_spelling_is_semver_s(s in "[0-9.*xX=<>~^, a-z+-]{0,14}", t in req_text()) {
        for s in [s, t] {
            let std = VersionReq::parse(&s).is_ok_and(|r| r.to_string() == s);
            prop_assert_eq!(ReqView::parse(&s).is_some(), std, "{:?}", s);
        }
    }

    /// Pre-release and build precedence are semver's (same major.minor.patch).
    #[test]
    fn identifier_precedence_is_semver_s(a in identifiers(), b in identifiers(), how in 0u8..3) {
        let (a, b) = match how {
            0 => (format!("1.0.0-{a}"), format!("1.0.0-{b}")),
            1 => (format!("1.0.0+{a}"), format!("1.0.0+{b}")),
            _ => (format!("1.0.0-{a}"), "1.0.0".to_owned()),
        };
        let (sa, sb) = (Version::parse(&a), Version::parse(&b));
        let (va, vb) = (VersionView::parse(&a), VersionView::parse(&b));
        prop_assert_eq!(sa.is_ok(), va.is_some());
        prop_assert_eq!(sb.is_ok(), vb.is_some());
        if let (Ok(sa), Ok(sb), Some(va), Some(vb)) = (sa, sb, va, vb) {
            prop_assert_eq!(va.cmp_semver(&vb), sa.cmp(&sb), "{} vs {}", a, b);
            prop_assert_eq!(vb.cmp_semver(&va), sb.cmp(&sa), "{} vs {}", b, a);
        }
    }

    /// Precedence and matching are semver's.
    #[test]
    fn order_and_matching_are_semver_s(a in version_text(), b in version_text(), r in req_text()) {
        let (sa, sb) = (Version::parse(&a).ok(), Version::parse(&b).ok());
        let (va, vb) = (VersionView::parse(&a), VersionView::parse(&b));
        prop_assert_eq!(sa.is_some(), va.is_some());
        if let (Some(sa), Some(sb), Some(va), Some(vb)) = (sa, sb, va, vb) {
            prop_assert_eq!(va.cmp_semver(&vb), sa.cmp(&sb), "{} vs {}", a, b);
            prop_assert_eq!(va.cmp_semver(&va), Ordering::Equal);
            if let (Ok(sr), Some(vr)) = (VersionReq::parse(&r), ReqView::parse(&r)) {
                prop_assert_eq!(vr.matches(&va), sr.matches(&sa), "{} on {}", r, a);
                prop_assert_eq!(vr.matches(&vb), sr.matches(&sb), "{} on {}", r, b);
            }
        }
    }
}
