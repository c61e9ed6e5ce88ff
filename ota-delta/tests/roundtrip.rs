//! apply(old, diff(old, new)) == new, for every mode, random and structured inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{apply_vec, bytes, fast, mutate};
use ota_delta::{Mode, ModeChoice, diff_with, read_header};
use proptest::prelude::*;

const MODES: [ModeChoice; 5] = [
    ModeChoice::Auto,
    ModeChoice::Full,
    ModeChoice::Bsdiff,
    ModeChoice::XorPlanes { width: 4 },
    ModeChoice::XorPlanes { width: 1 },
];

fn mode_of(p: &[u8]) -> Mode {
    read_header(p, &ota_delta::Limits::default()).unwrap().mode
}

#[test]
fn empty_and_tiny_inputs_in_every_mode() {
    let cases: [(&[u8], &[u8]); 5] = [
        (b"", b""),
        (b"", b"abc"),
        (b"abc", b""),
        (b"a", b"a"),
        (b"hello", b"hellp world"),
    ];
    for (old, new) in cases {
        for mode in MODES {
            let p = diff_with(old, new, &fast(mode)).unwrap();
            assert_eq!(apply_vec(&p, old).unwrap(), new, "mode {mode:?}");
        }
    }
}

#[test]
fn structured_mutations_many_frames() {
    for seed in 1..6u64 {
        let old = bytes(seed, 40_000 + seed as usize * 3000);
        let new = mutate(&old, seed);
        for mode in MODES {
            let p = diff_with(&old, &new, &fast(mode)).unwrap();
            assert_eq!(
                apply_vec(&p, &old).unwrap(),
                new,
                "seed {seed} mode {mode:?}"
            );
        }
        // The bsdiff delta of a lightly edited file is far smaller than the file.
        let p = diff_with(&old, &new, &fast(ModeChoice::Bsdiff)).unwrap();
        assert!(p.len() < new.len() / 4, "{} vs {}", p.len(), new.len());
    }
}

#[test]
fn auto_never_worse_than_full_image() {
    // Unrelated random data: a delta cannot help, the full image must be chosen.
    let mut x = 88_172_645_463_325_252u64;
    let mut rnd = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect()
    };
    let (old, new) = (rnd(30_000), rnd(30_000));
    let auto = diff_with(&old, &new, &fast(ModeChoice::Auto)).unwrap();
    let full = diff_with(&old, &new, &fast(ModeChoice::Full)).unwrap();
    assert!(auto.len() <= full.len());
    assert_eq!(mode_of(&auto), Mode::Full);
    // Whatever auto picks on other unrelated data, it is no larger than the full image.
    let (o2, n2) = (bytes(7, 30_000), bytes(8, 30_000));
    let a2 = diff_with(&o2, &n2, &fast(ModeChoice::Auto)).unwrap();
    let f2 = diff_with(&o2, &n2, &fast(ModeChoice::Full)).unwrap();
    assert!(a2.len() <= f2.len());
    assert_eq!(apply_vec(&a2, &o2).unwrap(), n2);
    // A full-image patch needs no source at all.
    assert_eq!(apply_vec(&full, b"anything").unwrap(), new);
    // Similar data: the delta wins.
    let new2 = mutate(&o2, 3);
    let auto2 = diff_with(&o2, &new2, &fast(ModeChoice::Auto)).unwrap();
    assert_eq!(mode_of(&auto2), Mode::Bsdiff);
}

#[test]
fn xor_planes_wins_on_perturbed_floats() {
    // float32 weights nudged by small amounts: same layout, every element changed.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let old: Vec<u8> = (0..12_000u32)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2).to_le_bytes()
        })
        .collect();
    let new: Vec<u8> = old
        .chunks_exact(4)
        .enumerate()
        .flat_map(|(i, c)| {
            let f = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            (f * (1.0 + ((i * 2_654_435_761) % 1000) as f32 * 1e-5)).to_le_bytes()
        })
        .collect();
    let auto = diff_with(&old, &new, &fast(ModeChoice::Auto)).unwrap();
    let bs = diff_with(&old, &new, &fast(ModeChoice::Bsdiff)).unwrap();
    let xor = diff_with(&old, &new, &fast(ModeChoice::XorPlanes { width: 4 })).unwrap();
    eprintln!(
        "auto {} {:?} bs {} xor {} new {}",
        auto.len(),
        mode_of(&auto),
        bs.len(),
        xor.len(),
        new.len()
    );
    assert!(
        matches!(mode_of(&auto), Mode::XorPlanes { .. }),
        "{:?}",
        mode_of(&auto)
    );
    assert!(auto.len() < bs.len());
    assert_eq!(apply_vec(&auto, &old).unwrap(), new);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_pairs_round_trip(old in proptest::collection::vec(any::<u8>(), 0..9000),
                               new in proptest::collection::vec(any::<u8>(), 0..9000),
                               m in 0usize..5) {
        let p = diff_with(&old, &new, &fast(MODES[m])).unwrap();
        prop_assert_eq!(apply_vec(&p, &old).unwrap(), new);
    }

    #[test]
    fn structured_mutations_round_trip(seed in 1u64..u64::MAX, len in 64usize..20_000,
                                       edits in proptest::collection::vec((any::<u16>(), 0u8..4, any::<u8>()), 0..12)) {
        let old = bytes(seed, len);
        let mut new = mutate(&old, seed);
        for (at, kind, v) in edits {
            let i = at as usize % new.len().max(1);
            match kind {
                0 if !new.is_empty() => new[i] = v,
                1 => new.insert(i.min(new.len()), v),
                2 if !new.is_empty() => { new.remove(i); }
                _ => { let end = (i + 64).min(new.len()); let blk: Vec<u8> = new[i..end].to_vec(); new.extend(blk); }
            }
        }
        let p = diff_with(&old, &new, &fast(ModeChoice::Bsdiff)).unwrap();
        prop_assert_eq!(apply_vec(&p, &old).unwrap(), new.clone());
        let a = diff_with(&old, &new, &fast(ModeChoice::Auto)).unwrap();
        prop_assert_eq!(apply_vec(&a, &old).unwrap(), new);
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ota_delta::Error>();
    check::<ota_delta::Header>();
    check::<ota_delta::Cursor>();
    check::<ota_delta::Limits>();
    check::<ota_delta::DiffOptions>();
    check::<ota_delta::ApplyOptions>();
    check::<ota_delta::FileSource>();
    check::<ota_delta::Apply<&'static [u8], &'static [u8]>>();
    check::<ota_delta::Apply<std::fs::File, ota_delta::FileSource>>();
}

#[test]
fn header_round_trips_and_rejects_any_change() {
    let old = bytes(3, 20_000);
    let new = mutate(&old, 3);
    let p = diff_with(&old, &new, &fast(ModeChoice::Bsdiff)).unwrap();
    let h = read_header(&p[..], &ota_delta::Limits::default()).unwrap();
    assert_eq!(h.to_bytes()[..], p[..ota_delta::HEADER_LEN]);
    assert_eq!(h.target_size, new.len() as u64);
    assert_eq!(h.source_size, old.len() as u64);
    assert_eq!(h.frame_count, 1); // a sparse change: one frame of raw content (FORMAT.md §4)
}
