//! The no_std `ManifestView` against the std decoder and plan on every manifest fixture of the
//! repository (tests/data, the fuzz seed corpora; JSON fixtures through their canonical CBOR),
//! on every CBOR file of the repository, and on every prefix and one-byte change of the valid
//! fixture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod differential;

use std::path::{Path, PathBuf};

use differential::{decide_all, decode_both};
use ota_manifest::{Limits, Manifest, ManifestView, ReqView, VersionView, ViewErrorKind};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if name != "target" && !name.starts_with('.') {
                files(&p, ext, out);
            }
        } else if p.extension().and_then(|x| x.to_str()) == Some(ext) {
            out.push(p);
        }
    }
}

/// The canonical CBOR of every manifest fixture: the CBOR ones as they are, the JSON ones
/// (`tests/data`, `fuzz/corpus/manifest_json`) encoded.
fn fixtures() -> Vec<(PathBuf, Vec<u8>)> {
    let mut cbor = Vec::new();
    files(&repo(), "cbor", &mut cbor);
    let mut out: Vec<(PathBuf, Vec<u8>)> = cbor
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    // The fuzz seeds of the manifest targets have no extension for some; take them all.
    for d in ["fuzz/corpus/manifest_cbor", "fuzz/corpus/manifest_view"] {
        if let Ok(entries) = std::fs::read_dir(repo().join(d)) {
            for e in entries.flatten() {
                let b = std::fs::read(e.path()).unwrap();
                out.push((e.path(), b));
            }
        }
    }
    let mut json = Vec::new();
    files(&repo().join("ota-manifest/tests/data"), "json", &mut json);
    files(&repo().join("fuzz/corpus/manifest_json"), "json", &mut json);
    for p in json {
        let text = std::fs::read_to_string(&p).unwrap();
        if let Ok(m) = Manifest::from_json(&text) {
            out.push((p, m.to_cbor().unwrap()));
        }
    }
    out
}

#[test]
fn every_fixture_decodes_and_decides_the_same() {
    let (mut accepted, mut refused, mut decisions) = (0, 0, 0);
    for (path, bytes) in fixtures() {
        let r = std::panic::catch_unwind(|| match decode_both(&bytes) {
            Some((m, v)) => (1, 0, decide_all(&m, &v)),
            None => (0, 1, 0),
        });
        let (a, r, d) = r.unwrap_or_else(|_| panic!("{} differs", path.display()));
        (accepted, refused, decisions) = (accepted + a, refused + r, decisions + d);
    }
    // The repository holds valid manifests (valid.cbor, the JSON fixtures) and hostile ones.
    assert!(accepted >= 5, "accepted {accepted}");
    assert!(refused >= 20, "refused {refused}");
    assert!(decisions >= 40, "decisions {decisions}");
}

fn valid() -> Vec<u8> {
    std::fs::read(repo().join("ota-manifest/tests/data/valid.cbor")).unwrap()
}

#[test]
fn every_prefix_and_one_byte_change_of_the_valid_fixture() {
    let b = valid();
    for n in 0..b.len() {
        assert!(decode_both(&b[..n]).is_none(), "prefix {n} accepted");
    }
    for i in 0..b.len() {
        for x in [
            0x00, 0x01, 0x04, 0x17, 0x18, 0x20, 0x3f, 0x40, 0x60, 0x7f, 0x80, 0xa0, 0xc0, 0xf4,
            0xf9, 0xff,
        ] {
            let mut m = b.clone();
            m[i] = x;
            decode_both(&m);
            m[i] = b[i] ^ 1;
            decode_both(&m);
        }
        let mut m = b.clone();
        m.insert(i, 0);
        decode_both(&m);
        let mut m = b.clone();
        m.remove(i);
        decode_both(&m);
    }
}

#[test]
fn limits_are_the_std_decoder_s() {
    let b = valid();
    let tight = [
        Limits {
            max_cbor_bytes: b.len() - 1,
            ..Limits::default()
        },
        Limits {
            max_string_bytes: 3,
            ..Limits::default()
        },
        Limits {
            max_components: 1,
            ..Limits::default()
        },
        Limits {
            max_classes: 0,
            ..Limits::default()
        },
        Limits {
            max_deltas: 0,
            ..Limits::default()
        },
        Limits {
            max_chunks: 1,
            ..Limits::default()
        },
        Limits {
            max_depth: 1,
            ..Limits::default()
        },
        Limits {
            max_extensions: 0,
            ..Limits::default()
        },
        Limits {
            max_hardware: 0,
            ..Limits::default()
        },
        Limits {
            max_dependencies: 0,
            ..Limits::default()
        },
        Limits {
            max_uris: 0,
            ..Limits::default()
        },
    ];
    let mut refused = 0;
    for l in &tight {
        let std = Manifest::from_cbor_with(&b, l);
        let view = ManifestView::parse_with(&b, l);
        match (std, view) {
            (Ok(_), Ok(_)) => {}
            (Err(e), Err(v)) => {
                refused += 1;
                assert_eq!(
                    (v.offset, v.kind),
                    differential::expected_error(&e),
                    "{l:?}"
                );
            }
            (s, v) => panic!("{l:?}: std {s:?}, view {v:?}"),
        }
    }
    assert!(refused >= 5);
    assert_eq!(
        ManifestView::parse_with(&b, &tight[0]).unwrap_err().kind,
        ViewErrorKind::TooLarge
    );
}

#[test]
fn versions_parse_as_semver_prints_them() {
    for ok in [
        "0.0.0",
        "1.2.3",
        "1.2.3-alpha.1",
        "1.2.3-0.a-b",
        "1.2.3+001.x",
        "1.2.3-rc+b",
    ] {
        let v = VersionView::parse(ok).unwrap();
        assert_eq!(v.as_str(), ok);
    }
    let v = VersionView::parse("18446744073709551615.2.3-rc.1+b.7").unwrap();
    assert_eq!((v.major(), v.minor(), v.patch()), (u64::MAX, 2, 3));
    assert_eq!((v.pre(), v.build()), ("rc.1", "b.7"));
    for bad in [
        "",
        "1",
        "1.2",
        "01.2.3",
        "1.2.3-",
        "1.2.3-01",
        "1.2.3-a..b",
        "1.2.3+",
        "v1.2.3",
        " 1.2.3",
        "1.2.3 ",
        "18446744073709551616.0.0",
        "1.2.3-a_b",
    ] {
        assert!(VersionView::parse(bad).is_none(), "{bad:?}");
    }
    for ok in [
        "*",
        "^1.2",
        ">=1.0.0, <2.0.0",
        "1.*",
        "1.2.*",
        "=1.2.3-rc.1",
        "~0",
        "<=3.4",
    ] {
        assert_eq!(ReqView::parse(ok).unwrap().as_str(), ok);
    }
    for bad in [
        "",
        "1.2.3",
        ">= 1.0.0",
        ">=1.0.0,<2.0.0",
        "1.x",
        "1.*.*",
        ">=1.*",
        "^1.2.3+b",
        "*, ^1",
    ] {
        assert!(ReqView::parse(bad).is_none(), "{bad:?}");
    }
    let at_limit = vec!["^1"; 32].join(", ");
    assert!(ReqView::parse(&at_limit).is_some());
    assert!(ReqView::parse(&format!("{at_limit}, ^1")).is_none());
}

#[test]
fn decision_on_the_lock_fixture_matches_the_std_plan() {
    // lock_gen2.json: a firmware with a delta source and an application depending on it.
    let text =
        std::fs::read_to_string(repo().join("ota-manifest/tests/data/lock_gen2.json")).unwrap();
    let b = Manifest::from_json(&text).unwrap().to_cbor().unwrap();
    let (m, v) = decode_both(&b).unwrap();
    assert!(decide_all(&m, &v) >= 8);
}

#[test]
fn precedence_of_listed_pairs_is_semver_s() {
    use ota_manifest::semver::Version;
    // SemVer 2.0 §11's example chain, then build metadata ties that only semver's total order
    // breaks (numeric value, then length).
    let chain = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.0+0",
        "1.0.0+00",
        "1.0.0+7",
        "1.0.0+007",
        "1.0.0+10",
        "1.0.0+a",
        "1.0.0+a.0",
        "1.0.1-0",
    ];
    for a in chain {
        for b in chain {
            let (va, vb) = (
                VersionView::parse(a).unwrap(),
                VersionView::parse(b).unwrap(),
            );
            let want = Version::parse(a).unwrap().cmp(&Version::parse(b).unwrap());
            assert_eq!(va.cmp_semver(&vb), want, "{a} vs {b}");
        }
    }
}
