//! Valid native patches (ota-delta/FORMAT.md, version 2) built from structured input by an
//! encoder written from the format text alone, with the target computed independently, so that
//! the fuzzer reaches frame decoding, reconstruction and resume on most inputs instead of
//! failing at the header and frame checks.
//!
//! Input layout (every field reads as zero past the end): `mode u8`, `plane u8`, `codec u8`,
//! `dict u8`, `frame u8`, `src_len u16`, `src_seed u8`, `tgt_len u16`, `flags u8`,
//! `corrupt_at u16`, `corrupt_xor u8`, `resume_at u8`, `frames u8` (mod 4), per frame
//! `start u16` and `records u8` (mod 9) [`Record`]s, then a pool of bytes that target, diff and
//! extra bytes take from in order.
//!
//! Flags: bit 0 verify the source hash (else the caller vouches for it); bit 4 write zero runs
//! split in two (not maximal, which the format allows). Only when bits 6 and 7 are both set (a
//! quarter of the inputs, so that most stay valid): bit 1 change one byte of the patch
//! (`corrupt_at`, xor `corrupt_xor`); bit 2 cut the patch at `corrupt_at`; bit 3 append a byte.

use crate::input::{Input, Output, Record, pattern};
use liblzma::stream::{Action, Filters, LzmaOptions, Status, Stream};
use ota_delta::{Codec, Header, Mode};
use sha2::{Digest, Sha256};

/// Source and full/XOR target sizes are reduced modulo this.
const MAX_IMAGE: u16 = 12289;

/// The structured description of a native patch.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// `% 3`: full, bsdiff, XOR planes.
    pub mode: u8,
    /// XOR planes: width (`% 4` of 1, 2, 4, 8) in the low bits, phase above.
    pub plane: u8,
    /// Bit 0: LZMA2 (else stored); above: the LZMA properties choice.
    pub codec: u8,
    /// Dictionary size in 4 KiB units (`% 16`, plus one).
    pub dict: u8,
    /// Frame size: 4096 or 8192.
    pub frame: u8,
    /// Source size (mod 12289).
    pub src_len: u16,
    /// Source pattern seed.
    pub src_seed: u8,
    /// Full and XOR modes: target size (mod 12289).
    pub tgt_len: u16,
    /// See the module documentation.
    pub flags: u8,
    /// Where the patch is changed or cut.
    pub corrupt_at: u16,
    /// What the changed byte is xored with (0 reads as 1).
    pub corrupt_xor: u8,
    /// Which cursor the resume starts from.
    pub resume_at: u8,
    /// Bsdiff mode: per frame, the start position and the records.
    pub frames: Vec<(u16, Vec<Record>)>,
    /// Target, diff and extra bytes.
    pub pool: Vec<u8>,
}

/// A built patch with its source and target.
pub struct Built {
    /// The source.
    pub source: Vec<u8>,
    /// The native patch.
    pub patch: Vec<u8>,
    /// The target it gives.
    pub target: Vec<u8>,
    /// Whether the patch was altered after building (it must then be refused).
    pub altered: bool,
}

impl Spec {
    /// Reads a spec.
    pub fn read(i: &mut Input<'_>) -> Self {
        let mut s = Self {
            mode: i.u8(),
            plane: i.u8(),
            codec: i.u8(),
            dict: i.u8(),
            frame: i.u8(),
            src_len: i.u16(),
            src_seed: i.u8(),
            tgt_len: i.u16(),
            flags: i.u8(),
            corrupt_at: i.u16(),
            corrupt_xor: i.u8(),
            resume_at: i.u8(),
            ..Self::default()
        };
        let n = i.u8() % 4;
        for _ in 0..n {
            let start = i.u16();
            let k = i.u8() % 9;
            s.frames
                .push((start, (0..k).map(|_| Record::read(i)).collect()));
        }
        s.pool = i.rest().to_vec();
        s
    }

    /// Writes the spec as fuzzer input (after any selector byte).
    pub fn write(&self) -> Vec<u8> {
        let mut o = Output::default();
        o.u8(self.mode)
            .u8(self.plane)
            .u8(self.codec)
            .u8(self.dict)
            .u8(self.frame);
        o.u16(self.src_len)
            .u8(self.src_seed)
            .u16(self.tgt_len)
            .u8(self.flags);
        o.u16(self.corrupt_at)
            .u8(self.corrupt_xor)
            .u8(self.resume_at);
        o.u8(self.frames.len() as u8);
        for (start, recs) in &self.frames {
            o.u16(*start).u8(recs.len() as u8);
            for r in recs {
                r.write(&mut o);
            }
        }
        o.bytes(&self.pool);
        o.0
    }

    /// The apply mode.
    fn mode(&self) -> Mode {
        match self.mode % 3 {
            0 => Mode::Full,
            1 => Mode::Bsdiff,
            _ => {
                let width = [1u8, 2, 4, 8][usize::from(self.plane % 4)];
                Mode::XorPlanes {
                    width,
                    phase: (self.plane >> 2) % width,
                }
            }
        }
    }

    /// Builds the patch.
    pub fn build(&self) -> Built {
        let mode = self.mode();
        let frame_size: u32 = if self.frame & 1 == 0 { 4096 } else { 8192 };
        let source = pattern(usize::from(self.src_len % MAX_IMAGE), self.src_seed);
        let mut pool = Input::new(&self.pool);
        // (raw content, target bytes) of each frame.
        let frames: Vec<(Vec<u8>, Vec<u8>)> = match mode {
            Mode::Full | Mode::XorPlanes { .. } => {
                let n = usize::from(self.tgt_len % MAX_IMAGE);
                let bytes = pool.bytes(n);
                let fs = frame_size as usize;
                (0..n.div_ceil(fs))
                    .map(|i| {
                        let s = i * fs;
                        let chunk = &bytes[s..n.min(s + fs)];
                        match mode {
                            Mode::XorPlanes { width, phase } => {
                                // The target is the source with the pool's bytes xored in.
                                let t: Vec<u8> = chunk
                                    .iter()
                                    .enumerate()
                                    .map(|(j, b)| b ^ src(&source, s + j))
                                    .collect();
                                (planes(&t, &source, s, width, phase), t)
                            }
                            _ => (chunk.to_vec(), chunk.to_vec()),
                        }
                    })
                    .collect()
            }
            _ => {
                let bound = frame_size / 4 + 16 + frame_size * 3 / 2;
                let last = self.frames.len().saturating_sub(1);
                self.frames
                    .iter()
                    .enumerate()
                    .map(|(i, (start, recs))| {
                        bsdiff_frame(
                            &source,
                            *start,
                            recs,
                            &mut pool,
                            i == last,
                            bound as usize,
                            self.flags & 16 != 0,
                        )
                    })
                    .collect()
            }
        };
        let target: Vec<u8> = frames.iter().flat_map(|f| f.1.iter().copied()).collect();
        let lzma = self.codec & 1 != 0;
        let props = {
            let c = self.codec >> 1;
            let lc = c % 5;
            let lp = ((c / 5) % 5).min(4 - lc);
            let pb = (c / 25) % 5;
            (pb * 5 + lp) * 9 + lc
        };
        let dict_size = 4096 * (1 + u32::from(self.dict % 16));
        let payloads: Vec<Vec<u8>> = frames
            .iter()
            .map(|(raw, _)| {
                if lzma {
                    compress(raw, props, dict_size)
                } else {
                    raw.clone()
                }
            })
            .collect();
        let max_raw = frames.iter().map(|f| f.0.len()).max().unwrap_or(0) as u32;
        let max_payload = payloads.iter().map(Vec::len).max().unwrap_or(0) as u32;
        let header = Header {
            mode,
            codec: if lzma {
                Codec::Lzma2 { props, dict_size }
            } else {
                Codec::Stored
            },
            frame_size,
            frame_count: frames.len() as u32,
            max_payload,
            max_raw,
            source_size: if mode == Mode::Full {
                0
            } else {
                source.len() as u64
            },
            target_size: target.len() as u64,
            source_sha256: sha256(&[if mode == Mode::Full { &[] } else { &source[..] }]),
            target_sha256: sha256(&[&target]),
        };
        let mut patch = header.to_bytes().to_vec();
        let check: Vec<u8> = patch[120..152].to_vec();
        let mut start = 0u64;
        for (i, ((raw, t), p)) in frames.iter().zip(&payloads).enumerate() {
            let lens = [p.len() as u32, raw.len() as u32, t.len() as u32];
            let mut fh = Vec::with_capacity(44);
            for v in lens {
                fh.extend_from_slice(&v.to_le_bytes());
            }
            let mut pre = check.clone();
            pre.extend_from_slice(&(i as u32).to_le_bytes());
            pre.extend_from_slice(&start.to_le_bytes());
            pre.extend_from_slice(&fh);
            fh.extend_from_slice(&sha256(&[&pre, p, t]));
            patch.extend_from_slice(&fh);
            patch.extend_from_slice(p);
            start += t.len() as u64;
        }
        let mut altered = false;
        let odd = if self.flags & 0xc0 == 0xc0 {
            self.flags
        } else {
            0
        };
        let at = usize::from(self.corrupt_at) % patch.len();
        if odd & 2 != 0 {
            patch[at] ^= self.corrupt_xor.max(1);
            altered = true;
        }
        if odd & 4 != 0 {
            patch.truncate(at);
            altered = true;
        }
        if odd & 8 != 0 {
            patch.push(self.corrupt_xor);
            altered = true;
        }
        Built {
            source,
            patch,
            target,
            altered,
        }
    }
}

/// The source byte at `p`, 0 past its end (FORMAT.md §5.1).
fn src(source: &[u8], p: usize) -> u8 {
    source.get(p).copied().unwrap_or(0)
}

/// The raw content of an XOR-planes frame of target `t` starting at `s` (FORMAT.md §5.1).
fn planes(t: &[u8], source: &[u8], s: usize, width: u8, phase: u8) -> Vec<u8> {
    let (w, ph) = (usize::from(width), usize::from(phase));
    let mut raw = Vec::with_capacity(t.len());
    for lane in 0..w {
        for (j, b) in t.iter().enumerate() {
            if (j + w - ph) % w == lane {
                raw.push(b ^ src(source, s + j));
            }
        }
    }
    raw
}

/// A bsdiff record with its bytes: add, copy, seek, diff bytes, extra bytes.
type Op = (u64, u64, i64, Vec<u8>, Vec<u8>);

/// One bsdiff-mode frame (FORMAT.md §5.2): its raw content and target bytes. Records that
/// do not fit the raw bound are dropped; a non-final frame is padded with extra bytes to a
/// multiple of 64, a final one to at least one byte.
fn bsdiff_frame(
    source: &[u8],
    start: u16,
    recs: &[Record],
    pool: &mut Input<'_>,
    last: bool,
    bound: usize,
    split_runs: bool,
) -> (Vec<u8>, Vec<u8>) {
    let n = source.len() as i64;
    let start_pos = i64::from(start) % (n + 1);
    let mut ops: Vec<Op> = Vec::new();
    let mut pos = start_pos;
    for r in recs {
        let add = i64::from(r.add % 4096).min(n - pos);
        let copy = u64::from(r.copy % 1024);
        if add == 0 && copy == 0 {
            continue;
        }
        let next = i64::from(r.to) % (n + 1);
        let seek = next - pos - add;
        ops.push((
            add as u64,
            copy,
            seek,
            pool.bytes(add as usize),
            pool.bytes(copy as usize),
        ));
        pos = next;
    }
    loop {
        let covered: u64 = ops.iter().map(|o| o.0 + o.1).sum();
        let want = if last {
            covered.max(1)
        } else {
            covered.max(64).next_multiple_of(64)
        };
        let mut all = ops.clone();
        if want > covered {
            let pad = (want - covered) as usize;
            all.push((0, pad as u64, 0, Vec::new(), pool.bytes(pad)));
        }
        let (raw, target) = encode_frame(source, start_pos, &all, split_runs);
        if raw.len() <= bound || ops.is_empty() {
            return (raw, target);
        }
        ops.pop();
    }
}

/// Controls, zero-run coded diff and extra of one frame, and its target bytes reconstructed
/// as FORMAT.md §5.2 says (carry-chained addition).
fn encode_frame(source: &[u8], start_pos: i64, ops: &[Op], split_runs: bool) -> (Vec<u8>, Vec<u8>) {
    let mut controls = Vec::new();
    varint(&mut controls, ops.len() as u64);
    varint(&mut controls, zigzag(start_pos));
    let (mut diff, mut extra, mut target) = (Vec::new(), Vec::new(), Vec::new());
    let mut pos = start_pos;
    for (add, copy, seek, d, e) in ops {
        varint(&mut controls, *add);
        varint(&mut controls, *copy);
        varint(&mut controls, zigzag(*seek));
        let mut carry = 0i32;
        for (k, &b) in d.iter().enumerate() {
            let o = i32::from(source[pos as usize + k]);
            target.push((o + i32::from(b) + carry) as u8);
            carry = (o + i32::from(b as i8) + carry) >> 8;
        }
        diff.extend_from_slice(d);
        target.extend_from_slice(e);
        extra.extend_from_slice(e);
        pos += *add as i64 + seek;
    }
    let mut raw = controls;
    zero_runs(&mut raw, &diff, split_runs);
    raw.extend_from_slice(&extra);
    (raw, target)
}

/// Zero-run coding (FORMAT.md §5.2); `split` cuts runs of two or more in two.
fn zero_runs(out: &mut Vec<u8>, diff: &[u8], split: bool) {
    let mut i = 0;
    while i < diff.len() {
        if diff[i] != 0 {
            out.push(diff[i]);
            i += 1;
            continue;
        }
        let run = diff[i..].iter().take_while(|&&b| b == 0).count();
        let parts = if split && run >= 2 {
            [run / 2, run - run / 2]
        } else {
            [run, 0]
        };
        for p in parts.into_iter().filter(|&p| p > 0) {
            out.push(0);
            varint(out, p as u64 - 1);
        }
        i += run;
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// SHA-256 of the concatenated parts.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// One raw LZMA2 stream (preset 0 with the given properties and dictionary).
fn compress(raw: &[u8], props: u8, dict_size: u32) -> Vec<u8> {
    let Ok(mut opts) = LzmaOptions::new_preset(0) else {
        return Vec::new();
    };
    let p = u32::from(props);
    opts.literal_context_bits(p % 9)
        .literal_position_bits((p / 9) % 5)
        .position_bits(p / 45)
        .dict_size(dict_size);
    let mut filters = Filters::new();
    filters.lzma2(&opts);
    let Ok(mut enc) = Stream::new_raw_encoder(&filters) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 64 + 64);
    let mut input = raw;
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(4096);
        }
        let before = enc.total_in();
        match enc.process_vec(input, &mut out, Action::Finish) {
            Ok(Status::StreamEnd) => return out,
            Ok(_) => input = &input[(enc.total_in() - before) as usize..],
            Err(_) => return Vec::new(),
        }
    }
}
