//! A small deterministic pseudo-random generator for the simulations.
//!
//! SplitMix64 (Steele, Lea and Flood, 2014): 64 bits of state, passes BigCrush, and every value is a
//! pure function of the seed. The demo derives one independent stream per purpose
//! ([`Rng::stream`]), so adding a draw in one part of the simulation never changes the draws of
//! another: the same `--seed` always gives the same fleet and the same report.
//!
//! Not for keys or anything an attacker may predict: the demo's signing keys come from fixed
//! seeds on purpose, and say so.

/// The SplitMix64 increment (the golden ratio in 64-bit fixed point).
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// One deterministic stream of pseudo-random numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

/// The SplitMix64 finaliser: a bijective 64-bit mix.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stable 64-bit hash of a seed and a label (FNV-1a over the label, then mixed with the seed).
pub fn hash_label(seed: u64, label: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h ^ mix64(seed))
}

impl Rng {
    /// A stream from a seed.
    pub fn new(seed: u64) -> Self {
        Rng { state: mix64(seed) }
    }

    /// An independent stream for one purpose ("fleet", "images", "scenario-2"...), derived from
    /// the run's seed and a label.
    pub fn stream(seed: u64, label: &str) -> Self {
        Rng::new(hash_label(seed, label))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix64(self.state)
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A uniform integer in `0..n` (0 when `n` is 0), without modulo bias worth mentioning for
    /// the small `n` the simulation uses (Lemire's multiply-shift).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform integer in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi < lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An approximately normal value (mean 0, standard deviation 1): the sum of four uniforms,
    /// rescaled. Cheap, bounded (|x| < 3.47) and good enough for simulated model weights.
    pub fn normal(&mut self) -> f64 {
        let s = self.unit() + self.unit() + self.unit() + self.unit();
        // Four uniforms have mean 2 and variance 4/12.
        (s - 2.0) * (3.0f64).sqrt()
    }

    /// Picks an index with the given relative weights (the last index when all are zero).
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < u64::from(w) {
                return i;
            }
            x -= u64::from(w);
        }
        weights.len().saturating_sub(1)
    }

    /// Fills a buffer with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_streams_differ() {
        let a: Vec<u64> = (0..8)
            .map(|_| 0)
            .scan(Rng::new(7), |r, _: u64| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..8)
            .map(|_| 0)
            .scan(Rng::new(7), |r, _: u64| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        let mut x = Rng::stream(7, "fleet");
        let mut y = Rng::stream(7, "images");
        assert_ne!(x.next_u64(), y.next_u64());
    }

    #[test]
    fn splitmix_reference_value() {
        // SplitMix64 seeded with 0 (state before mixing), first output: the published reference
        // value 0xe220a8397b1dcdaf (from the reference C implementation by Vigna).
        let mut r = Rng { state: 0 };
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn below_and_unit_stay_in_range() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            assert!(r.below(10) < 10);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.normal().abs() < 3.5);
        }
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn weighted_follows_weights() {
        let mut r = Rng::new(3);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[r.weighted(&[1, 2, 0])] += 1;
        }
        assert_eq!(counts[2], 0);
        // Expect about 10,000 and 20,000.
        assert!((9_000..11_000).contains(&counts[0]), "{counts:?}");
    }
}
