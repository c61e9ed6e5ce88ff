//! SHA-256 whose running state can be saved in a resume cursor.
//!
//! `sha2` 0.11 does not export a hasher's buffered state in a compact form, but it does expose
//! the SHA-256 compression function (`sha2::block_api::compress256`). Frames always end on a
//! multiple of 64 target bytes (except the last one), so at every point where a cursor is taken
//! the message buffer is empty and the whole state is the eight 32-bit chaining words plus the
//! byte count: 40 bytes. Padding (FIPS 180-4 §5.1.1) is done here; the compression itself is the
//! audited `sha2` code.

use sha2::block_api::compress256;

/// The SHA-256 initial hash value H(0), FIPS 180-4 §5.3.3.
const H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// A streaming SHA-256 that can be paused at 64-byte boundaries.
#[derive(Clone, Debug)]
pub(crate) struct RunningSha256 {
    state: [u32; 8],
    len: u64,
    buf: [u8; 64],
    buf_len: usize,
}

impl RunningSha256 {
    pub(crate) fn new() -> Self {
        Self {
            state: H0,
            len: 0,
            buf: [0; 64],
            buf_len: 0,
        }
    }

    /// Restores a state saved by [`Self::chaining_state`] after `len` bytes (a multiple of 64).
    // Resume re-hashes the stored prefix instead of trusting the saved state; this stays to
    // test that the state a cursor carries is the real one.
    #[cfg(test)]
    pub(crate) fn from_chaining_state(state: [u8; 32], len: u64) -> Option<Self> {
        if !len.is_multiple_of(64) {
            return None;
        }
        let mut words = [0u32; 8];
        for (w, c) in words.iter_mut().zip(state.chunks_exact(4)) {
            *w = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        Some(Self {
            state: words,
            len,
            buf: [0; 64],
            buf_len: 0,
        })
    }

    /// The chaining words (big-endian), when no partial block is buffered.
    pub(crate) fn chaining_state(&self) -> Option<[u8; 32]> {
        if self.buf_len != 0 {
            return None;
        }
        let mut out = [0u8; 32];
        for (c, w) in out.chunks_exact_mut(4).zip(self.state.iter()) {
            c.copy_from_slice(&w.to_be_bytes());
        }
        Some(out)
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        if self.buf_len > 0 {
            let take = (64 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < 64 {
                return;
            }
            compress256(&mut self.state, &[self.buf]);
            self.buf_len = 0;
        }
        let (blocks, rest) = data.as_chunks::<64>();
        if !blocks.is_empty() {
            compress256(&mut self.state, blocks);
        }
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    pub(crate) fn finalize(mut self) -> [u8; 32] {
        let bit_len = self.len.wrapping_mul(8);
        let mut pad = [0u8; 72];
        pad[0] = 0x80;
        // Pad to 56 mod 64, then the 64-bit big-endian bit length.
        let pad_len = if self.buf_len < 56 {
            56 - self.buf_len
        } else {
            120 - self.buf_len
        };
        let len_before = self.len;
        self.update(&pad[..pad_len]);
        self.update(&bit_len.to_be_bytes());
        self.len = len_before;
        let mut out = [0u8; 32];
        for (c, w) in out.chunks_exact_mut(4).zip(self.state.iter()) {
            c.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// One-shot SHA-256 (the `sha2` hasher).
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn matches_sha2_for_all_split_points() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..data.len() {
            for split in [0, n / 3, n / 2, n] {
                let mut h = RunningSha256::new();
                h.update(&data[..split]);
                h.update(&data[split..n]);
                let want: [u8; 32] = sha2::Sha256::digest(&data[..n]).into();
                assert_eq!(h.finalize(), want, "n={n} split={split}");
            }
        }
    }

    #[test]
    fn state_round_trip_at_block_boundary() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 13) as u8).collect();
        let mut h = RunningSha256::new();
        h.update(&data[..640]);
        let st = h.chaining_state().unwrap();
        let mut r = RunningSha256::from_chaining_state(st, h.len()).unwrap();
        r.update(&data[640..]);
        let want: [u8; 32] = sha2::Sha256::digest(&data).into();
        assert_eq!(r.finalize(), want);
        let mut p = RunningSha256::new();
        p.update(&data[..10]);
        assert!(p.chaining_state().is_none());
        assert!(RunningSha256::from_chaining_state(st, 65).is_none());
    }
}
