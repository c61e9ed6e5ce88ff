//! The native patch header, frame header and resume cursor (byte layouts in FORMAT.md).

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::sha::sha256;

/// The first eight bytes of every native patch.
pub const MAGIC: [u8; 8] = *b"OTADELTA";
/// The format version this crate writes and reads (FORMAT.md §9: version 1 patches are rejected).
pub const VERSION: u16 = 2;
/// Size of the patch header in bytes.
pub const HEADER_LEN: usize = 152;
/// Size of a frame header in bytes.
pub const FRAME_HEADER_LEN: usize = 44;
/// Size of a resume cursor in bytes.
pub const CURSOR_LEN: usize = 64;
/// Smallest allowed frame size.
pub const MIN_FRAME_SIZE: u32 = 4096;
/// Smallest LZMA2 dictionary.
pub const MIN_DICT_SIZE: u32 = 4096;

/// How the target is reconstructed from the frames.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The frames hold the target itself (the source is not used).
    Full,
    /// bsdiff-style copy-with-add from the source plus literal bytes.
    Bsdiff,
    /// XOR against the source at the same offset, bytes split into planes (model weights).
    XorPlanes {
        /// Bytes per element (1, 2, 4 or 8).
        width: u8,
        /// Offset of the first element, `< width`.
        phase: u8,
    },
}

impl Mode {
    fn code(self) -> (u8, u8, u8) {
        match self {
            Mode::Full => (0, 0, 0),
            Mode::Bsdiff => (1, 0, 0),
            Mode::XorPlanes { width, phase } => (2, width, phase),
        }
    }
}

/// How each frame's payload is compressed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// Payload is the raw frame content.
    Stored,
    /// Raw LZMA2 (the .xz filter 0x21 stream, no container).
    Lzma2 {
        /// LZMA properties byte `(pb * 5 + lp) * 9 + lc`, with `lc + lp <= 4`, `pb <= 4`.
        props: u8,
        /// Dictionary size in bytes.
        dict_size: u32,
    },
    /// Raw DEFLATE (RFC 1951), one stream per frame: the MCU profile's codec (FORMAT.md §10).
    Deflate,
}

/// The decoded and validated patch header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Reconstruction mode.
    pub mode: Mode,
    /// Payload compression.
    pub codec: Codec,
    /// Full and XOR-planes modes: target bytes per frame (the last frame may be shorter).
    /// bsdiff mode: the largest raw content the encoder aimed for per frame and the target bytes
    /// a decoder reconstructs at a time; a frame may cover more target bytes (FORMAT.md §4).
    pub frame_size: u32,
    /// Number of frames.
    pub frame_count: u32,
    /// Largest `payload_len` of any frame.
    pub max_payload: u32,
    /// Largest `raw_len` of any frame.
    pub max_raw: u32,
    /// Source size in bytes (0 in full mode).
    pub source_size: u64,
    /// Target size in bytes.
    pub target_size: u64,
    /// SHA-256 of the source.
    pub source_sha256: [u8; 32],
    /// SHA-256 of the target.
    pub target_sha256: [u8; 32],
}

/// Largest `raw_len` a frame of `frame_size` target bytes may declare in a given mode.
pub(crate) fn raw_bound(mode: Mode, frame_size: u32) -> u64 {
    match mode {
        // Kept from version 1, where it was the worst case of a frame of `frame_size` target
        // bytes; the version 2 encoder cuts bsdiff frames where their raw content reaches
        // `frame_size` (FORMAT.md §4), well inside it.
        Mode::Bsdiff => u64::from(frame_size) / 4 + 16 + u64::from(frame_size) * 3 / 2,
        Mode::Full | Mode::XorPlanes { .. } => u64::from(frame_size),
    }
}

/// Largest `payload_len` allowed for a frame whose content is `raw` bytes.
pub(crate) fn payload_bound(raw: u64) -> u64 {
    // LZMA2 never expands by more than 3 bytes per 64 KiB chunk plus the end marker; stored is 1:1.
    raw + raw / 1024 + 64
}

impl Header {
    /// Encodes the header, including its check value.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_le_bytes());
        let (m, w, p) = self.mode.code();
        b[10] = m;
        match self.codec {
            Codec::Stored => {}
            Codec::Deflate => b[11] = 2,
            Codec::Lzma2 { props, dict_size } => {
                b[11] = 1;
                b[12] = props;
                b[16..20].copy_from_slice(&dict_size.to_le_bytes());
            }
        }
        b[13] = w;
        b[14] = p;
        b[20..24].copy_from_slice(&self.frame_size.to_le_bytes());
        b[24..28].copy_from_slice(&self.frame_count.to_le_bytes());
        b[28..32].copy_from_slice(&self.max_payload.to_le_bytes());
        b[32..36].copy_from_slice(&self.max_raw.to_le_bytes());
        b[40..48].copy_from_slice(&self.source_size.to_le_bytes());
        b[48..56].copy_from_slice(&self.target_size.to_le_bytes());
        b[56..88].copy_from_slice(&self.source_sha256);
        b[88..120].copy_from_slice(&self.target_sha256);
        let check = sha256(&b[..120]);
        b[120..152].copy_from_slice(&check);
        b
    }

    /// The header's check value (bytes 120..152), which also binds every frame to this header.
    pub(crate) fn digest(bytes: &[u8; HEADER_LEN]) -> [u8; 32] {
        let mut d = [0u8; 32];
        d.copy_from_slice(&bytes[120..152]);
        d
    }

    /// Decodes and validates a header against `limits`.
    ///
    /// # Errors
    /// Bad magic, unknown version, corrupt check value, any field out of range or over a limit.
    pub fn parse(b: &[u8; HEADER_LEN], limits: &Limits) -> Result<Self> {
        if b[0..8] != MAGIC {
            return Err(Error::BadMagic { expected: "native" });
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version != VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        if sha256(&b[..120])[..] != b[120..152] {
            return Err(Error::HeaderCorrupt);
        }
        let bad = |field, reason| Error::InvalidField {
            field,
            offset: 0,
            reason,
        };
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(a)
        };
        let (width, phase) = (b[13], b[14]);
        let mode = match b[10] {
            0 => Mode::Full,
            1 => Mode::Bsdiff,
            2 => {
                if !matches!(width, 1 | 2 | 4 | 8) {
                    return Err(bad("plane_width", "must be 1, 2, 4 or 8"));
                }
                if phase >= width {
                    return Err(bad("plane_phase", "must be below plane_width"));
                }
                Mode::XorPlanes { width, phase }
            }
            _ => return Err(bad("mode", "unknown mode")),
        };
        if !matches!(mode, Mode::XorPlanes { .. }) && (width != 0 || phase != 0) {
            return Err(bad("plane_width", "must be 0 outside xor-planes mode"));
        }
        let dict_size = u32_at(16);
        let codec = match b[11] {
            0 => {
                if b[12] != 0 || dict_size != 0 {
                    return Err(bad("codec_props", "must be 0 for stored frames"));
                }
                Codec::Stored
            }
            1 => {
                let props = b[12];
                let (lc, lp, pb) = (props % 9, (props / 9) % 5, props / 45);
                if props >= 9 * 5 * 5 || lc + lp > 4 || pb > 4 {
                    return Err(bad("codec_props", "invalid LZMA properties"));
                }
                if dict_size < MIN_DICT_SIZE {
                    return Err(bad("dict_size", "below 4096"));
                }
                if dict_size > limits.max_dict_size {
                    return Err(Error::LimitExceeded {
                        what: "dict_size",
                        value: dict_size.into(),
                        limit: limits.max_dict_size.into(),
                    });
                }
                Codec::Lzma2 { props, dict_size }
            }
            2 => {
                if b[12] != 0 || dict_size != 0 {
                    return Err(bad("codec_props", "must be 0 for DEFLATE frames"));
                }
                Codec::Deflate
            }
            _ => return Err(bad("codec", "unknown codec")),
        };
        if b[15] != 0 || u32_at(36) != 0 {
            return Err(bad("reserved", "must be zero"));
        }
        let frame_size = u32_at(20);
        if frame_size < MIN_FRAME_SIZE || !frame_size.is_multiple_of(64) {
            return Err(bad("frame_size", "must be a multiple of 64, at least 4096"));
        }
        if frame_size > limits.max_frame_size {
            return Err(Error::LimitExceeded {
                what: "frame_size",
                value: frame_size.into(),
                limit: limits.max_frame_size.into(),
            });
        }
        let source_size = u64_at(40);
        let target_size = u64_at(48);
        for (what, v) in [("source_size", source_size), ("target_size", target_size)] {
            if v > limits.max_image_size {
                return Err(Error::LimitExceeded {
                    what,
                    value: v,
                    limit: limits.max_image_size,
                });
            }
        }
        if mode == Mode::Full && source_size != 0 {
            return Err(bad("source_size", "must be 0 in full mode"));
        }
        let frame_count = u32_at(24);
        let count_ok = match mode {
            // Frames of fixed length.
            Mode::Full | Mode::XorPlanes { .. } => {
                u64::from(frame_count) == target_size.div_ceil(u64::from(frame_size))
            }
            // Frames of any length, each but the last a multiple of 64 (at least 64 bytes).
            Mode::Bsdiff => {
                (frame_count == 0) == (target_size == 0)
                    && u64::from(frame_count) <= target_size.div_ceil(64)
            }
        };
        if !count_ok {
            return Err(bad(
                "frame_count",
                "inconsistent with target_size and frame_size",
            ));
        }
        if frame_count > limits.max_frames {
            return Err(Error::LimitExceeded {
                what: "frame_count",
                value: frame_count.into(),
                limit: limits.max_frames.into(),
            });
        }
        let max_raw = u32_at(32);
        let raw_limit = raw_bound(mode, frame_size);
        if u64::from(max_raw) > raw_limit {
            return Err(bad(
                "max_raw",
                "larger than the mode allows for this frame size",
            ));
        }
        let max_payload = u32_at(28);
        if u64::from(max_payload) > payload_bound(max_raw.into()) {
            return Err(bad("max_payload", "larger than max_raw allows"));
        }
        let mut source_sha256 = [0u8; 32];
        source_sha256.copy_from_slice(&b[56..88]);
        let mut target_sha256 = [0u8; 32];
        target_sha256.copy_from_slice(&b[88..120]);
        Ok(Self {
            mode,
            codec,
            frame_size,
            frame_count,
            max_payload,
            max_raw,
            source_size,
            target_size,
            source_sha256,
            target_sha256,
        })
    }
}

/// A frame header (44 bytes, FORMAT.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub payload_len: u32,
    pub raw_len: u32,
    pub target_len: u32,
    pub check: [u8; 32],
}

impl FrameHeader {
    #[cfg(feature = "std")]
    pub(crate) fn to_bytes(self) -> [u8; FRAME_HEADER_LEN] {
        let mut b = [0u8; FRAME_HEADER_LEN];
        b[0..4].copy_from_slice(&self.payload_len.to_le_bytes());
        b[4..8].copy_from_slice(&self.raw_len.to_le_bytes());
        b[8..12].copy_from_slice(&self.target_len.to_le_bytes());
        b[12..44].copy_from_slice(&self.check);
        b
    }

    /// Decodes the header of frame `index`, which starts at patch offset `offset` and target
    /// offset `target_offset`, and checks its lengths against `h` (FORMAT.md §4) before anything
    /// is allocated for the frame.
    pub(crate) fn parse(
        b: &[u8; FRAME_HEADER_LEN],
        h: &Header,
        index: u32,
        target_offset: u64,
        offset: u64,
    ) -> Result<Self> {
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut check = [0u8; 32];
        check.copy_from_slice(&b[12..44]);
        let f = Self {
            payload_len: u32_at(0),
            raw_len: u32_at(4),
            target_len: u32_at(8),
            check,
        };
        let bad = |field, reason| Error::InvalidField {
            field,
            offset,
            reason,
        };
        let tl = u64::from(f.target_len);
        let remaining = h.target_size.saturating_sub(target_offset);
        let last = index.checked_add(1) == Some(h.frame_count);
        let len_ok = match h.mode {
            Mode::Full | Mode::XorPlanes { .. } => tl == remaining.min(u64::from(h.frame_size)),
            Mode::Bsdiff if last => tl == remaining,
            Mode::Bsdiff => tl > 0 && tl < remaining && tl.is_multiple_of(64),
        };
        if !len_ok {
            return Err(bad("target_len", "out of range for this frame"));
        }
        let raw_ok = match h.mode {
            // Controls are at least 2 bytes.
            Mode::Bsdiff => {
                f.raw_len >= 2 && u64::from(f.raw_len) <= raw_bound(h.mode, h.frame_size)
            }
            Mode::Full | Mode::XorPlanes { .. } => f.raw_len == f.target_len,
        };
        if !raw_ok || f.raw_len > h.max_raw {
            return Err(bad("raw_len", "out of range for this frame"));
        }
        if f.payload_len > h.max_payload || f.payload_len == 0 {
            return Err(bad("payload_len", "zero or above max_payload"));
        }
        if h.codec == Codec::Stored && f.payload_len != f.raw_len {
            return Err(bad("payload_len", "must equal raw_len for stored frames"));
        }
        Ok(f)
    }
}

/// A point from which an interrupted apply can continue (64 bytes when encoded).
///
/// Persist [`Cursor::to_bytes`] after each frame has reached stable storage; after a power cut,
/// reopen the target at [`Cursor::target_offset`] (dropping anything after it) and call
/// [`Apply::resume`](crate::Apply::resume).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub(crate) frame_index: u32,
    pub(crate) patch_offset: u64,
    pub(crate) target_offset: u64,
    pub(crate) hash_state: [u8; 32],
    pub(crate) patch_id: [u8; 4],
}

const CURSOR_MAGIC: [u8; 4] = *b"OTC1";

impl Cursor {
    /// Index of the next frame to apply.
    pub fn frame_index(&self) -> u32 {
        self.frame_index
    }
    /// Offset in the patch of the next frame header.
    pub fn patch_offset(&self) -> u64 {
        self.patch_offset
    }
    /// Target bytes already written and verified; the sink must continue exactly here.
    pub fn target_offset(&self) -> u64 {
        self.target_offset
    }

    /// Encodes the cursor (64 bytes, layout in FORMAT.md §6).
    pub fn to_bytes(&self) -> [u8; CURSOR_LEN] {
        let mut b = [0u8; CURSOR_LEN];
        b[0..4].copy_from_slice(&CURSOR_MAGIC);
        b[4..8].copy_from_slice(&self.frame_index.to_le_bytes());
        b[8..16].copy_from_slice(&self.patch_offset.to_le_bytes());
        b[16..24].copy_from_slice(&self.target_offset.to_le_bytes());
        b[24..56].copy_from_slice(&self.hash_state);
        b[56..60].copy_from_slice(&self.patch_id);
        let check = sha256(&b[..60]);
        b[60..64].copy_from_slice(&check[..4]);
        b
    }

    /// Decodes a cursor, checking its own check value (not yet that it fits a patch).
    ///
    /// # Errors
    /// [`Error::BadCursor`] when the bytes are not a cursor or are corrupt.
    pub fn from_bytes(b: &[u8; CURSOR_LEN]) -> Result<Self> {
        if b[0..4] != CURSOR_MAGIC {
            return Err(Error::BadCursor("bad magic"));
        }
        if sha256(&b[..60])[..4] != b[60..64] {
            return Err(Error::BadCursor("check value mismatch"));
        }
        let mut u8s = [0u8; 8];
        u8s.copy_from_slice(&b[8..16]);
        let patch_offset = u64::from_le_bytes(u8s);
        u8s.copy_from_slice(&b[16..24]);
        let target_offset = u64::from_le_bytes(u8s);
        let mut hash_state = [0u8; 32];
        hash_state.copy_from_slice(&b[24..56]);
        Ok(Self {
            frame_index: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            patch_offset,
            target_offset,
            hash_state,
            patch_id: [b[56], b[57], b[58], b[59]],
        })
    }
}

/// The frame check value (FORMAT.md §4) up to the payload: the caller feeds the payload and then
/// the frame's target bytes, and finalizes.
pub(crate) fn frame_check(
    hd: &[u8; 32],
    index: u32,
    target_offset: u64,
    fh: &FrameHeader,
) -> sha2::Sha256 {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(hd);
    h.update(index.to_le_bytes());
    h.update(target_offset.to_le_bytes());
    h.update(fh.payload_len.to_le_bytes());
    h.update(fh.raw_len.to_le_bytes());
    h.update(fh.target_len.to_le_bytes());
    h
}

/// Appends `v` as LEB128.
#[cfg(feature = "std")]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 value of at most 10 bytes (canonical: no redundant trailing zero groups).
pub(crate) fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        let bits = u64::from(byte & 0x7f);
        if i == 9 && bits > 1 {
            return None;
        }
        v |= bits << (7 * i);
        if byte & 0x80 == 0 {
            if byte == 0 && i > 0 {
                return None;
            }
            return Some(v);
        }
    }
    None
}

#[cfg(feature = "std")]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}
