#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The reference hash spells out rotations on purpose: it must not share the crate's helpers.
#![allow(clippy::manual_rotate)]
//! The position hash: pinned known answers (a change would re-draw every fleet), agreement with
//! a second implementation written from the documented definition, and its distribution.

use ota_rollout::{position_hash, salt_seed};

/// `2^53` positions: a device's position is the top 53 bits of its hash.
const POSITIONS: u64 = 1 << 53;
use proptest::prelude::*;

/// Known answers. These are this crate's own outputs, pinned on purpose: they are what
/// "stable across releases and platforms" means, and any change to the hash must fail here.
const KNOWN: [(u64, &str, u64); 5] = [
    (0x0000000000000000, "", 0xf490368aba8bfeac),
    (0x0000000000000000, "a", 0xb9c8058f7903eb0c),
    (0x0000000000000000, "device-000001", 0x052d513841be47f9),
    (0x59e009c18c18fa18, "gw-0001", 0xb4012126ebac4aed),
    (
        0x0123456789abcdef,
        "0123456789abcdefXYZ",
        0x05f23d47260a4668,
    ),
];

#[test]
fn known_answers() {
    assert_eq!(salt_seed("release-2.4.0"), 0x59e009c18c18fa18);
    for (seed, id, want) in KNOWN {
        assert_eq!(position_hash(seed, id.as_bytes()), want, "{id:?}");
    }
}

/// The documented definition, written again without the crate's helpers: words assembled
/// byte by byte with shifts, multiplication done in u128 and reduced.
fn reference(seed: u64, bytes: &[u8]) -> u64 {
    const P1: u128 = 0x9E37_79B1_85EB_CA87;
    const P2: u128 = 0xC2B2_AE3D_27D4_EB4F;
    const P3: u128 = 0x1656_67B1_9E37_79F9;
    const P4: u128 = 0x85EB_CA77_C2B2_AE63;
    const M: u128 = 1 << 64;
    let mul = |a: u64, b: u128| ((a as u128 * b) % M) as u64;
    let rotl = |x: u64, r: u32| (x << r) | (x >> (64 - r));
    let mut h = (((seed as u128 + P3) % M) as u64) ^ mul(bytes.len() as u64, P4);
    let mut i = 0;
    while i < bytes.len() {
        let mut w = 0u64;
        for j in 0..8 {
            let b = if i + j < bytes.len() { bytes[i + j] } else { 0 };
            w |= (b as u64) << (8 * j);
        }
        let k = mul(rotl(mul(w, P2), 31), P1);
        h ^= k;
        h = ((mul(rotl(h, 27), P1) as u128 + P4) % M) as u64;
        i += 8;
    }
    h ^= h >> 33;
    h = mul(h, 0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = mul(h, 0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn matches_reference(seed in any::<u64>(), bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        prop_assert_eq!(position_hash(seed, &bytes), reference(seed, &bytes));
    }
}

/// Chi-square over 1,000 equal buckets of the position of 200,000 sequential ids. With 999
/// degrees of freedom the statistic has mean 999 and standard deviation ~44.7; 1,200 is beyond
/// 4.5 sigma, so a healthy hash fails this about once in 300,000 salts.
#[test]
fn sequential_ids_are_uniform() {
    for salt in ["release-1", "release-2", ""] {
        let seed = salt_seed(salt);
        let n = 200_000u64;
        let k = 1000usize;
        let mut buckets = vec![0u64; k];
        for i in 0..n {
            let p = position_hash(seed, format!("device-{i:06}").as_bytes()) >> 11;
            buckets[(p as u128 * k as u128 / POSITIONS as u128) as usize] += 1;
        }
        let expected = n as f64 / k as f64;
        let chi2: f64 = buckets
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 1200.0, "salt {salt:?}: chi2 = {chi2}");
        assert!(
            chi2 > 800.0,
            "salt {salt:?}: suspiciously even, chi2 = {chi2}"
        );
    }
}

/// Avalanche: flipping one input bit flips each output bit with probability close to 1/2.
#[test]
fn avalanche() {
    let seed = salt_seed("avalanche");
    let mut flips = [0u32; 64];
    let mut trials = 0u32;
    for i in 0..2000u32 {
        let id = format!("dev-{i:08}");
        let base = position_hash(seed, id.as_bytes());
        let mut bytes = id.into_bytes();
        for bit in [0usize, 9, 30, 61, 70, 95] {
            if bit / 8 >= bytes.len() {
                continue;
            }
            bytes[bit / 8] ^= 1 << (bit % 8);
            let diff = base ^ position_hash(seed, &bytes);
            bytes[bit / 8] ^= 1 << (bit % 8);
            trials += 1;
            for (j, f) in flips.iter_mut().enumerate() {
                *f += ((diff >> j) & 1) as u32;
            }
        }
    }
    for (j, &f) in flips.iter().enumerate() {
        let rate = f as f64 / trials as f64;
        assert!(
            (0.45..0.55).contains(&rate),
            "output bit {j}: flip rate {rate}"
        );
    }
}
