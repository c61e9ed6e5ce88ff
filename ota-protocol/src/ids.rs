//! Validated identifiers: SHA-256 digests and job ids.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{DecodeError, Error, Result};
use crate::limits::MAX_JOB_ID_BYTES;

/// A SHA-256 digest (an image's, an envelope's, a delta's source). Lowercase hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// The 32 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    #[must_use]
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(hex_digit(b >> 4));
            s.push(hex_digit(b & 0xf));
        }
        s
    }

    /// Parses exactly 64 hex digits (either case).
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::BadDigest`].
    pub fn from_hex(s: &str) -> Result<Self> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return Err(Error::field(DecodeError::BadDigest));
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
            let (Some(hi), Some(lo)) = (
                pair.first().and_then(|c| hex_value(*c)),
                pair.get(1).and_then(|c| hex_value(*c)),
            ) else {
                return Err(Error::field(DecodeError::BadDigest));
            };
            *o = hi << 4 | lo;
        }
        Ok(Self(out))
    }
}

fn hex_digit(v: u8) -> char {
    char::from(
        b"0123456789abcdef"
            .get(usize::from(v))
            .copied()
            .unwrap_or(b'0'),
    )
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl TryFrom<&[u8]> for Sha256 {
    type Error = Error;
    fn try_from(b: &[u8]) -> Result<Self> {
        <[u8; 32]>::try_from(b)
            .map(Self)
            .map_err(|_| Error::field(DecodeError::BadDigest))
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Sha256::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// A job id: 1 to 64 characters of `A-Z a-z 0-9 _ -` (AWS IoT Jobs' rule). It becomes a level of
/// an MQTT topic (`.../jobs/{jobId}/update`), so `/`, `+`, `#` and anything else are refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

impl JobId {
    /// Checks and wraps `id`.
    ///
    /// # Errors
    /// [`Error::Decode`] with [`DecodeError::BadJobId`].
    pub fn new(id: &str) -> Result<Self> {
        if is_job_id(id) {
            Ok(Self(id.to_owned()))
        } else {
            Err(Error::field(DecodeError::BadJobId))
        }
    }

    /// The id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// True if `id` is a valid [`JobId`].
pub(crate) fn is_job_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_JOB_ID_BYTES
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

impl TryFrom<String> for JobId {
    type Error = Error;
    fn try_from(id: String) -> Result<Self> {
        if is_job_id(&id) {
            Ok(Self(id))
        } else {
            Err(Error::field(DecodeError::BadJobId))
        }
    }
}

impl From<JobId> for String {
    fn from(id: JobId) -> String {
        id.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_refusals() {
        let d = Sha256([0xab; 32]);
        assert_eq!(Sha256::from_hex(&d.to_hex()).unwrap(), d);
        assert_eq!(Sha256::from_hex(&d.to_hex().to_uppercase()).unwrap(), d);
        assert!(Sha256::from_hex(&"ab".repeat(31)).is_err());
        assert!(Sha256::from_hex(&format!("{}zz", "ab".repeat(31))).is_err());
        assert!(Sha256::try_from(&[0u8; 31][..]).is_err());
    }

    #[test]
    fn job_ids_that_would_break_topics_are_refused() {
        assert!(JobId::new("fw-2_0").is_ok());
        assert!(JobId::new(&"a".repeat(64)).is_ok());
        for bad in ["", "a/b", "a+b", "a#", "a b", "é", &"a".repeat(65)] {
            assert!(JobId::new(bad).is_err(), "{bad:?}");
        }
    }
}
