#![no_main]
//! Differential: every classic patch our `apply_bsdiff` accepts must give the same target
//! under qbsdiff's patcher, an independent implementation of bspatch 4.
//!
//! Inputs are those of `delta_bsdiff` (the first byte selects built or raw patches). qbsdiff
//! runs only on patches ours accepted, so its output is bounded by our limits (on arbitrary
//! patches it can panic or allocate what the header declares). Where the two legitimately
//! differ, ours refuses and nothing is compared: an add range reaching outside the source
//! (stock bspatch reads zeros there, qbsdiff fails), more control triples than target bytes
//! plus 64, bytes after a bzip2 stream, or a declared size the controls do not fill. One
//! difference goes the other way and is skipped: a seek that takes the source position below
//! zero, with no add range reading there before a later seek brings it back, is accepted by
//! bspatch and ours but refused by qbsdiff (it seeks a `std::io::Cursor` at once).

use libfuzzer_sys::fuzz_target;
use ota_delta::{Limits, apply_bsdiff};
use ota_fuzz::classic::{Spec, seeks_below_zero};
use ota_fuzz::input::Input;

const LIMITS: Limits = Limits {
    max_image_size: 1 << 20,
    max_frame_size: 64 << 10,
    max_dict_size: 64 << 10,
    max_frames: 1024,
    max_classic_target: 1 << 20,
};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (old, patch) = if sel % 4 != 0 {
        let b = Spec::read(&mut Input::new(rest)).build();
        (b.old, b.patch)
    } else {
        let old: Vec<u8> = (0..(u32::from(sel) * 41)).map(|i| (i * 13) as u8).collect();
        (old, rest.to_vec())
    };
    let Ok(ours) = apply_bsdiff(&old, &patch, &LIMITS) else {
        return;
    };
    if seeks_below_zero(&patch) {
        // A legitimate difference: qbsdiff refuses the seek itself.
        return;
    }
    let mut theirs = Vec::new();
    let r = qbsdiff::Bspatch::new(&patch).and_then(|p| p.apply(&old, &mut theirs));
    assert!(r.is_ok(), "qbsdiff refuses a patch ours accepts: {r:?}");
    assert!(ours == theirs, "qbsdiff gives another target");
});
