//! Versions and version requirements without `semver` and without allocation: the canonical
//! spellings the std decoder accepts (what `semver` parses and prints back unchanged), and
//! `semver`'s precedence and matching rules, re-implemented on borrowed text.
//!
//! Canonical spellings (FORMAT.md rule 5):
//! - version: `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, numbers without leading zeros that fit `u64`,
//!   identifiers of `[0-9A-Za-z-]`, not empty, numeric pre-release identifiers without leading
//!   zeros (build identifiers may have them);
//! - requirement: `*`, or 1 to 32 comparators joined by `", "`, each `OP MAJOR[.MINOR[.PATCH[-PRE]]]`
//!   with `OP` one of `= > >= < <= ~ ^`, or a wildcard `MAJOR.*` / `MAJOR.MINOR.*`.

use core::cmp::Ordering;

/// At most this many comparators in a requirement (semver's limit).
const MAX_COMPARATORS: usize = 32;

/// A version in its canonical spelling, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionView<'a> {
    text: &'a str,
    major: u64,
    minor: u64,
    patch: u64,
    pre: &'a str,
    build: &'a str,
}

/// A version requirement in its canonical spelling, borrowed; see [`ReqView::matches`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReqView<'a> {
    text: &'a str,
}

/// The operator of a comparator (`Wildcard` is `1.*` / `1.2.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Exact,
    Greater,
    GreaterEq,
    Less,
    LessEq,
    Tilde,
    Caret,
    Wildcard,
}

#[derive(Debug, Clone, Copy)]
struct Comparator<'a> {
    op: Op,
    major: u64,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: &'a str,
}

/// A number without a leading zero that fits `u64`; returns it and the rest.
fn number(s: &str) -> Option<(u64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (d, rest) = s.split_at_checked(digits)?;
    if d.is_empty() || (d.len() > 1 && d.starts_with('0')) {
        return None;
    }
    let mut v = 0u64;
    for b in d.bytes() {
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some((v, rest))
}

/// Dot-separated identifiers of `[0-9A-Za-z-]`, none empty; with `pre`, numeric identifiers have
/// no leading zero. Returns the identifiers and the rest.
fn identifiers(s: &str, pre: bool) -> Option<(&str, &str)> {
    let len = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
        .count();
    let (ids, rest) = s.split_at_checked(len)?;
    for id in ids.split('.') {
        let numeric = id.bytes().all(|b| b.is_ascii_digit());
        if id.is_empty() || (pre && numeric && id.len() > 1 && id.starts_with('0')) {
            return None;
        }
    }
    Some((ids, rest))
}

impl<'a> VersionView<'a> {
    /// `0.0.0`.
    pub(crate) const ZERO: VersionView<'static> = VersionView {
        text: "0.0.0",
        major: 0,
        minor: 0,
        patch: 0,
        pre: "",
        build: "",
    };

    /// Parses a version in its canonical spelling (what `semver::Version::parse` accepts: it
    /// prints every version it parses back unchanged).
    #[must_use]
    pub fn parse(text: &'a str) -> Option<Self> {
        let (major, s) = number(text)?;
        let (minor, s) = number(s.strip_prefix('.')?)?;
        let (patch, mut s) = number(s.strip_prefix('.')?)?;
        let mut pre = "";
        let mut build = "";
        if let Some(rest) = s.strip_prefix('-') {
            (pre, s) = identifiers(rest, true)?;
        }
        if let Some(rest) = s.strip_prefix('+') {
            (build, s) = identifiers(rest, false)?;
        }
        s.is_empty().then_some(Self {
            text,
            major,
            minor,
            patch,
            pre,
            build,
        })
    }

    /// The text, as written.
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        self.text
    }
    /// The major version.
    #[must_use]
    pub fn major(&self) -> u64 {
        self.major
    }
    /// The minor version.
    #[must_use]
    pub fn minor(&self) -> u64 {
        self.minor
    }
    /// The patch version.
    #[must_use]
    pub fn patch(&self) -> u64 {
        self.patch
    }
    /// The pre-release identifiers, `""` for none.
    #[must_use]
    pub fn pre(&self) -> &'a str {
        self.pre
    }
    /// The build metadata, `""` for none.
    #[must_use]
    pub fn build(&self) -> &'a str {
        self.build
    }

    /// `semver::Version`'s total order: major, minor, patch, then pre-release precedence (a
    /// release above its pre-releases), then build metadata (which SemVer precedence ignores;
    /// `semver` orders by it last so that the order is total).
    #[must_use]
    pub fn cmp_semver(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| cmp_pre(self.pre, other.pre))
            .then_with(|| cmp_build(self.build, other.build))
    }
}

/// Pre-release precedence (SemVer 2.0 §11): none above any; then identifier by identifier,
/// numeric ones numerically and below alphanumeric ones, which compare in ASCII order; a longer
/// list above its prefix.
fn cmp_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    cmp_identifiers(a, b, |x, y| x.len().cmp(&y.len()).then_with(|| x.cmp(y)))
}

/// Build metadata order as `semver` defines it: numeric identifiers by value, then by length
/// (leading zeros allowed there), below alphanumeric ones.
fn cmp_build(a: &str, b: &str) -> Ordering {
    if a.is_empty() || b.is_empty() {
        return (!a.is_empty()).cmp(&!b.is_empty());
    }
    cmp_identifiers(a, b, |x, y| {
        let (xv, yv) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
        xv.len()
            .cmp(&yv.len())
            .then_with(|| xv.cmp(yv))
            .then(x.len().cmp(&y.len()))
    })
}

fn cmp_identifiers(a: &str, b: &str, numeric: impl Fn(&str, &str) -> Ordering) -> Ordering {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mut rhs = b.split('.');
    for l in a.split('.') {
        let Some(r) = rhs.next() else {
            return Ordering::Greater;
        };
        let o = match (digits(l), digits(r)) {
            (true, true) => numeric(l, r),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => l.cmp(r),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    if rhs.next().is_some() {
        Ordering::Less
    } else {
        Ordering::Equal
    }
}

/// One canonical comparator at the start of `s`; returns it and the rest.
fn comparator(s: &str) -> Option<(Comparator<'_>, &str)> {
    let (op, s) = [
        (">=", Op::GreaterEq),
        ("<=", Op::LessEq),
        ("=", Op::Exact),
        (">", Op::Greater),
        ("<", Op::Less),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ]
    .iter()
    .find_map(|(p, op)| s.strip_prefix(p).map(|rest| (*op, rest)))
    .unwrap_or((Op::Wildcard, s));
    let (major, s) = number(s)?;
    let mut c = Comparator {
        op,
        major,
        minor: None,
        patch: None,
        pre: "",
    };
    if op == Op::Wildcard {
        // `1.*` or `1.2.*`: the only canonical comparators without an operator.
        if let Some(rest) = s.strip_prefix(".*") {
            return Some((c, rest));
        }
        let (minor, s) = number(s.strip_prefix('.')?)?;
        c.minor = Some(minor);
        return Some((c, s.strip_prefix(".*")?));
    }
    let Some(s) = s.strip_prefix('.') else {
        return Some((c, s));
    };
    let (minor, s) = number(s)?;
    c.minor = Some(minor);
    let Some(s) = s.strip_prefix('.') else {
        return Some((c, s));
    };
    let (patch, mut s) = number(s)?;
    c.patch = Some(patch);
    if let Some(rest) = s.strip_prefix('-') {
        (c.pre, s) = identifiers(rest, true)?;
    }
    Some((c, s))
}

/// The comparators of a requirement already checked by [`ReqView::parse`].
struct Comparators<'a>(&'a str);

impl<'a> Iterator for Comparators<'a> {
    type Item = Comparator<'a>;
    fn next(&mut self) -> Option<Comparator<'a>> {
        if self.0.is_empty() || self.0 == "*" {
            return None;
        }
        let (c, rest) = comparator(self.0)?;
        self.0 = rest.strip_prefix(", ").unwrap_or("");
        Some(c)
    }
}

impl<'a> ReqView<'a> {
    /// `*`.
    pub(crate) const ANY: ReqView<'static> = ReqView { text: "*" };

    /// Parses a requirement in its canonical spelling (what `semver::VersionReq::parse` accepts
    /// and prints back unchanged).
    #[must_use]
    pub fn parse(text: &'a str) -> Option<Self> {
        if text == "*" {
            return Some(Self { text });
        }
        let mut s = text;
        for _ in 0..MAX_COMPARATORS {
            let (_, rest) = comparator(s)?;
            if rest.is_empty() {
                return Some(Self { text });
            }
            s = rest.strip_prefix(", ")?;
        }
        None
    }

    /// The text, as written.
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// Whether `v` satisfies the requirement, by `semver::VersionReq::matches`'s rules: every
    /// comparator matches, and a pre-release version only when a comparator with the same
    /// major.minor.patch names a pre-release.
    #[must_use]
    pub fn matches(&self, v: &VersionView<'_>) -> bool {
        if !Comparators(self.text).all(|c| c.matches(v)) {
            return false;
        }
        v.pre.is_empty()
            || Comparators(self.text).any(|c| {
                c.major == v.major
                    && c.minor == Some(v.minor)
                    && c.patch == Some(v.patch)
                    && !c.pre.is_empty()
            })
    }
}

impl Comparator<'_> {
    fn matches(&self, v: &VersionView<'_>) -> bool {
        match self.op {
            Op::Exact | Op::Wildcard => self.exact(v),
            Op::Greater => self.beyond(v, Ordering::Greater),
            Op::GreaterEq => self.exact(v) || self.beyond(v, Ordering::Greater),
            Op::Less => self.beyond(v, Ordering::Less),
            Op::LessEq => self.exact(v) || self.beyond(v, Ordering::Less),
            Op::Tilde => self.tilde(v),
            Op::Caret => self.caret(v),
        }
    }

    fn exact(&self, v: &VersionView<'_>) -> bool {
        v.major == self.major
            && self.minor.is_none_or(|m| v.minor == m)
            && self.patch.is_none_or(|p| v.patch == p)
            && v.pre == self.pre
    }

    /// `>` (`dir` Greater) or `<` (`dir` Less) over the parts the comparator names.
    fn beyond(&self, v: &VersionView<'_>, dir: Ordering) -> bool {
        if v.major != self.major {
            return v.major.cmp(&self.major) == dir;
        }
        let Some(minor) = self.minor else {
            return false;
        };
        if v.minor != minor {
            return v.minor.cmp(&minor) == dir;
        }
        let Some(patch) = self.patch else {
            return false;
        };
        if v.patch != patch {
            return v.patch.cmp(&patch) == dir;
        }
        cmp_pre(v.pre, self.pre) == dir
    }

    fn tilde(&self, v: &VersionView<'_>) -> bool {
        if v.major != self.major || self.minor.is_some_and(|m| v.minor != m) {
            return false;
        }
        if let Some(patch) = self.patch
            && v.patch != patch
        {
            return v.patch > patch;
        }
        cmp_pre(v.pre, self.pre) != Ordering::Less
    }

    fn caret(&self, v: &VersionView<'_>) -> bool {
        if v.major != self.major {
            return false;
        }
        let Some(minor) = self.minor else {
            return true;
        };
        let Some(patch) = self.patch else {
            return if self.major > 0 {
                v.minor >= minor
            } else {
                v.minor == minor
            };
        };
        if self.major > 0 {
            if v.minor != minor {
                return v.minor > minor;
            }
            if v.patch != patch {
                return v.patch > patch;
            }
        } else if minor > 0 {
            if v.minor != minor {
                return false;
            }
            if v.patch != patch {
                return v.patch > patch;
            }
        } else if v.minor != minor || v.patch != patch {
            return false;
        }
        cmp_pre(v.pre, self.pre) != Ordering::Less
    }
}
