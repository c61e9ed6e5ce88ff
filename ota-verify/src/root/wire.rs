//! The canonical CBOR encoding of a trust root (FORMAT.md): one encoding per trust root, so its
//! signature covers exactly one meaning.

use ota_cbor::{CountSink, SliceSink, write_array, write_bytes, write_map, write_text, write_uint};

use super::{MAX_KEYS, MAX_ROLES, Role, RoleKeys, TRUST_ROOT_TYPE, TrustRoot};
use crate::cbor::{Reader, Sink};
#[cfg(feature = "alloc")]
use crate::cose::{CONTENT_TYPE_TRUST_ROOT, ContentType};
use crate::error::{Error, Result};
use crate::key::{KeyId, PublicKey};

impl TrustRoot {
    /// Writes the canonical CBOR encoding (see FORMAT.md).
    fn encode<S: Sink + ?Sized>(&self, s: &mut S) {
        write_map(s, 5);
        write_uint(s, 0);
        write_text(s, TRUST_ROOT_TYPE);
        write_uint(s, 1);
        write_uint(s, self.version);
        write_uint(s, 2);
        write_uint(s, self.expires);
        write_uint(s, 3);
        write_array(s, self.key_count);
        for k in self.keys() {
            write_bytes(s, &k.to_bytes());
        }
        write_uint(s, 4);
        write_array(s, self.role_count);
        for r in self.roles() {
            write_array(s, 3);
            write_uint(s, u64::from(r.role.0));
            write_uint(s, u64::from(r.threshold));
            write_array(s, r.members.count_ones() as usize);
            for i in 0..MAX_KEYS {
                if r.members & (1 << i) != 0 {
                    write_uint(s, i as u64);
                }
            }
        }
    }

    /// Length of the canonical encoding.
    pub fn encoded_len(&self) -> usize {
        let mut c = CountSink(0);
        self.encode(&mut c);
        c.0
    }

    /// Writes the canonical encoding into `buf` and returns its length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] with the length needed.
    pub fn encode_into(&self, buf: &mut [u8]) -> Result<usize> {
        let mut s = SliceSink::new(buf);
        self.encode(&mut s);
        match s.written() {
            Some(w) => Ok(w.len()),
            None => Err(Error::BufferTooSmall { needed: s.needed() }),
        }
    }

    /// The canonical encoding.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec::Vec::with_capacity(self.encoded_len());
        self.encode(&mut v);
        v
    }

    /// Decodes the canonical encoding (unsigned). Anything not canonical is refused: a trust
    /// root has exactly one encoding, so its signature covers exactly one meaning.
    ///
    /// # Errors
    /// [`Error::Malformed`] with the byte offset, [`Error::LimitExceeded`],
    /// [`Error::InvalidKey`], [`Error::InvalidTrustRoot`].
    pub fn decode(bytes: &[u8]) -> Result<TrustRoot> {
        let mut root = TrustRoot::EMPTY;
        root.decode_in(bytes)?;
        Ok(root)
    }

    /// [`TrustRoot::decode`] into `self`, without a copy of the root. On error `self` is
    /// [`TrustRoot::EMPTY`] (it verifies nothing).
    pub(crate) fn decode_in(&mut self, bytes: &[u8]) -> Result<()> {
        let result = self.decode_fields(bytes);
        if result.is_err() {
            self.clear();
        }
        result
    }

    fn decode_fields(&mut self, bytes: &[u8]) -> Result<()> {
        self.clear();
        let mut r = Reader::new(bytes);
        let at = r.offset();
        if r.map()? != 5 {
            return Err(Error::Malformed {
                offset: at,
                reason: "trust root must be a map of 5 entries",
            });
        }
        map_key(&mut r, 0)?;
        let at = r.offset();
        if r.tstr()? != TRUST_ROOT_TYPE {
            return Err(Error::Malformed {
                offset: at,
                reason: "not a trust root (type marker)",
            });
        }
        map_key(&mut r, 1)?;
        self.version = r.uint()?;
        map_key(&mut r, 2)?;
        self.expires = r.uint()?;
        map_key(&mut r, 3)?;
        self.key_count = read_keys(&mut r, &mut self.keys)?;
        map_key(&mut r, 4)?;
        self.role_count = read_roles(&mut r, self.key_count, &mut self.roles)?;
        r.finish()?;
        self.validate()?;
        // Belt and braces: the rules above make the encoding unique; check it byte for byte.
        let mut cmp = CompareSink {
            expected: bytes,
            pos: 0,
            equal: true,
        };
        self.encode(&mut cmp);
        if !cmp.equal || cmp.pos != bytes.len() {
            return Err(Error::Malformed {
                offset: 0,
                reason: "trust root is not in canonical encoding",
            });
        }
        Ok(())
    }

    /// Signs this trust root into a COSE_Sign with one signature per signer (alloc).
    /// For a rotation, pass a threshold of the previous root's root keys and of this one's.
    ///
    /// # Errors
    /// As [`crate::sign`].
    #[cfg(feature = "alloc")]
    pub fn sign(&self, signers: &[&dyn crate::Signer]) -> Result<alloc::vec::Vec<u8>> {
        let payload = self.to_vec();
        let opts = crate::SignOptions {
            content_type: Some(ContentType::Text(CONTENT_TYPE_TRUST_ROOT)),
            ..crate::SignOptions::default()
        };
        crate::sign(&payload, signers, &opts)
    }
}

/// Reads map key `want` of the trust root (its keys are exactly 0, 1, 2, 3, 4 in this order).
fn map_key(r: &mut Reader<'_>, want: u64) -> Result<()> {
    let at = r.offset();
    if r.uint()? == want {
        Ok(())
    } else {
        Err(Error::Malformed {
            offset: at,
            reason: "trust root map keys must be 0, 1, 2, 3, 4 in order",
        })
    }
}

/// Reads the key list (1 to [`MAX_KEYS`] raw keys in strictly ascending key id order) into
/// `keys` and returns how many there are.
fn read_keys(r: &mut Reader<'_>, keys: &mut [Option<PublicKey>; MAX_KEYS]) -> Result<usize> {
    let at = r.offset();
    let key_count = r.array()?;
    if key_count > MAX_KEYS {
        return Err(Error::LimitExceeded {
            what: "keys in a trust root",
            limit: MAX_KEYS,
        });
    }
    if key_count == 0 {
        return Err(Error::Malformed {
            offset: at,
            reason: "trust root has no keys",
        });
    }
    let mut prev: Option<KeyId> = None;
    for slot in keys.iter_mut().take(key_count) {
        let at = r.offset();
        let raw: &[u8; 32] = r.bstr()?.try_into().map_err(|_| Error::Malformed {
            offset: at,
            reason: "public key is not 32 bytes",
        })?;
        let pk = PublicKey::from_bytes(raw)?;
        if prev.is_some_and(|p| p >= pk.key_id()) {
            return Err(Error::Malformed {
                offset: at,
                reason: "keys not in strictly ascending key id order",
            });
        }
        prev = Some(pk.key_id());
        *slot = Some(pk);
    }
    Ok(key_count)
}

/// Reads the role list (at most [`MAX_ROLES`], in strictly ascending role order) into `roles`
/// and returns how many there are.
fn read_roles(
    r: &mut Reader<'_>,
    key_count: usize,
    roles: &mut [Option<RoleKeys>; MAX_ROLES],
) -> Result<usize> {
    let role_count = r.array()?;
    if role_count > MAX_ROLES {
        return Err(Error::LimitExceeded {
            what: "roles in a trust root",
            limit: MAX_ROLES,
        });
    }
    let mut prev_role: Option<u64> = None;
    for slot in roles.iter_mut().take(role_count) {
        let at = r.offset();
        if r.array()? != 3 {
            return Err(Error::Malformed {
                offset: at,
                reason: "role must be [role, threshold, [key index...]]",
            });
        }
        let at = r.offset();
        let role = r.uint()?;
        if prev_role.is_some_and(|p| p >= role) {
            return Err(Error::Malformed {
                offset: at,
                reason: "roles not in strictly ascending order",
            });
        }
        prev_role = Some(role);
        let role = u8::try_from(role).map_err(|_| Error::Malformed {
            offset: at,
            reason: "role number above 255",
        })?;
        let at = r.offset();
        let threshold = u8::try_from(r.uint()?).map_err(|_| Error::Malformed {
            offset: at,
            reason: "threshold above 255",
        })?;
        *slot = Some(RoleKeys {
            role: Role(role),
            threshold,
            members: read_members(r, key_count)?,
        });
    }
    Ok(role_count)
}

/// Reads a role's key indices (strictly ascending, each below `key_count`) as a bit set.
fn read_members(r: &mut Reader<'_>, key_count: usize) -> Result<u16> {
    let n = r.array()?;
    if n > key_count {
        return Err(Error::LimitExceeded {
            what: "keys in a role",
            limit: key_count,
        });
    }
    let mut members = 0u16;
    let mut prev_idx: Option<u64> = None;
    for _ in 0..n {
        let at = r.offset();
        let idx = r.uint()?;
        if idx >= key_count as u64 || prev_idx.is_some_and(|p| p >= idx) {
            return Err(Error::Malformed {
                offset: at,
                reason: "key index out of range or not strictly ascending",
            });
        }
        prev_idx = Some(idx);
        members |= 1 << idx;
    }
    Ok(members)
}

/// Compares what would be written with an existing encoding, byte by byte, without a buffer.
struct CompareSink<'b> {
    expected: &'b [u8],
    pos: usize,
    equal: bool,
}

impl Sink for CompareSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        if self.expected.get(self.pos..end) != Some(bytes) {
            self.equal = false;
        }
        self.pos = end;
    }
}
