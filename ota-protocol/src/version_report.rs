//! The signed version report (after Uptane's ECU version manifest): what a device has
//! installed, signed by the device's own Ed25519 key as a COSE_Sign1, with a counter and an
//! optional server nonce against replay.

use ota_cbor::{write_array, write_bytes, write_map, write_text, write_uint};
#[cfg(feature = "signed")]
use ota_verify::{ContentType, Envelope, Kind, PublicKey, SignOptions, Signer};

use crate::error::{DecodeError, Error, Limit, Result};
use crate::ids::Sha256;
use crate::limits::Limits;
use crate::report::Slot;
use crate::schema::{version_component as ck, version_report as vk};

/// The COSE `content type` of a signed version report, so that a release key's signature
/// over other content can never pass for one (and the reverse).
pub const CONTENT_TYPE_VERSION_REPORT: &str = "application/vnd.ota.version-report+cbor";

/// The format version written in key 0.
pub const VERSION_REPORT_FORMAT: u64 = 1;

/// The longest server nonce, in bytes.
pub const MAX_NONCE_BYTES: usize = 64;

/// What a device has installed, as it signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionReport {
    /// The device's id as the server knows it (Uptane: the ECU serial), 1 to
    /// [`Limits::max_text_bytes`] bytes.
    pub device: String,
    /// A counter the device persists and raises for every report; the server refuses one not
    /// above the last it accepted.
    pub counter: u64,
    /// The nonce the server sent for this report, if any (1 to [`MAX_NONCE_BYTES`] bytes).
    pub nonce: Option<Vec<u8>>,
    /// The device's clock when it signed (seconds since the epoch; informational, not trusted).
    pub sent_at: u64,
    /// The A/B slot it runs from (`None` without A/B slots).
    pub active_slot: Option<Slot>,
    /// The installed components; ids unique, encoded sorted by id.
    pub components: Vec<ComponentVersion>,
}

/// One installed component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentVersion {
    /// The component id (as in the manifest).
    pub id: String,
    /// Its version (semver text, as in the manifest; not parsed here).
    pub version: String,
    /// SHA-256 of the installed image (Uptane reports hashes of what is installed).
    pub sha256: Sha256,
}

/// What the server expects of a signed version report.
#[cfg(feature = "signed")]
#[derive(Debug, Clone, Copy)]
pub struct ReportCheck<'a> {
    /// The device the report must be from.
    pub device: &'a str,
    /// That device's registered public key.
    pub key: &'a PublicKey,
    /// The counter of the last report accepted from it (`None`: none yet).
    pub last_counter: Option<u64>,
    /// The nonce the server issued for this report, when it issued one.
    pub nonce: Option<&'a [u8]>,
}

/// Why a signed version report was refused (other than its decoding, which is an
/// [`Error::Decode`] or [`Error::LimitExceeded`] with the offset in the payload).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// Not a well-formed COSE_Sign1, or signing failed (ota-verify's message).
    #[error("not a COSE_Sign1 version report: {0}")]
    Envelope(String),
    /// A COSE_Sign, or another content type than [`CONTENT_TYPE_VERSION_REPORT`].
    #[error("not a version report (COSE_Sign1 with content type {CONTENT_TYPE_VERSION_REPORT})")]
    NotAReport,
    /// The `kid` is absent or is not the device's key.
    #[error("signed by another key than the device's")]
    WrongKey,
    /// The signature does not verify (opaque, as in ota-verify).
    #[error("bad signature")]
    BadSignature,
    /// The report names another device.
    #[error("report of device {found:?}, expected {expected:?}")]
    WrongDevice {
        /// The device the server checks for.
        expected: String,
        /// The device in the report.
        found: String,
    },
    /// The counter is not above the last one accepted: a replayed or reordered report.
    #[error("replayed report: counter {counter} is not above the last accepted {last}")]
    Replay {
        /// The report's counter.
        counter: u64,
        /// The last counter accepted.
        last: u64,
    },
    /// The server issued a nonce and the report does not carry it.
    #[error("the report does not carry the nonce the server issued")]
    NonceMismatch,
}

impl From<ReportError> for Error {
    fn from(e: ReportError) -> Self {
        Error::Report(e)
    }
}

impl VersionReport {
    /// The canonical CBOR payload (FORMAT.md, "Signed version report").
    ///
    /// # Errors
    /// [`Error::Decode`] or [`Error::LimitExceeded`] (no offset) for a report its decoder
    /// would refuse: empty or over-long texts, a bad nonce, duplicate ids; [`Error::TooLarge`].
    pub fn to_cbor(&self, limits: &Limits) -> Result<Vec<u8>> {
        self.check(limits)?;
        let mut sorted: Vec<&ComponentVersion> = self.components.iter().collect();
        sorted.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
        let mut o = Vec::with_capacity(96 + 80 * sorted.len());
        let entries = 4
            + usize::from(self.nonce.is_some())
            + usize::from(self.active_slot.is_some())
            + usize::from(!sorted.is_empty());
        write_map(&mut o, entries);
        write_uint(&mut o, vk::FORMAT);
        write_uint(&mut o, VERSION_REPORT_FORMAT);
        write_uint(&mut o, vk::DEVICE);
        write_text(&mut o, &self.device);
        write_uint(&mut o, vk::COUNTER);
        write_uint(&mut o, self.counter);
        if let Some(n) = &self.nonce {
            write_uint(&mut o, vk::NONCE);
            write_bytes(&mut o, n);
        }
        write_uint(&mut o, vk::SENT_AT);
        write_uint(&mut o, self.sent_at);
        if let Some(s) = self.active_slot {
            write_uint(&mut o, vk::ACTIVE_SLOT);
            write_uint(&mut o, u64::from(s.code()));
        }
        if !sorted.is_empty() {
            write_uint(&mut o, vk::COMPONENTS);
            write_array(&mut o, sorted.len());
            for c in sorted {
                write_map(&mut o, 3);
                write_uint(&mut o, ck::ID);
                write_text(&mut o, &c.id);
                write_uint(&mut o, ck::VERSION);
                write_text(&mut o, &c.version);
                write_uint(&mut o, ck::SHA256);
                write_bytes(&mut o, c.sha256.as_bytes());
            }
        }
        if o.len() > limits.max_cbor_bytes {
            return Err(Error::TooLarge {
                size: o.len(),
                max: limits.max_cbor_bytes,
            });
        }
        Ok(o)
    }

    /// Decodes the payload strictly (canonical CBOR, known keys only, limits); the
    /// signature is not checked here: servers use [`verify_version_report`].
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Decode`], [`Error::LimitExceeded`], with the offset.
    pub fn from_cbor(bytes: &[u8], limits: &Limits) -> Result<Self> {
        crate::decode::read_version_report(bytes, limits)
    }

    /// Signs the canonical payload with the device's key as a tagged COSE_Sign1 (EdDSA, `kid`
    /// and content type protected).
    ///
    /// # Errors
    /// Those of [`VersionReport::to_cbor`]; [`ReportError::Envelope`] if signing fails.
    #[cfg(feature = "signed")]
    pub fn sign(&self, key: &dyn Signer, limits: &Limits) -> Result<Vec<u8>> {
        let payload = self.to_cbor(limits)?;
        let opts = SignOptions {
            content_type: Some(ContentType::Text(CONTENT_TYPE_VERSION_REPORT)),
            ..SignOptions::default()
        };
        ota_verify::sign1(&payload, key, &opts)
            .map_err(|e| ReportError::Envelope(e.to_string()).into())
    }

    fn check(&self, l: &Limits) -> Result<()> {
        let text = |field: &'static str, t: &str| {
            if t.is_empty() {
                Err(Error::field(DecodeError::Empty).in_field(field))
            } else if t.len() > l.max_text_bytes {
                Err(Error::limit(Limit::TextBytes, t.len(), l.max_text_bytes).in_field(field))
            } else {
                Ok(())
            }
        };
        text("device", &self.device)?;
        if let Some(n) = &self.nonce {
            if n.is_empty() {
                return Err(Error::field(DecodeError::Empty).in_field("nonce"));
            }
            if n.len() > MAX_NONCE_BYTES {
                return Err(
                    Error::limit(Limit::NonceBytes, n.len(), MAX_NONCE_BYTES).in_field("nonce")
                );
            }
        }
        if self.components.len() > l.max_installed {
            return Err(
                Error::limit(Limit::Installed, self.components.len(), l.max_installed)
                    .in_field("components"),
            );
        }
        let mut ids = std::collections::HashSet::new();
        for (i, c) in self.components.iter().enumerate() {
            let at = |e: Error| e.in_index(i).in_field("components");
            text("id", &c.id).map_err(at)?;
            text("version", &c.version).map_err(at)?;
            if !ids.insert(c.id.as_str()) {
                return Err(at(Error::field(DecodeError::DuplicateComponent(
                    c.id.clone(),
                ))
                .in_field("id")));
            }
        }
        Ok(())
    }
}

/// The server's check of a signed version report: a COSE_Sign1 of content type
/// [`CONTENT_TYPE_VERSION_REPORT`] whose `kid` is the device key's id, a valid strict
/// Ed25519 signature by that key, a payload that decodes strictly, the expected device, a
/// counter above the last accepted and, when the server issued one, its nonce. Record the
/// returned report's counter as the device's last only after this succeeds.
///
/// # Errors
/// [`Error::TooLarge`]; [`Error::Report`] with [`ReportError::Envelope`],
/// [`ReportError::NotAReport`], [`ReportError::WrongKey`], [`ReportError::BadSignature`],
/// [`ReportError::WrongDevice`], [`ReportError::Replay`], [`ReportError::NonceMismatch`];
/// [`Error::Decode`] / [`Error::LimitExceeded`] for a signed but malformed payload.
#[cfg(feature = "signed")]
pub fn verify_version_report(
    signed: &[u8],
    check: &ReportCheck<'_>,
    limits: &Limits,
) -> Result<VersionReport> {
    if signed.len() > limits.max_cbor_bytes {
        return Err(Error::TooLarge {
            size: signed.len(),
            max: limits.max_cbor_bytes,
        });
    }
    let env = Envelope::decode(signed).map_err(|e| ReportError::Envelope(e.to_string()))?;
    if env.kind() != Kind::Sign1
        || env.headers().content_type != Some(ContentType::Text(CONTENT_TYPE_VERSION_REPORT))
    {
        return Err(ReportError::NotAReport.into());
    }
    let entry = env.signatures().first().ok_or(ReportError::NotAReport)?;
    if entry.headers().kid != Some(check.key.key_id().as_bytes().as_slice()) {
        return Err(ReportError::WrongKey.into());
    }
    let payload = env.payload().ok_or(ReportError::NotAReport)?;
    env.verify_entry(entry, check.key, &[], payload)
        .map_err(|_| ReportError::BadSignature)?;
    let report = VersionReport::from_cbor(payload, limits)?;
    if report.device != check.device {
        return Err(ReportError::WrongDevice {
            expected: check.device.to_owned(),
            found: report.device,
        }
        .into());
    }
    if let Some(last) = check.last_counter
        && report.counter <= last
    {
        return Err(ReportError::Replay {
            counter: report.counter,
            last,
        }
        .into());
    }
    if let Some(n) = check.nonce
        && report.nonce.as_deref() != Some(n)
    {
        return Err(ReportError::NonceMismatch.into());
    }
    Ok(report)
}
