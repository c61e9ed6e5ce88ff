//! A borrowed, zero-copy view of a canonical CBOR manifest for devices without an allocator
//! (`no_std`): the fields a device needs to decide and install, read in place.
//!
//! [`ManifestView::parse`] checks the whole manifest once, with the same strictness and
//! [`Limits`] as `Manifest::from_cbor` (it accepts exactly the same bytes, and refuses the rest at
//! the same offset); the accessors and iterators then read the checked bytes again, so they have
//! nothing left to refuse.

mod decide;
mod error;
mod reader;
mod table;
mod version;

pub use decide::{DeviceView, InstallOrder, InstalledView, ViewAction};
pub use error::{ViewError, ViewErrorKind, ViewProblem, ViewRefusal, ViewRule};
pub use version::{ReqView, VersionView};

use reader::Reader;
use table::{COMPONENT, RELEASE, Shape, Value};

use crate::limits::Limits;
use crate::schema::{RELEASE_EXT_DEPTH, ckey, key};

use self::error::ViewErrorKind as K;

/// Limits that hold for anything already checked: the iterators re-read checked bytes.
const CHECKED: Limits = Limits {
    max_cbor_bytes: usize::MAX,
    max_json_bytes: usize::MAX,
    max_components: usize::MAX,
    max_chunks: usize::MAX,
    max_deltas: usize::MAX,
    max_dependencies: usize::MAX,
    max_hardware: usize::MAX,
    max_classes: usize::MAX,
    max_uris: usize::MAX,
    max_extensions: usize::MAX,
    max_string_bytes: usize::MAX,
    max_depth: usize::MAX,
};

/// The items of a checked list: the bytes after its head, and their count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct List<'a> {
    body: &'a [u8],
    count: usize,
}

impl<'a> List<'a> {
    fn of(v: Value<'a>) -> Self {
        match v {
            Value::List(body, count) => Self { body, count },
            _ => Self::default(),
        }
    }
}

/// A release manifest, borrowed from its canonical CBOR bytes. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestView<'a> {
    version: &'a str,
    sequence: u64,
    security_counter: u64,
    issued_at: u64,
    expires_at: Option<u64>,
    vendor: &'a [u8],
    classes: List<'a>,
    hardware: List<'a>,
    hardware_ranges: List<'a>,
    components: List<'a>,
}

fn text(v: Value<'_>) -> &str {
    match v {
        Value::Text(s) => s,
        _ => "",
    }
}

fn uint(v: Value<'_>) -> u64 {
    match v {
        Value::Uint(n) => n,
        _ => 0,
    }
}

fn bytes_of(v: Value<'_>) -> &[u8] {
    match v {
        Value::Bytes(b) => b,
        _ => &[],
    }
}

fn digest(b: &[u8]) -> &[u8; 32] {
    const ZERO: &[u8; 32] = &[0; 32];
    b.try_into().unwrap_or(ZERO)
}

impl<'a> ManifestView<'a> {
    /// Checks `bytes` as `Manifest::from_cbor` does, with the default [`Limits`].
    ///
    /// # Errors
    /// A [`ViewError`]: the byte offset and what is wrong.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ViewError> {
        Self::parse_with(bytes, &Limits::default())
    }

    /// [`ManifestView::parse`] with the given limits.
    ///
    /// # Errors
    /// As [`ManifestView::parse`].
    pub fn parse_with(bytes: &'a [u8], limits: &Limits) -> Result<Self, ViewError> {
        if bytes.len() > limits.max_cbor_bytes {
            return Err(ViewError {
                offset: limits.max_cbor_bytes,
                kind: K::TooLarge,
            });
        }
        let mut m = Self {
            version: "",
            sequence: 0,
            security_counter: 0,
            issued_at: 0,
            expires_at: None,
            vendor: &[],
            classes: List::default(),
            hardware: List::default(),
            hardware_ranges: List::default(),
            components: List::default(),
        };
        let mut r = Reader::new(bytes, limits);
        table::walk(&mut r, RELEASE, RELEASE_EXT_DEPTH, |k, v| match k {
            key::VERSION => m.version = text(v),
            key::SEQUENCE => m.sequence = uint(v),
            key::SECURITY_COUNTER => m.security_counter = uint(v),
            key::ISSUED_AT => m.issued_at = uint(v),
            key::EXPIRES_AT => m.expires_at = Some(uint(v)),
            key::VENDOR => m.vendor = bytes_of(v),
            key::CLASSES => m.classes = List::of(v),
            key::HARDWARE => m.hardware = List::of(v),
            key::HARDWARE_RANGES => m.hardware_ranges = List::of(v),
            key::COMPONENTS => m.components = List::of(v),
            _ => {}
        })?;
        r.finish()?;
        Ok(m)
    }

    /// The release version.
    #[must_use]
    pub fn version(&self) -> VersionView<'a> {
        version_of(self.version)
    }
    /// The sequence number (anti-rollback).
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.sequence
    }
    /// The security counter.
    #[must_use]
    pub fn security_counter(&self) -> u64 {
        self.security_counter
    }
    /// Issued at, seconds since the Unix epoch.
    #[must_use]
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }
    /// Expires at, seconds since the Unix epoch.
    #[must_use]
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }
    /// The vendor id (1..=64 bytes).
    #[must_use]
    pub fn vendor(&self) -> &'a [u8] {
        self.vendor
    }
    /// The device class ids.
    #[must_use]
    pub fn classes(&self) -> Ids<'a> {
        Ids(Items::new(self.classes))
    }
    /// Hardware revisions accepted by exact match.
    #[must_use]
    pub fn hardware(&self) -> Texts<'a> {
        Texts(Items::new(self.hardware))
    }
    /// Hardware revisions accepted by range.
    #[must_use]
    pub fn hardware_ranges(&self) -> Reqs<'a> {
        Reqs(Items::new(self.hardware_ranges))
    }
    /// The components, in manifest order.
    #[must_use]
    pub fn components(&self) -> Components<'a> {
        Components(Items::new(self.components))
    }
}

fn version_of(s: &str) -> VersionView<'_> {
    // Checked by the walk; the fallback is never taken.
    VersionView::parse(s).unwrap_or(VersionView::ZERO)
}

fn req_of(s: &str) -> ReqView<'_> {
    ReqView::parse(s).unwrap_or(ReqView::ANY)
}

/// One component of a [`ManifestView`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComponentView<'a> {
    index: usize,
    id: &'a str,
    layer: u32,
    version: &'a str,
    upgrade_from: &'a str,
    size: u64,
    sha256: &'a [u8],
    chunk_size: Option<u32>,
    chunk_sha256: &'a [u8],
    deltas: List<'a>,
    order: u32,
}

impl<'a> ComponentView<'a> {
    fn read(r: &mut Reader<'a, '_>, index: usize) -> Result<Self, ViewError> {
        let mut c = Self {
            index,
            id: "",
            layer: 0,
            version: "",
            upgrade_from: "",
            size: 0,
            sha256: &[],
            chunk_size: None,
            chunk_sha256: &[],
            deltas: List::default(),
            order: 0,
        };
        table::walk(
            r,
            COMPONENT,
            crate::schema::COMPONENT_EXT_DEPTH,
            |k, v| match k {
                ckey::ID => c.id = text(v),
                ckey::LAYER => c.layer = u32::try_from(uint(v)).unwrap_or(0),
                ckey::VERSION => c.version = text(v),
                ckey::UPGRADE_FROM => c.upgrade_from = text(v),
                ckey::SIZE => c.size = uint(v),
                ckey::SHA256 => c.sha256 = bytes_of(v),
                ckey::CHUNK_SIZE => c.chunk_size = u32::try_from(uint(v)).ok(),
                ckey::CHUNK_SHA256 => c.chunk_sha256 = bytes_of(v),
                ckey::DELTAS => c.deltas = List::of(v),
                ckey::ORDER => c.order = u32::try_from(uint(v)).unwrap_or(0),
                _ => {}
            },
        )?;
        Ok(c)
    }

    /// Its index in [`ManifestView::components`].
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }
    /// The component id (1 byte or more).
    #[must_use]
    pub fn id(&self) -> &'a str {
        self.id
    }
    /// The layer code (FORMAT.md): 0 firmware, 1 application, 2 AI model, 3 configuration,
    /// 256 and up vendor-defined.
    #[must_use]
    pub fn layer(&self) -> u32 {
        self.layer
    }
    /// Whether installing it switches the A/B slot and reboots (firmware).
    #[must_use]
    pub fn needs_reboot(&self) -> bool {
        self.layer == 0
    }
    /// The version it installs.
    #[must_use]
    pub fn version(&self) -> VersionView<'a> {
        version_of(self.version)
    }
    /// The installed versions it may upgrade from.
    #[must_use]
    pub fn upgrade_from(&self) -> ReqView<'a> {
        req_of(self.upgrade_from)
    }
    /// Size of the full image in bytes.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }
    /// SHA-256 of the full image.
    #[must_use]
    pub fn sha256(&self) -> &'a [u8; 32] {
        digest(self.sha256)
    }
    /// Bytes per chunk, when the image has chunk digests.
    #[must_use]
    pub fn chunk_size(&self) -> Option<u32> {
        self.chunk_size
    }
    /// Number of chunk digests (0 without chunks).
    #[must_use]
    pub fn chunk_count(&self) -> usize {
        self.chunk_sha256.len() / 32
    }
    /// SHA-256 of chunk `i`.
    #[must_use]
    pub fn chunk_sha256(&self, i: usize) -> Option<&'a [u8; 32]> {
        let start = i.checked_mul(32)?;
        let b = self.chunk_sha256.get(start..start.checked_add(32)?)?;
        b.try_into().ok()
    }
    /// Install order among independent components (lower first; 0 when absent).
    #[must_use]
    pub fn order(&self) -> u32 {
        self.order
    }
    /// The delta sources, in manifest order.
    #[must_use]
    pub fn deltas(&self) -> Deltas<'a> {
        Deltas(Items::new(self.deltas))
    }
}

/// A delta a device may fetch instead of the full image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaView<'a> {
    from_version: &'a str,
    from_sha256: &'a [u8],
    patch_size: u64,
    patch_sha256: &'a [u8],
    algorithm: u32,
}

impl<'a> DeltaView<'a> {
    fn read(r: &mut Reader<'a, '_>) -> Result<Self, ViewError> {
        r.record(5)?;
        let from_version = text(table::read(r, &Shape::Version)?);
        let from_sha256 = bytes_of(table::read(r, &Shape::Sha256)?);
        let patch_size = uint(table::read(r, &Shape::Uint)?);
        let patch_sha256 = bytes_of(table::read(r, &Shape::Sha256)?);
        let algorithm = u32::try_from(uint(table::read(r, &Shape::Algorithm)?)).unwrap_or(0);
        Ok(Self {
            from_version,
            from_sha256,
            patch_size,
            patch_sha256,
            algorithm,
        })
    }

    /// The version of the source image.
    #[must_use]
    pub fn from_version(&self) -> VersionView<'a> {
        version_of(self.from_version)
    }
    /// SHA-256 of the source image the patch applies to.
    #[must_use]
    pub fn from_sha256(&self) -> &'a [u8; 32] {
        digest(self.from_sha256)
    }
    /// Patch size in bytes.
    #[must_use]
    pub fn patch_size(&self) -> u64 {
        self.patch_size
    }
    /// SHA-256 of the patch.
    #[must_use]
    pub fn patch_sha256(&self) -> &'a [u8; 32] {
        digest(self.patch_sha256)
    }
    /// The algorithm code: 0 BSDIFF40, 1 ota-delta native, 256 and up vendor-defined.
    #[must_use]
    pub fn algorithm(&self) -> u32 {
        self.algorithm
    }
}

/// A reader over the items of a checked list.
#[derive(Debug, Clone)]
struct Items<'a> {
    r: Reader<'a, 'static>,
    left: usize,
    index: usize,
}

impl<'a> Items<'a> {
    fn new(list: List<'a>) -> Self {
        Self {
            r: Reader::new(list.body, &CHECKED),
            left: list.count,
            index: 0,
        }
    }

    fn next<T>(
        &mut self,
        read: impl FnOnce(&mut Reader<'a, 'static>, usize) -> Option<T>,
    ) -> Option<T> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let i = self.index;
        self.index += 1;
        let v = read(&mut self.r, i);
        if v.is_none() {
            // Unreachable on checked bytes; stop rather than yield garbage.
            self.left = 0;
        }
        v
    }
}

macro_rules! iterator {
    ($(#[$doc:meta])* $name:ident, $item:ty, |$r:ident, $i:ident| $read:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<'a>(Items<'a>);

        impl<'a> Iterator for $name<'a> {
            type Item = $item;
            fn next(&mut self) -> Option<$item> {
                #[allow(unused_variables)]
                self.0.next(|$r, $i| $read)
            }
            fn size_hint(&self) -> (usize, Option<usize>) {
                (self.0.left, Some(self.0.left))
            }
        }

        impl ExactSizeIterator for $name<'_> {}
    };
}

iterator!(
    /// Vendor or class ids of a [`ManifestView`].
    Ids, &'a [u8], |r, i| r.bytes().ok().map(|(_, b)| b)
);
iterator!(
    /// Text strings of a [`ManifestView`] (exact hardware revisions).
    Texts, &'a str, |r, i| r.text().ok()
);
iterator!(
    /// Version requirements of a [`ManifestView`] (hardware ranges).
    Reqs, ReqView<'a>, |r, i| r.text().ok().and_then(ReqView::parse)
);
iterator!(
    /// The components of a [`ManifestView`].
    Components, ComponentView<'a>, |r, i| ComponentView::read(r, i).ok()
);
iterator!(
    /// The delta sources of a [`ComponentView`].
    Deltas, DeltaView<'a>, |r, i| DeltaView::read(r).ok()
);
