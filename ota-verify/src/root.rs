//! Trust roots (in the spirit of TUF root metadata): keys, roles with k-of-n thresholds, a
//! version and an expiry, a canonical CBOR encoding, rotation, and the verification policy.

use core::fmt;

use crate::cbor::{self, CompareSink, CountSink, Reader, Sink, SliceSink};
use crate::cose::{CONTENT_TYPE_TRUST_ROOT, ContentType, Envelope};
use crate::error::{Error, Result};
use crate::key::{KeyId, PublicKey};

/// Most keys one trust root may name.
pub const MAX_KEYS: usize = 16;
/// Most roles one trust root may define.
pub const MAX_ROLES: usize = 8;
/// The type marker at map key 0 of every trust root (so no other CBOR document can pass for one).
pub const TRUST_ROOT_TYPE: &str = "ota-trust-root/1";

/// A role: which documents a set of keys may sign. `ROOT` signs trust roots, `RELEASE` signs
/// releases; other numbers are free for products (e.g. a `REPORT` role for device reports).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Role(pub u8);

impl Role {
    /// Signs trust roots (rotation).
    pub const ROOT: Role = Role(0);
    /// Signs releases.
    pub const RELEASE: Role = Role(1);
}

impl fmt::Debug for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Role::ROOT => f.write_str("Role::ROOT"),
            Role::RELEASE => f.write_str("Role::RELEASE"),
            Role(n) => write!(f, "Role({n})"),
        }
    }
}

/// One role's keys (a bit per key index of the trust root) and threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleKeys {
    role: Role,
    threshold: u8,
    members: u16,
}

impl RoleKeys {
    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Distinct keys needed.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// Keys in the role.
    pub fn key_count(&self) -> u32 {
        self.members.count_ones()
    }
}

/// A trust root. Built with [`TrustRoot::builder`], decoded with [`TrustRoot::decode`]
/// (unsigned canonical bytes) or [`TrustRoot::from_signed`] / [`TrustRoot::rotate`] (signed).
/// Fixed capacity, no allocation: usable on a microcontroller.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustRoot {
    version: u64,
    expires: u64,
    keys: [Option<PublicKey>; MAX_KEYS],
    key_count: usize,
    roles: [Option<RoleKeys>; MAX_ROLES],
    role_count: usize,
}

impl fmt::Debug for TrustRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustRoot")
            .field("version", &self.version)
            .field("expires", &self.expires)
            .field("keys", &self.keys().collect::<KeyList<'_>>())
            .field("roles", &self.roles().collect::<RoleList>())
            .finish()
    }
}

// Tiny Debug helpers that need no allocation.
struct KeyList<'a>([Option<&'a PublicKey>; MAX_KEYS]);
impl<'a> FromIterator<&'a PublicKey> for KeyList<'a> {
    fn from_iter<I: IntoIterator<Item = &'a PublicKey>>(iter: I) -> Self {
        let mut out = [None; MAX_KEYS];
        for (slot, k) in out.iter_mut().zip(iter) {
            *slot = Some(k);
        }
        Self(out)
    }
}
impl fmt::Debug for KeyList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().flatten()).finish()
    }
}
struct RoleList([Option<RoleKeys>; MAX_ROLES]);
impl FromIterator<RoleKeys> for RoleList {
    fn from_iter<I: IntoIterator<Item = RoleKeys>>(iter: I) -> Self {
        let mut out = [None; MAX_ROLES];
        for (slot, r) in out.iter_mut().zip(iter) {
            *slot = Some(r);
        }
        Self(out)
    }
}
impl fmt::Debug for RoleList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().flatten()).finish()
    }
}

/// Collects keys and roles, then checks every rule in [`TrustRootBuilder::build`].
#[derive(Clone, Debug)]
pub struct TrustRootBuilder {
    version: u64,
    expires: u64,
    keys: [Option<PublicKey>; MAX_KEYS],
    key_count: usize,
    roles: [Option<(Role, u8, u16)>; MAX_ROLES],
    role_count: usize,
    error: Option<Error>,
}

impl TrustRootBuilder {
    fn key_index(&mut self, key: &PublicKey) -> Result<usize> {
        if let Some(i) = self
            .keys
            .iter()
            .position(|k| k.as_ref().map(PublicKey::key_id) == Some(key.key_id()))
        {
            return Ok(i);
        }
        let slot = self
            .keys
            .get_mut(self.key_count)
            .ok_or(Error::LimitExceeded {
                what: "keys in a trust root",
                limit: MAX_KEYS,
            })?;
        *slot = Some(*key);
        self.key_count += 1;
        Ok(self.key_count - 1)
    }

    /// Gives `role` the keys `keys`, of which `threshold` distinct ones must sign.
    /// Errors are reported by [`TrustRootBuilder::build`].
    pub fn role(mut self, role: Role, threshold: u8, keys: &[PublicKey]) -> Self {
        if self.error.is_some() {
            return self;
        }
        let mut members = 0u16;
        for k in keys {
            match self.key_index(k) {
                Ok(i) => members |= 1 << i,
                Err(e) => {
                    self.error = Some(e);
                    return self;
                }
            }
        }
        if self.roles.iter().flatten().any(|(r, _, _)| *r == role) {
            self.error = Some(Error::InvalidTrustRoot {
                reason: "role defined twice",
            });
            return self;
        }
        match self.roles.get_mut(self.role_count) {
            Some(slot) => {
                *slot = Some((role, threshold, members));
                self.role_count += 1;
            }
            None => {
                self.error = Some(Error::LimitExceeded {
                    what: "roles in a trust root",
                    limit: MAX_ROLES,
                })
            }
        }
        self
    }

    /// Checks the rules and returns the trust root: version ≥ 1; `ROOT` and `RELEASE` defined;
    /// every threshold between 1 and the role's key count; at most [`MAX_KEYS`] keys and
    /// [`MAX_ROLES`] roles.
    ///
    /// # Errors
    /// [`Error::InvalidTrustRoot`], [`Error::LimitExceeded`].
    pub fn build(self) -> Result<TrustRoot> {
        if let Some(e) = self.error {
            return Err(e);
        }
        // Canonical order: keys by key id, roles by number; remap the member bits.
        let mut order: [usize; MAX_KEYS] = core::array::from_fn(|i| i);
        let ids = |i: usize| self.keys.get(i).copied().flatten().map(|k| k.key_id());
        order[..self.key_count].sort_unstable_by_key(|&i| ids(i));
        let mut keys = [None; MAX_KEYS];
        let mut new_index = [0usize; MAX_KEYS];
        for (new, &old) in order.iter().take(self.key_count).enumerate() {
            keys[new] = self.keys[old];
            new_index[old] = new;
        }
        let mut roles = [None; MAX_ROLES];
        for (slot, entry) in roles.iter_mut().zip(self.roles.iter().flatten()) {
            let (role, threshold, old_members) = *entry;
            let mut members = 0u16;
            for (old, new) in new_index.iter().enumerate().take(self.key_count) {
                if old_members & (1 << old) != 0 {
                    members |= 1 << new;
                }
            }
            *slot = Some(RoleKeys {
                role,
                threshold,
                members,
            });
        }
        roles[..self.role_count].sort_unstable_by_key(|r| r.map(|r| r.role));
        let root = TrustRoot {
            version: self.version,
            expires: self.expires,
            keys,
            key_count: self.key_count,
            roles,
            role_count: self.role_count,
        };
        root.validate()?;
        Ok(root)
    }
}

/// What the caller tells [`TrustRoot::verify`]: the current time and the last accepted sequence
/// number. Expiry is always enforced and rollback always refused; there is no switch to turn
/// either off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Current time, seconds since the Unix epoch, from the caller's clock (never read here).
    pub now: u64,
    /// The sequence number of the last release the device accepted (0 if none): only a greater
    /// one is accepted.
    pub last_sequence: u64,
    /// The role whose keys must sign ([`Role::RELEASE`] by default).
    pub role: Role,
}

impl Policy {
    /// A release policy at time `now` after accepting `last_sequence`.
    pub fn new(now: u64, last_sequence: u64) -> Self {
        Self {
            now,
            last_sequence,
            role: Role::RELEASE,
        }
    }

    /// The same policy for another role's documents.
    pub fn with_role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }
}

/// A release that passed every check. Persist `sequence` as the next `last_sequence`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified<'a> {
    /// The payload (attached or the caller's detached one), now authenticated.
    pub payload: &'a [u8],
    /// Its sequence number.
    pub sequence: u64,
    /// Its expiry.
    pub expires: u64,
    /// Its content type, if any.
    pub content_type: Option<ContentType<'a>>,
    /// Distinct trusted keys whose signatures verified.
    pub signers: u8,
}

impl TrustRoot {
    /// Starts a trust root with a version (≥ 1; rotation goes N → N+1) and an expiry in Unix
    /// seconds.
    pub fn builder(version: u64, expires: u64) -> TrustRootBuilder {
        TrustRootBuilder {
            version,
            expires,
            keys: [None; MAX_KEYS],
            key_count: 0,
            roles: [None; MAX_ROLES],
            role_count: 0,
            error: None,
        }
    }

    /// The version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The expiry, Unix seconds.
    pub fn expires(&self) -> u64 {
        self.expires
    }

    /// The keys, in key id order.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.iter().take(self.key_count).flatten()
    }

    /// The roles, in role order.
    pub fn roles(&self) -> impl Iterator<Item = RoleKeys> + '_ {
        self.roles.iter().take(self.role_count).flatten().copied()
    }

    /// One role's keys and threshold.
    pub fn role(&self, role: Role) -> Option<RoleKeys> {
        self.roles().find(|r| r.role == role)
    }

    /// The keys of `role`.
    pub fn role_keys(&self, role: Role) -> impl Iterator<Item = &PublicKey> {
        let members = self.role(role).map_or(0, |r| r.members);
        self.keys()
            .enumerate()
            .filter(move |(i, _)| members & (1 << i) != 0)
            .map(|(_, k)| k)
    }

    fn validate(&self) -> Result<()> {
        let bad = |reason| Err(Error::InvalidTrustRoot { reason });
        if self.version == 0 {
            return bad("version must be at least 1");
        }
        let mut used = 0u16;
        for r in self.roles() {
            let n = r.members.count_ones();
            if r.threshold == 0 {
                return bad("threshold must be at least 1");
            }
            if u32::from(r.threshold) > n {
                return bad("threshold above the role's key count");
            }
            used |= r.members;
        }
        if self.role(Role::ROOT).is_none() {
            return bad("no root role");
        }
        if self.role(Role::RELEASE).is_none() {
            return bad("no release role");
        }
        let all = if self.key_count >= 16 {
            u16::MAX
        } else {
            (1u16 << self.key_count) - 1
        };
        if used != all {
            return bad("a key belongs to no role");
        }
        Ok(())
    }

    /// Writes the canonical CBOR encoding (see FORMAT.md).
    fn encode<S: Sink + ?Sized>(&self, s: &mut S) -> Result<()> {
        cbor::put_head(s, cbor::MAP, 5)?;
        cbor::put_int(s, 0)?;
        cbor::put_tstr(s, TRUST_ROOT_TYPE)?;
        cbor::put_int(s, 1)?;
        cbor::put_head(s, cbor::UINT, self.version)?;
        cbor::put_int(s, 2)?;
        cbor::put_head(s, cbor::UINT, self.expires)?;
        cbor::put_int(s, 3)?;
        cbor::put_head(s, cbor::ARRAY, self.key_count as u64)?;
        for k in self.keys() {
            cbor::put_bstr(s, &k.to_bytes())?;
        }
        cbor::put_int(s, 4)?;
        cbor::put_head(s, cbor::ARRAY, self.role_count as u64)?;
        for r in self.roles() {
            cbor::put_head(s, cbor::ARRAY, 3)?;
            cbor::put_head(s, cbor::UINT, u64::from(r.role.0))?;
            cbor::put_head(s, cbor::UINT, u64::from(r.threshold))?;
            cbor::put_head(s, cbor::ARRAY, u64::from(r.members.count_ones()))?;
            for i in 0..MAX_KEYS {
                if r.members & (1 << i) != 0 {
                    cbor::put_head(s, cbor::UINT, i as u64)?;
                }
            }
        }
        Ok(())
    }

    /// Length of the canonical encoding.
    pub fn encoded_len(&self) -> usize {
        let mut c = CountSink(0);
        // CountSink never fails.
        let _ = self.encode(&mut c);
        c.0
    }

    /// Writes the canonical encoding into `buf` and returns its length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] with the length needed.
    pub fn encode_into(&self, buf: &mut [u8]) -> Result<usize> {
        let mut s = SliceSink {
            buf,
            len: 0,
            overflow: false,
        };
        self.encode(&mut s)?;
        if s.overflow {
            return Err(Error::BufferTooSmall { needed: s.len });
        }
        Ok(s.len)
    }

    /// The canonical encoding.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec::Vec::with_capacity(self.encoded_len());
        // Writing to a Vec never fails.
        let _ = self.encode(&mut v);
        v
    }

    /// Decodes the canonical encoding (unsigned). Anything not canonical is refused: a trust
    /// root has exactly one encoding, so its signature covers exactly one meaning.
    ///
    /// # Errors
    /// [`Error::Malformed`] with the byte offset, [`Error::LimitExceeded`],
    /// [`Error::InvalidKey`], [`Error::InvalidTrustRoot`].
    pub fn decode(bytes: &[u8]) -> Result<TrustRoot> {
        let mut r = Reader::new(bytes);
        let at = r.offset();
        if r.map()? != 5 {
            return Err(Error::Malformed {
                offset: at,
                reason: "trust root must be a map of 5 entries",
            });
        }
        let key = |r: &mut Reader<'_>, want: u64| -> Result<()> {
            let at = r.offset();
            if r.uint()? == want {
                Ok(())
            } else {
                Err(Error::Malformed {
                    offset: at,
                    reason: "trust root map keys must be 0, 1, 2, 3, 4 in order",
                })
            }
        };
        key(&mut r, 0)?;
        let at = r.offset();
        if r.tstr()? != TRUST_ROOT_TYPE {
            return Err(Error::Malformed {
                offset: at,
                reason: "not a trust root (type marker)",
            });
        }
        key(&mut r, 1)?;
        let version = r.uint()?;
        key(&mut r, 2)?;
        let expires = r.uint()?;
        key(&mut r, 3)?;
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
        let mut keys = [None; MAX_KEYS];
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
        key(&mut r, 4)?;
        let role_count = r.array()?;
        if role_count > MAX_ROLES {
            return Err(Error::LimitExceeded {
                what: "roles in a trust root",
                limit: MAX_ROLES,
            });
        }
        let mut roles = [None; MAX_ROLES];
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
            *slot = Some(RoleKeys {
                role: Role(role),
                threshold,
                members,
            });
        }
        r.finish()?;
        let root = TrustRoot {
            version,
            expires,
            keys,
            key_count,
            roles,
            role_count,
        };
        root.validate()?;
        // Belt and braces: the rules above make the encoding unique; check it byte for byte.
        let mut cmp = CompareSink {
            expected: bytes,
            pos: 0,
            equal: true,
        };
        root.encode(&mut cmp)?;
        if !cmp.equal || cmp.pos != bytes.len() {
            return Err(Error::Malformed {
                offset: 0,
                reason: "trust root is not in canonical encoding",
            });
        }
        Ok(root)
    }

    fn index_of_kid(&self, kid: &[u8]) -> Option<usize> {
        self.keys()
            .position(|k| k.key_id().as_bytes().as_slice() == kid)
    }

    /// Counts the distinct keys of `role` whose signature in `envelope` verifies over `payload`.
    /// Signatures whose `kid` is unknown, or names a key outside the role, are ignored; two
    /// signatures by one key count once.
    ///
    /// # Errors
    /// When fewer than the threshold verify, in this order: [`Error::BadSignature`] if a
    /// signature by a key of the role failed; [`Error::UnsupportedAlgorithm`] if one used
    /// another algorithm; [`Error::UnknownKey`] if no signature named a key of the role;
    /// else [`Error::BelowThreshold`]. [`Error::InvalidTrustRoot`] if the role is not defined.
    pub fn verify_threshold(
        &self,
        role: Role,
        envelope: &Envelope<'_>,
        aad: &[u8],
        payload: &[u8],
    ) -> Result<u8> {
        let rk = self.role(role).ok_or(Error::InvalidTrustRoot {
            reason: "role not defined",
        })?;
        let mut valid = 0u16;
        let mut bad = false;
        let mut unsupported = None;
        let mut known = false;
        for entry in envelope.signatures() {
            let Some(kid) = entry.headers().kid else {
                continue;
            };
            let Some(i) = self.index_of_kid(kid) else {
                continue;
            };
            let bit = 1u16 << i;
            if rk.members & bit == 0 {
                continue;
            }
            known = true;
            if valid & bit != 0 {
                continue;
            }
            let Some(key) = self.keys.get(i).copied().flatten() else {
                continue;
            };
            match envelope.verify_entry(entry, &key, aad, payload) {
                Ok(()) => valid |= bit,
                Err(Error::UnsupportedAlgorithm { alg }) => unsupported = Some(alg),
                Err(_) => bad = true,
            }
        }
        let count = valid.count_ones() as u8;
        if count >= rk.threshold {
            return Ok(count);
        }
        if bad {
            Err(Error::BadSignature)
        } else if let Some(alg) = unsupported {
            Err(Error::UnsupportedAlgorithm { alg })
        } else if !known {
            Err(Error::UnknownKey)
        } else {
            Err(Error::BelowThreshold {
                valid: count,
                needed: rk.threshold,
            })
        }
    }

    /// Fails with [`Error::Expired`] if `now` is at or past the expiry.
    ///
    /// # Errors
    /// [`Error::Expired`].
    pub fn check_expiry(&self, now: u64) -> Result<()> {
        if now >= self.expires {
            Err(Error::Expired {
                what: "trust root",
                expires: self.expires,
                now,
            })
        } else {
            Ok(())
        }
    }

    fn decode_signed<'a>(signed: &'a [u8]) -> Result<(Envelope<'a>, &'a [u8], TrustRoot)> {
        let env = Envelope::decode(signed)?;
        if env.headers().content_type != Some(ContentType::Text(CONTENT_TYPE_TRUST_ROOT)) {
            return Err(Error::WrongContentType);
        }
        let payload = env.payload().ok_or(Error::Payload {
            reason: "a signed trust root carries its payload attached",
        })?;
        let root = TrustRoot::decode(payload)?;
        Ok((env, payload, root))
    }

    /// Loads a first trust root (shipped with the device, or pinned out of band), checking that
    /// a threshold of its own root keys signed it. Expiry is not checked here, as in TUF: a
    /// device whose shipped root has expired must still be able to rotate forward; check the
    /// final root with [`TrustRoot::update`] or [`TrustRoot::check_expiry`].
    ///
    /// # Errors
    /// Decoding and threshold errors.
    pub fn from_signed(signed: &[u8]) -> Result<TrustRoot> {
        let (env, payload, root) = Self::decode_signed(signed)?;
        root.verify_threshold(Role::ROOT, &env, &[], payload)?;
        Ok(root)
    }

    /// One rotation step: accepts trust root N+1 only if a threshold of this root's `ROOT` keys
    /// AND a threshold of its own `ROOT` keys signed it, and its version is exactly N+1.
    /// Expiry of intermediate roots is not checked (TUF §5.3); use [`TrustRoot::update`].
    ///
    /// # Errors
    /// Threshold errors (checked first), then [`Error::Rollback`] for an older or equal
    /// version, [`Error::NotNextVersion`] for a skipped one.
    pub fn rotate(&self, signed_next: &[u8]) -> Result<TrustRoot> {
        let (env, payload, next) = Self::decode_signed(signed_next)?;
        self.verify_threshold(Role::ROOT, &env, &[], payload)?;
        next.verify_threshold(Role::ROOT, &env, &[], payload)?;
        if next.version <= self.version {
            return Err(Error::Rollback {
                got: next.version,
                need_above: self.version,
            });
        }
        if next.version != self.version + 1 {
            return Err(Error::NotNextVersion {
                got: next.version,
                current: self.version,
            });
        }
        Ok(next)
    }

    /// Walks a chain of signed trust roots N+1, N+2, ... in order, then checks that the last
    /// one has not expired at `now`. On any error nothing is returned (keep the current root).
    ///
    /// # Errors
    /// As [`TrustRoot::rotate`], and [`Error::Expired`] for the final root.
    pub fn update<'c, I>(&self, chain: I, now: u64) -> Result<TrustRoot>
    where
        I: IntoIterator<Item = &'c [u8]>,
    {
        let mut current = self.clone();
        for signed in chain {
            current = current.rotate(signed)?;
        }
        current.check_expiry(now)?;
        Ok(current)
    }

    /// Verifies a release envelope (COSE_Sign1 or COSE_Sign): threshold of `policy.role`'s
    /// keys over the exact bytes, this trust root and the release not expired at `policy.now`,
    /// and a sequence number above `policy.last_sequence`.
    ///
    /// # Errors
    /// [`Error::Malformed`]; [`Error::WrongContentType`] for a signed trust root;
    /// [`Error::Payload`]; the threshold errors of [`TrustRoot::verify_threshold`];
    /// [`Error::Expired`]; [`Error::Rollback`].
    pub fn verify<'a>(
        &self,
        envelope: &'a [u8],
        detached_payload: Option<&'a [u8]>,
        policy: &Policy,
    ) -> Result<Verified<'a>> {
        let env = Envelope::decode(envelope)?;
        let headers = *env.headers();
        if headers.content_type == Some(ContentType::Text(CONTENT_TYPE_TRUST_ROOT)) {
            return Err(Error::WrongContentType);
        }
        let payload = env.resolve_payload(detached_payload)?;
        let signers = self.verify_threshold(policy.role, &env, &[], payload)?;
        self.check_expiry(policy.now)?;
        let expires = headers.expires.ok_or(Error::Malformed {
            offset: 0,
            reason: "release has no expiry header",
        })?;
        let sequence = headers.sequence.ok_or(Error::Malformed {
            offset: 0,
            reason: "release has no sequence header",
        })?;
        if policy.now >= expires {
            return Err(Error::Expired {
                what: "release",
                expires,
                now: policy.now,
            });
        }
        if sequence <= policy.last_sequence {
            return Err(Error::Rollback {
                got: sequence,
                need_above: policy.last_sequence,
            });
        }
        Ok(Verified {
            payload,
            sequence,
            expires,
            content_type: headers.content_type,
            signers,
        })
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
