//! Building a trust root from keys and roles, with every rule checked at the end.

use super::{MAX_KEYS, MAX_ROLES, Role, RoleKeys, TrustRoot};
use crate::error::{Error, Result};
use crate::key::PublicKey;

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
}
