//! Loading a TUF repository from local directories with tough, and reading a release from it.

use std::collections::BTreeMap;
use std::path::Path;

use ota_verify::{Policy, TrustRoot};
use tough::{ExpirationEnforcement, FilesystemTransport, IntoVec, RepositoryLoader, TargetName};

use crate::convention::{Part, component_target, envelope_target, parse_target};
use crate::error::{Error, Result};
use crate::release::{Release, VerifiedRelease};

/// Sizes a repository controls, bounded (TUF's "endless data" attack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest `root.json` (each version), in bytes.
    pub max_root_size: u64,
    /// Largest `timestamp.json`, `snapshot.json` and `targets.json`, in bytes.
    pub max_metadata_size: u64,
    /// Most root versions walked in one load (rotations).
    pub max_root_updates: u64,
    /// Largest signed envelope target, in bytes.
    pub max_envelope: u64,
    /// Largest component image target, in bytes (read into memory).
    pub max_image: u64,
    /// Most component targets in one release.
    pub max_components: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_root_size: 1 << 20,
            max_metadata_size: 10 << 20,
            max_root_updates: 64,
            max_envelope: 1 << 20,
            max_image: 256 << 20,
            max_components: 64,
        }
    }
}

/// Where a repository is on the local file system.
#[derive(Debug, Clone, Copy)]
pub struct Location<'a> {
    /// The directory of the metadata (`timestamp.json`, `snapshot.json`, `targets.json`,
    /// `N.root.json`).
    pub metadata: &'a Path,
    /// The directory of the targets (the target name is the path below it).
    pub targets: &'a Path,
    /// A directory that persists between loads on this device: tough keeps the last trusted
    /// timestamp, snapshot and targets there to refuse rollbacks. It must exist.
    pub datastore: &'a Path,
}

/// A TUF repository whose metadata passed TUF's checks (root chain from the trusted root,
/// signatures by threshold, expiry against the system clock, versions not below the ones in
/// the datastore, snapshot and targets hashes and lengths).
#[derive(Debug)]
pub struct Repository {
    repo: tough::Repository,
    limits: Limits,
}

impl Repository {
    /// Loads and checks the repository at `location`, starting from `trusted_root` (the
    /// `root.json` shipped with the device or last trusted), with expiry always enforced.
    ///
    /// Blocking: runs tough on a current-thread tokio runtime; from async code use
    /// [`Repository::load_async`] instead (a runtime cannot start inside another).
    ///
    /// # Errors
    /// [`Error::Expired`], [`Error::Rollback`], [`Error::Signature`], [`Error::TargetMismatch`]
    /// (a metadata file whose hash or length differs from the one signed for it),
    /// [`Error::Tuf`].
    pub fn load(trusted_root: &[u8], location: &Location<'_>, limits: &Limits) -> Result<Self> {
        block_on(Self::load_async(trusted_root, location, limits))?
    }

    /// [`Repository::load`] for async callers.
    ///
    /// # Errors
    /// As [`Repository::load`].
    pub async fn load_async(
        trusted_root: &[u8],
        location: &Location<'_>,
        limits: &Limits,
    ) -> Result<Self> {
        let url = |p: &Path| {
            let abs = std::path::absolute(p).map_err(|e| Error::Tuf {
                detail: format!("{}: {e}", p.display()),
            })?;
            url::Url::from_directory_path(&abs).map_err(|()| Error::Tuf {
                detail: format!("{}: not a directory path", abs.display()),
            })
        };
        let repo = RepositoryLoader::new(
            &trusted_root,
            url(location.metadata)?,
            url(location.targets)?,
        )
        .transport(FilesystemTransport)
        .limits(tough::Limits {
            max_root_size: limits.max_root_size,
            max_targets_size: limits.max_metadata_size,
            max_timestamp_size: limits.max_metadata_size,
            max_snapshot_size: limits.max_metadata_size,
            max_root_updates: limits.max_root_updates,
        })
        .datastore(location.datastore)
        .expiration_enforcement(ExpirationEnforcement::Safe)
        .load()
        .await
        .map_err(|e| tuf_error(&e, None))?;
        Ok(Repository {
            repo,
            limits: *limits,
        })
    }

    /// Version of the root in force after the load (after any rotations).
    #[must_use]
    pub fn root_version(&self) -> u64 {
        self.repo.root().signed.version.get()
    }

    /// Version of the trusted snapshot.
    #[must_use]
    pub fn snapshot_version(&self) -> u64 {
        self.repo.snapshot().signed.version.get()
    }

    /// Names of the releases among the targets (those with an `ota/<release>/envelope`),
    /// sorted.
    #[must_use]
    pub fn releases(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .repo
            .all_targets()
            .filter_map(|(name, _)| match parse_target(name.raw()) {
                Some((release, Part::Envelope)) => Some(release),
                _ => None,
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Reads a release: its envelope and every `ota/<release>/components/<id>` target, each
    /// checked by TUF (hash and length signed in targets.json). Blocking, as
    /// [`Repository::load`].
    ///
    /// # Errors
    /// [`Error::NoRelease`], [`Error::TooLarge`], [`Error::TooManyComponents`],
    /// [`Error::TargetMismatch`], [`Error::Expired`], [`Error::Tuf`].
    pub fn fetch_release(&self, release: &str) -> Result<Release> {
        block_on(self.fetch_release_async(release))?
    }

    /// [`Repository::fetch_release`] for async callers.
    ///
    /// # Errors
    /// As [`Repository::fetch_release`].
    pub async fn fetch_release_async(&self, release: &str) -> Result<Release> {
        let envelope_name = envelope_target(release)?;
        let mut components = Vec::new();
        let mut envelope_len = None;
        for (name, target) in self.repo.all_targets() {
            match parse_target(name.raw()) {
                Some((r, Part::Envelope)) if r == release => envelope_len = Some(target.length),
                Some((r, Part::Component(id))) if r == release => {
                    if components.len() == self.limits.max_components {
                        return Err(Error::TooManyComponents {
                            release: release.to_owned(),
                            limit: self.limits.max_components,
                        });
                    }
                    components.push((id, target.length));
                }
                _ => {}
            }
        }
        let envelope_len = envelope_len.ok_or_else(|| Error::NoRelease {
            release: release.to_owned(),
        })?;
        let envelope = self
            .read(&envelope_name, envelope_len, self.limits.max_envelope)
            .await?;
        let mut images = BTreeMap::new();
        for (id, len) in components {
            let name = component_target(release, &id)?;
            let image = self.read(&name, len, self.limits.max_image).await?;
            images.insert(id, image);
        }
        Ok(Release::new(release.to_owned(), envelope, images))
    }

    /// Reads a release and applies ota's checks ([`Release::verify`]): the release must pass
    /// TUF's checks and then ota's. Blocking, as [`Repository::load`].
    ///
    /// # Errors
    /// Those of [`Repository::fetch_release`] and of [`Release::verify`].
    pub fn verified_release(
        &self,
        release: &str,
        root: &TrustRoot,
        policy: &Policy,
    ) -> Result<VerifiedRelease> {
        self.fetch_release(release)?.verify(root, policy)
    }

    async fn read(&self, name: &str, signed_len: u64, limit: u64) -> Result<Vec<u8>> {
        if signed_len > limit {
            return Err(Error::TooLarge {
                target: name.to_owned(),
                size: signed_len,
                limit,
            });
        }
        let target = TargetName::new(name).map_err(|e| tuf_error(&e, Some(name)))?;
        let stream = self
            .repo
            .read_target(&target)
            .await
            .map_err(|e| tuf_error(&e, Some(name)))?
            .ok_or_else(|| Error::Tuf {
                detail: format!("target {name} is not listed"),
            })?;
        stream
            .into_vec()
            .await
            .map_err(|e| tuf_error(&e, Some(name)))
    }
}

fn block_on<F: std::future::Future>(future: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Error::Tuf {
            detail: format!("tokio runtime: {e}"),
        })?;
    Ok(rt.block_on(future))
}

/// The whole chain of causes, so that nothing tough said is lost.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Maps tough's error (or one of its causes) to the variant an operator acts on.
fn tuf_error(e: &tough::error::Error, target: Option<&str>) -> Error {
    use tough::error::Error as T;
    let detail = chain(e);
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            match t {
                T::ExpiredMetadata { role, .. } => {
                    return Error::Expired {
                        role: role.to_string(),
                    };
                }
                T::OlderMetadata { role, .. } => {
                    return Error::Rollback {
                        role: role.to_string(),
                        detail,
                    };
                }
                T::OlderSnapshotInTimestamp { .. } => {
                    return Error::Rollback {
                        role: "timestamp".into(),
                        detail,
                    };
                }
                T::SnapshotRoleRollback { role, .. } | T::SnapshotRoleMissing { role, .. } => {
                    return Error::Rollback {
                        role: role.clone(),
                        detail,
                    };
                }
                T::VerifyMetadata { role, .. } => {
                    return Error::Signature {
                        role: role.to_string(),
                        detail,
                    };
                }
                T::VerifyRoleMetadata { role, .. } => {
                    return Error::Signature {
                        role: role.clone(),
                        detail,
                    };
                }
                T::VerifyTrustedMetadata { .. } => {
                    return Error::Signature {
                        role: "root".into(),
                        detail,
                    };
                }
                T::HashMismatch { context, .. } => {
                    return Error::TargetMismatch {
                        target: target.unwrap_or(context).to_owned(),
                        detail,
                    };
                }
                // A target longer than its signed length; for metadata it is a limit.
                T::MaxSizeExceeded { .. } if target.is_some() => {
                    return Error::TargetMismatch {
                        target: target.unwrap_or_default().to_owned(),
                        detail,
                    };
                }
                _ => {}
            }
        }
        cur = err.source();
    }
    Error::Tuf { detail }
}
