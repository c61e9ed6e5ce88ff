//! Helpers that fill sizes and digests from image bytes, so nobody types a digest by hand.

use std::io::Read;

use semver::{Version, VersionReq};
use sha2::Digest as _;

use crate::digest::Sha256;
use crate::error::{DecodeError, Error, Result};
use crate::model::{Chunks, Component, DeltaAlgorithm, DeltaSource, Extensions, Layer};

impl Component {
    /// A component for `image`: size, SHA-256 and, with `chunk_size`, one SHA-256 per chunk.
    /// Everything optional (deltas, dependencies, URIs...) starts empty.
    ///
    /// # Errors
    /// [`Error::Field`] if `chunk_size` is `Some(0)`.
    pub fn from_image(
        id: impl Into<String>,
        layer: Layer,
        version: Version,
        upgrade_from: VersionReq,
        image: &[u8],
        chunk_size: Option<u32>,
    ) -> Result<Self> {
        Self::from_reader(
            id,
            layer,
            version,
            upgrade_from,
            image,
            chunk_size,
            image.len() as u64,
        )
    }

    /// As [`Component::from_image`], streaming the image from `reader` (in 64 KiB reads) and
    /// refusing images larger than `max_size`.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::TooLarge`], or [`Error::Field`] if `chunk_size` is `Some(0)`.
    pub fn from_reader(
        id: impl Into<String>,
        layer: Layer,
        version: Version,
        upgrade_from: VersionReq,
        mut reader: impl Read,
        chunk_size: Option<u32>,
        max_size: u64,
    ) -> Result<Self> {
        if chunk_size == Some(0) {
            return Err(Error::Field {
                field: "chunks.chunk_size".into(),
                kind: DecodeError::OutOfRange("chunk size 0"),
            });
        }
        let mut whole = sha2::Sha256::new();
        let mut chunk = sha2::Sha256::new();
        let mut in_chunk: u64 = 0;
        let mut chunks = Vec::new();
        let mut size: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::from(e)),
            };
            size = size.saturating_add(n as u64);
            if size > max_size {
                return Err(Error::TooLarge {
                    size: usize::try_from(size).unwrap_or(usize::MAX),
                    max: usize::try_from(max_size).unwrap_or(usize::MAX),
                });
            }
            let mut data = &buf[..n];
            whole.update(data);
            if let Some(cs) = chunk_size {
                let cs = u64::from(cs);
                while !data.is_empty() {
                    let room = usize::try_from(cs - in_chunk).unwrap_or(usize::MAX);
                    let take = room.min(data.len());
                    chunk.update(&data[..take]);
                    in_chunk += take as u64;
                    data = &data[take..];
                    if in_chunk == cs {
                        chunks.push(Sha256(chunk.finalize_reset().into()));
                        in_chunk = 0;
                    }
                }
            }
        }
        if in_chunk > 0 {
            chunks.push(Sha256(chunk.finalize().into()));
        }
        Ok(Self {
            id: id.into(),
            layer,
            version,
            upgrade_from,
            size,
            sha256: Sha256(whole.finalize().into()),
            chunks: chunk_size.map(|chunk_size| Chunks {
                chunk_size,
                sha256: chunks,
            }),
            deltas: Vec::new(),
            dependencies: Vec::new(),
            order: 0,
            sbom: None,
            uris: Vec::new(),
            image: None,
            update_class: None,
            cves: Vec::new(),
            extensions: Extensions::new(),
        })
    }
}

impl DeltaSource {
    /// A delta source from the source image and the patch bytes.
    #[must_use]
    pub fn from_patch(
        from_version: Version,
        from_image: &[u8],
        patch: &[u8],
        algorithm: DeltaAlgorithm,
    ) -> Self {
        Self {
            from_version,
            from_sha256: Sha256::of(from_image),
            patch_size: patch.len() as u64,
            patch_sha256: Sha256::of(patch),
            algorithm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_digests_match_an_independent_split() {
        let image: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let v = Version::new(1, 0, 0);
        let c = Component::from_image(
            "x",
            Layer::Firmware,
            v,
            VersionReq::STAR,
            &image,
            Some(4096),
        )
        .unwrap();
        let expect: Vec<Sha256> = image.chunks(4096).map(Sha256::of).collect();
        assert_eq!(c.chunks.unwrap().sha256, expect);
        assert_eq!(c.size, 200_000);
        assert_eq!(c.sha256, Sha256::of(&image));
    }

    #[test]
    fn reader_over_limit_and_zero_chunk_size_are_errors() {
        let image = [1u8; 100];
        let v = Version::new(1, 0, 0);
        let r = Component::from_reader(
            "x",
            Layer::Model,
            v.clone(),
            VersionReq::STAR,
            &image[..],
            None,
            99,
        );
        assert!(matches!(r, Err(Error::TooLarge { max: 99, .. })));
        let r = Component::from_image("x", Layer::Model, v, VersionReq::STAR, &image, Some(0));
        assert!(matches!(r, Err(Error::Field { .. })));
    }

    /// A reader that fails with a custom error.
    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "disk says no",
            ))
        }
    }

    #[test]
    fn io_error_is_kept_as_the_source() {
        let v = Version::new(1, 0, 0);
        let e = Component::from_reader("x", Layer::Model, v, VersionReq::STAR, Failing, None, 9)
            .unwrap_err();
        let source = std::error::Error::source(&e).expect("the io::Error is the source");
        let io = source
            .downcast_ref::<std::sync::Arc<std::io::Error>>()
            .expect("the shared io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied));
        assert_eq!(e.to_string(), "reading the image failed: disk says no");
        assert_eq!(e.clone(), e);
    }
}
