//! Digest and id newtypes, and the hex used by the JSON form.

use std::fmt;

use sha2::Digest as _;

use crate::error::{DecodeError, Error};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// The digest of `data`.
    #[must_use]
    pub fn of(data: &[u8]) -> Self {
        Self(sha2::Sha256::digest(data).into())
    }

    /// The 32 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    #[must_use]
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    /// Parses 64 hex digits (either case).
    ///
    /// # Errors
    /// [`Error::Field`] with [`DecodeError::BadHex`] or [`DecodeError::BadDigestLength`].
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        let v = from_hex(s).ok_or_else(|| field_err(DecodeError::BadHex))?;
        Self::try_from(v.as_slice())
    }
}

impl TryFrom<&[u8]> for Sha256 {
    type Error = Error;
    fn try_from(b: &[u8]) -> Result<Self, Error> {
        <[u8; 32]>::try_from(b)
            .map(Self)
            .map_err(|_| field_err(DecodeError::BadDigestLength(b.len())))
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

/// A vendor or device class identifier: 1 to 64 bytes (a 16-byte UUID, as SUIT uses).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(Vec<u8>);

pub use crate::schema::MAX_ID_BYTES;

impl DeviceId {
    /// An id from raw bytes.
    ///
    /// # Errors
    /// [`Error::Field`] with [`DecodeError::BadLength`] if empty or longer than [`MAX_ID_BYTES`].
    pub fn new(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.is_empty() || bytes.len() > MAX_ID_BYTES {
            return Err(field_err(DecodeError::BadLength(bytes.len())));
        }
        Ok(Self(bytes.to_vec()))
    }

    /// An id from a 16-byte UUID.
    #[must_use]
    pub fn from_uuid(uuid: [u8; 16]) -> Self {
        Self(uuid.to_vec())
    }

    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Parses hex (either case); 2 to 128 digits.
    ///
    /// # Errors
    /// As [`DeviceId::new`], or [`DecodeError::BadHex`].
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        if s.len() > 2 * MAX_ID_BYTES {
            return Err(field_err(DecodeError::BadLength(s.len() / 2)));
        }
        let v = from_hex(s).ok_or_else(|| field_err(DecodeError::BadHex))?;
        Self::new(&v)
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({})", to_hex(&self.0))
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

fn field_err(kind: DecodeError) -> Error {
    Error::Field {
        field: String::new(),
        kind,
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Bytes from hex (either case), `None` on an odd length or a non-hex digit.
pub(crate) fn from_hex(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

mod serde_impls {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

    use super::{DeviceId, Sha256};

    impl Serialize for Sha256 {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&self.to_hex())
        }
    }
    impl<'de> Deserialize<'de> for Sha256 {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            Sha256::from_hex(&s)
                .map_err(|_| D::Error::custom("expected a SHA-256 digest: 64 hex digits"))
        }
    }
    impl Serialize for DeviceId {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&super::to_hex(&self.0))
        }
    }
    impl<'de> Deserialize<'de> for DeviceId {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            DeviceId::from_hex(&s)
                .map_err(|_| D::Error::custom("expected an id: 1 to 64 bytes in hex"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS 180-2 / NIST example: SHA-256("abc").
    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            Sha256::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        assert_eq!(from_hex("00ffA0").unwrap(), vec![0, 255, 160]);
        assert_eq!(to_hex(&[0, 255, 160]), "00ffa0");
        assert!(from_hex("0").is_none());
        assert!(from_hex("zz").is_none());
        assert!(Sha256::from_hex("00").is_err());
        assert!(DeviceId::new(&[]).is_err());
        assert!(DeviceId::new(&[0; 65]).is_err());
        assert!(DeviceId::new(&[0; 64]).is_ok());
    }
}
