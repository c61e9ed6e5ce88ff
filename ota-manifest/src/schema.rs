//! The wire schema (FORMAT.md): the integer keys of the release and component maps, and where
//! extension values sit in the document. Shared by the encoder, the decoder and the checks.

/// Field keys of the release map (FORMAT.md).
pub(crate) mod key {
    pub const FORMAT: u64 = 0;
    pub const NAME: u64 = 1;
    pub const VERSION: u64 = 2;
    pub const SEQUENCE: u64 = 3;
    pub const SECURITY_COUNTER: u64 = 4;
    pub const ISSUED_AT: u64 = 5;
    pub const EXPIRES_AT: u64 = 6;
    pub const NOTES_URI: u64 = 7;
    pub const VENDOR: u64 = 8;
    pub const CLASSES: u64 = 9;
    pub const HARDWARE: u64 = 10;
    pub const HARDWARE_RANGES: u64 = 11;
    pub const COMPONENTS: u64 = 12;
    pub const SUPPORT_ENDS_AT: u64 = 13;
    pub const MAX_SECURITY_DEFERRAL: u64 = 14;
}

/// Field keys of the component map (FORMAT.md).
pub(crate) mod ckey {
    pub const ID: u64 = 0;
    pub const LAYER: u64 = 1;
    pub const VERSION: u64 = 2;
    pub const UPGRADE_FROM: u64 = 3;
    pub const SIZE: u64 = 4;
    pub const SHA256: u64 = 5;
    pub const CHUNK_SIZE: u64 = 6;
    pub const CHUNK_SHA256: u64 = 7;
    pub const DELTAS: u64 = 8;
    pub const DEPENDENCIES: u64 = 9;
    pub const ORDER: u64 = 10;
    pub const SBOM: u64 = 11;
    pub const URIS: u64 = 12;
    pub const IMAGE: u64 = 13;
    pub const UPDATE_CLASS: u64 = 14;
    pub const CVES: u64 = 15;
}

/// Depth of the values of top-level extensions (the release map is depth 1).
pub(crate) const RELEASE_EXT_DEPTH: usize = 2;
/// Depth of component extension values: release map, components array, component map, value.
pub(crate) const COMPONENT_EXT_DEPTH: usize = 4;

/// The longest vendor or device class id the format allows (bytes).
pub const MAX_ID_BYTES: usize = 64;

/// The longest sequence number of a CVE id, in digits (fits a `u64`).
const MAX_CVE_SEQUENCE_DIGITS: usize = 19;

fn all_digits(p: &str) -> bool {
    !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
}

/// The syntax of a fixed CVE id (component key 15, FORMAT.md): `CVE-` + a four-digit year from
/// 1999 + `-` + 4 to 19 digits, no leading zero beyond four digits. Shared by the std model and
/// the no_std view, so both accept exactly the same ids.
pub(crate) fn is_cve(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    let year_ok = year.len() == 4 && all_digits(year) && year >= "1999";
    let number_ok = (4..=MAX_CVE_SEQUENCE_DIGITS).contains(&number.len())
        && all_digits(number)
        && !(number.len() > 4 && number.starts_with('0'));
    year_ok && number_ok
}

/// The syntax of an SBOM format name `STANDARD-VERSION+ENCODING` (component key 11, FORMAT.md):
/// the standard an ASCII letter then letters and digits (1..=32), the version 1 to 3
/// dot-separated decimal numbers without leading zeros (1..=5 digits each), the encoding
/// lowercase letters, digits and `-`, not starting with `-` (1..=16). Shared by the std model and
/// the no_std view.
pub(crate) fn is_sbom_format_name(s: &str) -> bool {
    let Some((standard, rest)) = s.split_once('-') else {
        return false;
    };
    let Some((version, encoding)) = rest.split_once('+') else {
        return false;
    };
    let standard_ok = (1..=32).contains(&standard.len())
        && standard
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
        && standard.bytes().all(|b| b.is_ascii_alphanumeric());
    let version_ok = version.split('.').count() <= 3
        && version.split('.').all(|p| {
            (1..=5).contains(&p.len()) && all_digits(p) && !(p.len() > 1 && p.starts_with('0'))
        });
    let encoding_ok = (1..=16).contains(&encoding.len())
        && !encoding.starts_with('-')
        && encoding
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    standard_ok && version_ok && encoding_ok
}
