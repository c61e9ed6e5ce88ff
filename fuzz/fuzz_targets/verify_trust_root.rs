#![no_main]
//! Placeholder until the crate's decoder exists: it only proves the target builds.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = data.len();
});
