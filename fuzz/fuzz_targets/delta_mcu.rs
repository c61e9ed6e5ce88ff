#![no_main]
//! The MCU apply (`McuApply`, FORMAT.md §10): never panics, never reads or writes outside its
//! buffers or the declared images, and agrees with the std apply.
//!
//! The first byte selects the path. Odd selectors: the rest is split into an old and a new
//! image, `diff_with(Profile::Mcu)` makes a patch, and the MCU apply (fed in pieces whose sizes
//! come from the input) must give the new image, also when resumed from one of its cursors
//! after a reset. Even selectors: raw patch bytes over the fixture source (`sel & 2 == 0`: as
//! they are; else behind a header with a correct check value for a DEFLATE patch, so that the
//! frame parser and the in-place inflater see arbitrary frames). Whatever the MCU apply accepts
//! in full must be accepted by the std apply with the same target.

use libfuzzer_sys::fuzz_target;
use ota_delta::{
    Codec, Cursor, DiffOptions, Fed, HEADER_LEN, Header, MCU_MAX_RAW, McuApply, McuOptions,
    McuStorage, Mode, ModeChoice, Profile, SourceCheck, mcu_frame_buf_len,
};

const FIXTURE_OLD: &[u8] = include_bytes!("../../ota-delta/tests/data/old.bin");

struct Flash<'a> {
    source: &'a [u8],
    target: Vec<u8>,
    limit: usize,
}

impl McuStorage for Flash<'_> {
    fn read_source(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), i32> {
        let o = usize::try_from(offset).map_err(|_| -1)?;
        let src = o.checked_add(buf.len()).and_then(|e| self.source.get(o..e));
        assert!(
            src.is_some(),
            "source read outside the source: {o}+{}",
            buf.len()
        );
        buf.copy_from_slice(src.ok_or(-1)?);
        Ok(())
    }
    fn write_target(&mut self, offset: u64, data: &[u8]) -> Result<(), i32> {
        let o = usize::try_from(offset).map_err(|_| -1)?;
        let end = o + data.len();
        assert!(end <= self.limit, "target write past the declared size");
        if self.target.len() < end {
            self.target.resize(end, 0);
        }
        self.target[o..end].copy_from_slice(data);
        Ok(())
    }
    fn read_target(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), i32> {
        let o = usize::try_from(offset).map_err(|_| -1)?;
        let t = o.checked_add(buf.len()).and_then(|e| self.target.get(o..e));
        buf.copy_from_slice(t.ok_or(-2)?);
        Ok(())
    }
}

/// Feeds `patch` in pieces of the sizes in `steps` (cycled), collecting the cursors.
fn feed(
    job: &mut McuApply<'_>,
    patch: &[u8],
    steps: &[u8],
    flash: &mut Flash<'_>,
) -> ota_delta::Result<Vec<Cursor>> {
    let mut cursors = Vec::new();
    let (mut pos, mut k) = (0usize, 0usize);
    while pos < patch.len() {
        let step = 1 + usize::from(steps.get(k % steps.len().max(1)).copied().unwrap_or(255)) * 16;
        k += 1;
        let end = (pos + step).min(patch.len());
        let mut piece = &patch[pos..end];
        loop {
            match job.feed(piece, flash)? {
                Fed::NeedMore => break,
                Fed::Frame { used, cursor } | Fed::Finished { used, cursor } => {
                    cursors.push(cursor);
                    piece = &piece[used..];
                }
            }
        }
        pos = end;
    }
    Ok(cursors)
}

fn opts(verify: bool) -> McuOptions {
    McuOptions {
        source_check: if verify {
            SourceCheck::Verify
        } else {
            SourceCheck::TrustCaller
        },
        ..McuOptions::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    if sel & 1 == 1 {
        round_trip(sel, rest);
    } else {
        raw(sel, rest);
    }
});

fn round_trip(sel: u8, rest: &[u8]) {
    if rest.len() < 4 {
        return;
    }
    let cut = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % (rest.len() - 1);
    let steps = &rest[2..4];
    let body = &rest[4..];
    let cut = cut.min(body.len());
    let (old, new) = body.split_at(cut);
    let mode = match (sel >> 1) % 4 {
        0 => ModeChoice::Auto,
        1 => ModeChoice::Bsdiff,
        2 => ModeChoice::Full,
        _ => ModeChoice::XorPlanes { width: 4 },
    };
    let o = DiffOptions {
        mode,
        frame_size: 4096,
        preset: 0,
        profile: Profile::Mcu,
        ..DiffOptions::default()
    };
    let Ok(patch) = ota_delta::diff_with(old, new, &o) else {
        return;
    };
    let mut frame = vec![0u8; mcu_frame_buf_len(MCU_MAX_RAW)];
    let mut work = [0u8; 64];
    let mut flash = Flash {
        source: old,
        target: Vec::new(),
        limit: new.len(),
    };
    let mut job = McuApply::new(&mut frame, &mut work, opts(sel & 0x80 != 0)).unwrap();
    let cursors = match feed(&mut job, &patch, steps, &mut flash) {
        Ok(c) => c,
        Err(e) => panic!("an MCU patch must apply: {e}"),
    };
    assert!(job.is_finished());
    assert!(flash.target == new, "the MCU apply must give the new image");
    let Some(c) = cursors.get(usize::from(steps[0]) % cursors.len().max(1)) else {
        return;
    };
    // A reset after this cursor: garbage past it, then resume.
    let done = c.target_offset() as usize;
    flash.target.truncate(done);
    flash
        .target
        .extend(std::iter::repeat_n(0xA5, 17.min(new.len() - done)));
    let header: &[u8; HEADER_LEN] = patch[..HEADER_LEN].try_into().unwrap();
    let mut job = McuApply::resume(&mut frame, &mut work, opts(true), header, c, &mut flash)
        .expect("resume from a cursor");
    feed(
        &mut job,
        &patch[c.patch_offset() as usize..],
        steps,
        &mut flash,
    )
    .expect("resumed apply");
    assert!(job.is_finished());
    assert!(
        flash.target == new,
        "a resumed apply must give the new image"
    );
}

fn raw(sel: u8, rest: &[u8]) {
    let patch: Vec<u8> = if sel & 2 == 0 {
        rest.to_vec()
    } else {
        if rest.len() < 16 {
            return;
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
        let mode = match rest[0] % 3 {
            0 => Mode::Full,
            1 => Mode::Bsdiff,
            _ => Mode::XorPlanes {
                width: 4,
                phase: rest[1] % 4,
            },
        };
        let target_size = u64::from(u32_at(2) % (1 << 16));
        let frame_size = 4096;
        let frame_count = match mode {
            Mode::Bsdiff => u32::from(rest[6] % 8).min(target_size.div_ceil(64) as u32),
            _ => target_size.div_ceil(4096) as u32,
        };
        let max_raw = (u32::from(u16::from_le_bytes([rest[7], rest[8]])) % 6000).min(match mode {
            Mode::Bsdiff => u32::MAX,
            _ => frame_size,
        });
        let h = Header {
            mode,
            codec: if rest[9] & 1 == 0 {
                Codec::Deflate
            } else {
                Codec::Stored
            },
            frame_size,
            frame_count,
            max_payload: max_raw + u32::from(rest[10]),
            max_raw,
            source_size: if mode == Mode::Full {
                0
            } else {
                FIXTURE_OLD.len() as u64
            },
            target_size,
            source_sha256: [0; 32],
            target_sha256: [0; 32],
        };
        let mut p = h.to_bytes().to_vec();
        p.extend_from_slice(&rest[11..]);
        p
    };
    let mut frame = vec![0u8; mcu_frame_buf_len(MCU_MAX_RAW)];
    let mut work = [0u8; 100];
    let mut flash = Flash {
        source: FIXTURE_OLD,
        target: Vec::new(),
        limit: usize::MAX,
    };
    if let Ok(h) = ota_delta::read_header(&patch[..], &McuOptions::default().limits) {
        flash.limit = h.target_size as usize;
    }
    let mut job = McuApply::new(&mut frame, &mut work, opts(false)).unwrap();
    let r = feed(&mut job, &patch, &[sel >> 2], &mut flash);
    if r.is_ok() && job.is_finished() {
        let mut out = Vec::new();
        let std_opts = ota_delta::ApplyOptions {
            source_check: SourceCheck::TrustCaller,
            ..ota_delta::ApplyOptions::default()
        };
        let mut a = ota_delta::Apply::new(&patch[..], FIXTURE_OLD, &std_opts)
            .expect("the std apply takes what the MCU apply took");
        a.run(&mut out)
            .expect("the std apply takes what the MCU apply took");
        assert!(out == flash.target, "std and MCU applies differ");
    }
}
