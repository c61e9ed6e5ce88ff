//! The differential oracle shared by tests/view.rs and tests/view_props.rs: the std decoder and
//! plan against the no_std `ManifestView` and its decision, field by field and rule by rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use ota_manifest::semver::Version;
use ota_manifest::{
    Action, DecodeError, DeviceId, DeviceState, DeviceView, Error, Installed, InstalledView,
    Manifest, ManifestView, Problem, Refusal, Rule, Sha256, Slot, ViewAction, ViewErrorKind,
    ViewProblem, ViewRule,
};

/// The view's kind for a std decode error, and its offset.
pub fn expected_error(e: &Error) -> (usize, ViewErrorKind) {
    use ViewErrorKind as K;
    match e {
        Error::TooLarge { max, .. } => (*max, K::TooLarge),
        Error::TooDeep { offset, .. } => (*offset, K::TooDeep),
        Error::LimitExceeded {
            offset: Some(o),
            limit,
            count,
            ..
        } => (
            *o,
            K::Limit {
                limit: *limit,
                count: *count,
            },
        ),
        Error::Decode { offset, kind, .. } => {
            let k = match kind {
                DecodeError::Truncated => K::Truncated,
                DecodeError::TrailingBytes(n) => K::TrailingBytes(*n),
                DecodeError::DuplicateKey => K::DuplicateKey,
                DecodeError::UnsortedKey => K::UnsortedKey,
                DecodeError::NonShortest => K::NonShortest,
                DecodeError::IndefiniteLength => K::IndefiniteLength,
                DecodeError::UnexpectedBreak => K::UnexpectedBreak,
                DecodeError::Reserved(i) => K::Reserved(*i),
                DecodeError::Float => K::Float,
                DecodeError::UnsupportedSimple(v) => K::UnsupportedSimple(*v),
                DecodeError::WrongType { .. } => K::WrongType,
                DecodeError::UnknownMandatoryField(k) => K::UnknownField(*k),
                DecodeError::MissingField => K::MissingField(0),
                DecodeError::InvalidUtf8 => K::InvalidUtf8,
                DecodeError::UnsupportedFormatVersion(v) => K::UnsupportedFormatVersion(*v),
                DecodeError::BadSemver(_) => K::BadVersion,
                DecodeError::NonCanonical(what) if what.contains("version") => K::BadVersion,
                DecodeError::NonCanonical(_) => K::NonCanonical,
                DecodeError::BadDigestLength(n) => K::BadDigestLength(*n),
                DecodeError::BadLength(n) => K::BadLength(*n),
                DecodeError::OutOfRange(_) => K::OutOfRange,
                other => panic!("a decode error the view has no kind for: {other:?}"),
            };
            (*offset, k)
        }
        other => panic!("not a CBOR decode error: {other:?}"),
    }
}

/// Decodes `bytes` with both and asserts they agree: both refuse at the same offset with the
/// same kind, or both accept and every exposed field is equal. Returns the two when accepted.
pub fn decode_both(bytes: &[u8]) -> Option<(Manifest, ManifestView<'_>)> {
    let std = Manifest::from_cbor(bytes);
    let view = ManifestView::parse(bytes);
    match (std, view) {
        (Ok(m), Ok(v)) => {
            assert_fields(&m, &v);
            Some((m, v))
        }
        (Err(e), Err(ve)) => {
            let (offset, kind) = expected_error(&e);
            assert_eq!(ve.offset, offset, "offset: std {e}, view {ve:?}");
            match kind {
                ViewErrorKind::MissingField(_) => {
                    assert!(
                        matches!(ve.kind, ViewErrorKind::MissingField(_)),
                        "{e} / {ve:?}"
                    );
                }
                k => assert_eq!(ve.kind, k, "kind: std {e}, view {ve:?}"),
            }
            None
        }
        (Ok(_), Err(ve)) => panic!("std accepts, the view refuses: {ve:?}"),
        (Err(e), Ok(_)) => panic!("the view accepts, std refuses: {e}"),
    }
}

pub fn assert_fields(m: &Manifest, v: &ManifestView<'_>) {
    assert_eq!(v.version().as_str(), m.version.to_string());
    assert_eq!(v.sequence(), m.sequence);
    assert_eq!(v.security_counter(), m.security_counter);
    assert_eq!(v.issued_at(), m.issued_at);
    assert_eq!(v.expires_at(), m.expires_at);
    let c = &m.compatibility;
    assert_eq!(v.vendor(), c.vendor.as_bytes());
    let classes: Vec<&[u8]> = v.classes().collect();
    let std_classes: Vec<&[u8]> = c.classes.iter().map(DeviceId::as_bytes).collect();
    assert_eq!(classes, std_classes);
    assert_eq!(v.hardware().collect::<Vec<_>>(), c.hardware);
    let ranges: Vec<String> = v.hardware_ranges().map(|r| r.as_str().to_owned()).collect();
    let std_ranges: Vec<String> = c.hardware_ranges.iter().map(ToString::to_string).collect();
    assert_eq!(ranges, std_ranges);
    assert_eq!(v.components().len(), m.components.len());
    for (i, (vc, sc)) in v.components().zip(&m.components).enumerate() {
        assert_eq!(vc.index(), i);
        assert_eq!(vc.id(), sc.id);
        assert_eq!(vc.layer(), sc.layer.code(), "layer of {}", sc.id);
        assert_eq!(vc.needs_reboot(), sc.layer.needs_reboot());
        assert_eq!(vc.version().as_str(), sc.version.to_string());
        assert_eq!(vc.upgrade_from().as_str(), sc.upgrade_from.to_string());
        assert_eq!(vc.size(), sc.size);
        assert_eq!(vc.sha256(), sc.sha256.as_bytes());
        assert_eq!(vc.order(), sc.order);
        match &sc.chunks {
            None => {
                assert_eq!(vc.chunk_size(), None);
                assert_eq!(vc.chunk_count(), 0);
            }
            Some(ch) => {
                assert_eq!(vc.chunk_size(), Some(ch.chunk_size));
                assert_eq!(vc.chunk_count(), ch.sha256.len());
                for (k, d) in ch.sha256.iter().enumerate() {
                    assert_eq!(vc.chunk_sha256(k), Some(d.as_bytes()));
                }
                assert_eq!(vc.chunk_sha256(ch.sha256.len()), None);
            }
        }
        assert_eq!(vc.deltas().len(), sc.deltas.len());
        for (vd, sd) in vc.deltas().zip(&sc.deltas) {
            assert_eq!(vd.from_version().as_str(), sd.from_version.to_string());
            assert_eq!(vd.from_sha256(), sd.from_sha256.as_bytes());
            assert_eq!(vd.patch_size(), sd.patch_size);
            assert_eq!(vd.patch_sha256(), sd.patch_sha256.as_bytes());
            assert_eq!(vd.algorithm(), sd.algorithm.code());
        }
    }
}

/// Whether the std refusal is about dependencies, which the view does not read.
fn about_dependencies(r: &Refusal) -> bool {
    matches!(
        r.rule,
        Rule::UnmetDependency { .. }
            | Rule::Invalid(
                Problem::DependencyCycle(_)
                    | Problem::SelfDependency
                    | Problem::DuplicateDependency(_)
                    | Problem::DependencyVersionMismatch { .. }
            )
    )
}

/// The view's rule for a std rule (strings dropped).
fn expected_rule(r: &Rule) -> ViewRule {
    use ViewProblem as P;
    match r {
        Rule::Invalid(p) => ViewRule::Invalid(match p {
            Problem::NoHardware => P::NoHardware,
            Problem::ExpiresBeforeIssued {
                issued_at,
                expires_at,
            } => P::ExpiresBeforeIssued {
                issued_at: *issued_at,
                expires_at: *expires_at,
            },
            Problem::DuplicateComponent => P::DuplicateComponent,
            Problem::ChunkSizeZero => P::ChunkSizeZero,
            Problem::ChunkCountMismatch { expected, actual } => P::ChunkCountMismatch {
                expected: *expected,
                actual: *actual,
            },
            Problem::DeltaFromSelf => P::DeltaFromSelf,
            Problem::DuplicateDeltaSource => P::DuplicateDeltaSource,
            Problem::EmptyPatch => P::EmptyPatch,
            Problem::DeltaOutsideUpgradePath { .. } => P::DeltaOutsideUpgradePath,
            other => panic!("a problem the decoder makes impossible: {other:?}"),
        }),
        Rule::DuplicateInstalled => ViewRule::DuplicateInstalled { index: 0 },
        Rule::WrongVendor => ViewRule::WrongVendor,
        Rule::WrongClass => ViewRule::WrongClass,
        Rule::WrongHardware { .. } => ViewRule::WrongHardware,
        Rule::Expired { expires_at, now } => ViewRule::Expired {
            expires_at: *expires_at,
            now: *now,
        },
        Rule::SequenceNotNewer { sequence, accepted } => ViewRule::SequenceNotNewer {
            sequence: *sequence,
            accepted: *accepted,
        },
        Rule::SecurityCounterBelowFloor { counter, floor } => ViewRule::SecurityCounterBelowFloor {
            counter: *counter,
            floor: *floor,
        },
        Rule::OutsideUpgradePath { .. } => ViewRule::OutsideUpgradePath,
        other => panic!("unexpected rule {other:?}"),
    }
}

/// Runs the std plan and the view's decision for `device` and asserts the same outcome: the
/// same refusal (rule and component), or every component with the same action. Returns false
/// when the std refusal is about dependencies (not compared).
pub fn decide_both(m: &Manifest, v: &ManifestView<'_>, device: &DeviceState) -> bool {
    let versions: Vec<String> = device
        .installed
        .iter()
        .map(|i| i.version.to_string())
        .collect();
    let installed: Vec<InstalledView<'_>> = device
        .installed
        .iter()
        .zip(&versions)
        .map(|(i, s)| InstalledView {
            id: &i.id,
            version: ota_manifest::VersionView::parse(s).expect("a semver version parses"),
            sha256: i.sha256.0,
        })
        .collect();
    let dv = DeviceView {
        vendor: device.vendor.as_bytes(),
        class: device.class.as_bytes(),
        hardware: &device.hardware,
        installed: &installed,
        security_counter: device.security_counter,
        last_sequence: device.last_sequence,
        now: device.now,
    };
    let has_deps = m.components.iter().any(|c| !c.dependencies.is_empty());
    let std = m.plan(device);
    let view = v.decide(&dv);
    match (&std, &view) {
        (Err(r), _) if about_dependencies(r) => return false,
        (Err(r), Err(vr)) => {
            let mut want = expected_rule(&r.rule);
            if let ViewRule::DuplicateInstalled { index } = vr.rule {
                assert_eq!(
                    Some(device.installed[index].id.as_str()),
                    r.component.as_deref()
                );
                want = vr.rule;
            } else if !has_deps || vr.component.is_none() {
                let named = vr.component.map(|i| m.components[i].id.as_str());
                assert_eq!(named, r.component.as_deref(), "component of {r}");
            }
            assert_eq!(vr.rule, want, "std {r}, view {vr:?}");
        }
        (Ok(plan), Ok(())) => {
            let mut order = Vec::new();
            for c in v.install_order() {
                order.push(c.id().to_owned());
                let step = plan.steps.iter().find(|s| s.component == c.id()).unwrap();
                let a = v.action(&c, &dv).expect("decide accepted every component");
                match (&step.action, a) {
                    (Action::Skip, ViewAction::Skip) => {}
                    (Action::Full { size, sha256 }, ViewAction::Full { size: s, sha256: d }) => {
                        assert_eq!((*size, sha256.as_bytes()), (s, d));
                    }
                    (Action::Delta(sd), ViewAction::Delta(vd)) => {
                        assert_eq!(vd.from_sha256(), sd.from_sha256.as_bytes());
                        assert_eq!(vd.patch_sha256(), sd.patch_sha256.as_bytes());
                    }
                    (s, a) => panic!("{}: std {s:?}, view {a:?}", c.id()),
                }
                assert_eq!(step.reboot, a != ViewAction::Skip && c.needs_reboot());
            }
            if !has_deps {
                let std_order: Vec<&str> =
                    plan.steps.iter().map(|s| s.component.as_str()).collect();
                assert_eq!(order, std_order);
            }
        }
        (s, vw) => panic!("std {s:?}, view {vw:?}"),
    }
    true
}

/// Devices to decide for: matching and not, with nothing, the delta sources, the targets and
/// an old version installed, before and after expiry, with and without anti-rollback state.
pub fn devices(m: &Manifest) -> Vec<DeviceState> {
    let c = &m.compatibility;
    let class = c
        .classes
        .first()
        .cloned()
        .unwrap_or_else(|| DeviceId::from_uuid([0; 16]));
    let hardware = c
        .hardware
        .first()
        .cloned()
        .or_else(|| {
            c.hardware_ranges.first().map(|r| {
                // The smallest version a requirement names often matches it.
                let s = r.to_string();
                let digits: String = s
                    .chars()
                    .skip_while(|ch| !ch.is_ascii_digit())
                    .take_while(|ch| ch.is_ascii_digit() || *ch == '.')
                    .collect();
                let parts: Vec<&str> = digits.split('.').filter(|p| !p.is_empty()).collect();
                let mut p = parts.clone();
                while p.len() < 3 {
                    p.push("0");
                }
                p[..3].join(".")
            })
        })
        .unwrap_or_else(|| "1.0.0".to_owned());
    let base = DeviceState {
        vendor: c.vendor.clone(),
        class,
        hardware,
        installed: Vec::new(),
        security_counter: 0,
        last_sequence: None,
        now: m.issued_at,
        active_slot: Slot::A,
    };
    let with = |installed: Vec<Installed>| DeviceState {
        installed,
        ..base.clone()
    };
    let from_delta = m
        .components
        .iter()
        .filter_map(|c| {
            let d = c.deltas.first()?;
            Some(Installed {
                id: c.id.clone(),
                version: d.from_version.clone(),
                sha256: d.from_sha256,
            })
        })
        .collect();
    let unknown = m
        .components
        .iter()
        .map(|c| Installed {
            id: c.id.clone(),
            version: Version::new(1, 0, 0),
            sha256: Sha256([7; 32]),
        })
        .collect();
    let same = m
        .components
        .iter()
        .map(|c| Installed {
            id: c.id.clone(),
            version: c.version.clone(),
            sha256: c.sha256,
        })
        .collect();
    let old = m
        .components
        .iter()
        .map(|c| Installed {
            id: c.id.clone(),
            version: Version::parse("0.0.1-alpha").unwrap(),
            sha256: Sha256([9; 32]),
        })
        .collect();
    let mut twice: Vec<Installed> = same;
    if let Some(first) = twice.first().cloned() {
        twice.push(first);
    }
    let mut out = vec![
        base.clone(),
        with(from_delta),
        with(unknown),
        with(twice.iter().take(m.components.len()).cloned().collect()),
        with(old),
        with(twice),
        DeviceState {
            vendor: DeviceId::from_uuid([1; 16]),
            ..base.clone()
        },
        DeviceState {
            class: DeviceId::from_uuid([2; 16]),
            ..base.clone()
        },
        DeviceState {
            hardware: "no-such-rev".into(),
            ..base.clone()
        },
        DeviceState {
            hardware: "2.1.0".into(),
            ..base.clone()
        },
        DeviceState {
            now: m.expires_at.unwrap_or(u64::MAX),
            ..base.clone()
        },
        DeviceState {
            last_sequence: Some(m.sequence),
            ..base.clone()
        },
        DeviceState {
            last_sequence: Some(m.sequence.saturating_sub(1)),
            ..base.clone()
        },
        DeviceState {
            security_counter: m.security_counter.saturating_add(1),
            ..base.clone()
        },
    ];
    out.dedup();
    out
}

/// Every device of [`devices`] through both decisions; returns how many were compared.
pub fn decide_all(m: &Manifest, v: &ManifestView<'_>) -> usize {
    devices(m).iter().filter(|d| decide_both(m, v, d)).count()
}
