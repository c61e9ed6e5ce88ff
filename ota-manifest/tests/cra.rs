//! The supply-chain fields (FORMAT.md release keys 13 and 14, component keys 11 with a format
//! name, 14 and 15): the fixtures of tests/data/cra*.cbor (written by make_fixtures.py, an encoder
//! independent of ours), the validation rules, the JSON form and backward compatibility.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_manifest::{
    CveId, DecodeError, Error, Invalid, Limit, Manifest, Problem, SbomFormat, SbomFormatName,
    Sha256, UpdateClass,
};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn decode_kind(name: &str) -> (usize, String, DecodeError) {
    match Manifest::from_cbor(&data(name)) {
        Err(Error::Decode {
            offset,
            field,
            kind,
        }) => (offset, field, kind),
        other => panic!("{name}: expected a decode error, got {other:?}"),
    }
}

#[test]
fn cra_fixture_decodes_with_every_field_and_reencodes_to_the_same_bytes() {
    let bytes = data("cra.cbor");
    let m = Manifest::from_cbor(&bytes).unwrap();
    assert_eq!(m.support_ends_at, Some(1_924_992_000));
    assert_eq!(m.max_security_deferral, Some(7 * 86_400));
    let fw = &m.components[0];
    assert_eq!(fw.update_class, Some(UpdateClass::Security));
    let cves: Vec<&str> = fw.cves.iter().map(CveId::as_str).collect();
    assert_eq!(cves, ["CVE-2014-0160", "CVE-2021-44228", "CVE-2024-123456"]);
    let sbom = fw.sbom.as_ref().unwrap();
    assert_eq!(sbom.format, SbomFormat::cyclonedx_1_5_json());
    assert_eq!(
        sbom.sha256,
        Sha256::of(br#"{"bomFormat":"CycloneDX","specVersion":"1.5","version":1}"#)
    );
    assert_eq!(sbom.uri, "https://example.invalid/lock-fw-2.0.0.cdx.json");
    assert_eq!(m.components[1].update_class, Some(UpdateClass::Feature));
    assert!(m.components[1].cves.is_empty());
    m.validate().unwrap();
    assert_eq!(m.to_cbor().unwrap(), bytes);
    let json = m.to_json().unwrap();
    assert!(json.contains(r#""update_class": "security""#), "{json}");
    assert!(json.contains(r#""format": "CycloneDX-1.5+json""#), "{json}");
    assert!(json.contains(r#""support_ends_at": 1924992000"#), "{json}");
    assert_eq!(
        Manifest::from_json(&json).unwrap().to_cbor().unwrap(),
        bytes
    );
}

#[test]
fn a_manifest_without_the_fields_keeps_its_bytes_and_meaning() {
    // valid.cbor predates the fields: its SBOM format is the code 0, no class, no CVEs.
    let bytes = data("valid.cbor");
    let m = Manifest::from_cbor(&bytes).unwrap();
    assert_eq!(m.support_ends_at, None);
    assert_eq!(m.max_security_deferral, None);
    assert!(m.components.iter().all(|c| c.update_class.is_none()));
    assert!(m.components.iter().all(|c| c.cves.is_empty()));
    let sbom = m.components[0].sbom.as_ref().unwrap();
    assert_eq!(sbom.format, SbomFormat::CycloneDx);
    assert_eq!(m.to_cbor().unwrap(), bytes);
    assert!(m.to_json().unwrap().contains(r#""format": "cyclone_dx""#));
}

#[test]
fn bad_cve_syntax_is_refused_at_its_offset() {
    let (offset, field, kind) = decode_kind("cra_bad_cve.cbor");
    assert_eq!(kind, DecodeError::Syntax("CVE id CVE-YYYY-NNNN"));
    assert_eq!(field, "components[0].cves[0]");
    let bytes = data("cra_bad_cve.cbor");
    assert_eq!(&bytes[offset + 1..offset + 13], b"CVE-2014-160");
}

#[test]
fn too_many_cves_is_a_limit() {
    match Manifest::from_cbor(&data("cra_too_many_cves.cbor")) {
        Err(Error::LimitExceeded {
            field,
            limit,
            count,
            max,
            ..
        }) => {
            assert_eq!(field, "components[0].cves");
            assert_eq!((limit, count, max), (Limit::Cves, 65, 64));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_update_class_bad_sbom_format_text_time_and_empty_list_are_refused() {
    let (_, field, kind) = decode_kind("cra_unknown_update_class.cbor");
    assert_eq!(field, "components[0].update_class");
    assert_eq!(kind, DecodeError::OutOfRange("unknown update class"));
    let (offset, field, kind) = decode_kind("cra_bad_sbom_format.cbor");
    assert_eq!(field, "components[0].sbom.format");
    assert!(matches!(kind, DecodeError::Syntax(_)));
    assert_eq!(data("cra_bad_sbom_format.cbor")[offset], 0x6d); // text, 13 bytes
    let (_, field, kind) = decode_kind("cra_support_end_as_text.cbor");
    assert_eq!(field, "support_ends_at");
    assert!(matches!(kind, DecodeError::WrongType { .. }));
    let (_, field, kind) = decode_kind("cra_empty_cve_list.cbor");
    assert_eq!(field, "components[0].cves");
    assert_eq!(kind, DecodeError::OutOfRange("empty list"));
}

fn cra() -> Manifest {
    Manifest::from_cbor(&data("cra.cbor")).unwrap()
}

fn problem(m: &Manifest) -> Problem {
    let Invalid { problem, .. } = m.validate().unwrap_err();
    problem
}

#[test]
fn cves_need_a_security_class_and_no_duplicates() {
    let mut m = cra();
    m.components[0].update_class = Some(UpdateClass::Feature);
    assert_eq!(problem(&m), Problem::CvesWithoutSecurityClass);
    m.components[0].update_class = None;
    assert_eq!(problem(&m), Problem::CvesWithoutSecurityClass);
    let mut m = cra();
    let first = m.components[0].cves[0].clone();
    m.components[0].cves.push(first);
    assert_eq!(
        problem(&m),
        Problem::DuplicateCve("CVE-2014-0160".to_owned())
    );
}

#[test]
fn support_must_end_after_issue() {
    let mut m = cra();
    m.support_ends_at = Some(m.issued_at);
    assert_eq!(
        problem(&m),
        Problem::SupportEndsBeforeIssued {
            issued_at: m.issued_at,
            support_ends_at: m.issued_at
        }
    );
    m.support_ends_at = Some(m.issued_at + 1);
    m.validate().unwrap();
}

#[test]
fn json_refuses_bad_cves_formats_and_classes() {
    let json = cra().to_json().unwrap();
    for (from, to) in [
        ("CVE-2021-44228", "CVE-21-44228"),
        ("CycloneDX-1.5+json", "CycloneDX 1.5"),
        (r#""security""#, r#""urgent""#),
    ] {
        let bad = json.replacen(from, to, 1);
        assert!(
            matches!(Manifest::from_json(&bad), Err(Error::Json { .. })),
            "{to}"
        );
    }
    // Over the CVE limit through JSON as well.
    let mut m = cra();
    m.components[0].cves = (0..65)
        .map(|i| CveId::new(&format!("CVE-2024-{}", 10_000 + i)).unwrap())
        .collect();
    let json = m.to_json_compact();
    assert!(matches!(
        json,
        Err(Error::LimitExceeded {
            limit: Limit::Cves,
            ..
        })
    ));
}

#[test]
fn format_names_survive_both_forms() {
    let mut m = cra();
    let spdx = SbomFormatName::new("SPDX-2.3+tag-value").unwrap();
    m.components[0].sbom.as_mut().unwrap().format = SbomFormat::Named(spdx);
    let bytes = m.to_cbor().unwrap();
    assert_eq!(Manifest::from_cbor(&bytes).unwrap(), m);
    assert_eq!(Manifest::from_json(&m.to_json().unwrap()).unwrap(), m);
}
