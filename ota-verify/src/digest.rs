//! SHA-256 digests checked as bytes stream in: a size-capped verifier (no_std), `io::Write` and
//! `io::Read` adapters over it (std), and a chunked verifier that resumes after a power cut.

use core::fmt;

use sha2::{Digest as _, Sha256 as Sha256Hasher};

use crate::error::{Error, Result};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// The digest of `data`.
    pub fn digest(data: &[u8]) -> Self {
        Self(Sha256Hasher::digest(data).into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl TryFrom<&[u8]> for Sha256 {
    type Error = Error;

    fn try_from(bytes: &[u8]) -> Result<Self> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::Malformed {
                offset: 0,
                reason: "SHA-256 digest is not 32 bytes",
            })
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

/// Hashes bytes as they arrive, never takes more than the expected length, and checks size and
/// digest at the end. The core of the streaming adapters; usable on its own without std.
#[derive(Clone)]
pub struct DigestVerifier {
    expected_len: u64,
    expected: Sha256,
    seen: u64,
    hasher: Sha256Hasher,
}

impl DigestVerifier {
    /// Expects exactly `expected_len` bytes whose SHA-256 is `expected`.
    pub fn new(expected_len: u64, expected: Sha256) -> Self {
        Self {
            expected_len,
            expected,
            seen: 0,
            hasher: Sha256Hasher::new(),
        }
    }

    /// Bytes still expected.
    pub fn remaining(&self) -> u64 {
        self.expected_len - self.seen
    }

    /// Bytes taken so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Takes the next bytes.
    ///
    /// # Errors
    /// [`Error::SizeExceeded`] if they would go past the expected length; then none of them is
    /// taken (the state is unchanged).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        if data.len() as u64 > self.remaining() {
            return Err(Error::SizeExceeded {
                limit: self.expected_len,
            });
        }
        self.hasher.update(data);
        self.seen += data.len() as u64;
        Ok(())
    }

    /// Checks that every expected byte came and that the digest matches.
    ///
    /// # Errors
    /// [`Error::SizeMismatch`] if the data was short, [`Error::DigestMismatch`] if it differs.
    pub fn finish(self) -> Result<()> {
        if self.seen != self.expected_len {
            return Err(Error::SizeMismatch {
                expected: self.expected_len,
                got: self.seen,
            });
        }
        let got: [u8; 32] = self.hasher.finalize().into();
        if got == self.expected.0 {
            Ok(())
        } else {
            Err(Error::DigestMismatch { chunk: None })
        }
    }
}

#[cfg(feature = "std")]
fn io_error(e: Error) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e)
}

/// An `io::Write` adapter: bytes pass to the inner writer and through the hash; a write that
/// would go past the expected length fails with [`Error::SizeExceeded`] (as an
/// `io::ErrorKind::InvalidData` error) and writes nothing. Call [`HashingWriter::finish`] at the
/// end: until it returns `Ok` the data must be treated as untrusted.
#[cfg(feature = "std")]
pub struct HashingWriter<W> {
    inner: W,
    check: DigestVerifier,
}

#[cfg(feature = "std")]
impl<W: std::io::Write> HashingWriter<W> {
    /// Wraps `inner`, expecting `expected_len` bytes with digest `expected`.
    pub fn new(inner: W, expected_len: u64, expected: Sha256) -> Self {
        Self {
            inner,
            check: DigestVerifier::new(expected_len, expected),
        }
    }

    /// Checks size and digest, and gives back the inner writer on success.
    ///
    /// # Errors
    /// [`Error::SizeMismatch`] or [`Error::DigestMismatch`].
    pub fn finish(self) -> Result<W> {
        self.check.finish()?;
        Ok(self.inner)
    }
}

#[cfg(feature = "std")]
impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.check.remaining() {
            return Err(io_error(Error::SizeExceeded {
                limit: self.check.expected_len,
            }));
        }
        let n = self.inner.write(buf)?;
        // Only what the inner writer took is hashed, so a short write keeps both in step.
        self.check
            .update(buf.get(..n).unwrap_or(buf))
            .map_err(io_error)?;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// An `io::Read` adapter: hashes what is read, never reads more than the expected length from
/// the inner reader plus one probe byte, and fails (`io::ErrorKind::InvalidData` carrying
/// [`Error::SizeExceeded`]) if the source has more. At end of stream it checks size and digest,
/// so `read_to_end` fails rather than returning unverified data as complete. Once it has failed
/// it keeps failing: a caller that retries never sees a clean end of stream.
#[cfg(feature = "std")]
pub struct HashingReader<R> {
    inner: R,
    check: DigestVerifier,
    state: ReadState,
}

#[cfg(feature = "std")]
enum ReadState {
    Reading,
    Verified,
    Failed(Error),
}

#[cfg(feature = "std")]
impl<R: std::io::Read> HashingReader<R> {
    /// Wraps `inner`, expecting `expected_len` bytes with digest `expected`.
    pub fn new(inner: R, expected_len: u64, expected: Sha256) -> Self {
        Self {
            inner,
            check: DigestVerifier::new(expected_len, expected),
            state: ReadState::Reading,
        }
    }

    /// Bytes read so far.
    pub fn seen(&self) -> u64 {
        self.check.seen()
    }

    /// True once the end of the stream was reached with the right size and digest.
    pub fn is_verified(&self) -> bool {
        matches!(self.state, ReadState::Verified)
    }

    fn end(&mut self, result: Result<()>) -> std::io::Result<usize> {
        match result {
            Ok(()) => {
                self.state = ReadState::Verified;
                Ok(0)
            }
            Err(e) => {
                self.state = ReadState::Failed(e.clone());
                Err(io_error(e))
            }
        }
    }
}

#[cfg(feature = "std")]
impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match &self.state {
            ReadState::Verified => return Ok(0),
            ReadState::Failed(e) => return Err(io_error(e.clone())),
            ReadState::Reading => {}
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let remaining = self.check.remaining();
        if remaining == 0 {
            // All expected bytes are in: one more byte from the source means endless data.
            let mut probe = [0u8; 1];
            let n = self.inner.read(&mut probe)?;
            let result = if n != 0 {
                Err(Error::SizeExceeded {
                    limit: self.check.expected_len,
                })
            } else {
                self.check.clone().finish()
            };
            return self.end(result);
        }
        let cap = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let dst = buf.get_mut(..cap).unwrap_or_default();
        let n = self.inner.read(dst)?;
        if n == 0 {
            let result = self.check.clone().finish();
            return self.end(result);
        }
        self.check
            .update(dst.get(..n).unwrap_or_default())
            .map_err(io_error)?;
        Ok(n)
    }
}

/// Checks a download chunk by chunk against a table of per-chunk SHA-256 digests, in order, so
/// that after a power cut it resumes at the first unverified chunk without re-reading the
/// verified ones. The table is borrowed from the caller (e.g. from a signed manifest) as the
/// concatenated 32-byte digests; [`ChunkVerifier::table_digest`] is the single digest that a
/// signature needs to cover to authenticate the whole table.
#[derive(Clone, Debug)]
pub struct ChunkVerifier<'t> {
    total_len: u64,
    chunk_len: u32,
    table: &'t [u8],
    next: u64,
}

impl<'t> ChunkVerifier<'t> {
    /// Starts at chunk 0.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `chunk_len` is 0 or the table does not hold exactly
    /// `ceil(total_len / chunk_len)` digests.
    pub fn new(total_len: u64, chunk_len: u32, table: &'t [u8]) -> Result<Self> {
        Self::resume(total_len, chunk_len, table, 0)
    }

    /// Resumes at chunk `next` (the value of [`ChunkVerifier::next_chunk`] that the caller
    /// persisted after the last verified chunk).
    ///
    /// # Errors
    /// As [`ChunkVerifier::new`], and [`Error::ChunkIndex`] if `next` is past the end.
    pub fn resume(total_len: u64, chunk_len: u32, table: &'t [u8], next: u64) -> Result<Self> {
        if chunk_len == 0 {
            return Err(Error::Malformed {
                offset: 0,
                reason: "chunk length is zero",
            });
        }
        let count = total_len.div_ceil(u64::from(chunk_len));
        if table.len() as u64 != count.saturating_mul(32) {
            return Err(Error::Malformed {
                offset: 0,
                reason: "chunk table length does not match the chunk count",
            });
        }
        if next > count {
            return Err(Error::ChunkIndex { index: next, count });
        }
        Ok(Self {
            total_len,
            chunk_len,
            table,
            next,
        })
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> u64 {
        self.total_len.div_ceil(u64::from(self.chunk_len))
    }

    /// Index of the next chunk to verify; persist it to resume.
    pub fn next_chunk(&self) -> u64 {
        self.next
    }

    /// Byte offset where the next chunk starts (where a resumed download continues).
    pub fn next_offset(&self) -> u64 {
        self.next.saturating_mul(u64::from(self.chunk_len))
    }

    /// True when every chunk has been verified.
    pub fn is_complete(&self) -> bool {
        self.next == self.chunk_count()
    }

    /// Length of chunk `index` (the last one may be short).
    fn len_of(&self, index: u64) -> u64 {
        let start = index.saturating_mul(u64::from(self.chunk_len));
        (self.total_len - start.min(self.total_len)).min(u64::from(self.chunk_len))
    }

    /// Verifies the next chunk and advances.
    ///
    /// # Errors
    /// [`Error::SizeExceeded`] when every chunk is verified already or `data` is longer than the
    /// chunk, [`Error::SizeMismatch`] if shorter, [`Error::DigestMismatch`] with the chunk index
    /// if its digest differs. On error nothing advances.
    pub fn verify_chunk(&mut self, data: &[u8]) -> Result<()> {
        if self.is_complete() {
            return Err(Error::SizeExceeded {
                limit: self.total_len,
            });
        }
        let want = self.len_of(self.next);
        let got = data.len() as u64;
        if got > want {
            return Err(Error::SizeExceeded { limit: want });
        }
        if got < want {
            return Err(Error::SizeMismatch {
                expected: want,
                got,
            });
        }
        let at = usize::try_from(self.next.saturating_mul(32)).unwrap_or(usize::MAX);
        let expected = self.table.get(at..at.saturating_add(32));
        let actual: [u8; 32] = Sha256Hasher::digest(data).into();
        if expected != Some(&actual[..]) {
            return Err(Error::DigestMismatch {
                chunk: Some(self.next),
            });
        }
        self.next += 1;
        Ok(())
    }

    /// SHA-256 over the table: sign this (e.g. in a manifest) to authenticate every chunk.
    pub fn table_digest(&self) -> Sha256 {
        Sha256::digest(self.table)
    }
}

/// Builds the chunk table for `data` (the concatenated SHA-256 of each `chunk_len` piece).
///
/// # Errors
/// [`Error::Malformed`] if `chunk_len` is 0.
#[cfg(feature = "alloc")]
pub fn chunk_table(data: &[u8], chunk_len: u32) -> Result<alloc::vec::Vec<u8>> {
    if chunk_len == 0 {
        return Err(Error::Malformed {
            offset: 0,
            reason: "chunk length is zero",
        });
    }
    let size = usize::try_from(chunk_len).unwrap_or(usize::MAX);
    let mut out = alloc::vec::Vec::with_capacity(data.len().div_ceil(size) * 32);
    for chunk in data.chunks(size) {
        out.extend_from_slice(&Sha256Hasher::digest(chunk));
    }
    Ok(out)
}

/// The smallest useful release payload: the size and SHA-256 of an image, encoded as the CBOR
/// array `[size, h'digest']`. A product that uses only this crate signs one of these (with a
/// sequence number and expiry in the envelope) and streams the image through
/// [`ImageRef::verifier`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Exact image size in bytes.
    pub size: u64,
    /// SHA-256 of the image.
    pub sha256: Sha256,
}

impl ImageRef {
    /// The reference of `image`.
    pub fn of(image: &[u8]) -> Self {
        Self {
            size: image.len() as u64,
            sha256: Sha256::digest(image),
        }
    }

    /// Decodes `[size, h'digest']` (shortest-form CBOR, nothing trailing).
    ///
    /// # Errors
    /// [`Error::Malformed`] with the byte offset.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = crate::cbor::Reader::new(bytes);
        let at = r.offset();
        if r.array()? != 2 {
            return Err(Error::Malformed {
                offset: at,
                reason: "image reference must be [size, digest]",
            });
        }
        let size = r.uint()?;
        let at = r.offset();
        let sha256 = Sha256::try_from(r.bstr()?).map_err(|_| Error::Malformed {
            offset: at,
            reason: "SHA-256 digest is not 32 bytes",
        })?;
        r.finish()?;
        Ok(Self { size, sha256 })
    }

    /// Writes the encoding into `buf` (at most 45 bytes) and returns its length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn encode_into(&self, buf: &mut [u8]) -> Result<usize> {
        let mut s = ota_cbor::SliceSink::new(buf);
        ota_cbor::write_array(&mut s, 2);
        ota_cbor::write_uint(&mut s, self.size);
        ota_cbor::write_bytes(&mut s, &self.sha256.0);
        match s.written() {
            Some(w) => Ok(w.len()),
            None => Err(Error::BufferTooSmall { needed: s.needed() }),
        }
    }

    /// The encoding.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> alloc::vec::Vec<u8> {
        let mut buf = [0u8; 48];
        let n = self.encode_into(&mut buf).unwrap_or(0);
        buf.get(..n).unwrap_or_default().to_vec()
    }

    /// A verifier expecting exactly this image.
    pub fn verifier(&self) -> DigestVerifier {
        DigestVerifier::new(self.size, self.sha256)
    }
}
