//! Streaming, verified, resumable apply of native patches.

use std::io::{Read, Write};

use crate::codec::{self, DecodeError};
use crate::error::{Error, Result};
use crate::format::{
    Codec, Cursor, FRAME_HEADER_LEN, FrameHeader, HEADER_LEN, Header, Mode, frame_check,
};
use crate::limits::Limits;
use crate::mcu::SourceCheck;
use crate::recon::{ReconstructError, SourceRead, reconstruct};
use crate::sha::RunningSha256;
use crate::source::Source;
use sha2::Digest;

/// Settings for [`Apply`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Size limits checked against the patch header.
    pub limits: Limits,
    /// Source verification.
    pub source_check: SourceCheck,
}

/// A native patch being applied, one frame at a time.
///
/// Working memory is at most `max_payload + max_raw + frame_size` bytes plus the LZMA2
/// dictionary, all bounded by [`Limits`] before anything is allocated; the source is read by
/// position, never loaded whole.
///
/// Each call to [`Apply::next_frame`] reads one frame from the patch stream, decodes it,
/// checks it, and only then writes its target bytes to the sink and returns the [`Cursor`] to
/// persist. The target's SHA-256 is checked before the last frame is released.
#[derive(Debug)]
pub struct Apply<R, S> {
    reader: R,
    source: S,
    header: Header,
    digest: [u8; 32],
    index: u32,
    offset: u64,
    hasher: RunningSha256,
    payload: Vec<u8>,
    raw: Vec<u8>,
    target: Vec<u8>,
    finished: bool,
}

impl<R: Read, S: Source> Apply<R, S> {
    /// Reads and validates the header from `patch` (positioned at the patch's first byte) and
    /// checks the source's size and, unless told otherwise, its SHA-256. Nothing is written.
    ///
    /// The source is taken by value: pass `&source` (every `&S` is a [`Source`] too) to keep it.
    ///
    /// # Errors
    /// Any header error ([`Error::BadMagic`], [`Error::HeaderCorrupt`], [`Error::InvalidField`],
    /// [`Error::LimitExceeded`], [`Error::Truncated`]), [`Error::SourceSizeMismatch`],
    /// [`Error::SourceDigestMismatch`], or an I/O error.
    pub fn new(mut patch: R, source: S, opts: &ApplyOptions) -> Result<Self> {
        let mut hb = [0u8; HEADER_LEN];
        read_full(&mut patch, &mut hb, 0)?;
        let mut job = Self::open(&hb, patch, source, opts)?;
        job.check_source(opts)?;
        if job.header.frame_count == 0 {
            job.finish_checks()?;
        }
        Ok(job)
    }

    /// Continues an interrupted apply from `cursor`.
    ///
    /// - `header`: the patch's first [`HEADER_LEN`] bytes (kept by the device, or fetched again);
    /// - `rest`: the patch from byte [`Cursor::patch_offset`] on (a range request); the bytes
    ///   between the header and the cursor are not needed;
    /// - `stored`: reads back the target bytes already written, from the target's first byte.
    ///   Its first [`Cursor::target_offset`] bytes are hashed again and must give the cursor's
    ///   hash state, so bytes that changed in storage since they were written (a flash bit flip
    ///   across a power cut, a tampered staging file) are refused here rather than covered by
    ///   the final digest check, which only sees the bytes this process produced. This costs one
    ///   read of the stored prefix per resume, nothing on an uninterrupted apply.
    ///
    /// The sink given to [`Apply::next_frame`] must then continue right after those
    /// `target_offset` bytes. With a final cursor (after the last frame) nothing is left to
    /// write: the whole stored target is checked against the header's digest and the job is
    /// finished.
    ///
    /// # Errors
    /// As [`Apply::new`], [`Error::BadCursor`] when the cursor is not one of this patch's, and
    /// [`Error::StoredTargetMismatch`] when the stored bytes are shorter than the cursor says or
    /// differ from what was written.
    pub fn resume<T: Read>(
        header: &[u8; HEADER_LEN],
        rest: R,
        source: S,
        cursor: &Cursor,
        mut stored: T,
        opts: &ApplyOptions,
    ) -> Result<Self> {
        let mut job = Self::open(header, rest, source, opts)?;
        let h = &job.header;
        if cursor.patch_id != job.digest[..4] {
            return Err(Error::BadCursor("cursor belongs to another patch"));
        }
        if cursor.frame_index > h.frame_count {
            return Err(Error::BadCursor("frame index past the last frame"));
        }
        // Frames have variable lengths (FORMAT.md §4): the frame read at the cursor checks its
        // index and target offset, so a cursor that passes these bounds but lies is caught there.
        let last = cursor.frame_index == h.frame_count;
        if cursor.target_offset > h.target_size
            || (cursor.target_offset == h.target_size) != last
            || cursor.target_offset < u64::from(cursor.frame_index)
            || cursor.patch_offset < HEADER_LEN as u64
        {
            return Err(Error::BadCursor("offsets inconsistent with the patch"));
        }
        if last && cursor.hash_state != h.target_sha256 {
            return Err(Error::BadCursor(
                "final cursor does not carry the target digest",
            ));
        }
        // What storage holds now, not what the cursor says was written.
        job.hasher = rehash_stored(&mut stored, cursor.target_offset)?;
        if !last && job.hasher.chaining_state() != Some(cursor.hash_state) {
            return Err(Error::StoredTargetMismatch {
                offset: cursor.target_offset,
            });
        }
        job.check_source(opts)?;
        job.index = cursor.frame_index;
        job.offset = cursor.patch_offset;
        if last {
            // A mismatch here can only be the stored bytes: the cursor carries the digest.
            if job.hasher.clone().finalize() != job.header.target_sha256 {
                return Err(Error::StoredTargetMismatch {
                    offset: cursor.target_offset,
                });
            }
            job.finish_checks()?;
        }
        Ok(job)
    }

    fn open(hb: &[u8; HEADER_LEN], reader: R, source: S, opts: &ApplyOptions) -> Result<Self> {
        let header = Header::parse(hb, &opts.limits)?;
        Ok(Self {
            reader,
            source,
            digest: Header::digest(hb),
            header,
            index: 0,
            offset: HEADER_LEN as u64,
            hasher: RunningSha256::new(),
            payload: Vec::new(),
            raw: Vec::new(),
            target: Vec::new(),
            finished: false,
        })
    }

    /// The source's size and, unless the caller vouches for it, its SHA-256.
    fn check_source(&self, opts: &ApplyOptions) -> Result<()> {
        let header = &self.header;
        if header.mode == Mode::Full {
            return Ok(());
        }
        if self.source.size() != header.source_size {
            return Err(Error::SourceSizeMismatch {
                expected: header.source_size,
                actual: self.source.size(),
            });
        }
        if opts.source_check == SourceCheck::Verify {
            let mut h = RunningSha256::new();
            let mut buf = vec![0u8; 64 << 10];
            let mut off = 0u64;
            while off < header.source_size {
                let n = (header.source_size - off).min(buf.len() as u64) as usize;
                self.source.read_exact_at(off, &mut buf[..n])?;
                h.update(&buf[..n]);
                off += n as u64;
            }
            if h.finalize() != header.source_sha256 {
                return Err(Error::SourceDigestMismatch);
            }
        }
        Ok(())
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// True once every frame has been written and the target digest matched.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Applies the next frame: reads, decodes and checks it, writes its target bytes to `sink`
    /// and returns the cursor to persist once those bytes are durable. Returns `None` when the
    /// patch is complete (the last frame's call already verified the whole target).
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::InvalidField`], [`Error::FrameMalformed`],
    /// [`Error::FrameCorrupt`], [`Error::TargetDigestMismatch`], [`Error::TrailingData`] or I/O.
    /// After an error nothing of the failing frame has been written.
    pub fn next_frame<W: Write + ?Sized>(&mut self, sink: &mut W) -> Result<Option<Cursor>> {
        self.next_frame_observed(sink, &mut |_, _, _, _| {})
    }

    pub(crate) fn next_frame_observed<W: Write + ?Sized>(
        &mut self,
        sink: &mut W,
        on_record: &mut dyn FnMut(u64, u64, i64, i64),
    ) -> Result<Option<Cursor>> {
        if self.finished {
            return Ok(None);
        }
        let h = &self.header;
        let (index, frame_off) = (self.index, self.offset);
        let mut fhb = [0u8; FRAME_HEADER_LEN];
        read_full(&mut self.reader, &mut fhb, frame_off)?;
        let start = self.hasher.len();
        let fh = FrameHeader::parse(&fhb, h, index, start, frame_off)?;
        let (mode, codec, last) = (h.mode, h.codec, index + 1 == h.frame_count);
        let (payload_len, raw_len) = (fh.payload_len, fh.raw_len);
        self.payload.resize(payload_len as usize, 0);
        read_full(
            &mut self.reader,
            &mut self.payload,
            frame_off + FRAME_HEADER_LEN as u64,
        )?;
        let malformed = |reason| Error::FrameMalformed {
            index,
            offset: frame_off,
            reason,
        };
        let raw: &[u8] = match codec {
            Codec::Stored => &self.payload,
            Codec::Lzma2 { props, dict_size } => {
                self.raw.resize(raw_len as usize, 0);
                codec::decompress(&self.payload, &mut self.raw, props, dict_size).map_err(|e| {
                    match e {
                        DecodeError::Malformed(r) => malformed(r),
                        DecodeError::Internal(s) => Error::Codec(s),
                    }
                })?;
                &self.raw
            }
            Codec::Deflate => {
                self.raw.resize(raw_len as usize, 0);
                codec::inflate(&self.payload, &mut self.raw).map_err(|e| match e {
                    DecodeError::Malformed(r) => malformed(r),
                    DecodeError::Internal(s) => Error::Codec(s),
                })?;
                &self.raw
            }
        };
        // A frame longer than `frame_size` (bsdiff mode) is reconstructed twice through a
        // window of `frame_size` bytes: once to check it, once to release it (FORMAT.md §4).
        let tl = u64::from(fh.target_len);
        let window = tl.min(u64::from(h.frame_size)) as usize;
        self.target.resize(window, 0);
        let whole = window as u64 == tl;
        let mut check = frame_check(&self.digest, index, start, &fh);
        check.update(&self.payload);
        let mut running = self.hasher.clone();
        let failed = |e| match e {
            ReconstructError::Malformed(r) => malformed(r),
            ReconstructError::Failed(e) => e,
        };
        reconstruct(
            mode,
            raw,
            &mut StdSource(&self.source),
            start,
            tl,
            &mut self.target,
            &mut *on_record,
            &mut |b| {
                check.update(b);
                running.update(b);
                Ok(())
            },
        )
        .map_err(failed)?;
        if check.finalize()[..] != fh.check {
            return Err(Error::FrameCorrupt {
                index,
                offset: frame_off,
            });
        }
        self.hasher = running;
        let next_off = frame_off + FRAME_HEADER_LEN as u64 + u64::from(payload_len);
        let hash_state = if last {
            self.offset = next_off;
            self.finish_checks()?;
            self.header.target_sha256
        } else {
            self.hasher
                .chaining_state()
                .ok_or(malformed("frame not on a 64-byte boundary"))?
        };
        if whole {
            sink.write_all(&self.target)?;
        } else {
            // Second pass: the same bytes again, checked again as they go out (a source that
            // changed in between is reported, though part of the frame is then written).
            let mut again = frame_check(&self.digest, index, start, &fh);
            again.update(&self.payload);
            let raw: &[u8] = match codec {
                Codec::Stored => &self.payload,
                Codec::Lzma2 { .. } | Codec::Deflate => &self.raw,
            };
            reconstruct(
                mode,
                raw,
                &mut StdSource(&self.source),
                start,
                tl,
                &mut self.target,
                &mut |_, _, _, _| {},
                &mut |b| {
                    again.update(b);
                    sink.write_all(b)
                        .map_err(|e| ReconstructError::Failed(Error::Io(e)))
                },
            )
            .map_err(failed)?;
            if again.finalize()[..] != fh.check {
                return Err(Error::FrameCorrupt {
                    index,
                    offset: frame_off,
                });
            }
        }
        self.index = index + 1;
        self.offset = next_off;
        Ok(Some(Cursor {
            frame_index: self.index,
            patch_offset: next_off,
            target_offset: self.hasher.len(),
            hash_state,
            patch_id: [
                self.digest[0],
                self.digest[1],
                self.digest[2],
                self.digest[3],
            ],
        }))
    }

    /// Final checks: the running digest equals the header's and the patch has no trailing bytes.
    fn finish_checks(&mut self) -> Result<()> {
        if self.hasher.len() != self.header.target_size
            || self.hasher.clone().finalize() != self.header.target_sha256
        {
            return Err(Error::TargetDigestMismatch);
        }
        let mut one = [0u8; 1];
        loop {
            match self.reader.read(&mut one) {
                Ok(0) => break,
                Ok(_) => {
                    return Err(Error::TrailingData {
                        offset: self.offset,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.finished = true;
        Ok(())
    }

    /// Runs all remaining frames, returning the number of target bytes written by this call.
    ///
    /// # Errors
    /// As [`Apply::next_frame`].
    pub fn run<W: Write + ?Sized>(&mut self, sink: &mut W) -> Result<u64> {
        let mut n = 0u64;
        let before = self.hasher.len();
        while self.next_frame(sink)?.is_some() {
            n = self.hasher.len() - before;
        }
        Ok(n)
    }
}

/// A std [`Source`] as reconstruction reads it.
struct StdSource<'a, S: ?Sized>(&'a S);

impl<S: Source + ?Sized> SourceRead for StdSource<'_, S> {
    fn size(&self) -> u64 {
        self.0.size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        Ok(self.0.read_exact_at(offset, buf)?)
    }
}

/// Reads exactly `buf.len()` bytes; a short read is [`Error::Truncated`] at the end offset.
fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8], offset: u64) -> Result<()> {
    let mut got = 0usize;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => {
                return Err(Error::Truncated {
                    offset: offset + got as u64,
                });
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Applies a whole native patch read from `patch` to `source`, streaming the target into `sink`,
/// with the default [`ApplyOptions`]. Returns the target size.
///
/// # Errors
/// Any error of [`Apply::new`] and [`Apply::next_frame`].
pub fn apply_patch<R: Read, S: Source, W: Write>(patch: R, source: S, mut sink: W) -> Result<u64> {
    let mut job = Apply::new(patch, source, &ApplyOptions::default())?;
    job.run(&mut sink)?;
    sink.flush()?;
    Ok(job.header.target_size)
}

/// Hashes the first `len` bytes of `stored`; fewer bytes than that is a mismatch.
fn rehash_stored<T: Read>(stored: &mut T, len: u64) -> Result<RunningSha256> {
    let mut h = RunningSha256::new();
    let mut buf = vec![0u8; (64 << 10).min(len) as usize];
    while h.len() < len {
        let want = (len - h.len()).min(buf.len() as u64) as usize;
        match stored.read(&mut buf[..want]) {
            Ok(0) => return Err(Error::StoredTargetMismatch { offset: h.len() }),
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(h)
}

/// Reads and validates just the header of a native patch.
///
/// # Errors
/// As the header checks of [`Apply::new`].
pub fn read_header<R: Read>(mut patch: R, limits: &Limits) -> Result<Header> {
    let mut hb = [0u8; HEADER_LEN];
    read_full(&mut patch, &mut hb, 0)?;
    Header::parse(&hb, limits)
}
