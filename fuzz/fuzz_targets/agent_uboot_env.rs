#![no_main]
//! ota-agent's U-Boot environment reader on arbitrary images (single and redundant layouts, a few
//! copy sizes) and arbitrary `fw_env.config` text: never panics. An image that opens keeps its
//! variables through a `set`: reopening gives them back with the change. Input: a mode byte, then
//! either config text (mode bit 7) or the bytes of the copies (each `size` long, padded with 0).

use std::collections::BTreeMap;
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use ota_agent::{EnvLayout, UbootEnv};
use ota_manifest::Slot;

const SIZES: [usize; 4] = [4, 16, 64, 256];

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("ota-fuzz-uboot-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 0x80 != 0 {
        if let Ok(text) = std::str::from_utf8(rest)
            && let Ok(l) = EnvLayout::parse_config(text)
        {
            assert!(matches!(l.copies.len(), 1 | 2) && l.size >= 16, "{l:?}");
        }
        return;
    }
    let size = SIZES[usize::from(mode & 3)];
    let redundant = mode & 4 != 0;
    let d = dir();
    let file = d.join("env");
    let mut image = rest.to_vec();
    let copies = if redundant { 2 } else { 1 };
    image.resize(size * copies, 0);
    std::fs::write(&file, &image).expect("write image");
    let layout = EnvLayout {
        copies: (0..copies).map(|i| (file.clone(), (i * size) as u64)).collect(),
        size,
    };
    let Ok(mut env) = UbootEnv::open(layout.clone(), Slot::A, 3) else {
        return;
    };
    let mut want: BTreeMap<String, String> = env.vars().clone();
    // Every variable read holds no NUL and a non-empty name without `=`.
    for (k, v) in &want {
        assert!(!k.is_empty() && !k.contains('=') && !k.contains('\0') && !v.contains('\0'));
    }
    want.insert("BOOT_ORDER".to_owned(), "B A".to_owned());
    match env.set(&[("BOOT_ORDER", "B A".to_owned())]) {
        Ok(()) => {
            assert_eq!(env.vars(), &want);
            let again = UbootEnv::open(layout, Slot::A, 3).expect("reopen after set");
            assert_eq!(again.vars(), &want, "variables not read back as written");
        }
        Err(ota_agent::Error::UbootEnv { .. }) => {
            // Did not fit: nothing written, the old copy still reads the same.
            let again = UbootEnv::open(layout, Slot::A, 3).expect("reopen after failed set");
            assert_eq!(again.vars(), env.vars());
        }
        Err(e) => panic!("set failed with {e:?}"),
    }
});
