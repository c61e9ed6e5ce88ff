//! Errors of ota-tuf: TUF's refusals (one variant per thing an operator acts on), then ota's.

/// Why a release was not loaded or not accepted.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// TUF: a metadata file (root, timestamp, snapshot or targets) has expired.
    #[error("TUF: {role} metadata is expired")]
    Expired {
        /// The role whose metadata expired.
        role: String,
    },
    /// TUF: a metadata file is older than the one already trusted (rollback or freeze attack).
    #[error("TUF: rollback of {role} metadata: {detail}")]
    Rollback {
        /// The role rolled back.
        role: String,
        /// Versions, as tough reports them.
        detail: String,
    },
    /// TUF: metadata not signed by a threshold of its role's keys (this includes a new root
    /// not signed by the previous root's threshold).
    #[error("TUF: {role} metadata is not signed by its threshold: {detail}")]
    Signature {
        /// The role (`root` for the trusted root or a rotation).
        role: String,
        /// tough's reason.
        detail: String,
    },
    /// TUF: a target's content does not match the hash or length in the signed targets
    /// metadata.
    #[error("TUF: target {target} does not match its signed hash or length: {detail}")]
    TargetMismatch {
        /// The target name.
        target: String,
        /// tough's reason.
        detail: String,
    },
    /// TUF: any other refusal or failure of the TUF client (parse, transport, datastore).
    #[error("TUF: {detail}")]
    Tuf {
        /// tough's message, with its causes.
        detail: String,
    },
    /// A release or component name unusable in a target name.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name (truncated).
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The repository's targets have no `ota/<release>/envelope` for this release.
    #[error("no release {release} in the repository")]
    NoRelease {
        /// The release asked for.
        release: String,
    },
    /// A target is larger than [`crate::Limits`] allow.
    #[error("target {target} is {size} bytes, above the limit of {limit}")]
    TooLarge {
        /// The target name.
        target: String,
        /// Its signed length.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The release has more component targets than [`crate::Limits::max_components`].
    #[error("release {release} has more than {limit} component targets")]
    TooManyComponents {
        /// The release.
        release: String,
        /// The limit.
        limit: usize,
    },
    /// ota: the signed envelope does not verify against the trust root (signature,
    /// threshold, expiry, sequence), exactly as for a release that came directly.
    #[error("ota: envelope of {release}: {source}")]
    Envelope {
        /// The release.
        release: String,
        /// ota-verify's error.
        source: ota_verify::Error,
    },
    /// ota: the verified payload is not a valid manifest.
    #[error("ota: manifest of {release}: {source}")]
    Manifest {
        /// The release.
        release: String,
        /// ota-manifest's error.
        source: ota_manifest::Error,
    },
    /// ota: the manifest's sequence differs from the signed header's.
    #[error("ota: manifest of {release}: sequence {manifest} differs from the signed {signed}")]
    SequenceMismatch {
        /// The release.
        release: String,
        /// In the manifest.
        manifest: u64,
        /// In the signed envelope.
        signed: u64,
    },
    /// ota: a component of the manifest has no image among the release's targets.
    #[error("ota: release {release}: no target for component {component}")]
    MissingComponent {
        /// The release.
        release: String,
        /// The component id.
        component: String,
    },
    /// ota: a component target that the signed manifest does not list.
    #[error("ota: release {release}: target for component {component}, not in the manifest")]
    UnexpectedComponent {
        /// The release.
        release: String,
        /// The component id of the target.
        component: String,
    },
    /// ota: a component image (which passed TUF) differs from the manifest's size or SHA-256.
    #[error("ota: release {release}: component {component} does not match the manifest's {field}")]
    ComponentMismatch {
        /// The release.
        release: String,
        /// The component id.
        component: String,
        /// `size` or `sha256`.
        field: &'static str,
    },
}

/// Results of ota-tuf.
pub type Result<T> = std::result::Result<T, Error>;
