//! The MCU profile apply (FORMAT.md §10): `no_std`, no allocation, two caller buffers, the
//! patch pushed in pieces of any size, the source read and the target written through
//! [`McuStorage`], resumable from the same [`Cursor`] as the std apply, verified both ends.

use core::cell::RefCell;

use sha2::Digest;

use crate::error::{Error, Result};
use crate::format::{
    Codec, Cursor, FRAME_HEADER_LEN, FrameHeader, HEADER_LEN, Header, Mode, frame_check,
};
use crate::inflate::inflate_in_place;
use crate::limits::Limits;
use crate::recon::{ReconstructError, SourceRead, reconstruct};
use crate::sha::RunningSha256;

/// Largest `max_raw` (raw content of one frame) of an MCU-profile patch: the largest frame size
/// the encoder accepts, and with [`MCU_INPLACE_MARGIN`] the frame buffer a device needs for any
/// MCU patch.
pub const MCU_MAX_RAW: u32 = 12 * 1024;

/// Frame size of MCU-profile patches unless the caller asks for another: 10 KiB, so that the
/// whole apply fits 16 KiB of RAM on a Cortex-M4 (frame buffer of
/// `mcu_frame_buf_len(MCU_DEFAULT_RAW)` = 10,496 B; benches/RESULTS.md). 12 KiB frames made
/// patches 1-3% smaller on the corpus but need 2 KiB more RAM.
pub const MCU_DEFAULT_RAW: u32 = 10 * 1024;

/// Bytes past a frame's raw content that the frame buffer must also hold: the DEFLATE payload
/// is placed so that it ends there and is decoded in place (FORMAT.md §10.2).
pub const MCU_INPLACE_MARGIN: usize = 256;

/// Frame buffer length needed for frames of at most `max_raw` raw bytes
/// (`max_raw + MCU_INPLACE_MARGIN`); `mcu_frame_buf_len(MCU_DEFAULT_RAW)` takes the patches
/// made with the default frame size, `mcu_frame_buf_len(MCU_MAX_RAW)` every MCU patch.
pub const fn mcu_frame_buf_len(max_raw: u32) -> usize {
    max_raw as usize + MCU_INPLACE_MARGIN
}

/// Whether apply checks the source's SHA-256 before writing anything.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SourceCheck {
    /// Hash the whole source first (reads it once). The default.
    #[default]
    Verify,
    /// The caller has already verified the source against the header's `source_sha256`
    /// (e.g. it is a verified, read-only partition). The target digest is still checked at the
    /// end (and the std apply still checks the source's size).
    TrustCaller,
}

/// The device's storage, as the MCU apply uses it. Errors are the device's own codes, passed
/// through in [`Error::Storage`].
pub trait McuStorage {
    /// Fills `buf` with the source image's bytes at `offset..offset + buf.len()` (always inside
    /// the source size the patch declares).
    ///
    /// # Errors
    /// A device error code.
    fn read_source(&mut self, offset: u64, buf: &mut [u8]) -> core::result::Result<(), i32>;
    /// Writes `data` at `offset` of the target image. Offsets only grow within one run; after a
    /// failed frame or a resume the same offsets are written again.
    ///
    /// # Errors
    /// A device error code.
    fn write_target(&mut self, offset: u64, data: &[u8]) -> core::result::Result<(), i32>;
    /// Reads back target bytes already written (only on resume, to re-hash them).
    ///
    /// # Errors
    /// A device error code.
    fn read_target(&mut self, offset: u64, buf: &mut [u8]) -> core::result::Result<(), i32>;
}

/// Settings for [`McuApply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct McuOptions {
    /// Size limits checked against the patch header (the frame buffer bounds the frames anyway).
    pub limits: Limits,
    /// Source verification.
    pub source_check: SourceCheck,
}

impl Default for McuOptions {
    fn default() -> Self {
        Self {
            limits: Limits {
                max_frame_size: MCU_MAX_RAW,
                ..Limits::default()
            },
            source_check: SourceCheck::Verify,
        }
    }
}

/// What one [`McuApply::feed`] call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Fed {
    /// Every byte given was taken; feed more of the patch.
    NeedMore,
    /// A frame was applied and checked. `used` bytes of the data given were taken (feed the
    /// rest again); persist `cursor` once the target bytes written so far are durable.
    Frame {
        /// Bytes of the data given that were taken.
        used: usize,
        /// Where to resume from after a reset.
        cursor: Cursor,
    },
    /// The last frame was applied and the whole target's SHA-256 matched. Any byte fed after
    /// the `used` ones is [`Error::TrailingData`].
    Finished {
        /// Bytes of the data given that were taken.
        used: usize,
        /// The final cursor (resuming from it re-checks the stored target and finishes).
        cursor: Cursor,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Header,
    FrameHeader,
    Payload,
    Done,
    Failed,
}

/// A native patch in the MCU profile being applied with fixed memory (FORMAT.md §10).
///
/// Memory: this struct (about 800 bytes, `core::mem::size_of::<McuApply>()`), a frame buffer
/// of at least [`mcu_frame_buf_len`]`(max_raw)` bytes (10.25 KiB for patches made with the
/// default frame size, 12.25 KiB for every MCU patch; a patch whose frames need more than the
/// buffer lent is refused at its header with [`Error::BufferTooSmall`]) and a
/// work buffer for source reads and target writes (64 bytes or more; 512 is a good size), both
/// lent by the caller; nothing is allocated.
///
/// Target bytes are written as each frame is reconstructed, and the frame's check value is
/// compared after it: the target must be a slot that is not booted before the apply reports
/// [`Fed::Finished`] (a failed frame leaves bytes that no cursor covers; a resume rewrites them).
#[derive(Debug)]
pub struct McuApply<'b> {
    frame: &'b mut [u8],
    work: &'b mut [u8],
    opts: McuOptions,
    phase: Phase,
    /// Header bytes, then the current frame header's bytes.
    acc: [u8; HEADER_LEN],
    fill: usize,
    header: Option<Header>,
    digest: [u8; 32],
    index: u32,
    /// Patch offset of the next byte expected.
    offset: u64,
    /// SHA-256 of the target bytes of the frames applied and checked.
    target: RunningSha256,
    fh: Option<FrameHeader>,
    frame_off: u64,
    payload_at: usize,
    got: u32,
    check: sha2::Sha256,
    cursor: Option<Cursor>,
}

impl<'b> McuApply<'b> {
    /// A new apply, waiting for the patch's first byte. `frame` must hold
    /// [`mcu_frame_buf_len`]`(max_raw)` bytes of the patches it will see, `work` at least 64.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `work` is under 64 bytes.
    pub fn new(frame: &'b mut [u8], work: &'b mut [u8], opts: McuOptions) -> Result<Self> {
        if work.len() < 64 {
            return Err(Error::BufferTooSmall {
                what: "work",
                have: work.len() as u64,
                need: 64,
            });
        }
        Ok(Self {
            frame,
            work,
            opts,
            phase: Phase::Header,
            acc: [0; HEADER_LEN],
            fill: 0,
            header: None,
            digest: [0; 32],
            index: 0,
            offset: 0,
            target: RunningSha256::new(),
            fh: None,
            frame_off: 0,
            payload_at: 0,
            got: 0,
            check: sha2::Sha256::new(),
            cursor: None,
        })
    }

    /// Continues an interrupted apply: `header` is the patch's first [`HEADER_LEN`] bytes,
    /// `cursor` the last one persisted. The target bytes before the cursor are read back through
    /// [`McuStorage::read_target`] and must hash to the cursor's state (else
    /// [`Error::StoredTargetMismatch`]); then the source is checked as by [`McuApply::feed`] on a
    /// header. Feed the patch from [`Cursor::patch_offset`] on.
    ///
    /// # Errors
    /// Header errors, [`Error::BadCursor`], [`Error::StoredTargetMismatch`], source and storage
    /// errors.
    pub fn resume<S: McuStorage>(
        frame: &'b mut [u8],
        work: &'b mut [u8],
        opts: McuOptions,
        header: &[u8; HEADER_LEN],
        cursor: &Cursor,
        io: &mut S,
    ) -> Result<Self> {
        let mut job = Self::new(frame, work, opts)?;
        let h = job.open(header)?;
        if cursor.patch_id != job.digest[..4] {
            return Err(Error::BadCursor("cursor belongs to another patch"));
        }
        if cursor.frame_index > h.frame_count {
            return Err(Error::BadCursor("frame index past the last frame"));
        }
        let last = cursor.frame_index == h.frame_count;
        if cursor.target_offset > h.target_size
            || (cursor.target_offset == h.target_size) != last
            || cursor.target_offset < u64::from(cursor.frame_index)
            || cursor.patch_offset < HEADER_LEN as u64
            || (!last && !cursor.target_offset.is_multiple_of(64))
        {
            return Err(Error::BadCursor("offsets inconsistent with the patch"));
        }
        if last && cursor.hash_state != h.target_sha256 {
            return Err(Error::BadCursor(
                "final cursor does not carry the target digest",
            ));
        }
        // What storage holds now, not what the cursor says was written.
        let mut hasher = RunningSha256::new();
        while hasher.len() < cursor.target_offset {
            let off = hasher.len();
            let n = (cursor.target_offset - off).min(job.work.len() as u64) as usize;
            let chunk = &mut job.work[..n];
            io.read_target(off, chunk).map_err(|code| Error::Storage {
                op: "target read",
                offset: off,
                code,
            })?;
            hasher.update(chunk);
        }
        let same = if last {
            hasher.clone().finalize() == h.target_sha256
        } else {
            hasher.chaining_state() == Some(cursor.hash_state)
        };
        if !same {
            return Err(Error::StoredTargetMismatch {
                offset: cursor.target_offset,
            });
        }
        job.check_source(&h, io)?;
        job.target = hasher;
        job.index = cursor.frame_index;
        job.offset = cursor.patch_offset;
        job.phase = if last {
            Phase::Done
        } else {
            Phase::FrameHeader
        };
        job.header = Some(h);
        job.cursor = Some(*cursor);
        Ok(job)
    }

    /// The validated header, once it has been fed.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// The cursor of the last frame applied (after the header and the source check: the cursor
    /// of frame 0), `None` before.
    pub fn cursor(&self) -> Option<Cursor> {
        self.cursor
    }

    /// True once the last frame is applied and the target digest matched.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Offset in the patch of the next byte [`McuApply::feed`] expects.
    pub fn patch_offset(&self) -> u64 {
        self.offset
    }

    /// Takes the next bytes of the patch (any number, from the first byte for a new apply or
    /// from the cursor's `patch_offset` after [`McuApply::resume`]). Returns after all of `data`
    /// is taken, or as soon as a frame completes ([`Fed::Frame`]: persist the cursor, then feed
    /// the bytes not yet used). On the header, checks the source (unless the options trust it)
    /// before anything is written.
    ///
    /// # Errors
    /// Any header, frame or storage error; after an error every further call returns
    /// [`Error::Aborted`] (resume from the last cursor).
    pub fn feed<S: McuStorage>(&mut self, data: &[u8], io: &mut S) -> Result<Fed> {
        match self.feed_inner(data, io) {
            Ok(f) => Ok(f),
            Err(e) => {
                self.phase = Phase::Failed;
                Err(e)
            }
        }
    }

    fn feed_inner<S: McuStorage>(&mut self, data: &[u8], io: &mut S) -> Result<Fed> {
        let mut used = 0usize;
        loop {
            let rest = data.get(used..).unwrap_or_default();
            match self.phase {
                Phase::Failed => return Err(Error::Aborted),
                Phase::Done if rest.is_empty() => return Ok(Fed::NeedMore),
                Phase::Done => {
                    return Err(Error::TrailingData {
                        offset: self.offset,
                    });
                }
                _ if rest.is_empty() => return Ok(Fed::NeedMore),
                Phase::Header => {
                    used += self.take(rest, HEADER_LEN);
                    if self.fill == HEADER_LEN {
                        let hb = self.acc;
                        let h = self.open(&hb)?;
                        self.check_source(&h, io)?;
                        self.header = Some(h);
                        self.fill = 0;
                        self.phase = Phase::FrameHeader;
                        self.cursor = Some(self.cursor_now(None));
                        if self.header.as_ref().is_some_and(|h| h.frame_count == 0) {
                            let c = self.finish_target()?;
                            return Ok(Fed::Finished { used, cursor: c });
                        }
                    }
                }
                Phase::FrameHeader => {
                    used += self.take(rest, FRAME_HEADER_LEN);
                    if self.fill == FRAME_HEADER_LEN {
                        self.start_frame()?;
                    }
                }
                Phase::Payload => {
                    let fh = self.fh.ok_or(Error::Aborted)?;
                    let want = (fh.payload_len - self.got) as usize;
                    let n = want.min(rest.len());
                    let at = self.payload_at + self.got as usize;
                    let piece = rest.get(..n).unwrap_or_default();
                    self.frame
                        .get_mut(at..at + n)
                        .ok_or(Error::Aborted)?
                        .copy_from_slice(piece);
                    self.check.update(piece);
                    self.got += n as u32;
                    self.offset += n as u64;
                    used += n;
                    if self.got == fh.payload_len {
                        return self.end_frame(io, used);
                    }
                }
            }
        }
    }

    /// Moves bytes of `rest` into the accumulator until it holds `want`; returns how many.
    fn take(&mut self, rest: &[u8], want: usize) -> usize {
        let n = (want - self.fill).min(rest.len());
        self.acc[self.fill..self.fill + n].copy_from_slice(&rest[..n]);
        self.fill += n;
        self.offset += n as u64;
        n
    }

    /// Parses the header and checks it fits the MCU profile and these buffers.
    fn open(&mut self, hb: &[u8; HEADER_LEN]) -> Result<Header> {
        let h = Header::parse(hb, &self.opts.limits)?;
        if !matches!(h.codec, Codec::Stored | Codec::Deflate) {
            return Err(Error::InvalidField {
                field: "codec",
                offset: 0,
                reason: "not in the MCU profile (stored or DEFLATE frames only)",
            });
        }
        let need = mcu_frame_buf_len(h.max_raw);
        if need > self.frame.len() {
            return Err(Error::BufferTooSmall {
                what: "frame",
                have: self.frame.len() as u64,
                need: need as u64,
            });
        }
        self.digest = Header::digest(hb);
        self.offset = HEADER_LEN as u64;
        Ok(h)
    }

    fn check_source<S: McuStorage>(&mut self, h: &Header, io: &mut S) -> Result<()> {
        if h.mode == Mode::Full || self.opts.source_check == SourceCheck::TrustCaller {
            return Ok(());
        }
        let mut hasher = RunningSha256::new();
        while hasher.len() < h.source_size {
            let off = hasher.len();
            let n = (h.source_size - off).min(self.work.len() as u64) as usize;
            let chunk = &mut self.work[..n];
            io.read_source(off, chunk).map_err(|code| Error::Storage {
                op: "source read",
                offset: off,
                code,
            })?;
            hasher.update(chunk);
        }
        if hasher.finalize() != h.source_sha256 {
            return Err(Error::SourceDigestMismatch);
        }
        Ok(())
    }

    fn start_frame(&mut self) -> Result<()> {
        let h = self.header.as_ref().ok_or(Error::Aborted)?;
        let mut fhb = [0u8; FRAME_HEADER_LEN];
        fhb.copy_from_slice(&self.acc[..FRAME_HEADER_LEN]);
        let frame_off = self.offset - FRAME_HEADER_LEN as u64;
        let fh = FrameHeader::parse(&fhb, h, self.index, self.target.len(), frame_off)?;
        let (raw, payload) = (fh.raw_len as usize, fh.payload_len as usize);
        // Stored: the payload is the raw content. DEFLATE: it ends `MCU_INPLACE_MARGIN` bytes
        // past the raw content and is decoded in place (FORMAT.md §10.2).
        let payload_at = match h.codec {
            Codec::Deflate => {
                (raw + MCU_INPLACE_MARGIN)
                    .checked_sub(payload)
                    .ok_or(Error::InvalidField {
                        field: "payload_len",
                        offset: frame_off,
                        reason: "larger than raw_len + the in-place margin",
                    })?
            }
            _ => 0,
        };
        if payload_at + payload > self.frame.len() || raw + MCU_INPLACE_MARGIN > self.frame.len() {
            return Err(Error::BufferTooSmall {
                what: "frame",
                have: self.frame.len() as u64,
                need: (raw + MCU_INPLACE_MARGIN).max(payload_at + payload) as u64,
            });
        }
        self.check = frame_check(&self.digest, self.index, self.target.len(), &fh);
        self.fh = Some(fh);
        self.frame_off = frame_off;
        self.payload_at = payload_at;
        self.got = 0;
        self.fill = 0;
        self.phase = Phase::Payload;
        Ok(())
    }

    /// The whole payload is in: decode it, reconstruct and write the target bytes, compare the
    /// frame check, and commit.
    fn end_frame<S: McuStorage>(&mut self, io: &mut S, used: usize) -> Result<Fed> {
        let h = self.header.clone().ok_or(Error::Aborted)?;
        let fh = self.fh.ok_or(Error::Aborted)?;
        let (index, frame_off) = (self.index, self.frame_off);
        let malformed = |reason| Error::FrameMalformed {
            index,
            offset: frame_off,
            reason,
        };
        let raw_len = fh.raw_len as usize;
        if h.codec == Codec::Deflate {
            let end = self.payload_at + fh.payload_len as usize;
            inflate_in_place(self.frame, (self.payload_at, end), raw_len).map_err(malformed)?;
        }
        let start = self.target.len();
        let mut pending = self.target.clone();
        let check = &mut self.check;
        let io = RefCell::new(io);
        let mut src = McuSource {
            io: &io,
            size: h.source_size,
        };
        let mut t = start;
        let raw = self.frame.get(..raw_len).ok_or(Error::Aborted)?;
        let done = reconstruct(
            h.mode,
            raw,
            &mut src,
            start,
            fh.target_len.into(),
            self.work,
            &mut |_, _, _, _| {},
            &mut |b| {
                check.update(b);
                pending.update(b);
                let mut io = io.try_borrow_mut().map_err(|_| Error::Aborted)?;
                io.write_target(t, b).map_err(|code| Error::Storage {
                    op: "target write",
                    offset: t,
                    code,
                })?;
                t += b.len() as u64;
                Ok(())
            },
        );
        match done {
            Ok(()) => {}
            Err(ReconstructError::Malformed(r)) => return Err(malformed(r)),
            Err(ReconstructError::Failed(e)) => return Err(e),
        }
        let check = core::mem::replace(&mut self.check, sha2::Sha256::new());
        if check.finalize()[..] != fh.check {
            return Err(Error::FrameCorrupt {
                index,
                offset: frame_off,
            });
        }
        self.target = pending;
        self.index += 1;
        self.fh = None;
        self.phase = Phase::FrameHeader;
        if self.index == h.frame_count {
            let cursor = self.finish_target()?;
            return Ok(Fed::Finished { used, cursor });
        }
        let state = self
            .target
            .chaining_state()
            .ok_or(malformed("frame not on a 64-byte boundary"))?;
        let cursor = self.cursor_now(Some(state));
        self.cursor = Some(cursor);
        Ok(Fed::Frame { used, cursor })
    }

    /// The target digest check after the last frame.
    fn finish_target(&mut self) -> Result<Cursor> {
        let h = self.header.as_ref().ok_or(Error::Aborted)?;
        if self.target.len() != h.target_size || self.target.clone().finalize() != h.target_sha256 {
            return Err(Error::TargetDigestMismatch);
        }
        let cursor = self.cursor_now(Some(h.target_sha256));
        self.cursor = Some(cursor);
        self.phase = Phase::Done;
        Ok(cursor)
    }

    fn cursor_now(&self, state: Option<[u8; 32]>) -> Cursor {
        Cursor {
            frame_index: self.index,
            patch_offset: self.offset,
            target_offset: self.target.len(),
            hash_state: state
                .or_else(|| self.target.chaining_state())
                .unwrap_or([0; 32]),
            patch_id: [
                self.digest[0],
                self.digest[1],
                self.digest[2],
                self.digest[3],
            ],
        }
    }
}

/// The source through the storage callback (shared with the target writes of the same frame).
struct McuSource<'r, 'i, S: McuStorage> {
    io: &'r RefCell<&'i mut S>,
    size: u64,
}

impl<S: McuStorage> SourceRead for McuSource<'_, '_, S> {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let mut io = self.io.try_borrow_mut().map_err(|_| Error::Aborted)?;
        io.read_source(offset, buf).map_err(|code| Error::Storage {
            op: "source read",
            offset,
            code,
        })
    }
}
