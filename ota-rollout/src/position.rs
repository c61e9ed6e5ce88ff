//! The stable position of a device in a rollout: a salted 64-bit hash mapped to `[0, 1)`.
//!
//! Internal: the hash and the salt's seed are re-exported at the crate root (their definition
//! is part of the crate's contract); positions, parts per billion and thresholds stay here.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;

#[inline(always)]
fn round(word: u64) -> u64 {
    word.wrapping_mul(P2).rotate_left(31).wrapping_mul(P1)
}

#[inline(always)]
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// The stable 64-bit hash of `bytes` under `seed`: the hash behind every device's ring.
///
/// A device's position in a rollout is the top 53 bits of `position_hash(salt_seed(salt), id)`,
/// read as a point in `[0, 1)`; a ring covers the positions below its cumulative bound. It is
/// public so that another implementation (a C server, a device that wants to know its ring)
/// can reproduce it bit for bit; the crate's own tests pin known answers.
///
/// # The hash, and why it is stable
///
/// `position_hash(seed, id)` is defined entirely in terms of little-endian 8-byte reads of the id
/// bytes and wrapping `u64` arithmetic (multiply, xor, rotate), so it gives the same result on
/// every platform, word size and endianness, and in every release of this crate: a change would
/// re-draw every fleet, so `tests/position.rs` pins known answers. The seed is the same hash of
/// the rollout's salt, so two rollouts with different salts draw independent orders, and one
/// rollout keeps its order for as long as its salt is unchanged.
///
/// The structure is the one of the small-input path of xxHash64: the length is folded in first,
/// each 8-byte word is multiplied by an odd constant, rotated and multiplied again before it is
/// xored into the state, and the last partial word is zero-padded (the length already separates
/// `"a"` from `"a\0"`). The state goes through the MurmurHash3 64-bit finaliser (`fmix64`), whose
/// avalanche is well studied: every input bit flips every output bit with probability close to
/// 1/2. The tests check the distribution with a chi-square test over sequential ids
/// (`device-000000`, `device-000001`, ...), the worst realistic case for a weak hash.
///
/// It is not a cryptographic hash, and does not need to be: the salt is not secret, and a device
/// owner who could choose ids to land in the canary ring gains nothing the operator's pinning
/// does not already allow. It was chosen by measurement against SHA-256 and FNV-1a (see
/// `benches/results/rollout.md`): at a few nanoseconds per id it keeps assignment well above the
/// 10 million devices per second the issue asks for, where SHA-256 alone costs ~200-300 ns.
#[inline]
pub fn position_hash(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed.wrapping_add(P3) ^ (bytes.len() as u64).wrapping_mul(P4);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        h ^= round(u64::from_le_bytes(w));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h ^= round(u64::from_le_bytes(w));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
    }
    fmix64(h)
}

/// The seed of a rollout's salt, for [`position_hash`]: `position_hash(0, salt)`.
#[inline]
pub fn salt_seed(salt: &str) -> u64 {
    position_hash(0, salt.as_bytes())
}

/// A device's position: the top 53 bits of its hash. `position / 2^53` is its point in `[0, 1)`.
#[inline]
pub(crate) fn position53(seed: u64, device_id: &str) -> u64 {
    position_hash(seed, device_id.as_bytes()) >> 11
}

/// `2^53`, the number of distinct positions.
pub(crate) const POSITIONS: u64 = 1 << 53;

/// One billionth: fractions are resolved to parts per billion so that `0.07` means exactly 7%.
pub(crate) const PPB: u64 = 1_000_000_000;

/// Converts a fraction in `[0, 1]` to parts per billion, rounding to the nearest.
pub(crate) fn fraction_to_ppb(fraction: f64) -> u64 {
    let scaled = (fraction * PPB as f64).round();
    if scaled <= 0.0 {
        0
    } else if scaled >= PPB as f64 {
        PPB
    } else {
        scaled as u64
    }
}

/// The position threshold of a fraction: a device is covered when `position53 < threshold`.
pub(crate) fn ppb_threshold(ppb: u64) -> u64 {
    // ceil(ppb * 2^53 / 1e9), exact in u128.
    let num = u128::from(ppb) * u128::from(POSITIONS);
    let den = u128::from(PPB);
    num.div_ceil(den) as u64
}

/// `ceil(ppb * n / 1e9)`: the exact-mode size of a cumulative bound over `n` devices.
pub(crate) fn ppb_count(ppb: u64, n: u64) -> u64 {
    (u128::from(ppb) * u128::from(n)).div_ceil(u128::from(PPB)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_exact() {
        assert_eq!(ppb_threshold(PPB), POSITIONS);
        assert_eq!(ppb_threshold(0), 0);
        assert_eq!(ppb_count(fraction_to_ppb(0.07), 100), 7);
        assert_eq!(ppb_count(fraction_to_ppb(0.01), 10_000), 100);
        assert_eq!(ppb_count(fraction_to_ppb(0.01), 10_001), 101);
        assert_eq!(ppb_count(fraction_to_ppb(1.0), 12345), 12345);
    }

    #[test]
    fn length_and_seed_matter() {
        assert_ne!(position_hash(0, b"a"), position_hash(0, b"a\0"));
        assert_ne!(position_hash(1, b"dev"), position_hash(2, b"dev"));
        assert_ne!(position_hash(0, b""), position_hash(1, b""));
    }
}
