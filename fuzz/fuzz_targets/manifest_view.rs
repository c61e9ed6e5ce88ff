#![no_main]
//! The no_std `ManifestView` against the std decoder on arbitrary bytes: both accept or both
//! refuse at the same offset; what both accept has the same fields; and the view's decision gives
//! the std plan's outcome for a device derived from the manifest (dependency refusals aside,
//! which the view does not read).

use libfuzzer_sys::fuzz_target;
use ota_manifest::semver::Version;
use ota_manifest::{
    Action, DecodeError, DeviceState, DeviceView, Error, Installed, InstalledView, Manifest,
    ManifestView, Problem, Rule, Sha256, Slot, VersionView, ViewAction, ViewErrorKind as K,
    ViewRule,
};

fuzz_target!(|data: &[u8]| {
    let std = Manifest::from_cbor(data);
    let view = ManifestView::parse(data);
    let (m, v) = match (std, view) {
        (Ok(m), Ok(v)) => (m, v),
        (Err(e), Err(ve)) => {
            same_error(&e, ve.offset, ve.kind);
            return;
        }
        (s, w) => panic!("std {s:?}, view {w:?}"),
    };
    assert_eq!(v.sequence(), m.sequence);
    assert_eq!(v.expires_at(), m.expires_at);
    assert_eq!(v.vendor(), m.compatibility.vendor.as_bytes());
    assert_eq!(v.components().len(), m.components.len());
    for (c, s) in v.components().zip(&m.components) {
        assert_eq!(c.id(), s.id);
        assert_eq!(c.version().as_str(), s.version.to_string());
        assert_eq!(c.upgrade_from().as_str(), s.upgrade_from.to_string());
        assert_eq!((c.size(), c.sha256()), (s.size, s.sha256.as_bytes()));
        assert_eq!(
            c.chunk_count(),
            s.chunks.as_ref().map_or(0, |ch| ch.sha256.len())
        );
        assert_eq!(c.deltas().len(), s.deltas.len());
        for (d, sd) in c.deltas().zip(&s.deltas) {
            assert_eq!(d.from_version().as_str(), sd.from_version.to_string());
            assert_eq!(d.from_sha256(), sd.from_sha256.as_bytes());
        }
    }

    // A device of the release with each component installed at its first delta source (or an
    // unknown image at 1.0.0), on the first exact hardware revision.
    let installed: Vec<Installed> = m
        .components
        .iter()
        .map(|c| match c.deltas.first() {
            Some(d) => Installed {
                id: c.id.clone(),
                version: d.from_version.clone(),
                sha256: d.from_sha256,
            },
            None => Installed {
                id: c.id.clone(),
                version: Version::new(1, 0, 0),
                sha256: Sha256([0; 32]),
            },
        })
        .collect();
    let Some(class) = m.compatibility.classes.first().cloned() else {
        return;
    };
    let device = DeviceState {
        vendor: m.compatibility.vendor.clone(),
        class,
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
    let texts: Vec<String> = device
        .installed
        .iter()
        .map(|i| i.version.to_string())
        .collect();
    let views: Vec<InstalledView<'_>> = device
        .installed
        .iter()
        .zip(&texts)
        .map(|(i, t)| InstalledView {
            id: &i.id,
            version: VersionView::parse(t).expect("semver prints a canonical version"),
            sha256: i.sha256.0,
        })
        .collect();
    let dv = DeviceView {
        vendor: device.vendor.as_bytes(),
        class: device.class.as_bytes(),
        hardware: &device.hardware,
        installed: &views,
        security_counter: 0,
        last_sequence: None,
        now: device.now,
    };
    match (m.plan(&device), v.decide(&dv)) {
        (Err(r), _)
            if matches!(
                r.rule,
                Rule::UnmetDependency { .. }
                    | Rule::DuplicateInstalled
                    | Rule::Invalid(
                        Problem::DependencyCycle(_)
                            | Problem::SelfDependency
                            | Problem::DuplicateDependency(_)
                            | Problem::DependencyVersionMismatch { .. }
                    )
            ) => {}
        (Ok(plan), Ok(())) => {
            for c in v.components() {
                let step = plan
                    .steps
                    .iter()
                    .find(|s| s.component == c.id())
                    .expect("a step");
                match (&step.action, v.action(&c, &dv).expect("decided")) {
                    (Action::Skip, ViewAction::Skip)
                    | (Action::Full { .. }, ViewAction::Full { .. }) => {}
                    (Action::Delta(sd), ViewAction::Delta(d)) => {
                        assert_eq!(d.patch_sha256(), sd.patch_sha256.as_bytes());
                    }
                    (s, a) => panic!("std {s:?}, view {a:?}"),
                }
            }
        }
        (Err(r), Err(vr)) => {
            let same = matches!(
                (&r.rule, vr.rule),
                (Rule::Invalid(_), ViewRule::Invalid(_))
                    | (Rule::WrongVendor, ViewRule::WrongVendor)
                    | (Rule::WrongClass, ViewRule::WrongClass)
                    | (Rule::WrongHardware { .. }, ViewRule::WrongHardware)
                    | (Rule::Expired { .. }, ViewRule::Expired { .. })
                    | (
                        Rule::OutsideUpgradePath { .. },
                        ViewRule::OutsideUpgradePath
                    )
            );
            assert!(same, "std {r:?}, view {vr:?}");
        }
        (s, w) => panic!("std {s:?}, view {w:?}"),
    }
});

fn same_error(e: &Error, offset: usize, kind: K) {
    let (o, ok) = match e {
        Error::TooLarge { max, .. } => (*max, kind == K::TooLarge),
        Error::TooDeep { offset, .. } => (*offset, kind == K::TooDeep),
        Error::LimitExceeded {
            offset: Some(o),
            limit,
            count,
            ..
        } => (
            *o,
            kind == K::Limit {
                limit: *limit,
                count: *count,
            },
        ),
        Error::Decode {
            offset, kind: d, ..
        } => (
            *offset,
            match d {
                DecodeError::Truncated => kind == K::Truncated,
                DecodeError::TrailingBytes(n) => kind == K::TrailingBytes(*n),
                DecodeError::DuplicateKey => kind == K::DuplicateKey,
                DecodeError::UnsortedKey => kind == K::UnsortedKey,
                DecodeError::NonShortest => kind == K::NonShortest,
                DecodeError::IndefiniteLength => kind == K::IndefiniteLength,
                DecodeError::UnexpectedBreak => kind == K::UnexpectedBreak,
                DecodeError::Reserved(i) => kind == K::Reserved(*i),
                DecodeError::Float => kind == K::Float,
                DecodeError::UnsupportedSimple(s) => kind == K::UnsupportedSimple(*s),
                DecodeError::WrongType { .. } => kind == K::WrongType,
                DecodeError::UnknownMandatoryField(k) => kind == K::UnknownField(*k),
                DecodeError::MissingField => matches!(kind, K::MissingField(_)),
                DecodeError::InvalidUtf8 => kind == K::InvalidUtf8,
                DecodeError::UnsupportedFormatVersion(v) => kind == K::UnsupportedFormatVersion(*v),
                DecodeError::BadSemver(_) => kind == K::BadVersion,
                DecodeError::NonCanonical(w) if w.contains("version") => kind == K::BadVersion,
                DecodeError::NonCanonical(_) => kind == K::NonCanonical,
                DecodeError::BadDigestLength(n) => kind == K::BadDigestLength(*n),
                DecodeError::BadLength(n) => kind == K::BadLength(*n),
                DecodeError::OutOfRange(_) => kind == K::OutOfRange,
                _ => false,
            },
        ),
        _ => (usize::MAX, false),
    };
    assert!(ok && o == offset, "std {e}, view {kind:?} at {offset}");
}
