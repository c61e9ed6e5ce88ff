//! What a trust root accepts: thresholds of signatures, expiry, anti-rollback, and rotation to
//! the next trust root.

use super::{Role, TrustRoot};
use crate::cose::{CONTENT_TYPE_TRUST_ROOT, ContentType, Envelope};
use crate::error::{Error, Result};

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

    /// Decodes a signed trust root into `env` and `self` (in place: both are large on a
    /// microcontroller) and returns its payload. On error `self` is [`TrustRoot::EMPTY`].
    fn decode_signed_in<'a>(
        &mut self,
        env: &mut Envelope<'a>,
        signed: &'a [u8],
    ) -> Result<&'a [u8]> {
        let payload = Self::signed_payload(env, signed);
        match payload {
            Ok(payload) => {
                self.decode_in(payload)?;
                Ok(payload)
            }
            Err(e) => {
                self.clear();
                Err(e)
            }
        }
    }

    fn signed_payload<'a>(env: &mut Envelope<'a>, signed: &'a [u8]) -> Result<&'a [u8]> {
        env.decode_in(signed)?;
        if env.headers().content_type != Some(ContentType::Text(CONTENT_TYPE_TRUST_ROOT)) {
            return Err(Error::WrongContentType);
        }
        env.payload().ok_or(Error::Payload {
            reason: "a signed trust root carries its payload attached",
        })
    }

    /// Loads a first trust root (shipped with the device, or pinned out of band), checking that
    /// a threshold of its own root keys signed it. Expiry is not checked here, as in TUF: a
    /// device whose shipped root has expired must still be able to rotate forward; check the
    /// final root with [`TrustRoot::update`] or [`TrustRoot::check_expiry`].
    ///
    /// # Errors
    /// Decoding and threshold errors.
    pub fn from_signed(signed: &[u8]) -> Result<TrustRoot> {
        let mut root = TrustRoot::EMPTY;
        root.load_signed(signed)?;
        Ok(root)
    }

    /// [`TrustRoot::from_signed`] into `self`, replacing what it held, without copying the root
    /// (for a microcontroller whose root lives in a static: nothing of its size goes on the
    /// stack). On error `self` is [`TrustRoot::EMPTY`], which verifies nothing.
    ///
    /// # Errors
    /// As [`TrustRoot::from_signed`].
    pub fn load_signed(&mut self, signed: &[u8]) -> Result<()> {
        let mut env = Envelope::empty();
        let payload = self.decode_signed_in(&mut env, signed)?;
        let result = self.verify_threshold(Role::ROOT, &env, &[], payload);
        if let Err(e) = result {
            self.clear();
            return Err(e);
        }
        Ok(())
    }

    /// One rotation step: accepts trust root N+1 only if a threshold of this root's `ROOT` keys
    /// AND a threshold of its own `ROOT` keys signed it, and its version is exactly N+1.
    /// Expiry of intermediate roots is not checked (TUF §5.3); use [`TrustRoot::update`].
    ///
    /// # Errors
    /// Threshold errors (checked first), then [`Error::Rollback`] for an older or equal
    /// version, [`Error::NotNextVersion`] for a skipped one.
    pub fn rotate(&self, signed_next: &[u8]) -> Result<TrustRoot> {
        let mut env = Envelope::empty();
        let mut next = TrustRoot::EMPTY;
        let payload = next.decode_signed_in(&mut env, signed_next)?;
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
        let mut env = Envelope::empty();
        env.decode_in(envelope)?;
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
}
