//! Trust roots (in the spirit of TUF root metadata): keys, roles with k-of-n thresholds, a
//! version and an expiry. The canonical CBOR encoding is in `root/wire.rs`, the builder in
//! `root/builder.rs`, rotation and the verification policy in `root/policy.rs`.

use core::fmt;

use crate::error::{Error, Result};
use crate::key::PublicKey;

mod builder;
mod policy;
mod wire;

pub use builder::TrustRootBuilder;
pub use policy::{Policy, Verified};

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

impl TrustRoot {
    /// No keys, no roles, version 0: what [`TrustRoot::load_signed`] leaves after an error. It
    /// verifies nothing (its roles are undefined) and rotates to nothing.
    pub const EMPTY: TrustRoot = TrustRoot {
        version: 0,
        expires: 0,
        keys: [None; MAX_KEYS],
        key_count: 0,
        roles: [None; MAX_ROLES],
        role_count: 0,
    };

    /// Resets to [`TrustRoot::EMPTY`] in place.
    fn clear(&mut self) {
        self.version = 0;
        self.expires = 0;
        self.keys.fill(None);
        self.key_count = 0;
        self.roles.fill(None);
        self.role_count = 0;
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
}
