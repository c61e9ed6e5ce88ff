//! What a device runs: load the shipped trust root, verify a release envelope (threshold,
//! expiry, anti-rollback), decode the image reference and stream the image through SHA-256.
//! No allocator, no std; inputs are the committed test fixtures.
#![no_std]
#![no_main]

use core::hint::black_box;

use ota_verify::{ImageRef, Policy, TrustRoot};

static ROOT: &[u8] = include_bytes!("../../tests/data/root_signed_valid.cose");
static RELEASE: &[u8] = include_bytes!("../../tests/data/env_valid_sign1.cose");

fn check() -> bool {
    let Ok(root) = TrustRoot::from_signed(black_box(ROOT)) else {
        return false;
    };
    let Ok(release) = root.verify(black_box(RELEASE), None, &Policy::new(1_700_000_000, 4)) else {
        return false;
    };
    let Ok(image) = ImageRef::decode(release.payload) else {
        return false;
    };
    let mut digest = image.verifier();
    digest.update(black_box(b"image")).is_ok() && digest.finish().is_ok()
}

// The reset handler is the entry point named in link.ld, so it needs an unmangled name.
// SAFETY: `no_mangle` is unsafe only because two items exporting one symbol would clash; this
// binary defines `reset` once and nothing else exports that name.
#[unsafe(no_mangle)]
pub extern "C" fn reset() -> ! {
    let ok = check();
    loop {
        black_box(ok);
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
