//! What a device runs: parse a release manifest in place (every check of the std decoder),
//! decide whether it may install it, and pick each component's action (full image or delta).
//! No allocator, no std; the input is the committed valid fixture.
#![no_std]
#![no_main]

use core::hint::black_box;

use ota_manifest::{DeviceView, InstalledView, ManifestView, VersionView, ViewAction};

static MANIFEST: &[u8] = include_bytes!("../../tests/data/valid.cbor");

fn check() -> u64 {
    let Ok(m) = ManifestView::parse(black_box(MANIFEST)) else {
        return 0;
    };
    let Some(version) = VersionView::parse(black_box("1.4.2")) else {
        return 0;
    };
    let installed = [InstalledView {
        id: black_box("lock-fw"),
        version,
        sha256: black_box([7; 32]),
    }];
    let device = DeviceView {
        vendor: m.vendor(),
        class: m.classes().next().unwrap_or(&[]),
        hardware: black_box("2.0.0"),
        installed: &installed,
        security_counter: 0,
        last_sequence: Some(black_box(1)),
        now: black_box(1_770_000_000),
    };
    if m.decide(&device).is_err() {
        return 1;
    }
    let mut fetch = 0u64;
    for c in m.install_order() {
        fetch += match m.action(&c, &device) {
            Ok(ViewAction::Full { size, .. }) => size,
            Ok(ViewAction::Delta(d)) => d.patch_size(),
            _ => 0,
        };
        fetch += c.chunk_sha256(0).map_or(0, |d| u64::from(d[0]));
    }
    fetch
}

// The reset handler is the entry point named in link.ld, so it needs an unmangled name.
// SAFETY: `no_mangle` is unsafe only because two items exporting one symbol would clash; this
// binary defines `reset` once and nothing else exports that name.
#[unsafe(no_mangle)]
pub extern "C" fn reset() -> ! {
    let r = check();
    loop {
        black_box(r);
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
