#![no_main]
//! Native patch decode and apply: must never panic, memory stays bounded by the (small) limits
//! given here whatever the patch declares, and a valid patch applies to exactly its target.
//!
//! The first byte selects the path. Three in four inputs (`sel % 4 != 0`) describe a patch
//! that `ota_fuzz::native` builds with a correct header, frame checks and LZMA2 or stored
//! payloads, in each of the three modes; it must apply (whole, and resumed from one of its
//! cursors) to the target the builder computed independently, or, when the builder changed,
//! cut or extended it afterwards, be refused. The other inputs are raw bytes: used as they
//! are (`sel & 4 == 0`: the header checks) or behind a header built from their first bytes
//! with a correct check value (the frame parser and the codecs on arbitrary frames).

use libfuzzer_sys::fuzz_target;
use ota_delta::{Apply, ApplyOptions, Codec, Cursor, Header, Limits, Mode, SourceCheck};
use ota_fuzz::input::Input;
use ota_fuzz::native::Spec;

const LIMITS: Limits = Limits {
    max_image_size: 1 << 20,
    max_frame_size: 64 << 10,
    max_dict_size: 64 << 10,
    max_frames: 1024,
    max_classic_target: 1 << 20,
};

const FIXTURE_OLD: &[u8] = include_bytes!("../../ota-delta/tests/data/old.bin");

fn u32_at(d: &[u8], i: usize) -> u32 {
    let mut a = [0u8; 4];
    for (k, b) in a.iter_mut().enumerate() {
        *b = d.get(i + k).copied().unwrap_or(0);
    }
    u32::from_le_bytes(a)
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    if sel % 4 != 0 {
        structured(rest);
    } else {
        raw(sel >> 2, rest);
    }
});

/// Applies a whole patch, returning the target and every cursor.
fn apply_all(
    patch: &[u8],
    source: &[u8],
    opts: &ApplyOptions,
) -> ota_delta::Result<(Vec<u8>, Vec<Cursor>)> {
    let mut out = Vec::new();
    let mut cursors = Vec::new();
    let mut job = Apply::new(patch, source, opts)?;
    while let Some(c) = job.next_frame(&mut out)? {
        cursors.push(c);
    }
    Ok((out, cursors))
}

fn structured(rest: &[u8]) {
    let spec = Spec::read(&mut Input::new(rest));
    let b = spec.build();
    let opts = ApplyOptions {
        limits: LIMITS,
        source_check: if spec.flags & 1 != 0 {
            SourceCheck::Verify
        } else {
            SourceCheck::TrustCaller
        },
    };
    let r = apply_all(&b.patch, &b.source, &opts);
    if b.altered {
        assert!(r.is_err(), "an altered patch must be refused");
        return;
    }
    let (out, cursors) = match r {
        Ok(v) => v,
        Err(e) => panic!("a valid patch must apply: {e}"),
    };
    assert!(out == b.target, "the patch must give the builder's target");
    if cursors.is_empty() {
        return;
    }
    let c = &cursors[usize::from(spec.resume_at) % cursors.len()];
    let done = usize::try_from(c.target_offset()).unwrap_or(usize::MAX);
    let mut tail = Vec::new();
    let r = resume(&b.patch, &b.source, c, &b.target[..done], &opts, &mut tail);
    assert!(r.is_ok(), "resume from a cursor must succeed: {r:?}");
    assert!(
        tail == b.target[done..],
        "a resumed apply must give the rest of the target"
    );
}

fn raw(sel: u8, rest: &[u8]) {
    // The as-is path uses the source of the committed fixture pair, so that the fixture patch
    // (a good seed: `0x00` followed by ota-delta/tests/data/valid.otd) and its mutations get
    // past the source check into the frames.
    let as_is = sel & 1 == 0;
    let source: Vec<u8> = if as_is {
        FIXTURE_OLD.to_vec()
    } else {
        (0..(u32::from(sel) * 37)).map(|i| (i * 7) as u8).collect()
    };
    let opts = ApplyOptions {
        limits: LIMITS,
        source_check: SourceCheck::TrustCaller,
    };
    let patch: Vec<u8> = if as_is {
        rest.to_vec()
    } else {
        if rest.len() < 24 {
            return;
        }
        let mode = match rest[0] % 3 {
            0 => Mode::Full,
            1 => Mode::Bsdiff,
            _ => Mode::XorPlanes {
                width: [1, 2, 4, 8][usize::from(rest[1] % 4)],
                phase: rest[2] % 8,
            },
        };
        let frame_size = 4096 * (1 + u32::from(rest[3] % 4));
        let target_size = u64::from(u32_at(rest, 4) % (256 << 10));
        // Mostly the largest lengths the header allows, so that frames get decoded.
        let bound = match mode {
            Mode::Bsdiff => frame_size / 4 + 16 + frame_size * 3 / 2,
            _ => frame_size,
        };
        let max_raw = bound - u32_at(rest, 18) % 4;
        let header = Header {
            mode,
            codec: if rest[8] & 1 == 0 {
                Codec::Stored
            } else {
                Codec::Lzma2 {
                    props: rest[9],
                    dict_size: 4096 + u32_at(rest, 10) % (64 << 10),
                }
            },
            frame_size,
            frame_count: u32::try_from(target_size.div_ceil(u64::from(frame_size))).unwrap_or(0),
            max_payload: max_raw + max_raw / 1024 + 64 - u32_at(rest, 14) % 8,
            max_raw,
            source_size: if mode == Mode::Full {
                0
            } else {
                source.len() as u64
            },
            target_size,
            source_sha256: [0; 32],
            target_sha256: [0; 32],
        };
        let mut p = header.to_bytes().to_vec();
        p.extend_from_slice(&rest[22..]);
        p
    };
    let mut out = Vec::new();
    if let Ok(mut job) = Apply::new(&patch[..], &source[..], &opts) {
        let mut last = None;
        while let Ok(Some(c)) = job.next_frame(&mut out) {
            last = Some(c);
        }
        if let Some(c) = last {
            let _ = resume(&patch, &source, &c, &out, &opts, &mut Vec::new());
        }
    }
    // Cursors from arbitrary bytes must not panic either.
    if let Ok(b) = <[u8; 64]>::try_from(rest.get(..64).unwrap_or_default())
        && let Ok(c) = Cursor::from_bytes(&b)
    {
        let _ = resume(&patch, &source, &c, &out, &opts, &mut Vec::new());
    }
}

/// Resumes from the header, the patch after the cursor and the target written so far.
fn resume(
    patch: &[u8],
    source: &[u8],
    c: &Cursor,
    stored: &[u8],
    opts: &ApplyOptions,
    sink: &mut Vec<u8>,
) -> ota_delta::Result<()> {
    let Some(header) = patch.get(..ota_delta::HEADER_LEN) else {
        return Ok(());
    };
    let Ok(header) = <&[u8; ota_delta::HEADER_LEN]>::try_from(header) else {
        return Ok(());
    };
    let rest = usize::try_from(c.patch_offset())
        .ok()
        .and_then(|o| patch.get(o..))
        .unwrap_or_default();
    let mut job = Apply::resume(header, rest, source, c, stored, opts)?;
    job.run(sink)?;
    Ok(())
}
