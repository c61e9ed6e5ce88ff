//! Structured inputs read from (and, for the seed corpora, written to) plain bytes.
//!
//! Reading never fails: a field past the end of the input reads as zero, so every byte string
//! is a valid input and the fuzzer's mutations (truncation, insertion) keep producing
//! well-formed structures.

/// Reads fields in order from the fuzzer's bytes.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next byte, or 0 at the end.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next little-endian `u16`.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// The next `n` bytes, zero-filled past the end.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let k = n.min(self.data.len());
        let (a, b) = self.data.split_at(k);
        self.data = b;
        let mut v = a.to_vec();
        v.resize(n, 0);
        v
    }

    /// What is left.
    pub fn rest(&self) -> &'a [u8] {
        self.data
    }
}

/// Writes fields in the order [`Input`] reads them.
#[derive(Default)]
pub struct Output(pub Vec<u8>);

impl Output {
    /// Appends a byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    /// Appends a little-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
}

/// One record of the structured delta inputs: an add length, a copy length, and where the
/// source position goes next (clamped into the source, or a raw signed seek).
#[derive(Clone, Copy, Debug, Default)]
pub struct Record {
    /// Bytes added to the source (clamped to what the source holds unless the input asks for
    /// raw positions).
    pub add: u16,
    /// Bytes copied from the extra section (reduced modulo a per-target bound).
    pub copy: u16,
    /// Next source position (modulo the source size plus one) or, raw, a signed seek.
    pub to: u16,
}

impl Record {
    /// Reads a record (6 bytes).
    pub fn read(i: &mut Input<'_>) -> Self {
        Self {
            add: i.u16(),
            copy: i.u16(),
            to: i.u16(),
        }
    }

    /// Writes a record.
    pub fn write(&self, o: &mut Output) {
        o.u16(self.add).u16(self.copy).u16(self.to);
    }
}

/// A deterministic, mildly varied image of `len` bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i.wrapping_mul(31) ^ (i >> 5)) as u8).wrapping_add(seed.wrapping_mul(7)))
        .collect()
}
