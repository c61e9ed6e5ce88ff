//! Classic BSDIFF40 patches (bsdiff 4.x / Debian `bsdiff`, `qbsdiff`): validated parsing, a
//! checked in-memory apply, import into the native format and export from it.
//!
//! Layout (from bsdiff 4.3): `"BSDIFF40"`, then three 8-byte sign-magnitude little-endian
//! integers (control block length, diff block length, new file size), then three bzip2 streams
//! (control triples of three such integers, diff bytes, extra bytes).

use crate::error::{Error, Result};
use crate::frame::Op;
use crate::limits::Limits;
use crate::source::Source;
use std::io::Write;

const MAGIC: &[u8; 8] = b"BSDIFF40";

fn offtin(b: &[u8]) -> Option<i64> {
    let mut a = [0u8; 8];
    a.copy_from_slice(b.get(..8)?);
    let neg = a[7] & 0x80 != 0;
    a[7] &= 0x7f;
    let m = i64::try_from(u64::from_le_bytes(a)).ok()?;
    Some(if neg { -m } else { m })
}

fn offtout(v: i64) -> [u8; 8] {
    let mut a = v.unsigned_abs().to_le_bytes();
    if v < 0 {
        a[7] |= 0x80;
    }
    a
}

/// One bzip2 stream, a byte range of the patch read by position and decoded incrementally:
/// 64 KiB of input and 64 KiB of output in memory, plus the decoder's state.
struct BzStream<'a, P: ?Sized> {
    src: &'a P,
    pos: u64,
    end: u64,
    input: Vec<u8>,
    in_lo: usize,
    in_hi: usize,
    d: bzip2::Decompress,
    buf: Vec<u8>,
    lo: usize,
    hi: usize,
    ended: bool,
}

impl<'a, P: Source + ?Sized> BzStream<'a, P> {
    fn new(src: &'a P, start: u64, end: u64) -> Self {
        Self {
            src,
            pos: start,
            end,
            input: vec![0u8; 64 << 10],
            in_lo: 0,
            in_hi: 0,
            d: bzip2::Decompress::new(false),
            buf: vec![0u8; 64 << 10],
            lo: 0,
            hi: 0,
            ended: false,
        }
    }

    /// Refills the output buffer; false once the stream has ended and everything was handed out.
    fn fill(&mut self) -> Result<bool> {
        let bad = Error::ClassicMalformed;
        while self.lo == self.hi {
            if self.ended {
                return Ok(false);
            }
            if self.in_lo == self.in_hi && self.pos < self.end {
                let n = (self.end - self.pos).min(self.input.len() as u64) as usize;
                self.src.read_exact_at(self.pos, &mut self.input[..n])?;
                self.pos += n as u64;
                (self.in_lo, self.in_hi) = (0, n);
            }
            let (ti, to) = (self.d.total_in(), self.d.total_out());
            let st = self
                .d
                .decompress(&self.input[self.in_lo..self.in_hi], &mut self.buf)
                .map_err(|_| bad("invalid bzip2 data"))?;
            let used = (self.d.total_in() - ti) as usize;
            let made = (self.d.total_out() - to) as usize;
            self.in_lo += used;
            if st == bzip2::Status::StreamEnd {
                if self.in_lo != self.in_hi || self.pos != self.end {
                    return Err(bad("bytes after a bzip2 stream"));
                }
                self.ended = true;
            } else if used == 0 && made == 0 {
                return Err(bad("bzip2 stream truncated"));
            }
            (self.lo, self.hi) = (0, made);
        }
        Ok(true)
    }

    /// Hands the next `n` bytes to `f` in pieces; `short` when the stream has fewer.
    fn take(
        &mut self,
        mut n: u64,
        short: &'static str,
        mut f: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        while n > 0 {
            if !self.fill()? {
                return Err(Error::ClassicMalformed(short));
            }
            let k = (self.hi - self.lo).min(usize::try_from(n).unwrap_or(usize::MAX));
            f(&self.buf[self.lo..self.lo + k])?;
            self.lo += k;
            n -= k as u64;
        }
        Ok(())
    }

    /// The next control triple, or `None` at the clean end of the stream.
    fn triple(&mut self) -> Result<Option<[u8; 24]>> {
        if !self.fill()? {
            return Ok(None);
        }
        let mut t = [0u8; 24];
        let mut got = 0;
        self.take(24, "control block is not a whole number of triples", |b| {
            t[got..got + b.len()].copy_from_slice(b);
            got += b.len();
            Ok(())
        })?;
        Ok(Some(t))
    }

    /// Succeeds when the stream has ended with nothing left over.
    fn finish(mut self, what: &'static str) -> Result<()> {
        if self.fill()? {
            return Err(Error::ClassicMalformed(what));
        }
        Ok(())
    }
}

/// Validates a classic patch for `old` and rebuilds the new file into `sink` in one pass:
/// every header length, every control triple against the source and target sizes, exact
/// consumption of the diff and extra streams. `on_op` sees each control triple once it is
/// checked. Nothing is held whole: the source and the patch are read by position, the three
/// streams are decoded as the target is written, so memory is a few 64 KiB buffers and the
/// three bzip2 decoders. The declared target size is checked against `max_classic_target` before
/// anything is decoded. On error the sink holds a partial target. Returns the target size.
fn rebuild<S: Source + ?Sized, P: Source + ?Sized, W: Write + ?Sized>(
    old: &S,
    patch: &P,
    limits: &Limits,
    sink: &mut W,
    mut on_op: impl FnMut(Op) -> Result<()>,
) -> Result<u64> {
    let bad = Error::ClassicMalformed;
    let mut head = [0u8; 32];
    let got = (patch.size().min(32)) as usize;
    patch.read_exact_at(0, &mut head[..got])?;
    if got < 32 {
        return Err(if head[..got.min(8)] != MAGIC[..got.min(8)] || got == 0 {
            Error::BadMagic {
                expected: "BSDIFF40",
            }
        } else {
            bad("header truncated")
        });
    }
    if &head[..8] != MAGIC {
        return Err(Error::BadMagic {
            expected: "BSDIFF40",
        });
    }
    let patch_len = patch.size();
    let field = |i: usize, name: &'static str| -> Result<u64> {
        let v = offtin(&head[i..i + 8]).ok_or(bad(name))?;
        u64::try_from(v).map_err(|_| bad(name))
    };
    let ctrl_len = field(8, "negative control block length")?;
    let diff_len = field(16, "negative diff block length")?;
    let new_size = field(24, "negative new size")?;
    if new_size > limits.max_classic_target {
        return Err(Error::LimitExceeded {
            what: "classic new size",
            value: new_size,
            limit: limits.max_classic_target,
        });
    }
    let body = patch_len - 32;
    if ctrl_len > body || diff_len > body - ctrl_len {
        return Err(Error::Truncated { offset: patch_len });
    }
    let c_end = 32 + ctrl_len;
    let d_end = c_end + diff_len;
    let mut ctrl = BzStream::new(patch, 32, c_end);
    let mut diff = BzStream::new(patch, c_end, d_end);
    let mut extra = BzStream::new(patch, d_end, patch_len);
    let old_size = old.size();
    let mut obuf = vec![0u8; 64 << 10];
    let mut written = 0u64;
    // Every useful triple covers at least one new byte; allow a few empty ones.
    let max_triples = new_size.saturating_add(64);
    let (mut triples, mut oldpos) = (0u64, 0i64);
    while let Some(t) = ctrl.triple()? {
        triples += 1;
        if triples > max_triples {
            return Err(bad("more control triples than new bytes"));
        }
        let x = offtin(&t[0..8]).ok_or(bad("control value out of range"))?;
        let y = offtin(&t[8..16]).ok_or(bad("control value out of range"))?;
        let z = offtin(&t[16..24]).ok_or(bad("control value out of range"))?;
        let (x, y) = (
            u64::try_from(x).map_err(|_| bad("negative add length"))?,
            u64::try_from(y).map_err(|_| bad("negative copy length"))?,
        );
        let covered = x
            .checked_add(y)
            .and_then(|c| c.checked_add(written))
            .ok_or(bad("control lengths overflow"))?;
        if covered > new_size {
            return Err(bad("control data writes past the new size"));
        }
        if x > 0 {
            // Stock bspatch reads zeros outside the source here; this decoder refuses.
            let mut o = u64::try_from(oldpos)
                .map_err(|_| bad("add range before the start of the source"))?;
            if o.checked_add(x).is_none_or(|e| e > old_size) {
                return Err(bad("add range past the end of the source"));
            }
            diff.take(x, "diff block shorter than the control data", |d| {
                let part = &mut obuf[..d.len()];
                old.read_exact_at(o, part)?;
                for (a, b) in part.iter_mut().zip(d) {
                    *a = a.wrapping_add(*b);
                }
                sink.write_all(part)?;
                o += d.len() as u64;
                Ok(())
            })?;
        }
        extra.take(y, "extra block shorter than the control data", |e| {
            Ok(sink.write_all(e)?)
        })?;
        written = covered;
        oldpos = oldpos
            .checked_add(i64::try_from(x).map_err(|_| bad("control value out of range"))?)
            .and_then(|p| p.checked_add(z))
            .ok_or(bad("source position overflow"))?;
        if oldpos.unsigned_abs() > 1 << 62 {
            return Err(bad("source position out of range"));
        }
        on_op(Op {
            add: x,
            copy: y,
            seek: z,
        })?;
    }
    if written != new_size {
        return Err(bad("control data does not cover the new size"));
    }
    diff.finish("diff block longer than the control data")?;
    extra.finish("extra block longer than the control data")?;
    Ok(written)
}

/// The target size a classic patch declares (0 when the header is unreadable: the rebuild
/// reports why).
fn declared_size(patch: &[u8]) -> u64 {
    patch
        .get(24..32)
        .and_then(offtin)
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(0)
}

/// Applies a classic BSDIFF40 patch to `old` in memory, validating all of it on the way; the
/// target is returned only when every part of the patch was valid.
///
/// Memory: the target (its declared size is checked against `limits.max_classic_target`
/// before anything is decoded) plus what [`apply_bsdiff_to`] needs; the diff and extra streams
/// are decoded as the target is built, never held whole.
/// An add range that reaches outside `old` is refused (stock `bspatch` reads zeros there;
/// bsdiff itself never writes such a patch).
///
/// The classic format has no checksums: a patch for a different source still "applies". Prefer
/// [`import_bsdiff`] and the native apply, which check both ends.
///
/// # Errors
/// [`Error::BadMagic`], [`Error::Truncated`], [`Error::ClassicMalformed`] or
/// [`Error::LimitExceeded`] for any malformed or oversized patch.
pub fn apply_bsdiff(old: &[u8], patch: &[u8], limits: &Limits) -> Result<Vec<u8>> {
    let mut out = target_buffer(patch, limits);
    rebuild(old, patch, limits, &mut out, |_| Ok(()))?;
    Ok(out)
}

/// Applies a classic BSDIFF40 patch, streaming: the source and the patch are read by position
/// (the patch's three streams start at offsets its header gives; a slice or a [`FileSource`]
/// will do) and the target is written to `sink` as it is rebuilt. Memory does not depend on
/// the sizes: a few 64 KiB buffers and three bzip2 decoders (up to about 3.6 MiB each, for
/// bzip2's largest blocks). Returns the target size.
///
/// The classic format has no checksums, and the patch is validated as it goes: **on error the
/// sink holds a partial, unusable target** that the caller must discard (write to a temporary
/// file and rename it on success).
///
/// [`FileSource`]: crate::FileSource
///
/// # Errors
/// As [`apply_bsdiff`], and I/O errors of the source, the patch and the sink.
pub fn apply_bsdiff_to<S: Source, P: Source, W: Write>(
    old: S,
    patch: P,
    limits: &Limits,
    mut sink: W,
) -> Result<u64> {
    let n = rebuild(&old, &patch, limits, &mut sink, |_| Ok(()))?;
    sink.flush()?;
    Ok(n)
}

/// An empty target buffer with room for the declared size (virtual memory only until written).
fn target_buffer(patch: &[u8], limits: &Limits) -> Vec<u8> {
    let cap = declared_size(patch).min(limits.max_classic_target);
    Vec::with_capacity(usize::try_from(cap).unwrap_or(0))
}

/// Import keeps at most one control triple per this many target bytes (after merging)...
const CLASSIC_BYTES_PER_TRIPLE: u64 = 16;
/// ... plus this many, so small targets are never refused for it.
const CLASSIC_TRIPLE_ALLOWANCE: u64 = 4096;

/// Appends `op`, merged into the previous op where the result rebuilds the same bytes.
fn push_merged(ops: &mut Vec<Op>, op: Op) {
    if let Some(prev) = ops.last_mut() {
        if op.add == 0 {
            if let Some(seek) = prev.seek.checked_add(op.seek) {
                prev.copy += op.copy;
                prev.seek = seek;
                return;
            }
        } else if prev.copy == 0 && prev.seek == 0 {
            prev.add += op.add;
            prev.copy = op.copy;
            prev.seek = op.seek;
            return;
        }
    }
    ops.push(op);
}

/// Converts a classic BSDIFF40 patch for `old` into a native patch (bsdiff mode, or a full
/// image when that is smaller). The classic patch is validated completely first.
///
/// Memory: as [`apply_bsdiff`], plus the control triples, 24 bytes each after adjacent ones
/// are merged where that rebuilds the same bytes, at most one per 16 target bytes plus 4096
/// (1.5 bytes per target byte at worst; bsdiff's own patches need far fewer), and the
/// encoder's working memory.
///
/// # Errors
/// As [`apply_bsdiff`], [`Error::LimitExceeded`] for more control triples than that, plus the
/// errors of [`diff_with`](crate::diff_with).
pub fn import_bsdiff(
    old: &[u8],
    patch: &[u8],
    limits: &Limits,
    opts: &crate::DiffOptions,
) -> Result<Vec<u8>> {
    // The rebuild checks the declared size (against `limits`) before the first triple.
    let allowed =
        (declared_size(patch) / CLASSIC_BYTES_PER_TRIPLE).saturating_add(CLASSIC_TRIPLE_ALLOWANCE);
    let mut ops: Vec<Op> = Vec::new();
    let mut new = target_buffer(patch, limits);
    rebuild(old, patch, limits, &mut new, |op| {
        push_merged(&mut ops, op);
        if ops.len() as u64 > allowed {
            return Err(Error::LimitExceeded {
                what: "classic control triples",
                value: ops.len() as u64,
                limit: allowed,
            });
        }
        Ok(())
    })?;
    crate::diff::encode_ops(old, &new, &ops, opts)
}

/// Writes a classic BSDIFF40 patch (bzip2 level 9, as bsdiff does) that turns `old` into the
/// target of the native `patch`. The native patch is applied (and so fully verified) first.
///
/// # Errors
/// Any error of applying the native patch to `old`.
pub fn export_bsdiff(old: &[u8], patch: &[u8], limits: &Limits) -> Result<Vec<u8>> {
    let mut recs: Vec<(u64, u64, i64)> = Vec::new();
    let mut new = Vec::new();
    let opts = crate::ApplyOptions {
        limits: *limits,
        ..crate::ApplyOptions::default()
    };
    let mut job = crate::Apply::new(patch, old, &opts)?;
    let bsdiff_mode = job.header().mode == crate::Mode::Bsdiff;
    while job
        .next_frame_observed(&mut new, &mut |a, c, _seek, start| recs.push((a, c, start)))?
        .is_some()
    {}
    let mut ops = Vec::with_capacity(recs.len());
    if bsdiff_mode {
        for (i, r) in recs.iter().enumerate() {
            let next = recs.get(i + 1).map_or(r.2 + r.0 as i64, |n| n.2);
            ops.push(Op {
                add: r.0,
                copy: r.1,
                seek: next - (r.2 + r.0 as i64),
            });
        }
    } else {
        // Full and XOR modes: add over the common prefix, literal bytes for the rest.
        let common = old.len().min(new.len()) as u64;
        ops.push(Op {
            add: common,
            copy: new.len() as u64 - common,
            seek: 0,
        });
    }
    write_classic(old, &new, &ops)
}

/// Encodes `ops` (which must be valid for `old`/`new`) as BSDIFF40.
pub(crate) fn write_classic(old: &[u8], new: &[u8], ops: &[Op]) -> Result<Vec<u8>> {
    let bad = Error::ClassicMalformed;
    let (mut ctrl, mut diff, mut extra) = (Vec::new(), Vec::new(), Vec::new());
    let (mut oldpos, mut newpos) = (0i64, 0usize);
    for op in ops {
        let (x, y) = (op.add as usize, op.copy as usize);
        let signed = |v: usize| i64::try_from(v).map_err(|_| bad("length out of range"));
        ctrl.extend_from_slice(&offtout(signed(x)?));
        ctrl.extend_from_slice(&offtout(signed(y)?));
        ctrl.extend_from_slice(&offtout(op.seek));
        if x > 0 {
            let o = usize::try_from(oldpos).map_err(|_| bad("internal bounds"))?;
            let src = old.get(o..o + x).ok_or(bad("internal bounds"))?;
            let dst = new.get(newpos..newpos + x).ok_or(bad("internal bounds"))?;
            diff.extend(dst.iter().zip(src).map(|(n, o)| n.wrapping_sub(*o)));
        }
        extra.extend_from_slice(
            new.get(newpos + x..newpos + x + y)
                .ok_or(bad("internal bounds"))?,
        );
        newpos += x + y;
        oldpos += signed(x)? + op.seek;
    }
    let bz = |data: &[u8]| -> Result<Vec<u8>> {
        use std::io::Write;
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        e.write_all(data)?;
        Ok(e.finish()?)
    };
    let (c, d, e) = (bz(&ctrl)?, bz(&diff)?, bz(&extra)?);
    let mut out = Vec::with_capacity(32 + c.len() + d.len() + e.len());
    out.extend_from_slice(MAGIC);
    for v in [c.len(), d.len(), new.len()] {
        out.extend_from_slice(&offtout(
            i64::try_from(v).map_err(|_| bad("length out of range"))?,
        ));
    }
    out.extend_from_slice(&c);
    out.extend_from_slice(&d);
    out.extend_from_slice(&e);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_magnitude_round_trip() {
        for v in [0i64, 1, -1, 255, -256, i64::MAX, -i64::MAX] {
            assert_eq!(offtin(&offtout(v)), Some(v));
        }
        // Negative zero decodes as zero, as in bsdiff.
        let mut nz = [0u8; 8];
        nz[7] = 0x80;
        assert_eq!(offtin(&nz), Some(0));
    }
}
