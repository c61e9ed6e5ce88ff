//! A small raw DEFLATE (RFC 1951) decoder for the MCU profile's frames (codec 2, FORMAT.md §10).
//!
//! Written for the device's RAM budget rather than for speed: canonical Huffman codes are
//! decoded bit by bit from the code-length counts (about 0.7 KiB of tables, where table-driven
//! inflaters use 10 KiB or more), and the stream is decoded **in place**: the payload sits at the
//! end of the frame buffer and the output grows from its start, so a frame needs one buffer of
//! `raw_len + MCU_INPLACE_MARGIN` bytes instead of a payload buffer plus an output buffer. Every
//! write is checked to land below the next unread input byte, and the encoder (`codec.rs`) checks
//! that each frame it emits decodes this way (falling back to a stored block when not).
//!
//! Total on any input: malformed streams are errors, never panics or out-of-bounds accesses.

/// Length base values and extra bits for symbols 257..=285 (RFC 1951 §3.2.5).
const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Distance base values and extra bits for distance symbols 0..=29.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// Order of the code-length code lengths in a dynamic block header.
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman<const N: usize> {
    count: [u16; 16],
    symbol: [u16; N],
}

impl<const N: usize> Huffman<N> {
    const fn new() -> Self {
        Self {
            count: [0; 16],
            symbol: [0; N],
        }
    }

    /// Builds the code from the code lengths of symbols `0..lengths.len()` (at most `N`).
    /// Returns how many codes are missing for a complete code (0 when complete); an
    /// over-subscribed set of lengths is an error.
    fn build(&mut self, lengths: &[u8]) -> Result<i32, &'static str> {
        self.count = [0; 16];
        for &l in lengths {
            let c = self
                .count
                .get_mut(usize::from(l))
                .ok_or("code length over 15")?;
            *c += 1;
        }
        let total = lengths.len() as u16;
        if self.count[0] == total {
            return Ok(0);
        }
        let mut left: i32 = 1;
        for len in 1..16 {
            left = (left << 1) - i32::from(self.count[len]);
            if left < 0 {
                return Err("over-subscribed Huffman code");
            }
        }
        let mut offs = [0u16; 16];
        for len in 1..15 {
            offs[len + 1] = offs[len] + self.count[len];
        }
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let o = offs.get_mut(usize::from(l)).ok_or("code length over 15")?;
                let slot = self
                    .symbol
                    .get_mut(usize::from(*o))
                    .ok_or("internal bounds")?;
                *slot = sym as u16;
                *o += 1;
            }
        }
        Ok(left)
    }
}

/// Decoder state over one buffer: input `buf[inp..in_end]`, output `buf[out..out_end]`.
struct Inflater<'a> {
    buf: &'a mut [u8],
    inp: usize,
    in_end: usize,
    out: usize,
    out_end: usize,
    bitbuf: u32,
    bitcnt: u32,
}

impl Inflater<'_> {
    fn bits(&mut self, n: u32) -> Result<u32, &'static str> {
        while self.bitcnt < n {
            if self.inp >= self.in_end {
                return Err("DEFLATE stream truncated");
            }
            let b = *self.buf.get(self.inp).ok_or("internal bounds")?;
            self.inp += 1;
            self.bitbuf |= u32::from(b) << self.bitcnt;
            self.bitcnt += 8;
        }
        let v = self.bitbuf & ((1u32 << n) - 1);
        self.bitbuf = self.bitbuf.checked_shr(n).unwrap_or(0);
        self.bitcnt -= n;
        Ok(v)
    }

    /// Writes one output byte, which must stay below `out_end` and below the next unread input
    /// byte (in-place decoding).
    fn put(&mut self, b: u8) -> Result<(), &'static str> {
        if self.out >= self.out_end {
            return Err("decodes to more than raw_len");
        }
        if self.out >= self.inp && self.inp < self.in_end {
            return Err("output overtakes the unread input (not decodable in place)");
        }
        *self.buf.get_mut(self.out).ok_or("internal bounds")? = b;
        self.out += 1;
        Ok(())
    }

    fn decode<const N: usize>(&mut self, h: &Huffman<N>) -> Result<u16, &'static str> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= self.bits(1)? as i32;
            let count = i32::from(h.count[len]);
            if code - count < first {
                let i = usize::try_from(index + (code - first)).map_err(|_| "internal bounds")?;
                return h.symbol.get(i).copied().ok_or("internal bounds");
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("invalid Huffman code")
    }

    fn stored(&mut self) -> Result<(), &'static str> {
        self.bitbuf = 0;
        self.bitcnt = 0;
        let mut hdr = [0u8; 4];
        for h in &mut hdr {
            *h = self.bits(8)? as u8;
        }
        let len = u16::from_le_bytes([hdr[0], hdr[1]]);
        if len != !u16::from_le_bytes([hdr[2], hdr[3]]) {
            return Err("stored block length check");
        }
        for _ in 0..len {
            let b = self.bits(8)? as u8;
            self.put(b)?;
        }
        Ok(())
    }

    fn codes(&mut self, lens: &Huffman<288>, dists: &Huffman<30>) -> Result<(), &'static str> {
        loop {
            let sym = self.decode(lens)?;
            if sym < 256 {
                self.put(sym as u8)?;
                continue;
            }
            if sym == 256 {
                return Ok(());
            }
            let k = usize::from(sym - 257);
            let base = *LEN_BASE.get(k).ok_or("invalid length symbol")?;
            let len = u32::from(base) + self.bits(u32::from(LEN_EXTRA[k]))?;
            let d = usize::from(self.decode(dists)?);
            let dbase = *DIST_BASE.get(d).ok_or("invalid distance symbol")?;
            let dist = (u32::from(dbase) + self.bits(u32::from(DIST_EXTRA[d]))?) as usize;
            if dist > self.out {
                return Err("distance before the start of the frame");
            }
            for _ in 0..len {
                let b = *self.buf.get(self.out - dist).ok_or("internal bounds")?;
                self.put(b)?;
            }
        }
    }

    fn fixed(&mut self) -> Result<(), &'static str> {
        let mut lengths = [0u8; 288];
        for (i, l) in lengths.iter_mut().enumerate() {
            *l = match i {
                0..=143 => 8,
                144..=255 => 9,
                256..=279 => 7,
                _ => 8,
            };
        }
        let mut lens = Huffman::<288>::new();
        lens.build(&lengths)?;
        let mut dists = Huffman::<30>::new();
        dists.build(&[5u8; 30])?;
        self.codes(&lens, &dists)
    }

    fn dynamic(&mut self) -> Result<(), &'static str> {
        let nlen = self.bits(5)? as usize + 257;
        let ndist = self.bits(5)? as usize + 1;
        let ncode = self.bits(4)? as usize + 4;
        if nlen > 286 || ndist > 30 {
            return Err("bad dynamic block counts");
        }
        let mut lengths = [0u8; 320];
        for &i in CL_ORDER.iter().take(ncode) {
            lengths[i] = self.bits(3)? as u8;
        }
        let mut cl = Huffman::<19>::new();
        if cl.build(&lengths[..19])? != 0 {
            return Err("incomplete code-length code");
        }
        lengths[..19].fill(0);
        let mut i = 0usize;
        while i < nlen + ndist {
            let sym = self.decode(&cl)?;
            if sym < 16 {
                lengths[i] = sym as u8;
                i += 1;
                continue;
            }
            let (value, repeat) = match sym {
                16 => {
                    let prev = *lengths
                        .get(i.wrapping_sub(1))
                        .filter(|_| i > 0)
                        .ok_or("repeat with no previous length")?;
                    (prev, 3 + self.bits(2)? as usize)
                }
                17 => (0, 3 + self.bits(3)? as usize),
                _ => (0, 11 + self.bits(7)? as usize),
            };
            if i + repeat > nlen + ndist {
                return Err("code lengths past the counts");
            }
            lengths[i..i + repeat].fill(value);
            i += repeat;
        }
        if lengths[256] == 0 {
            return Err("no end-of-block code");
        }
        let mut lens = Huffman::<288>::new();
        let left = lens.build(&lengths[..nlen])?;
        if left != 0 && nlen - usize::from(lens.count[0]) != 1 {
            return Err("incomplete literal/length code");
        }
        let mut dists = Huffman::<30>::new();
        let left = dists.build(&lengths[nlen..nlen + ndist])?;
        if left != 0 && ndist - usize::from(dists.count[0]) != 1 {
            return Err("incomplete distance code");
        }
        self.codes(&lens, &dists)
    }
}

/// Decodes the raw DEFLATE stream in `buf[input.0..input.1]` into `buf[..out_len]`, in place
/// (see the module doc). The stream must end (final block) exactly at `out_len` bytes of output
/// and at the last input byte.
pub(crate) fn inflate_in_place(
    buf: &mut [u8],
    input: (usize, usize),
    out_len: usize,
) -> Result<(), &'static str> {
    if input.0 > input.1 || input.1 > buf.len() || out_len > buf.len() {
        return Err("internal bounds");
    }
    let mut s = Inflater {
        buf,
        inp: input.0,
        in_end: input.1,
        out: 0,
        out_end: out_len,
        bitbuf: 0,
        bitcnt: 0,
    };
    loop {
        let last = s.bits(1)?;
        match s.bits(2)? {
            0 => s.stored()?,
            1 => s.fixed()?,
            2 => s.dynamic()?,
            _ => return Err("invalid DEFLATE block type"),
        }
        if last == 1 {
            break;
        }
    }
    if s.out != out_len {
        return Err("decodes to less than raw_len");
    }
    if s.inp != s.in_end {
        return Err("bytes after the end of the DEFLATE stream");
    }
    Ok(())
}

#[cfg(all(test, feature = "std"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::inflate_in_place;
    use proptest::prelude::*;

    fn roomy(payload: &[u8], raw_len: usize) -> Result<Vec<u8>, &'static str> {
        let mut buf = vec![0u8; raw_len + payload.len()];
        buf[raw_len..].copy_from_slice(payload);
        inflate_in_place(&mut buf, (raw_len, raw_len + payload.len()), raw_len)?;
        buf.truncate(raw_len);
        Ok(buf)
    }

    #[test]
    fn decodes_what_miniz_encodes_at_every_level() {
        let data: Vec<u8> = (0..20_000u32)
            .map(|i| {
                if i % 7 == 0 {
                    (i >> 3) as u8
                } else {
                    (i % 13) as u8
                }
            })
            .collect();
        for level in [0u8, 1, 6, 10] {
            let c = miniz_oxide::deflate::compress_to_vec(&data, level);
            assert_eq!(roomy(&c, data.len()).unwrap(), data, "level {level}");
        }
    }

    #[test]
    fn rejects_wrong_lengths_and_trailing_bytes() {
        let data = b"hello hello hello hello".to_vec();
        let c = miniz_oxide::deflate::compress_to_vec(&data, 10);
        assert!(roomy(&c, data.len() + 1).is_err());
        assert!(roomy(&c, data.len() - 1).is_err());
        let mut longer = c.clone();
        longer.push(0);
        assert!(roomy(&longer, data.len()).is_err());
        assert!(roomy(&c[..c.len() - 1], data.len()).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(0u8..8, 0..3000), level in 0u8..=10) {
            let c = miniz_oxide::deflate::compress_to_vec(&data, level);
            prop_assert_eq!(roomy(&c, data.len()).unwrap(), data);
        }

        /// Any bytes: an error or some output, never a panic.
        #[test]
        fn total_on_any_input(payload in proptest::collection::vec(any::<u8>(), 0..400), n in 0usize..2000) {
            let _ = roomy(&payload, n);
        }
    }
}
