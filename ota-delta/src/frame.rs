//! Frame contents per mode, encoder side (the decoder side is `recon.rs`).

use crate::format::put_varint;
pub(crate) use crate::recon::carry_out;
use crate::recon::lane;
#[cfg(test)]
use crate::recon::{ZeroRuns, carry_add, zero_runs_end};

/// One bsdiff instruction: `add` bytes of source+diff, then `copy` literal bytes, then move the
/// source position by `seek`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Op {
    pub add: u64,
    pub copy: u64,
    pub seek: i64,
}

/// Appends the carry-chained difference `new - old` of one add range to `out` (FORMAT.md §5.2).
///
/// Each byte is `new - old - carry` (mod 256), where the carry is what adding the previous byte's
/// difference, read as a signed number, to its old byte carried out. A little-endian integer that
/// grew or shrank by less than 128 then differs in its lowest byte only, instead of also in every
/// byte a carry or borrow reached: moved code and data shift addresses by small amounts, and
/// those borrows were most of the noise bsdiff's byte-wise difference leaves for the compressor.
pub(crate) fn carry_diff(old: &[u8], new: &[u8], out: &mut Vec<u8>) {
    let mut carry = 0i32;
    out.extend(old.iter().zip(new).map(|(&o, &n)| {
        let d = n.wrapping_sub(o).wrapping_sub(carry as u8);
        carry = carry_out(o, d, carry);
        d
    }));
}

/// Appends the zero-run coding of `diff` to `out` (FORMAT.md §5.2): a non-zero byte stands for
/// itself; a run of `n >= 1` zero bytes is one `0x00` followed by `varint(n - 1)`.
///
/// Most of a bsdiff diff section is zero runs. Coded this way LZMA2 sees a fraction of the bytes
/// and finds the repeated non-zero patterns about as well as before: on the corpus, at preset 6
/// the patches come out between 1.6% larger and 8.5% smaller than with the plain section at
/// preset 9e, with about a tenth of the compression time.
pub(crate) fn zero_runs(diff: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(&b) = diff.get(i) {
        if b != 0 {
            out.push(b);
            i += 1;
            continue;
        }
        let run = diff[i..].iter().take_while(|&&d| d == 0).count();
        out.push(0);
        put_varint(out, run as u64 - 1);
        i += run;
    }
}

/// XOR-planes raw content of one frame of `new` starting at `start`.
pub(crate) fn xor_frame(
    old: &[u8],
    new: &[u8],
    start: usize,
    len: usize,
    width: usize,
    phase: usize,
) -> Vec<u8> {
    let mut raw = Vec::with_capacity(len);
    for k in 0..width {
        for j in (0..len).filter(|j| lane(*j, width, phase) == k) {
            let p = start + j;
            raw.push(new.get(p).copied().unwrap_or(0) ^ old.get(p).copied().unwrap_or(0));
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::{ZeroRuns, carry_add, carry_diff, zero_runs, zero_runs_end};
    use proptest::prelude::*;

    fn diff_of(old: &[u8], new: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        carry_diff(old, new, &mut d);
        d
    }

    /// The worked example of FORMAT.md §5.2, and its mirror image.
    #[test]
    fn moved_address_differs_in_its_lowest_byte_only() {
        // 0x00001310 -> 0x000012F0 (down by 32): bsdiff's byte-wise difference is E0 FF 00 00.
        assert_eq!(
            diff_of(&[0x10, 0x13, 0, 0], &[0xF0, 0x12, 0, 0]),
            [0xE0, 0, 0, 0]
        );
        // 0x000012F8 -> 0x00001318 (up by 32): byte-wise 20 01 00 00.
        assert_eq!(
            diff_of(&[0xF8, 0x12, 0, 0], &[0x18, 0x13, 0, 0]),
            [0x20, 0, 0, 0]
        );
        // A borrow that ripples through three bytes: 0x01000000 - 1 = 0x00FFFFFF.
        assert_eq!(
            diff_of(&[0, 0, 0, 1], &[0xFF, 0xFF, 0xFF, 0]),
            [0xFF, 0, 0, 0]
        );
        // Equal bytes stay zero whatever they are.
        assert_eq!(diff_of(&[0xFF; 6], &[0xFF; 6]), [0; 6]);
    }

    /// An array of little-endian pointers that all moved by the same small amount: the
    /// carry-chained difference is non-zero in one byte per pointer, the byte-wise one in more.
    #[test]
    fn relocated_pointer_table_has_one_nonzero_byte_per_pointer() {
        let old: Vec<u8> = (0..4096u32)
            .flat_map(|i| (0x0040_0000 + i * 0x38).to_le_bytes())
            .collect();
        let new: Vec<u8> = (0..4096u32)
            .flat_map(|i| (0x0040_0000 + i * 0x38 - 0x30).to_le_bytes())
            .collect();
        let chained = diff_of(&old, &new);
        let bytewise = new.iter().zip(&old).filter(|(n, o)| n != o).count();
        let nonzero = chained.iter().filter(|d| **d != 0).count();
        assert_eq!(nonzero, 4096);
        // Every pointer whose low byte was below 0x30 borrowed from the byte above it.
        assert!(bytewise > nonzero + 700, "{bytewise} vs {nonzero}");
    }

    fn zero_coded(d: &[u8]) -> Vec<u8> {
        let mut z = Vec::new();
        zero_runs(d, &mut z);
        z
    }

    #[test]
    fn zero_runs_examples() {
        assert_eq!(zero_coded(&[]), [] as [u8; 0]);
        assert_eq!(zero_coded(&[0]), [0, 0]);
        assert_eq!(zero_coded(&[7, 0, 0, 0, 9]), [7, 0, 2, 9]);
        // 300 zeros: 0x00 then varint(299) = AB 02.
        assert_eq!(zero_coded(&[0; 300]), [0, 0xAB, 0x02]);
    }

    #[test]
    fn malformed_zero_runs_are_rejected() {
        let end = |raw: &[u8], len| zero_runs_end(raw, 0, len).ok();
        assert_eq!(end(&[7, 0, 2, 9], 5), Some(4));
        // A run longer than what is left of the section.
        assert_eq!(end(&[0, 5], 5), None);
        // Truncated: the section ends before it has produced its bytes, or inside a varint.
        assert_eq!(end(&[7, 8], 3), None);
        assert_eq!(end(&[0, 0x80], 3), None);
        // A non-canonical varint, and one that overflows u64 when the run's first zero is added.
        assert_eq!(end(&[0, 0x80, 0x00], 1), None);
        let max = [
            0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
        ];
        assert_eq!(end(&max, u64::MAX), None);
    }

    proptest! {
        #[test]
        fn zero_runs_round_trip(d in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..600)) {
            let z = zero_coded(&d);
            // Never more than half as long again (FORMAT.md §5.2 raw_bound).
            prop_assert!(z.len() <= d.len() + d.len().div_ceil(2));
            prop_assert_eq!(zero_runs_end(&z, 0, d.len() as u64).ok(), Some(z.len()));
            let back: Vec<u8> = ZeroRuns::new(&z, 0).take(d.len()).collect();
            prop_assert_eq!(back, d);
        }

        #[test]
        fn carry_add_inverts_carry_diff(pairs in proptest::collection::vec(any::<(u8, u8)>(), 0..512)) {
            let old: Vec<u8> = pairs.iter().map(|p| p.0).collect();
            let new: Vec<u8> = pairs.iter().map(|p| p.1).collect();
            let d = diff_of(&old, &new);
            prop_assert_eq!(d.len(), old.len());
            let mut buf = old.clone();
            let z = zero_coded(&d);
            carry_add(&mut buf, &mut ZeroRuns::new(&z, 0), &mut 0);
            prop_assert_eq!(buf, new);
        }

        /// Small moves of random little-endian integers: all bytes above the lowest are zero.
        #[test]
        fn small_moves_touch_only_the_lowest_byte(
            values in proptest::collection::vec((any::<u32>(), -128i64..128), 1..64)
        ) {
            let (mut old, mut new) = (Vec::new(), Vec::new());
            for (v, delta) in &values {
                let moved = i64::from(*v) + delta;
                prop_assume!((0..=i64::from(u32::MAX)).contains(&moved));
                old.extend_from_slice(&v.to_le_bytes());
                new.extend_from_slice(&(moved as u32).to_le_bytes());
            }
            let d = diff_of(&old, &new);
            for (k, chunk) in d.chunks(4).enumerate() {
                prop_assert_eq!(&chunk[1..], &[0u8, 0, 0][..], "integer {}", k);
            }
        }
    }
}
