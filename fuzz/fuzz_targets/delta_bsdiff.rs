#![no_main]
//! Classic BSDIFF40 parse/apply/import: must never panic, the output is bounded by the limits
//! given here (qbsdiff's own patcher is known to panic and to write 64 MiB from 166 bytes; ours
//! validates everything first), and a valid patch applies to exactly its target.
//!
//! The first byte selects the path. Three in four inputs (`sel % 4 != 0`) describe a patch that
//! `ota_fuzz::classic` builds (control triples, diff and extra bytes, bzip2-compressed here):
//! it must apply to the target computed independently, or be refused when an add range reaches
//! outside the source or the declared size is wrong. The other inputs are raw patch bytes for
//! the parser, over a source chosen by the selector. Whatever applies must also apply streamed
//! (`apply_bsdiff_to`) and, imported into the native format, give the same target.

use libfuzzer_sys::fuzz_target;
use ota_delta::{DiffOptions, Limits, ModeChoice, apply_bsdiff, apply_bsdiff_to, import_bsdiff};
use ota_fuzz::classic::{Expect, Spec};
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
    if sel % 4 != 0 {
        let b = Spec::read(&mut Input::new(rest)).build();
        check(&b.old, &b.patch, &b.expect, sel);
    } else {
        let old: Vec<u8> = (0..(u32::from(sel) * 41)).map(|i| (i * 13) as u8).collect();
        check(&old, rest, &Expect::Either, sel);
    }
});

fn check(old: &[u8], patch: &[u8], expect: &Expect, sel: u8) {
    let r = apply_bsdiff(old, patch, &LIMITS);
    match (expect, &r) {
        (Expect::Target(t), Ok(new)) => assert!(new == t, "a valid patch must give its target"),
        (Expect::Target(_), Err(e)) => panic!("a valid patch must apply: {e}"),
        (Expect::Refuse, Ok(_)) => {
            panic!("an add range outside the source or a wrong size must be refused")
        }
        _ => {}
    }
    let Ok(new) = r else {
        return;
    };
    assert!(new.len() as u64 <= LIMITS.max_classic_target);
    let mut streamed = Vec::new();
    let n = apply_bsdiff_to(old, patch, &LIMITS, &mut streamed);
    assert!(
        n.is_ok_and(|n| n == new.len() as u64) && streamed == new,
        "the streamed apply must give the same target"
    );
    let opts = DiffOptions {
        mode: ModeChoice::Bsdiff,
        frame_size: 4096,
        preset: 0,
        extreme: false,
        ..DiffOptions::default()
    };
    // The import compresses with LZMA2: do it on half the inputs only, to keep the rate up.
    if sel & 0x80 != 0 {
        return;
    }
    if let Ok(native) = import_bsdiff(old, patch, &LIMITS, &opts) {
        let mut out = Vec::new();
        let r = ota_delta::apply_patch(&native[..], old, &mut out);
        assert!(
            r.is_ok() && out == new,
            "an imported patch must apply to the same target"
        );
    }
}
