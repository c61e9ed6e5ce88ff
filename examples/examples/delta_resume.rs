//! ota-delta: make a patch, apply it frame by frame as it streams in, lose power half way,
//! resume from the 64-byte cursor, and get the identical image.
//!
//! Run: `cargo run --example delta_resume`

use std::error::Error;
use std::io::Write;

use ota_delta::{Apply, ApplyOptions, Cursor, DiffOptions, diff_with};

/// Builds two versions of an image, a patch between them, and applies it with a power cut.
pub fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    // Two versions of a 96 KiB image: the new one has a block inserted (which shifts everything
    // after it) and a few bytes changed, as a rebuilt firmware has.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 251) as u8
    };
    let old: Vec<u8> = (0..96 * 1024)
        .map(|i| if i % 7 == 0 { next() } else { (i % 61) as u8 })
        .collect();
    let mut new = old.clone();
    new.splice(
        30_000..30_000,
        b"a new function inserted by the 4.2 build".repeat(20),
    );
    for i in (50_000..new.len()).step_by(9_000) {
        new[i] ^= 0x5a;
    }
    // And 12 KB of new code that matches nothing in the old image: most of the patch.
    let fresh: Vec<u8> = (0..12_000).map(|_| next()).collect();
    new.splice(70_000..70_000, fresh);

    // 4 KiB frames: about the most patch content a device holds at once, and the most patch
    // bytes a power cut loses (a frame covers as much of the image as that content describes).
    let opts = DiffOptions {
        frame_size: 4 * 1024,
        ..Default::default()
    };
    let patch = diff_with(&old, &new, &opts)?;
    writeln!(
        out,
        "image {} bytes, patch {} bytes ({:.1}%)",
        new.len(),
        patch.len(),
        patch.len() as f64 * 100.0 / new.len() as f64
    )?;

    // Apply frame by frame into the "inactive slot". After each frame the device persists the
    // cursor (64 bytes) together with what it wrote.
    let mut slot: Vec<u8> = Vec::new();
    let mut persisted: Option<[u8; 64]> = None;
    {
        let mut job = Apply::new(patch.as_slice(), old.as_slice(), &ApplyOptions::default())?;
        writeln!(out, "frames: {}", job.header().frame_count)?;
        for _ in 0..2 {
            if let Some(cursor) = job.next_frame(&mut slot)? {
                persisted = Some(cursor.to_bytes());
            }
        }
        // Power cut here: the `Apply` and everything in RAM are gone.
    }
    let saved = persisted.ok_or("no frame was applied")?;
    let cursor = Cursor::from_bytes(&saved)?;
    writeln!(
        out,
        "power cut after frame {}: cursor {} bytes, {} target bytes kept",
        cursor.frame_index(),
        saved.len(),
        cursor.target_offset()
    )?;

    // After the reboot: keep exactly the bytes the cursor vouches for, and resume from the
    // header and the patch's bytes after the cursor (a range request); the slot is read back and
    // re-hashed, so bytes that changed in flash since they were written are refused.
    slot.truncate(usize::try_from(cursor.target_offset())?);
    let header: &[u8; ota_delta::HEADER_LEN] = patch
        .get(..ota_delta::HEADER_LEN)
        .ok_or("short patch")?
        .try_into()?;
    let rest = patch
        .get(usize::try_from(cursor.patch_offset())?..)
        .ok_or("cursor past the patch")?;
    let mut job = Apply::resume(
        header,
        rest,
        old.as_slice(),
        &cursor,
        slot.as_slice(),
        &ApplyOptions::default(),
    )?;
    job.run(&mut slot)?; // checks every frame and, at the end, the target's size and SHA-256
    writeln!(out, "resumed: identical to the new image: {}", slot == new)?;

    // A damaged patch is refused before a byte of the bad frame is written.
    let mut bad = patch.clone();
    let last = bad.len() - 10;
    bad[last] ^= 0xff;
    let mut sink = Vec::new();
    let result = Apply::new(bad.as_slice(), old.as_slice(), &ApplyOptions::default())
        .and_then(|mut j| j.run(&mut sink));
    match result {
        Ok(_) => writeln!(out, "damaged patch: applied (wrong!)")?,
        Err(e) => writeln!(out, "damaged patch: refused ({e})")?,
    }
    Ok(())
}

#[allow(dead_code)] // the integration test includes this file and calls `run` directly
fn main() -> Result<(), Box<dyn Error>> {
    run(&mut std::io::stdout().lock())
}
