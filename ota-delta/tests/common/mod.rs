//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_delta::{DiffOptions, ModeChoice};

/// Fast settings for debug-build tests: small frames so that small inputs have many frames.
pub fn fast(mode: ModeChoice) -> DiffOptions {
    DiffOptions {
        mode,
        frame_size: 4096,
        preset: 1,
        extreme: false,
        ..DiffOptions::default()
    }
}

/// Deterministic pseudo-random bytes (xorshift), compressible enough to look like code.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // A small alphabet so LZ matches exist.
            b"\x00\x01\x48\x89\xe5\xc3\x8b\x45\xff\x10"[(x % 10) as usize]
        })
        .collect()
}

/// `old` with a few edits, an insertion, a deletion and a moved block.
pub fn mutate(old: &[u8], seed: u64) -> Vec<u8> {
    let mut new = old.to_vec();
    let n = new.len();
    if n < 64 {
        new.extend_from_slice(b"tail");
        return new;
    }
    let s = seed as usize;
    for k in 0..8 {
        let i = (s.wrapping_mul(31).wrapping_add(k * 977)) % new.len();
        new[i] = new[i].wrapping_add(1 + k as u8);
    }
    let at = s % (n / 2);
    new.splice(at..at, bytes(seed ^ 0xabc, 300));
    let d = (s / 7) % (new.len() / 2);
    new.drain(d..d + 100.min(new.len() - d));
    let m = new.len() / 3;
    let block: Vec<u8> = new.drain(m..m + 200.min(new.len() - m)).collect();
    new.extend_from_slice(&block);
    new
}

/// Applies `patch` to `old` into a fresh vector.
pub fn apply_vec(patch: &[u8], old: &[u8]) -> ota_delta::Result<Vec<u8>> {
    let mut out = Vec::new();
    ota_delta::apply_patch(patch, old, &mut out)?;
    Ok(out)
}
