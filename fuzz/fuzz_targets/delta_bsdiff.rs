#![no_main]
//! Classic BSDIFF40 parse/apply/import on arbitrary bytes: must never panic, and the output is
//! bounded by the limits given here (qbsdiff's own patcher is known to panic and to write 64 MiB
//! from 166 bytes; ours validates everything first).

use libfuzzer_sys::fuzz_target;
use ota_delta::{DiffOptions, Limits, ModeChoice, apply_bsdiff, import_bsdiff};

const LIMITS: Limits = Limits {
    max_image_size: 1 << 20,
    max_frame_size: 64 << 10,
    max_dict_size: 64 << 10,
    max_frames: 1024,
    max_classic_target: 1 << 20,
};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, patch)) = data.split_first() else {
        return;
    };
    let old: Vec<u8> = (0..(u32::from(sel) * 41)).map(|i| (i * 13) as u8).collect();
    if let Ok(new) = apply_bsdiff(&old, patch, &LIMITS) {
        assert!(new.len() as u64 <= LIMITS.max_classic_target);
        let opts = DiffOptions {
            mode: ModeChoice::Bsdiff,
            frame_size: 4096,
            preset: 0,
            extreme: false,
        };
        if let Ok(native) = import_bsdiff(&old, patch, &LIMITS, &opts) {
            let mut out = Vec::new();
            let r = ota_delta::apply_patch(&native[..], &old[..], &mut out);
            assert!(
                r.is_ok() && out == new,
                "an imported patch must apply to the same target"
            );
        }
    }
});
