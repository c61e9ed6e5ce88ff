//! How an ota release is laid out among a TUF repository's targets.

use crate::error::{Error, Result};

/// The prefix of every target name this crate reads.
pub const TARGET_PREFIX: &str = "ota/";

/// The longest release name or component id accepted in a target name.
pub const MAX_NAME_LEN: usize = 128;

/// What one target of a release holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The signed ota envelope (COSE), target `ota/<release>/envelope`.
    Envelope,
    /// The full image of the component with this id, target `ota/<release>/components/<id>`.
    Component(String),
}

/// The target name of a release's signed envelope: `ota/<release>/envelope`.
///
/// # Errors
/// [`Error::InvalidName`] when `release` is not a valid name (see [`check_name`]).
pub fn envelope_target(release: &str) -> Result<String> {
    check_name(release)?;
    Ok(format!("{TARGET_PREFIX}{release}/envelope"))
}

/// The target name of a component's full image: `ota/<release>/components/<id>`.
///
/// # Errors
/// [`Error::InvalidName`] when `release` or `component` is not a valid name.
pub fn component_target(release: &str, component: &str) -> Result<String> {
    check_name(release)?;
    check_name(component)?;
    Ok(format!("{TARGET_PREFIX}{release}/components/{component}"))
}

/// Splits a target name into its release and part; `None` for targets outside the
/// convention (other software may share the repository) or with invalid names.
#[must_use]
pub fn parse_target(name: &str) -> Option<(String, Part)> {
    let rest = name.strip_prefix(TARGET_PREFIX)?;
    let (release, part) = rest.split_once('/')?;
    check_name(release).ok()?;
    let part = if part == "envelope" {
        Part::Envelope
    } else {
        let id = part.strip_prefix("components/")?;
        check_name(id).ok()?;
        Part::Component(id.to_owned())
    };
    Some((release.to_owned(), part))
}

/// Checks a release name or component id for use in a target name: 1 to [`MAX_NAME_LEN`]
/// bytes of ASCII letters, digits, `.`, `_`, `-`, `+`, not starting with `.` (so no `..`
/// and no hidden files).
///
/// # Errors
/// [`Error::InvalidName`] with the reason.
pub fn check_name(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidName {
            name: name.chars().take(MAX_NAME_LEN).collect(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("longer than 128 bytes");
    }
    if name.starts_with('.') {
        return bad("starts with '.'");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
    {
        return bad("only ASCII letters, digits, '.', '_', '-', '+' are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let e = envelope_target("fw-2.0").unwrap();
        assert_eq!(e, "ota/fw-2.0/envelope");
        assert_eq!(parse_target(&e), Some(("fw-2.0".into(), Part::Envelope)));
        let c = component_target("fw-2.0", "app").unwrap();
        assert_eq!(c, "ota/fw-2.0/components/app");
        assert_eq!(
            parse_target(&c),
            Some(("fw-2.0".into(), Part::Component("app".into())))
        );
    }

    #[test]
    fn foreign_and_unsafe_names_are_not_releases() {
        for name in [
            "other/x",
            "ota/x",
            "ota/../envelope",
            "ota/r/components/../x",
            "ota/r/components/a/b",
            "ota/r/other",
            "ota//envelope",
            "ota/.r/envelope",
        ] {
            assert_eq!(parse_target(name), None, "{name}");
        }
        assert!(envelope_target("a/b").is_err());
        assert!(component_target("r", "..").is_err());
        assert!(check_name(&"a".repeat(129)).is_err());
        assert!(check_name(&"a".repeat(128)).is_ok());
    }
}
