//! Classic BSDIFF40 patches (bsdiff 4.x / Debian `bsdiff`, `qbsdiff`): validated parsing, a
//! checked in-memory apply, import into the native format and export from it.
//!
//! Layout (from bsdiff 4.3): `"BSDIFF40"`, then three 8-byte sign-magnitude little-endian
//! integers (control block length, diff block length, new file size), then three bzip2 streams
//! (control triples of three such integers, diff bytes, extra bytes).

use crate::error::{Error, Result};
use crate::frame::Op;
use crate::limits::Limits;

const MAGIC: &[u8; 8] = b"BSDIFF40";

/// A fully validated classic patch.
pub(crate) struct Parsed {
    pub ops: Vec<Op>,
    pub diff: Vec<u8>,
    pub extra: Vec<u8>,
    pub new_size: u64,
}

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

/// Decompresses exactly one complete bzip2 stream that must fill `seg` and yield at most `cap`
/// bytes.
fn bunzip(seg: &[u8], cap: u64) -> Result<Vec<u8>> {
    let bad = Error::ClassicMalformed;
    let mut d = bzip2::Decompress::new(false);
    let mut out = Vec::with_capacity(cap.min(1 << 20) as usize);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let (ti, to) = (d.total_in(), d.total_out());
        let input = seg.get(ti as usize..).unwrap_or_default();
        let st = d
            .decompress(input, &mut buf)
            .map_err(|_| bad("invalid bzip2 data"))?;
        let made = (d.total_out() - to) as usize;
        if out.len() as u64 + made as u64 > cap {
            return Err(bad(
                "a block decompresses to more than its declared size allows",
            ));
        }
        out.extend_from_slice(&buf[..made]);
        if st == bzip2::Status::StreamEnd {
            if d.total_in() != seg.len() as u64 {
                return Err(bad("bytes after a bzip2 stream"));
            }
            return Ok(out);
        }
        if d.total_in() == ti && made == 0 {
            return Err(bad("bzip2 stream truncated"));
        }
    }
}

/// Parses and validates a classic patch for a source of `old_size` bytes: every header length,
/// every control triple against the source and target sizes, and exact consumption of the
/// diff and extra data. Nothing of qbsdiff's patcher is used.
pub(crate) fn parse(patch: &[u8], old_size: u64, limits: &Limits) -> Result<Parsed> {
    let bad = Error::ClassicMalformed;
    if patch.len() < 32 {
        return Err(
            if patch.get(..8).is_some_and(|m| m != MAGIC) || patch.is_empty() {
                Error::BadMagic {
                    expected: "BSDIFF40",
                }
            } else {
                bad("header truncated")
            },
        );
    }
    if &patch[..8] != MAGIC {
        return Err(Error::BadMagic {
            expected: "BSDIFF40",
        });
    }
    let field = |i: usize, name: &'static str| -> Result<u64> {
        let v = offtin(&patch[i..i + 8]).ok_or(bad(name))?;
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
    let body = (patch.len() - 32) as u64;
    if ctrl_len > body || diff_len > body - ctrl_len {
        return Err(Error::Truncated {
            offset: patch.len() as u64,
        });
    }
    let c_end = 32 + ctrl_len as usize;
    let d_end = c_end + diff_len as usize;
    // Every useful triple covers at least one new byte; allow a few empty ones.
    let ctrl_cap = new_size.saturating_add(64).saturating_mul(24);
    let ctrl = bunzip(&patch[32..c_end], ctrl_cap)?;
    let diff = bunzip(&patch[c_end..d_end], new_size)?;
    let extra = bunzip(&patch[d_end..], new_size)?;
    if ctrl.len() % 24 != 0 {
        return Err(bad("control block is not a whole number of triples"));
    }
    let mut ops = Vec::with_capacity(ctrl.len() / 24);
    let (mut newpos, mut oldpos, mut dsum, mut esum) = (0u64, 0i64, 0u64, 0u64);
    for t in ctrl.chunks_exact(24) {
        let x = offtin(&t[0..8]).ok_or(bad("control value out of range"))?;
        let y = offtin(&t[8..16]).ok_or(bad("control value out of range"))?;
        let z = offtin(&t[16..24]).ok_or(bad("control value out of range"))?;
        let (x, y) = (
            u64::try_from(x).map_err(|_| bad("negative add length"))?,
            u64::try_from(y).map_err(|_| bad("negative copy length"))?,
        );
        let covered = x
            .checked_add(y)
            .and_then(|c| c.checked_add(newpos))
            .ok_or(bad("control lengths overflow"))?;
        if covered > new_size {
            return Err(bad("control data writes past the new size"));
        }
        if x > 0 {
            let o = u64::try_from(oldpos)
                .map_err(|_| bad("add range before the start of the source"))?;
            if o.checked_add(x).is_none_or(|e| e > old_size) {
                return Err(bad("add range past the end of the source"));
            }
        }
        newpos = covered;
        dsum += x;
        esum += y;
        oldpos = oldpos
            .checked_add(i64::try_from(x).map_err(|_| bad("control value out of range"))?)
            .and_then(|p| p.checked_add(z))
            .ok_or(bad("source position overflow"))?;
        if oldpos.unsigned_abs() > 1 << 62 {
            return Err(bad("source position out of range"));
        }
        ops.push(Op {
            add: x,
            copy: y,
            seek: z,
        });
    }
    if newpos != new_size {
        return Err(bad("control data does not cover the new size"));
    }
    if dsum != diff.len() as u64 || esum != extra.len() as u64 {
        return Err(bad(
            "diff or extra block length differs from the control data",
        ));
    }
    Ok(Parsed {
        ops,
        diff,
        extra,
        new_size,
    })
}

/// Reconstructs the new file from a validated classic patch.
pub(crate) fn reconstruct(old: &[u8], p: &Parsed) -> Result<Vec<u8>> {
    let bad = Error::ClassicMalformed;
    let mut out = Vec::with_capacity(p.new_size as usize);
    let (mut oldpos, mut dp, mut ep) = (0i64, 0usize, 0usize);
    for op in &p.ops {
        let (x, y) = (op.add as usize, op.copy as usize);
        if x > 0 {
            let o = usize::try_from(oldpos).map_err(|_| bad("internal bounds"))?;
            let src = old.get(o..o + x).ok_or(bad("internal bounds"))?;
            let d = p.diff.get(dp..dp + x).ok_or(bad("internal bounds"))?;
            out.extend(src.iter().zip(d).map(|(a, b)| a.wrapping_add(*b)));
        }
        out.extend_from_slice(p.extra.get(ep..ep + y).ok_or(bad("internal bounds"))?);
        dp += x;
        ep += y;
        oldpos += x as i64 + op.seek;
    }
    Ok(out)
}

/// Applies a classic BSDIFF40 patch to `old` in memory, after validating all of it.
///
/// The classic format has no checksums: a patch for a different source still "applies". Prefer
/// [`import_bsdiff`] and the native apply, which check both ends.
///
/// # Errors
/// [`Error::BadMagic`], [`Error::Truncated`], [`Error::ClassicMalformed`] or
/// [`Error::LimitExceeded`] for any malformed or oversized patch.
pub fn apply_bsdiff(old: &[u8], patch: &[u8], limits: &Limits) -> Result<Vec<u8>> {
    let parsed = parse(patch, old.len() as u64, limits)?;
    reconstruct(old, &parsed)
}

/// Converts a classic BSDIFF40 patch for `old` into a native patch (bsdiff mode, or a full
/// image when that is smaller). The classic patch is validated completely first.
///
/// # Errors
/// As [`apply_bsdiff`], plus the errors of [`diff_with`](crate::diff_with).
pub fn import_bsdiff(
    old: &[u8],
    patch: &[u8],
    limits: &Limits,
    opts: &crate::DiffOptions,
) -> Result<Vec<u8>> {
    let parsed = parse(patch, old.len() as u64, limits)?;
    let new = reconstruct(old, &parsed)?;
    crate::diff::encode_ops(old, &new, &parsed.ops, opts)
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
