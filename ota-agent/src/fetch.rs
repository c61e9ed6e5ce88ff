//! Byte-range downloads behind the [`Fetch`] trait, and a file implementation.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// What to fetch: resources are named by their signed digests (content addressing), so a
/// fetcher maps them to URIs however its server lays them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// A full image.
    Image {
        /// The component id.
        component: &'a str,
        /// The image's SHA-256.
        sha256: &'a [u8; 32],
    },
    /// A patch.
    Patch {
        /// The component id.
        component: &'a str,
        /// SHA-256 of the image it applies to.
        from_sha256: &'a [u8; 32],
        /// SHA-256 of the patch.
        patch_sha256: &'a [u8; 32],
    },
}

impl Resource<'_> {
    /// The digest that names the bytes (the image's or the patch's).
    #[must_use]
    pub fn digest(&self) -> &[u8; 32] {
        match self {
            Resource::Image { sha256, .. } => sha256,
            Resource::Patch { patch_sha256, .. } => patch_sha256,
        }
    }
}

/// Why a fetch failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The connection dropped or timed out: try again later, from the same offset.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// The server does not have the resource.
    #[error("not found: {0}")]
    NotFound(String),
    /// A transport the fetcher does not speak.
    #[error("unsupported protocol: {0}")]
    UnsupportedProtocol(String),
}

/// Reads byte ranges of resources.
pub trait Fetch {
    /// Fills `buf` from `offset` as far as it can; returns the bytes read, 0 at the end.
    ///
    /// # Errors
    /// A [`FetchError`].
    fn fetch(
        &mut self,
        what: &Resource<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, FetchError>;
}

impl<F: Fetch + ?Sized> Fetch for &mut F {
    fn fetch(
        &mut self,
        what: &Resource<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, FetchError> {
        (**self).fetch(what, offset, buf)
    }
}

/// Serves resources from a directory, each in a file named by the lowercase hex of its digest.
#[derive(Debug)]
pub struct FileFetch {
    dir: PathBuf,
}

impl FileFetch {
    /// Serves from `dir`.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileFetch { dir: dir.into() }
    }

    /// The file name of a digest.
    #[must_use]
    pub fn name(digest: &[u8; 32]) -> String {
        use std::fmt::Write;
        digest.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

impl Fetch for FileFetch {
    fn fetch(
        &mut self,
        what: &Resource<'_>,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, FetchError> {
        let p = self.dir.join(Self::name(what.digest()));
        let mut f = File::open(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                FetchError::NotFound(p.display().to_string())
            } else {
                FetchError::ConnectionLost(e.to_string())
            }
        })?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| FetchError::ConnectionLost(e.to_string()))?;
        let mut n = 0;
        while n < buf.len() {
            match f.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FetchError::ConnectionLost(e.to_string())),
            }
        }
        Ok(n)
    }
}
